"""Backend ``cpu``: numba, parallel over output rows, cached on disk.

The arithmetic is the kernel's (kernels/resample.cu) line for line, so the two agree bit for
bit in both precisions: positions ``c = c0 + alpha·(c1 - c0)`` with ``alpha = x / N_x``,
ITK's inside test, nearest ``floor(c + 0.5)``, linear lerps in x, then y, then z with edge
replication, and the clamp-then-truncate conversion to the output type.

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
import glob
import hashlib
import os
import sys
import threading

import numba
import numpy as np
from numba import literally, njit, prange

from ..plan import ResamplePlan
from .stages import apply_stages, index_points, to_grid_indices

__all__ = ["CpuBackend"]

@njit(nogil=True)
def _row_positions(e, x0, nx, row_length, c, real):
    """ITK's scan-line positions of one row of a linear chain (kernels/resample.cu's
    resample_rows): c = c0 + (x / N_x)·(c1 − c0), x = x0 … x0+nx−1 of a whole row of
    ``row_length`` voxels (a block's part of it, gpuresample/blocks.py)."""
    s0 = real(e[0, 0])
    s1 = real(e[0, 1])
    s2 = real(e[0, 2])
    d0 = real(e[1, 0] - e[0, 0])
    d1 = real(e[1, 1] - e[0, 1])
    d2 = real(e[1, 2] - e[0, 2])
    n = real(row_length)
    for x in range(nx):
        alpha = real(x0 + x) / n
        c[x, 0] = s0 + alpha * d0
        c[x, 1] = s1 + alpha * d1
        c[x, 2] = s2 + alpha * d2


@njit(nogil=True)
def _point_positions(grids, x0, y, z, nx, stage_i, stage_f, stage_data, n_stages, c, real):
    """Positions of one row on the per-voxel path (kernels/resample.cu's resample_points):
    index -> physical point -> the stages -> input continuous index."""
    pts = np.empty((nx, 3))
    index_points(grids[0], x0, float(y), float(z), nx, pts)
    apply_stages(stage_i, stage_f, stage_data, n_stages, pts, nx)
    to_grid_indices(grids[1, 3:], grids[1, :3], pts, nx, c, real)


@njit(nogil=True)
def _sample_row(src, dst, c, first, nx, defaults, in_size, in_offset, nc, bounds, out_int,
                out_f64, real, nearest, scalar):
    """Every pixel of one output row from its input continuous indices ``c`` (nx, 3), as
    kernels/resample.cu's gr_sample: ITK's inside test, nearest or linear interpolation,
    the conversion to the output type.

    Written as one flat loop on purpose: numba adds reference counting to every call that
    passes arrays, which in a per-pixel helper halved the speed. ``nearest`` is made a
    compile-time constant, so each interpolator gets its own loop.
    """
    literally(nearest)
    literally(scalar)
    if scalar:
        nc = 1
    lower = real(-0.5)
    half = real(0.5)
    zero = real(0.0)
    up0 = real(in_size[0]) - half
    up1 = real(in_size[1]) - half
    up2 = real(in_size[2]) - half
    n0, n1, n2 = in_size[0], in_size[1], in_size[2]
    sy = n0 * nc
    sz = n1 * sy
    lo = real(bounds[0])
    hi = real(bounds[1])
    b_lo = bounds[0]
    b_hi = bounds[1]
    # a block's input crop: integer offsets, subtracted exactly (gpuresample/blocks.py)
    k0 = real(in_offset[0])
    k1 = real(in_offset[1])
    k2 = real(in_offset[2])
    for x in range(nx):
        c0 = c[x, 0] - k0
        c1 = c[x, 1] - k1
        c2 = c[x, 2] - k2
        o = x * nc
        if not (c0 >= lower and c0 < up0 and c1 >= lower and c1 < up1 and c2 >= lower
                and c2 < up2):
            for k in range(nc):
                dst[o + k] = defaults[k]
            continue
        if nearest:
            p = (first + int(np.floor(c2 + half)) * sz + int(np.floor(c1 + half)) * sy
                 + int(np.floor(c0 + half)) * nc)
        else:
            # ITK's LinearInterpolateImageFunction: base = max(floor(c), 0), t = c - base;
            # an axis is lerped only if t > 0 and base + 1 exists (edge replication)
            b0 = max(int(np.floor(c0)), 0)
            b1 = max(int(np.floor(c1)), 0)
            b2 = max(int(np.floor(c2)), 0)
            t0 = c0 - real(b0)
            t1 = c1 - real(b1)
            t2 = c2 - real(b2)
            on0 = t0 > zero and b0 + 1 < n0
            on1 = t1 > zero and b1 + 1 < n1
            on2 = t2 > zero and b2 + 1 < n2
            dx = np.uint64(nc if on0 else 0)
            dy = np.uint64(sy if on1 else 0)
            dz = np.uint64(sz if on2 else 0)
            p = first + b2 * sz + b1 * sy + b0 * nc
        for k in range(nc):
            # unsigned: numba then skips its negative-index wraparound on every load
            q = np.uint64(p + k)
            if nearest:
                v = real(src[q])
            elif on0 and on1 and on2:
                # the common case inside the volume: all eight corners, no edge logic
                v = real(src[q])
                v = v + (real(src[q + dx]) - v) * t0
                r10 = real(src[q + dy])
                r10 = r10 + (real(src[q + dy + dx]) - r10) * t0
                v = v + (r10 - v) * t1
                r01 = real(src[q + dz])
                r01 = r01 + (real(src[q + dz + dx]) - r01) * t0
                r11 = real(src[q + dz + dy])
                r11 = r11 + (real(src[q + dz + dy + dx]) - r11) * t0
                r01 = r01 + (r11 - r01) * t1
                v = v + (r01 - v) * t2
            else:
                # lerps x, then y, then z, over the axes that are on
                v = real(src[q])
                if on0:
                    v = v + (real(src[q + dx]) - v) * t0
                if on1:
                    r10 = real(src[q + dy])
                    if on0:
                        r10 = r10 + (real(src[q + dy + dx]) - r10) * t0
                    v = v + (r10 - v) * t1
                if on2:
                    r01 = real(src[q + dz])
                    if on0:
                        r01 = r01 + (real(src[q + dz + dx]) - r01) * t0
                    if on1:
                        r11 = real(src[q + dz + dy])
                        if on0:
                            r11 = r11 + (real(src[q + dz + dy + dx]) - r11) * t0
                        r01 = r01 + (r11 - r01) * t1
                    v = v + (r01 - v) * t2
            # ITK's CastComponentWithBoundsChecking (kernels/common.cuh to_output): float64
            # passes through; otherwise clamp, then convert (truncation toward zero for
            # integers; NaN -> 0 for integers)
            if out_f64:
                dst[o + k] = v
            elif out_int and v != v:
                dst[o + k] = 0
            elif v <= lo:
                dst[o + k] = b_lo
            elif v >= hi:
                dst[o + k] = b_hi
            else:
                dst[o + k] = v


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
    for name in ("cpu.py", "stages.py"):
        with open(os.path.join(here, name), "rb") as fh:
            digest.update(fh.read())
    return digest.hexdigest()[:16]


_DIGEST = _sources_digest()


def _make_kernel(real, nearest: bool, scalar: bool, per_voxel: bool, digest: str = _DIGEST):
    """The kernel for one arithmetic type (``real``), interpolator, scalar pixels (one
    component, a constant numba unrolls) or any number of components, and path (scan-line
    rows of a linear chain, or every voxel through the transform stages).

    The closure holds only these constants (and the sources' digest): numba's on-disk
    cache keys a closure by its cell contents, and a captured jitted function would change
    that key in every process (it pickles with a fresh id), so the row functions are
    module-level.
    """

    @njit(parallel=True, cache=True, nogil=True)
    def kernel(src, out, row_ends, defaults, in_size, components, ny, bounds, out_int,
               out_f64, grids, stage_i, stage_f, stage_data, n_stages, offsets):
        # offsets: out_offset (x, y, z), row_length, in_offset (x, y, z) of a block
        # src: flat input, one item or ``batch`` items; out: (batch, rows, nx * nc)
        _ = digest   # part of the cache key (see _sources_digest)
        nc = 1 if scalar else components
        batch, rows, width = out.shape
        nx = width // nc
        item_size = in_size[0] * in_size[1] * in_size[2] * nc
        shared = src.size == item_size
        for job in prange(batch * rows):
            item = job // rows
            row = job % rows
            first = 0 if shared else item * item_size
            c = np.empty((nx, 3), dtype=real)
            if per_voxel:
                _point_positions(grids, offsets[0], row % ny + offsets[1],
                                 row // ny + offsets[2], nx, stage_i[item],
                                 stage_f[item], stage_data, n_stages, c, real)
            else:
                _row_positions(row_ends[item, row], offsets[0], nx, offsets[3], c, real)
            _sample_row(src, out[item, row], c, first, nx, defaults, in_size, offsets[4:],
                        nc, bounds, out_int, out_f64, real, nearest, scalar)

    return kernel


_KERNELS = {(p, i, scalar, per_voxel): _make_kernel(r, i == "nearest", scalar, per_voxel)
            for p, r in (("exact", np.float64), ("fast", np.float32))
            for i in ("linear", "nearest") for scalar in (True, False)
            for per_voxel in (False, True)}


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
        dst = out.reshape(plan.batch, plan.rows, nx * plan.components)
        info = (np.iinfo if plan.out_dtype.kind in "iu" else np.finfo)(plan.out_dtype)
        kernel = _KERNELS[(plan.precision, plan.interpolator, plan.components == 1,
                           plan.per_voxel)]
        with self._lock:
            kernel(src, dst, plan.row_ends, plan.default_values,
                   np.asarray(plan.in_size, dtype=np.int64), plan.components,
                   plan.out_size[1],
                   np.array([info.min, info.max], dtype=plan.out_dtype),
                   plan.out_dtype.kind in "iu", plan.out_dtype == np.float64,
                   plan.grids, plan.stage_i, plan.stage_f, plan.stage_data, plan.n_stages,
                   np.array([*plan.out_offset, plan.row_length, *plan.in_offset],
                            dtype=np.int64))
