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
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .backends.kernel_source import MAX_STAGES, STAGE_INTS, STAGE_KINDS, STAGE_REALS
from .geometry import (Grid, index_to_physical_matrix, index_to_point,
                       physical_to_index_matrix, point_to_continuous_index)

__all__ = ["ResamplePlan", "make_plan", "crop_input", "stack_plans", "row_end_indices",
           "default_values"]


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
        x = 0 and x = N_x ends; rows are ordered z-major like the output buffer. Used when
        the chain is linear (``n_stages == 0``).
    index_to_cindex : (batch, 4, 4) fused affine map from output index to input continuous
        index of a linear chain (for planning blocks and bounds; voxel positions come from
        ``row_ends``); NaN for a deformable chain.
    n_stages : number of transform stages each voxel goes through (0: linear chain, the
        scan-line path; else the per-voxel path).
    stage_i, stage_f : (batch, MAX_STAGES, 8) int64 and (batch, MAX_STAGES, 12) float64
        stage records (layout in kernels/common.cuh), in the order they are applied.
    stage_data : float64 B-spline coefficients and displacement fields, referenced by
        offset from the stage records.
    grids : (2, 12) float64: output origin and index-to-point matrix (row-major), input
        origin and point-to-index matrix, for the per-voxel path.
    out_offset, row_length, in_offset : a block of a larger resampling
        (:mod:`gpuresample.blocks`): the block's first output index (x, y, z) in the whole
        output grid, the whole grid's row length N_x (positions along a row are
        ``x / N_x`` of the way), and the first input index (x, y, z) of the input crop
        the block reads (``in_size`` is then the crop's size). A plain plan has zero
        offsets and ``row_length == out_size[0]``; ``grids`` always describe the whole
        grids.
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
    n_stages: int = 0
    stage_i: np.ndarray = field(default_factory=lambda: _no_stages()[0])
    stage_f: np.ndarray = field(default_factory=lambda: _no_stages()[1])
    stage_data: np.ndarray = field(default_factory=lambda: np.zeros(1))
    grids: np.ndarray = field(default_factory=lambda: np.zeros((2, 12)))
    out_offset: tuple[int, int, int] = (0, 0, 0)
    row_length: int = 0
    in_offset: tuple[int, int, int] = (0, 0, 0)

    def __post_init__(self):
        if not self.row_length:
            object.__setattr__(self, "row_length", int(self.out_size[0]))

    @property
    def batch(self) -> int:
        return self.row_ends.shape[0]

    @property
    def per_voxel(self) -> bool:
        """True when every voxel goes through the stages (a deformable chain)."""
        return self.n_stages > 0

    @property
    def rows(self) -> int:
        return self.out_size[1] * self.out_size[2]


def _pad3(values: Sequence[int]) -> tuple[int, int, int]:
    return tuple(int(v) for v in values) + (1,) * (3 - len(values))


def row_end_indices(size: Sequence[int], start: Sequence[int] | None = None,
                    stop: Sequence[int] | None = None) -> np.ndarray:
    """Output indices of every row's two ends, shape (rows, 2, D): (0, y, z) and (N_x, y, z).

    ``start``/``stop`` (x, y[, z]) restrict the rows to a block's (its y and z ranges; the
    ends stay the whole row's).
    """
    size = tuple(size)
    start = (0,) * len(size) if start is None else tuple(start)
    stop = size if stop is None else tuple(stop)
    rest = [np.arange(a, b, dtype=np.float64)
            for a, b in zip(start[1:], stop[1:])]
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


def end_cindices(input_grid: Grid, output_grid: Grid, transforms: Sequence,
                 ends: np.ndarray) -> np.ndarray:
    """Input continuous indices of output row ends (rows, 2, D), through the unfused
    linear chain in float64: ITK's arithmetic (the scan-line path's ``row_ends``)."""
    d = output_grid.dimension
    A_out = index_to_physical_matrix(output_grid.spacing, output_grid.direction)
    P_in = physical_to_index_matrix(input_grid.spacing, input_grid.direction)
    points = index_to_point(ends.reshape(-1, d), output_grid.origin, A_out)
    points = _chain_points(points, transforms)
    cindex = point_to_continuous_index(points, input_grid.origin, P_in)
    return cindex.reshape(ends.shape[0], 2, d)


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


def _no_stages() -> tuple[np.ndarray, np.ndarray]:
    return (np.zeros((1, MAX_STAGES, STAGE_INTS), dtype=np.int64),
            np.zeros((1, MAX_STAGES, STAGE_REALS), dtype=np.float64))


def _flat3(matrix: np.ndarray) -> np.ndarray:
    """A D x D matrix zero-padded to 3 x 3, row-major flat (the kernels' layout)."""
    m = np.zeros((3, 3))
    d = len(matrix)
    m[:d, :d] = matrix
    return m.reshape(-1)


def _grid_record(origin: Sequence[float], matrix: np.ndarray) -> np.ndarray:
    record = np.zeros(12)
    record[:len(origin)] = origin
    record[3:] = _flat3(matrix)
    return record


def _bspline_limits(grid_size: Sequence[int], order: int) -> np.ndarray:
    """What the kernels' B-spline validity test compares with (ITK's InsideValidRegion),
    12 values: per axis the upper limit, the ends of the window of values within 4 ULP of
    it (Math::FloatAlmostEqual), and the value 6 ULP below it (Math::FloatAddULP(-6))."""
    from .transforms.bspline import valid_limits

    limits = np.zeros((4, 3))
    for j, upper in enumerate(valid_limits(grid_size, order)[1]):
        low = high = nudged = np.float64(upper)
        for _ in range(4):
            low, high = np.nextafter(low, -np.inf), np.nextafter(high, np.inf)
        # 6 ULP down in ITK's bits arithmetic: toward zero for a negative limit
        for _ in range(6):
            nudged = np.nextafter(nudged, -np.inf if upper > 0 else np.inf)
        limits[:, j] = (upper, low, high, nudged)
    return limits.reshape(-1)


def _separable(t, s: int, precision: str, output_grid: Grid) -> bool:
    """Whether the kernels may evaluate B-spline ``t`` separably: in fast precision, as the
    first stage (on the output grid's own points), with a control grid whose axes are the
    output grid's (so a row's y and z grid indices do not change along the row)."""
    if precision != "fast" or s != 0:
        return False
    m = physical_to_index_matrix(t.grid_spacing, t.grid_direction) @ index_to_physical_matrix(
        output_grid.spacing, output_grid.direction)
    off = m - np.diag(np.diag(m))
    return bool(np.all(np.abs(off) <= 1e-6 * np.abs(np.diag(m))[:, None]))


def _field_values(t) -> np.ndarray:
    """A displacement field's stage data: float32 component planes where float32 holds the
    field exactly, else its float64 vectors (components interleaved), both flat
    (kernels/stages.cuh). The planes are followed by one or two zeros: the CPU kernel
    reads each value with the next in one word (so one must follow the last), and they
    fill whole float64 slots."""
    planes = t._float32_planes()
    if planes is None:
        return np.ascontiguousarray(t.field, dtype=np.float64).reshape(-1)
    return np.concatenate([planes.reshape(-1), np.zeros(2 - planes.size % 2, np.float32)])


def chain_stages(transforms: Sequence, dimension: int, precision: str = "exact",
                 output_grid: Grid | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stage records of a chain, in the order they are applied (the last member first):
    (stage_i, stage_f, stage_data) of :class:`ResamplePlan`."""
    from .transforms import IdentityTransform, ScaleTransform
    from .transforms.bspline import BSplineTransform
    from .transforms.displacement import DisplacementFieldTransform

    applied = [t for t in reversed(transforms) if not isinstance(t, IdentityTransform)]
    if len(applied) > MAX_STAGES:
        raise ValueError(f"a transform chain with a deformable member can have at most "
                         f"{MAX_STAGES} members, got {len(applied)}; compose adjacent affine "
                         "transforms into one AffineTransform first")
    ints = np.zeros((1, MAX_STAGES, STAGE_INTS), dtype=np.int64)
    reals = np.zeros((1, MAX_STAGES, STAGE_REALS), dtype=np.float64)
    data: list[np.ndarray] = []
    used = 0
    d = dimension
    for s, t in enumerate(applied):
        ints[0, s, 6] = d
        if isinstance(t, ScaleTransform):
            ints[0, s, 0] = STAGE_KINDS["scale"]
            reals[0, s, :d] = t.scale
            reals[0, s, 9:9 + d] = t.center
        elif t.is_linear:
            m, off = t.affine()
            ints[0, s, 0] = STAGE_KINDS["affine"]
            reals[0, s, :9] = _flat3(m)
            reals[0, s, 9:9 + d] = off
        elif isinstance(t, (BSplineTransform, DisplacementFieldTransform)):
            bspline = isinstance(t, BSplineTransform)
            if bspline:
                values = np.concatenate([_bspline_limits(t.grid_size, t.order),
                                         np.asarray(t.coefficients, np.float64).reshape(-1)])
                size, origin = t.grid_size, t.grid_origin
                spacing, direction = t.grid_spacing, t.grid_direction
                ints[0, s, 5] = t.order
                ints[0, s, 7] = output_grid is not None and _separable(t, s, precision,
                                                                        output_grid)
            else:
                values = _field_values(t)
                ints[0, s, 7] = values.dtype == np.float32   # component planes
                values = values.view(np.float64)   # (float32 planes: their bytes)
                size, origin = t.field_size, t.field_origin
                spacing, direction = t.field_spacing, t.field_direction
                ints[0, s, 5] = 0 if t.interpolator == "nearest" else 1
            ints[0, s, 0] = STAGE_KINDS["bspline" if bspline else "field"]
            ints[0, s, 1:1 + d] = size
            ints[0, s, 1 + d:4] = 1
            ints[0, s, 4] = used
            reals[0, s, :9] = _flat3(physical_to_index_matrix(spacing, direction))
            reals[0, s, 9:9 + d] = origin
            data.append(values)
            used += values.size
        else:
            raise NotImplementedError(f"{type(t).__name__} cannot be resampled through yet")
    stage_data = np.concatenate(data) if data else np.zeros(1)
    return ints, reals, stage_data


def make_plan(input_grid: Grid, output_grid: Grid, transforms: Sequence, interpolator: str,
              in_dtype, out_dtype, components: int, default_value,
              precision: str = "exact", complex_pixels: bool = False,
              block: tuple[Sequence[int], Sequence[int]] | None = None,
              stages: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
              ) -> ResamplePlan:
    """Plan one resampling of an image on ``input_grid`` onto ``output_grid``.

    ``transforms`` is a composite's member list (applied last first), each mapping output
    physical points to input physical points. An all-linear chain takes ITK's scan-line
    path: the row ends are computed through the unfused chain in float64, exactly as ITK
    maps them. A chain with a B-spline or displacement-field member takes the per-voxel
    path: its members become stages the kernel applies to every voxel's point.

    ``block = (start, stop)`` (output indices, (x, y[, z]), stop exclusive) plans only
    that block of the output: its voxels get exactly the values the whole plan gives them
    (the same row ends, the whole row's length, the same per-voxel arithmetic).
    ``stages``: the chain's stage records, :func:`chain_stages` of the same chain, grid and
    precision, computed once for many blocks (they hold whole coefficient grids and
    fields, which each plan would otherwise copy); never modified.
    """
    d = output_grid.dimension
    start, stop = (0,) * d, tuple(output_grid.size)
    if block is not None:
        start, stop = (tuple(int(v) for v in block[0]), tuple(int(v) for v in block[1]))
        if (len(start) != d or len(stop) != d or
                any(not 0 <= a < b <= n for a, b, n in zip(start, stop, output_grid.size))):
            raise ValueError(f"block {start}..{stop} is not a non-empty part of the output "
                             f"grid of size {output_grid.size}")
    A_out = index_to_physical_matrix(output_grid.spacing, output_grid.direction)
    P_in = physical_to_index_matrix(input_grid.spacing, input_grid.direction)
    grids = np.stack([_grid_record(output_grid.origin, A_out),
                      _grid_record(input_grid.origin, P_in)])
    common = dict(
        out_size=_pad3([b - a for a, b in zip(start, stop)]), in_size=_pad3(input_grid.size),
        out_offset=tuple(start) + (0,) * (3 - d), row_length=int(output_grid.size[0]),
        components=int(components), in_dtype=np.dtype(in_dtype),
        out_dtype=np.dtype(out_dtype), interpolator=interpolator, precision=precision,
        default_values=default_values(default_value, out_dtype, components, complex_pixels),
        grids=grids)
    if not all(t.is_linear for t in transforms):
        ints, reals, data = (stages if stages is not None else
                             chain_stages(transforms, d, precision, output_grid))
        n = int(np.count_nonzero(ints[0, :, 6]))
        return ResamplePlan(row_ends=np.zeros((1, 1, 2, 3)),
                            index_to_cindex=np.full((1, 4, 4), np.nan), n_stages=n,
                            stage_i=ints, stage_f=reals, stage_data=data, **common)
    ends = row_end_indices(output_grid.size, start, stop)
    rows = ends.shape[0]
    row_ends = np.zeros((1, rows, 2, 3), dtype=np.float64)
    row_ends[0, :, :, :d] = end_cindices(input_grid, output_grid, transforms, ends)
    return ResamplePlan(row_ends=row_ends,
                        index_to_cindex=_fused_affine(input_grid, output_grid, transforms)[None],
                        **common)


def crop_input(plan: ResamplePlan, start: Sequence[int], stop: Sequence[int]) -> ResamplePlan:
    """``plan`` reading only the input crop ``start`` .. ``stop`` (x, y[, z], stop exclusive).

    The source buffer handed to the backend is then that crop; continuous indices are
    shifted by ``start`` in the kernels, which is exact for every position that falls
    inside the crop (an integer subtracted from a float no larger in magnitude than the
    result's bound), and keeps every position outside the whole input outside the crop.
    The crop must hold every input voxel the plan's voxels read (:mod:`gpuresample.blocks`).
    """
    from dataclasses import replace

    return replace(plan, in_size=_pad3([b - a for a, b in zip(start, stop)]),
                   in_offset=tuple(int(v) for v in start) + (0,) * (3 - len(start)))


def stack_plans(plans: Sequence[ResamplePlan]) -> ResamplePlan:
    """One batched plan from plans of the same grids, types and path (one item each).

    Item ``b`` of the result is ``plans[b]``: row ends and stage records are stacked along
    the batch axis, stage data concatenated (each item's data offsets moved along).
    """
    first = plans[0]
    for p in plans[1:]:
        if (p.out_size, p.in_size, p.components, p.in_dtype, p.out_dtype, p.interpolator,
                p.precision, p.per_voxel, p.out_offset, p.row_length,
                p.in_offset) != (first.out_size, first.in_size, first.components,
                                 first.in_dtype, first.out_dtype, first.interpolator,
                                 first.precision, first.per_voxel, first.out_offset,
                                 first.row_length, first.in_offset):
            raise ValueError("only plans of the same grids, types and path can be stacked")
    stage_i = np.concatenate([p.stage_i for p in plans])
    offset = 0
    for b, p in enumerate(plans):
        deformable = np.isin(stage_i[b, :, 0], (STAGE_KINDS["bspline"], STAGE_KINDS["field"]))
        stage_i[b, deformable & (stage_i[b, :, 6] > 0), 4] += offset
        offset += p.stage_data.size
    return ResamplePlan(
        out_size=first.out_size, in_size=first.in_size, components=first.components,
        in_dtype=first.in_dtype, out_dtype=first.out_dtype,
        interpolator=first.interpolator, precision=first.precision,
        default_values=first.default_values,
        row_ends=np.concatenate([p.row_ends for p in plans]),
        index_to_cindex=np.concatenate([p.index_to_cindex for p in plans]),
        n_stages=max(p.n_stages for p in plans), stage_i=stage_i,
        stage_f=np.concatenate([p.stage_f for p in plans]),
        stage_data=np.concatenate([p.stage_data for p in plans]), grids=first.grids,
        out_offset=first.out_offset, row_length=first.row_length, in_offset=first.in_offset)
