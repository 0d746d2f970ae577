"""Pixel types: SimpleITK's set, their numpy component dtypes and readable names.

A pixel type is a scalar, complex or vector kind over one component dtype. Wherever
gpuresample asks for a pixel type it accepts a :class:`PixelType`, a numpy dtype (or
anything ``numpy.dtype`` accepts, e.g. ``"int16"``), or a SimpleITK pixel id integer.

Example
-------
>>> from gpuresample import PixelType, as_pixel_type
>>> as_pixel_type("uint8") is PixelType.UINT8
True
>>> PixelType.VECTOR_FLOAT32.dtype, PixelType.VECTOR_FLOAT32.is_vector
(dtype('float32'), True)
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

__all__ = ["PixelType", "as_pixel_type", "pixel_type_of"]

_SCALAR_DTYPES = (
    "int8", "uint8", "int16", "uint16", "int32", "uint32",
    "int64", "uint64", "float32", "float64",
)
_DESCRIPTIONS = {
    "int8": "8-bit signed integer", "uint8": "8-bit unsigned integer",
    "int16": "16-bit signed integer", "uint16": "16-bit unsigned integer",
    "int32": "32-bit signed integer", "uint32": "32-bit unsigned integer",
    "int64": "64-bit signed integer", "uint64": "64-bit unsigned integer",
    "float32": "32-bit float", "float64": "64-bit float",
    "complex64": "complex of 32-bit float", "complex128": "complex of 64-bit float",
}


class PixelType(enum.IntEnum):
    """Every SimpleITK pixel type but the label (run-length) maps; values are SimpleITK ids.

    SimpleITK's ``sitkLabelUInt8`` ... ``sitkLabelUInt64`` hold run-length encoded label
    maps that cannot be resampled or turned into arrays; gpuresample has no such type
    (store labels as ``UINT8``/``UINT16``/... scalar images instead).
    """

    INT8 = 0
    UINT8 = 1
    INT16 = 2
    UINT16 = 3
    INT32 = 4
    UINT32 = 5
    INT64 = 6
    UINT64 = 7
    FLOAT32 = 8
    FLOAT64 = 9
    COMPLEX64 = 10
    COMPLEX128 = 11
    VECTOR_INT8 = 12
    VECTOR_UINT8 = 13
    VECTOR_INT16 = 14
    VECTOR_UINT16 = 15
    VECTOR_INT32 = 16
    VECTOR_UINT32 = 17
    VECTOR_INT64 = 18
    VECTOR_UINT64 = 19
    VECTOR_FLOAT32 = 20
    VECTOR_FLOAT64 = 21

    @property
    def is_vector(self) -> bool:
        """True for the VECTOR_* types (any number of components per pixel)."""
        return self.value >= 12

    @property
    def is_complex(self) -> bool:
        """True for COMPLEX64 and COMPLEX128."""
        return self.value in (10, 11)

    @property
    def dtype(self) -> np.dtype:
        """numpy dtype of one component (complex64 for COMPLEX64, float32 for VECTOR_FLOAT32)."""
        if self.is_complex:
            return np.dtype("complex64" if self is PixelType.COMPLEX64 else "complex128")
        return np.dtype(_SCALAR_DTYPES[self.value % 12])

    @property
    def description(self) -> str:
        """Readable name, e.g. ``"16-bit signed integer"`` or ``"vector of 8-bit unsigned integer"``."""
        base = _DESCRIPTIONS[self.dtype.name]
        return f"vector of {base}" if self.is_vector else base

    @property
    def scalar(self) -> "PixelType":
        """The scalar type of one component (VECTOR_UINT8 -> UINT8)."""
        return PixelType(self.value - 12) if self.is_vector else self

    @property
    def vector(self) -> "PixelType":
        """The vector type over this component type (UINT8 -> VECTOR_UINT8)."""
        if self.is_complex:
            raise TypeError(f"there is no vector type of {self.description}")
        return self if self.is_vector else PixelType(self.value + 12)

    def __str__(self) -> str:
        return self.description


def pixel_type_of(dtype: Any, is_vector: bool = False) -> PixelType:
    """The pixel type of an array with component dtype ``dtype``.

    Raises ``TypeError`` for dtypes SimpleITK has no pixel type for (bool, float16,
    strings, non-native byte order, ...).

    >>> pixel_type_of("float32", is_vector=True).name
    'VECTOR_FLOAT32'
    """
    dt = np.dtype(dtype)
    if not dt.isnative:
        raise TypeError(f"dtype {dt} has non-native byte order; convert it with "
                        "arr.astype(arr.dtype.newbyteorder('='))")
    name = dt.name
    if name in ("complex64", "complex128"):
        if is_vector:
            raise TypeError("vector images of complex pixels are not supported")
        return PixelType.COMPLEX64 if name == "complex64" else PixelType.COMPLEX128
    if name not in _SCALAR_DTYPES:
        raise TypeError(f"dtype {dt} has no pixel type; supported: "
                        f"{', '.join(_SCALAR_DTYPES)}, complex64, complex128")
    pt = PixelType(_SCALAR_DTYPES.index(name))
    return pt.vector if is_vector else pt


def as_pixel_type(obj: Any) -> PixelType:
    """Turn a PixelType, SimpleITK pixel id, numpy dtype or dtype string into a PixelType.

    Strings may also name the enum (``"VECTOR_UINT8"``, case-insensitive). A plain dtype
    gives the scalar type.

    >>> as_pixel_type(2).name, as_pixel_type("vector_uint8").name
    ('INT16', 'VECTOR_UINT8')
    """
    if isinstance(obj, PixelType):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, bool):
        if 22 <= int(obj) <= 25:
            raise TypeError("SimpleITK label-map pixel types (sitkLabelUInt8 ... 64) are not "
                            "supported; use a scalar integer type such as UINT8 or UINT16")
        try:
            return PixelType(int(obj))
        except ValueError:
            raise TypeError(f"{obj} is not a pixel type id") from None
    if isinstance(obj, str) and obj.upper() in PixelType.__members__:
        return PixelType[obj.upper()]
    try:
        dt = np.dtype(obj)
    except TypeError:
        raise TypeError(f"{obj!r} is not a pixel type") from None
    return pixel_type_of(dt)
