"""Pure functions on image grids: index <-> physical point, in ITK's exact arithmetic.

A grid is origin ``o`` (D), spacing ``s`` (D) and direction ``D`` (D x D, columns = index
axes). ITK precomputes ``A = D·diag(s)`` and its inverse ``P`` and evaluates

* index -> point: ``p_r = o_r + A[r,0]·i_0 + A[r,1]·i_1 (+ A[r,2]·i_2)``, left to right;
* point -> continuous index: ``c_r = P[r,0]·v_0 + P[r,1]·v_1 (+ ...)`` with ``v = p - o``.

These functions do exactly that with numpy element-wise operations (never ``@``, which may
use fused multiply-adds or another summation order), or for many points a numba loop of
the same operations, so results are bit-identical to SimpleITK's. Points are arrays of
shape (N, D) in (x, y[, z]) order.

Example
-------
>>> import numpy as np
>>> A = index_to_physical_matrix((0.5, 2.0), np.eye(2))
>>> index_to_point(np.array([[1.0, 2.0]]), (10.0, 20.0), A)
array([[10.5, 24. ]])
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from .itk_inverse import itk_matrix_inverse

__all__ = [
    "index_to_physical_matrix", "physical_to_index_matrix", "index_to_point",
    "point_to_continuous_index", "matvec_rows", "affine_map", "round_half_up",
    "validate_geometry", "Grid",
]


def index_to_physical_matrix(spacing: Sequence[float], direction: np.ndarray) -> np.ndarray:
    """``A = D·diag(spacing)`` (column d of D scaled by spacing d), as ITK computes it."""
    return np.asarray(direction, dtype=np.float64) * np.asarray(spacing, dtype=np.float64)[None, :]


def physical_to_index_matrix(spacing: Sequence[float], direction: np.ndarray) -> np.ndarray:
    """``P = inv(D·diag(spacing))``, bit-identical to ITK's (an SVD inverse, not numpy's LU).

    Read-only; cached, since every resample and point conversion asks for it.
    """
    d = np.asarray(direction, dtype=np.float64)
    return _cached_inverse(tuple(float(s) for s in spacing), d.shape[0], d.tobytes())


@functools.lru_cache(maxsize=256)
def _cached_inverse(spacing: tuple[float, ...], n: int, direction: bytes) -> np.ndarray:
    d = np.frombuffer(direction, dtype=np.float64).reshape(n, n)
    inverse = itk_matrix_inverse(index_to_physical_matrix(spacing, d))
    inverse.setflags(write=False)
    return inverse


# From this many points on, affine_map runs numba's loop (one pass over the points)
# rather than numpy's column operations (a dozen passes, ~1.5 ms for a 128^3 plan's rows)
_LOOP_FROM = 2048


def affine_map(matrix: np.ndarray, points: np.ndarray, shift: Sequence[float] | None = None,
               origin: Sequence[float] | None = None) -> np.ndarray:
    """``origin + matrix·(p - shift)`` for each row p of ``points`` (N, D), as ITK sums:
    ``origin_r + m[r,0]·v_0 + m[r,1]·v_1 ...`` left to right, ``v = p - shift``.

    No shift means none subtracted, no origin means none added (adding zeros would turn
    -0.0 into 0.0). Many points go through numba's loop (:mod:`gpuresample._affine_loops`),
    which performs the same operations in the same order, so the bits do not depend on N.

    Example
    -------
    >>> affine_map(np.eye(2), np.array([[1.0, 2.0]]), shift=(1.0, 1.0), origin=(10.0, 20.0))
    array([[10., 21.]])
    """
    m = np.asarray(matrix, dtype=np.float64)
    pts = np.asarray(points, dtype=np.float64)
    rows, cols = m.shape
    if pts.shape[0] >= _LOOP_FROM and rows <= 3 and cols <= 3:
        from ._affine_loops import affine_loop3

        # padded to 3 x 3: a padded column adds m·v = -0.0·0.0 = -0.0 to each sum, which
        # leaves every value as it is (x + -0.0 == x, for -0.0 and NaN too); padded rows
        # are dropped
        m3 = np.full((3, 3), -0.0)
        m3[:rows, :cols] = m
        p3 = np.zeros((pts.shape[0], 3))
        p3[:, :cols] = pts
        s3, o3 = np.zeros(3), np.zeros(3)
        if shift is not None:
            s3[:cols] = shift
        if origin is not None:
            o3[:rows] = origin
        out = affine_loop3(m3, p3, s3, o3, origin is not None)
        return out if rows == 3 else np.ascontiguousarray(out[:, :rows])
    v = pts if shift is None else pts - np.asarray(shift, dtype=np.float64)[None, :]
    out = np.empty((v.shape[0], m.shape[0]), dtype=np.float64)
    for r in range(m.shape[0]):
        acc = m[r, 0] * v[:, 0]
        if origin is not None:
            acc = float(origin[r]) + acc
        for c in range(1, m.shape[1]):
            acc = acc + m[r, c] * v[:, c]
        out[:, r] = acc
    return out


def matvec_rows(matrix: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``matrix · v`` for each row v of ``vectors`` (N, D), summing left to right as ITK does."""
    return affine_map(matrix, vectors)


