"""Benchmark runner: gpuresample against SimpleITK, scipy, cupyx, torch and MONAI, same work.

Run as ``python -m benchmarks`` (from the repository root) or ``gpuresample bench``.
Every case is defined once in :data:`CASES`; every implementation ("ours" and each peer)
is built into a :class:`Prepared` call and timed by the one helper :func:`time_call`.
Each peer's output is compared with ours (over all voxels, or over interior voxels where
the peer's boundary rule is not ITK's) so that a ratio is never taken between two
different computations. See benchmarks/README.md for the columns and the fairness rules.

Example
-------
>>> from gpuresample.bench import main
>>> main(["--size", "24", "--cases", "euler3d-linear", "--repeat", "1"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import datetime
import functools
import importlib
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, TextIO

import numpy as np

__all__ = ["CASES", "Case", "Workload", "Timing", "Prepared", "PeerSpec", "PEERS",
           "time_call", "build_workload", "build_ours", "compare", "run", "main",
           "write_record"]

EULER3D_ANGLES = (0.1, 0.2, 0.3)              # radians
EULER3D_TRANSLATION = (1.5, -2.0, 0.75)       # physical units (mm)
EULER2D_ANGLE = 0.2
EULER2D_TRANSLATION = (3.0, -2.0)
ANISO_IN_SPACING, ANISO_OUT_SPACING = 0.5, 1.0
ANISO_UP_IN_SPACING = (1.0, 1.0, 2.0)       # thick slices, resampled to 1 mm isotropic
BATCH_ITEMS = 16        # volumes of the batch case, each 1/4 of --size per edge
TEXTURE = 0.1          # amplitude of the seeded noise added to the phantom (every voxel differs)
SEED = 20261124
REL_TOL = 1e-3         # |ours - peer| above REL_TOL * (input value range) counts as a difference
MAX_DIFFERING = 1e-4   # a comparison is flagged when more than this fraction of voxels differ
COPY_BYTES = 256 * 2 ** 20


# ----------------------------------------------------------------------------- cases

@dataclass(frozen=True)
class Case:
    """One benchmark case: what is resampled, through what, onto which grid.

    Attributes
    ----------
    name : str
        Name used by ``--cases``.
    dimension : int
        2 or 3.
    in_dtype, out_dtype : str
        numpy dtype names of the input and the output pixels.
    transform : {"euler3d", "euler2d", "identity"}
        The transform (about the volume centre, with a small translation).
    interpolator : {"linear", "nearest"}
    grid : {"input", "aniso-down", "aniso-up"}
        "input": output on the input grid; "aniso-down": a 0.5 mm input resampled to a
        1.0 mm isotropic grid of the same extent (given to gpuresample as ``spacing=``);
        "aniso-up": a (1, 1, 2) mm input onto 1 mm isotropic (twice the slices).
    batch : int
        1, or the number of volumes (a quarter of the size per edge, each with its own
        random Euler3D transform) that gpuresample resamples in one ``resample_batch``
        call and the peers one by one.
    """

    name: str
    dimension: int
    in_dtype: str
    out_dtype: str
    transform: str
    interpolator: str
    grid: str = "input"
    batch: int = 1


CASES: tuple[Case, ...] = (
    Case("euler3d-linear", 3, "float32", "float32", "euler3d", "linear"),
    Case("euler3d-nearest", 3, "float32", "float32", "euler3d", "nearest"),
    Case("aniso-down", 3, "float32", "float32", "identity", "linear", "aniso-down"),
    Case("aniso-up", 3, "float32", "float32", "identity", "linear", "aniso-up"),
    Case("uint8-in-float-out", 3, "uint8", "float32", "euler3d", "linear"),
    Case("int16-in-float-out", 3, "int16", "float32", "euler3d", "linear"),
    Case("2d-linear", 2, "float32", "float32", "euler2d", "linear"),
    Case("bspline-linear", 3, "float32", "float32", "bspline", "linear"),
    Case("field-linear", 3, "float32", "float32", "field", "linear"),
    Case("field64-linear", 3, "float32", "float32", "field64", "linear"),
    Case("batch-euler3d", 3, "float32", "float32", "euler3d", "linear", batch=BATCH_ITEMS),
)
AFFINE_KINDS = ("euler3d", "euler2d", "identity")
BSPLINE_MESH = 8          # control-grid cells per axis of the cubic B-spline case
DEFORMATION = 2.0         # standard deviation of the coefficients / displacements (mm)
CASE_NAMES = tuple(c.name for c in CASES)


@dataclass
class Workload:
    """A case made concrete at one size: host image, transform, output grid, index map.

    Attributes
    ----------
    case : Case
    image : gpuresample.Image
        The host input image.
    transform : gpuresample Transform or None
    out_size, out_origin, out_spacing : tuples in (x, y[, z]) order
    out_direction : (D, D) ndarray
    resample_kwargs : dict
        Extra keyword arguments of ``gr.resample`` that define the output grid and type.
    index_affine : (D + 1, D + 1) ndarray or None
        Output index (x, y[, z]) -> input continuous index, homogeneous, computed here from
        the grids and ``transform.transform_points`` (independently of gpuresample's plan);
        None for a deformable transform (only peers that take the transform itself run).
    value_range : float
        max - min of the input values (scale of the comparison tolerance).
    items : tuple of Workload
        The batch case's volumes, each a one-volume workload (empty otherwise); outputs of
        a batch are stacked along a new first axis.
    """

    case: Case
    image: Any
    transform: Any
    out_size: tuple[int, ...]
    out_origin: tuple[float, ...]
    out_spacing: tuple[float, ...]
    out_direction: np.ndarray
    resample_kwargs: dict
    index_affine: np.ndarray | None
    value_range: float
    items: tuple = ()

    @functools.cached_property
    def index_map(self) -> np.ndarray:
        """Input continuous index of every output voxel, (D, *out_shape): component k is
        the index along numpy axis k ([z, y, x] order, as ``map_coordinates`` takes it).

        Computed here through ``transform.transform_points`` on every output point, in
        float64 and independently of gpuresample's plan: the precomputed map that the
        index-map peers (scipy, cupyx, torch) interpolate on deformable cases.
        """
        d = self.case.dimension
        axes = [np.arange(n, dtype=np.float64) for n in self.out_size]       # x, y[, z]
        index = np.stack(np.meshgrid(*axes[::-1], indexing="ij")[::-1], axis=-1)
        points = np.asarray(self.out_origin) + index.reshape(-1, d) @ _index_to_point_matrix(
            self.out_spacing, self.out_direction).T
        if self.transform is not None:
            points = np.asarray(self.transform.transform_points(points), dtype=np.float64)
        to_index = np.linalg.inv(_index_to_point_matrix(self.image.spacing,
                                                        self.image.direction))
        cidx = (points - np.asarray(self.image.origin)) @ to_index.T         # (n, d) x first
        return np.ascontiguousarray(cidx[:, ::-1].T).reshape(d, *self.out_shape)

    @property
    def array(self) -> np.ndarray:
        """The input pixels, numpy order [z, y, x] (a batch: stacked)."""
        if self.items:
            return np.stack([item.array for item in self.items])
        return np.asarray(self.image)

    @property
    def out_shape(self) -> tuple[int, ...]:
        """The output array shape, numpy order (a batch: with the batch axis first)."""
        shape = tuple(self.out_size[::-1])
        return (len(self.items), *shape) if self.items else shape

    @property
    def out_voxels(self) -> int:
        return int(np.prod(self.out_size)) * max(1, len(self.items))

    @property
    def bytes_moved(self) -> int:
        """Bytes read plus bytes written by one resampling (input once, output once)."""
        return self.array.nbytes + self.out_voxels * np.dtype(self.case.out_dtype).itemsize


@functools.lru_cache(maxsize=2)
def _base_volume(shape: tuple[int, ...]) -> np.ndarray:
    """A phantom (values 0..1) with seeded texture, float32, numpy order; cached per shape."""
    from gpuresample.phantom import phantom

    volume = np.asarray(phantom(shape[::-1]), dtype=np.float32)
    noise = np.random.default_rng(SEED).random(shape, dtype=np.float32)
    volume = volume + np.float32(TEXTURE) * noise
    volume.setflags(write=False)
    return volume


def _pixels(case: Case, shape: tuple[int, ...]) -> np.ndarray:
    """The input array of ``case``: the textured phantom scaled into its dtype's range."""
    base = _base_volume(shape)
    if case.in_dtype == "uint8":
        return np.clip(base * 200.0 + 20.0, 0, 255).astype(np.uint8)
    if case.in_dtype == "int16":
        return (base * 2000.0 - 1000.0).astype(np.int16)
    return base.astype(case.in_dtype)


def _transform(case: Case, image) -> Any:
    """The case's transform, about the physical centre of ``image``."""
    import gpuresample as gr

    centre = image.transform_continuous_index_to_physical_point(
        [(n - 1) / 2.0 for n in image.size])
    if case.transform == "euler3d":
        return gr.Euler3DTransform(centre, EULER3D_ANGLES, EULER3D_TRANSLATION)
    if case.transform == "euler2d":
        return gr.Euler2DTransform(centre, EULER2D_ANGLE, EULER2D_TRANSLATION)
    if case.transform == "identity":
        return None
    rng = np.random.default_rng(SEED)
    if case.transform == "bspline":
        grid = gr.BSplineTransform.from_image(image, (BSPLINE_MESH,) * image.dimension)
        return gr.BSplineTransform(rng.normal(scale=DEFORMATION, size=grid.coefficients.shape),
                                   grid.grid_origin, grid.grid_spacing, grid.grid_direction)
    if case.transform in ("field", "field64"):
        # a smooth field at a quarter of the image's resolution, over the same extent;
        # "field": float32 values, as registration tools (ANTs, elastix) write fields,
        # "field64": values float32 does not hold
        coarse = tuple(max(2, n // 4) for n in image.size)
        values = rng.normal(scale=DEFORMATION, size=(*coarse[::-1], image.dimension))
        if case.transform == "field":
            values = values.astype(np.float32)
        field = gr.image_from_array(values, is_vector=True)
        field.origin = image.origin
        field.spacing = tuple(s * n / c for s, n, c in zip(image.spacing, image.size, coarse))
        return gr.DisplacementFieldTransform(field)
    raise ValueError(f"unknown transform kind {case.transform!r}")


def _index_to_point_matrix(spacing: Sequence[float], direction: np.ndarray) -> np.ndarray:
    return np.asarray(direction, dtype=np.float64) @ np.diag(np.asarray(spacing, np.float64))


def index_affine(image, out_origin, out_spacing, out_direction, transform) -> np.ndarray:
    """Homogeneous map from output index to input continuous index, both (x, y[, z]).

    Evaluates the chain index -> physical point -> ``transform`` -> continuous index on the
    output origin and the unit index steps; exact for affine transforms.
    """
    d = image.dimension
    steps = np.vstack([np.zeros(d), np.eye(d)])                     # (d + 1, d) indices
    points = np.asarray(out_origin) + steps @ _index_to_point_matrix(out_spacing,
                                                                     out_direction).T
    if transform is not None:
        points = np.asarray(transform.transform_points(points), dtype=np.float64)
    to_index = np.linalg.inv(_index_to_point_matrix(image.spacing, image.direction))
    cidx = (points - np.asarray(image.origin)) @ to_index.T
    affine = np.eye(d + 1)
    affine[:d, :d] = (cidx[1:] - cidx[0]).T
    affine[:d, d] = cidx[0]
    return affine


def build_workload(case: Case, size: int, size2d: int) -> Workload:
    """Make ``case`` concrete: ``size``^3 for 3-D cases, ``size2d``^2 for 2-D ones."""
    if case.batch > 1:
        return _batch_workload(case, size)
    return _one_workload(case, size if case.dimension == 3 else size2d)


def _batch_workload(case: Case, size: int) -> Workload:
    """``case.batch`` volumes of a quarter of ``size`` per edge, each with its own content
    and its own seeded random rotation about its centre."""
    import gpuresample as gr

    edge = max(8, size // 4)
    rng = np.random.default_rng(SEED)
    items = []
    for k in range(case.batch):
        item = _one_workload(case, edge, offset=0.05 * k)
        centre = item.image.transform_continuous_index_to_physical_point(
            [(n - 1) / 2.0 for n in item.image.size])
        transform = gr.Euler3DTransform(centre, tuple(rng.uniform(-0.3, 0.3, 3)),
                                        tuple(rng.uniform(-2.0, 2.0, 3)))
        items.append(Workload(case, item.image, transform, item.out_size, item.out_origin,
                              item.out_spacing, item.out_direction, item.resample_kwargs,
                              index_affine(item.image, item.out_origin, item.out_spacing,
                                           item.out_direction, transform),
                              item.value_range))
    first = items[0]
    return Workload(case, first.image, first.transform, first.out_size, first.out_origin,
                    first.out_spacing, first.out_direction, first.resample_kwargs,
                    first.index_affine, max(i.value_range for i in items), tuple(items))


def _one_workload(case: Case, edge: int, offset: float = 0.0) -> Workload:
    import gpuresample as gr

    pixels = _pixels(case, (edge,) * case.dimension)
    if offset:
        pixels = pixels + pixels.dtype.type(offset)
    image = gr.image_from_array(pixels, copy=False)
    kwargs: dict = {}
    if case.out_dtype != case.in_dtype:
        kwargs["output_pixel_type"] = np.dtype(case.out_dtype)
    out_size, out_spacing = image.size, image.spacing
    if case.grid == "aniso-down":
        image.spacing = (ANISO_IN_SPACING,) * case.dimension
        out_spacing = (ANISO_OUT_SPACING,) * case.dimension
        ratio = ANISO_OUT_SPACING / ANISO_IN_SPACING
        out_size = tuple(max(1, int(round(n / ratio))) for n in image.size)
        kwargs["spacing"] = out_spacing
    elif case.grid == "aniso-up":
        image.spacing = ANISO_UP_IN_SPACING
        out_spacing = (1.0,) * case.dimension
        out_size = tuple(int(round(n * s)) for n, s in zip(image.size, image.spacing))
        kwargs["spacing"] = out_spacing
    transform = _transform(case, image)
    out_direction = np.asarray(image.direction, dtype=np.float64)
    values = np.asarray(image)
    return Workload(case, image, transform, tuple(out_size), tuple(image.origin),
                    tuple(out_spacing), out_direction, kwargs,
                    index_affine(image, image.origin, out_spacing, out_direction, transform)
                    if case.transform in AFFINE_KINDS else None,
                    float(values.max()) - float(values.min()))


# ----------------------------------------------------------------------------- timing

@dataclass
class Timing:
    """Result of :func:`time_call`: the warm-up call apart, then the median of the rest."""

    first_s: float
    median_s: float
    times_s: list[float]
    result: Any = field(default=None, repr=False)

    @property
    def spread(self) -> float:
        """(max - min) / median of the timed calls: a noise indicator."""
        return (max(self.times_s) - min(self.times_s)) / self.median_s if self.median_s else 0.0


Clock = Callable[[Callable[[], Any], Callable[[], None]], tuple[float, Any]]


def _no_sync() -> None:
    return None


def wall_clock(fn: Callable[[], Any], sync: Callable[[], None]) -> tuple[float, Any]:
    """Seconds of wall time for ``fn()`` followed by ``sync()``, and ``fn``'s result."""
    t0 = time.perf_counter()
    result = fn()
    sync()
    return time.perf_counter() - t0, result


def cuda_event_clock() -> Clock:
    """A clock that measures GPU time between two CUDA events on CuPy's current stream."""
    import cupy

    def clock(fn: Callable[[], Any], sync: Callable[[], None]) -> tuple[float, Any]:
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        result = fn()
        stop.record()
        stop.synchronize()
        sync()
        return cupy.cuda.get_elapsed_time(start, stop) / 1e3, result

    return clock


def time_call(fn: Callable[[], Any], repeat: int, sync: Callable[[], None] = _no_sync,
              clock: Clock | None = None) -> Timing:
    """Time ``fn``: one warm-up call (reported as ``first_s``), then ``repeat`` timed calls.

    Parameters
    ----------
    fn : callable
        The work; its last result is kept in ``Timing.result``.
    repeat : int
        Number of timed calls after the warm-up (at least 1).
    sync : callable
        Called after each ``fn()`` inside the timed region (waits for a GPU to finish).
    clock : callable, optional
        ``clock(fn, sync) -> (seconds, result)``; default :func:`wall_clock`.
    """
    clock = clock or wall_clock
    first, result = clock(fn, sync)
    times = []
    for _ in range(max(1, repeat)):
        seconds, result = clock(fn, sync)
        times.append(seconds)
    return Timing(first, statistics.median(times), times, result)


# ----------------------------------------------------------------------------- implementations

@dataclass
class Prepared:
    """A ready-to-time implementation: ``call()`` does the work, ``fetch(result)`` returns
    the output as a host numpy array [z, y, x] (outside the timed region)."""

    call: Callable[[], Any]
    sync: Callable[[], None] = _no_sync
    fetch: Callable[[Any], np.ndarray] = np.asarray
    clock: Clock | None = None


def _cupy_sync() -> None:
    import cupy
    cupy.cuda.get_current_stream().synchronize()


def _torch_sync() -> None:
    import torch
    torch.cuda.synchronize()


def _to_host(array) -> np.ndarray:
    return array.get() if hasattr(array, "get") else np.asarray(array)


def build_ours(work: Workload, device: str, precision: str, mode: str = "resident") -> Prepared:
    """gpuresample's call on ``device``.

    ``mode``: "resident" (the image already where the device computes, the whole
    ``gr.resample`` call), "copies" (a host image resampled with ``device="cuda"`` and the
    result brought back: host <-> device copies included), "kernel" (the CUDA kernel launch
    alone, timed with CUDA events; uses gpuresample internals).
    """
    import gpuresample as gr

    if work.items:
        return _build_ours_batch(work, device, precision, mode)
    if mode == "kernel":
        return _build_ours_kernel(work, precision)
    resident = device == "cuda" and mode == "resident"
    image = work.image.to("cuda") if resident else work.image

    def call():
        out = gr.resample(image, work.transform, work.case.interpolator, 0.0, device=device,
                          precision=precision, **work.resample_kwargs)
        return out.to("cpu") if mode == "copies" else out

    sync = _cupy_sync if device == "cuda" else _no_sync
    return Prepared(call, sync, lambda img: _to_host(gr.array_from_image(img)))


def _build_ours_batch(work: Workload, device: str, precision: str, mode: str) -> Prepared:
    """``gr.resample_batch`` of the batch's volumes and transforms: one launch ("kernel"
    mode times the same whole call)."""
    import gpuresample as gr

    resident = device == "cuda" and mode != "copies"
    images = [item.image.to("cuda") if resident else item.image for item in work.items]
    transforms = [item.transform for item in work.items]

    def call():
        outs = gr.resample_batch(images, transforms, work.case.interpolator, 0.0,
                                 device=device, precision=precision, **work.resample_kwargs)
        return [o.to("cpu") for o in outs] if mode == "copies" else outs

    sync = _cupy_sync if device == "cuda" else _no_sync
    return Prepared(call, sync,
                    lambda outs: np.stack([_to_host(gr.array_from_image(o)) for o in outs]))


def _looped(build: Callable[[Workload], Prepared]) -> Callable[[Workload], Prepared]:
    """A peer's builder extended to a batch: the peer runs on each volume in turn."""
    def build_any(work: Workload) -> Prepared:
        if not work.items:
            return build(work)
        prepared = [build(item) for item in work.items]

        def call():
            return [p.call() for p in prepared]

        def sync():
            prepared[0].sync()

        return Prepared(call, sync,
                        lambda results: np.stack([p.fetch(r) for p, r in zip(prepared,
                                                                              results)]))

    return build_any


def _build_ours_kernel(work: Workload, precision: str) -> Prepared:
    """The CUDA kernel launch alone, its plan and arguments built beforehand (internals)."""
    import cupy

    from gpuresample.backends import get_backend
    from gpuresample.backends.launch import launch_shape, resample_args
    from gpuresample.geometry import Grid
    from gpuresample.grids import grid_of
    from gpuresample.plan import make_plan
    from gpuresample.resample import _transform_chain

    grid = Grid(work.out_size, work.out_origin, work.out_spacing, work.out_direction)
    chain = _transform_chain(work.transform, work.case.dimension)
    plan = make_plan(grid_of(work.image), grid, chain, work.case.interpolator,
                     np.dtype(work.case.in_dtype), np.dtype(work.case.out_dtype), 1, 0.0,
                     precision)
    backend = get_backend("cuda")
    kernel = backend._kernel(plan)
    src = cupy.ascontiguousarray(cupy.asarray(work.array))
    out = cupy.empty(work.out_shape, dtype=work.case.out_dtype)
    row_ends = cupy.asarray(plan.row_ends, dtype=np.float64)
    defaults = cupy.asarray(plan.default_values)
    args = resample_args(plan, 0)
    launch_grid, block = launch_shape(plan.out_size, plan.batch)

    def call():
        kernel(launch_grid, block, (src, out, row_ends, defaults, args[()]))
        return out

    return Prepared(call, _cupy_sync, _to_host, cuda_event_clock())


_SITK_TYPES = {"uint8": "sitkUInt8", "int16": "sitkInt16", "float32": "sitkFloat32",
               "float64": "sitkFloat64"}


def _build_sitk(work: Workload) -> Prepared:
    """``sitk.Resample`` on the same grid with the same transform (via ``gr.to_sitk``)."""
    import SimpleITK as sitk

    import gpuresample as gr

    simage = gr.to_sitk(work.image)
    d = work.case.dimension
    stransform = (sitk.Transform(d, sitk.sitkIdentity) if work.transform is None
                  else gr.to_sitk(work.transform))
    interp = sitk.sitkLinear if work.case.interpolator == "linear" else sitk.sitkNearestNeighbor
    pixel_id = getattr(sitk, _SITK_TYPES[work.case.out_dtype])
    size = [int(n) for n in work.out_size]
    direction = work.out_direction.reshape(-1).tolist()

    def call():
        return sitk.Resample(simage, size, stransform, interp, work.out_origin,
                             work.out_spacing, direction, 0.0, pixel_id)

    return Prepared(call, fetch=sitk.GetArrayFromImage)


def numpy_index_affine(work: Workload) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, offset) of the output -> input index map in numpy [z, y, x] order, as
    ``scipy.ndimage.affine_transform`` takes them."""
    d = work.case.dimension
    a = work.index_affine
    return a[:d, :d][::-1, ::-1].copy(), a[:d, d][::-1].copy()


def _build_scipy(work: Workload) -> Prepared:
    """``scipy.ndimage.affine_transform`` (single-threaded), order 1 or 0, no prefilter;
    on a deformable case ``map_coordinates`` over the precomputed index map."""
    from scipy import ndimage

    src, order = work.array, _order(work)
    if work.index_affine is None:
        coords = work.index_map

        def call():
            return ndimage.map_coordinates(src, coords, output=np.dtype(work.case.out_dtype),
                                           order=order, mode="constant", cval=0.0,
                                           prefilter=False)

        return Prepared(call)
    matrix, offset = numpy_index_affine(work)

    def call():
        return ndimage.affine_transform(src, matrix, offset, output_shape=work.out_shape,
                                        output=np.dtype(work.case.out_dtype), order=order,
                                        mode="constant", cval=0.0, prefilter=False)

    return Prepared(call)


def _order(work: Workload) -> int:
    return 1 if work.case.interpolator == "linear" else 0


def _build_cupyx(work: Workload) -> Prepared:
    """``cupyx.scipy.ndimage.affine_transform`` into a preallocated output (GPU); on a
    deformable case ``map_coordinates`` over the precomputed index map (on the GPU)."""
    import cupy
    from cupyx.scipy import ndimage

    src = cupy.asarray(work.array)
    out = cupy.empty(work.out_shape, dtype=work.case.out_dtype)
    order = _order(work)
    if work.index_affine is None:
        coords = cupy.asarray(work.index_map)

        def call_map():
            ndimage.map_coordinates(src, coords, output=out, order=order, mode="constant",
                                    cval=0.0, prefilter=False)
            return out

        return Prepared(call_map, _cupy_sync, _to_host)
    matrix, offset = numpy_index_affine(work)
    matrix_dev = cupy.asarray(matrix)

    def call():
        ndimage.affine_transform(src, matrix_dev, tuple(offset.tolist()),
                                 output_shape=work.out_shape, output=out, order=order,
                                 mode="constant", cval=0.0, prefilter=False)
        return out

    return Prepared(call, _cupy_sync, _to_host)


def torch_theta(work: Workload, align_corners: bool) -> np.ndarray:
    """``affine_grid``'s theta (D x D+1, in (x, y[, z]) order) for the case's index map.

    With align_corners=True a normalised coordinate u maps to index (u + 1)(N - 1)/2;
    with False to ((u + 1)N - 1)/2. theta = S_in A S_out, with the offsets folded in.
    """
    d = work.case.dimension
    a, b = work.index_affine[:d, :d], work.index_affine[:d, d]
    n_out = np.asarray(work.out_size, np.float64)
    n_in = np.asarray(work.image.size, np.float64)
    if align_corners:
        out_scale, out_shift = (n_out - 1) / 2, (n_out - 1) / 2
        in_scale, in_shift = 2 / (n_in - 1), -np.ones(d)
    else:
        out_scale, out_shift = n_out / 2, (n_out - 1) / 2
        in_scale, in_shift = 2 / n_in, 1 / n_in - 1
    theta = np.empty((d, d + 1))
    theta[:, :d] = in_scale[:, None] * a * out_scale[None, :]
    theta[:, d] = in_scale * (a @ out_shift + b) + in_shift
    return theta


def torch_grid(work: Workload, align_corners: bool) -> np.ndarray:
    """``grid_sample``'s grid (1, *out_shape, D; last axis (x, y[, z]), normalised to
    [-1, 1]) from the precomputed index map."""
    d = work.case.dimension
    n_in = np.asarray(work.image.size, np.float64)                       # x, y[, z]
    cidx = np.moveaxis(work.index_map[::-1], 0, -1)                      # (..., d) x first
    if align_corners:
        grid = cidx * (2 / (n_in - 1)) - 1
    else:
        grid = (2 * cidx + 1) / n_in - 1
    return grid.reshape(1, *work.out_shape, d).astype(np.float32)


def _torch_threads(device: str) -> None:
    """On the CPU, torch runs on the run's thread count (``set_threads``', as ours)."""
    if device == "cpu":
        import numba
        import torch
        torch.set_num_threads(numba.get_num_threads())


def _build_torch(work: Workload, align_corners: bool, with_affine_grid: bool,
                 device: str = "cuda") -> Prepared:
    """``torch.nn.functional.grid_sample`` (float32, zeros padding) on ``device``, with
    ``affine_grid`` inside the timed call or the grid built beforehand (on a deformable
    case: from the precomputed index map). On the CPU torch uses the run's thread count."""
    import torch
    import torch.nn.functional as F

    _torch_threads(device)
    src = torch.as_tensor(work.array.astype(np.float32), device=device)[None, None]
    size = (1, 1, *work.out_shape)
    mode = "bilinear" if work.case.interpolator == "linear" else "nearest"

    def make_grid():
        if work.index_affine is None:
            return torch.as_tensor(torch_grid(work, align_corners), device=device)
        theta = torch.as_tensor(torch_theta(work, align_corners), dtype=torch.float32,
                                device=device)[None]
        return F.affine_grid(theta, size, align_corners=align_corners)

    def sample(grid):
        return F.grid_sample(src, grid, mode=mode, padding_mode="zeros",
                             align_corners=align_corners)

    if with_affine_grid:
        call = lambda: sample(make_grid())  # noqa: E731
    else:
        grid = make_grid()
        call = lambda: sample(grid)  # noqa: E731
    return Prepared(call, _torch_sync if device == "cuda" else _no_sync,
                    lambda t: t[0, 0].cpu().numpy())


def _build_monai(work: Workload, with_affine: bool, device: str = "cpu") -> Prepared:
    """MONAI's resampling (float32, zeros padding) on ``device``: ``monai.transforms.Affine``
    (the grid built from the affine inside the timed call) or ``Resample`` over the grid
    built beforehand (on a deformable case: from the precomputed index map). MONAI works
    in pixel coordinates centred on each image's centre, numpy's axis order."""
    import torch
    from monai.transforms import Affine, Resample

    _torch_threads(device)
    d = work.case.dimension
    src = torch.as_tensor(work.array.astype(np.float32), device=device)[None]
    mode = "bilinear" if work.case.interpolator == "linear" else "nearest"
    c_in = (np.asarray(work.array.shape, np.float64) - 1) / 2
    if with_affine:
        m, off = numpy_index_affine(work)
        affine = np.eye(d + 1)
        affine[:d, :d] = m
        affine[:d, d] = m @ ((np.asarray(work.out_shape, np.float64) - 1) / 2) + off - c_in
        transform = Affine(affine=torch.as_tensor(affine), spatial_size=work.out_shape,
                           mode=mode, padding_mode="zeros", normalized=False, image_only=True)
        call = lambda: transform(src)  # noqa: E731
    else:
        coords = work.index_map - c_in.reshape(d, *[1] * d)
        grid = torch.as_tensor(np.concatenate([coords, np.ones((1, *work.out_shape))])
                               .astype(np.float32), device=device)
        resample = Resample(mode=mode, padding_mode="zeros", norm_coords=True)
        call = lambda: resample(src, grid)  # noqa: E731
    return Prepared(call, _torch_sync if device == "cuda" else _no_sync,
                    lambda t: np.asarray(t[0].cpu()))


def _check_import(module: str) -> str | None:
    try:
        importlib.import_module(module)
    except Exception as exc:  # any failure: a broken install must not stop the run
        return f"{module} not installed or not importable ({type(exc).__name__}: {exc})"
    return None


def _check_cupyx() -> str | None:
    why = _check_import("cupyx.scipy.ndimage")
    if why is None:
        import cupy
        try:
            if cupy.cuda.runtime.getDeviceCount() < 1:
                return "CuPy sees no CUDA device"
        except Exception as exc:
            return f"CuPy cannot reach a GPU ({type(exc).__name__}: {exc})"
    return why


def _check_torch(module: str = "torch") -> str | None:
    why = _check_import(module)
    if why is None:
        import torch
        if not torch.cuda.is_available():
            return "torch has no CUDA device (torch.cuda.is_available() is False)"
    return why


@dataclass(frozen=True)
class PeerSpec:
    """A peer implementation.

    Attributes
    ----------
    key : str
        The ``--peers`` name (several specs may share one, e.g. the torch variants).
    label : str
        Name printed in the table.
    device : {"cpu", "cuda"}
        Where the peer computes; GPU peers are compared on GPU rows only.
    region : {"all", "interior"}
        Voxels compared with ours: "interior" excludes output voxels whose input position
        is within 1 voxel of the input border (different boundary rules).
    check : callable
        Returns None when the peer can run here, else the reason it is skipped.
    build : callable
        ``build(work) -> Prepared``.
    takes : {"transform", "index", "affine"}
        What the peer is given: the transform itself (it runs on every case), an index
        map (the affine matrix on affine cases, every voxel's precomputed input position
        on deformable ones), or an affine only (affine cases only).
    """

    key: str
    label: str
    device: str
    region: str
    check: Callable[[], str | None]
    build: Callable[[Workload], Prepared]
    takes: str = "index"


def _torch_specs() -> tuple[PeerSpec, ...]:
    """grid_sample with affine_grid in the timed call and alone, both align_corners, on
    the GPU and on the CPU."""
    specs = []
    for device, check in (("cuda", _check_torch), ("cpu", lambda: _check_import("torch"))):
        for align in (True, False):
            for with_grid in (True, False):
                label = ("torch affine_grid+grid_sample" if with_grid
                         else "torch grid_sample") + f" ac={'T' if align else 'F'}"
                build = functools.partial(_build_torch, align_corners=align,
                                          with_affine_grid=with_grid, device=device)
                specs.append(PeerSpec("torch", label, device, "interior", check,
                                      _looped(build), "affine" if with_grid else "index"))
    return tuple(specs)


def _monai_specs() -> tuple[PeerSpec, ...]:
    """MONAI's Affine (affine cases) and Resample over a precomputed grid, GPU and CPU."""
    specs = []
    for device in ("cuda", "cpu"):
        check = functools.partial(_check_torch, "monai") if device == "cuda" else \
            functools.partial(_check_import, "monai")
        for with_affine in (True, False):
            label = "MONAI Affine" if with_affine else "MONAI Resample (grid given)"
            build = functools.partial(_build_monai, with_affine=with_affine, device=device)
            specs.append(PeerSpec("monai", label, device, "interior", check, _looped(build),
                                  "affine" if with_affine else "index"))
    return tuple(specs)


# peers that run on the GPU and on the CPU: GPU rows compare their GPU variant only
_GPU_AND_CPU = ("torch", "monai")

PEERS: tuple[PeerSpec, ...] = (
    PeerSpec("sitk", "SimpleITK Resample", "cpu", "all",
             lambda: _check_import("SimpleITK"), _looped(_build_sitk), "transform"),
    PeerSpec("scipy", "scipy.ndimage (1 thread)", "cpu", "interior",
             lambda: _check_import("scipy.ndimage"), _looped(_build_scipy)),
    PeerSpec("cupyx", "cupyx.scipy.ndimage", "cuda", "interior", _check_cupyx,
             _looped(_build_cupyx)),
    *_torch_specs(),
    *_monai_specs(),
)
PEER_KEYS = tuple(dict.fromkeys(p.key for p in PEERS))


# ----------------------------------------------------------------------------- comparison

def interior_mask(work: Workload) -> np.ndarray:
    """Output voxels whose input continuous index is at least 1 voxel inside the border
    on every axis (1 <= c <= N - 2), numpy order (a batch: stacked)."""
    if work.items:
        return np.stack([interior_mask(item) for item in work.items])
    d = work.case.dimension
    if work.index_affine is None:
        sizes = np.asarray(work.image.size[::-1], np.float64).reshape(d, *[1] * d)
        return np.all((work.index_map >= 1.0) & (work.index_map <= sizes - 2.0), axis=0)
    axes = [np.arange(n, dtype=np.float64) for n in work.out_size]   # x, y[, z]
    mask = np.ones(work.out_shape, dtype=bool)
    for k in range(d):
        c = np.full(work.out_shape, work.index_affine[k, d])
        for j in range(d):
            shape = [1] * d
            shape[d - 1 - j] = work.out_size[j]
            c = c + work.index_affine[k, j] * axes[j].reshape(shape)
        mask &= (c >= 1.0) & (c <= work.image.size[k] - 2.0)
    return mask


def compare(ours: np.ndarray, theirs: np.ndarray, mask: np.ndarray | None,
            value_range: float) -> dict:
    """Max abs difference over ``mask`` (all voxels if None) and how many voxels differ by
    more than ``REL_TOL * value_range``; ``ok`` unless more than ``MAX_DIFFERING`` do."""
    if ours.shape != theirs.shape:
        raise RuntimeError(f"output shapes differ: ours {ours.shape}, peer {theirs.shape}")
    diff = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
    if mask is not None:
        diff = diff[mask]
    n = int(diff.size)
    max_diff = float(diff.max()) if n else 0.0
    n_over = int(np.count_nonzero(diff > REL_TOL * max(value_range, 1e-30)))
    return {"max_abs_diff": max_diff, "n_compared": n, "n_over_tol": n_over,
            "ok": bool(n and n_over <= MAX_DIFFERING * n and np.isfinite(max_diff))}


# ----------------------------------------------------------------------------- running

@dataclass
class Settings:
    """The runner's options (see ``--help``)."""

    size: int = 256
    size2d: int | None = None
    cases: tuple[str, ...] = CASE_NAMES
    peers: tuple[str, ...] = PEER_KEYS
    devices: tuple[str, ...] | None = None
    threads: int | None = None
    repeat: int = 5
    precisions: tuple[str, ...] = ("exact",)
    json_path: str | None = None
    record_path: str | None = None
    command: str = "python -m benchmarks"

    @property
    def edge2d(self) -> int:
        """2-D edge: given, or the one with as many pixels as the 3-D cube (4096 for 256)."""
        return self.size2d or max(2, int(round(self.size ** 1.5)))


def _mvox(voxels: int, seconds: float | None) -> float | None:
    return voxels / seconds / 1e6 if seconds else None


def _timing_dict(work: Workload, timing: Timing) -> dict:
    return {"mvox_s": _mvox(work.out_voxels, timing.median_s), "median_s": timing.median_s,
            "first_s": timing.first_s, "times_s": timing.times_s, "spread": timing.spread}


def _time(prepared: Prepared, repeat: int) -> Timing:
    return time_call(prepared.call, repeat, prepared.sync, prepared.clock)


def _check_geometry(work: Workload, result) -> None:
    """Ours must produce exactly the grid the peers are given."""
    if isinstance(result, list):       # a batch: every volume on its grid
        for item, one in zip(work.items, result):
            _check_geometry(item, one)
        return
    same = (tuple(result.size) == work.out_size
            and np.allclose(result.origin, work.out_origin)
            and np.allclose(result.spacing, work.out_spacing))
    if not same:
        raise RuntimeError(f"{work.case.name}: gpuresample's output grid {result.size} "
                           f"{result.spacing} is not the benchmark's {work.out_size} "
                           f"{work.out_spacing}")


def run_ours(work: Workload, device: str, precision: str, repeat: int,
             copy_bandwidth: float | None) -> tuple[dict, np.ndarray]:
    """Time gpuresample on ``device``; for cuda also kernel-only and with copies."""
    prepared = build_ours(work, device, precision)
    timing = _time(prepared, repeat)
    _check_geometry(work, timing.result)
    entry = _timing_dict(work, timing)
    entry.update(kernel=None, with_copies=None, bandwidth_fraction=None)
    if device == "cuda":
        kernel = _time(build_ours(work, device, precision, "kernel"), repeat)
        copies = _time(build_ours(work, device, precision, "copies"), repeat)
        entry["kernel"] = _timing_dict(work, kernel)
        entry["with_copies"] = _timing_dict(work, copies)
        entry["achieved_gb_s"] = work.bytes_moved / kernel.median_s / 1e9
        if copy_bandwidth:
            entry["bandwidth_fraction"] = work.bytes_moved / kernel.median_s / copy_bandwidth
    return entry, prepared.fetch(timing.result)


def run_peer(spec: PeerSpec, work: Workload, repeat: int) -> tuple[dict, np.ndarray]:
    """Time one peer on ``work``; returns its timing entry and its output (host)."""
    prepared = spec.build(work)
    timing = _time(prepared, repeat)
    entry = {"name": spec.label + (" (looped)" if work.items else ""), "key": spec.key,
             "device": spec.device, "region": spec.region, **_timing_dict(work, timing)}
    return entry, prepared.fetch(timing.result)


def copy_bandwidth(repeat: int) -> float:
    """Device-to-device copy bandwidth (bytes read + written per second), CUDA events."""
    import cupy

    src = cupy.empty(COPY_BYTES, dtype=np.uint8)
    dst = cupy.empty_like(src)

    def call():
        dst.data.copy_from_device_async(src.data, COPY_BYTES)

    timing = time_call(call, max(repeat, 5), _cupy_sync, cuda_event_clock())
    return 2 * COPY_BYTES / timing.median_s


def _row_header(work: Workload, device: str, precision: str) -> dict:
    case = work.case
    return {"case": case.name, "size": list(work.image.size), "out_size": list(work.out_size),
            "dtype_in": case.in_dtype, "dtype_out": case.out_dtype,
            "transform": case.transform, "interpolator": case.interpolator,
            "device": device, "precision": precision}


class PeerCache:
    """Peer timings and outputs per (case, peer label): each peer runs once per case and
    its numbers are reused on every row (device, precision) of that case."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[dict, np.ndarray]] = {}

    def get(self, spec: PeerSpec, work: Workload, repeat: int) -> tuple[dict, np.ndarray]:
        key = (work.case.name, spec.label)
        if key not in self._entries:
            self._entries[key] = run_peer(spec, work, repeat)
        return self._entries[key]

    def clear(self) -> None:
        self._entries.clear()


def _peer_row(spec: PeerSpec, work: Workload, ours: dict, ours_out: np.ndarray,
              cache: PeerCache, repeat: int, masks: dict) -> dict:
    entry, theirs = cache.get(spec, work, repeat)
    if spec.region not in masks:
        masks[spec.region] = None if spec.region == "all" else interior_mask(work)
    result = dict(entry)
    result.update(compare(ours_out, theirs, masks[spec.region], work.value_range))
    result["ratio"] = entry["median_s"] / ours["median_s"]
    return result


def run_row(work: Workload, device: str, precision: str, peers: Sequence[PeerSpec],
            cache: PeerCache, settings: Settings, copy_bw: float | None,
            log: TextIO) -> dict:
    """One table row: ours on (device, precision) and every applicable peer against it."""
    row = _row_header(work, device, precision)
    ours, ours_out = run_ours(work, device, precision, settings.repeat, copy_bw)
    row["ours"] = ours
    masks: dict = {}
    row["peers"] = []
    for spec in peers:
        if spec.device == "cuda" and device != "cuda":
            continue   # GPU peers: GPU rows only
        if spec.device == "cpu" and spec.key in _GPU_AND_CPU and device == "cuda":
            continue   # GPU rows compare those peers on the GPU
        if work.index_affine is None and spec.takes == "affine":
            continue   # a deformable transform has no affine matrix
        try:
            row["peers"].append(_peer_row(spec, work, ours, ours_out, cache,
                                          settings.repeat, masks))
        except Exception as exc:   # a failing peer is reported, never fatal
            print(f"  peer {spec.label} failed on {work.case.name}: "
                  f"{type(exc).__name__}: {exc}", file=log)
    return row


def available_devices(requested: Sequence[str] | None) -> tuple[list[str], dict[str, str]]:
    """Devices to run (``requested`` or all available) and the reasons for those skipped."""
    import gpuresample as gr

    states = gr.backends()
    wanted = list(requested) if requested else ["cpu", "cuda"]
    run_on, skipped = [], {}
    for device in wanted:
        state = states.get(device, f"unavailable: unknown device {device!r}")
        if state == "available":
            run_on.append(device)
        else:
            skipped[device] = state
    return run_on, skipped


def select_peers(keys: Sequence[str]) -> tuple[list[PeerSpec], dict[str, str]]:
    """Peer specs for ``keys`` that can run here, and {label: reason} for the others."""
    chosen, skipped = [], {}
    for spec in PEERS:
        if spec.key not in keys:
            continue
        why = spec.check()
        if why is None:
            chosen.append(spec)
        else:
            skipped[f"{spec.label} [{spec.device}]"] = why
    return chosen, skipped


def _core_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def set_threads(threads: int | None) -> tuple[int, Callable[[], None]]:
    """Apply the thread count to numba and SimpleITK; returns it and a restore function.

    numba is capped at ``numba.config.NUMBA_NUM_THREADS`` (its pool size).
    """
    import numba

    count = threads or _core_count()
    old_numba = numba.get_num_threads()
    numba.set_num_threads(max(1, min(count, numba.config.NUMBA_NUM_THREADS)))
    restore_sitk: Callable[[], None] = _no_sync
    try:
        import SimpleITK as sitk
        old_sitk = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(count)
        restore_sitk = functools.partial(sitk.ProcessObject.SetGlobalDefaultNumberOfThreads,
                                         old_sitk)
    except ImportError:
        pass

    def restore() -> None:
        numba.set_num_threads(old_numba)
        restore_sitk()

    return count, restore


# ----------------------------------------------------------------------------- environment

_VERSION_DISTS = {"gpuresample": ("gpuresample",), "numpy": ("numpy",), "numba": ("numba",),
                  "SimpleITK": ("SimpleITK", "simpleitk"), "scipy": ("scipy",),
                  "cupy": ("cupy-cuda13x", "cupy-cuda12x", "cupy-cuda11x", "cupy"),
                  "torch": ("torch",)}


def package_versions() -> dict[str, str]:
    """Versions of the packages involved, from installed metadata (nothing is imported,
    except gpuresample itself, whose version is ``gpuresample.__version__``)."""
    import gpuresample

    versions = {"python": platform.python_version()}
    for name, dists in _VERSION_DISTS.items():
        for dist in dists:
            try:
                versions[name] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    versions["gpuresample"] = gpuresample.__version__
    return versions


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (platform.processor() elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def gpu_name() -> str | None:
    try:
        import cupy
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:
        return None


NOTES = (
    "Mvox/s = output voxels per second (median of --repeat calls after a warm-up call; "
    "'first s' is that warm-up call).",
    "ratio = ours Mvox/s / peer Mvox/s (> 1: gpuresample is faster); peers are timed once per "
    "case and reused on every row of that case.",
    "SimpleITK and numba use --threads threads; scipy.ndimage is single-threaded.",
    "scipy/cupyx/torch use another boundary rule (and round nearest ties differently): they are "
    "compared on interior voxels only (input position >= 1 voxel inside the border); "
    "SimpleITK on all voxels.",
    "'!' flags a row where more than 1e-4 of the compared voxels differ by more than "
    "1e-3 x the input value range.",
    "GPU rows: 'kernel' = kernel launch alone (CUDA events); '+copies' = host image with "
    "device='cuda' and the result copied back; %copyBW = (input + output bytes) / kernel time "
    "as a fraction of a device-to-device copy measured in this run.",
    "torch runs on float32 input (integer inputs converted before timing).",
    "bspline/field cases: only SimpleITK takes the transform itself; scipy and cupyx "
    "(map_coordinates), torch (grid_sample) and MONAI (Resample) get every output voxel's "
    "input position precomputed, untimed, and only interpolate (affine_grid and MONAI "
    "Affine rows are skipped).",
)


def environment(settings: Settings, threads: int, devices: list[str],
                skipped: dict[str, str], copy_bw: float | None) -> dict:
    """Everything the table's header prints, as a dict for --json."""
    import gpuresample as gr

    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "versions": package_versions(), "threads": threads, "cpu_model": cpu_model(),
            "cpu_count": os.cpu_count(), "gpu": gpu_name() if "cuda" in devices else None,
            "devices": devices, "backends": gr.backends(), "skipped": skipped,
            "copy_bandwidth_gb_s": copy_bw / 1e9 if copy_bw else None,
            "repeat": settings.repeat, "size": settings.size, "size2d": settings.edge2d,
            "notes": list(NOTES)}


