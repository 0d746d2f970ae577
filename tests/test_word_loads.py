"""backends/word_loads.py: element q and q + 1 of a buffer from one word load, for every
scalar dtype, at every position (the buffer's last elements included), in a loop LLVM
vectorises."""

from __future__ import annotations

import ctypes
import mmap
import sys

import numpy as np
import pytest
from numba import njit

from gpuresample.backends.word_loads import load_pair, pairs_loadable

DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64, np.int64,
          np.float32, np.float64]


@njit
def _pairs(array, first, second):
    for i in range(array.size):
        a, b = load_pair(array, np.uint64(i))
        first[i] = a
        second[i] = b


def _ending_at_an_unreadable_page(dtype, n):
    """An array of ``n`` elements whose last byte ends a page that is followed by one
    nothing may read (Linux; elsewhere a plain array): a load past its end would crash."""
    itemsize = np.dtype(dtype).itemsize
    page = mmap.PAGESIZE
    if sys.platform != "linux":
        return np.zeros(n, dtype)
    region = mmap.mmap(-1, 2 * page, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    _KEEP.append(region)
    address = ctypes.addressof(ctypes.c_char.from_buffer(region))
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.mprotect(ctypes.c_void_p(address + page), ctypes.c_size_t(page), 0) == 0
    first_page = np.frombuffer(region, dtype, count=page // itemsize)
    return first_page[first_page.size - n:]


_KEEP: list = []   # the mappings stay alive (their second page is never readable)


def _values(rng, dtype, n):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        values = rng.normal(size=n).astype(dtype) * 1e3
        values[::3] = -0.0
        return values
    info = np.iinfo(dtype)
    raw = rng.integers(0, 2**63 - 1, size=n, dtype=np.int64).astype(np.uint64) * np.uint64(3)
    values = raw.view(np.int64 if dtype.kind == "i" else np.uint64).astype(dtype)
    values[:2] = (info.min, info.max)[:len(values[:2])]
    return values


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 9, 131])
def test_pairs_are_the_elements_and_their_neighbours(dtype, n):
    rng = np.random.default_rng(n)
    if not pairs_loadable(dtype, n):
        assert n * np.dtype(dtype).itemsize < 8
        return
    values = _values(rng, dtype, n)
    view = _ending_at_an_unreadable_page(dtype, n)
    view[:] = values
    first, second = np.empty(n, dtype), np.empty(n, dtype)
    _pairs(view, first, second)
    np.testing.assert_array_equal(first.view(np.uint8), values.view(np.uint8))
    np.testing.assert_array_equal(second[:-1].view(np.uint8), values[1:].view(np.uint8))


def test_pairs_loadable_asks_for_a_word():
    assert not pairs_loadable(np.uint8, 3) and pairs_loadable(np.uint8, 4)
    assert not pairs_loadable(np.int16, 1) and pairs_loadable(np.int16, 2)
    assert not pairs_loadable(np.float32, 1) and pairs_loadable(np.float32, 2)
    assert pairs_loadable(np.float64, 1) and not pairs_loadable(np.float64, 0)


@njit
def _pairs_within(a, first, second):
    for i in range(first.size):
        first[i], second[i] = load_pair(a, np.uint64(i), True)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_pairs_within_the_buffer_are_the_same_without_the_clamp(dtype):
    """``within=True`` (the caller knows the word at q lies in the buffer: q + 1, q + 3
    for 8-bit types): the same pairs, up to the buffer's last word, from a buffer that
    ends at an unreadable page."""
    n = 37
    last = n - (4 if np.dtype(dtype).itemsize == 1 else 2)   # the last word's first element
    values = _values(np.random.default_rng(5), dtype, n)
    view = _ending_at_an_unreadable_page(dtype, n)
    view[:] = values
    first, second = np.empty(last + 1, dtype), np.empty(last + 1, dtype)
    _pairs_within(view, first, second)
    np.testing.assert_array_equal(first.view(np.uint8), values[:last + 1].view(np.uint8))
    np.testing.assert_array_equal(second.view(np.uint8), values[1:last + 2].view(np.uint8))
