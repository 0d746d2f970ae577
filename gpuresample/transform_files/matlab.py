"""ITK's MATLAB transform files (``.mat``, MAT v4), as ITK's ``MatlabTransformIO``.

A file is a sequence of MAT v4 variables, two per transform: a column vector named by the
class (``AffineTransform_double_3_3``) holding the parameters, then one named ``fixed``
holding the fixed parameters. Each variable is a 20-byte header (five int32: type,
rows, columns, imaginary flag, name length), the NUL-terminated name and the values
column by column. ITK writes float64 in the machine's byte order (type 0 on
little-endian machines); ANTs writes its affines as ``AffineTransform_float_3_3`` in
float32 (type 10). Reading accepts float64 and float32 in either byte order (types 0, 10,
1000, 1010), as ITK's ``vnl_matlab_readhdr`` does; files written here are byte-identical
to SimpleITK's on a little-endian machine.

A file holds one transform (a composite of one member is written as that member; ITK
writes only the last member's parameters of a longer composite, so that is refused).

Example
-------
>>> import os, tempfile
>>> from gpuresample.transforms import AffineTransform
>>> path = os.path.join(tempfile.mkdtemp(), "t.mat")
>>> write(AffineTransform([[2.0, 0.0], [0.0, 1.0]], (1.0, 0.0)), path)
>>> os.path.getsize(path), read(path).parameters
(137, (2.0, 0.0, 0.0, 1.0, 1.0, 0.0))
"""

from __future__ import annotations

import os
import struct
from typing import NamedTuple, Sequence

import numpy as np

from ..io.common import atomic_write
from ..transforms import Transform
from ._common import COMPOSITE, TransformFileError, assemble, entries_of

__all__ = ["read", "write", "read_variables", "Variable"]

_HEADER = 20
# MAT v4 type codes ITK reads: 1000·(big-endian) + 10·(single precision), full real matrix
_TYPES = {0: ("<", "f8"), 10: ("<", "f4"), 1000: (">", "f8"), 1010: (">", "f4")}
_MAX_NAME = 4096


class Variable(NamedTuple):
    """One MAT v4 variable: its name and its values (float64, column-major order)."""

    name: str
    values: np.ndarray


# ---------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------

def read_variables(path: str | os.PathLike) -> list[Variable]:
    """The MAT v4 column vectors in a file, checking every size against the file's."""
    name = os.fspath(path)
    with open(name, "rb") as f:
        data = f.read()
    if not data:
        raise TransformFileError(f"{name}: the file is empty")
    out, pos = [], 0
    while pos < len(data):
        where = f"{name}: variable {len(out)} (byte {pos})"
        if len(data) - pos < _HEADER:
            raise TransformFileError(f"{where}: truncated header ({len(data) - pos} of "
                                     f"{_HEADER} bytes)")
        order, dtype = _byte_order(data, pos, where)
        _, rows, cols, imag, namelen = struct.unpack_from(order + "5i", data, pos)
        if imag != 0:
            raise TransformFileError(f"{where}: complex values are not transform parameters")
        if rows < 0 or (cols != 1 and (rows, cols) != (0, 0)):
            raise TransformFileError(f"{where}: a {rows}x{cols} matrix; ITK transform files "
                                     "hold column vectors only")
        if not 0 < namelen <= _MAX_NAME:
            raise TransformFileError(f"{where}: bad name length {namelen}: not a MAT v4 "
                                     "transform file or damaged")
        start = pos + _HEADER + namelen
        end = start + rows * np.dtype(dtype).itemsize
        if end > len(data):
            raise TransformFileError(f"{where}: truncated: the header declares {end - pos} "
                                     f"bytes, the file holds {len(data) - pos} from here")
        raw_name = data[pos + _HEADER:start]
        var_name = raw_name.split(b"\0", 1)[0].decode("ascii", errors="replace")
        values = np.frombuffer(data, dtype=order + dtype, count=rows, offset=start)
        out.append(Variable(var_name, values.astype(np.float64)))
        pos = end
    return out


def _byte_order(data: bytes, pos: int, where: str) -> tuple[str, str]:
    for order in "<>":
        code = struct.unpack_from(order + "i", data, pos)[0]
        if code in _TYPES and _TYPES[code][0] == order:
            return _TYPES[code]
    code = struct.unpack_from("<i", data, pos)[0]
    raise TransformFileError(f"{where}: not a MAT v4 file of float64 or float32 vectors "
                             f"(type code {code}); MATLAB v5/v7 files are not ITK "
                             "transform files")


def read(path: str | os.PathLike) -> Transform:
    """Read an ITK MATLAB transform file as SimpleITK's ``ReadTransform`` does."""
    name = os.fspath(path)
    variables = read_variables(name)
    if len(variables) % 2:
        raise TransformFileError(f"{name}: {variables[-1].name!r} has no fixed parameters "
                                 "after it: truncated (a transform is two variables, its "
                                 "parameters then 'fixed')")
    entries = [(p.name, p.values.tolist(), f.values.tolist())
               for p, f in zip(variables[::2], variables[1::2])]
    return assemble(entries, name)


# ---------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------

def write(transform: Transform, path: str | os.PathLike) -> None:
    """Write one transform as SimpleITK's ``WriteTransform`` writes a ``.mat`` file."""
    entries = entries_of(transform)
    if entries[0][0].startswith(COMPOSITE):
        if len(entries) != 2:
            raise ValueError(f"cannot write a composite of {len(entries) - 1} transforms to "
                             f"{os.fspath(path)}: a MATLAB transform file holds one transform "
                             "(use .tfm or .h5)")
        entries = entries[1:]
    (name, params, fixed), = entries
    content = _variable(name, params) + _variable("fixed", fixed)
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(content)


def _variable(name: str, values: Sequence[float]) -> bytes:
    label = name.encode("ascii") + b"\0"
    array = np.asarray(values, dtype="<f8")
    return struct.pack("<5i", 0, array.size, 1, 0, len(label)) + label + array.tobytes()
