"""The cpu backend's stack arrays (gpuresample/backends/stack_array.py) and the examples of
the numba modules that use them."""

import doctest
import importlib

import numba
import numpy as np
import pytest
from numba import njit

from gpuresample.backends.stack_array import stack_empty


@njit
def _filled(offset):
    a = stack_empty(3, 5, np.float64)
    b = stack_empty(2, 4, np.int64)
    for i in range(3):
        for j in range(5):
            a[i, j] = 10.0 * i + j + offset
    for i in range(2):
        for j in range(4):
            b[i, j] = 100 * i + j
    return a.copy(), b.copy(), a.shape, a.strides


def test_stack_arrays_hold_what_is_written():
    a, b, shape, strides = _filled(0.5)
    np.testing.assert_array_equal(a, 10.0 * np.arange(3)[:, None] + np.arange(5) + 0.5)
    np.testing.assert_array_equal(b, 100 * np.arange(2)[:, None] + np.arange(4))
    assert a.dtype == np.float64 and b.dtype == np.int64
    assert shape == (3, 5) and strides == (40, 8)


def test_stack_arrays_in_a_loop_are_one_each_call():
    @njit
    def total(n):
        s = 0.0
        for k in range(n):
            a = stack_empty(2, 3, np.float64)   # placed once, in the entry block
            a[:] = k
            s += a.sum()
        return s

    assert total(1000) == 6.0 * sum(range(1000))


def test_a_shape_that_is_not_a_constant_is_refused():
    @njit
    def sized(n):
        return stack_empty(n, 4, np.float64).sum()

    with pytest.raises(numba.core.errors.TypingError):
        sized(3)


@pytest.mark.parametrize("module", ["gpuresample.backends.stack_array",
                                    "gpuresample.backends.stages"])
def test_module_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
