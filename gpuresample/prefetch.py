"""Read files ahead of their use on a thread pool, within a memory budget.

The command line's folder case (``gpuresample resample "scans/*.nii.gz" out/``) reads,
resamples and writes many files: reads and writes run on a pool while the caller
resamples. :class:`ReadAhead` keeps ``jobs`` reads going at all times and, while the
images read and not yet taken fit ``budget`` bytes, starts the next read as soon as one
ends, from the pool's own thread: so when the caller is busy for a while (the first
kernel load of a process, a large image), the pool goes on reading instead of idling.

Example
-------
>>> import concurrent.futures
>>> with concurrent.futures.ThreadPoolExecutor(2) as pool:
...     ahead = ReadAhead(pool, ["a", "b", "c"], str.upper, jobs=1, budget=0, size=len)
...     [(item, future.result()) for item, future in ahead]
[('a', 'A'), ('b', 'B'), ('c', 'C')]
"""

from __future__ import annotations

import collections
import concurrent.futures
import threading
from typing import Any, Callable, Iterable, Iterator

__all__ = ["ReadAhead"]


class ReadAhead:
    """Futures of ``read(item)`` for every item, in order, read ahead on ``pool``.

    Parameters
    ----------
    pool : concurrent.futures.Executor
        Runs the reads (and may run other work, such as writes, in between).
    items : iterable
        What to read, in the order the futures are handed out.
    read : callable
        ``read(item)``; its exceptions are kept in the item's future.
    jobs : int
        Reads running or done and not yet taken, at least (as long as items remain).
    budget : int
        More reads start while the results done and not taken hold fewer bytes than this.
    size : callable
        Bytes a result holds (0 for one that holds no pixels, such as a lazy image).
    """

    def __init__(self, pool: concurrent.futures.Executor, items: Iterable[Any],
                 read: Callable[[Any], Any], jobs: int, budget: int,
                 size: Callable[[Any], int]) -> None:
        self._pool, self._read, self._size = pool, read, size
        self._items = iter(items)
        self._jobs, self._budget = jobs, budget
        self._queue: collections.deque = collections.deque()   # submitted, not taken
        self._held = 0          # bytes of finished reads not yet taken
        # re-entrant: a future that is already done runs its callback in submit's thread
        self._lock = threading.RLock()
        with self._lock:
            for _ in range(jobs):
                self._submit()

    def _submit(self) -> bool:
        """Start the next read (under the lock); False when no item is left."""
        item = next(self._items, _END)
        if item is _END:
            return False
        try:
            future = self._pool.submit(self._read, item)
        except RuntimeError:   # the pool is shutting down (the caller stopped: Ctrl-C)
            return False
        self._queue.append((item, future))
        future.add_done_callback(self._finished)
        return True

    def _bytes(self, future: concurrent.futures.Future) -> int:
        """Bytes a finished read holds (0 for a failed one)."""
        if future.cancelled() or future.exception() is not None:
            return 0
        return self._size(future.result())

    def _finished(self, future: concurrent.futures.Future) -> None:
        with self._lock:
            self._held += self._bytes(future)
            if self._held < self._budget:
                self._submit()

    def __iter__(self) -> Iterator[tuple[Any, concurrent.futures.Future]]:
        """(item, future) in the items' order; each future is done when handed out."""
        while True:
            with self._lock:
                if not self._queue:
                    return
                item, future = self._queue.popleft()
            concurrent.futures.wait([future])
            with self._lock:
                # (the done callback may add these bytes just after: the sum is the same)
                self._held -= self._bytes(future)
                while len(self._queue) < self._jobs and self._submit():
                    pass
            yield item, future


_END = object()
