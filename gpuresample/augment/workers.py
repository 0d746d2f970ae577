"""Seeding augmentations in ``torch.utils.data.DataLoader`` workers.

Forked workers inherit the parent's generator state, so without reseeding every worker
draws the same transforms. ``worker_init_fn`` reseeds every random transform held by the
worker's dataset (its attributes, one level deep, lists and dicts included) from the seed
torch gives that worker (``get_worker_info().seed``: the loader's base seed + worker id),
so a run is reproducible given the loader's generator, and workers differ.

gpuresample makes no CUDA call at import, and the CPU backend's threading layer is
fork-safe (see gpuresample.backends.cpu), so workers may be forked after the parent has
augmented.

Example
-------
>>> from torch.utils.data import DataLoader            # doctest: +SKIP
>>> loader = DataLoader(dataset, num_workers=2, worker_init_fn=worker_init_fn)  # doctest: +SKIP
"""

from __future__ import annotations

from .random import RandomTransform

__all__ = ["worker_init_fn", "reseed_all"]


def reseed_all(obj, seed: int) -> int:
    """Reseed every RandomTransform among ``obj``'s attributes (and ``obj`` itself) with
    distinct seeds derived from ``seed``; returns how many were reseeded."""
    found = []
    candidates = [obj] + list(getattr(obj, "__dict__", {}).values())
    for c in candidates:
        if isinstance(c, (list, tuple)):
            found += [x for x in c if isinstance(x, RandomTransform)]
        elif isinstance(c, dict):
            found += [x for x in c.values() if isinstance(x, RandomTransform)]
        elif isinstance(c, RandomTransform):
            found.append(c)
    for k, t in enumerate(found):
        t.reseed([seed % 2**63, k])
    return len(found)


def worker_init_fn(worker_id: int) -> None:
    """A DataLoader ``worker_init_fn``: reseed the worker's dataset's random transforms."""
    import torch.utils.data

    info = torch.utils.data.get_worker_info()
    if info is not None:
        reseed_all(info.dataset, info.seed)
