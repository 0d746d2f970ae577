"""Block-wise resampling: the output cut into blocks, each reading only the input it needs.

A :class:`BlockJob` is a resampling request without pixels (grids, transform chain, types,
backend). For an output block ``start .. stop`` (output indices, (x, y[, z])) it makes the
block's plan (:func:`gpuresample.plan.make_plan` with ``block=``: the whole grid's row
ends and row length, so every voxel gets exactly the value the whole resampling gives
it) and the input region the block reads (:meth:`BlockJob.region`):

* linear chains, exactly: the kernels' own positions at both ends of each of the block's
  rows (positions are monotonic along a row), widened by the interpolator's support;
* chains with a B-spline or displacement-field stage, a safe bound: the block's corners
  walked through the chain, linear members mapping them, each deformable member widening
  the box by its largest displacement over the box's footprint (B-spline coefficients and
  field values, whose convex combinations the displacements are), plus one voxel.

The block then runs on the input crop, the crop's offset handed to the kernels as an
integer index offset (:func:`gpuresample.plan.crop_input`), never as a shifted origin.
:func:`lazy_resample` builds the Dask graph: one task per output block; tasks carry the
job (no pixels) and read the input chunks their region touches themselves (from the Zarr
store or file, on whatever worker runs them) through a bounded cache of decoded chunks in
each process, the pieces copied into a buffer the worker thread reuses
(:mod:`gpuresample.chunk_reader`); of the region's bounding box, a block reads only the
chunks its slanted region (or bound) meets (:meth:`BlockJob.reads`).

Out of memory: a block whose launch raises MemoryError or CuPy's OutOfMemoryError (or
whose estimated size exceeds the free GPU memory) is split in two along its longest axis
and each half retried, up to ``max_splits`` times; after that a GPU block runs on the
host (``cpu`` backend, bit-identical) with a :class:`BlockFallbackWarning`.

Example
-------
>>> import numpy as np, gpuresample as gr
>>> from gpuresample.geometry import Grid
>>> job = BlockJob(Grid((100, 100)), Grid((50, 50), spacing=(2.0, 2.0)), (),
...                "linear", np.uint16, np.uint16, 1, 0.0, "exact", backend="cpu")
>>> plan = job.plan((0, 0), (10, 5))
>>> job.region(plan)           # input x 0..19, y 0..9 (the stop exclusive)
((0, 0), (20, 10))
"""

from __future__ import annotations

import itertools
import operator
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .backends.kernel_source import STAGE_KINDS
from .chunk_reader import BlockSource, chunk_edges
from .geometry import (Grid, index_to_physical_matrix, index_to_point,
                       physical_to_index_matrix, point_to_continuous_index)
from .plan import (ResamplePlan, _fused_affine, chain_stages, crop_input, end_cindices,
                   make_plan)

__all__ = ["BlockJob", "BlockFallbackWarning", "lazy_resample", "output_blocks",
           "estimate_block_bytes", "is_out_of_memory"]

Box = tuple[tuple[int, ...], tuple[int, ...]]


class BlockFallbackWarning(RuntimeWarning):
    """A block ran on the host because the GPU ran out of memory even for small blocks."""


