"""Separable Gaussian smoothing of small fields (RandomElastic's field mode), numpy only.

Each axis is one matrix product with a normalised, truncated (4 sigma) Gaussian band
matrix: rows renormalised at the ends, so a constant field stays constant.

Example
-------
>>> import numpy as np
>>> out = gaussian_smooth(np.ones((6, 5)), 1.5, axes=(0, 1))
>>> bool(np.allclose(out, 1.0))
True
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["gaussian_smooth", "gaussian_matrix"]


def gaussian_matrix(n: int, sigma: float) -> np.ndarray:
    """(n, n) matrix whose row i holds the normalised Gaussian weights around sample i."""
    if sigma <= 0:
        return np.eye(n)
    i = np.arange(n, dtype=np.float64)
    dist = i[:, None] - i[None, :]
    weights = np.exp(-0.5 * (dist / sigma) ** 2)
    weights[np.abs(dist) > 4.0 * sigma] = 0.0
    return weights / weights.sum(axis=1, keepdims=True)


def gaussian_smooth(array: np.ndarray, sigma: float, axes: Sequence[int]) -> np.ndarray:
    """``array`` smoothed along ``axes`` with a Gaussian of ``sigma`` samples (a new array
    of its float dtype; float64 for other dtypes)."""
    out = np.asarray(array)
    out = out if out.dtype.kind == "f" else out.astype(np.float64)
    shape = out.shape
    for axis in axes:
        g = gaussian_matrix(shape[axis], sigma).astype(out.dtype)
        before = int(np.prod(shape[:axis], dtype=np.int64))
        # (before, n, after) @ along n: one batched matrix product, contiguous in and out
        out = np.matmul(g, np.ascontiguousarray(out).reshape(before, shape[axis], -1))
    return out.reshape(shape)
