"""The per-point loop of :func:`gpuresample.geometry.affine_map` for many points (numba).

The same operations in the same order as the numpy path in geometry.py, one point at a
time: ``origin_r + m[r,0]·(p_0 - s_0) + m[r,1]·(p_1 - s_1) + m[r,2]·(p_2 - s_2)``, left to
right, no fused multiply-adds (numba does not contract a product and a sum unless
``fastmath``), so both paths give the same bits. The loop is written for three columns
(unrolled, about 4x faster than a loop over D); 2-D maps are padded to 3-D by
``affine_map`` with a column that adds exactly nothing (see there). Imported on the first
call with many points (a plan's row ends: two points per output row), so ``import
gpuresample`` does not import numba.

Example
-------
>>> import numpy as np
>>> affine_loop3(np.eye(3), np.array([[1.0, 2.0, 3.0]]), np.zeros(3), np.ones(3), True)
array([[2., 3., 4.]])
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["affine_loop3"]


@njit(cache=True, nogil=True)
def affine_loop3(matrix, points, shift, origin, add_origin):   # pragma: no cover (numba)
    n = points.shape[0]
    out = np.empty((n, 3), dtype=np.float64)
    for i in range(n):
        v0 = points[i, 0] - shift[0]
        v1 = points[i, 1] - shift[1]
        v2 = points[i, 2] - shift[2]
        for r in range(3):
            acc = matrix[r, 0] * v0
            if add_origin:
                acc = origin[r] + acc
            acc = acc + matrix[r, 1] * v1
            acc = acc + matrix[r, 2] * v2
            out[i, r] = acc
    return out
