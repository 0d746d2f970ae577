"""ITK's text transform files (``.tfm``, ``.txt``): "#Insight Transform File V1.0".

Layout (as ITK's ``TxtTransformIO`` writes it)::

    #Insight Transform File V1.0
    #Transform 0
    Transform: AffineTransform_double_3_3
    Parameters: 1 0 0 0 1 0 0 0 1 0.5 0 0
    FixedParameters: 0 0 0

A composite is ``CompositeTransform_double_D_D`` with no parameter lines, followed by its
members in order of addition (nested composites are written flattened: ITK cannot write
them and they apply in the same order). Displacement fields are stored inline, like every
other kind. Numbers are written as ITK's ``ConvertNumberToString`` does (the shortest
decimal that reads back to the same double, in ECMAScript notation: ``1e-7``, ``1e+21``,
``-0`` as ``0``), so files are byte-identical to SimpleITK's; they are read with correct
rounding, as ITK's stream parser does, so parameters come back bit for bit.

Reading follows ITK: ``#`` lines and blank lines are skipped, other lines are
``Name: value`` (unknown names ignored), the header line is optional. Unlike ITK, a
transform missing its ``Parameters`` or ``FixedParameters`` line, a wrong number of
parameters, or a value that is not a number are errors naming the file and the line.

Example
-------
>>> import os, tempfile
>>> from gpuresample.transforms import TranslationTransform
>>> path = os.path.join(tempfile.mkdtemp(), "t.tfm")
>>> write(TranslationTransform((0.1, -2e-7)), path)
>>> print(open(path).read(), end="")
#Insight Transform File V1.0
#Transform 0
Transform: TranslationTransform_double_2_2
Parameters: 0.1 -2e-7
FixedParameters: 
>>> read(path).offset
(0.1, -2e-07)
"""

from __future__ import annotations

import math
import os
import re
from typing import Sequence

from ..io.common import atomic_write
from ..transforms import Transform
from ._common import COMPOSITE, Entry, TransformFileError, assemble, entries_of, parse_class_name

__all__ = ["read", "write", "format_number", "HEADER"]

HEADER = "#Insight Transform File V1.0"
# characters a decimal number can hold (inf, nan, hex and '_' are not numbers to ITK)
_NOT_NUMERIC = re.compile(r"[^0-9eE+\-.\s]")


# ---------------------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------------------

def format_number(value: float) -> str:
    """``value`` as ITK's ``ConvertNumberToString`` writes a double (double-conversion's
    ECMAScript shortest form).

    >>> [format_number(v) for v in (1.0, -0.0, 0.1, 1e-7, 1e-6, 1e20, 1e21, 2.5e-300)]
    ['1', '0', '0.1', '1e-7', '0.000001', '100000000000000000000', '1e+21', '2.5e-300']
    """
    value = float(value)
    if value == 0.0:
        return "0"
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    text = repr(value)     # the shortest round-trip digits, as double-conversion finds them
    if "e" not in text:    # 1e-4 <= |value| < 1e16: the same digits, without a trailing ".0"
        return text[:-2] if text.endswith(".0") else text
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = text.lstrip("-").partition("e")
    head, _, tail = mantissa.partition(".")
    digits = (head + tail).rstrip("0") or "0"
    k, n = len(digits), int(exponent) + len(head)   # value = 0.digits × 10^n
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * -n + digits
    else:
        e = n - 1
        body = digits[0] + ("." + digits[1:] if k > 1 else "") + ("e+" if e >= 0 else "e-") \
            + str(abs(e))
    return sign + body


def _numbers(value: str, path: str, lineno: int, tag: str) -> list[float]:
    bad = _NOT_NUMERIC.search(value)
    tokens = value.split()
    if bad is None:
        try:
            return [float(tok) for tok in tokens]
        except ValueError:
            pass
    token = next(tok for tok in tokens if not _is_number(tok))
    raise TransformFileError(f"{path}, line {lineno}: {tag} holds {token[:40]!r}, which is "
                             "not a number")


def _is_number(token: str) -> bool:
    if _NOT_NUMERIC.search(token):
        return False
    try:
        float(token)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------

def read(path: str | os.PathLike) -> Transform:
    """Read an ITK text transform file (``.tfm`` / ``.txt``) as SimpleITK's
    ``ReadTransform`` does; TransformFileError naming the file and the problem."""
    name = os.fspath(path)
    with open(name, "rb") as f:
        data = f.read()
    if not data.strip():
        raise TransformFileError(f"{name}: the file is empty")
    try:
        if b"\0" in data:
            raise UnicodeDecodeError("ascii", data, 0, 1, "NUL byte")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TransformFileError(f"{name}: not an ITK transform file (binary data, not "
                                 "text)") from None
    return assemble(parse(text, name), name)


def parse(text: str, path: str) -> list[Entry]:
    """The entries (class name, parameters, fixed parameters) of a text file's content."""
    entries: list[list] = []
    lines: list[int] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tag, sep, value = line.partition(":")
        tag, value = tag.strip(), value.strip()
        if not sep:
            raise TransformFileError(f"{path}, line {lineno}: not an ITK transform file "
                                     f"(expected 'Name: value' lines, got {line[:60]!r})")
        if tag == "Transform":
            parse_class_name(value, path, len(entries))    # an unknown class fails here
            entries.append([value, None, None])
            lines.append(lineno)
        elif tag in ("Parameters", "FixedParameters"):
            if not entries:
                raise TransformFileError(f"{path}, line {lineno}: {tag} before any "
                                         "'Transform:' line")
            slot = 1 if tag == "Parameters" else 2
            if entries[-1][slot] is not None:
                raise TransformFileError(f"{path}, line {lineno}: a second {tag} line for "
                                         f"transform {len(entries) - 1}")
            entries[-1][slot] = _numbers(value, path, lineno, tag)
        elif tag == "ComponentTransformFile":
            raise TransformFileError(f"{path}, line {lineno}: component transform files "
                                     "(ComponentTransformFile) are not supported")
        # ITK ignores any other tag
    for index, ((name, params, fixed), lineno) in enumerate(zip(entries, lines)):
        composite = parse_class_name(name, path, index)[0] == COMPOSITE
        if composite and (params is not None or fixed is not None):
            raise TransformFileError(f"{path}, line {lineno}: a {COMPOSITE} entry has no "
                                     "parameters (its members follow it)")
        if not composite and (params is None or fixed is None):
            missing = "Parameters" if params is None else "FixedParameters"
            raise TransformFileError(f"{path}: transform {index} ({name}, line {lineno}) has "
                                     f"no {missing} line: the file is truncated or damaged")
    return [tuple(e) for e in entries]


# ---------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------

def write(transform: Transform, path: str | os.PathLike) -> None:
    """Write ``transform`` as SimpleITK's ``WriteTransform`` writes a ``.tfm`` file."""
    text = format_entries(entries_of(transform))
    with atomic_write(path) as tmp:
        with open(tmp, "w", encoding="ascii", newline="\n") as f:
            f.write(text)


def format_entries(entries: Sequence[Entry]) -> str:
    """The text of a file holding ``entries``."""
    lines = [HEADER]
    for k, (name, params, fixed) in enumerate(entries):
        lines += [f"#Transform {k}", f"Transform: {name}"]
        if params is not None:
            lines.append("Parameters: " + " ".join(map(format_number, params)))
            lines.append("FixedParameters: " + " ".join(map(format_number, fixed)))
    return "\n".join(lines) + "\n"