def index_to_point(index: np.ndarray, origin: Sequence[float], A: np.ndarray) -> np.ndarray:
    """Physical points of (continuous) indices (N, D): ``o + A·i`` accumulated from the origin."""
    return affine_map(A, index, origin=origin)


def point_to_continuous_index(points: np.ndarray, origin: Sequence[float],
                              P: np.ndarray) -> np.ndarray:
    """Continuous indices of physical points (N, D): ``P·(p - o)`` (multiply, never divide)."""
    return affine_map(P, points, shift=origin)


def round_half_up(values: np.ndarray) -> np.ndarray:
    """ITK's ``RoundHalfIntegerUp``: ``floor(x + 0.5)`` in float64, as int64."""
    return np.floor(np.asarray(values, dtype=np.float64) + 0.5).astype(np.int64)


def validate_geometry(dimension: int, origin: Sequence[float] | None = None,
                      spacing: Sequence[float] | None = None,
                      direction: Sequence[float] | np.ndarray | None = None):
    """Check and normalise geometry fields for a ``dimension``-D grid.

    Returns ``(origin, spacing, direction)`` as (tuple of float, tuple of float, read-only
    (D, D) float64 array); a field given as None is returned as None. Raises ``ValueError``
    naming the problem: wrong length, non-finite values, spacing <= 0, a singular direction.
    ``direction`` may be flat (row-major, SimpleITK's order) or a (D, D) matrix.
    """
    def vec(name: str, value) -> tuple[float, ...]:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
        if arr.size != dimension:
            raise ValueError(f"{name} must have {dimension} values for a {dimension}-D image, "
                             f"got {arr.size}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite, got {tuple(arr.tolist())}")
        return tuple(float(x) for x in arr)

    o = None if origin is None else vec("origin", origin)
    s = None if spacing is None else vec("spacing", spacing)
    if s is not None and min(s) <= 0:
        raise ValueError(f"spacing must be positive, got {s}")
    d = None
    if direction is not None:
        arr = np.array(direction, dtype=np.float64)
        if arr.size != dimension * dimension:
            raise ValueError(f"direction must have {dimension}x{dimension} values for a "
                             f"{dimension}-D image, got {arr.size}")
        arr = arr.reshape(dimension, dimension)
        if not np.all(np.isfinite(arr)):
            raise ValueError("direction must be finite")
        # SimpleITK accepts any non-singular matrix (not only orthonormal ones).
        if abs(np.linalg.det(arr)) < 1e-12 * max(1.0, float(np.abs(arr).max())) ** dimension:
            raise ValueError(f"direction matrix is singular: {arr.tolist()}")
        arr.setflags(write=False)
        d = arr
    return o, s, d


class Grid:
    """A sampling grid: size (x, y[, z]), origin, spacing and direction, validated.

    The output grid of :func:`gpuresample.resample` and the geometry of an image are Grids.

    >>> Grid((4, 3), origin=(1.0, 2.0)).spacing
    (1.0, 1.0)
    """

    __slots__ = ("size", "origin", "spacing", "direction")

    def __init__(self, size: Sequence[int], origin: Sequence[float] | None = None,
                 spacing: Sequence[float] | None = None, direction=None):
        size = tuple(int(n) for n in size)
        if len(size) not in (2, 3):
            raise ValueError(f"a grid has 2 or 3 axes, got size {size}")
        if min(size) < 1:
            raise ValueError(f"grid size must be at least 1 along every axis, got {size}")
        d = len(size)
        o, s, m = validate_geometry(d, origin if origin is not None else (0.0,) * d,
                                    spacing if spacing is not None else (1.0,) * d,
                                    direction if direction is not None else np.eye(d))
        self.size, self.origin, self.spacing, self.direction = size, o, s, m

    @property
    def dimension(self) -> int:
        return len(self.size)

    def __repr__(self) -> str:
        return (f"Grid(size={self.size}, origin={self.origin}, spacing={self.spacing}, "
                f"direction={self.direction.reshape(-1).tolist()})")
