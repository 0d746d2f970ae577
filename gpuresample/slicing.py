"""Indexing keys of images: SimpleITK's ``image[...]`` rules and the geometry of a slice.

Keys are in (x, y[, z[, t]]) order. A key of integers only is a pixel index; otherwise it
selects a sub-image as SimpleITK's ``Image.__getitem__`` does (``SliceImageFilter``, then
``ExtractImageFilter`` for integer entries):

* fewer entries than axes are padded with ``:``; one ``...`` stands for as many ``:`` as needed;
* a slice keeps the samples of ``range(*slice.indices(n))``: spacing ``s·|step|``, the
  direction column of a negatively stepped axis negated, origin the physical point of the
  first kept voxel (index ``start``), so every kept voxel stays where it was;
* an integer among slices drops that axis: the origin loses that coordinate (no
  projection), the direction becomes the sub-matrix of kept rows and columns (not
  re-normalised; the identity if its determinant is exactly 0, ITK's "guess" strategy).

Everything here is a pure function of (size, origin, spacing, direction, key).

Example
-------
>>> import numpy as np
>>> parse_key((slice(None, None, -2), 1), (5, 4, 3))
(range(4, -1, -2), 1, range(0, 3))
>>> sub = slice_geometry((10.0, 20.0, 30.0), (0.5, 2.0, 3.0), np.eye(3), parse_key(
...     (slice(1, 5, 2), slice(None, None, -1), 2), (6, 5, 4)))
>>> sub.size, sub.origin, sub.spacing, sub.array_index
((2, 5), (10.5, 28.0), (1.0, 2.0), (2, slice(4, None, -1), slice(1, 4, 2)))
>>> sub.direction.tolist()
[[1.0, 0.0], [0.0, -1.0]]
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .geometry import index_to_physical_matrix, index_to_point

__all__ = ["parse_key", "is_pixel_index", "array_index_of_pixel", "SliceGeometry",
           "slice_geometry"]

_AXES = "xyzt"


def parse_key(key: Any, size: Sequence[int]) -> tuple[int | range, ...]:
    """Each axis of ``key`` as an int (a wrapped, checked index) or the range of kept indices.

    Parameters
    ----------
    key : int, slice, Ellipsis or tuple of them
        ``img[key]``'s key, (x, y[, z[, t]]) order. Integers may be any ``__index__`` type
        (numpy integers too; SimpleITK takes only ``int``); bools are refused.
    size : sequence of int
        The image's size.

    Raises
    ------
    IndexError
        too many entries, more than one ``...``, an integer outside the axis, a sub-image
        of 1 axis, or an empty range together with an integer (SimpleITK fails on these).
    TypeError
        entries that are not integers, slices or ``...`` (lists among them: use a tuple).
    ValueError
        a slice step of 0.

    >>> parse_key((-1, 2), (4, 3))
    (3, 2)
    >>> parse_key(0, (4, 3, 2))
    (0, range(0, 3), range(0, 2))
    """
    d = len(size)
    entries = key if isinstance(key, tuple) else (key,)
    n_ellipsis = sum(k is Ellipsis for k in entries)
    if n_ellipsis > 1:
        raise IndexError("an index can have only one ellipsis ('...')")
    if len(entries) - n_ellipsis > d:
        raise IndexError(f"too many indices for a {d}-D image: {len(entries) - n_ellipsis}")
    if not n_ellipsis:
        entries = entries + (Ellipsis,)
    at = next(i for i, k in enumerate(entries) if k is Ellipsis)
    entries = entries[:at] + (slice(None),) * (d - len(entries) + 1) + entries[at + 1:]

    axes: list[int | range] = []
    for axis, (k, n) in enumerate(zip(entries, size)):
        if isinstance(k, slice):
            axes.append(range(*k.indices(n)))
            continue
        if isinstance(k, (bool, np.bool_)):
            raise TypeError(f"pixel indices must be integers, got {k!r}")
        try:
            i = operator.index(k)
        except TypeError:
            hint = " (index with a tuple, img[x, y])" if isinstance(k, list) else ""
            raise TypeError(f"pixel indices must be integers, slices or '...', got "
                            f"{type(k).__name__} {k!r}{hint}") from None
        wrapped = i + n if i < 0 else i
        if not 0 <= wrapped < n:
            raise IndexError(f"index {i} is outside the extent for axis {axis} "
                             f"({_AXES[axis]}) with size {n}")
        axes.append(wrapped)

    kept = [a for a in axes if isinstance(a, range)]
    if kept and len(kept) < 2:
        raise IndexError(f"a {d}-D image cannot be sliced to 1 axis (images have 2 to 4): "
                         "keep at least two axes as slices (SimpleITK: invalid slice "
                         "extraction to 1 dimension)")
    if kept and len(kept) < d and any(len(r) == 0 for r in kept):
        raise IndexError("an empty range together with an integer index is not supported "
                         "(SimpleITK's Extract fails on it): slice without the integer, or "
                         "use a non-empty range")
    return tuple(axes)


def is_pixel_index(axes: Sequence[int | range]) -> bool:
    """True when every axis is an integer, i.e. the key names one pixel.

    >>> is_pixel_index((3, 2)), is_pixel_index((3, range(0, 4), 1))
    (True, False)
    """
    return all(isinstance(a, int) for a in axes)


def array_index_of_pixel(axes: Sequence[int]) -> tuple[int, ...]:
    """The numpy-order index [(t,) (z,) y, x] of a pixel index (x, y[, z[, t]]).

    >>> array_index_of_pixel((3, 2, 1))
    (1, 2, 3)
    """
    return tuple(axes[::-1])


@dataclass(frozen=True)
class SliceGeometry:
    """What ``img[key]`` selects: the pixel array index and the sub-image's geometry.

    ``array_index`` is a numpy basic index in array order [(t,) (z,) y, x]; integers in it
    drop axes. ``direction`` is a (D', D') float64 matrix.
    """

    array_index: tuple
    size: tuple[int, ...]
    origin: tuple[float, ...]
    spacing: tuple[float, ...]
    direction: np.ndarray


def slice_geometry(origin: Sequence[float], spacing: Sequence[float], direction: Any,
                   axes: Sequence[int | range]) -> SliceGeometry:
    """The sub-image that ``axes`` (from :func:`parse_key`, not all integers) selects.

    Origin, spacing and direction are bit-identical to SimpleITK's ``img[...]``: the origin
    is ITK's index -> point sum for the first kept index (even for empty ranges, whose
    start may lie outside the image), the spacing ``s·|step|``.

    >>> sub = slice_geometry((0.0, 0.0), (1.0, 2.0), np.eye(2),
    ...                      (range(3, -1, -1), range(0, 5, 2)))
    >>> sub.origin, sub.spacing, sub.direction.tolist()
    ((3.0, 0.0), (1.0, 4.0), [[-1.0, 0.0], [0.0, 1.0]])
    """
    D = np.asarray(direction, dtype=np.float64)
    d = len(axes)
    start = [a.start if isinstance(a, range) else a for a in axes]
    step = [a.step if isinstance(a, range) else 1 for a in axes]
    point = index_to_point(np.array([start], dtype=np.float64), origin,
                           index_to_physical_matrix(spacing, D))[0]
    # ITK's SliceImageFilter multiplies D by diag(+-1), summing from +0: no negative zeros
    flipped = D * np.sign(np.array(step, dtype=np.float64))[None, :] + 0.0

    kept = [i for i, a in enumerate(axes) if isinstance(a, range)]
    sub = flipped[np.ix_(kept, kept)]
    if len(kept) < d and _vnl_determinant(sub) == 0.0:
        sub = np.eye(len(kept))
    return SliceGeometry(
        array_index=tuple(_array_slice(a) if isinstance(a, range) else a
                          for a in axes[::-1]),
        size=tuple(len(axes[i]) for i in kept),
        origin=tuple(float(point[i]) for i in kept),
        spacing=tuple(float(spacing[i]) * abs(step[i]) for i in kept),
        direction=sub)


def _array_slice(r: range) -> slice:
    """A numpy slice that selects exactly the indices of ``r`` (``slice.indices`` can give
    a stop of -1, which numpy would read as "the last element")."""
    if len(r) == 0:
        return slice(0, 0)
    stop = r[-1] + (1 if r.step > 0 else -1)
    return slice(r[0], None if stop < 0 else stop, r.step)


def _vnl_determinant(m: np.ndarray) -> float:
    """vnl_determinant's closed forms for 2x2 and 3x3 (the sub-matrices slicing can make),
    evaluated in the same order, so an exact 0 is found exactly where ITK finds it."""
    if m.shape == (2, 2):
        return float(m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0])
    r0, r1, r2 = m
    return float(r0[0] * r1[1] * r2[2] - r0[0] * r2[1] * r1[2] - r1[0] * r0[1] * r2[2]
                 + r1[0] * r2[1] * r0[2] + r2[0] * r0[1] * r1[2] - r2[0] * r1[1] * r0[2])
