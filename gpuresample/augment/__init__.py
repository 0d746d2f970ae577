"""Random spatial augmentation for training pipelines, on the resampling engine.

Random transforms draw their parameters from a seeded ``numpy.random.Generator``, record
every draw as a concrete gpuresample transform (``history``: re-applicable with
:func:`gpuresample.resample`, invertible where the transform is) and apply it to an image
and its label maps on the same grid in one call: intensities linearly, labels with
``label_linear`` (or nearest), labels kept in their integer type. Batches
``(B, C, [z,] y, x)`` take one independent draw per item and one launch per key and path.
numpy in gives numpy out, CuPy CuPy, torch torch on the same device (no copies where the
memory can be shared). Nothing here imports torch or touches CUDA until such data is met.

Example
-------
>>> import numpy as np
>>> import gpuresample.augment as ga
>>> aug = ga.Compose([ga.RandomAffine(degrees=10, scales=0.1),
...                   ga.RandomElastic(num_control_points=5, max_displacement=2.0)], seed=7)
>>> image = np.random.default_rng(0).random((1, 24, 24, 24), dtype=np.float32)
>>> label = (image > 0.5).astype(np.uint8)
>>> out = aug({"image": image, "label": label}, device="cpu")
>>> out["label"].dtype, [d.name for d in aug.history]
(dtype('uint8'), ['RandomAffine', 'RandomElastic'])
"""

from .adapters import MonaiDictAdapter, augment_subject, geometry_from_ras, ras_from_geometry
from .compose import Compose
from .draws import Draw
from .engine import replay
from .random import (RandomAffine, RandomAnisotropy, RandomElastic, RandomFlip,
                     RandomTransform, image_center)
from .workers import worker_init_fn

__all__ = ["Compose", "Draw", "RandomTransform", "RandomAffine", "RandomElastic",
           "RandomFlip", "RandomAnisotropy", "replay", "image_center", "worker_init_fn", "MonaiDictAdapter",
           "augment_subject", "geometry_from_ras", "ras_from_geometry"]
