"""A synthetic test volume: a 3-D (or 2-D) Shepp-Logan-like phantom of ellipsoids.

Example
-------
>>> from gpuresample.phantom import phantom
>>> img = phantom((32, 32, 16), spacing=(1.0, 1.0, 2.0))
>>> img.size, img.pixel_type.name
((32, 32, 16), 'FLOAT32')
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .image import image_from_array

__all__ = ["phantom"]

# (value, centre, semi-axes), in units of the half-extent of the volume
_ELLIPSOIDS = [
    (1.0, (0.0, 0.0, 0.0), (0.69, 0.92, 0.81)),
    (-0.8, (0.0, -0.0184, 0.0), (0.6624, 0.874, 0.78)),
    (-0.2, (0.22, 0.0, 0.0), (0.11, 0.31, 0.22)),
    (-0.2, (-0.22, 0.0, 0.0), (0.16, 0.41, 0.28)),
    (0.1, (0.0, 0.35, -0.15), (0.21, 0.25, 0.41)),
    (0.1, (0.0, 0.1, 0.25), (0.046, 0.046, 0.05)),
    (0.1, (-0.08, -0.605, 0.0), (0.046, 0.023, 0.05)),
    (0.1, (0.06, -0.605, 0.0), (0.023, 0.046, 0.02)),
]


def phantom(size: Sequence[int] = (128, 128, 128), spacing: Sequence[float] | None = None,
            dtype=np.float32):
    """An Image of nested ellipsoids (values 0 to 1) with the given size (x, y[, z]).

    Spacing defaults to 1 on every axis; origin 0, identity direction.
    """
    size = tuple(int(n) for n in size)
    axes = [np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1) for n in size]
    grids = np.meshgrid(*axes[::-1], indexing="ij")[::-1]   # x, y[, z] in [z, y, x] order
    volume = np.zeros(size[::-1], dtype=np.float64)
    for value, centre, semi in _ELLIPSOIDS:
        r = sum(((g - c) / s) ** 2 for g, c, s in zip(grids, centre, semi))
        volume[r <= 1.0] += value
    img = image_from_array(volume.astype(dtype), copy=False)
    if spacing is not None:
        img.spacing = spacing
    return img
