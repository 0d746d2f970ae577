"""What the augmentations take and give back: Images, arrays, tensors and dicts of them.

* a gpuresample :class:`~gpuresample.Image` (one channel; geometry its own);
* an array or tensor (numpy, CuPy, torch) channel-first ``(C, [z,] y, x)``, gpuresample's
  numpy order, or with no channel axis when ``spacing`` says the image is ``ndim``-D;
* a dict of those, with optional ``"spacing"``, ``"origin"``, ``"direction"`` keys (ITK
  order x, y, z; LPS, mm) for the arrays' geometry; values that are not arrays pass
  through unchanged.

Batches (``Compose.batch``) put a batch axis in front: ``(B, C, [z,] y, x)``.
Everything comes back as it came: the same kind of array on the same device, the same
layout, Images as Images.

Example
-------
>>> import numpy as np
>>> s = parse({"image": np.zeros((1, 4, 5), np.float32), "spacing": (2.0, 3.0)}, batched=False)
>>> s.grid.size, s.grid.spacing, list(s.fields)
((5, 4), (2.0, 3.0), ['image'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..geometry import Grid
from ..image import Image
from .arrays import from_engine, is_array, to_engine

__all__ = ["Field", "Sample", "parse"]

GEOMETRY_KEYS = ("spacing", "origin", "direction")


@dataclass
class Field:
    """One key's data: ``items[b][c]`` the channel arrays of batch item b (engine arrays)."""

    items: list[list]
    kind: str                   # "image" (a gpuresample Image) or an array kind
    channel_axis: bool


@dataclass
class Sample:
    fields: dict[str, Field]
    grid: Grid
    batched: bool
    container: str              # "dict", "image" or "array"
    passthrough: dict[str, Any] = field(default_factory=dict)
    order: tuple = ()

    @property
    def batch_size(self) -> int:
        return len(next(iter(self.fields.values())).items)


def _geometry(values: dict, dimension: int, size) -> Grid:
    try:
        return Grid(size, values.get("origin"), values.get("spacing"), values.get("direction"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the sample's geometry does not describe a {dimension}-D image of "
                         f"size {tuple(size)}: {exc}") from None


def parse(sample: Any, batched: bool, spacing=None, origin=None, direction=None) -> Sample:
    """Split ``sample`` into engine arrays per key and their common grid.

    Raises
    ------
    TypeError
        for an unsupported sample type or value.
    ValueError
        for keys whose spatial shapes differ, a dimension other than 2 or 3, geometry that
        does not fit.
    """
    geometry = {k: v for k, v in (("spacing", spacing), ("origin", origin),
                                  ("direction", direction)) if v is not None}
    if isinstance(sample, Image) or is_array(sample):
        container = "image" if isinstance(sample, Image) else "array"
        values, passthrough = {"image": sample}, {}
    elif isinstance(sample, dict):
        container = "dict"
        values = {k: v for k, v in sample.items()
                  if k not in GEOMETRY_KEYS and (isinstance(v, Image) or is_array(v))}
        passthrough = {k: v for k, v in sample.items() if k not in values}
        for k in GEOMETRY_KEYS:
            if k in sample and k not in geometry:
                geometry[k] = sample[k]
        if not values:
            raise ValueError("the sample dict holds no image, array or tensor to augment")
    else:
        raise TypeError(f"cannot augment a {type(sample).__name__}: pass a gpuresample Image, "
                        "a numpy/CuPy array, a torch tensor or a dict of them")
    if batched and any(isinstance(v, Image) for v in values.values()):
        raise TypeError("a batch is an array or tensor (B, C, [z,] y, x), not Images")
    fields: dict[str, Field] = {}
    grid = None
    shape = None
    for key, value in values.items():
        if isinstance(value, Image):
            if value.pixel_type.is_vector or value.pixel_type.is_complex:
                raise ValueError(f"{key!r}: augment scalar images (channels as separate "
                                 f"arrays), not {value.pixel_type.description} ones")
            image_grid = Grid(value.size, value.origin, value.spacing, value.direction)
            if grid is not None and image_grid.size != grid.size:
                raise ValueError(f"{key!r} is not on the grid of the other keys")
            grid = grid or image_grid
            fields[key] = Field([[value._array]], "image", False)
            spatial = value._array.shape
        else:
            array, kind = to_engine(value)
            lead = 1 if batched else 0
            d = len(geometry["spacing"]) if "spacing" in geometry else (
                array.ndim - lead - 1 if array.ndim - lead - 1 in (2, 3) else array.ndim - lead)
            extra = array.ndim - lead - d
            if d not in (2, 3) or extra not in (0, 1):
                raise ValueError(f"{key!r}: shape {tuple(array.shape)} is not "
                                 f"{'(B, ' if batched else '('}C, [z,] y, x) for a 2-D or 3-D "
                                 "image")
            spatial = tuple(array.shape[lead + extra:])
            items = [array[b] for b in range(array.shape[0])] if batched else [array]
            items = [[item[c] for c in range(item.shape[0])] if extra else [item]
                     for item in items]
            fields[key] = Field(items, kind, bool(extra))
        if shape is not None and spatial != shape:
            raise ValueError(f"{key!r} has spatial shape {spatial}, the other keys {shape}")
        shape = spatial
    if grid is None:
        grid = _geometry(geometry, len(shape), shape[::-1])
    elif geometry:
        raise ValueError("geometry keys were given, but an Image brings its own")
    sizes = {len(f.items) for f in fields.values()}
    if len(sizes) != 1:
        raise ValueError(f"the keys hold different batch sizes: {sorted(sizes)}")
    order = tuple(sample) if container == "dict" else ("image",)
    return Sample(fields, grid, batched, container, passthrough, order)


def rebuild(sample: Sample, results: dict[str, list[list]]) -> Any:
    """The augmented sample in the form it came: ``results[key][b][c]`` engine arrays."""
    out: dict[str, Any] = {}
    for key, f in sample.fields.items():
        items = results[key]
        if f.kind == "image":
            a = items[0][0]
            out[key] = Image._from_array(a, is_vector=False, origin=sample.grid.origin,
                                         spacing=sample.grid.spacing,
                                         direction=sample.grid.direction)
            continue
        xp = np if type(items[0][0]).__module__.split(".")[0] == "numpy" else _cupy()
        per_item = [xp.stack(chs) if len(chs) > 1 else chs[0][None] if f.channel_axis
                    else chs[0] for chs in items]
        array = (xp.stack(per_item) if len(per_item) > 1 else per_item[0][None]) \
            if sample.batched else per_item[0]
        out[key] = from_engine(array, f.kind)
    if sample.container != "dict":
        return out["image"]
    return {k: out[k] if k in out else sample.passthrough[k] for k in sample.order}


def _cupy():
    import cupy
    return cupy
