"""Turn a resampling request into a plan: the small set of arrays a backend executes.

A plan knows nothing of Image objects: grid sizes, component dtypes, the interpolator, the
precision, the default value per component, and per output row the input continuous
indices of the row's two ends (``row_ends``), which fix every voxel's position as ITK's
scan-line rule does. Plans carry a batch axis (``row_ends[b]`` for item ``b``) so batched
launches need no other kernel.

Example
-------
>>> import numpy as np
>>> from gpuresample.geometry import Grid
>>> from gpuresample.transforms import TranslationTransform
>>> g = Grid((4, 1))
>>> p = make_plan(g, g, [TranslationTransform((1.0, 0.0))], "nearest",
...               np.float32, np.float32, 1, 0.0)
>>> p.row_ends[0, 0].tolist()          # x = 0 -> c = 1, x = 4 -> c = 5
[[1.0, 0.0, 0.0], [5.0, 0.0, 0.0]]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .geometry import (Grid, index_to_physical_matrix, index_to_point,
                       physical_to_index_matrix, point_to_continuous_index)

__all__ = ["ResamplePlan", "make_plan", "row_end_indices", "default_values"]


@dataclass(frozen=True)
class ResamplePlan:
    """Everything a backend needs to resample; arrays only, no Image objects.

    Attributes
    ----------
    out_size, in_size : (x, y, z) sizes, z = 1 for 2-D.
    components : values per pixel (complex pixels count as two real components).
    in_dtype, out_dtype : real component dtypes of the source and result buffers.
    interpolator : "linear" or "nearest".
    precision : "exact" (float64 arithmetic, bit-identical to SimpleITK) or "fast" (float32).
    default_values : (components,) array of ``out_dtype``, written outside the input.
    row_ends : (batch, rows, 2, 3) float64 input continuous indices of each output row's
        x = 0 and x = N_x ends; rows are ordered z-major like the output buffer.
    index_to_cindex : (batch, 4, 4) fused affine map from output index to input continuous
        index (for planning blocks and bounds; voxel positions come from ``row_ends``).
    """

    out_size: tuple[int, int, int]
    in_size: tuple[int, int, int]
    components: int
    in_dtype: np.dtype
    out_dtype: np.dtype
    interpolator: str
    precision: str
    default_values: np.ndarray
    row_ends: np.ndarray
    index_to_cindex: np.ndarray

    @property
    def batch(self) -> int:
        return self.row_ends.shape[0]

    @property
    def rows(self) -> int:
        return self.out_size[1] * self.out_size[2]


def _pad3(values: Sequence[int]) -> tuple[int, int, int]:
    return tuple(int(v) for v in values) + (1,) * (3 - len(values))


def row_end_indices(size: Sequence[int]) -> np.ndarray:
    """Output indices of every row's two ends, shape (rows, 2, D): (0, y, z) and (N_x, y, z)."""
    size = tuple(size)
    rest = [np.arange(n, dtype=np.float64) for n in size[1:]]
    # rows ordered z-major (z slowest), matching the [z, y, x] buffer
    grids = np.meshgrid(*rest[::-1], indexing="ij")
    coords = [g.reshape(-1) for g in grids[::-1]]       # y, (z)
    rows = coords[0].size
    ends = np.empty((rows, 2, len(size)), dtype=np.float64)
    ends[:, 0, 0] = 0.0
    ends[:, 1, 0] = float(size[0])
    for d, c in enumerate(coords, start=1):
        ends[:, :, d] = c[:, None]
    return ends


def _chain_points(points: np.ndarray, transforms: Sequence) -> np.ndarray:
    # transforms are given in composite order: the last is applied first (ITK's stack)
    for t in reversed(transforms):
        points = t.transform_points(points)
    return points


def _fused_affine(input_grid: Grid, output_grid: Grid, transforms: Sequence) -> np.ndarray:
    d = output_grid.dimension
    A_out = index_to_physical_matrix(output_grid.spacing, output_grid.direction)
    m = np.eye(d + 1)
    m[:d, :d] = A_out
    m[:d, d] = output_grid.origin
    for t in reversed(transforms):
        M, off = t.affine()
        step = np.eye(d + 1)
        step[:d, :d] = M
        step[:d, d] = off
        m = step @ m
    P_in = physical_to_index_matrix(input_grid.spacing, input_grid.direction)
    to_index = np.eye(d + 1)
    to_index[:d, :d] = P_in
    to_index[:d, d] = -(P_in @ np.asarray(input_grid.origin))
    m = to_index @ m
    fused = np.eye(4)
    fused[:d, :d] = m[:d, :d]
    fused[:d, 3] = m[:d, d]
    return fused


def default_values(value, out_dtype, components: int, complex_pixels: bool) -> np.ndarray:
    """The default value per component as ``out_dtype``, converted like numpy's ``astype``.

    That is SimpleITK's plain C cast on x86 (no clamping: -1 as uint8 is 255). A complex
    default (or a real one for complex pixels) fills (real, imag) pairs.
    """
    out_dtype = np.dtype(out_dtype)
    if complex_pixels:
        z = complex(value)
        pair = np.array([z.real, z.imag], dtype=np.float64)
        values = np.tile(pair, components // 2)
    else:
        if isinstance(value, complex):
            raise TypeError("a complex default_value needs a complex output pixel type")
        values = np.full(components, float(value), dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # out-of-range casts wrap, as in ITK
        return values.astype(out_dtype)


def make_plan(input_grid: Grid, output_grid: Grid, transforms: Sequence, interpolator: str,
              in_dtype, out_dtype, components: int, default_value,
              precision: str = "exact", complex_pixels: bool = False) -> ResamplePlan:
    """Plan one resampling of an image on ``input_grid`` onto ``output_grid``.

    ``transforms`` is a composite's member list (applied last first), each mapping output
    physical points to input physical points; all must be linear (affine family). The row
    ends are computed through the unfused chain in float64, exactly as ITK maps them.
    """
    if any(not t.is_linear for t in transforms):
        raise NotImplementedError("only linear (affine-family) transforms can be planned yet")
    d = output_grid.dimension
    A_out = index_to_physical_matrix(output_grid.spacing, output_grid.direction)
    P_in = physical_to_index_matrix(input_grid.spacing, input_grid.direction)
    ends = row_end_indices(output_grid.size)
    rows = ends.shape[0]
    points = index_to_point(ends.reshape(-1, d), output_grid.origin, A_out)
    points = _chain_points(points, transforms)
    cindex = point_to_continuous_index(points, input_grid.origin, P_in)
    row_ends = np.zeros((1, rows, 2, 3), dtype=np.float64)
    row_ends[0, :, :, :d] = cindex.reshape(rows, 2, d)
    return ResamplePlan(
        out_size=_pad3(output_grid.size), in_size=_pad3(input_grid.size),
        components=int(components), in_dtype=np.dtype(in_dtype),
        out_dtype=np.dtype(out_dtype), interpolator=interpolator, precision=precision,
        default_values=default_values(default_value, out_dtype, components, complex_pixels),
        row_ends=row_ends,
        index_to_cindex=_fused_affine(input_grid, output_grid, transforms)[None],
    )
