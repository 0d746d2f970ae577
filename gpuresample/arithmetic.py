"""Image operators with SimpleITK's semantics, the physical-space check, and numpy ufuncs.

Operators (``+ - * / // -x abs() < <= == != > >= & | ^ ~``) between two images or an image
and a real number behave as SimpleITK's Python operators (``Add``, ``DivideReal``,
``DivideFloor``, ``Greater``, ``And``, ...):

* two images must have the same pixel type and occupy the same physical space: origins and
  spacings within ``coordinate`` tolerance x the FIRST image's x spacing, directions within
  ``direction`` tolerance (absolute); both default 1e-6, see :func:`set_tolerances`;
* the result has the first image's size and geometry and no metadata; a second image that is
  larger is read over the first one's index range [0, N) (SimpleITK's requested region); one
  that is smaller along any axis is refused, as in SimpleITK;
* a constant is first converted to the pixel type (a C cast: 2.7 -> 2 for UINT8), then the
  operation runs in the pixel type, so integers wrap (UINT8 250 + 10 -> 4);
* ``/`` gives FLOAT64 (division in float64); ``//`` keeps the type: floor(a / b) in float64,
  +-inf (integer division by zero) becoming the type's max / min; comparisons give UINT8 0/1;
  ``& | ^ ~`` are bitwise on integer types;
* the pixel types SimpleITK supports per operator: vector images ``+ -`` (and unary ``-``,
  ``abs``), complex images ``+ - *`` and unary ``-``; others raise TypeError.

numpy ufuncs called on images (``np.sqrt(img)``, ``np.add(a, b)``) follow numpy's type rules
instead; they keep the first image's geometry after the same physical-space check (and need
equal sizes). Boolean results become UINT8 0/1 images. Reductions and the other ufunc methods
(``np.add.reduce``, ``np.sum(img)``, ``.accumulate``, ``.outer``) return plain arrays.

This module works on the Image type it is given (``type(image)``), so it imports no image
module. 4-D images are accepted too (SimpleITK's filters take 2-D and 3-D only).

Example
-------
>>> import numpy as np, gpuresample as gr
>>> a = gr.image_from_array(np.array([[250, 5]], np.uint8))
>>> np.asarray(a + 10).tolist(), np.asarray(a + 2.7).tolist(), np.asarray(a > 100).tolist()
([[4, 15]], [[252, 7]], [[1, 0]])
>>> (a / 2).pixel_type.name, np.sqrt(a, dtype=np.float32).pixel_type.name
('FLOAT64', 'FLOAT32')
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import numpy as np

from . import _arrays
from .pixeltypes import pixel_type_of

__all__ = ["Tolerances", "get_tolerances", "set_tolerances", "check_same_space",
           "c_cast_value", "c_cast_array", "binary", "unary", "array_ufunc"]

_AXES = "xyzt"


# ---------------------------------------------------------------- tolerances
class Tolerances(NamedTuple):
    """The physical-space tolerances of image arithmetic (SimpleITK's global defaults)."""

    coordinate: float
    direction: float


_tolerances = Tolerances(1e-6, 1e-6)


def get_tolerances() -> Tolerances:
    """The current tolerances: ``Tolerances(coordinate=1e-6, direction=1e-6)`` by default.

    >>> get_tolerances()
    Tolerances(coordinate=1e-06, direction=1e-06)
    """
    return _tolerances


def set_tolerances(coordinate: float | None = None, direction: float | None = None) -> Tolerances:
    """Set the physical-space tolerances of image arithmetic; returns the previous ones.

    Parameters
    ----------
    coordinate : float, optional
        Origins and spacings may differ by ``coordinate x |first image's x spacing|``
        (SimpleITK's ``SetGlobalDefaultCoordinateTolerance``).
    direction : float, optional
        Direction matrix entries may differ by this much (absolute;
        ``SetGlobalDefaultDirectionTolerance``).

    A value not given is left as it is. Global to the process, as in SimpleITK.

    >>> previous = set_tolerances(coordinate=1e-3)
    >>> get_tolerances().coordinate
    0.001
    >>> _ = set_tolerances(*previous)
    """
    global _tolerances
    previous = _tolerances
    values = {}
    for name, value in (("coordinate", coordinate), ("direction", direction)):
        if value is None:
            continue
        if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
            raise ValueError(f"the {name} tolerance must be a finite number >= 0, "
                             f"got {value!r}")
        values[name] = float(value)
    _tolerances = previous._replace(**values)
    return previous


def check_same_space(first: Any, second: Any) -> None:
    """Raise ValueError unless two images occupy the same physical space, as ITK checks it.

    Origin and spacing: ``|a - b| <= coordinate·|first.spacing[0]|`` per component;
    direction: ``|a - b| <= direction`` per entry. The message names the field, the axis
    (or matrix entry), the difference and the tolerance. Sizes are not compared here.

    >>> import gpuresample as gr
    >>> a, b = gr.Image((4, 4)), gr.Image((4, 4))
    >>> b.origin = (3e-6, 0.0)
    >>> check_same_space(a, b)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the images do not occupy the same physical space: their origins differ by 3e-06 along x ...
    """
    if first.dimension != second.dimension:
        raise ValueError(f"the images have different dimensions: {first.dimension}-D and "
                         f"{second.dimension}-D")
    coordinate, direction = _tolerances
    tol = abs(coordinate * first.spacing[0])
    relative = f"{coordinate:g} x the first image's x spacing {first.spacing[0]:g}"
    d = first.dimension
    for field, a, b, t, how in (
            ("origin", first.origin, second.origin, tol, relative),
            ("spacing", first.spacing, second.spacing, tol, relative),
            ("direction", first.direction.ravel(), second.direction.ravel(),
             direction, "absolute")):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        diff = np.abs(a - b)
        bad = ~(diff <= t)          # as vnl's is_equal: NaN counts as different
        if bad.any():
            i = int(np.argmax(np.where(bad, diff, -1.0)))
            where = (f"at row {i // d}, column {i % d}" if field == "direction"
                     else f"along {_AXES[i]}")
            raise ValueError(f"the images do not occupy the same physical space: their "
                             f"{field}s differ by {diff[i]:.3g} {where} ({float(a[i])!r} vs "
                             f"{float(b[i])!r}), more than the tolerance {t:.3g} ({how}); see "
                             "gpuresample.set_tolerances")


# ---------------------------------------------------------------- C conversions
def c_cast_value(value: float | int, dtype: Any) -> np.generic:
    """One number converted to ``dtype`` as C++'s ``static_cast`` does on x86-64.

    Floats to integers truncate toward zero; values out of the range go through the x86
    conversion instructions: 8-, 16-, 32-bit signed and 8-, 16-bit unsigned types via a
    32-bit conversion, UINT32 and INT64 via a 64-bit one (out of range or NaN: the
    "integer indefinite" -2^(bits-1)), UINT64 with its 2^63 split; then the low bits are
    kept. Python integers wrap modulo 2^bits. This is what SimpleITK does to the constant
    of ``image + constant`` (C++ calls it undefined outside the range).

    >>> c_cast_value(-3.7, np.uint8), c_cast_value(2.7, "uint8"), c_cast_value(300, np.uint8)
    (np.uint8(253), np.uint8(2), np.uint8(44))
    >>> c_cast_value(1e10, np.int32), c_cast_value(float("nan"), np.int16)
    (np.int32(-2147483648), np.int16(0))
    """
    dt = np.dtype(dtype)
    if dt.kind in "fc":
        with np.errstate(over="ignore"):
            return dt.type(value)
    bits = 8 * dt.itemsize
    if isinstance(value, (int, np.integer)):
        raw = int(value)
    elif dt == np.uint64 and value >= 2.0 ** 63:        # False for NaN, as x86's comisd
        raw = _x86_truncate(value - 2.0 ** 63, 64) ^ (1 << 63)
    else:
        raw = _x86_truncate(value, 64 if bits == 64 or dt == np.uint32 else 32)
    raw &= (1 << bits) - 1
    if dt.kind == "i" and raw >= 1 << (bits - 1):
        raw -= 1 << bits
    return dt.type(raw)


def _x86_truncate(value: float, bits: int) -> int:
    """cvttsd2si: truncation toward zero; NaN and out-of-range values give -2^(bits-1)."""
    low = -(1 << (bits - 1))
    if not math.isfinite(value):
        return low
    t = math.trunc(value)
    return t if low <= t < -low else low


def c_cast_array(array: Any, dtype: Any) -> Any:
    """``array.astype(dtype)``, silencing numpy's warnings for values out of the range.

    On the host this is numpy's C conversion, on x86 SimpleITK's wrap-arounds for finite
    values (out-of-range conversions are undefined in C++: NaN, infinities and floats
    beyond 32 bits to UINT32 may differ); on the GPU it is CuPy's (CUDA saturates).

    >>> c_cast_array(np.array([-5.5, 300.7]), np.uint8).tolist()
    [251, 44]
    """
    with np.errstate(invalid="ignore", over="ignore"):
        return array.astype(dtype)


# ---------------------------------------------------------------- operators
@dataclass(frozen=True)
class _Operation:
    symbol: str
    sitk: str                  # SimpleITK's filter, for messages
    kinds: str                 # numpy dtype kinds of the pixel (component) type it takes
    vector: bool               # whether vector images are taken too
    compute: Callable[..., Any]
    integer_constant: bool = False   # SimpleITK's operator converts with int(), not float()


def _as_float64(x: Any) -> Any:
    return x.astype(np.float64)


def _divide_floor(a: Any, b: Any, dtype: np.dtype) -> Any:
    """ITK's DivFloor: floor(double(a) / double(b)); integer +-inf -> type max / min, and
    NaN (0 / 0) -> the scalar C cast of NaN (numpy's vectorised cast differs for UINT32)."""
    t = np.floor(_as_float64(a) / _as_float64(b))
    out = c_cast_array(t, dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        out[t == np.inf] = info.max
        out[t == -np.inf] = info.min
        out[t != t] = c_cast_value(math.nan, dtype)
    return out


def _multiply(a: Any, b: Any, dtype: np.dtype) -> Any:
    """a * b; complex as std::complex does it, (ac - bd) + (ad + bc)i, without the fused
    multiply-adds numpy's complex loops use."""
    product = a * b
    if dtype.kind == "c":
        product.real = a.real * b.real - a.imag * b.imag
        product.imag = a.real * b.imag + a.imag * b.real
    return product


def _compare(function: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    return lambda a, b, dtype: function(a, b).astype(np.uint8)


_REAL = "iuf"
_OPERATIONS: dict[str, _Operation] = {
    "add": _Operation("+", "Add", _REAL + "c", True, lambda a, b, dt: a + b),
    "sub": _Operation("-", "Subtract", _REAL + "c", True, lambda a, b, dt: a - b),
    "mul": _Operation("*", "Multiply", _REAL + "c", False, _multiply),
    "truediv": _Operation("/", "DivideReal", _REAL, False,
                          lambda a, b, dt: _as_float64(a) / _as_float64(b)),
    "floordiv": _Operation("//", "DivideFloor", _REAL, False, _divide_floor),
    "lt": _Operation("<", "Less", _REAL, False, _compare(lambda a, b: a < b)),
    "le": _Operation("<=", "LessEqual", _REAL, False, _compare(lambda a, b: a <= b)),
    "eq": _Operation("==", "Equal", _REAL, False, _compare(lambda a, b: a == b)),
    "ne": _Operation("!=", "NotEqual", _REAL, False, _compare(lambda a, b: a != b)),
    "gt": _Operation(">", "Greater", _REAL, False, _compare(lambda a, b: a > b)),
    "ge": _Operation(">=", "GreaterEqual", _REAL, False, _compare(lambda a, b: a >= b)),
    "and": _Operation("&", "And", "iu", False, lambda a, b, dt: a & b, True),
    "or": _Operation("|", "Or", "iu", False, lambda a, b, dt: a | b, True),
    "xor": _Operation("^", "Xor", "iu", False, lambda a, b, dt: a ^ b, True),
    "neg": _Operation("-", "UnaryMinus", "ifc", True, lambda a, dt: -a),
    "abs": _Operation("abs", "Abs", _REAL, True, lambda a, dt: abs(a)),
    "invert": _Operation("~", "BitwiseNot", "iu", False, lambda a, dt: ~a),
}
_KIND_NAMES = {"i": "signed integer", "u": "unsigned integer", "f": "floating",
               "c": "complex"}


def binary(name: str, image: Any, other: Any, reflected: bool = False) -> Any:
    """``image <op> other`` (``other <op> image`` when ``reflected``), SimpleITK's way.

    ``name`` is the operator's dunder name without underscores ("add", "truediv", "lt",
    ...). ``other`` is an image of the same type or a real number; other objects give
    ``NotImplemented`` (so Python can try theirs), numpy arrays and complex numbers a
    TypeError that points to numpy's ufuncs.

    >>> import gpuresample as gr
    >>> img = gr.image_from_array(np.array([[7, -7]], np.int16))
    >>> np.asarray(binary("floordiv", img, 2)).tolist()
    [[3, -4]]
    >>> np.asarray(binary("sub", img, 3, reflected=True)).tolist()
    [[-4, 10]]
    """
    op = _OPERATIONS[name]
    if isinstance(other, type(image)):
        _check_supported(op, image)
        _check_pair(op, image, other)
        a, b = image._array, _covering_block(image, other)
    else:
        value = _constant(op, other)
        if value is NotImplemented:
            return NotImplemented
        _check_supported(op, image)
        a, b = image._array, c_cast_value(value, image.dtype)
    if reflected:
        a, b = b, a
    with np.errstate(all="ignore"):
        result = op.compute(a, b, image.dtype)
    return _result_image(image, result)


def unary(name: str, image: Any) -> Any:
    """``-image``, ``abs(image)`` or ``~image`` ("neg", "abs", "invert"), SimpleITK's way.

    Integers wrap (INT8 -(-128) -> -128); unary minus needs a signed, floating or
    complex type, ``~`` an integer type, ``abs`` a real type.

    >>> import gpuresample as gr
    >>> np.asarray(unary("invert", gr.image_from_array(np.array([[5, 0]], np.uint8)))).tolist()
    [[250, 255]]
    """
    op = _OPERATIONS[name]
    _check_supported(op, image)
    with np.errstate(all="ignore"):
        return _result_image(image, op.compute(image._array, image.dtype))


def _check_supported(op: _Operation, image: Any) -> None:
    pixel_type = image.pixel_type
    kind = image.dtype.kind
    if kind in op.kinds and (op.vector or not pixel_type.is_vector):
        return
    kinds = ", ".join(_KIND_NAMES[k] for k in op.kinds)
    vectors = " and vector images of those" if op.vector else ""
    raise TypeError(f"'{op.symbol}' ({op.sitk} in SimpleITK) is not defined for "
                    f"{pixel_type.name} images: it takes {kinds} images{vectors}, as "
                    "SimpleITK does; cast first (gr.cast), or use the numpy ufunc on the "
                    "image for numpy's rules")


def _constant(op: _Operation, value: Any) -> Any:
    """The constant operand as SimpleITK's operators read it: float(x), or int(x) for the
    bitwise operators. NotImplemented for objects that are not numbers."""
    if isinstance(value, (complex, np.complexfloating)) or isinstance(value, np.ndarray) \
            or _arrays.is_cupy_array(value):
        raise TypeError(f"'{op.symbol}' combines an image with an image or a real number, "
                        f"got {type(value).__name__}; for arrays or complex numbers call the "
                        "numpy ufunc (e.g. np.add(img, value)), which follows numpy's rules")
    if not isinstance(value, (numbers.Real, np.bool_)):
        return NotImplemented
    if not op.integer_constant:
        return float(value)
    try:
        return int(value)
    except (ValueError, OverflowError):
        raise ValueError(f"'{op.symbol}' takes an integer constant, got {value!r}") from None


def _check_pair(op: _Operation, first: Any, second: Any) -> None:
    if first.pixel_type is not second.pixel_type:
        raise TypeError(f"'{op.symbol}' needs two images of the same pixel type, got "
                        f"{first.pixel_type.name} and {second.pixel_type.name}: cast the "
                        f"second, gr.cast(image2, gr.PixelType.{first.pixel_type.name}) "
                        "(SimpleITK: the image2 input may need casting)")
    _check_compatible(first, second)
    if first.number_of_components != second.number_of_components:
        raise ValueError(f"the images have {first.number_of_components} and "
                         f"{second.number_of_components} components per pixel; they must be "
                         "equal (SimpleITK would read past the pixels of the shorter one)")


def _check_compatible(first: Any, second: Any) -> None:
    if first.device != second.device:
        raise ValueError(f"the images are on different devices ({first.device} and "
                         f"{second.device}): move one with .to(...)")
    check_same_space(first, second)


def _covering_block(first: Any, second: Any) -> Any:
    """The second image's pixels over the first one's index range, as ITK reads them."""
    if second.size == first.size:
        return second._array
    smaller = [_AXES[i] for i, (m, n) in enumerate(zip(first.size, second.size)) if n < m]
    if smaller:
        raise ValueError(f"the second image (size {second.size}) is smaller than the first "
                         f"(size {first.size}) along {', '.join(smaller)}: the result has "
                         "the first image's size, so the second must cover it (SimpleITK: "
                         "requested region is outside the largest possible region)")
    return second._array[tuple(slice(0, n) for n in first.size[::-1])]


def _result_image(like: Any, array: Any) -> Any:
    """An image of ``array`` (same layout as ``like``'s pixels) with ``like``'s geometry."""
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    if not array.flags.c_contiguous:
        array = array.copy(order="C")
    return type(like)._from_array(array, is_vector=like.pixel_type.is_vector,
                                  origin=like.origin, spacing=like.spacing,
                                  direction=like.direction)


# ---------------------------------------------------------------- numpy ufuncs
def array_ufunc(image_type: type, ufunc: np.ufunc, method: str, inputs: tuple,
                kwargs: dict) -> Any:
    """``Image.__array_ufunc__``: numpy's rules, the first image's geometry kept.

    Elementwise calls (``method == "__call__"``) check that every image occupies the first
    one's physical space and has its size, run the ufunc on the pixel arrays, and return
    images (booleans as UINT8 0/1); ``out=`` may name images, which are written and
    returned. Results of another shape (broadcast against a larger array) or a dtype no
    image holds raise. Other methods (reduce, accumulate, reduceat, outer, at) run on the
    pixel arrays and return what numpy returns: plain arrays or scalars.

    >>> import gpuresample as gr
    >>> img = gr.image_from_array(np.array([[1.0, 4.0]]))
    >>> np.sqrt(img).size, np.add.reduce(img, axis=None)
    ((2, 1), np.float64(5.0))
    """
    def is_image(x: Any) -> bool:
        return isinstance(x, image_type)

    def unwrap(x: Any) -> Any:
        return x._array if is_image(x) else x

    outs = kwargs.get("out", ())
    if method != "__call__":
        if any(is_image(o) for o in outs):
            raise TypeError(f"out= with an image is supported for elementwise calls only, "
                            f"not {ufunc.__name__}.{method} (whose result has no geometry)")
        return getattr(ufunc, method)(*map(unwrap, inputs), **kwargs)

    images = [x for x in inputs if is_image(x)] + [o for o in outs if is_image(o)]
    first = images[0]
    for other in images[1:]:
        _check_compatible(first, other)
        if other._array.shape != first._array.shape:
            raise ValueError(f"np.{ufunc.__name__} needs images of one size: got "
                             f"{first.size} ({first.number_of_components} components) and "
                             f"{other.size} ({other.number_of_components} components)")
    if outs:
        kwargs = dict(kwargs, out=tuple(unwrap(o) for o in outs))
    results = ufunc(*map(unwrap, inputs), **kwargs)
    results = results if ufunc.nout > 1 else (results,)
    wrapped = []
    for i, result in enumerate(results):
        out = outs[i] if i < len(outs) else None
        wrapped.append(out if is_image(out) else _ufunc_result(ufunc, first, result, out))
    return tuple(wrapped) if ufunc.nout > 1 else wrapped[0]


def _ufunc_result(ufunc: np.ufunc, first: Any, result: Any, out: Any) -> Any:
    if out is not None:
        return result                     # written into a plain array the caller gave
    shape = getattr(result, "shape", ())
    if shape != first._array.shape:
        raise ValueError(f"np.{ufunc.__name__} gave shape {shape}, not the image's pixel "
                         f"shape {first._array.shape}, so the result has no geometry; call it "
                         "on the arrays (np.asarray(img)) for a plain array")
    dtype = np.dtype(np.uint8) if result.dtype == np.bool_ else result.dtype
    try:
        pixel_type_of(dtype, first.pixel_type.is_vector)
    except TypeError as exc:
        raise TypeError(f"np.{ufunc.__name__} gave {result.dtype} pixels, which no image "
                        f"holds ({exc}): ask numpy for another type, e.g. "
                        f"np.{ufunc.__name__}(img, dtype=np.float32), or cast the image "
                        "first (gr.cast)") from None
    return _result_image(first, result)

