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

from .geometry import (Grid, index_to_physical_matrix, index_to_point, physical_to_index_matrix,
                       point_to_continuous_index)

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

    ``transform`` maps output points to input points, as in :func:`resample`. For a linear
    transform the image's corners (its voxels' outer faces, continuous index -0.5 and
    N - 0.5) are mapped through ``transform.inverse()``, which is exact. A transform with a
    B-spline or displacement-field member has no usable inverse, and extreme points are not
    mapped to extreme points (the notebook's caveat), so the grid is found by sampling:
    a box sure to hold the preimage of the image (each linear member inverted, each
    deformable member's largest displacement added) is sampled at the output spacing, every
    sample is mapped through ``transform``, and the result is the smallest sub-grid holding
    all samples that land inside the image. Detail thinner than one output voxel can be
    missed there. Spacing and direction default to the image's.

    >>> import gpuresample as gr
    >>> img = gr.Image((10, 20), gr.PixelType.UINT8)
    >>> grid = gr.bounding_grid(img, gr.Euler2DTransform(angle=np.pi / 2))
    >>> grid.size
    (20, 10)
    """
    src = grid_of(image)
    d = src.dimension
    spacing = src.spacing if spacing is None else spacing
    direction = src.direction if direction is None else direction
    out = Grid((1,) * d, spacing=spacing, direction=direction)
    to_local = physical_to_index_matrix(out.spacing, out.direction)
    corners = _corners(src)
    if getattr(transform, "is_linear", False):
        local = transform.inverse().transform_points(corners) @ to_local.T
        low, high = local.min(axis=0), local.max(axis=0)
        # a voxel spans [i - 0.5, i + 0.5): the first centre is half a voxel inside the face
        size = [max(1, int(math.ceil(h - lo - 1e-9))) for lo, h in zip(low, high)]
        first = low + 0.5
    else:
        anchor = _preimage_box(np.asarray(src.origin)[None, :], transform, linear_only=True)
        first, size = _sampled_extent(src, transform, _preimage_box(corners, transform),
                                      anchor[0] @ to_local.T, out, to_local)
    origin = index_to_physical_matrix(out.spacing, out.direction) @ first
    return Grid(size, origin, out.spacing, out.direction)


def _corners(grid: Grid) -> np.ndarray:
    """The 2^D outer corners of a grid's voxels (continuous index -0.5 and N - 0.5)."""
    d = grid.dimension
    corners = np.array(np.meshgrid(*[(-0.5, n - 0.5) for n in grid.size], indexing="ij"))
    return index_to_point(corners.reshape(d, -1).T, grid.origin,
                          index_to_physical_matrix(grid.spacing, grid.direction))


def _box_corners(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.array(np.meshgrid(*zip(low, high), indexing="ij")).reshape(len(low), -1).T


def _preimage_box(corners: np.ndarray, transform, linear_only: bool = False) -> np.ndarray:
    """Corners of an axis-aligned box that holds every output point ``transform`` maps
    into the convex hull of ``corners``: walking the chain back from its last-applied
    member, linear members are inverted and deformable ones widen the box by their largest
    displacement along each axis (their displacement is a convex combination of
    coefficients or field values). ``linear_only``: skip the deformable members instead
    (where the points would go without the deformation)."""
    from .transforms import CompositeTransform

    members = transform.transforms if isinstance(transform, CompositeTransform) else [transform]
    points = corners
    for member in members:             # the first member is the last applied
        if member.is_linear:
            points = member.inverse().transform_points(points)
        elif not linear_only:
            values = (member.coefficients.reshape(member.dimension, -1).T
                      if hasattr(member, "coefficients") else
                      member.field.reshape(-1, member.dimension))
            reach = np.abs(values).max(axis=0) if values.size else np.zeros(member.dimension)
            points = _box_corners(points.min(axis=0) - reach, points.max(axis=0) + reach)
    return points


def _sampled_extent(src: Grid, transform, box: np.ndarray, anchor: np.ndarray, out: Grid,
                    to_local: np.ndarray, chunk: int = 1 << 20):
    """(first voxel centre in output-grid units, size) of the smallest sub-grid of the
    output lattice through ``anchor`` (output-grid units) over ``box`` whose samples hold
    every one that lands inside ``src``."""
    local = box @ to_local.T
    low = anchor + np.floor(local.min(axis=0) - anchor)
    counts = (np.ceil(local.max(axis=0) - low)).astype(np.int64) + 1
    total = int(np.prod(counts))
    if total > 512 * 2 ** 20:
        raise ValueError(f"the region to search for the transformed image spans {total} "
                         "output voxels; give a coarser spacing=")
    A = index_to_physical_matrix(out.spacing, out.direction)
    P_src = physical_to_index_matrix(src.spacing, src.direction)
    upper = np.asarray(src.size, dtype=np.float64) - 0.5
    found_low = np.full(src.dimension, np.inf)
    found_high = np.full(src.dimension, -np.inf)
    for start in range(0, total, chunk):
        flat = np.arange(start, min(start + chunk, total))
        lattice = np.stack(np.unravel_index(flat, counts[::-1])[::-1], axis=1) + low
        mapped = transform.transform_points(lattice @ A.T)
        cidx = point_to_continuous_index(mapped, src.origin, P_src)   # resample's arithmetic
        inside = np.all((cidx >= -0.5) & (cidx < upper), axis=1)
        if inside.any():
            found_low = np.minimum(found_low, lattice[inside].min(axis=0))
            found_high = np.maximum(found_high, lattice[inside].max(axis=0))
    if not np.all(np.isfinite(found_low)):
        raise ValueError("no point of the searched region maps into the image: the "
                         "transform sends everything outside it")
    size = [int(round(n)) for n in (found_high - found_low + 1)]
    return found_low, size
