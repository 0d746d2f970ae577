"""Backend ``cpu``: numba, parallel over output rows, cached on disk.

The arithmetic is the kernel's (kernels/resample.cu) operation for operation, so the two
agree bit for bit in both precisions: positions ``c = c0 + alpha·(c1 - c0)`` with
``alpha = x / N_x``, ITK's inside test, nearest ``floor(c + 0.5)``, linear lerps in x, then
y, then z with edge replication, and the clamp-then-truncate conversion to the output type.

Speed: for float outputs each output row is one loop that LLVM vectorises, gathering the
input samples. For that the per-pixel code is branch-free (selects) and inlined into the
parallel loop. Linear interpolation of scalar images reads each sample with its x
neighbour from one word (``word_loads.load_pair``: four gathers a 3-D voxel, not eight,
and 8- and 16-bit inputs gathered as they are); with several components, 8- and 16-bit
inputs are widened to int32 (x86 gathers 32- and 64-bit words only), and nearest loads
narrow samples one by one, which measured faster than widening. Integer outputs take the
same loop into a row of the arithmetic type and a second, plain conversion loop (LLVM
does not vectorise a float -> integer store), or,
where the type's range is not exact in it, a loop that skips outside pixels (see
``_make_kernel``). Rows run tile by tile (32 x 32 rows in y and z, ``_row_order``), so
that a rotated large volume is read from the cache rather than from memory. On the
per-voxel path (B-spline and displacement-field stages) ``stages.chunk_points`` computes
64 positions of a row at a time, in loops vectorised across points, into a (3, 64) array
on the stack (one row per axis: a loop reading (n, 3) positions stays scalar), which the
same row loop then samples into a row on the stack that a second loop copies out
(stored straight into the output, the loop stayed scalar, over twice as slow).

Threads and forks: numba's ``workqueue`` layer aborts the process when two threads enter
a parallel function at once, and GNU OpenMP (``omp``, which numba prefers when it finds it)
kills a child forked after use, as PyTorch DataLoader workers are. So the first use picks
``tbb`` when its library loads (the ``tbb`` wheel), else ``workqueue`` (fork-safe), unless
``NUMBA_THREADING_LAYER`` names one; and calls are serialised with a lock.

Example
-------
>>> from gpuresample.backends.cpu import CpuBackend
>>> CpuBackend.unavailable_reason() is None
True
"""

from __future__ import annotations

import ctypes
import functools
import glob
import hashlib
import os
import sys
import threading

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from ..plan import ResamplePlan
from .label_linear import row_positions, sample_label_row
from .stack_array import stack_empty
from .stages import chunk_points, row_points
from .word_loads import load_pair, pairs_loadable

__all__ = ["CpuBackend"]

_CHUNK = 64  # output values of a per-voxel row at a time (the kernel's stack row ``held``)

# The per-pixel helpers below are inlined into the kernel's parallel loop (numba inlines
# ``inline="always"`` functions in its own IR, before the loop becomes a parallel
# function whose array arguments LLVM may treat as not aliased). They are written without
# branches, as selects, so that LLVM vectorises the loop over a row (with gathers for the
# input samples): a function call or a branch per pixel in that loop costs twice the time.

def _cast_like(v, like):
    """``v`` converted to the type of ``like`` (numba only; see the overload)."""
    raise NotImplementedError


@overload(_cast_like, inline="always")
def _cast_like_impl(v, like):
    target = like
    if isinstance(like, types.Integer) and like.bitwidth < 32:
        # through int64 (the same truncation for in-range values): LLVM's cost model does
        # not vectorise a loop with a direct float -> narrow-integer conversion
        def impl(v, like):
            return target(np.int32(v))
    else:
        def impl(v, like):
            return target(v)

    return impl


@njit(inline="always")
def _is_inside(c0, c1, c2, up0, up1, up2, lower):
    """ITK's inside test: -0.5 <= c < N - 0.5 on every axis (NaN is outside)."""
    return ((c0 >= lower) & (c0 < up0) & (c1 >= lower) & (c1 < up1) & (c2 >= lower)
            & (c2 < up2))


