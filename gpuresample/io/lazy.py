"""Lazy pixel arrays over uncompressed files: a dask array whose chunks each open the file
(memory-mapped) and read their own part, on whatever worker runs them.

Tasks hold only the file's name, offset, dtype and shape, so a graph pickles small for
process and distributed schedulers (a ``numpy.memmap`` itself would pickle its data).

Example
-------
>>> import os, tempfile, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "a.raw")
>>> np.arange(24, dtype=">u2").tofile(path)
>>> a = raw_array(path, 0, np.dtype(">u2"), (2, 3, 4), chunks=(1, 3, 4))
>>> a.dtype, a.chunks[0], int(a[1, 2, 3].compute())
(dtype('uint16'), (1, 1), 23)
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from .._arrays import import_dask

__all__ = ["RawFile", "raw_array", "default_chunks"]


class RawFile:
    """An array-like view of raw C-order pixels in a file, read on indexing.

    ``dtype`` is the file's (any byte order); indexing returns native-order copies.
    """

    def __init__(self, path: str, offset: int, dtype: np.dtype, shape: Sequence[int]):
        self.path = os.path.abspath(os.fspath(path))
        self.offset = int(offset)
        self.file_dtype = np.dtype(dtype)
        self.dtype = self.file_dtype.newbyteorder("=")
        self.shape = tuple(int(n) for n in shape)
        self.ndim = len(self.shape)

    def __getitem__(self, index) -> np.ndarray:
        mm = np.memmap(self.path, dtype=self.file_dtype, mode="r", offset=self.offset,
                       shape=self.shape)
        return np.array(mm[index], dtype=self.dtype)

    def __reduce__(self):
        return RawFile, (self.path, self.offset, self.file_dtype, self.shape)


def default_chunks(shape: Sequence[int], edge: int = 128) -> tuple[int, ...]:
    """Chunks of at most ``edge`` voxels along each image axis (components whole)."""
    return tuple(min(int(n), edge) for n in shape)


def raw_array(path: str, offset: int, dtype: np.dtype, shape: Sequence[int], chunks=None):
    """A dask array of the raw C-order pixels of ``path`` from byte ``offset``."""
    da = import_dask()
    from dask.base import tokenize

    raw = RawFile(path, offset, dtype, shape)
    stat = os.stat(raw.path)
    name = "gpuresample-raw-" + tokenize(raw.path, raw.offset, raw.file_dtype.str, raw.shape,
                                         stat.st_mtime_ns, stat.st_size)
    return da.from_array(raw, chunks=chunks or default_chunks(raw.shape), name=name,
                         asarray=False, meta=np.empty((0,) * raw.ndim, raw.dtype))