@dataclass(frozen=True)
class BlockJob:
    """A resampling request without pixels: what every block task needs.

    Parameters
    ----------
    input_grid, output_grid : Grid
        The whole input image's grid and the whole output grid.
    chain : sequence of Transform
        A composite's member list (applied last first), as :func:`make_plan` takes it.
    interpolator, in_dtype, out_dtype, components, default_value, precision,
    complex_pixels :
        As :func:`gpuresample.plan.make_plan` (real component dtypes).
    backend : str
        "cpu", "cuda-host" or "cuda".
    in_pixel_dtype, out_pixel_dtype : numpy dtype, optional
        The arrays' own dtypes (complex64 for COMPLEX64 pixels); default the real ones.
    in_vector, out_vector : bool
        Whether the arrays have a trailing component axis.
    max_splits : int
        How often an out-of-memory block is halved before it runs on the host.
    """

    input_grid: Grid
    output_grid: Grid
    chain: tuple
    interpolator: str
    in_dtype: Any
    out_dtype: Any
    components: int
    default_value: Any
    precision: str
    complex_pixels: bool = False
    backend: str = "cpu"
    in_pixel_dtype: Any = None
    out_pixel_dtype: Any = None
    in_vector: bool = False
    out_vector: bool = False
    max_splits: int = 3

    # ---------------------------------------------------------------- planning
    def plan(self, start: Sequence[int], stop: Sequence[int]) -> ResamplePlan:
        """The plan of output block ``start .. stop`` (reading the whole input)."""
        return make_plan(self.input_grid, self.output_grid, list(self.chain),
                         self.interpolator, self.in_dtype, self.out_dtype, self.components,
                         self.default_value, self.precision, self.complex_pixels,
                         block=(tuple(start), tuple(stop)), stages=self._stages())

    def _stages(self):
        """A deformable chain's stage records, made once for all the job's blocks in a
        process (a block's plan would copy whole fields and coefficient grids: 50 MB of
        a 128^3 float64 field for every block); not pickled. None for a linear chain."""
        if self.linear:
            return None
        stages = self.__dict__.get("_stage_records")
        if stages is None:
            stages = chain_stages(list(self.chain), self.output_grid.dimension,
                                  self.precision, self.output_grid)
            object.__setattr__(self, "_stage_records", stages)   # frozen: a cache only
        return stages

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_stage_records", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    @property
    def whole_rows(self) -> bool:
        """Whether blocks must span whole rows along x: a separable B-spline (fast
        precision) takes y and z from each row's first voxel, which the CPU kernel finds
        at the block's first x."""
        d = self.output_grid.dimension
        plan = self.plan((0,) * d, (1,) * d)
        bspline = plan.stage_i[:, :, 0] == STAGE_KINDS["bspline"]
        return bool(plan.per_voxel and np.any(plan.stage_i[:, :, 7][bspline]))

    @property
    def linear(self) -> bool:
        return all(t.is_linear for t in self.chain)

    def region(self, plan: ResamplePlan) -> Box | None:
        """(start, stop) of the input voxels ``plan``'s block reads, or None if none:
        exact for a linear chain (from the plan's own row ends), a bound otherwise."""
        d = self.input_grid.dimension
        if plan.per_voxel:
            start = plan.out_offset[:d]
            return self.input_box(start, [a + n for a, n in zip(start, plan.out_size)])
        return self._voxels(*_row_extremes(plan.row_ends[0], plan, d))

    def input_box(self, start: Sequence[int], stop: Sequence[int]) -> Box | None:
        """A safe bound of :meth:`region` for output block ``start .. stop``, cheap to
        compute (what the graph is built with; each task then reads the exact part).

        Linear chains: the row ends of the block's corner rows only, widened by a margin
        far above the rounding of the interior rows' ends (the chain is affine, so they
        lie in the corners' hull up to rounding). Deformable chains: the block's corners
        walked through the chain (see the module notes).
        """
        d = self.input_grid.dimension
        if not self.linear:
            low, high = self._bound(start, stop)
            return self._voxels(low - 1.0, high + 1.0)   # rounding of the stages
        rows = np.array(np.meshgrid(*[(a, b - 1) for a, b in zip(start[1:], stop[1:])],
                                    indexing="ij")).reshape(d - 1, -1).T
        ends = np.zeros((len(rows), 2, d))
        ends[:, 1, 0] = self.output_grid.size[0]
        ends[:, :, 1:] = rows[:, None, :]
        cidx = np.zeros((len(rows), 2, 3))
        cidx[:, :, :d] = end_cindices(self.input_grid, self.output_grid, self.chain, ends)
        low, high = _row_extremes(cidx, _RowSpan(start[0], stop[0] - start[0],
                                                 self.output_grid.size[0], self.precision), d)
        margin = 1e-6 + 1e-9 * np.maximum(np.abs(low), np.abs(high))
        return self._voxels(low - margin, high + margin)

    def reads(self, start: Sequence[int], stop: Sequence[int], low: np.ndarray,
              high: np.ndarray) -> np.ndarray:
        """Whether output block ``start .. stop`` may read input voxels of each box
        ``low[k] .. high[k]`` (input indices, x first, inclusive), for boxes inside
        :meth:`input_box`: a rotated block's region is a slanted box, and a chunk of the
        region's bounding box may lie wholly outside it.

        The region lies in a parallelepiped of input indices: for a linear chain the
        block's image through the fused affine, for a deformable one the last box
        :meth:`input_box` walks the corners to, mapped by the linear members applied
        after it and the input's physical-to-index map. A box is read only if, widened by
        two voxels (three through deformable stages: the interpolator's support and the
        rounding, with room to spare), its image in the parallelepiped's own coordinates
        meets it: a separating-axis test on the parallelepiped's face normals (the box's
        own axes are :meth:`input_box`'s), never false for a box the block reads. All are
        read where the parallelepiped is flat.
        """
        low, high = np.atleast_2d(low), np.atleast_2d(high)
        d = self.input_grid.dimension
        m = np.eye(d + 1)
        if self.linear:       # output index -> input index; the block in output indices
            forward = _fused_affine(self.input_grid, self.output_grid, list(self.chain))
            m[:d, :d], m[:d, d] = forward[:d, :d], forward[:d, 3]
            first = np.asarray(start, dtype=np.float64)
            last = np.asarray(stop, dtype=np.float64) - 1.0
            margin = 2.0
        else:                 # unit cube -> input index: the parallelepiped's corners
            corners = self._corner_indices(start, stop)
            m[:d, d] = corners[0]
            for axis in range(d):      # _box_corners: axis a's far corner is 2^(d-1-a)
                m[:d, axis] = corners[1 << (d - 1 - axis)] - corners[0]
            first, last, margin = np.zeros(d), np.ones(d), 3.0
        if not np.all(np.isfinite(m)) or np.linalg.cond(m[:d, :d]) > 1e12:
            return np.ones(len(low), dtype=bool)
        back = np.linalg.inv(m)
        pick = np.array(list(itertools.product((0, 1), repeat=d)), dtype=bool)   # (2^d, d)
        box = np.where(pick[None], (high + margin)[:, None, :], (low - margin)[:, None, :])
        out = box @ back[:d, :d].T + back[:d, d]        # (boxes, 2^d, d)
        meets = (out.max(axis=1) >= first) & (out.min(axis=1) <= last)
        return meets.all(axis=1)

    def _voxels(self, low: np.ndarray, high: np.ndarray) -> Box | None:
        """The input voxels positions ``low .. high`` (per axis) read, or None."""
        d = self.input_grid.dimension
        size = np.asarray(self.input_grid.size)
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            return (0,) * d, tuple(int(n) for n in size)   # no usable bound: all of it
        upper = size - 0.5
        if np.any(high < -0.5) or np.any(low >= upper):
            return None
        low = np.maximum(low, -0.5)
        high = np.minimum(high, np.nextafter(upper, -np.inf))
        if self.interpolator == "nearest":
            first, last = np.floor(low + 0.5), np.floor(high + 0.5)
        else:
            first, last = np.floor(low), np.floor(high) + 1
        first = np.clip(first, 0, size - 1).astype(np.int64)
        last = np.clip(last, 0, size - 1).astype(np.int64)
        return tuple(int(v) for v in first), tuple(int(v) + 1 for v in last)

    def _bound(self, start: Sequence[int], stop: Sequence[int]) -> tuple[np.ndarray,
                                                                       np.ndarray]:
        """Bounds of the input continuous indices of a deformable chain's output block."""
        cidx = self._corner_indices(start, stop)
        return cidx.min(axis=0), cidx.max(axis=0)

    def _corner_indices(self, start: Sequence[int], stop: Sequence[int]) -> np.ndarray:
        """A deformable chain's output block walked through the chain, corners only:
        linear members map them, each deformable member replaces them with the corners of
        their box widened by its largest displacement there; the last corners (2^D, in
        :func:`_box_corners`' order) as input continuous indices."""
        first = np.asarray(start, dtype=np.float64)
        last = np.asarray(stop, dtype=np.float64) - 1.0
        corners = _box_corners(first, last)
        g = self.output_grid
        points = index_to_point(corners, g.origin,
                                index_to_physical_matrix(g.spacing, g.direction))
        for member in reversed(self.chain):              # in the order they are applied
            if member.is_linear:
                points = member.transform_points(points)
            else:
                reach = _largest_displacement(member, points.min(axis=0), points.max(axis=0))
                low = points.min(axis=0) - reach
                high = points.max(axis=0) + reach
                pad = 1e-9 * (1.0 + np.maximum(np.abs(low), np.abs(high)))
                points = _box_corners(low - pad, high + pad)
        src = self.input_grid
        return point_to_continuous_index(points, src.origin,
                                         physical_to_index_matrix(src.spacing, src.direction))

    # ---------------------------------------------------------------- running
    def block_shape(self, start: Sequence[int], stop: Sequence[int]) -> tuple[int, ...]:
        """numpy shape of the output block's array ([z,] y, x[, c])."""
        shape = tuple(b - a for a, b in zip(start, stop))[::-1]
        if self.out_vector:
            shape += (self.components // (2 if self.complex_pixels else 1),)
        return shape

    def run(self, start: Sequence[int], stop: Sequence[int], region: np.ndarray | None,
            region_start: Sequence[int] | None) -> np.ndarray:
        """The output block ``start .. stop`` as an array, from ``region``: the input voxels
        from ``region_start`` on, at least those :meth:`region` names (None: none)."""
        plan = self.plan(start, stop)
        out = self._run_plan(plan, region, region_start, self.backend, self.max_splits)
        pixel = np.dtype(self.out_pixel_dtype or self.out_dtype)
        return out.reshape(-1).view(pixel).reshape(self.block_shape(start, stop))

    def _run_plan(self, plan: ResamplePlan, region, region_start, backend_name: str,
                  splits_left: int) -> np.ndarray:
        out_real = np.dtype(self.out_dtype)
        out = np.empty((1, *plan.out_size[::-1], self.components), dtype=out_real)
        box = self.region(plan)
        if box is None or region is None:
            out[...] = plan.default_values
            return out
        crop, sub = _covering_region(region, region_start, box)
        try:
            _check_device_memory(plan, sub, out, backend_name)
            _execute(crop_input(plan, *crop), sub, out, backend_name, self)
            return out
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            halves = _split(plan, self.output_grid.dimension)
            if halves is not None and splits_left > 0:
                for (a, b), (where, _) in halves:
                    part = self._run_plan(self.plan(a, b), region, region_start,
                                          backend_name, splits_left - 1)
                    out[(0, *where)] = part[0]
                return out
            if backend_name == "cpu":
                raise MemoryError(f"the host ran out of memory resampling a block of "
                                  f"{plan.out_size[:self.output_grid.dimension]} voxels; use "
                                  "smaller chunks") from exc
            warnings.warn(f"the {backend_name} backend ran out of memory for a block of "
                          f"{plan.out_size[:self.output_grid.dimension]} voxels even after "
                          f"{self.max_splits} splits; it runs on the host (cpu backend) "
                          "instead", BlockFallbackWarning, stacklevel=2)
            _execute(crop_input(plan, *crop), sub, out, "cpu", self)
            return out


@dataclass(frozen=True)
class _RowSpan:
    """What :func:`_row_extremes` needs of a plan: the block's x range and the row length."""

    x0: int
    nx: int
    row_length: int
    precision: str


def _row_extremes(ends: np.ndarray, span, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest input continuous index per axis over a block's rows with row
    ends ``ends`` (rows, 2, 3), from the kernels' arithmetic at each row's first and last
    voxel of the block (positions are monotonic along a row). ``span``: a plan or a
    :class:`_RowSpan`."""
    if isinstance(span, ResamplePlan):
        span = _RowSpan(span.out_offset[0], span.out_size[0], span.row_length,
                        span.precision)
    real = np.float64 if span.precision == "exact" else np.float32
    s = ends[:, 0, :d].astype(real)
    delta = (ends[:, 1, :d] - ends[:, 0, :d]).astype(real)
    n = real(span.row_length)
    values = [s + (real(x) / n) * delta for x in (span.x0, span.x0 + span.nx - 1)]
    both = np.concatenate(values).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN axes
        return np.nanmin(both, axis=0), np.nanmax(both, axis=0)


def _box_corners(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.array(np.meshgrid(*zip(low, high), indexing="ij")).reshape(len(low), -1).T


def _largest_displacement(member, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per axis, the largest |displacement| ``member`` gives a point of the physical box
    ``low .. high``: the largest coefficient (B-spline) or field value over the control
    points or field voxels that can influence the box (its footprint), 0 outside."""
    if hasattr(member, "coefficients"):
        values = np.moveaxis(np.asarray(member.coefficients), 0, -1)   # [.., D]
        size, origin = member.grid_size, member.grid_origin
        spacing, direction = member.grid_spacing, member.grid_direction
        before, after = member.order / 2.0 + 1.0, member.order / 2.0 + 1.0
    else:
        values = np.asarray(member.field)
        size, origin = member.field_size, member.field_origin
        spacing, direction = member.field_spacing, member.field_direction
        before, after = 1.0, 2.0
    corners = _box_corners(low, high)
    u = point_to_continuous_index(corners, origin, physical_to_index_matrix(spacing, direction))
    first = np.maximum(np.floor(u.min(axis=0) - before), 0).astype(np.int64)
    last = np.minimum(np.ceil(u.max(axis=0) + after), np.asarray(size) - 1).astype(np.int64)
    d = len(size)
    if np.any(last < first):
        return np.zeros(d)
    index = tuple(slice(int(a), int(b) + 1) for a, b in zip(first[::-1], last[::-1]))
    part = np.abs(values[index]).reshape(-1, d)
    return part.max(axis=0) * (1.0 + 1e-12) if part.size else np.zeros(d)


def _covering_region(region: np.ndarray, region_start: Sequence[int],
                     box: Box) -> tuple[Box, np.ndarray]:
    """The crop a block runs on: all of ``region`` ([z,] y, x[, c], starting at input index
    ``region_start``), as a contiguous array, after checking that it holds ``box``, the
    voxels the block reads.

    The whole region rather than exactly ``box``: a crop may hold more voxels than the
    block reads (positions inside the input stay inside it, positions outside the input
    stay outside, since the region lies within the input), and taking ``box`` out of it
    would copy nearly all of it again (the graph's region is ``box`` up to a voxel).
    """
    d = len(region_start)
    shape = region.shape[:d][::-1]
    stop = tuple(int(a) + int(n) for a, n in zip(region_start, shape))
    if any(r > a or e < b for r, e, a, b in zip(region_start, stop, *box)):
        raise ValueError(f"the input region given to a block is {region.shape} from "
                         f"{tuple(region_start)}, which does not hold {box[0]}..{box[1]}")
    return (tuple(int(v) for v in region_start), stop), np.ascontiguousarray(region)


def _split(plan: ResamplePlan, d: int):
    """The two halves of a plan's block along its longest axis, as ((start, stop) in
    output indices, (index of the half in the block's [z, y, x] buffer, None)), or None
    for a single voxel."""
    size = list(plan.out_size[:d])
    start = list(plan.out_offset[:d])
    axis = int(np.argmax(size))
    if size[axis] < 2:
        return None
    half = size[axis] // 2
    parts = []
    for a, b in ((0, half), (half, size[axis])):
        s = list(start)
        e = [o + n for o, n in zip(start, size)]
        s[axis], e[axis] = start[axis] + a, start[axis] + b
        where = [slice(None)] * 3
        where[2 - axis] = slice(a, b)
        parts.append(((tuple(s), tuple(e)), (tuple(where), None)))
    return parts


def is_out_of_memory(exc: BaseException) -> bool:
    """True for MemoryError and CuPy's OutOfMemoryError (told by name: no CuPy import)."""
    if isinstance(exc, MemoryError):
        return True
    cls = type(exc)
    return cls.__name__ == "OutOfMemoryError" and cls.__module__.startswith("cupy")


def estimate_block_bytes(plan: ResamplePlan, source_bytes: int) -> int:
    """Device memory one launch of ``plan`` needs: the input crop, the output, the plan's
    arrays (row ends, stage records and data), each as the backend holds it.

    >>> from gpuresample.geometry import Grid
    >>> p = make_plan(Grid((8, 8)), Grid((8, 8)), [], "linear", np.uint8, np.uint8, 1, 0)
    >>> estimate_block_bytes(p, 64)
    1801
    """
    out = int(np.prod(plan.out_size)) * plan.components * plan.out_dtype.itemsize
    arrays = sum(a.nbytes for a in (plan.row_ends, plan.stage_i, plan.stage_f,
                                    plan.stage_data, plan.default_values))
    return int(source_bytes) + out + arrays


def _free_device_memory() -> int:
    """Free memory on the current CUDA device, counting CuPy's pool's free blocks."""
    import cupy

    free, _ = cupy.cuda.runtime.memGetInfo()
    return int(free + cupy.get_default_memory_pool().free_bytes())


def _check_device_memory(plan: ResamplePlan, src: np.ndarray, out: np.ndarray,
                         backend_name: str,
                         free_memory: Callable[[], int] | None = None) -> None:
    """Raise MemoryError before a GPU launch whose estimate exceeds 90% of free memory."""
    if backend_name != "cuda":
        return
    need = estimate_block_bytes(plan, src.nbytes)
    free = (free_memory or _free_device_memory)()
    if need > 0.9 * free:
        raise MemoryError(f"a block needs about {need} bytes of GPU memory, "
                          f"{free} are free")


def _execute(plan: ResamplePlan, src: np.ndarray, out: np.ndarray, backend_name: str,
             job: BlockJob) -> None:
    """Run ``plan`` on ``backend_name``: ``src`` the input crop (numpy, the image array's
    layout), results into ``out`` (numpy, [1, z, y, x, c] of the real output dtype)."""
    from .backends import get_backend

    backend = get_backend(backend_name)
    source = src.view(np.dtype(job.in_dtype)) if job.complex_pixels else src
    source = source.reshape(1, *plan.in_size[::-1], job.components)
    if backend_name == "cuda":
        import cupy

        device_out = cupy.empty(out.shape, dtype=out.dtype)
        backend.execute(plan, cupy.asarray(source), device_out, 0)
        out[...] = device_out.get()
    else:
        backend.execute(plan, source, out, 0)


# -------------------------------------------------------------------- the Dask graph
def output_blocks(size: Sequence[int], chunks: Sequence[Sequence[int]]):
    """Every block of a grid of ``size`` (x, y[, z]) cut by ``chunks`` (per axis, x first,
    block lengths summing to the size): yields (block index in numpy order, start, stop)."""
    edges = chunk_edges(chunks)
    d = len(size)
    for flat in np.ndindex(*[len(c) for c in chunks[::-1]]):
        k = flat[::-1]                                      # x first
        start = tuple(int(edges[a][k[a]]) for a in range(d))
        stop = tuple(int(edges[a][k[a] + 1]) for a in range(d))
        yield flat, start, stop


class _Block:
    """One block task's own arguments: its number (the order blocks run in), output
    ``start .. stop``, the input region's bounding box (numpy order) with the chunks of it
    to read, and the region's first voxel (x first). A plain object: Dask does not walk
    through it looking for collections, as it would through tuples of chunk indices."""

    __slots__ = ("number", "start", "stop", "region_box", "region_chunks", "region_start")

    def __init__(self, number, start, stop, region_box, region_chunks, region_start):
        self.number, self.start, self.stop = number, start, stop
        self.region_box, self.region_chunks = region_box, region_chunks
        self.region_start = region_start


def _block_task(job: BlockJob, source: BlockSource, block: _Block) -> np.ndarray:
    region = None if block.region_box is None else source.region(
        *block.region_box, chunks=block.region_chunks, reader=block.number)
    return job.run(block.start, block.stop, region, block.region_start)


def lazy_resample(source, job: BlockJob, chunks: Sequence[Sequence[int]]):
    """The resampled image's dask array: one task per output block.

    Parameters
    ----------
    source : dask.array.Array
        The input image's pixels ([z,] y, x[, c]).
    job : BlockJob
    chunks : per axis (x first) the block lengths, summing to the output size.

    Each task reads the input chunks of its region (the part of ``source`` that
    :meth:`BlockJob.region` names) itself, through its process's bounded cache of decoded
    chunks (:class:`gpuresample.chunk_reader.BlockSource`), so a cluster's workers read
    those regions from the store themselves and memory stays bounded; the job and the
    source's chunk graphs enter the graph once. Blocks are numbered in raster order (x
    fastest), the order Dask runs them in (or its reverse: it walks an array's chunks in
    the order of their keys), and the cache knows each chunk's readers by those numbers.
    """
    import dask
    import dask.array as da
    from dask.base import tokenize

    token = tokenize(job, source.name, chunks)
    counts = [len(c) for c in chunks[::-1]]
    numbers = np.arange(int(np.prod(counts))).reshape(counts)   # raster, x fastest
    pixel = np.dtype(job.out_pixel_dtype or job.out_dtype)
    extra = source.ndim - job.input_grid.dimension   # a vector image's component axis
    reader = BlockSource(source)
    blocks, readers = [], {}
    for flat, start, stop in output_blocks(job.output_grid.size, chunks):
        number = int(numbers[flat])
        box = job.input_box(start, stop)
        region_box = region_chunks = region_start = None
        if box is not None:
            low = tuple(box[0][::-1]) + (0,) * extra
            high = tuple(box[1][::-1]) + tuple(source.shape[source.ndim - extra:])
            region_box, region_start = (low, high), box[0]
            candidates = reader.chunks_of(low, high)
            first, last = reader.voxel_boxes(candidates, job.input_grid.dimension)
            region_chunks = tuple(c for c, read in zip(
                candidates, job.reads(start, stop, first, last)) if read)
            for index in region_chunks:
                readers.setdefault(index, []).append(number)
        blocks.append((flat, _Block(number, start, stop, region_box, region_chunks,
                                    region_start)))
    reader.readers = readers                         # known now: before the graph holds it
    job_key = dask.delayed(job, pure=True, traverse=False)
    source_key = dask.delayed(reader, pure=True, traverse=False)
    pieces = np.empty(counts, dtype=object)
    for flat, block in blocks:
        task = dask.delayed(_block_task, pure=True)(
            job_key, source_key, block,
            dask_key_name=f"gpuresample-block-{block.number:08d}-{token}")
        pieces[flat] = da.from_delayed(task, shape=job.block_shape(block.start, block.stop),
                                       dtype=pixel)
    if job.out_vector:
        pieces = pieces[..., None]
    return da.block(pieces.tolist())


def normalize_chunks(chunks, size: Sequence[int], default: int) -> list[tuple[int, ...]]:
    """``chunks`` (an int, or one int or tuple of block lengths per axis, x first) as
    block lengths per axis, x first; None: ``default`` voxels along every axis.

    >>> normalize_chunks(4, (10, 3), 64)
    [(4, 4, 2), (3,)]
    """
    d = len(size)
    if chunks is None:
        chunks = default
    if isinstance(chunks, (int, np.integer)) and not isinstance(chunks, bool):
        chunks = (int(chunks),) * d
    try:
        if isinstance(chunks, (str, bytes)):
            raise TypeError
        chunks = list(chunks)
    except TypeError:
        raise TypeError(f"chunks must be an int or a sequence of {d} (x, y[, z]), got "
                        f"{chunks!r}") from None
    if len(chunks) != d:
        raise ValueError(f"chunks must have {d} entries (x, y[, z]) for a {d}-D output, "
                         f"got {len(chunks)}")
    out = []
    for axis, (c, n) in enumerate(zip(chunks, size)):
        if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
            if c < 1:
                raise ValueError(f"chunk length must be at least 1, got {c} on axis {axis}")
            c = int(min(c, n))
            out.append((c,) * (n // c) + ((n % c,) if n % c else ()))
        else:
            try:
                lengths = tuple(operator.index(v) for v in c)
            except TypeError:
                raise TypeError(f"chunks on axis {axis} must be an int or a sequence of "
                                f"ints, got {c!r}") from None
            if any(v < 1 for v in lengths) or sum(lengths) != n:
                raise ValueError(f"block lengths on axis {axis} must be positive and sum "
                                 f"to the output size {n}, got {lengths}")
            out.append(lengths)
    return out


def default_block_edge(dimension: int) -> int:
    """Default block edge: 128 voxels in 3-D (2 M voxels a block), 1024 in 2-D."""
    return 128 if dimension == 3 else 1024