@njit(inline="always")
def _nearest_sample(src, p, c0, c1, c2, n0, n1, n2, sy, sz, nc, half):
    """kernels/resample.cu's nearest: the sample at floor(c + 0.5), clamped to the volume
    as a guard, in the input's type."""
    i0 = min(np.int64(np.floor(c0 + half)), n0 - 1)
    i1 = min(np.int64(np.floor(c1 + half)), n1 - 1)
    i2 = min(np.int64(np.floor(c2 + half)), n2 - 1)
    # unsigned: numba then skips its negative-index wraparound on the load
    return src[np.uint64(p + i2 * sz + i1 * sy + i0 * nc)]


@njit(inline="always")
def _linear_value(src, p, c0, c1, c2, n0, n1, n2, sy, sz, nc, real, paired):
    """ITK's LinearInterpolateImageFunction, as kernels/resample.cu's gr_sample: base =
    max(floor(c), 0), t = c - base; an axis is lerped only if t > 0 and base + 1 exists
    (edge replication), x first, then y, then z. Each skipped lerp is a select of the
    value the branch would keep, so the result is the same bits. ``paired`` (scalar
    images, a constant): each sample and its x neighbour come from one word load
    (word_loads.py), half the gathers, and 8- and 16-bit inputs need no widening; the
    neighbour is used only where x is lerped, so never past the buffer's end."""
    zero = real(0.0)
    b0 = max(np.int64(np.floor(c0)), 0)
    b1 = max(np.int64(np.floor(c1)), 0)
    b2 = max(np.int64(np.floor(c2)), 0)
    t0 = c0 - real(b0)
    t1 = c1 - real(b1)
    t2 = c2 - real(b2)
    on0 = (t0 > zero) & (b0 + 1 < n0)
    on1 = (t1 > zero) & (b1 + 1 < n1)
    on2 = (t2 > zero) & (b2 + 1 < n2)
    dx = nc if on0 else 0
    dy = sy if on1 else 0
    dz = sz if on2 else 0
    q = p + b2 * sz + b1 * sy + b0 * nc
    if paired:
        a000, a100 = load_pair(src, np.uint64(q))
        a010, a110 = load_pair(src, np.uint64(q + dy))
        a001, a101 = load_pair(src, np.uint64(q + dz))
        a011, a111 = load_pair(src, np.uint64(q + dz + dy))
        v000, v100, v010, v110 = real(a000), real(a100), real(a010), real(a110)
        v001, v101, v011, v111 = real(a001), real(a101), real(a011), real(a111)
    else:
        v000 = real(src[np.uint64(q)])
        v100 = real(src[np.uint64(q + dx)])
        v010 = real(src[np.uint64(q + dy)])
        v110 = real(src[np.uint64(q + dy + dx)])
        v001 = real(src[np.uint64(q + dz)])
        v101 = real(src[np.uint64(q + dz + dx)])
        v011 = real(src[np.uint64(q + dz + dy)])
        v111 = real(src[np.uint64(q + dz + dy + dx)])
    r00 = v000 + (v100 - v000) * t0
    r00 = r00 if on0 else v000
    r10 = v010 + (v110 - v010) * t0
    r10 = r10 if on0 else v010
    r01 = v001 + (v101 - v001) * t0
    r01 = r01 if on0 else v001
    r11 = v011 + (v111 - v011) * t0
    r11 = r11 if on0 else v011
    ry0 = r00 + (r10 - r00) * t1
    r = ry0 if on1 else r00
    ry1 = r01 + (r11 - r01) * t1
    r1 = ry1 if on1 else r01
    rz = r + (r1 - r) * t2
    return rz if on2 else r


@njit(inline="always")
def _to_output(v, lo, hi, b_lo, b_hi, out_int, out_f64, zero):
    """ITK's CastComponentWithBoundsChecking (kernels/common.cuh to_output): float64
    passes through; otherwise clamp, then convert (truncation toward zero for integers,
    NaN -> 0 for integers). ``b_lo``/``b_hi`` are the output type's limits in that type."""
    v = zero if (out_int & (v != v)) else v
    clamped = b_lo if v <= lo else (b_hi if v >= hi else _cast_like(v, b_hi))
    return _cast_like(v, b_hi) if out_f64 else clamped


