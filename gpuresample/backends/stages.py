"""The transform stages of the per-voxel path, for the ``cpu`` backend (numba).

The arithmetic of ``kernels/stages.cuh`` (which the ``cuda`` and ``cuda-host`` backends
run), operation for operation, so the backends agree bit for bit; both follow ITK's
``TransformPoint`` of each kind. Stage records: see ``kernels/common.cuh`` and
:mod:`gpuresample.plan`.

The kernel works on one voxel per thread; here :func:`chunk_points` takes ``_CHUNK``
points of an output row at a time (:func:`row_points`: a whole row, chunk by chunk, for
label_linear), and each stage loops over the chunk's points
``pts`` (3, n: one row per axis). Those loops are written for LLVM to vectorise across
points (each lane one point, doing that point's operations in their order, so the same
bits): no branches but selects, a conditional expression whose branches hold nothing but
a value (LLVM keeps a branch around anything more), no ``min``/``max`` (numba calls
them), and the points and working rows in stack arrays (:mod:`.stack_array`): a loop
that gathers from an argument and stores into a heap array stays scalar.

Example
-------
>>> import numpy as np
>>> grids = np.zeros((2, 12)); grids[0, :3] = (10.0, 20.0, 0.0)
>>> grids[:, 3:] = np.eye(3).ravel()
>>> c = np.empty((3, 2))
>>> none = np.zeros((1, 8), np.int64), np.zeros((1, 12)), np.zeros(1)
>>> row_points(grids, 0, 1.0, 0.0, 2, *none, 0, c, np.float64)
>>> c.T.tolist()
[[10.0, 21.0, 0.0], [11.0, 21.0, 0.0]]
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .stack_array import stack_empty
from .word_loads import load_pair

__all__ = ["row_points", "chunk_points"]

AFFINE, BSPLINE, FIELD, SCALE = 0, 1, 2, 3
_EPS_ABS = 0.1 * 2.220446049250313e-16     # Math::FloatAlmostEqual's absolute tolerance
_CHUNK = 64   # points a chunk: the size of the stack arrays
_LANES = 8    # points a vector (AVX-512 float64): the cubic B-spline's sums run whole vectors
_PADDED = _CHUNK + _LANES   # the B-spline's working rows: a vector past the chunk
_MIN_RUN = 4  # the cubic sums go cell by cell when a run is this long on average


@njit(nogil=True)
def row_points(grids, x0, y, z, nx, stage_i, stage_f, stage_data, n_stages, c, real):
    """The input continuous indices of one output row on the per-voxel path (as
    kernels/resample.cu's resample_points), into ``c`` (3, nx) in ``real``: each index
    (x0 … x0+nx−1, y, z) → physical point → the stages in order → input index."""
    for start in range(0, nx, _CHUNK):
        n = nx - start if nx - start < _CHUNK else _CHUNK
        chunk_points(grids, x0, y, z, start, n, stage_i, stage_f, stage_data, n_stages, c,
                     start, real)


@njit(nogil=True)
def chunk_points(grids, x0, y, z, start, n, stage_i, stage_f, stage_data, n_stages, c,
                 at, real):
    """``row_points`` of the row's ``n`` (at most ``_CHUNK``) points from x0 + start on,
    into ``c[:, at:at + n]``."""
    pts = stack_empty(3, _CHUNK, np.float64)
    first = stack_empty(3, 1, np.float64)        # the row's first point
    _index_points(grids[0], x0, y, z, 0, 1, first)
    _index_points(grids[0], x0, y, z, start, n, pts)
    _apply_stages(stage_i, stage_f, stage_data, n_stages, pts, n, first)
    _to_grid_indices(grids[1, 3:], grids[1, :3], pts, n, c, at, real)


@njit(inline="always")
def _index_points(grid, x0, y, z, start, n, pts):
    """ITK's TransformIndexToPhysicalPoint of (x, y, z), x = x0+start … x0+start+n−1:
    from the origin, adding A[r][0]·x, A[r][1]·y, A[r][2]·z in order."""
    for r in range(3):
        for i in range(n):
            acc = grid[r]
            acc += grid[3 + 3 * r] * float(x0 + start + i)
            acc += grid[4 + 3 * r] * y
            acc += grid[5 + 3 * r] * z
            pts[r, i] = acc


@njit(inline="always")
def _to_grid_indices(m, origin, pts, n, out, start, real):
    """c = m·(p − origin) for each point, each row summed from 0 (ITK's Matrix * Vector),
    written to ``out[:, start:start + n]`` in the arithmetic type ``real``."""
    for i in range(n):
        v0 = pts[0, i] - origin[0]
        v1 = pts[1, i] - origin[1]
        v2 = pts[2, i] - origin[2]
        for r in range(3):
            acc = 0.0
            acc += m[3 * r] * v0
            acc += m[3 * r + 1] * v1
            acc += m[3 * r + 2] * v2
            out[r, start + i] = real(acc)


@njit(inline="always")
def _apply_stages(stage_i, stage_f, stage_data, n_stages, pts, n, first):
    """Every stage of one item, in order, on each point of ``pts``, in place."""
    for s in range(n_stages):
        st = stage_i[s]
        f = stage_f[s]
        if st[6] == 0:
            break   # an unused slot: this batch item has fewer stages
        kind = st[0]
        if kind == AFFINE:
            _affine(f, st[6] == 3, pts, n)
        elif kind == SCALE:
            _scale(f, st[6], pts, n)
        elif kind == BSPLINE:
            _bspline(f, st, stage_data, pts, n, first)
        else:
            _field(f, st, stage_data, pts, n)


@njit(inline="always")
def _affine(f, three_d, pts, n):
    # MatrixOffsetTransformBase::TransformPoint: M·p summed from 0, then + offset
    if three_d:
        _affine_points(f, pts, n, 3)
    else:
        _affine_points(f, pts, n, 2)


@njit(inline="always")
def _affine_points(f, pts, n, d):
    for i in range(n):
        p0, p1, p2 = pts[0, i], pts[1, i], pts[2, i]
        for r in range(d):
            acc = 0.0
            acc += f[3 * r] * p0
            acc += f[3 * r + 1] * p1
            if d == 3:
                acc += f[3 * r + 2] * p2
            pts[r, i] = acc + f[9 + r]


@njit(inline="always")
def _scale(f, d, pts, n):
    # ScaleTransform::TransformPoint: (p − c)·s + c
    for r in range(d):
        for i in range(n):
            pts[r, i] = (pts[r, i] - f[9 + r]) * f[r] + f[9 + r]


@njit(inline="always")
def _grid_index(f, p0, p1, p2, r):
    # row r of c = P·(p − origin), summed from 0
    return ((0.0 + f[3 * r] * (p0 - f[9])) + f[3 * r + 1] * (p1 - f[10])) \
        + f[3 * r + 2] * (p2 - f[11])


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
def _valid_axis(c, upper, low, high, nudged, lower):
    """ITK's InsideValidRegion along one axis, with the limits the planner computed (the
    upper limit, its 4-ULP window ``low``..``high``, the value 6 ULP below it): (inside,
    the index, moved below the upper limit when almost equal to it)."""
    almost = ((c >= low) & (c <= high)) | (abs(c - upper) <= _EPS_ABS)
    inside = almost | ((c < upper) & ~(c < lower))
    return inside, (nudged if almost else c)


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


@njit(inline="always")
def _support_start(order, c):
    """The first support point along one axis: floor((c + 0.5) − order/2)."""
    return np.int64(np.floor((c + 0.5) - order / 2.0))


@njit(nogil=True)
def _bspline(f, st, data, pts, n, first):
    """BSplineTransform::TransformPoint of a chunk of points (gpuresample/transforms/
    bspline.py, step by step): the valid-region test, support start and weights of each
    point (the weights into ``work[4·axis + k]``, start and inside flag into ``index``);
    then each point's displacement, over its support points (x fastest), weight
    ((1·w_x)·w_y)·w_z times the coefficient, each component summed from 0 (into
    ``work[12 + j]``); then the displacements added to the points inside. A function of
    its own (not inlined): compiled once, and its stack arrays are its own."""
    if st[7]:
        _bspline_separable(f, st, data, pts, n, first)
        return
    d, order, _, gx, gy, gz, plane, _, support, nz, _ = _bspline_layout(st)
    if gx < support or gy < support or (d == 3 and gz < support):
        return   # no point is inside the valid region
    work = stack_empty(15, _PADDED, np.float64)
    index = stack_empty(2, _PADDED, np.int64)
    # the weights' polynomials with the order as a constant
    if order == 3:
        _bspline_weights(f, st, data, pts, n, work, index, 3)
    elif order == 2:
        _bspline_weights(f, st, data, pts, n, work, index, 2)
    elif order == 1:
        _bspline_weights(f, st, data, pts, n, work, index, 1)
    else:
        _bspline_weights(f, st, data, pts, n, work, index, 0)
    for i in range(n, n + _LANES):
        for r in range(12):
            work[r, i] = 0.0
    three_d = d == 3
    third = np.uint64(2 * plane if three_d else 0)   # 2-D: a harmless load, unused
    if order == 3 and _cell_runs(index, n) * _MIN_RUN <= n:
        if three_d:
            _cubic_sums_by_cell(data, n, work, index, gx, gy, plane, third, True)
        else:
            _cubic_sums_by_cell(data, n, work, index, gx, gy, plane, third, False)
    else:
        _bspline_sums(data, n, work, index, gx, gy, plane, third, support, nz, three_d)
    for j in range(d):
        for i in range(n):
            p = pts[j, i]
            moved = work[12 + j, i] + p
            pts[j, i] = moved if index[1, i] else p


@njit(inline="always")
def _cell_runs(index, n):
    """The number of runs of consecutive points in one control cell (the same support)."""
    runs = 1
    for i in range(1, n):
        runs += index[0, i] != index[0, i - 1]
    return runs


@njit(inline="always")
def _cubic_sums_by_cell(data, n, work, index, gx, gy, plane, third, three_d):
    """The cubic displacements, a run of points in one control cell at a time: the run's
    64 (3-D) or 16 coefficients are the same for all its points, so a loop over the run
    does each point's whole sum in registers, in ITK's order, a vector of points at a
    time. The loop runs whole vectors (``_LANES`` points), past the run's end into the
    next run's points (which that run then writes again) or the spare columns."""
    start = 0
    while start < n:
        q = index[0, start]
        stop = start + 1
        while stop < n and index[0, stop] == q:
            stop += 1
        first = np.uint64(q)
        # uint64 indices: numba's wraparound of a negative index would hide the access
        # pattern from LLVM (the loop would stay scalar)
        for j in range((stop - start + _LANES - 1) // _LANES * _LANES):
            i = np.uint64(start + j)
            a0, a1, a2 = _cubic_plane(data, first, gx, gy, plane, third, work, i, 0, three_d,
                                      0.0, 0.0, 0.0)
            if three_d:
                a0, a1, a2 = _cubic_plane(data, first, gx, gy, plane, third, work, i, 1,
                                          True, a0, a1, a2)
                a0, a1, a2 = _cubic_plane(data, first, gx, gy, plane, third, work, i, 2,
                                          True, a0, a1, a2)
                a0, a1, a2 = _cubic_plane(data, first, gx, gy, plane, third, work, i, 3,
                                          True, a0, a1, a2)
            work[12, i] = a0
            work[13, i] = a1
            work[14, i] = a2
        start = stop


@njit(inline="always")
def _cubic_plane(data, first, gx, gy, plane, third, work, i, kz, three_d, a0, a1, a2):
    """The 16 terms of support plane ``kz`` (a constant: LLVM unrolls these loops, but not
    all 64 terms at once) added to the sums of point ``i``."""
    wz = work[8 + kz, i]
    for ky in range(4):
        wy = work[4 + ky, i]
        row = first + np.uint64((kz * gy + ky) * gx)
        for kx in range(4):
            weight = work[kx, i] * wy
            if three_d:
                weight *= wz
            at = row + np.uint64(kx)
            a0 += weight * data[at]
            a1 += weight * data[at + np.uint64(plane)]
            a2 += weight * data[at + third]
    return a0, a1, a2


@njit(inline="always")
def _bspline_sums(data, n, work, index, gx, gy, plane, third, support, nz, three_d):
    """The sums of each point's support, point by point (``_bspline``)."""
    for kz in range(nz):
        for ky in range(support):
            for kx in range(support):
                at = (kz * gy + ky) * gx + kx
                for i in range(n):
                    weight = work[kx, i] * work[4 + ky, i]
                    weighted = weight * work[8 + kz, i]
                    weight = weighted if three_d else weight
                    q = np.uint64(index[0, i] + at)
                    work[12, i] += weight * data[q]
                    work[13, i] += weight * data[q + np.uint64(plane)]
                    work[14, i] += weight * data[q + third]


@njit(inline="always")
def _clamp(start, top):
    """``start`` limited to 0 … ``top``."""
    start = start if start < top else top
    return start if start > 0 else np.int64(0)


@njit(inline="always")
def _bspline_weights(f, st, data, pts, n, work, index, order):
    """``_bspline``'s first loop, for one (constant) order."""
    d, _, base, gx, gy, gz, plane, coefficients, support, nz, lower = _bspline_layout(st)
    three_d = d == 3
    up0, up1, up2 = data[base], data[base + 1], data[base + 2]
    low0, low1, low2 = data[base + 3], data[base + 4], data[base + 5]
    high0, high1, high2 = data[base + 6], data[base + 7], data[base + 8]
    nudged0, nudged1, nudged2 = data[base + 9], data[base + 10], data[base + 11]
    safe = 0.5 * order   # its support starts at 0
    for i in range(n):
        p0, p1, p2 = pts[0, i], pts[1, i], pts[2, i]
        ok0, c0 = _valid_axis(_grid_index(f, p0, p1, p2, 0), up0, low0, high0, nudged0, lower)
        ok1, c1 = _valid_axis(_grid_index(f, p0, p1, p2, 1), up1, low1, high1, nudged1, lower)
        ok2, c2 = _valid_axis(_grid_index(f, p0, p1, p2, 2), up2, low2, high2, nudged2, lower)
        ok = ok0 & ok1 & (ok2 | ~three_d)
        index[1, i] = ok
        # a point outside takes support start 0 on every axis, so that no load leaves the
        # coefficients (its sums are not used); 2-D: z too
        c0 = c0 if ok else safe
        c1 = c1 if ok else safe
        c2 = c2 if ok and three_d else safe
        # the clamp changes nothing inside but for order 0, whose limits wrap (ITK reads
        # outside its coefficients there)
        s0 = _clamp(_support_start(order, c0), gx - support)
        s1 = _clamp(_support_start(order, c1), gy - support)
        s2 = _clamp(_support_start(order, c2), gz - support)
        index[0, i] = coefficients + (s2 * gy + s1) * gx + s0
        t0 = c0 - float(s0)
        t1 = c1 - float(s1)
        t2 = c2 - float(s2)
        for k in range(order + 1):
            work[k, i] = _kernel_weight(order, t0)
            work[4 + k, i] = _kernel_weight(order, t1)
            work[8 + k, i] = _kernel_weight(order, t2)
            t0 -= 1.0
            t1 -= 1.0
            t2 -= 1.0
        work[12, i] = 0.0
        work[13, i] = 0.0
        work[14, i] = 0.0


@njit(inline="always")
def _weights(order, c, w, j):
    """Start index of the support along one axis and its order+1 weights into w[j]."""
    start = _support_start(order, c)
    t = c - float(start)
    for k in range(order + 1):
        w[j, k] = _kernel_weight(order, t)
        t -= 1.0
    return start


@njit(inline="always")
def _valid_axis_at(c, data, at, lower):
    """``_valid_axis`` with axis ``at``'s limits read from the stage's data."""
    return _valid_axis(c, data[at], data[at + 3], data[at + 6], data[at + 9], lower)


@njit(inline="always")
def _bspline_separable(f, st, data, pts, n, first):
    """The fast-precision B-spline of a control grid aligned with the output grid: the y
    and z weights come from the row's first point, the y-z sums of each control column
    are formed once, and each point only combines four of them with its x weights
    (kernels/stages.cuh forms the same sums, in the same order, per voxel)."""
    d, order, base, gx, gy, gz, plane, coefficients, support, nz, lower = \
        _bspline_layout(st)
    w = np.ones((3, 4))
    p0, p1, p2 = first[0, 0], first[1, 0], first[2, 0]
    ok, c1 = _valid_axis_at(_grid_index(f, p0, p1, p2, 1), data, base + 1, lower)
    if not ok:
        return
    s2 = 0
    if d == 3:
        ok, c2 = _valid_axis_at(_grid_index(f, p0, p1, p2, 2), data, base + 2, lower)
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
    moved = stack_empty(3, _CHUNK, np.float64)
    if order == 3:
        _separable_points(f, st, data, pts, n, sums, moved, 3)
    elif order == 2:
        _separable_points(f, st, data, pts, n, sums, moved, 2)
    elif order == 1:
        _separable_points(f, st, data, pts, n, sums, moved, 1)
    else:
        _separable_points(f, st, data, pts, n, sums, moved, 0)
    for j in range(d):
        for i in range(n):
            pts[j, i] = moved[j, i]


@njit(inline="always")
def _separable_points(f, st, data, pts, n, sums, moved, order):
    """``_bspline_separable``'s loop over the points, for one (constant) order: each
    point's x weights times the y-z sums of its support's control columns, into
    ``moved`` (a stack array: the loop gathers from ``sums``)."""
    d, _, base, gx, _, _, _, _, support, _, lower = _bspline_layout(st)
    up, low, high, nudged = data[base], data[base + 3], data[base + 6], data[base + 9]
    safe = 0.5 * order   # its support starts at 0
    for i in range(n):
        p0, p1, p2 = pts[0, i], pts[1, i], pts[2, i]
        ok, c0 = _valid_axis(_grid_index(f, p0, p1, p2, 0), up, low, high, nudged, lower)
        c0 = c0 if ok else safe
        s0 = _clamp(_support_start(order, c0), gx - support)
        acc0 = 0.0
        acc1 = 0.0
        acc2 = 0.0
        t = c0 - float(s0)
        for kx in range(order + 1):
            w = _kernel_weight(order, t)
            g = np.uint64(s0 + kx)
            acc0 += w * sums[0, g]
            acc1 += w * sums[1, g]
            acc2 += w * sums[2, g]
            t -= 1.0
        moved0 = acc0 + p0
        moved1 = acc1 + p1
        moved2 = acc2 + p2
        moved[0, i] = moved0 if ok else p0
        moved[1, i] = moved1 if ok else p1
        moved[2, i] = moved2 if ok else p2


@njit(inline="always")
def _corner_axis(upper, low, size, frac):
    """One axis of one corner in ITK's VectorLinearInterpolateImageFunction: the index
    (clamped to the image) and the weight factor."""
    if upper:
        above = low + 1
        return (above if above < size - 1 else size - 1), frac
    return (low if low > 0 else 0), 1.0 - frac


@njit(nogil=True)
def _field(f, st, data, pts, n):
    """DisplacementFieldTransform::TransformPoint of a chunk of points: outside the
    field's buffer (ITK's -0.5 <= c < N - 0.5) a point is unchanged; inside, ITK's
    VectorLinearInterpolateImageFunction (corner weights, x the fastest bit, zero weights
    skipped, stopping once the weights total 1: each a select here) or nearest (round
    half up), as kernels/stages.cuh. The field is float64 vectors, or (``st[7]``) float32
    component planes (values float32 holds exactly: the same sums, half the bytes, and
    each corner read with its x neighbour in one word, ``load_pair``: plan.py pads the
    planes so that the last value has a successor). The displacements
    go to a stack array first (a loop that gathers from the field and stores into
    ``pts``, an argument, stays scalar)."""
    moved = stack_empty(3, _CHUNK, np.float64)
    if st[7]:
        planes = data.view(np.float32)
        if st[5] != 0:
            _field_points(f, st, planes, pts, n, moved, True, True)
        else:
            _field_points(f, st, planes, pts, n, moved, False, True)
    elif st[5] != 0:
        _field_points(f, st, data, pts, n, moved, True, False)
    else:
        _field_points(f, st, data, pts, n, moved, False, False)
    for j in range(st[6]):
        for i in range(n):
            pts[j, i] = moved[j, i]


@njit(inline="always")
def _field_points(f, st, data, pts, n, moved, linear, planes):
    """``_field``'s loop, for one (constant) interpolator and layout: ``planes``, float32
    component planes (``data`` the stage data viewed as float32), else float64 vectors,
    components interleaved."""
    three_d = st[6] == 3
    d = st[6]
    n0, n1, n2 = st[1], st[2], st[3]
    # element steps: to the next component, to the next pixel
    component = n0 * n1 * n2 if planes else 1
    pixel = 1 if planes else d
    base = 2 * st[4] if planes else st[4]
    up0 = float(n0) - 0.5
    up1 = float(n1) - 0.5
    up2 = float(n2) - 0.5
    second = np.uint64(component)
    third = np.uint64(2 * component if three_d else 0)   # 2-D: a harmless load, unused
    for i in range(n):
        p0, p1, p2 = pts[0, i], pts[1, i], pts[2, i]
        c0 = _grid_index(f, p0, p1, p2, 0)
        c1 = _grid_index(f, p0, p1, p2, 1)
        c2 = _grid_index(f, p0, p1, p2, 2)
        inside = ((c0 >= -0.5) & (c0 < up0) & (c1 >= -0.5) & (c1 < up1)
                  & (((c2 >= -0.5) & (c2 < up2)) | ~three_d))
        # a point outside reads the first vector (so no load leaves the field), unused
        c0 = c0 if inside else 0.0
        c1 = c1 if inside else 0.0
        c2 = c2 if inside and three_d else 0.0
        acc0 = 0.0
        acc1 = 0.0
        acc2 = 0.0
        if not linear:
            i0 = np.int64(np.floor(c0 + 0.5))
            i1 = np.int64(np.floor(c1 + 0.5))
            i2 = np.int64(np.floor(c2 + 0.5))
            i0 = i0 if i0 < n0 - 1 else n0 - 1
            i1 = i1 if i1 < n1 - 1 else n1 - 1
            i2 = i2 if i2 < n2 - 1 else n2 - 1
            at = np.uint64(base + ((i2 * n1 + i1) * n0 + i0) * pixel)
            acc0 = float(data[at])
            acc1 = float(data[at + second])
            acc2 = float(data[at + third])
        else:
            l0 = np.int64(np.floor(c0))
            l1 = np.int64(np.floor(c1))
            l2 = np.int64(np.floor(c2))
            f0 = c0 - float(l0)
            f1 = c1 - float(l1)
            f2 = c2 - float(l2)
            # x: the two corners' indices and weight factors (lower, upper)
            x_low, w_low = _corner_axis(0, l0, n0, f0)
            x_up, w_up = _corner_axis(1, l0, n0, f0)
            paired = x_up != x_low   # else both x corners are one pixel (clamped)
            total = 0.0
            for yz in range(4):
                # corners 2·yz and 2·yz + 1 (x the fastest bit); 2-D: the first two pairs
                i1, w1 = _corner_axis(yz & 1, l1, n1, f1)
                i2, w2 = _corner_axis((yz >> 1) & 1, l2, n2, f2)
                i2 = i2 if three_d else 0
                row = base + (i2 * n1 + i1) * n0 * pixel
                at = np.uint64(row + x_low * pixel)
                if planes:
                    a0, b0 = load_pair(data, at, True)
                    a1, b1 = load_pair(data, at + second, True)
                    a2, b2 = load_pair(data, at + third, True)
                    lo0, lo1, lo2 = float(a0), float(a1), float(a2)
                    hi0, hi1, hi2 = float(b0), float(b1), float(b2)
                    hi0 = hi0 if paired else lo0
                    hi1 = hi1 if paired else lo1
                    hi2 = hi2 if paired else lo2
                else:
                    lo0, lo1, lo2 = data[at], data[at + second], data[at + third]
                    at = np.uint64(row + x_up * pixel)
                    hi0, hi1, hi2 = data[at], data[at + second], data[at + third]
                used = (yz < 2) | three_d
                acc0, acc1, acc2, total = _field_corner(
                    w_low, w1, w2, lo0, lo1, lo2, acc0, acc1, acc2, total, used, three_d)
                acc0, acc1, acc2, total = _field_corner(
                    w_up, w1, w2, hi0, hi1, hi2, acc0, acc1, acc2, total, used, three_d)
        moved0 = p0 + acc0
        moved1 = p1 + acc1
        moved2 = p2 + acc2
        moved[0, i] = moved0 if inside else p0
        moved[1, i] = moved1 if inside else p1
        moved[2, i] = moved2 if inside else p2


@njit(inline="always")
def _field_corner(w0, w1, w2, v0, v1, v2, acc0, acc1, acc2, total, used, three_d):
    """One corner's term in ITK's VectorLinearInterpolateImageFunction: its overlap
    ((1·w_x)·w_y)·w_z (2-D: no z factor) times its vector ``v`` added to the sums, and
    the overlap to their ``total``, unless the overlap is zero or the total is already 1
    (ITK skips the corner) or the corner is not ``used`` (2-D: the z bit set)."""
    overlap = (1.0 * w0) * w1
    overlap_z = overlap * w2
    overlap = overlap_z if three_d else overlap
    take = (overlap != 0.0) & (total != 1.0) & used
    sum0 = acc0 + overlap * v0
    sum1 = acc1 + overlap * v1
    sum2 = acc2 + overlap * v2
    weights = total + overlap
    acc0 = sum0 if take else acc0
    acc1 = sum1 if take else acc1
    acc2 = sum2 if take else acc2
    total = weights if take else total
    return acc0, acc1, acc2, total
