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
>>> index_points(np.r_[[10.0, 20.0, 0.0], np.eye(3).ravel()], 0, 1.0, 0.0, 2, pts)
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
def index_points(grid, x0, y, z, nx, pts):
    """ITK's TransformIndexToPhysicalPoint of (x, y, z), x = x0 … x0+nx−1: from the
    origin, adding A[r][0]·x, A[r][1]·y, A[r][2]·z in order."""
    for x in range(nx):
        for r in range(3):
            acc = grid[r]
            acc += grid[3 + 3 * r] * float(x0 + x)
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


@njit(inline="always")
def _valid_axis(c, data, at, lower):
    """ITK's InsideValidRegion along one axis, with the limits the planner stored at
    ``data[at + 0, 3, 6, 9]`` (upper limit, its 4-ULP window, the value 6 ULP below it):
    (inside, the index, moved below the upper limit when almost equal to it)."""
    upper = data[at]
    diff = c - upper
    if (c >= data[at + 3] and c <= data[at + 6]) or (diff if diff >= 0.0 else -diff) <= _EPS_ABS:
        return True, data[at + 9]
    return c < upper and not c < lower, c


@njit(inline="always")
def _weights(order, c, w, j):
    """Start index of the support along one axis and its order+1 weights into w[j]."""
    start = int(np.floor((c + 0.5) - order / 2.0))
    t = c - float(start)
    for k in range(order + 1):
        w[j, k] = _kernel_weight(order, t)
        t -= 1.0
    return start


@njit(inline="always")
def _bspline_layout(st):
    """A B-spline stage record unpacked: dimension, order, offset of its limits, control
    grid size, points per component, offset of the coefficients, support and its z extent,
    and the lower limit of the valid region (ITK's unsigned order - 1 wraps for order 0)."""
    d = st[6]
    order = st[5]
    support = order + 1
    lower = 2147483647.5 if order == 0 else 0.5 * (order - 1)
    return (d, order, st[4], st[1], st[2], st[3], st[1] * st[2] * st[3], st[4] + 12,
            support, support if d == 3 else 1, lower)


@njit(nogil=True)
def _bspline(f, st, data, pts, nx):
    # BSplineTransform::TransformPoint (gpuresample/transforms/bspline.py, step by step)
    d, order, base, gx, gy, gz, plane, coefficients, support, nz, lower = \
        _bspline_layout(st)
    w = np.ones((3, 4))
    if st[7]:
        _bspline_separable(f, st, data, pts, nx, w)
        return
    for x in range(nx):
        p0, p1, p2 = pts[x, 0], pts[x, 1], pts[x, 2]
        c0 = _grid_index(f, p0, p1, p2, 0)
        c1 = _grid_index(f, p0, p1, p2, 1)
        c2 = _grid_index(f, p0, p1, p2, 2)
        ok, c0 = _valid_axis(c0, data, base, lower)
        if not ok:
            continue
        ok, c1 = _valid_axis(c1, data, base + 1, lower)
        if not ok:
            continue
        if d == 3:
            ok, c2 = _valid_axis(c2, data, base + 2, lower)
            if not ok:
                continue
        s0 = _weights(order, c0, w, 0)
        s1 = _weights(order, c1, w, 1)
        s2 = _weights(order, c2, w, 2) if d == 3 else 0
        first = coefficients + (s2 * gy + s1) * gx + s0
        if d == 3 and order == 3:
            # the common case with constant loop bounds, which LLVM unrolls
            acc0, acc1, acc2 = _support_sums(data, first, w, gx, gy, plane, 4, 4, True)
        else:
            acc0, acc1, acc2 = _support_sums(data, first, w, gx, gy, plane, nz, support,
                                             d == 3)
        pts[x, 0] = acc0 + pts[x, 0]
        pts[x, 1] = acc1 + pts[x, 1]
        if d == 3:
            pts[x, 2] = acc2 + pts[x, 2]


@njit(inline="always")
def _support_sums(data, first, w, gx, gy, plane, nz, support, three_d):
    """The displacement's components at one point: every support point in ITK's order (x
    fastest), weight ((1·w_x)·w_y)·w_z, each component accumulated from 0."""
    acc0 = 0.0
    acc1 = 0.0
    acc2 = 0.0
    for kz in range(nz):
        wz = w[2, kz]
        for ky in range(support):
            wy = w[1, ky]
            row = np.uint64(first + (kz * gy + ky) * gx)
            for kx in range(support):
                weight = w[0, kx] * wy
                if three_d:
                    weight *= wz
                at = row + np.uint64(kx)
                acc0 += weight * data[at]
                acc1 += weight * data[at + np.uint64(plane)]
                if three_d:
                    acc2 += weight * data[at + np.uint64(2 * plane)]
    return acc0, acc1, acc2


@njit(inline="always")
def _grid_index(f, p0, p1, p2, r):
    # row r of c = P·(p − origin), summed from 0
    return ((0.0 + f[3 * r] * (p0 - f[9])) + f[3 * r + 1] * (p1 - f[10])) \
        + f[3 * r + 2] * (p2 - f[11])