# ----------------------------------------------------------------------------- output

_COLUMNS = (("case", 18), ("size", 11), ("dtype in->out", 16), ("transform", 9),
            ("interp", 7), ("device", 6), ("prec", 5), ("ours Mvox/s", 11), ("first s", 7),
            ("kernel", 7), ("+copies", 7), ("%copyBW", 7))
_PEER_COLUMNS = (("peer", 36), ("Mvox/s", 8), ("first s", 7), ("ratio", 7),
                 ("max|diff|", 10), ("compared", 9))


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def _size_text(size: Sequence[int]) -> str:
    return f"{size[0]}^{len(size)}" if len(set(size)) == 1 else "x".join(map(str, size))


def _ours_cells(row: dict) -> list[str]:
    ours = row["ours"]
    kernel, copies = ours.get("kernel"), ours.get("with_copies")
    fraction = ours.get("bandwidth_fraction")
    return [row["case"], _size_text(row["size"]), f"{row['dtype_in']}->{row['dtype_out']}",
            row["transform"], row["interpolator"], row["device"], row["precision"],
            _fmt(ours["mvox_s"]), _fmt(ours["first_s"], ".3f"),
            _fmt(kernel and kernel["mvox_s"], ".0f"), _fmt(copies and copies["mvox_s"], ".0f"),
            "-" if fraction is None else f"{100 * fraction:.0f}%"]


