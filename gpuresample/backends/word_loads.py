"""Two neighbouring samples of a 1-D array in one load, for numba code (``load_pair``).

Linear interpolation reads each sample together with its x neighbour (the next element of
a scalar image's buffer). In a loop LLVM vectorises, every load at a computed index is a
gather, and x86 gathers only 32- and 64-bit words: 8- and 16-bit images had to be widened
to int32 first (a copy of the whole input, which on a VM costs more in page faults than
in copying), and each of the eight corners of a 3-D cell was a gather of its own.
:func:`load_pair` reads the word that holds elements ``q`` and ``q + 1`` (8 bytes for
32-bit types, 4 for 8- and 16-bit ones) with one unaligned load, so the loop gathers half
as many words and narrow images need no copy (64-bit types, which no gather pairs, take
two loads). The word never reaches past the buffer: at the buffer's last elements it is
read from further back and shifted, and there element
``q + 1`` does not exist (it is the last voxel of a row, which linear interpolation does
not pair), so the second value is then meaningless and must not be used.

Example
-------
>>> import numpy as np
>>> from numba import njit
>>> @njit
... def pairs(a):
...     return [load_pair(a, np.uint64(i)) for i in range(a.size)]
>>> [(int(u), int(v)) for u, v in pairs(np.arange(5, dtype=np.uint8))][:4]
[(0, 1), (1, 2), (2, 3), (3, 4)]
>>> pairs(np.array([1.5, -2.0, 3.25], np.float32))[:2]
[(1.5, -2.0), (-2.0, 3.25)]
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload
from numba.np.arrayobj import make_array

__all__ = ["load_pair", "pairs_loadable"]


def _word_bytes(itemsize: int) -> int:
    """Bytes of the word that holds two elements of ``itemsize`` bytes (at least 4: x86
    gathers no narrower word)."""
    return max(4, 2 * itemsize)


def pairs_loadable(dtype: np.dtype, size: int) -> bool:
    """Whether :func:`load_pair` reads an array of ``dtype`` and ``size`` elements: one at
    least a word long (64-bit types, read as two loads: any non-empty one)."""
    itemsize = np.dtype(dtype).itemsize
    if itemsize > 4:
        return size >= 1
    return size * itemsize >= _word_bytes(itemsize)


@intrinsic
def _load_word(typingctx, array, index):
    """The unsigned word (``_word_bytes`` of the element size) at element ``index`` of a
    1-D array of 8-, 16- or 32-bit elements, loaded unaligned."""
    if not (isinstance(array, types.Array) and array.ndim == 1):
        return None
    item = array.dtype.bitwidth // 8
    width = 8 * _word_bytes(item)
    word_type = types.uint64 if width == 64 else types.uint32

    def codegen(context, builder, signature, args):
        data = make_array(array)(context, builder, args[0]).data
        start = builder.bitcast(data, ir.IntType(8).as_pointer())
        offset = builder.mul(args[1], ir.Constant(args[1].type, item))
        address = builder.gep(start, [offset])
        pointer = builder.bitcast(address, ir.IntType(width).as_pointer())
        return builder.load(pointer, align=1)

    return word_type(array, types.uint64), codegen


@intrinsic
def _float32_of_bits(typingctx, bits):
    """The float32 whose bits are the low 32 bits of ``bits``."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        low = builder.trunc(args[0], ir.IntType(32)) if bits.bitwidth > 32 else args[0]
        return builder.bitcast(low, ir.FloatType())

    return types.float32(bits), codegen


@njit(inline="always")
def _shifted(word, shift):
    return np.uint64(word) >> np.uint64(shift)


def load_pair(array, q, within=False):
    """Elements ``q`` and ``q + 1`` of the 1-D array ``array`` (``q`` a uint64), one word
    load (numba only; see the module notes for the buffer's last element). ``within``
    (a constant): the caller knows the word at ``q`` lies in the buffer (elements ``q``
    to ``q + 1``, ``q + 3`` for 8-bit types), so the load is not moved back from the
    buffer's end (which costs a few instructions, and in some loops the vectorisation)."""
    raise NotImplementedError


@overload(load_pair, inline="always", prefer_literal=True)
def _load_pair_impl(array, q, within=False):
    if not (isinstance(array, types.Array) and array.ndim == 1):
        return None
    # a literal True only (anything else, e.g. a boolean variable: the clamped load)
    inside = isinstance(within, types.BooleanLiteral) and within.literal_value
    element = array.dtype
    bits = element.bitwidth
    if bits > 32:
        # no wider gathers: two loads, the second clamped to the buffer
        def impl(array, q, within=False):
            # arithmetic, not a conditional expression (numba's inliner mishandles the
            # latter's phi node)
            return array[q], array[q + np.uint64(q < np.uint64(array.size - 1))]

        return impl
    words = _word_bytes(bits // 8) // (bits // 8)   # elements a word holds
    is_float = isinstance(element, types.Float)

    if inside:
        def impl(array, q, within=False):
            word = _load_word(array, q)
            if is_float:
                return _float32_of_bits(word), _float32_of_bits(_shifted(word, bits))
            return element(word), element(_shifted(word, bits))

        return impl

    def impl(array, q, within=False):
        last = np.uint64(array.size - words)   # the last whole word's first element
        start = q - np.uint64(q > last) * (q - last)   # min(q, last), as arithmetic
        word = _load_word(array, start)
        shift = (q - start) * np.uint64(bits)
        low = _shifted(word, shift)
        high = _shifted(_shifted(word, bits), shift)   # each shift below 64
        if is_float:
            return _float32_of_bits(low), _float32_of_bits(high)
        return element(low), element(high)

    return impl
