"""NRRD files (``.nrrd``, and ``.nhdr`` headers with a detached data file), as ITK reads them.

pynrrd (extra ``nrrd``) parses the header fields; pixels are decoded here so that every
size is checked before allocating and gzip streams are inflated no further than the
header declares (pynrrd inflates without a limit). The rules are ITK's NrrdImageIO
(SimpleITK 2.5.7, SEMANTICS §9.2):

* Domain axes (kinds ``domain``, ``space``, ``time`` or unknown) are the image axes; one
  other axis (``vector``, ``RGB-color``, ``3-vector``, ``list``, ...) holds the pixel
  components, wherever it is; kind ``complex`` (size 2, float/double) gives a complex image.
* Spacing is the norm of each ``space directions`` vector and the direction that vector
  times ``1 / norm`` (teem's arithmetic, so the bits are ITK's); origin is
  ``space origin``. ``right-anterior-superior`` negates x and y of both,
  ``left-anterior-superior`` y; other spaces are taken as they are. Without a space,
  ``spacings`` give the spacing (a negative one flips its direction column, as ITK's
  reader does) and ``axis mins``/``axis maxs`` the origin (cell centring by default).
* Encodings raw, gzip, ascii/text and hex; ``endian``, ``line skip``, ``byte skip``
  (``-1`` for raw data at the end of the file) and a single detached ``data file``.
* Meta-data as SimpleITK's dictionary: ``ITK_InputFilterName = NrrdImageIO``, every
  ``key:=value`` pair (unescaped), ``NRRD_space`` (LPS for the spaces converted to it),
  ``NRRD_content``, and per image axis ``NRRD_kinds[i]``, ``NRRD_centerings[i]``,
  ``NRRD_labels[i]``, with ``NRRD_kinds[pixel]`` for the component axis. Thicknesses,
  old min/max and the measurement frame are numbers in ITK's dictionary that SimpleITK
  cannot show, and are not carried.

Writing reproduces ITK's files byte for byte (uncompressed): ``space:
left-posterior-superior`` for 3-D images (``space dimension: N`` otherwise, or
``NRRD_space`` when it names another space of that dimension that needs no
conversion), ``space directions`` = ``spacing_d * D[:, d]`` with ``%.17g`` numbers,
``kinds`` (``vector``/``complex`` first for non-scalar pixels, ``NRRD_kinds[i]``
otherwise ``domain``), ``NRRD_centerings[i]``/``NRRD_labels[i]``/``NRRD_content`` as
fields and every other entry as an escaped ``key:=value`` pair; ``compress`` -> gzip. A
``.nhdr`` gets its data beside it as ``<name>.raw`` (``.raw.gz``), as ITK names it.

Deliberate differences: files ITK reads to garbage or refuses are refused here with a
clear message (short or overlong payloads, damaged gzip streams); ``NRRD_space`` naming
right/left-anterior-superior is ignored on write with a warning (ITK writes that space
over LPS numbers, which reads back mirrored).

Example
-------
>>> import os, tempfile, numpy as np
>>> from gpuresample import image_from_array
>>> img = image_from_array(np.arange(24, dtype=np.int16).reshape(2, 3, 4))
>>> img.spacing = (0.5, 0.75, 2.0)
>>> path = os.path.join(tempfile.mkdtemp(), "a.nrrd")
>>> write(img, path, compress=True)
>>> back = read(path)
>>> back.spacing, back.metadata["NRRD_space"]
((0.5, 0.75, 2.0), 'left-posterior-superior')
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import numpy as np

from ..image import Image
from .common import ImageFileError, atomic_write, check_payload_size, gzip_compress, require
from .metaimage import format_numbers, inflate_exactly, stack_series

__all__ = ["read", "write", "read_series"]

_TYPES = {
    "int8": ("signed char", "int8", "int8_t"),
    "uint8": ("uchar", "unsigned char", "uint8", "uint8_t"),
    "int16": ("short", "short int", "signed short", "signed short int", "int16", "int16_t"),
    "uint16": ("ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t"),
    "int32": ("int", "signed int", "int32", "int32_t"),
    "uint32": ("uint", "unsigned int", "uint32", "uint32_t"),
    "int64": ("longlong", "long long", "long long int", "signed long long",
              "signed long long int", "int64", "int64_t"),
    "uint64": ("ulonglong", "unsigned long long", "unsigned long long int", "uint64",
               "uint64_t"),
    "float32": ("float",), "float64": ("double",),
}
_READ_TYPES = {name: np.dtype(dt) for dt, names in _TYPES.items() for name in names}
_WRITE_TYPES = {"int8": "signed char", "uint8": "unsigned char", "int16": "short",
                "uint16": "unsigned short", "int32": "int", "uint32": "unsigned int",
                "int64": "long long int", "uint64": "unsigned long long int",
                "float32": "float", "float64": "double"}

# teem's kinds (canonical spelling) and the axis sizes the fixed-size ones imply
_KINDS = {k.lower(): k for k in (
    "domain space time list point vector covariant-vector normal stub scalar complex "
    "2-vector 3-color RGB-color HSV-color XYZ-color 4-color RGBA-color 3-vector 3-gradient "
    "3-normal 4-vector quaternion 2D-symmetric-matrix 2D-masked-symmetric-matrix 2D-matrix "
    "2D-masked-matrix 3D-symmetric-matrix 3D-masked-symmetric-matrix 3D-matrix "
    "3D-masked-matrix").split()}
_KIND_SIZES = {"stub": 1, "scalar": 1, "complex": 2, "2-vector": 2, "3-color": 3,
               "RGB-color": 3, "HSV-color": 3, "XYZ-color": 3, "4-color": 4, "RGBA-color": 4,
               "3-vector": 3, "3-gradient": 3, "3-normal": 3, "4-vector": 4, "quaternion": 4,
               "2D-symmetric-matrix": 3, "2D-masked-symmetric-matrix": 4, "2D-matrix": 4,
               "2D-masked-matrix": 5, "3D-symmetric-matrix": 6,
               "3D-masked-symmetric-matrix": 7, "3D-matrix": 9, "3D-masked-matrix": 10}
_DOMAIN_KINDS = {"domain", "space", "time"}
# teem's spaces: canonical name -> dimension; and the abbreviations it accepts
_SPACES = {"right-anterior-superior": 3, "left-anterior-superior": 3,
           "left-posterior-superior": 3, "right-anterior-superior-time": 4,
           "left-anterior-superior-time": 4, "left-posterior-superior-time": 4,
           "scanner-xyz": 3, "scanner-xyz-time": 4, "3D-right-handed": 3, "3D-left-handed": 3,
           "3D-right-handed-time": 4, "3D-left-handed-time": 4}
_SPACE_NAMES = {**{s.lower(): s for s in _SPACES},
                **{a.lower(): s for a, s in (("RAS", "right-anterior-superior"),
                                             ("LAS", "left-anterior-superior"),
                                             ("LPS", "left-posterior-superior"),
                                             ("RAST", "right-anterior-superior-time"),
                                             ("LAST", "left-anterior-superior-time"),
                                             ("LPST", "left-posterior-superior-time"))}}
# components negated to reach LPS (ITK converts only these two spaces)
_TO_LPS = {"right-anterior-superior": (0, 1), "left-anterior-superior": (1,)}
_CENTERS = {"cell": "cell", "node": "node"}
_ALIASES = {"centers": "centerings", "axismins": "axis mins", "axismaxs": "axis maxs",
            "lineskip": "line skip", "byteskip": "byte skip", "datafile": "data file",
            "oldmin": "old min", "oldmax": "old max"}
_MAX_HEADER = 64 << 20
_MAX_INFLATE_RATIO = 1032


def _pynrrd():
    return require("nrrd", "nrrd", "Reading NRRD files")


# --------------------------------------------------------------------------- header
def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "n\\":
            out.append("\n" if text[i + 1] == "n" else "\\")
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _read_header(path: str) -> tuple[dict[str, Any], dict[str, str], int]:
    """(fields parsed by pynrrd, key/value pairs, offset of the data after the blank line)."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
        while b"\n\n" not in head.replace(b"\r\n", b"\n") and len(head) < _MAX_HEADER:
            more = fh.read(1 << 20)
            if not more:
                break
            head += more
    if not head.startswith(b"NRRD"):
        raise ImageFileError(f"{path}: not a NRRD file (it does not start with 'NRRD')")
    lines, pos = [], 0
    while True:
        nl = head.find(b"\n", pos)
        if nl < 0:                           # header without data (a detached header)
            nl = len(head)
        raw = head[pos:nl]
        if b"\x00" in raw:
            raise ImageFileError(f"{path}: binary data inside the NRRD header: damaged")
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        pos = nl + 1
        if not line or nl >= len(head):
            if line:
                lines.append(line)
            break
        lines.append(line)
    fields, pairs = [lines[0]], {}
    for line in lines[1:]:
        if line.startswith("#"):
            continue
        if ":=" in line:
            key, value = line.split(":=", 1)
            pairs[_unescape(key)] = _unescape(value)
        else:
            name, sep, value = line.partition(":")
            name = name.strip()
            fields.append(f"{_ALIASES.get(name, name)}:{value}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            parsed = dict(_pynrrd().read_header(fields))
    except Exception as exc:    # pynrrd raises NRRDError, ValueError, ... on bad headers
        raise ImageFileError(f"{path}: bad NRRD header: {exc}") from None
    return parsed, pairs, min(pos, len(head))


def _canonical(table: dict[str, str], value: str) -> str | None:
    return table.get(str(value).strip().lower())


# --------------------------------------------------------------------------- geometry
def _norm(v) -> float:
    total = 0.0
    for x in v:
        total += float(x) * float(x)
    return math.sqrt(total)


def _geometry(h: dict[str, Any], domain: list[int], path: str):
    n = len(domain)
    space = _canonical(_SPACE_NAMES, h["space"]) if "space" in h else None
    if "space" in h and space is None:
        raise ImageFileError(f"{path}: unknown NRRD space {h['space']!r}")
    space_dim = _SPACES[space] if space else int(h.get("space dimension", 0))
    if space_dim and space_dim != n:
        raise ImageFileError(f"{path}: the number of domain axes ({n}) does not match the "
                             f"dimension of the space ({space_dim}), as ITK requires")
    flips = _TO_LPS.get(space, ())
    sizes = [int(s) for s in h["sizes"]]
    spacings = np.asarray(h.get("spacings", [np.nan] * len(sizes)), dtype=np.float64)
    directions = np.asarray(h.get("space directions", np.full((len(sizes), max(space_dim, 1)),
                                                              np.nan)), dtype=np.float64)
    if directions.ndim != 2 or (space_dim and directions.shape != (len(sizes), space_dim)):
        raise ImageFileError(f"{path}: 'space directions' needs {len(sizes)} vectors of "
                             f"{space_dim} numbers")
    spacing, direction = [1.0] * n, np.eye(n)
    for i, axis in enumerate(domain):
        if len(spacings) > axis and not np.isnan(spacings[axis]):
            if space_dim:
                raise ImageFileError(f"{path}: axis {axis} has both 'spacings' and a space "
                                     "direction, which ITK refuses")
            spacing[i] = float(spacings[axis])
            if spacing[i] < 0:                   # ITK's reader: |spacing|, column negated
                spacing[i], direction[:, i] = -spacing[i], -direction[:, i]
        elif space_dim and not np.isnan(directions[axis, 0]):
            vec = directions[axis]
            norm = _norm(vec)
            if not norm > 0 or not math.isfinite(norm):
                raise ImageFileError(f"{path}: space direction {vec.tolist()} of axis {axis} "
                                     "has no length")
            unit = vec * (1.0 / norm)
            unit[list(flips)] *= -1
            spacing[i], direction[:, i] = norm, unit
    origin = [0.0] * n
    if space_dim:
        if "space origin" in h and not np.isnan(np.asarray(h["space origin"], float)[0]):
            o = np.asarray(h["space origin"], dtype=np.float64).copy()
            if o.shape != (space_dim,):
                raise ImageFileError(f"{path}: 'space origin' needs {space_dim} numbers")
            o[list(flips)] *= -1
            origin = o.tolist()
    else:
        origin = _origin_from_axis_mins(h, domain, spacing, sizes) or origin
    return origin, spacing, direction, space


def _origin_from_axis_mins(h, domain, spacing, sizes) -> list[float] | None:
    """teem's nrrdOriginCalculate with cell centring by default (ITK's call)."""
    mins = h.get("axis mins")
    if mins is None:
        return None
    maxs = h.get("axis maxs", [np.nan] * len(sizes))
    centers = h.get("centerings", [])
    if isinstance(centers, str):
        centers = centers.split()
    spacings = h.get("spacings", [np.nan] * len(sizes))
    origin = []
    for axis in domain:
        lo, hi, step = float(mins[axis]), float(maxs[axis]), float(spacings[axis])
        if math.isnan(lo) or (math.isnan(hi) and math.isnan(step)):
            return None
        cell = (centers[axis] if axis < len(centers) else "cell") != "node"
        if not math.isnan(hi):
            size = sizes[axis]
            origin.append((hi - lo) * 0.5 / size + lo if cell else lo)
        else:
            origin.append(lo + step / 2 if cell else lo)
    return origin


# --------------------------------------------------------------------------- pixels
def _decode(h: dict[str, Any], path: str, data_start: int, dtype: np.dtype,
            count: int) -> np.ndarray:
    """The flat pixel array (file byte order) of ``count`` elements."""
    encoding = str(h.get("encoding", "")).lower()
    if encoding in ("gz",):
        encoding = "gzip"
    if encoding in ("txt", "text"):
        encoding = "ascii"
    if encoding not in ("raw", "gzip", "ascii", "hex"):
        raise ImageFileError(f"{path}: unsupported NRRD encoding {h.get('encoding')!r} "
                             "(raw, gzip, ascii and hex are read)")
    data_file = h.get("data file")
    if data_file is not None:
        words = str(data_file).split()
        if not words or words[0] == "LIST" or len(words) > 1:
            raise ImageFileError(f"{path}: data spread over several files ('data file: "
                                 f"{data_file}') is not supported")
        target = words[0] if os.path.isabs(words[0]) else os.path.join(
            os.path.dirname(os.path.abspath(path)), words[0])
        start = 0
    else:
        target, start = path, data_start
    try:
        fh = open(target, "rb")
    except OSError as exc:
        raise ImageFileError(f"{path}: cannot open the data file {target}: "
                             f"{exc.strerror or exc}") from None
    nbytes = count * dtype.itemsize
    out = np.empty(0, dtype=dtype)          # allocated once the sizes are checked
    with fh:
        size = os.fstat(fh.fileno()).st_size
        fh.seek(start)
        line_skip = int(h.get("line skip", 0))
        byte_skip = int(h.get("byte skip", 0))
        if line_skip < 0 or byte_skip < -1:
            raise ImageFileError(f"{path}: negative line skip or byte skip below -1")
        for _ in range(line_skip):
            if not fh.readline():
                raise ImageFileError(f"{target}: the file ends within the {line_skip} skipped "
                                     "lines")
        start = fh.tell()
        if encoding == "raw":
            if byte_skip == -1:
                start = size - nbytes
            else:
                start += byte_skip
            check_payload_size(target, nbytes, size - max(start, 0))
            fh.seek(start)
            out = np.empty(count, dtype=dtype)
            if fh.readinto(memoryview(out.view(np.uint8))) != nbytes:
                raise ImageFileError(f"{target}: pixel data truncated while reading")
        elif encoding == "gzip":
            if byte_skip == -1:
                raise ImageFileError(f"{path}: byte skip -1 with gzip encoding is not supported")
            available = size - start
            if nbytes + byte_skip > _MAX_INFLATE_RATIO * available + 64:
                raise ImageFileError(f"{target}: the header declares {nbytes} bytes of pixel "
                                     f"data, more than {available} compressed bytes can hold")
            out = np.empty(count, dtype=dtype)
            inflate_exactly(fh, target, available, memoryview(out.view(np.uint8)), byte_skip)
        else:
            check_payload_size(target, count, size - start, "text pixel values")
            text = fh.read()
            out = _parse_text(text, encoding, dtype, count, target)
    return out


def _parse_text(text: bytes, encoding: str, dtype: np.dtype, count: int, path: str) -> np.ndarray:
    try:
        if encoding == "hex":
            raw = bytes.fromhex("".join(text.decode("ascii").split()))
            if len(raw) < count * dtype.itemsize:
                raise ImageFileError(f"{path}: {len(raw)} bytes of hex data for "
                                     f"{count * dtype.itemsize} declared")
            return np.frombuffer(raw[:count * dtype.itemsize], dtype=dtype).copy()
        words = text.replace(b",", b" ").split()
        if len(words) < count:
            raise ImageFileError(f"{path}: {len(words)} text pixel values for {count} declared")
        native = dtype.newbyteorder("=")
        values = np.array(words[:count], dtype=np.float64 if native.kind == "f" else native)
        return values.astype(native)
    except (ValueError, UnicodeDecodeError):
        raise ImageFileError(f"{path}: {encoding} pixel data that cannot be parsed") from None


# --------------------------------------------------------------------------- read
def read(path: str) -> Image:
    """Read a ``.nrrd`` or ``.nhdr`` file as SimpleITK does (see the module notes).

    Raises
    ------
    ImageFileError
        Damaged, truncated or inconsistent files, layouts ITK refuses (several component
        axes, a space of another dimension than the image), dimensions other than 2 to 4.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such image file: {path}")
    h, pairs, data_start = _read_header(path)
    for key in ("type", "dimension", "sizes"):
        if key not in h:
            raise ImageFileError(f"{path}: the NRRD header has no '{key}' field")
    dtype = _READ_TYPES.get(str(h["type"]).strip())
    if dtype is None:
        raise ImageFileError(f"{path}: unsupported NRRD type {h['type']!r}")
    sizes = [int(s) for s in h["sizes"]]
    if len(sizes) != int(h["dimension"]) or min(sizes, default=0) < 0:
        raise ImageFileError(f"{path}: 'sizes' {sizes} does not match dimension "
                             f"{h['dimension']}")
    if dtype.itemsize > 1 and str(h.get("encoding", "")).lower() not in ("ascii", "text", "txt"):
        endian = str(h.get("endian", "")).lower()
        if endian not in ("little", "big"):
            raise ImageFileError(f"{path}: the NRRD header has no valid 'endian' field")
        dtype = dtype.newbyteorder("<" if endian == "little" else ">")
    kinds = [str(k) for k in h.get("kinds", [])]
    if kinds and len(kinds) != len(sizes):
        raise ImageFileError(f"{path}: 'kinds' has {len(kinds)} entries for {len(sizes)} axes")
    canon = [_canonical(_KINDS, k) for k in kinds]
    for axis, (kind, size) in enumerate(zip(canon, sizes)):
        if kind in _KIND_SIZES and _KIND_SIZES[kind] != size:
            raise ImageFileError(f"{path}: axis {axis} of kind {kind} must have size "
                                 f"{_KIND_SIZES[kind]}, not {size}")
    domain = [a for a in range(len(sizes)) if not canon or canon[a] in _DOMAIN_KINDS
              or canon[a] is None]
    ranges = [a for a in range(len(sizes)) if a not in domain]
    if len(ranges) > 1:
        raise ImageFileError(f"{path}: {len(ranges)} non-domain axes (kinds {kinds}); ITK "
                             "reads one component axis at most")
    if not 2 <= len(domain) <= 4:
        raise ImageFileError(f"{path}: {len(domain)} image axes; gpuresample images have "
                             "2 to 4 axes")
    pixel_kind = canon[ranges[0]] if ranges else None
    if pixel_kind and pixel_kind.endswith("masked-symmetric-matrix"):
        raise ImageFileError(f"{path}: masked matrix kinds are not supported")
    if pixel_kind == "complex" and dtype.kind != "f":
        raise ImageFileError(f"{path}: complex pixels of type {h['type']!r}; ITK reads "
                             "complex float or double only")
    origin, spacing, direction, space = _geometry(h, domain, path)
    flat = _decode(h, path, data_start, dtype, math.prod(sizes))
    if not flat.dtype.isnative:
        flat = flat.byteswap(inplace=True).view(flat.dtype.newbyteorder("="))
    array = flat.reshape(sizes[::-1])
    if ranges:            # the component axis becomes the last (fastest) numpy axis
        array = np.moveaxis(array, len(sizes) - 1 - ranges[0], -1)
    if pixel_kind == "complex":
        array = np.ascontiguousarray(array).view(
            np.complex64 if array.dtype == np.float32 else np.complex128)[..., 0]
    metadata = _metadata(h, pairs, domain, ranges, canon, space)
    try:
        return Image._from_array(np.ascontiguousarray(array),
                                 is_vector=bool(ranges) and pixel_kind != "complex",
                                 origin=origin, spacing=spacing, direction=direction,
                                 metadata=metadata)
    except ValueError as exc:
        raise ImageFileError(f"{path}: {exc}") from None


def _per_axis(h: dict[str, Any], name: str, axes: int) -> list[str]:
    value = h.get(name, [])
    values = value.split() if isinstance(value, str) else [str(v) for v in value]
    return (values + [""] * axes)[:axes]


def _metadata(h, pairs, domain, ranges, canon, space) -> dict[str, str]:
    md = {"ITK_InputFilterName": "NrrdImageIO", **pairs}
    axes = len(h["sizes"])
    centers, labels = _per_axis(h, "centerings", axes), _per_axis(h, "labels", axes)
    for i, axis in enumerate(domain):
        if canon and canon[axis]:
            md[f"NRRD_kinds[{i}]"] = canon[axis]
        if _canonical(_CENTERS, centers[axis]):
            md[f"NRRD_centerings[{i}]"] = _canonical(_CENTERS, centers[axis])
        if labels[axis]:
            md[f"NRRD_labels[{i}]"] = labels[axis]
    if ranges:
        md["NRRD_kinds[pixel]"] = canon[ranges[0]]
    if h.get("content"):
        md["NRRD_content"] = str(h["content"])
    if space:
        md["NRRD_space"] = "left-posterior-superior" if space in _TO_LPS else space
    return dict(sorted(md.items()))


# --------------------------------------------------------------------------- write
def _indexed(metadata, name: str, n: int) -> list[str | None]:
    return [metadata.get(f"NRRD_{name}[{i}]") for i in range(n)]


def _header(image: Image, encoding: str, data_file: str | None) -> bytes:
    md = image.metadata
    n = image.dimension
    array = image._array
    component = array.real.dtype if image.pixel_type.is_complex else array.dtype
    extra = 2 if image.pixel_type.is_complex else (
        image.number_of_components if image.pixel_type.is_vector else 1)
    lead = ["complex" if image.pixel_type.is_complex else "vector"] if extra > 1 else []
    lines = ["NRRD0004", "# Complete NRRD file format specification at:",
             "# http://teem.sourceforge.net/nrrd/format.html"]
    if md.get("NRRD_content"):
        lines.append(f"content: {md['NRRD_content']}")
    lines += [f"type: {_WRITE_TYPES[component.name]}", f"dimension: {n + len(lead)}"]
    space = "left-posterior-superior" if n == 3 else None
    wanted = _canonical(_SPACE_NAMES, md.get("NRRD_space", ""))
    if wanted and _SPACES[wanted] == n:
        if wanted in _TO_LPS:
            warnings.warn(f"NRRD_space = {md['NRRD_space']!r} ignored: the geometry is written "
                          "in LPS", stacklevel=3)
        else:
            space = wanted
    lines.append(f"space: {space}" if space else f"space dimension: {n}")
    lines.append("sizes: " + " ".join(str(s) for s in [extra] * len(lead) + list(image.size)))
    columns = ["(" + format_numbers(image.spacing[d] * image.direction[:, d], ",") + ")"
               for d in range(n)]
    lines.append("space directions: " + " ".join(["none"] * len(lead) + columns))
    centers = [_canonical(_CENTERS, c or "") or "???" for c in _indexed(md, "centerings", n)]
    if any(c != "???" for c in centers):
        lines.append("centerings: " + " ".join(["???"] * len(lead) + centers))
    kinds = [_canonical(_KINDS, k) if k is not None else "domain"
             for k in _indexed(md, "kinds", n)]
    lines.append("kinds: " + " ".join(lead + [k or "???" for k in kinds]))
    labels = [label or "" for label in _indexed(md, "labels", n)]
    if any(labels):
        lines.append("labels: " + " ".join(f'"{label}"' for label in [""] * len(lead) + labels))
    if component.itemsize > 1:
        lines.append("endian: little")
    lines += [f"encoding: {encoding}",
              "space origin: (" + format_numbers(image.origin, ",") + ")"]
    if data_file:
        lines.append(f"data file: {data_file}")
    lines += [f"{_escape(k)}:={_escape(v)}" for k, v in sorted(md.items())
              if not k.startswith("NRRD_")]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def write(image: Image, path: str, *, compress: bool = False,
          compression_level: int = 2) -> None:
    """Write ``image`` as NRRD, as SimpleITK writes it (see the module notes).

    Parameters
    ----------
    image : Image
        On the host; scalar, vector or complex pixels, 2 to 4 axes.
    path : str
        ``.nrrd`` (attached data) or ``.nhdr`` (data in ``<name>.raw`` or ``.raw.gz``).
    compress : bool
        gzip encoding.
    compression_level : int
        zlib level, 2 by default (ITK's NrrdImageIO default).
    """
    array = np.ascontiguousarray(image._array)
    payload: Any = (array.astype(array.dtype.newbyteorder("<"), copy=False)
                    .reshape(-1).view(np.uint8))
    if compress:
        payload = gzip_compress(payload, level=compression_level)
    encoding = "gzip" if compress else "raw"
    if not path.lower().endswith(".nhdr"):
        with atomic_write(path) as tmp, open(tmp, "wb") as fh:
            fh.write(_header(image, encoding, None))
            fh.write(payload)
        return
    stem = os.path.basename(path)[:-len(".nhdr")]
    data_name = stem + (".raw.gz" if compress else ".raw")
    data_path = os.path.join(os.path.dirname(os.path.abspath(path)), data_name)
    with atomic_write(path) as tmp_header, atomic_write(data_path) as tmp_data:
        with open(tmp_data, "wb") as fh:
            fh.write(payload)
        with open(tmp_header, "wb") as fh:
            fh.write(_header(image, encoding, data_name))


def read_series(paths: list[str], **options: Any) -> Image:
    """NRRD files stacked as one volume, as ``sitk.ReadImage(list_of_files)``
    (see :func:`gpuresample.io.metaimage.stack_series`)."""
    return stack_series(paths, lambda p: read(p, **options))