def _diff_text(peer: dict) -> str:
    text = "0" if peer["max_abs_diff"] == 0 else f"{peer['max_abs_diff']:.1e}"
    return text if peer["ok"] else text + "!"


def _peer_cells(peer: dict) -> list[str]:
    first = _fmt(peer["first_s"], ".3f") if peer["key"] == "cupyx" else ""
    return [f"{peer['name']} [{peer['device']}]", _fmt(peer["mvox_s"]), first,
            f"{peer['ratio']:.2f}x", _diff_text(peer), peer["region"]]


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return " ".join(c.ljust(w) if i == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(cells, widths)))


def format_table(rows: Sequence[dict]) -> str:
    """The comparison table: one line per (case, device, precision) with its first peer,
    then one continuation line per further peer."""
    left_w = [w for _, w in _COLUMNS]
    right_w = [w for _, w in _PEER_COLUMNS]
    header = _line([n for n, _ in _COLUMNS], left_w) + " | " + \
        _line([n for n, _ in _PEER_COLUMNS], right_w)
    lines = [header, "-" * len(header)]
    blank = _line([""] * len(left_w), left_w)
    for row in rows:
        left = _line(_ours_cells(row), left_w)
        if not row["peers"]:
            lines.append(left + " | (no peer)")
        for i, peer in enumerate(row["peers"]):
            lines.append((left if i == 0 else blank) + " | " + _line(_peer_cells(peer), right_w))
    return "\n".join(lines)


