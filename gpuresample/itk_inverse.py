"""ITK's matrix inverse, reproduced bit for bit.

``itk::Matrix::GetInverse()`` (used for an image's physical-point-to-index matrix and for
``MatrixOffsetTransformBase::GetInverseMatrix``) does not use an LU factorisation: it

1. refuses the matrix when ``vnl_determinant`` (the explicit cofactor expansion for sizes
   1 to 4) is exactly 0;
2. computes ``vnl_svd<double>``, i.e. LINPACK ``dsvdc`` with ``job = 21`` (the f2c
   translation in VXL's ``v3p/netlib``, with its BLAS helpers ``dnrm2``, ``ddot``,
   ``daxpy``, ``dscal``, ``drotg``, ``drot`` and ``dswap``);
3. takes ``W = |s|``, zeroes singular values ``<= 0`` (the default tolerance) and sets
   ``Winverse = 1 / W`` elsewhere;
4. returns ``V · Winverse · Uᵀ``, two plain ``vnl_matrix`` products (``Winverse`` is a full
   matrix there), each entry summed from 0 over the inner index in increasing order.

numpy's LU inverse can differ from that in the last bit, so this module replays the same
IEEE double operations in the same order (Python floats are IEEE doubles; x86-64 SSE2, no
fused multiply-add, is the arithmetic ITK's wheels use).

Example
-------
>>> import numpy as np
>>> itk_matrix_inverse(np.array([[2.0, 0.0], [0.0, 0.5]]))
array([[0.5, 0. ],
       [0. , 2. ]])
"""

from __future__ import annotations

from math import sqrt
from typing import List

import numpy as np

__all__ = ["itk_matrix_inverse", "vnl_determinant"]

_Vec = List[float]


# --- f2c helpers -----------------------------------------------------------------------
# f2c's ``abs`` is the macro ``x >= 0 ? x : -x`` (it keeps the sign of -0.0, unlike fabs),
# ``max`` is ``a >= b ? a : b`` and ``d_sign(a, b)`` is ``|a|`` given the sign of ``b``
# with ``b >= 0`` taken as positive (so -0.0 counts as positive).

def _abs(x: float) -> float:
    return x if x >= 0.0 else -x


def _max(a: float, b: float) -> float:
    return a if a >= b else b


def _d_sign(a: float, b: float) -> float:
    x = a if a >= 0.0 else -a
    return x if b >= 0.0 else -x


# --- BLAS level 1 (v3p/netlib/blas), on slices [lo, hi] of 1-based columns ---------------

def _dnrm2(x: _Vec, lo: int, hi: int) -> float:
    """Scaled 2-norm of ``x[lo..hi]`` (the 1993 Hammarling version, DLASSQ inlined)."""
    n = hi - lo + 1
    if n < 1:
        return 0.0
    if n == 1:
        return _abs(x[lo])
    scale = 0.0
    ssq = 1.0
    for i in range(lo, hi + 1):
        xi = x[i]
        if xi != 0.0:
            absxi = _abs(xi)
            if scale < absxi:
                d = scale / absxi
                ssq = ssq * (d * d) + 1.0
                scale = absxi
            else:
                d = absxi / scale
                ssq += d * d
    return scale * sqrt(ssq)


def _ddot(x: _Vec, y: _Vec, lo: int, hi: int) -> float:
    # The unrolled-by-5 loop of ddot still adds left to right, i.e. sequentially.
    dtemp = 0.0
    for i in range(lo, hi + 1):
        dtemp += x[i] * y[i]
    return dtemp


def _daxpy(da: float, x: _Vec, y: _Vec, lo: int, hi: int) -> None:
    if da == 0.0:
        return
    for i in range(lo, hi + 1):
        y[i] += da * x[i]


def _dscal(da: float, x: _Vec, lo: int, hi: int) -> None:
    for i in range(lo, hi + 1):
        x[i] = da * x[i]


def _drotg(da: float, db: float) -> tuple:
    """Givens rotation; returns ``(r, z, c, s)`` (``da`` becomes r and ``db`` becomes z)."""
    ada = _abs(da)
    adb = _abs(db)
    roe = da if ada > adb else db
    scale = ada + adb
    if scale == 0.0:
        return 0.0, 0.0, 1.0, 0.0
    d1 = da / scale
    d2 = db / scale
    r = scale * sqrt(d1 * d1 + d2 * d2)
    r = _d_sign(1.0, roe) * r
    c = da / r
    s = db / r
    z = 1.0
    if ada > adb:
        z = s
    if adb >= ada and c != 0.0:
        z = 1.0 / c
    return r, z, c, s


