"""Output grids: from a resample request's fields, and the grid that holds a transformed image.

Example
-------
>>> from gpuresample.geometry import Grid
>>> output_grid(Grid((10, 10), spacing=(1.0, 1.0)), spacing=(2.0, 2.0)).size
(5, 5)
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .geometry import Grid, index_to_physical_matrix, index_to_point, physical_to_index_matrix

__all__ = ["output_grid", "grid_of", "bounding_grid"]


def grid_of(obj) -> Grid:
    """The Grid of an Image or a Grid."""
    if isinstance(obj, Grid):
        return obj
    try:
        return Grid(obj.size, obj.origin, obj.spacing, obj.direction)
    except AttributeError:
        raise TypeError(f"expected an Image or a Grid, got {type(obj).__name__}") from None


def output_grid(base: Grid, *, size: Sequence[int] | None = None,
                origin: Sequence[float] | None = None, spacing: Sequence[float] | None = None,
                direction=None) -> Grid:
    """``base`` with the given fields replaced.

    A field not given is ``base``'s. ``spacing`` without ``size`` keeps ``base``'s physical
    extent: each size becomes ``max(1, round(N·s_base / s_new))`` (the origin, the centre
    of the first voxel, stays). This is deliberately not SimpleITK's ``Resample(img, size)``
    signature, whose origin and spacing default to 0 and 1 whatever the input's are.
    """
    d = base.dimension
    if size is None and spacing is not None:
        new_spacing = np.asarray(spacing, dtype=np.float64).reshape(-1)
        if new_spacing.size != d:
            raise ValueError(f"spacing must have {d} values for a {d}-D grid, "
                             f"got {new_spacing.size}")
        if np.any(new_spacing <= 0) or not np.all(np.isfinite(new_spacing)):
            raise ValueError(f"spacing must be positive, got {tuple(new_spacing.tolist())}")
        size = [max(1, int(round(n * s / t)))
                for n, s, t in zip(base.size, base.spacing, new_spacing)]
    if size is not None:
        size = [int(n) for n in np.asarray(size).reshape(-1)]
        if len(size) != d:
            raise ValueError(f"size must have {d} values for a {d}-D grid, got {len(size)}")
    return Grid(size if size is not None else base.size,
                origin if origin is not None else base.origin,
                spacing if spacing is not None else base.spacing,
                direction if direction is not None else base.direction)


def bounding_grid(image, transform, spacing: Sequence[float] | None = None,
                  direction=None) -> Grid:
    """The smallest grid (of the given spacing and direction) that holds all of ``image``
    after ``transform``.

    ``transform`` maps output points to input points, as in :func:`resample`, so the
    image's corners (its voxels' outer faces, continuous index -0.5 and N - 0.5) are mapped
    through ``transform.inverse()``; that is exact for linear transforms. Spacing and
    direction default to the image's.

    >>> import gpuresample as gr
    >>> img = gr.Image((10, 20), gr.PixelType.UINT8)
    >>> grid = gr.bounding_grid(img, gr.Euler2DTransform(angle=np.pi / 2))
    >>> grid.size
    (20, 10)
    """
    src = grid_of(image)
    d = src.dimension
    if not getattr(transform, "is_linear", False):
        raise NotImplementedError("bounding_grid supports linear transforms only for now")
    spacing = src.spacing if spacing is None else spacing
    direction = src.direction if direction is None else direction
    out = Grid((1,) * d, spacing=spacing, direction=direction)
    corners = np.array(np.meshgrid(*[(-0.5, n - 0.5) for n in src.size], indexing="ij"))
    corners = corners.reshape(d, -1).T
    points = index_to_point(corners, src.origin, index_to_physical_matrix(src.spacing,
                                                                          src.direction))
    mapped = transform.inverse().transform_points(points)
    # express the mapped corners in the output grid's axes (units of its spacing)
    to_index = physical_to_index_matrix(out.spacing, out.direction)
    local = mapped @ to_index.T
    low, high = local.min(axis=0), local.max(axis=0)
    # a voxel spans [i - 0.5, i + 0.5): the first centre is half a voxel inside the low face
    size = [max(1, int(math.ceil(h - l - 1e-9))) for l, h in zip(low, high)]
    first = low + 0.5
    origin = index_to_physical_matrix(out.spacing, out.direction) @ first
    return Grid(size, origin, out.spacing, out.direction)
