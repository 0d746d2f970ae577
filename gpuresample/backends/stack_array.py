"""Small fixed-size 2-D arrays on the stack, for numba code (``stack_empty``).

An array from ``np.empty`` inside a jitted function lives on the heap, and LLVM cannot
tell that its memory is not also that of an argument. A loop that stores into it while
gathering from an argument (loads at computed indices) then stays scalar: LLVM's
vectoriser gives up with "cannot identify array bounds". An array whose buffer is an
``alloca`` of the function is known to be distinct from every argument, and the loop
vectorises. The shape must be given as integer constants; the array must not outlive the
function that creates it (it is never returned or stored), and it is placed in the entry
block, so calling ``stack_empty`` inside a loop does not grow the stack.

Example
-------
>>> import numpy as np
>>> from numba import njit
>>> @njit
... def total():
...     a = stack_empty(2, 4, np.float64)
...     a[:] = 1.5
...     return a.sum()
>>> float(total())
12.0
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array

__all__ = ["stack_empty"]


@intrinsic(prefer_literal=True)
def stack_empty(typingctx, rows, cols, dtype):
    """A C-contiguous (rows, cols) array of ``dtype`` on the stack, uninitialised."""
    if not (isinstance(rows, types.IntegerLiteral) and isinstance(cols, types.IntegerLiteral)):
        return None
    n_rows, n_cols = rows.literal_value, cols.literal_value
    if n_rows < 1 or n_cols < 1:
        return None
    element = dtype.dtype if isinstance(dtype, types.DType) else dtype.instance_type
    array_type = types.Array(element, 2, "C")

    def codegen(context, builder, signature, args):
        element_type = context.get_data_type(element)
        data = cgutils.alloca_once(builder, element_type, size=n_rows * n_cols)
        itemsize = context.get_abi_sizeof(element_type)

        def intp(value):
            return context.get_constant(types.intp, value)

        array = make_array(array_type)(context, builder)
        populate_array(array, data=data,
                       shape=cgutils.pack_array(builder, [intp(n_rows), intp(n_cols)]),
                       strides=cgutils.pack_array(builder,
                                                  [intp(itemsize * n_cols), intp(itemsize)]),
                       itemsize=intp(itemsize), meminfo=None)
        return array._getvalue()

    return array_type(rows, cols, dtype), codegen
