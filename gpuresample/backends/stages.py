"""The transform stages of the per-voxel path, for the ``cpu`` backend (numba).

The arithmetic of ``kernels/stages.cuh`` (which the ``cuda`` and ``cuda-host`` backends
run), operation for operation, so the backends agree bit for bit; both follow ITK's
``TransformPoint`` of each kind. Stage records: see ``kernels/common.cuh`` and
:mod:`gpuresample.plan`.

The kernel works on one voxel per thread; here each function takes a whole output row of
points ``pts`` (nx, 3) and loops over it, because numba adds reference counting to every
call or slice that passes an array, which per voxel cost more than the arithmetic.

Example
-------
>>> import numpy as np
>>> pts = np.empty((2, 3))
>>> index_points(np.r_[[10.0, 20.0, 0.0], np.eye(3).ravel()], 1.0, 0.0, 2, pts)
>>> pts.tolist()
[[10.0, 21.0, 0.0], [11.0, 21.0, 0.0]]
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["index_points", "to_grid_indices", "apply_stages"]

AFFINE, BSPLINE, FIELD, SCALE = 0, 1, 2, 3
_EPS_ABS = 0.1 * 2.220446049250313e-16     # Math::FloatAlmostEqual's absolute tolerance


@njit(nogil=True)
def index_points(grid, y, z, nx, pts):
    """ITK's TransformIndexToPhysicalPoint of (x, y, z), x = 0 … nx−1: from the origin,
    adding A[r][0]·x, A[r][1]·y, A[r][2]·z in order."""
    for x in range(nx):
        for r in range(3):
            acc = grid[r]
            acc += grid[3 + 3 * r] * float(x)
            acc += grid[4 + 3 * r] * y
            acc += grid[5 + 3 * r] * z
            pts[x, r] = acc


@njit(nogil=True)
def to_grid_indices(m, origin, pts, nx, out, real):
    """c = m·(p − origin) for each point, each row summed from 0 (ITK's Matrix * Vector),
    written to ``out`` (nx, 3) in the arithmetic type ``real``."""
    for x in range(nx):
        v0 = pts[x, 0] - origin[0]
        v1 = pts[x, 1] - origin[1]
        v2 = pts[x, 2] - origin[2]
        for r in range(3):
            acc = 0.0
            acc += m[3 * r] * v0
            acc += m[3 * r + 1] * v1
            acc += m[3 * r + 2] * v2
            out[x, r] = real(acc)


@njit(nogil=True)
def _affine(f, d, pts, nx):
    # MatrixOffsetTransformBase::TransformPoint: M·p summed from 0, then + offset
    for x in range(nx):
        p0, p1, p2 = pts[x, 0], pts[x, 1], pts[x, 2]
        for r in range(d):
            acc = 0.0
            acc += f[3 * r] * p0
            acc += f[3 * r + 1] * p1
            if d == 3:
                acc += f[3 * r + 2] * p2
            pts[x, r] = acc + f[9 + r]


@njit(nogil=True)
def _scale(f, d, pts, nx):
    # ScaleTransform::TransformPoint: (p − c)·s + c
    for x in range(nx):
        for r in range(d):
            pts[x, r] = (pts[x, r] - f[9 + r]) * f[r] + f[9 + r]


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


@njit(nogil=True)
def _bspline(f, st, data, pts, nx):
    # BSplineTransform::TransformPoint (gpuresample/transforms/bspline.py, step by step)
    d = st[6]
    order = st[5]
    base = st[4]
    gx, gy, gz = st[1], st[2], st[3]
    plane = gx * gy * gz
    coefficients = base + 12
    support = order + 1
    nz = support if d == 3 else 1
    lower = 2147483647.5 if order == 0 else 0.5 * (order - 1)
    c = np.empty(3)
    start = np.zeros(3, dtype=np.int64)
    w = np.ones((3, 4))
    for x in range(nx):
        v0 = pts[x, 0] - f[9]
        v1 = pts[x, 1] - f[10]
        v2 = pts[x, 2] - f[11]
        for r in range(3):
            acc = 0.0
            acc += f[3 * r] * v0
            acc += f[3 * r + 1] * v1
            acc += f[3 * r + 2] * v2
            c[r] = acc
        # ITK's InsideValidRegion with the limits the planner put before the coefficients
        # (upper limit, its 4-ULP window, the value 6 ULP below it, per axis)
        inside = True
        for j in range(d):
            upper = data[base + j]
            diff = c[j] - upper
            if ((c[j] >= data[base + 3 + j] and c[j] <= data[base + 6 + j])
                    or (diff if diff >= 0.0 else -diff) <= _EPS_ABS):
                c[j] = data[base + 9 + j]
            elif not (c[j] < upper) or c[j] < lower:
                inside = False
                break
        if not inside:
            continue
        for j in range(d):
            start[j] = int(np.floor((c[j] + 0.5) - order / 2.0))
            t = c[j] - float(start[j])
            for k in range(support):
                w[j, k] = _kernel_weight(order, t)
                t -= 1.0
        # every support point in ITK's order (x fastest), weight ((1·w_x)·w_y)·w_z, each
        # component accumulated from 0: three scalar sums keep the loop free of array
        # writes
        acc0 = 0.0
        acc1 = 0.0
        acc2 = 0.0
        for kz in range(nz):
            wz = w[2, kz]
            for ky in range(support):
                wy = w[1, ky]
                row = coefficients + ((start[2] + kz) * gy + (start[1] + ky)) * gx + start[0]
                for kx in range(support):
                    weight = w[0, kx] * wy
                    if d == 3:
                        weight *= wz
                    at = row + kx
                    acc0 += weight * data[at]
                    acc1 += weight * data[at + plane]
                    if d == 3:
                        acc2 += weight * data[at + 2 * plane]
        pts[x, 0] = acc0 + pts[x, 0]
        pts[x, 1] = acc1 + pts[x, 1]
        if d == 3:
            pts[x, 2] = acc2 + pts[x, 2]


@njit(nogil=True)
def _field(f, st, data, pts, nx):
    # DisplacementFieldTransform::TransformPoint with ITK's VectorLinearInterpolate-
    # ImageFunction (corner weights, x the fastest bit, zero weights skipped, stop at a
    # total of 1) or nearest (round half up)
    d = st[6]
    gx, gy = st[1], st[2]
    base = st[4]
    c = np.empty(3)
    lower = np.zeros(3, dtype=np.int64)
    dist = np.zeros(3)
    n = np.zeros(3, dtype=np.int64)
    disp = np.empty(3)
    for x in range(nx):
        v0 = pts[x, 0] - f[9]
        v1 = pts[x, 1] - f[10]
        v2 = pts[x, 2] - f[11]
        inside = True
        for r in range(3):
            acc = 0.0
            acc += f[3 * r] * v0
            acc += f[3 * r + 1] * v1
            acc += f[3 * r + 2] * v2
            c[r] = acc
            if r < d and not (acc >= -0.5 and acc < float(st[1 + r]) - 0.5):
                inside = False
        if not inside:
            continue
        disp[0] = 0.0
        disp[1] = 0.0
        disp[2] = 0.0
        if st[5] == 0:
            i0 = min(int(np.floor(c[0] + 0.5)), st[1] - 1)
            i1 = min(int(np.floor(c[1] + 0.5)), st[2] - 1)
            i2 = min(int(np.floor(c[2] + 0.5)), st[3] - 1) if d == 3 else 0
            at = base + ((i2 * gy + i1) * gx + i0) * d
            for j in range(d):
                disp[j] = data[at + j]
        else:
            for j in range(d):
                lower[j] = int(np.floor(c[j]))
                dist[j] = c[j] - float(lower[j])
            n[2] = 0
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
            pts[x, j] += disp[j]


@njit(nogil=True)
def apply_stages(stage_i, stage_f, stage_data, n_stages, pts, nx):
    """Every stage of one item, in order, on each point of ``pts`` (nx, 3), in place."""
    for s in range(n_stages):
        st = stage_i[s]
        f = stage_f[s]
        kind = st[0]
        if kind == AFFINE:
            _affine(f, st[6], pts, nx)
        elif kind == SCALE:
            _scale(f, st[6], pts, nx)
        elif kind == BSPLINE:
            _bspline(f, st, stage_data, pts, nx)
        else:
            _field(f, st, stage_data, pts, nx)