def _drot(x: _Vec, y: _Vec, n: int, c: float, s: float) -> None:
    for i in range(1, n + 1):
        dtemp = c * x[i] + s * y[i]
        y[i] = c * y[i] - s * x[i]
        x[i] = dtemp


# --- LINPACK dsvdc ----------------------------------------------------------------------

def _dsvdc(a: List[_Vec], n: int) -> tuple:
    """``dsvdc`` of the square ``n x n`` matrix ``a`` (rows) with ``job = 21``.

    Returns ``(s, u, v)`` with 1-based storage: ``s[1..n]`` and column lists
    ``u[j][i]``, ``v[j][i]`` (i, j in 1..n), exactly as the Fortran arrays.
    """
    p = n
    # Column-major copy (vnl_fortran_copy): x[j][i] = a(i, j), 1-based, slot 0 unused.
    x = [None] + [[0.0] + [a[i][j] for i in range(n)] for j in range(p)]
    s = [0.0] * (p + 2)
    e = [0.0] * (p + 2)
    work = [0.0] * (n + 1)
    u = [None] + [[0.0] * (n + 1) for _ in range(p)]
    v = [None] + [[0.0] * (p + 1) for _ in range(p)]
    ncu = min(n, p)  # jobu = 2: the first min(n, p) left singular vectors

    # Reduce x to bidiagonal form: diagonal in s, super-diagonal in e.
    nct = min(n - 1, p)
    nrt = max(0, min(p - 2, n))
    lu = max(nct, nrt)
    for l in range(1, lu + 1):
        lp1 = l + 1
        xl = x[l]
        if l <= nct:
            # Householder transformation for column l.
            s[l] = _dnrm2(xl, l, n)
            if s[l] != 0.0:
                if xl[l] != 0.0:
                    s[l] = _d_sign(s[l], xl[l])
                _dscal(1.0 / s[l], xl, l, n)
                xl[l] += 1.0
            s[l] = -s[l]
        for j in range(lp1, p + 1):
            xj = x[j]
            if l <= nct and s[l] != 0.0:
                t = -_ddot(xl, xj, l, n) / xl[l]
                _daxpy(t, xl, xj, l, n)
            e[j] = xj[l]
        if l <= nct:
            ul = u[l]
            for i in range(l, n + 1):
                ul[i] = xl[i]
        if l <= nrt:
            # Householder transformation for row l.
            e[l] = _dnrm2(e, lp1, p)
            if e[l] != 0.0:
                if e[lp1] != 0.0:
                    e[l] = _d_sign(e[l], e[lp1])
                _dscal(1.0 / e[l], e, lp1, p)
                e[lp1] += 1.0
            e[l] = -e[l]
            if lp1 <= n and e[l] != 0.0:
                for i in range(lp1, n + 1):
                    work[i] = 0.0
                for j in range(lp1, p + 1):
                    _daxpy(e[j], x[j], work, lp1, n)
                for j in range(lp1, p + 1):
                    _daxpy(-e[j] / e[lp1], work, x[j], lp1, n)
            vl = v[l]
            for i in range(lp1, p + 1):
                vl[i] = e[i]

    # The final bidiagonal matrix, of order m.
    m = min(p, n + 1)
    nctp1 = nct + 1
    nrtp1 = nrt + 1
    if nct < p:
        s[nctp1] = x[nctp1][nctp1]
    if n < m:
        s[m] = 0.0
    if nrtp1 < m:
        e[nrtp1] = x[m][nrtp1]
    e[m] = 0.0

    # Generate U.
    for j in range(nctp1, ncu + 1):
        uj = u[j]
        for i in range(1, n + 1):
            uj[i] = 0.0
        uj[j] = 1.0
    for ll in range(1, nct + 1):
        l = nct - ll + 1
        ul = u[l]
        if s[l] != 0.0:
            for j in range(l + 1, ncu + 1):
                uj = u[j]
                t = -_ddot(ul, uj, l, n) / ul[l]
                _daxpy(t, ul, uj, l, n)
            _dscal(-1.0, ul, l, n)
            ul[l] += 1.0
            for i in range(1, l):
                ul[i] = 0.0
        else:
            for i in range(1, n + 1):
                ul[i] = 0.0
            ul[l] = 1.0

    # Generate V.
    for ll in range(1, p + 1):
        l = p - ll + 1
        lp1 = l + 1
        vl = v[l]
        if l <= nrt and e[l] != 0.0:
            for j in range(lp1, p + 1):
                vj = v[j]
                t = -_ddot(vl, vj, lp1, p) / vl[lp1]
                _daxpy(t, vl, vj, lp1, p)
        for i in range(1, p + 1):
            vl[i] = 0.0
        vl[l] = 1.0

    # Main iteration loop for the singular values.
    mm = m
    it = 0
    maxit = 1000
    while m != 0:
        if it >= maxit:
            raise ArithmeticError("dsvdc did not converge (ITK would print a warning)")

        # Inspect for negligible elements of s and e; set kase and l.
        l = 0
        for ll in range(1, m + 1):
            l = m - ll
            if l == 0:
                break
            test = _abs(s[l]) + _abs(s[l + 1])
            ztest = test + _abs(e[l])
            if ztest == test:
                e[l] = 0.0
                break
        if l == m - 1:
            kase = 4
        else:
            lp1 = l + 1
            ls = l
            for lls in range(lp1, m + 2):
                ls = m - lls + lp1
                if ls == l:
                    break
                test = 0.0
                if ls != m:
                    test += _abs(e[ls])
                if ls != l + 1:
                    test += _abs(e[ls - 1])
                ztest = test + _abs(s[ls])
                if ztest == test:
                    s[ls] = 0.0
                    break
            if ls == l:
                kase = 3
            elif ls == m:
                kase = 1
            else:
                kase = 2
                l = ls
        l += 1

        if kase == 1:
            # Deflate negligible s(m).
            mm1 = m - 1
            f = e[m - 1]
            e[m - 1] = 0.0
            for kk in range(l, mm1 + 1):
                k = mm1 - kk + l
                t1, f, cs, sn = _drotg(s[k], f)
                s[k] = t1
                if k != l:
                    f = -sn * e[k - 1]
                    e[k - 1] = cs * e[k - 1]
                _drot(v[k], v[m], p, cs, sn)
        elif kase == 2:
            # Split at negligible s(l).
            f = e[l - 1]
            e[l - 1] = 0.0
            for k in range(l, m + 1):
                t1, f, cs, sn = _drotg(s[k], f)
                s[k] = t1
                f = -sn * e[k]
                e[k] = cs * e[k]
                _drot(u[k], u[l - 1], n, cs, sn)
        elif kase == 3:
            # One QR step; first the shift.
            scale = _max(_max(_max(_max(_abs(s[m]), _abs(s[m - 1])), _abs(e[m - 1])),
                              _abs(s[l])), _abs(e[l]))
            sm = s[m] / scale
            smm1 = s[m - 1] / scale
            emm1 = e[m - 1] / scale
            sl = s[l] / scale
            el = e[l] / scale
            b = ((smm1 + sm) * (smm1 - sm) + emm1 * emm1) / 2.0
            d = sm * emm1
            c = d * d
            shift = 0.0
            if not (b == 0.0 and c == 0.0):
                shift = sqrt(b * b + c)
                if b < 0.0:
                    shift = -shift
                shift = c / (b + shift)
            f = (sl + sm) * (sl - sm) + shift
            g = sl * el
            # Chase zeros.
            for k in range(l, m):
                f, g, cs, sn = _drotg(f, g)
                if k != l:
                    e[k - 1] = f
                f = cs * s[k] + sn * e[k]
                e[k] = cs * e[k] - sn * s[k]
                g = sn * s[k + 1]
                s[k + 1] = cs * s[k + 1]
                _drot(v[k], v[k + 1], p, cs, sn)
                f, g, cs, sn = _drotg(f, g)
                s[k] = f
                f = cs * e[k] + sn * s[k + 1]
                s[k + 1] = -sn * e[k] + cs * s[k + 1]
                g = sn * e[k + 1]
                e[k + 1] = cs * e[k + 1]
                if k < n:
                    _drot(u[k], u[k + 1], n, cs, sn)
            e[m - 1] = f
            it += 1
        else:
            # Convergence: make the singular value positive, then order it.
            if s[l] < 0.0:
                s[l] = -s[l]
                _dscal(-1.0, v[l], 1, p)
            while l != mm:
                if s[l] >= s[l + 1]:
                    break
                s[l], s[l + 1] = s[l + 1], s[l]
                if l < p:
                    v[l], v[l + 1] = v[l + 1], v[l]
                if l < n:
                    u[l], u[l + 1] = u[l + 1], u[l]
                l += 1
            it = 0
            m -= 1
    return s, u, v


