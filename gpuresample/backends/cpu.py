"""Backend ``cpu``: numba, parallel over output rows, cached on disk.

The arithmetic is the kernel's (kernels/resample.cu) line for line, so the two agree bit for
bit in both precisions: positions ``c = c0 + alpha·(c1 - c0)`` with ``alpha = x / N_x``,
ITK's inside test, nearest ``floor(c + 0.5)``, linear lerps in x, then y, then z with edge
replication, and the clamp-then-truncate conversion to the output type.

Numba's default threading layer aborts the process when two threads enter a parallel
function at once, so calls are serialised with a lock.

Example
-------
>>> from gpuresample.backends.cpu import CpuBackend
>>> CpuBackend.unavailable_reason() is None
True
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit, prange

from ..plan import ResamplePlan

__all__ = ["CpuBackend"]

TILE_X, TILE_Y, TILE_Z = 256, 16, 4   # output voxels per parallel task


@njit(nogil=True)
def _row(src, dst, e, first, x_lo, x_hi, alpha, defaults, in_size, nc, sy, sz, flat2,
         bounds, out_int, out_f64, real, nearest):
    # one output row, x in [x_lo, x_hi); ``real`` is the arithmetic type (a numba
    # number class), ``nearest`` the interpolator: both constants of the caller
    lower = real(-0.5)
    one = real(1.0)
    in0 = real(in_size[0])
    in1 = real(in_size[1])
    in2 = real(in_size[2])
    up0 = in0 - real(0.5)
    up1 = in1 - real(0.5)
    up2 = in2 - real(0.5)
    lo = real(bounds[0])
    hi = real(bounds[1])
    half = real(0.5)
    zero = real(0.0)
    s0 = real(e[0, 0])
    s1 = real(e[0, 1])
    s2 = real(e[0, 2])
    d0 = real(e[1, 0] - e[0, 0])
    d1 = real(e[1, 1] - e[0, 1])
    d2 = real(e[1, 2] - e[0, 2])
    # Voxels whose neighbours all exist form one run [xa, xb) of the row, because
    # each c_d is monotonic in x; there the inside and edge tests can be skipped.
    xa, xb = x_hi, x_hi
    if not nearest:
        a0, e0 = _run(s0, d0, alpha, zero, in0 - one, x_lo, x_hi)
        a1, e1 = _run(s1, d1, alpha, zero, in1 - one, x_lo, x_hi)
        if flat2:
            a2, e2 = _run(s2, d2, alpha, lower, half, x_lo, x_hi)
        else:
            a2, e2 = _run(s2, d2, alpha, zero, in2 - one, x_lo, x_hi)
        xa, xb = max(a0, a1, a2), min(e0, e1, e2)
    for x in range(x_lo, x_hi):
        c0 = s0 + alpha[x] * d0
        c1 = s1 + alpha[x] * d1
        c2 = s2 + alpha[x] * d2
        o = x * nc
        if xa <= x < xb:
            b0 = int(np.floor(c0))
            b1 = int(np.floor(c1))
            b2 = 0 if flat2 else int(np.floor(c2))
            t0 = c0 - real(b0)
            t1 = c1 - real(b1)
            t2 = c2 - real(b2)
            p = first + b2 * sz + b1 * sy + b0 * nc
            on0 = t0 > zero
            on1 = t1 > zero
            on2 = t2 > zero and not flat2
            for k in range(nc):
                q = p + k
                if on0 and on1 and on2:
                    r00 = _lerp(real(src[q]), real(src[q + nc]), t0)
                    r10 = _lerp(real(src[q + sy]), real(src[q + sy + nc]), t0)
                    r01 = _lerp(real(src[q + sz]), real(src[q + sz + nc]), t0)
                    r11 = _lerp(real(src[q + sz + sy]), real(src[q + sz + sy + nc]), t0)
                    r = _lerp(_lerp(r00, r10, t1), _lerp(r01, r11, t1), t2)
                elif on0 and on1 and flat2:
                    r00 = _lerp(real(src[q]), real(src[q + nc]), t0)
                    r10 = _lerp(real(src[q + sy]), real(src[q + sy + nc]), t0)
                    r = _lerp(r00, r10, t1)
                else:
                    r = _corners(src, q, on0, on1, on2, nc if on0 else 0,
                                 sy if on1 else 0, sz if on2 else 0, t0, t1, t2, real)
                _store(dst, o + k, r, lo, hi, bounds, out_int, out_f64)
            continue
        if not (c0 >= lower and c0 < up0 and c1 >= lower and c1 < up1
                and c2 >= lower and c2 < up2):
            for k in range(nc):
                dst[o + k] = defaults[k]
            continue
        if nearest:
            p = (first + int(np.floor(c2 + half)) * sz + int(np.floor(c1 + half)) * sy
                 + int(np.floor(c0 + half)) * nc)
            for k in range(nc):
                _store(dst, o + k, real(src[p + k]), lo, hi, bounds, out_int, out_f64)
            continue
        b0 = max(int(np.floor(c0)), 0)
        b1 = max(int(np.floor(c1)), 0)
        b2 = max(int(np.floor(c2)), 0)
        t0 = c0 - real(b0)
        t1 = c1 - real(b1)
        t2 = c2 - real(b2)
        on0 = t0 > zero and b0 + 1 < in_size[0]
        on1 = t1 > zero and b1 + 1 < in_size[1]
        on2 = t2 > zero and b2 + 1 < in_size[2]
        dx = nc if on0 else 0
        dy = sy if on1 else 0
        dz = sz if on2 else 0
        p = first + b2 * sz + b1 * sy + b0 * nc
        for k in range(nc):
            r = _corners(src, p + k, on0, on1, on2, dx, dy, dz, t0, t1, t2, real)
            _store(dst, o + k, r, lo, hi, bounds, out_int, out_f64)

def _make_kernel(real, nearest: bool, scalar: bool):
    """The row kernel for one arithmetic type (``real``), interpolator, and for scalar
    pixels (one component, a constant numba unrolls) or any number of components.

    The closure holds only these three constants: numba's on-disk cache keys a closure by
    its cell contents, and a captured jitted function would change that key in every
    process (it pickles with a fresh id), so ``_row`` is a module-level function.
    """

    @njit(parallel=True, cache=True, nogil=True)
    def kernel(src, out, row_ends, defaults, in_size, components, ny, bounds, out_int,
               out_f64):
        # src: flat input, one item or ``batch`` items; out: (batch, rows, nx * nc)
        nc = 1 if scalar else components
        batch, rows, width = out.shape
        nz = rows // ny
        nx = width // nc
        item_size = in_size[0] * in_size[1] * in_size[2] * nc
        sy = in_size[0] * nc
        sz = in_size[1] * sy
        alpha = np.empty(nx, dtype=real)
        for x in range(nx):
            alpha[x] = real(x) / real(nx)
        flat2 = in_size[2] == 1
        shared = src.size == item_size
        # Work in tiles of TILE_X x TILE_Y x TILE_Z output voxels: a tile's input footprint
        # stays in cache even when rows cross the input obliquely.
        tx = (nx + TILE_X - 1) // TILE_X
        ty = (ny + TILE_Y - 1) // TILE_Y
        tz = (nz + TILE_Z - 1) // TILE_Z
        for job in prange(batch * tz * ty * tx):
            item = job // (tz * ty * tx)
            x_lo = (job % tx) * TILE_X
            x_hi = min(x_lo + TILE_X, nx)
            y_lo = ((job // tx) % ty) * TILE_Y
            z_lo = ((job // (tx * ty)) % tz) * TILE_Z
            first = 0 if shared else item * item_size
            for row_in_tile in range(TILE_Y * TILE_Z):
                y = y_lo + row_in_tile % TILE_Y
                z = z_lo + row_in_tile // TILE_Y
                if y < ny and z < nz:
                    _row(src, out[item, z * ny + y], row_ends[item, z * ny + y], first,
                         x_lo, x_hi, alpha, defaults, in_size, nc, sy, sz, flat2, bounds,
                         out_int, out_f64, real, nearest)

    return kernel


@njit(inline="always")
def _lerp(a, b, t):
    return a + (b - a) * t


@njit(inline="always")
def _corners(src, q, on0, on1, on2, dx, dy, dz, t0, t1, t2, real):
    # ITK's linear interpolation: only the axes that are "on" are lerped, x, then y, then z
    r00 = real(src[q])
    if on0:
        r00 = _lerp(r00, real(src[q + dx]), t0)
    r = r00
    if on1:
        r10 = real(src[q + dy])
        if on0:
            r10 = _lerp(r10, real(src[q + dy + dx]), t0)
        r = _lerp(r00, r10, t1)
    if on2:
        r01 = real(src[q + dz])
        if on0:
            r01 = _lerp(r01, real(src[q + dz + dx]), t0)
        r1 = r01
        if on1:
            r11 = real(src[q + dz + dy])
            if on0:
                r11 = _lerp(r11, real(src[q + dz + dy + dx]), t0)
            r1 = _lerp(r01, r11, t1)
        r = _lerp(r, r1, t2)
    return r


@njit(inline="always")
def _first(s, d, alpha, bound, at_least, a, b):
    # first x in [a, b) where s + alpha[x]*d >= bound (at_least) or < bound (b if none),
    # for a predicate that is false, then true along x
    while a < b:
        mid = (a + b) // 2
        c = s + alpha[mid] * d
        if (c >= bound) if at_least else (c < bound):
            b = mid
        else:
            a = mid + 1
    return a


@njit(inline="always")
def _run(s, d, alpha, lo, hi, x_lo, x_hi):
    """[a, b): the x in [x_lo, x_hi) with lo <= s + alpha[x]*d < hi; one run, since c is
    monotonic in x."""
    if d >= 0:
        return (_first(s, d, alpha, lo, True, x_lo, x_hi),
                _first(s, d, alpha, hi, True, x_lo, x_hi))
    return (_first(s, d, alpha, hi, False, x_lo, x_hi),
            _first(s, d, alpha, lo, False, x_lo, x_hi))


@njit(inline="always")
def _store(dst, i, v, lo, hi, bounds, out_int, out_f64):
    # kernels/common.cuh to_output: float64 passes through; otherwise clamp to the type's
    # range (bounds holds its ends as values of the output type), then convert (truncation
    # toward zero for integers); NaN -> 0 for integers.
    if out_f64:
        dst[i] = v
    elif out_int and v != v:
        dst[i] = 0
    elif v <= lo:
        dst[i] = bounds[0]
    elif v >= hi:
        dst[i] = bounds[1]
    else:
        dst[i] = v


_KERNELS = {(p, i, scalar): _make_kernel(r, i == "nearest", scalar)
            for p, r in (("exact", np.float64), ("fast", np.float32))
            for i in ("linear", "nearest") for scalar in (True, False)}


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
        kernel = _KERNELS[(plan.precision, plan.interpolator, plan.components == 1)]
        with self._lock:
            kernel(src, dst, plan.row_ends, plan.default_values,
                   np.asarray(plan.in_size, dtype=np.int64), plan.components,
                   plan.out_size[1],
                   np.array([info.min, info.max], dtype=plan.out_dtype),
                   plan.out_dtype.kind in "iu", plan.out_dtype == np.float64)
