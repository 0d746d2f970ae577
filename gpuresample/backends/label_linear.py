"""Label-aware linear interpolation on the CPU backend (kernels/label_linear.cuh, line for line).

ITK's LabelImageGenericInterpolateImageFunction over LinearInterpolateImageFunction
(SimpleITK's ``sitkLabelLinear``): the linear interpolation of each label's indicator
image, and the label whose value is largest; labels are tried in ascending order with a
strict ``>``, so among equal values the smallest label wins. Only the labels of the at most
2^D corners around the point can have a non-zero value, so only they are tried, each with
the linear interpolator's own lerps (x, then y, then z, over the axes that are on).

Example
-------
>>> import numpy as np
>>> src = np.array([5, 3, 7, 7], dtype=np.uint8)
>>> c = np.array([[0.5, 0.0, 0.0]])               # halfway between 5 and 3: a tie
>>> dst = np.zeros(1, dtype=np.uint8)
>>> sample_label_row(src, dst, c, 0.0, 0.0, 0.0, 0, 1, np.zeros(1, np.uint8),
...                  np.array([4, 1, 1]), np.array([0, 255], np.uint8), True, False,
...                  np.float64)
>>> int(dst[0])                                     # the smaller label
3
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["sample_label_row", "row_positions"]


@njit(nogil=True)
def row_positions(e, x0, n, nx, c, real):
    """ITK's scan-line positions of one row (or of a block's part of it, starting at x0) of
    a linear chain, as the cpu kernel and kernels/resample.cu's resample_rows place them:
    c = c0 + ((x0 + x) / N_x)·(c1 − c0), ``n`` = N_x as ``real``."""
    s0 = real(e[0, 0])
    s1 = real(e[0, 1])
    s2 = real(e[0, 2])
    d0 = real(e[1, 0] - e[0, 0])
    d1 = real(e[1, 1] - e[0, 1])
    d2 = real(e[1, 2] - e[0, 2])
    for x in range(nx):
        alpha = real(x0 + x) / n
        c[0, x] = s0 + alpha * d0
        c[1, x] = s1 + alpha * d1
        c[2, x] = s2 + alpha * d2


@njit(nogil=True, inline="always")
def _indicator_x(v, i, label, on0, t0, real):
    """The indicator of ``label`` at corner ``i``, lerped with corner ``i + 1`` along x."""
    one = real(1.0)
    zero = real(0.0)
    r = one if v[i] == label else zero
    if on0:
        r = r + ((one if v[i + 1] == label else zero) - r) * t0
    return r


@njit(nogil=True, inline="always")
def _indicator_plane(v, i, label, on0, on1, t0, t1, real):
    """The indicator over the z plane of corners ``i`` .. ``i + 3``: x lerps, then y."""
    r = _indicator_x(v, i, label, on0, t0, real)
    if on1:
        r = r + (_indicator_x(v, i + 2, label, on0, t0, real) - r) * t1
    return r


@njit(nogil=True, inline="always")
def _indicator_lerp(v, label, on0, on1, on2, t0, t1, t2, real):
    """The linear interpolation of ``v == label`` over the corners ``v`` (x + 2y + 4z)."""
    r = _indicator_plane(v, 0, label, on0, on1, t0, t1, real)
    if on2:
        r = r + (_indicator_plane(v, 4, label, on0, on1, t0, t1, real) - r) * t2
    return r


@njit(nogil=True)
def sample_label_row(src, dst, c, k0, k1, k2, first, nx, defaults, in_size, bounds, out_int,
                     out_f64, real):
    """Every pixel of one output row of a scalar label image, from its input continuous
    indices ``c`` (3, nx) less a block's input crop offsets ``k0, k1, k2`` (``real``; 0 for
    a whole image): ITK's inside test, the label-linear rule, the conversion of the label
    (through float64, ITK's OutputType) to the output type."""
    lower = real(-0.5)
    half = real(0.5)
    zero = real(0.0)
    up0 = real(in_size[0]) - half
    up1 = real(in_size[1]) - half
    up2 = real(in_size[2]) - half
    n0, n1, n2 = in_size[0], in_size[1], in_size[2]
    sy = n0
    sz = n1 * sy
    lo = np.float64(bounds[0])
    hi = np.float64(bounds[1])
    v = np.empty(8, dtype=src.dtype)
    for x in range(nx):
        # a block's input crop: integer offsets, subtracted exactly (as gr_sample)
        c0 = c[0, x] - k0
        c1 = c[1, x] - k1
        c2 = c[2, x] - k2
        if not (c0 >= lower and c0 < up0 and c1 >= lower and c1 < up1 and c2 >= lower
                and c2 < up2):
            dst[x] = defaults[0]
            continue
        b0 = max(int(np.floor(c0)), 0)
        b1 = max(int(np.floor(c1)), 0)
        b2 = max(int(np.floor(c2)), 0)
        t0 = c0 - real(b0)
        t1 = c1 - real(b1)
        t2 = c2 - real(b2)
        on0 = t0 > zero and b0 + 1 < n0
        on1 = t1 > zero and b1 + 1 < n1
        on2 = t2 > zero and b2 + 1 < n2
        dx = 1 if on0 else 0
        dy = sy if on1 else 0
        dz = sz if on2 else 0
        p = first + b2 * sz + b1 * sy + b0
        # an axis that is off reads its lower corner twice: the duplicate is skipped below
        v[0] = src[p]
        v[1] = src[p + dx]
        v[2] = src[p + dy]
        v[3] = src[p + dy + dx]
        v[4] = src[p + dz]
        v[5] = src[p + dz + dx]
        v[6] = src[p + dz + dy]
        v[7] = src[p + dz + dy + dx]
        # one label all around (most of a label map): its value is exactly 1
        uniform = True
        for k in range(1, 8):
            uniform = uniform and v[k] == v[0]
        best = 0 if uniform else -1
        best_value = zero
        for k in range(8):
            if uniform:
                break
            seen = False
            for j in range(k):
                seen = seen or v[j] == v[k]
            if seen:
                continue
            w = _indicator_lerp(v, v[k], on0, on1, on2, t0, t1, t2, real)
            # ITK's ascending scan with a strict ">": the largest value, then the smallest label
            if w > best_value or (w == best_value and w > zero and v[k] < v[best]):
                best = k
                best_value = w
        value = 0.0 if best < 0 else np.float64(v[best])
        # kernels/common.cuh to_output<TOut, double>
        if out_f64:
            dst[x] = value
        elif out_int and value != value:
            dst[x] = 0
        elif value <= lo:
            dst[x] = bounds[0]
        elif value >= hi:
            dst[x] = bounds[1]
        else:
            dst[x] = value