# --- vnl / ITK ----------------------------------------------------------------------------

def vnl_determinant(rows: List[_Vec]) -> float:
    """``vnl_determinant`` for sizes 1 to 4: the explicit expansion, left to right."""
    n = len(rows)
    if n == 1:
        return rows[0][0]
    if n == 2:
        r0, r1 = rows
        return r0[0] * r1[1] - r0[1] * r1[0]
    if n == 3:
        r0, r1, r2 = rows
        return (r0[0] * r1[1] * r2[2] - r0[0] * r2[1] * r1[2]
                - r1[0] * r0[1] * r2[2] + r1[0] * r2[1] * r0[2]
                + r2[0] * r0[1] * r1[2] - r2[0] * r1[1] * r0[2])
    if n == 4:
        r0, r1, r2, r3 = rows
        return (r0[0] * r1[1] * r2[2] * r3[3] - r0[0] * r1[1] * r3[2] * r2[3]
                - r0[0] * r2[1] * r1[2] * r3[3] + r0[0] * r2[1] * r3[2] * r1[3]
                + r0[0] * r3[1] * r1[2] * r2[3] - r0[0] * r3[1] * r2[2] * r1[3]
                - r1[0] * r0[1] * r2[2] * r3[3] + r1[0] * r0[1] * r3[2] * r2[3]
                + r1[0] * r2[1] * r0[2] * r3[3] - r1[0] * r2[1] * r3[2] * r0[3]
                - r1[0] * r3[1] * r0[2] * r2[3] + r1[0] * r3[1] * r2[2] * r0[3]
                + r2[0] * r0[1] * r1[2] * r3[3] - r2[0] * r0[1] * r3[2] * r1[3]
                - r2[0] * r1[1] * r0[2] * r3[3] + r2[0] * r1[1] * r3[2] * r0[3]
                + r2[0] * r3[1] * r0[2] * r1[3] - r2[0] * r3[1] * r1[2] * r0[3]
                - r3[0] * r0[1] * r1[2] * r2[3] + r3[0] * r0[1] * r2[2] * r1[3]
                + r3[0] * r1[1] * r0[2] * r2[3] - r3[0] * r1[1] * r2[2] * r0[3]
                - r3[0] * r2[1] * r0[2] * r1[3] + r3[0] * r2[1] * r1[2] * r0[3])
    raise ValueError(f"vnl_determinant: only sizes 1 to 4 are supported, got {n}")


