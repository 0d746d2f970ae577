"""Apply draws to the channels of many samples on one grid with the resampling engine.

A sample's draws become operations: each run of consecutive spatial draws is ONE
resampling through their composite (the first draw applied to the image first, so the
composite lists them in order: ITK applies its last member to the output point first),
and a grid round trip (RandomAnisotropy) is a resampling onto its coarse grid and back.
Label maps skip the draws that only degrade intensities, so their spatial draws merge.
Per key and per operation round, every sample's channels go through
:func:`gpuresample.resample_batch`: one launch per path for the whole batch.

Example
-------
>>> import numpy as np, gpuresample as gr
>>> from gpuresample.augment.draws import Draw
>>> ops = operations([Draw("a", transform=gr.TranslationTransform((1.0, 0.0))),
...                   Draw("b", transform=gr.TranslationTransform((0.0, 2.0)))], False)
>>> len(ops), ops[0].transform.transform_point((0.0, 0.0))
(1, (1.0, 2.0))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..geometry import Grid
from ..image import Image
from ..resample import resample, resample_batch
from ..transforms import CompositeTransform, Transform
from .draws import Draw

__all__ = ["Operation", "operations", "run", "replay"]


@dataclass(frozen=True)
class Operation:
    """One resampling step: through ``transform`` onto the same grid, or a round trip
    through the ``coarse`` grid."""

    transform: Transform | None = None
    coarse: Grid | None = None


def operations(history: Sequence[Draw], for_labels: bool) -> list[Operation]:
    """The resampling steps that apply ``history`` (in draw order) to an image or a label map."""
    ops: list[Operation] = []
    run_: list[Transform] = []
    for d in history:
        if for_labels and not d.applies_to_labels:
            continue
        if d.is_spatial:
            run_.append(d.transform)
            continue
        if run_:
            ops.append(Operation(_composite(run_)))
            run_ = []
        ops.append(Operation(coarse=d.coarse))
    if run_:
        ops.append(Operation(_composite(run_)))
    return ops


def _composite(transforms: list[Transform]) -> Transform:
    return transforms[0] if len(transforms) == 1 else CompositeTransform(transforms)


def _image(array, grid: Grid) -> Image:
    xp = type(array).__module__.split(".")[0]
    if xp == "numpy":
        import numpy
        array = numpy.ascontiguousarray(array)
    else:
        array = array if array.flags.c_contiguous else array.copy()
    return Image._from_array(array, is_vector=False, origin=grid.origin, spacing=grid.spacing,
                             direction=grid.direction)


def run(channels: list[list], histories: list[list[Draw]], grid: Grid, is_label: bool,
        interpolator: str, default_value: float, device: str | None,
        precision: str) -> list[list]:
    """Resample one key of every sample: ``channels[b]`` lists sample b's channel arrays
    ([z,] y, x, numpy or CuPy) on ``grid``, ``histories[b]`` its draws. Returns the new
    channel arrays (the input arrays are never written)."""
    ops = [operations(h, is_label) for h in histories]
    current = [list(c) for c in channels]
    for r in range(max((len(o) for o in ops), default=0)):
        spatial = [b for b, o in enumerate(ops) if len(o) > r and o[r].transform is not None]
        if spatial:
            images = [_image(a, grid) for b in spatial for a in current[b]]
            transforms = [ops[b][r].transform for b in spatial for _ in current[b]]
            out = iter(resample_batch(images, transforms, interpolator, default_value,
                                      device=device, precision=precision))
            for b in spatial:
                current[b] = [next(out)._array for _ in current[b]]
        for b, o in enumerate(ops):
            if len(o) > r and o[r].coarse is not None:
                images = [_image(a, grid) for a in current[b]]
                none = [None] * len(images)
                down = resample_batch(images, none, "nearest", default_value,
                                      reference=o[r].coarse, device=device,
                                      precision=precision)
                up = resample_batch(down, none, interpolator, default_value, reference=grid,
                                    device=device, precision=precision)
                current[b] = [img._array for img in up]
    # an item nothing was drawn for comes back as a copy, never as the caller's array
    return [[a.copy() for a in current[b]] if not o else current[b]
            for b, o in enumerate(ops)]


def replay(image: Image, history: Sequence[Draw], interpolator: str = "linear",
           is_label: bool = False, default_value: float = 0.0, device: str | None = None,
           precision: str = "fast") -> Image:
    """``history`` applied to one image with plain :func:`gpuresample.resample` calls: the
    voxels the augmentation gave (the same arithmetic, one image at a time).

    >>> import numpy as np, gpuresample as gr
    >>> img = gr.image_from_array(np.arange(6, dtype=np.float32).reshape(2, 3))
    >>> d = Draw("shift", transform=gr.TranslationTransform((1.0, 0.0)))
    >>> gr.array_from_image(replay(img, [d], device="cpu"))[0].tolist()
    [1.0, 2.0, 0.0]
    """
    grid = Grid(image.size, image.origin, image.spacing, image.direction)
    for op in operations(history, is_label):
        if op.transform is not None:
            image = resample(image, op.transform, interpolator, default_value, reference=grid,
                             device=device, precision=precision)
        else:
            down = resample(image, None, "nearest", default_value, reference=op.coarse,
                            device=device, precision=precision)
            image = resample(down, None, interpolator, default_value, reference=grid,
                             device=device, precision=precision)
    return image