@njit(nogil=True)
def _bspline_separable(f, st, data, pts, nx, w):
    """The fast-precision B-spline of a control grid aligned with the output grid: the y
    and z weights come from the row's first point, the y-z sums of each control column
    are formed once per row, and each voxel only combines four of them with its x weights
    (kernels/stages.cuh forms the same sums, in the same order, per voxel)."""
    d, order, base, gx, gy, gz, plane, coefficients, support, nz, lower = \
        _bspline_layout(st)
    p0, p1, p2 = pts[0, 0], pts[0, 1], pts[0, 2]
    ok, c1 = _valid_axis(_grid_index(f, p0, p1, p2, 1), data, base + 1, lower)
    if not ok:
        return
    s2 = 0
    if d == 3:
        ok, c2 = _valid_axis(_grid_index(f, p0, p1, p2, 2), data, base + 2, lower)
        if not ok:
            return
        s2 = _weights(order, c2, w, 2)
    s1 = _weights(order, c1, w, 1)
    sums = np.zeros((3, gx))
    for g in range(gx):
        for kz in range(nz):
            for ky in range(support):
                weight = w[1, ky]
                if d == 3:
                    weight *= w[2, kz]
                at = coefficients + ((s2 + kz) * gy + (s1 + ky)) * gx + g
                for j in range(d):
                    sums[j, g] += weight * data[at + j * plane]
    for x in range(nx):
        ok, c0 = _valid_axis(_grid_index(f, pts[x, 0], pts[x, 1], pts[x, 2], 0), data, base,
                             lower)
        if not ok:
            continue
        s0 = _weights(order, c0, w, 0)
        for j in range(d):
            acc = 0.0
            for kx in range(support):
                acc += w[0, kx] * sums[j, s0 + kx]
            pts[x, j] = acc + pts[x, j]


@njit(inline="always")
def _corner_axis(upper, low, size, frac):
    """One axis of one corner in ITK's VectorLinearInterpolateImageFunction: the index
    (clamped to the image) and the weight factor."""
    if upper:
        return min(low + 1, size - 1), frac
    return max(low, 0), 1.0 - frac


@njit(inline="always")
def _corner_sums(data, base, n0, n1, n2, l0, l1, l2, f0, f1, f2, d):
    """ITK's VectorLinearInterpolateImageFunction at one point: the 2^d corners (x the
    fastest bit), zero weights skipped, stopping once the weights total 1."""
    acc0 = 0.0
    acc1 = 0.0
    acc2 = 0.0
    total = 0.0
    for corner in range(1 << d):
        i0, w0 = _corner_axis(corner & 1, l0, n0, f0)
        i1, w1 = _corner_axis((corner >> 1) & 1, l1, n1, f1)
        overlap = (1.0 * w0) * w1
        i2 = 0
        if d == 3:
            i2, w2 = _corner_axis(corner >> 2, l2, n2, f2)
            overlap *= w2
        if overlap != 0.0:
            at = np.uint64(base + ((i2 * n1 + i1) * n0 + i0) * d)
            acc0 += overlap * data[at]
            acc1 += overlap * data[at + np.uint64(1)]
            if d == 3:
                acc2 += overlap * data[at + np.uint64(2)]
            total += overlap
        if total == 1.0:
            break
    return acc0, acc1, acc2


@njit(nogil=True)
def _field(f, st, data, pts, nx):
    # DisplacementFieldTransform::TransformPoint with ITK's VectorLinearInterpolate-
    # ImageFunction (corner weights, x the fastest bit, zero weights skipped, stop at a
    # total of 1) or nearest (round half up); scalars only, so they stay in registers
    d = st[6]
    n0, n1, n2 = st[1], st[2], st[3]
    base = st[4]
    up0 = float(n0) - 0.5
    up1 = float(n1) - 0.5
    up2 = float(n2) - 0.5
    for x in range(nx):
        p0, p1, p2 = pts[x, 0], pts[x, 1], pts[x, 2]
        c0 = _grid_index(f, p0, p1, p2, 0)
        c1 = _grid_index(f, p0, p1, p2, 1)
        c2 = _grid_index(f, p0, p1, p2, 2)
        if not (c0 >= -0.5 and c0 < up0 and c1 >= -0.5 and c1 < up1):
            continue
        if d == 3 and not (c2 >= -0.5 and c2 < up2):
            continue
        acc0 = 0.0
        acc1 = 0.0
        acc2 = 0.0
        if st[5] == 0:
            i0 = min(int(np.floor(c0 + 0.5)), n0 - 1)
            i1 = min(int(np.floor(c1 + 0.5)), n1 - 1)
            i2 = min(int(np.floor(c2 + 0.5)), n2 - 1) if d == 3 else 0
            at = base + ((i2 * n1 + i1) * n0 + i0) * d
            acc0 = data[at]
            acc1 = data[at + 1]
            if d == 3:
                acc2 = data[at + 2]
        else:
            l0 = int(np.floor(c0))
            l1 = int(np.floor(c1))
            l2 = int(np.floor(c2)) if d == 3 else 0
            f0 = c0 - float(l0)
            f1 = c1 - float(l1)
            f2 = c2 - float(l2)
            if d == 3:   # constant bounds, which LLVM unrolls
                acc0, acc1, acc2 = _corner_sums(data, base, n0, n1, n2, l0, l1, l2, f0, f1,
                                                f2, 3)
            else:
                acc0, acc1, acc2 = _corner_sums(data, base, n0, n1, n2, l0, l1, l2, f0, f1,
                                                f2, 2)
        pts[x, 0] += acc0
        pts[x, 1] += acc1
        if d == 3:
            pts[x, 2] += acc2


@njit(nogil=True)
def apply_stages(stage_i, stage_f, stage_data, n_stages, pts, nx):
    """Every stage of one item, in order, on each point of ``pts`` (nx, 3), in place."""
    for s in range(n_stages):
        st = stage_i[s]
        f = stage_f[s]
        if st[6] == 0:
            break   # an unused slot: this batch item has fewer stages
        kind = st[0]
        if kind == AFFINE:
            _affine(f, st[6], pts, nx)
        elif kind == SCALE:
            _scale(f, st[6], pts, nx)
        elif kind == BSPLINE:
            _bspline(f, st, stage_data, pts, nx)
        else:
            _field(f, st, stage_data, pts, nx)