def format_environment(env: dict) -> str:
    """The header printed above the table."""
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines = [f"gpuresample benchmark, {env['date']}", f"versions: {versions}",
             f"CPU: {env['cpu_model']} ({env['cpu_count']} logical cores), "
             f"threads: {env['threads']} (SimpleITK, numba; scipy single-threaded)"]
    if env["gpu"]:
        lines.append(f"GPU: {env['gpu']}, device-to-device copy "
                     f"{_fmt(env['copy_bandwidth_gb_s'], '.0f')} GB/s")
    lines.append(f"devices: {', '.join(env['devices'])}; repeat {env['repeat']} "
                 f"(median), 3-D {env['size']}^3, 2-D {env['size2d']}^2")
    for what, why in env["skipped"].items():
        lines.append(f"skipped {what}: {why}")
    return "\n".join(lines)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(path: str, rows: Sequence[dict], env: dict) -> None:
    """``{"environment": env, "rows": rows}`` to ``path``."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"environment": env, "rows": list(rows)}, fh, indent=1,
                  default=_json_default)


def write_record(path: str, command: str, rows: Sequence[dict], env: dict) -> None:
    """A results page for benchmarks/results/: date, machine, the command, the table."""
    machine = env["gpu"] or env["cpu_model"]
    lines = [f"# Benchmark run, {env['date'][:10]}, {machine}", "",
             f"- date: {env['date']}",
             f"- CPU: {env['cpu_model']}, {env['cpu_count']} logical cores, "
             f"{env['threads']} threads",
             f"- GPU: {env['gpu'] or 'none'}",
             f"- versions: {', '.join(f'{k} {v}' for k, v in env['versions'].items())}",
             f"- command: `{command}`", "", "```", format_environment(env), "",
             format_table(rows), "```", "", *[f"- {n}" for n in env["notes"]], ""]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))


# ----------------------------------------------------------------------------- driver

def run(settings: Settings, out: TextIO = sys.stdout) -> tuple[list[dict], dict]:
    """Run every selected case on every selected device and precision; print the table."""
    devices, skipped = available_devices(settings.devices)
    if not devices:
        raise RuntimeError(f"no requested device can run here: {skipped}")
    peers, skipped_peers = select_peers(settings.peers)
    skipped.update(skipped_peers)
    threads, restore = set_threads(settings.threads)
    try:
        copy_bw = copy_bandwidth(settings.repeat) if "cuda" in devices else None
        env = environment(settings, threads, devices, skipped, copy_bw)
        print(format_environment(env), file=out, flush=True)
        rows = _run_cases(settings, devices, peers, copy_bw, out)
    finally:
        restore()
    print(format_table(rows), file=out)
    print("\n".join("note: " + n for n in NOTES), file=out)
    noisy = [r["case"] for r in rows if r["ours"]["spread"] > 0.25]
    if noisy:
        print(f"note: timings of {', '.join(sorted(set(noisy)))} spread over 25% between "
              "repeats (a busy machine?): treat those ratios with care", file=out)
    if settings.json_path:
        write_json(settings.json_path, rows, env)
    if settings.record_path:
        write_record(settings.record_path, settings.command, rows, env)
    return rows, env


def _run_cases(settings: Settings, devices: list[str], peers: list[PeerSpec],
               copy_bw: float | None, log: TextIO) -> list[dict]:
    rows = []
    by_name = {c.name: c for c in CASES}
    for name in settings.cases:
        work = build_workload(by_name[name], settings.size, settings.edge2d)
        cache = PeerCache()
        for device in devices:
            for precision in settings.precisions:
                rows.append(run_row(work, device, precision, peers, cache, settings,
                                    copy_bw, log))
        print(f"  done {name}", file=log, flush=True)
    return rows


def _comma_list(choices: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        items = tuple(t.strip() for t in text.split(",") if t.strip())
        bad = [t for t in items if t not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(bad) or '(empty list)'}; choose from {', '.join(choices)}")
        return items
    return parse


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``--help`` of ``python -m benchmarks`` / ``gpuresample bench``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time gpuresample against SimpleITK, scipy.ndimage, cupyx and torch on "
                    "the same resampling work, check the outputs agree, print ratios.",
        epilog=f"cases: {', '.join(CASE_NAMES)}; peers: {', '.join(PEER_KEYS)}. "
               "Peers that are not installed are skipped with a line saying why. "
               "See benchmarks/README.md for the columns and fairness rules.")
    parser.add_argument("--size", type=_positive, default=256,
                        help="edge of the 3-D cube (default 256)")
    parser.add_argument("--size2d", type=_positive, default=None,
                        help="edge of the 2-D case (default: as many pixels as the cube, "
                             "4096 for --size 256)")
    parser.add_argument("--cases", type=_comma_list(CASE_NAMES), default=CASE_NAMES,
                        help="comma list of cases (default all)")
    parser.add_argument("--peers", type=_comma_list(PEER_KEYS), default=PEER_KEYS,
                        help="comma list of peers (default all installed)")
    parser.add_argument("--devices", type=_comma_list(("cpu", "cuda")), default=None,
                        help="comma list of cpu, cuda (default: those available)")
    parser.add_argument("--threads", type=_positive, default=None,
                        help="threads for numba and SimpleITK (default all cores)")
    parser.add_argument("--repeat", type=_positive, default=5,
                        help="timed calls after the warm-up; the median is reported "
                             "(default 5)")
    parser.add_argument("--precision", choices=("exact", "fast", "both"), default="exact",
                        help="gpuresample precision mode(s) (default exact)")
    parser.add_argument("--json", dest="json_path", default=None, metavar="PATH",
                        help="also write rows and environment as JSON to PATH")
    parser.add_argument("--record", dest="record_path", default=None, metavar="PATH",
                        help="also write a results page (date, machine, command, table) as "
                             "markdown to PATH, e.g. benchmarks/results/DATE-MACHINE.md")
    return parser


def parse_settings(argv: Sequence[str]) -> Settings:
    """Settings from command line arguments."""
    args = build_parser().parse_args(list(argv))
    precisions = ("exact", "fast") if args.precision == "both" else (args.precision,)
    return Settings(size=args.size, size2d=args.size2d, cases=args.cases, peers=args.peers,
                    devices=args.devices, threads=args.threads, repeat=args.repeat,
                    precisions=precisions, json_path=args.json_path,
                    record_path=args.record_path,
                    command=" ".join(["python -m benchmarks", *argv]))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks`` and ``gpuresample bench``; returns 0 on
    success (comparison flags do not change the exit status)."""
    settings = parse_settings(sys.argv[1:] if argv is None else argv)
    run(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
