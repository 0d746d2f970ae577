"""MONAI and TorchIO adapters: their tensors are ``(C, i, j[, k])`` with RAS affines.

gpuresample views such a tensor as ``(C, [k,] j, i)`` (numpy order [z, y, x], a transposed
view, no copy) and its affine in LPS (ITK's: x and y negated), augments, and gives the
result back in the caller's layout and type (a transposed view of the result, no copy),
the affine unchanged (the output grid is the input's). The kernels read C-contiguous
input, so the transposed view is copied once into a contiguous buffer on the way in. MONAI and TorchIO are imported only by the functions that need them.

Example
-------
>>> import numpy as np
>>> origin, spacing, direction = geometry_from_ras(np.diag([2.0, 3.0, 4.0, 1.0]))
>>> spacing, np.diag(direction).tolist()
((2.0, 3.0, 4.0), [-1.0, -1.0, 1.0])
>>> np.allclose(ras_from_geometry(origin, spacing, direction), np.diag([2.0, 3.0, 4.0, 1.0]))
True
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .arrays import from_engine, to_engine

__all__ = ["geometry_from_ras", "ras_from_geometry", "MonaiDictAdapter", "augment_subject"]


def geometry_from_ras(affine, dimension: int | None = None):
    """(origin, spacing, direction) in LPS of a RAS voxel-to-world ``affine``, for the
    first ``dimension`` axes (default: all of a 4 x 4 affine's three)."""
    a = np.asarray(affine, dtype=np.float64)
    d = a.shape[0] - 1 if dimension is None else int(dimension)
    lps = a.copy()
    lps[:2] *= -1.0                   # RAS -> LPS: x and y change sign
    m = lps[:d, :d]
    spacing = np.linalg.norm(m, axis=0)
    if np.any(spacing == 0):
        raise ValueError(f"the affine has a zero column: {a.tolist()}")
    return tuple(lps[:d, -1].tolist()), tuple(spacing.tolist()), m / spacing


def ras_from_geometry(origin: Sequence[float], spacing: Sequence[float], direction) -> np.ndarray:
    """The 4 x 4 RAS voxel-to-world affine of an LPS geometry (2-D: a 3 x 3 one)."""
    d = len(origin)
    out = np.eye(d + 1)
    out[:d, :d] = np.asarray(direction, dtype=np.float64) * np.asarray(spacing)
    out[:d, -1] = origin
    out[:2] *= -1.0                   # LPS -> RAS
    return out


def _zyx(tensor) -> tuple[Any, str]:
    array, kind = to_engine(tensor)
    r = array.ndim - 1
    return array.transpose(0, *range(r, 0, -1)), kind


def _back(array, kind: str):
    r = array.ndim - 1
    return from_engine(array.transpose(0, *range(r, 0, -1)), kind)


class MonaiDictAdapter:
    """A MONAI dictionary transform around a gpuresample augmentation.

    Parameters
    ----------
    augmentation : a gpuresample.augment random transform or Compose.
    keys : the dictionary's keys to augment (MetaTensors on one grid).
    label_keys : which of them are label maps (``label_linear`` / nearest, type kept).
    **options : passed to the augmentation call (device, precision, ...).

    The result holds MetaTensors with the input's affine and metadata; other keys pass
    through. The draws are in ``augmentation.history``.

    Example (with MONAI installed)::

        t = MonaiDictAdapter(ga.RandomAffine(degrees=10), keys=("image", "label"),
                             label_keys=("label",))
        out = t({"image": meta_image, "label": meta_label})
    """

    def __init__(self, augmentation, keys: Sequence[str], label_keys: Sequence[str] = (),
                 **options) -> None:
        self.augmentation = augmentation
        self.keys = tuple(keys)
        self.label_keys = tuple(label_keys)
        self.options = options

    def __call__(self, data: dict) -> dict:
        from monai.data import MetaTensor

        missing = [k for k in self.keys if k not in data]
        if missing:
            raise KeyError(f"MonaiDictAdapter: the data has no key(s) {missing}")
        first = data[self.keys[0]]
        if not isinstance(first, MetaTensor):
            raise TypeError(f"{self.keys[0]!r} is a {type(first).__name__}, not a MONAI "
                            "MetaTensor (it carries the affine)")
        r = first.ndim - 1
        origin, spacing, direction = geometry_from_ras(first.affine.cpu().numpy(), r)
        views, kinds = {}, {}
        for k in self.keys:
            views[k], kinds[k] = _zyx(data[k])
        out = self.augmentation(dict(views, spacing=spacing, origin=origin,
                                     direction=direction),
                                label_keys=self.label_keys, **self.options)
        result = dict(data)
        for k in self.keys:
            tensor = _back(out[k], kinds[k])
            result[k] = MetaTensor(tensor, meta=dict(data[k].meta))   # its affine included
        return result


def augment_subject(augmentation, subject, **options):
    """A TorchIO ``Subject`` augmented: its images (``ScalarImage``) linearly, its label
    maps (``LabelMap``) as labels, on their common grid; a new Subject, the same affines.

    Example (with TorchIO installed)::

        out = augment_subject(ga.RandomElastic(), tio.Subject(t1=tio.ScalarImage(...),
                                                              seg=tio.LabelMap(...)))
    """
    import torchio as tio

    images = subject.get_images_dict(intensity_only=False)
    if not images:
        raise ValueError("the Subject holds no image")
    names = list(images)
    first = images[names[0]]
    r = first.data.ndim - 1
    origin, spacing, direction = geometry_from_ras(first.affine, r)
    views, kinds = {}, {}
    for k in names:
        if not np.allclose(images[k].affine, first.affine):
            raise ValueError(f"{k!r} is not on the grid of {names[0]!r}")
        views[k], kinds[k] = _zyx(images[k].data)
    labels = tuple(k for k in names if isinstance(images[k], tio.LabelMap))
    out = augmentation(dict(views, spacing=spacing, origin=origin, direction=direction),
                       label_keys=labels, **options)
    fields = {k: v for k, v in subject.items() if k not in images}
    for k in names:
        fields[k] = type(images[k])(tensor=_back(out[k], kinds[k]), affine=images[k].affine)
    return tio.Subject(fields)
