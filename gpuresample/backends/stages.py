"""The transform stages of the per-voxel path, for the ``cpu`` backend (numba).

Line for line the arithmetic of ``kernels/stages.cuh`` (which the ``cuda`` and
``cuda-host`` backends run), so the backends agree bit for bit; both follow ITK's
``TransformPoint`` of each kind in operation order. Stage records: see
``kernels/common.cuh`` and :mod:`gpuresample.plan`.

Example
-------
>>> import numpy as np
>>> p = np.array([1.0, 2.0, 0.0])
>>> index_point(np.r_[[10.0, 20.0, 0.0], np.eye(3).ravel()], 1.0, 2.0, 0.0, p)
>>> p.tolist()
[11.0, 22.0, 0.0]
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["index_point", "to_grid", "apply_stages"]

AFFINE, BSPLINE, FIELD, SCALE = 0, 1, 2, 3


@njit(inline="always")
def index_point(grid, i0, i1, i2, p):
    """ITK's TransformIndexToPhysicalPoint: p_r = origin_r + A[r][0]·i0 + A[r][1]·i1 + ..."""
    for r in range(3):
        acc = grid[r]
        acc += grid[3 + 3 * r] * i0
        acc += grid[4 + 3 * r] * i1
        acc += grid[5 + 3 * r] * i2
        p[r] = acc


@njit(inline="always")
def to_grid(m, origin, p, c):
    """c = m·(p − origin), each row summed from 0 (ITK's Matrix * Vector)."""
    v0 = p[0] - origin[0]
    v1 = p[1] - origin[1]
    v2 = p[2] - origin[2]
    for r in range(3):
        acc = 0.0
        acc += m[3 * r] * v0
        acc += m[3 * r + 1] * v1
        acc += m[3 * r + 2] * v2
        c[r] = acc


@njit(inline="always")
def _affine(f, d, p):
    q0 = 0.0
    q1 = 0.0
    q2 = 0.0
    for r in range(d):
        acc = 0.0
        for j in range(d):
            acc += f[3 * r + j] * p[j]
        acc = acc + f[9 + r]
        if r == 0:
            q0 = acc
        elif r == 1:
            q1 = acc
        else:
            q2 = acc
    p[0] = q0
    p[1] = q1
    if d == 3:
        p[2] = q2


@njit(inline="always")
def _scale(f, d, p):
    for r in range(d):
        p[r] = (p[r] - f[9 + r]) * f[r] + f[9 + r]


@njit(inline="always")
def _kernel_weight(order, u):
    # ITK's BSplineKernelFunction<order>::FastEvaluate, each line in C++ evaluation order
    a = u if u >= 0.0 else -u
    s = a * a
    if order == 3:
        if a < 1.0:
            return ((4.0 - 6.0 * s) + (3.0 * s) * a) / 6.0
        if a < 2.0:
            return (((8.0 - 12.0 * a) + 6.0 * s) - s * a) / 6.0
        return 0.0
    if order == 2:
        if a < 0.5:
            return 0.75 - s
        if a < 1.5:
            return ((9.0 - 12.0 * a) + 4.0 * s) * 0.125
        return 0.0
    if order == 1:
        return 1.0 - a if a < 1.0 else 0.0
    if a < 0.5:
        return 1.0
    return 0.5 if a == 0.5 else 0.0


@njit(inline="always")
def _bspline(f, st, data, p):
    d = st[6]
    order = st[5]
    c = np.empty(3)
    to_grid(f[:9], f[9:], p, c)
    # ITK's InsideValidRegion with the limits the planner put before the coefficients
    # (upper limit, its 4-ULP window, the value 6 ULP below it, per axis)
    base = st[4]
    lower = 2147483647.5 if order == 0 else 0.5 * (order - 1)
    for j in range(d):
        upper = data[base + j]
        diff = c[j] - upper
        if ((c[j] >= data[base + 3 + j] and c[j] <= data[base + 6 + j])
                or (diff if diff >= 0.0 else -diff) <= 0.1 * 2.220446049250313e-16):
            c[j] = data[base + 9 + j]
        elif not (c[j] < upper) or c[j] < lower:
            return
    start = np.zeros(3, dtype=np.int64)
    w = np.zeros((3, 4))
    w[:, 0] = 1.0
    for j in range(d):
        start[j] = int(np.floor((c[j] + 0.5) - order / 2.0))
        x = c[j] - float(start[j])
        for k in range(order + 1):
            w[j, k] = _kernel_weight(order, x)
            x -= 1.0
    gx, gy, gz = st[1], st[2], st[3]
    plane = gx * gy * gz
    coefficients = base + 12
    nz = order + 1 if d == 3 else 1
    disp = np.zeros(3)
    for kz in range(nz):
        for ky in range(order + 1):
            for kx in range(order + 1):
                weight = 1.0
                weight *= w[0, kx]
                weight *= w[1, ky]
                if d == 3:
                    weight *= w[2, kz]
                at = ((start[2] + kz) * gy + (start[1] + ky)) * gx + (start[0] + kx)
                for j in range(d):
                    disp[j] += weight * data[coefficients + j * plane + at]
    for j in range(d):
        p[j] = disp[j] + p[j]


@njit(inline="always")
def _field(f, st, data, p):
    d = st[6]
    c = np.empty(3)
    to_grid(f[:9], f[9:], p, c)
    for j in range(d):
        if not (c[j] >= -0.5 and c[j] < float(st[1 + j]) - 0.5):
            return
    gx, gy = st[1], st[2]
    base = st[4]
    disp = np.zeros(3)
    if st[5] == 0:
        i0 = min(int(np.floor(c[0] + 0.5)), st[1] - 1)
        i1 = min(int(np.floor(c[1] + 0.5)), st[2] - 1)
        i2 = min(int(np.floor(c[2] + 0.5)), st[3] - 1) if d == 3 else 0
        at = base + ((i2 * gy + i1) * gx + i0) * d
        for j in range(d):
            disp[j] = data[at + j]
    else:
        lower = np.zeros(3, dtype=np.int64)
        dist = np.zeros(3)
        for j in range(d):
            lower[j] = int(np.floor(c[j]))
            dist[j] = c[j] - float(lower[j])
        n = np.zeros(3, dtype=np.int64)
        total = 0.0
        for corner in range(1 << d):
            overlap = 1.0
            for j in range(d):
                if (corner >> j) & 1:
                    n[j] = min(lower[j] + 1, st[1 + j] - 1)
                    overlap *= dist[j]
                else:
                    n[j] = max(lower[j], 0)
                    overlap *= 1.0 - dist[j]
            if overlap != 0.0:
                at = base + ((n[2] * gy + n[1]) * gx + n[0]) * d
                for j in range(d):
                    disp[j] += overlap * data[at + j]
                total += overlap
            if total == 1.0:
                break
    for j in range(d):
        p[j] += disp[j]


@njit(inline="always")
def apply_stages(stage_i, stage_f, stage_data, n, p):
    """Every stage of one item, in order, on the point ``p`` (3 doubles, in place)."""
    for s in range(n):
        st = stage_i[s]
        f = stage_f[s]
        kind = st[0]
        if kind == AFFINE:
            _affine(f, st[6], p)
        elif kind == SCALE:
            _scale(f, st[6], p)
        elif kind == BSPLINE:
            _bspline(f, st, stage_data, p)
        else:
            _field(f, st, stage_data, p)