def itk_matrix_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a square matrix exactly as ``itk::Matrix::GetInverse()`` computes it.

    Parameters
    ----------
    matrix : numpy.ndarray
        Square float64 matrix of size 1 to 4 (e.g. ``A = D·diag(spacing)`` of an image).

    Returns
    -------
    numpy.ndarray
        The float64 inverse, bit-identical to ITK's (``vnl_svd`` pseudo-inverse).

    Raises
    ------
    ValueError
        If the matrix is not square of size 1 to 4, or is singular in ITK's sense
        (its ``vnl_determinant`` is exactly 0).

    Examples
    --------
    >>> import numpy as np
    >>> c, s = np.cos(0.3), np.sin(0.3)
    >>> P = itk_matrix_inverse(np.array([[c, -s], [s, c]]) * [0.7, 1.3])
    >>> P.shape
    (2, 2)
    """
    a = np.asarray(matrix, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or not 1 <= a.shape[0] <= 4:
        raise ValueError(f"expected a square matrix of size 1 to 4, got shape {a.shape}")
    n = a.shape[0]
    rows = a.tolist()
    if vnl_determinant(rows) == 0.0:
        raise ValueError("matrix is singular: its vnl_determinant is exactly 0, so ITK refuses it")

    s, u, v = _dsvdc(rows, n)

    # vnl_svd: W = |s|, zero_out_absolute(0): weights <= 0 get Winverse 0.
    winv = []
    for j in range(1, n + 1):
        w = abs(s[j])
        winv.append(0.0 if w <= 0.0 else 1.0 / w)

    # pinverse = (V · Winverse) · Uᵀ, both full vnl_matrix products: every entry is a sum
    # from 0 over k = 0..n-1, zero terms included (they can turn -0.0 into +0.0).
    vw = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            acc = 0.0
            for k in range(n):
                acc += v[k + 1][i + 1] * (winv[j] if k == j else 0.0)
            vw[i][j] = acc
    out = np.empty((n, n), dtype=np.float64)
    for i in range(n):
        row = vw[i]
        for j in range(n):
            acc = 0.0
            for k in range(n):
                acc += row[k] * u[k + 1][j + 1]
            out[i, j] = acc
    return out
