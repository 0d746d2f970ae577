"""How block tasks read their input: an input's chunks and a process's cache of decoded
chunks.

A block task of :func:`gpuresample.blocks.lazy_resample` assembles its input region from
the source's chunks itself (each chunk a small Dask graph of its own: reading it from the
store, or whatever made it; an array the Zarr reader made is read from its store
straight, :func:`mark_stored`), so memory holds a few blocks and the cache, never the
volume (Dask keeps a chunk that many tasks depend on until the last of them has run).

Decoding is the dear part: a rotated 128^3 block's region touches about a dozen 128^3
chunks, and each chunk is read by about eight blocks. The cache knows which blocks read
each chunk (:class:`BlockSource` is built with them, blocks numbered in the order Dask
runs them): when it is full it drops a chunk no block still has to read, else the one
whose next reader is farthest, in block order, from the block reading now (Belady's
rule; the direction of the run does not matter). On the 1024^3 rotation of
``benchmarks.large`` (343 blocks, 512 chunks) with 64 chunks cached, least recently used
eviction decoded 1716 chunks, this rule 1049; blocks that skip the chunks of their
region's bounding box that their slanted region misses (:meth:`gpuresample.blocks.
BlockJob.reads`) bring it to 838.

Example
-------
>>> import numpy as np, dask.array as da
>>> values = np.arange(6 * 7, dtype=np.uint16).reshape(6, 7)
>>> source = BlockSource(da.from_array(values, chunks=(4, 4)))
>>> source.chunks_of((1, 2), (5, 6))      # chunk indices the region touches
[(0, 0), (0, 1), (1, 0), (1, 1)]
>>> bool(np.all(source.region((1, 2), (5, 6)) == values[1:5, 2:6]))
True
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections import OrderedDict
from typing import Mapping, Sequence

import numpy as np

__all__ = ["BlockSource", "ChunkCache", "chunk_cache", "chunk_edges", "mark_stored"]

Index = tuple[int, ...]


def chunk_edges(chunks: Sequence[Sequence[int]]) -> list[np.ndarray]:
    """Per axis, where the chunks of lengths ``chunks`` start (and the last one ends).

    >>> [e.tolist() for e in chunk_edges([(4, 4, 2)])]
    [[0, 4, 8, 10]]
    """
    return [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in chunks]


class ChunkCache:
    """Decoded chunks of this process, shared by its threads, within ``budget`` bytes.

    Entries are keyed by (source name, chunk index); when an insertion takes the cache
    over its budget, entries are dropped by their source's own rule
    (:meth:`BlockSource.spare`: the larger, the sooner dropped; ties: least recently
    used first) until it fits again (the newest entry always stays).
    """

    def __init__(self, budget: int) -> None:
        self.budget = int(budget)
        self.used = 0
        self.decoded = 0          # chunks put in, duplicates of a concurrent read included
        self._entries: "OrderedDict[tuple, tuple[np.ndarray, BlockSource]]" = OrderedDict()
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple) -> np.ndarray | None:
        with self.lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: tuple, value: np.ndarray, source: "BlockSource") -> None:
        with self.lock:
            self.decoded += 1
            if key in self._entries:
                return
            self._entries[key] = (value, source)
            self.used += value.nbytes
            while self.used > self.budget and len(self._entries) > 1:
                victim, best = None, -1.0
                for k, (_, owner) in itertools.islice(self._entries.items(),
                                                      len(self._entries) - 1):
                    score = owner.spare(k[1])
                    if score > best:
                        victim, best = k, score
                        if score == math.inf:
                            break
                self.used -= self._entries.pop(victim)[0].nbytes

    def clear(self) -> None:
        """Drop every entry (and reset the count of decoded chunks)."""
        with self.lock:
            self._entries.clear()
            self.used = self.decoded = 0


def _budget_from_environment(default_mib: int = 256) -> int:
    """The cache budget in bytes: ``GPURESAMPLE_CHUNK_CACHE_MIB`` (MiB) if set."""
    text = os.environ.get("GPURESAMPLE_CHUNK_CACHE_MIB")
    if text is None:
        return default_mib * 2**20
    try:
        mib = float(text)
    except ValueError:
        mib = -1.0
    if not (mib >= 0 and math.isfinite(mib)):
        raise ValueError(f"GPURESAMPLE_CHUNK_CACHE_MIB must be a number of MiB (0 or more), "
                         f"got {text!r}")
    return int(mib * 2**20)


chunk_cache = ChunkCache(_budget_from_environment())
"""The process's cache of decoded input chunks: 256 MiB, or ``GPURESAMPLE_CHUNK_CACHE_MIB``
from the environment (read at import: set it for a cluster's workers too), or set
``chunk_cache.budget`` (bytes). At least the chunk read last is kept whatever the
budget."""

_scratch = threading.local()
_STORED = "_gpuresample_stored"


def mark_stored(array, stored):
    """``array`` (a dask array made by ``dask.array.from_zarr(stored)``, unchanged), marked
    so that block tasks read its chunks straight from ``stored`` (any array-like sliced
    by numpy slices into numpy arrays) rather than by computing each chunk's Dask graph,
    whose scheduling costs about as much as reading and decoding the chunk (125 4 MiB
    Zstandard chunks of a local store, one thread: 0.53-0.84 s through each chunk's
    ``Delayed.compute``, 0.35-0.37 s read straight; here, ad hoc), and holds the GIL. The
    mark is the object's own: an array derived from it has none.

    >>> import numpy as np, dask.array as da
    >>> values = np.arange(12).reshape(3, 4)
    >>> BlockSource(mark_stored(da.from_array(values, chunks=2), values)).stored is values
    True
    """
    setattr(array, _STORED, stored)
    return array


class BlockSource:
    """An input's chunks, for block tasks to read themselves through :data:`chunk_cache`.

    Parameters
    ----------
    array : dask.array.Array
        The input pixels; if :func:`mark_stored` marked it, chunks are read from its
        store straight.
    readers : mapping of chunk index to sequence of int, optional
        Which blocks (by number, the order they are meant to run in) read each chunk: what
        the cache drops chunks by. Without it, least recently used first.
    cache : ChunkCache, optional
        Default :data:`chunk_cache`.

    A pickled copy (a worker of a cluster) starts with no reads seen and uses its own
    process's :data:`chunk_cache`. Two block tasks reading one missing chunk at the same
    time may both decode it (the cache keeps one).
    """

    def __init__(self, array, readers: Mapping[Index, Sequence[int]] | None = None,
                 cache: ChunkCache | None = None) -> None:
        self.name, self.dtype = array.name, np.dtype(array.dtype)
        self.edges = chunk_edges(array.chunks)
        stored = getattr(array, _STORED, None)
        if stored is not None and (tuple(stored.shape) != tuple(array.shape)
                                   or np.dtype(stored.dtype) != self.dtype):
            stored = None
        self.stored = stored
        self.graphs = None if stored is not None else array.to_delayed(optimize_graph=True)
        self.readers = dict(readers or {})
        self.cache = cache
        self._fresh()

    def _fresh(self) -> None:
        self._done: dict[Index, set[int]] = {}
        self._now = 0

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_done"], state["_now"]
        state["cache"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._fresh()

    def __dask_tokenize__(self):
        return ("gpuresample.BlockSource", self.name, sorted(self.readers.items()))

    @property
    def _cache(self) -> ChunkCache:
        return self.cache if self.cache is not None else chunk_cache

    def chunks_of(self, start: Sequence[int], stop: Sequence[int]) -> list[Index]:
        """Indices of the chunks region ``start .. stop`` (numpy order, stop exclusive)
        touches."""
        ranges = [range(int(np.searchsorted(e, a, side="right") - 1),
                        int(np.searchsorted(e, b - 1, side="right")))
                  for e, a, b in zip(self.edges, start, stop)]
        return list(itertools.product(*ranges))

    def voxel_boxes(self, indices: Sequence[Index], dimension: int) -> tuple[np.ndarray,
                                                                              np.ndarray]:
        """First and last voxel (inclusive, x first: image index order) of each chunk in
        ``indices`` along the ``dimension`` image axes (a component axis left out)."""
        first = np.array([[self.edges[a][i[a]] for a in range(dimension)][::-1]
                          for i in indices], dtype=np.float64).reshape(-1, dimension)
        last = np.array([[self.edges[a][i[a] + 1] - 1 for a in range(dimension)][::-1]
                         for i in indices], dtype=np.float64).reshape(-1, dimension)
        return first, last

    def spare(self, index: Index) -> float:
        """How little chunk ``index`` is needed now: the block distance from the block
        reading now to its nearest reader still to run (infinite: none; zero for a
        source built without readers, so the cache drops least recently used first)."""
        readers = self.readers.get(index)
        if not readers:
            return 0.0 if not self.readers else math.inf
        done = self._done.get(index, ())
        pending = [abs(r - self._now) for r in readers if r not in done]
        return float(min(pending)) if pending else math.inf

    def _note(self, index: Index, reader: int) -> None:
        with self._cache.lock:
            done = self._done.setdefault(index, set())
            if reader in done:                 # the graph runs again: a new pass
                self._done.clear()
                done = self._done.setdefault(index, set())
            done.add(reader)
            self._now = reader

    def chunk(self, index: Index, reader: int | None = None) -> np.ndarray:
        """Chunk ``index`` (numpy order), decoded, from the cache or read; ``reader``:
        the number of the block reading it."""
        if reader is not None and self.readers:
            self._note(index, reader)
        key = (self.name, index)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if self.stored is not None:
            value = np.asarray(self.stored[tuple(slice(e[i], e[i + 1])
                                                 for e, i in zip(self.edges, index))])
        else:
            value = np.asarray(self.graphs[index].compute(scheduler="sync"))
        self._cache.put(key, value, self)
        return value

    def region(self, start: Sequence[int], stop: Sequence[int],
               chunks: Sequence[Index] | None = None,
               reader: int | None = None) -> np.ndarray:
        """The input region ``start .. stop`` (numpy axis order, stop exclusive), in this
        thread's scratch buffer; ``chunks``: only those of the region's chunks are read,
        its parts in the others are zero (default: all are read).

        Allocating a new array for every block's region cost more than reading and
        decoding it on a machine where the first touch of memory is dear (a VM: about
        3 ms a MB here; 25 MB for a rotated 128^3 block of a uint16 volume). The buffer is
        reused by the thread's next task (it holds the largest region so far, until the
        thread ends); the block's result never refers to it.
        """
        shape = tuple(b - a for a, b in zip(start, stop))
        count = int(np.prod(shape))
        buffer = getattr(_scratch, "buffer", None)
        if buffer is None or buffer.dtype != self.dtype or buffer.size < count:
            buffer = _scratch.buffer = np.empty(count, dtype=self.dtype)
        region = buffer[:count].reshape(shape)
        wanted = None if chunks is None else set(chunks)
        for index in self.chunks_of(start, stop):
            inside, into = [], []
            for e, i, a, b in zip(self.edges, index, start, stop):
                lo, hi = max(a, e[i]), min(b, e[i + 1])
                inside.append(slice(lo - e[i], hi - e[i]))
                into.append(slice(lo - a, hi - a))
            if wanted is None or index in wanted:
                region[tuple(into)] = self.chunk(index, reader)[tuple(inside)]
            else:
                region[tuple(into)] = 0
        return region