@njit(inline="always")
def _clamp_truncate(v, lo, hi, zero):
    """``_to_output``'s conversion to an integer type done in ``v``'s own float type (NaN
    -> 0, clamp to [lo, hi], truncation toward zero): a whole number in range, exactly
    the integer ``_to_output`` gives where ``lo`` and ``hi`` are exact in that type."""
    v = zero if v != v else v
    return lo if v <= lo else (hi if v >= hi else type(v)(np.int64(v)))


def _select_threading_layer() -> None:
    """``tbb`` if its shared library loads, else ``workqueue``; a layer the user chose (or
    one numba already started) is left alone. See the module notes."""
    if numba.config.THREADING_LAYER != "default":
        return
    try:
        # in a virtualenv numba cannot find the wheel's libtbb: load it globally first
        for lib in sorted(glob.glob(os.path.join(sys.prefix, "lib", "libtbb.so.12*"))):
            ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
            break
        from numba.np.ufunc import tbbpool  # noqa: F401  (raises when tbb cannot load)
        numba.config.THREADING_LAYER = "tbb"
    except Exception:   # no tbb, an incompatible one, ...: the fork-safe default
        numba.config.THREADING_LAYER = "workqueue"


_select_threading_layer()


def _sources_digest() -> str:
    """A hash of the numba sources this backend compiles (this module and stages.py).

    numba's disk cache checks only the modification time of the file that defines the
    cached function, not of the functions it calls; the kernels hold this digest in their
    closure, which numba does key on, so a change to stages.py recompiles them too.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha256()
    for name in ("cpu.py", "stages.py", "label_linear.py", "stack_array.py",
                 "word_loads.py"):
        with open(os.path.join(here, name), "rb") as fh:
            digest.update(fh.read())
    return digest.hexdigest()[:16]


_DIGEST = _sources_digest()


def _make_kernel(real, nearest: bool, scalar: bool, per_voxel: bool, form: str,
                 label: bool = False, copy: bool = False, digest: str = _DIGEST):
    """The kernel for one arithmetic type (``real``), interpolator, scalar pixels (one
    component, a constant numba unrolls) or any number of components, path (scan-line
    rows of a linear chain, or every voxel through the transform stages), and loop
    ``form``: ``"select"``, one branch-free loop per row that LLVM vectorises (float
    outputs); ``"staged"`` (integer outputs whose range and default values the
    arithmetic type holds exactly), the same loop with the clamp and the truncation done
    in ``real``, into a row of ``real`` that a second loop converts (LLVM's cost model
    does not vectorise a loop with a float -> integer store); or ``"branchy"`` (other
    integer outputs): the row's positions first, then a loop that skips outside pixels.
    On the per-voxel path the first two go ``_CHUNK`` values at a time through a row on
    the stack. All three use the same per-pixel helpers, so the same bits. ``label``: the
    label_linear interpolator (scalar pixels;
    backends/label_linear.py). ``copy``: nearest with an output type that holds every
    input value exactly through ``real`` (the interpolated value is the sample itself),
    which stores the sample as it is, in a loop LLVM vectorises for integers too.

    The closure holds only these constants (and the sources' digest): numba's on-disk
    cache keys a closure by its cell contents, and a captured jitted function would change
    that key in every process (it pickles with a fresh id), so the row functions are
    module-level.
    """

    branchy = form == "branchy"
    staged = form == "staged"

    @njit(parallel=True, cache=True, nogil=True)
    def kernel(src, out, row_ends, defaults, in_size, components, ny, bounds, out_int,
               out_f64, grids, stage_i, stage_f, stage_data, n_stages, offsets, scratch,
               order, points):
        # src: flat input, one item or ``batch`` items; out: (batch, rows, nx * nc);
        # offsets: a block's out_offset (x, y, z), the whole row's length and the input
        # crop's in_offset (x, y, z)
        _ = digest   # part of the cache key (see _sources_digest)
        nc = 1 if scalar else components
        batch, rows, width = out.shape
        nx = width // nc
        n0, n1, n2 = in_size[0], in_size[1], in_size[2]
        item_size = n0 * n1 * n2 * nc
        shared = src.size == item_size
        sy = n0 * nc
        sz = n1 * sy
        half = real(0.5)
        lower = real(-0.5)
        zero = real(0.0)
        up0 = real(n0) - half
        up1 = real(n1) - half
        up2 = real(n2) - half
        lo = real(bounds[0])
        hi = real(bounds[1])
        b_lo = bounds[0]
        b_hi = bounds[1]
        n = real(offsets[3])
        x0 = offsets[0]
        # a block's input crop: integer offsets, subtracted exactly (gpuresample/blocks.py)
        k0 = real(offsets[4])
        k1 = real(offsets[5])
        k2 = real(offsets[6])
        for job in prange(batch * rows):
            item = job // rows
            row = order[job % rows]   # rows tile by tile (see _row_order)
            first = 0 if shared else item * item_size
            # the row's positions in ``c`` (per voxel: label_linear's only; the others a
            # chunk at a time)
            positions = per_voxel or branchy or label
            held = stack_empty(1, _CHUNK, bounds.dtype)    # a chunk of output values
            held_real = stack_empty(1, _CHUNK, real)       # staged: of whole numbers
            chunk = stack_empty(3, _CHUNK, real)           # per voxel: a chunk's positions
            # this thread's rows of ``points`` (positions, (3, nx)) and of ``scratch``
            # (staged): arguments, so LLVM knows they do not alias the input (of arrays
            # allocated here it cannot know, and the row loop would not vectorise). Thread
            # ids are below NUMBA_NUM_THREADS, the number of rows of each; clamped all the
            # same.
            tid = min(numba.get_thread_id(), points.shape[0] - 1)
            c = points[tid]
            base = tid * width if staged else 0
            y = float(row % ny + offsets[1])
            z = float(row // ny + offsets[2])
            if per_voxel and label:
                row_points(grids, x0, y, z, nx, stage_i[item], stage_f[item], stage_data,
                           n_stages, c, real)
            elif positions and not per_voxel:
                row_positions(row_ends[item, row], x0, n, nx, c, real)
            if label:
                # label_linear (backends/label_linear.py)
                sample_label_row(src, out[item, row], c, k0, k1, k2, first, nx, defaults,
                                 in_size, bounds, out_int, out_f64, real)
                continue
            s0 = s1 = s2 = d0 = d1 = d2 = zero
            if not positions:
                # ITK's scan-line positions of a linear chain: c = c0 + (x / N_x)·(c1 − c0),
                # computed in the loop below rather than read from row_positions' array:
                # LLVM does not vectorise the loop when it reads positions from memory
                s0 = real(row_ends[item, row, 0, 0])
                s1 = real(row_ends[item, row, 0, 1])
                s2 = real(row_ends[item, row, 0, 2])
                d0 = real(row_ends[item, row, 1, 0] - row_ends[item, row, 0, 0])
                d1 = real(row_ends[item, row, 1, 1] - row_ends[item, row, 0, 1])
                d2 = real(row_ends[item, row, 1, 2] - row_ends[item, row, 0, 2])
            # per-voxel rows go a chunk at a time: the chunk's positions (``chunk``, on
            # the stack), then its values into a row on the stack (``held``): LLVM
            # vectorises a loop that reads positions from memory and gathers samples only
            # when it stores into memory it knows is no argument's ("cannot identify array
            # bounds"); a second loop copies (or, staged, converts) the chunk out
            chunked = per_voxel and not branchy
            step = _CHUNK if per_voxel else nx
            for begin in range(0, nx, step):
                m = nx - begin if nx - begin < step else step
                if per_voxel:
                    chunk_points(grids, x0, y, z, begin, m, stage_i[item], stage_f[item],
                                 stage_data, n_stages, chunk, 0, real)
                for k in range(nc):
                    fill = real(defaults[k])   # staged: the default value, in ``real``
                    for i in range(m):
                        x = begin + i
                        if per_voxel:
                            c0 = chunk[0, i]
                            c1 = chunk[1, i]
                            c2 = chunk[2, i]
                        elif positions:
                            c0 = c[0, x]
                            c1 = c[1, x]
                            c2 = c[2, x]
                        else:
                            alpha = real(x0 + x) / n
                            c0 = s0 + alpha * d0
                            c1 = s1 + alpha * d1
                            c2 = s2 + alpha * d2
                        c0 = c0 - k0
                        c1 = c1 - k1
                        c2 = c2 - k2
                        inside = _is_inside(c0, c1, c2, up0, up1, up2, lower)
                        if branchy and not inside:
                            out[item, row, x * nc + k] = defaults[k]
                            continue
                        # outside points sample the first voxel (then take the default),
                        # so no load leaves the volume and no float -> int conversion
                        # overflows
                        c0 = c0 if inside else zero
                        c1 = c1 if inside else zero
                        c2 = c2 if inside else zero
                        p = first + k
                        if copy:
                            sample = _nearest_sample(src, p, c0, c1, c2, n0, n1, n2, sy, sz,
                                                     nc, half)
                            value = sample if inside else defaults[k]
                        else:
                            if nearest:
                                v = real(_nearest_sample(src, p, c0, c1, c2, n0, n1, n2,
                                                         sy, sz, nc, half))
                            else:
                                v = _linear_value(src, p, c0, c1, c2, n0, n1, n2, sy, sz,
                                                  nc, real, scalar)
                            if staged:
                                whole = _clamp_truncate(v, lo, hi, zero)
                                whole = whole if inside else fill
                                if chunked:
                                    held_real[0, i] = whole
                                else:
                                    scratch[base + x * nc + k] = whole
                                continue
                            value = _to_output(v, lo, hi, b_lo, b_hi, out_int, out_f64,
                                               zero)
                            value = value if inside else defaults[k]
                        if chunked:
                            held[0, i] = value
                        else:
                            out[item, row, x * nc + k] = value
                    if chunked:
                        for i in range(m):
                            if staged:
                                out[item, row, (begin + i) * nc + k] = _cast_like(
                                    held_real[0, i], b_hi)
                            else:
                                out[item, row, (begin + i) * nc + k] = held[0, i]
            if staged and not chunked:
                # whole numbers the output type holds: a plain conversion
                for j in range(width):
                    out[item, row, j] = _cast_like(scratch[base + j], b_hi)

    return kernel


_KERNELS = {(p, i, scalar, per_voxel, form): _make_kernel(r, i == "nearest", scalar,
                                                          per_voxel, form)
            for p, r in (("exact", np.float64), ("fast", np.float32))
            for i in ("linear", "nearest") for scalar in (True, False)
            for per_voxel in (False, True) for form in ("select", "staged", "branchy")}
_KERNELS.update({(p, "copy", scalar, per_voxel, "select"): _make_kernel(
    r, True, scalar, per_voxel, "select", copy=True)
    for p, r in (("exact", np.float64), ("fast", np.float32)) for scalar in (True, False)
    for per_voxel in (False, True)})
_KERNELS.update({(p, "label_linear", True, per_voxel, "select"): _make_kernel(
    r, False, True, per_voxel, "select", label=True)
    for p, r in (("exact", np.float64), ("fast", np.float32)) for per_voxel in (False, True)})


def _copies_exactly(in_dtype: np.dtype, out_dtype: np.dtype, precision: str) -> bool:
    """Whether nearest's result is the input sample as it is: the same integer type, each of
    whose values the arithmetic type holds exactly (so converting it there and back, with
    the clamp to the type's range, changes nothing)."""
    if in_dtype != out_dtype or in_dtype.kind not in "iu":
        return False
    return in_dtype.itemsize <= (4 if precision == "exact" else 2)


_TILE = 32   # rows per tile along y and along z


@functools.lru_cache(maxsize=64)
def _row_order(ny: int, nz: int) -> np.ndarray:
    """The output rows (index y + ny·z) tile by tile, _TILE x _TILE rows (y, z) a tile.

    The rows of one tile read a compact region of the input, which stays in the cache
    while they run. In plain order, when the transform rotates out of the planes, each
    output plane reads a slab of the input larger than the cache, and every plane reads
    it again from memory: 640^3 uint16 rotated about three axes onto 512^3 took 2.5-2.8 s
    on two cores in plain order, 1.1-1.3 s tile by tile. Each thread's share of the
    rows is a run of whole tiles.
    """
    y, z = np.meshgrid(np.arange(ny), np.arange(nz), indexing="xy")
    tile = (z // _TILE) * ((ny + _TILE - 1) // _TILE) + y // _TILE
    rows = (y + ny * z).ravel()
    order = rows[np.argsort(tile.ravel(), kind="stable")]
    order.flags.writeable = False
    return order


def _kernel_choice(plan: ResamplePlan, in_dtype: np.dtype) -> tuple[str, str]:
    """The kernel's interpolator (``"copy"`` for nearest into the input's own integer type)
    and loop form (see ``_make_kernel``) for a plan."""
    out, interpolator = plan.out_dtype, plan.interpolator
    if out.kind not in "iu" or interpolator == "label_linear":   # labels: their own rows
        return interpolator, "select"
    if interpolator == "nearest" and _copies_exactly(in_dtype, out, plan.precision):
        return "copy", "select"
    # staged needs the type's bounds, and so the default values, exact in ``real``
    exact_in_real = out.itemsize <= (4 if plan.precision == "exact" else 2)
    return interpolator, "staged" if exact_in_real else "branchy"


class CpuBackend:
    """Runs resampling plans with numba on the host; arrays are numpy."""

    name = "cpu"
    _lock = threading.Lock()

    @staticmethod
    def unavailable_reason() -> str | None:
        return None

    @staticmethod
    def xp():
        return np

    def execute(self, plan: ResamplePlan, source: np.ndarray, out: np.ndarray,
                in_batch_stride: int = 0) -> None:
        """Resample ``source`` ([batch or 1, z, y, x, c]) into ``out`` ([batch, z, y, x, c])."""
        nx = plan.out_size[0]
        src = source.reshape(-1)
        width = nx * plan.components
        dst = out.reshape(plan.batch, plan.rows, width)
        info = (np.iinfo if plan.out_dtype.kind in "iu" else np.finfo)(plan.out_dtype)
        bounds = np.array([info.min, info.max], dtype=plan.out_dtype)
        out_int = plan.out_dtype.kind in "iu"
        interpolator, form = _kernel_choice(plan, src.dtype)
        # scalar kernels read linear's x neighbours in pairs (word_loads.py), which needs
        # a buffer at least a word long; a shorter one takes the general kernel
        scalar = plan.components == 1 and (interpolator != "linear"
                                           or pairs_loadable(src.dtype, src.size))
        narrow = src.dtype.kind in "iu" and src.dtype.itemsize < 4
        if (narrow and form != "branchy"
                and (interpolator == "label_linear" or (interpolator == "linear"
                                                        and not scalar))):
            # the vectorised row loop gathers 32- and 64-bit words only (x86 has no
            # narrower gather; LLVM would load such pixels one by one): widen, exactly.
            # Paired loads read narrow words as they are, and nearest's one sample a
            # voxel is faster loaded one by one than widened and gathered (measured on
            # AMD Zen 4: 4.1 ms against 6.9 for 128^3 uint8 -> float32)
            src = src.astype(np.int32)
        kernel = _KERNELS[(plan.precision, interpolator, scalar, plan.per_voxel, form)]
        # per thread: a row of the arithmetic type (staged scan-line rows), a row's
        # positions (branchy scan-line rows, label_linear)
        threads = numba.config.NUMBA_NUM_THREADS
        real = np.float64 if plan.precision == "exact" else np.float32
        rows_staged = form == "staged" and not plan.per_voxel   # (per voxel: on the stack)
        scratch = np.empty(threads * (width if rows_staged else 0), dtype=real)
        positions = ((form == "branchy" and not plan.per_voxel)
                     or interpolator == "label_linear")   # (else per voxel: in chunks)
        points = np.empty((threads, 3, nx if positions else 0), dtype=real)
        with self._lock:
            kernel(src, dst, plan.row_ends, plan.default_values,
                   np.asarray(plan.in_size, dtype=np.int64), plan.components,
                   plan.out_size[1], bounds, out_int, plan.out_dtype == np.float64,
                   plan.grids, plan.stage_i, plan.stage_f, plan.stage_data, plan.n_stages,
                   np.array([*plan.out_offset, plan.row_length, *plan.in_offset],
                            dtype=np.int64), scratch,
                   _row_order(plan.out_size[1], plan.rows // plan.out_size[1]), points)
