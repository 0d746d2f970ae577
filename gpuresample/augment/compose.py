"""Compose random transforms, and the call that augments a sample or a batch.

Example
-------
>>> import numpy as np
>>> import gpuresample.augment as ga
>>> aug = ga.Compose([ga.RandomFlip(axes=(0, 1)), ga.RandomAffine(degrees=15)], seed=0)
>>> sample = {"image": np.random.default_rng(0).random((1, 16, 16), dtype=np.float32),
...           "label": np.zeros((1, 16, 16), np.uint8)}
>>> out = aug(sample, device="cpu")
>>> out["image"].shape, out["label"].dtype, [d.name for d in aug.history][-1]
((1, 16, 16), dtype('uint8'), 'RandomAffine')
"""

from __future__ import annotations

import contextlib
from typing import Any, Sequence

import numpy as np

from ..capabilities import PRECISIONS
from ..geometry import Grid
from .draws import Draw
from .engine import run
from .random import RandomTransform
from .sample import parse, rebuild

__all__ = ["Compose", "augment", "DEFAULT_OPTIONS"]

DEFAULT_OPTIONS = {
    "label_keys": ("label", "seg", "mask"),
    "image_interpolator": "linear",
    "label_interpolator": "label_linear",
    "default_value": 0.0,
    "device": None,
    "precision": "fast",
}


class Compose(RandomTransform):
    """Random transforms applied in order, the whole with probability ``p``.

    Parameters
    ----------
    transforms : sequence of RandomTransform (Compose included)
    p : float
        Probability that any of them is applied (each has its own ``p`` too).
    seed : int, numpy SeedSequence or Generator, optional
        Seeds the generator the draws come from (:meth:`reseed` changes it).
    **options
        Defaults of the call's options: ``label_keys`` (keys resampled as label maps,
        default ``("label", "seg", "mask")``), ``image_interpolator`` ("linear"),
        ``label_interpolator`` ("label_linear" or "nearest"), ``default_value`` (0),
        ``device`` (None: where the data is, else the best backend), ``precision``
        ("fast": float32 positions; "exact": SimpleITK's float64 arithmetic).

    Calling it augments a sample (see :mod:`gpuresample.augment.sample` for what that can
    be) and records the draws in ``history``; :meth:`batch` augments a batch with one
    independent draw per item, in one launch per key and path.
    """

    def __init__(self, transforms: Sequence[RandomTransform], p: float = 1.0, seed=None,
                 **options) -> None:
        super().__init__(p)
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if not isinstance(t, RandomTransform):
                raise TypeError(f"Compose member {i} must be a gpuresample.augment random "
                                f"transform, got {type(t).__name__}")
        self.options = _check_options(options)
        self.reseed(seed)

    def draw(self, grid: Grid, rng: np.random.Generator) -> list[Draw]:
        if rng.random() >= self.p:
            return []
        return [d for t in self.transforms for d in t.draw(grid, rng)]


def _check_options(options: dict) -> dict:
    unknown = set(options) - set(DEFAULT_OPTIONS)
    if unknown:
        raise TypeError(f"unknown augmentation option(s) {sorted(unknown)}; use "
                        f"{', '.join(DEFAULT_OPTIONS)}")
    if "precision" in options and options["precision"] not in PRECISIONS:
        raise ValueError(f"unknown precision {options['precision']!r}; use "
                         f"{', '.join(PRECISIONS)}")
    if options.get("label_interpolator", "label_linear") not in ("label_linear", "nearest"):
        raise ValueError("label_interpolator must be 'label_linear' or 'nearest', got "
                         f"{options['label_interpolator']!r}")
    if "label_keys" in options and isinstance(options["label_keys"], str):
        options["label_keys"] = (options["label_keys"],)
    return dict(options)


def augment(transform: RandomTransform, sample: Any, batched: bool,
            rng: np.random.Generator, geometry: dict, options: dict) -> tuple[Any, list]:
    """Draw for each item of ``sample`` and apply the draws; (result, history)."""
    opts = dict(DEFAULT_OPTIONS)
    opts.update(getattr(transform, "options", {}))
    opts.update(_check_options(options))
    parsed = parse(sample, batched, **geometry)
    histories = [transform.draw(parsed.grid, rng) for _ in range(parsed.batch_size)]
    results = {}
    with _torch_stream(parsed):
        for key, f in parsed.fields.items():
            is_label = key in opts["label_keys"]
            interpolator = (opts["label_interpolator"] if is_label
                            else opts["image_interpolator"])
            results[key] = run(f.items, histories, parsed.grid, is_label, interpolator,
                               opts["default_value"], opts["device"], opts["precision"])
    return rebuild(parsed, results), histories if batched else histories[0]


def _torch_stream(parsed):
    """For CUDA tensors, CuPy launches on torch's current stream (no synchronisation
    added or lost); otherwise nothing."""
    if not any(f.kind == "torch-cuda" for f in parsed.fields.values()):
        return contextlib.nullcontext()
    import cupy
    import torch
    return cupy.cuda.ExternalStream(torch.cuda.current_stream().cuda_stream)
