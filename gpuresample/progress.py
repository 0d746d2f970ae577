"""Running Dask work with an optional progress bar (Dask's own, on local schedulers).

Example
-------
>>> import dask.array as da
>>> (total,) = compute([da.ones(10, chunks=5).sum()], progress=False)
>>> float(total)
10.0
"""

from __future__ import annotations

import contextlib
from typing import Any, Sequence

from ._arrays import import_dask

__all__ = ["compute", "progress_bar"]


def progress_bar(enabled: bool):
    """A context that shows Dask's progress bar while it is open, if ``enabled``.

    The bar follows local schedulers (threads, processes, synchronous); a
    ``dask.distributed`` client has its own dashboard and ``distributed.progress``.
    """
    if not enabled:
        return contextlib.nullcontext()
    import_dask()
    from dask.diagnostics import ProgressBar

    return ProgressBar(minimum=0.5, dt=0.2)


def compute(collections: Sequence[Any], *, progress: bool = False, **kwargs: Any) -> tuple:
    """``dask.compute(*collections, **kwargs)``, with a progress bar if ``progress``."""
    import_dask()
    import dask

    with progress_bar(progress):
        return dask.compute(*collections, **kwargs)
