"""MetaImage files (``.mha``: header and pixels in one file; ``.mhd``: header + data file).

Written with numpy and zlib only, following ITK's MetaImageIO (SimpleITK 2.5.7):

* Geometry: ``DimSize`` -> size, ``ElementSpacing`` (else ``ElementSize``) -> spacing;
  origin from ``ImagePosition``, else ``Origin``, else ``Offset``, else ``Position`` (ITK's
  precedence); direction from ``TransformMatrix``, else ``Rotation``, else ``Orientation``,
  stored column by column (the first D numbers are the direction of index axis 0). A
  negative spacing becomes positive with its direction column negated, as ITK's reader
  does. ``CenterOfRotation`` and ``AnatomicalOrientation`` are ignored on read; both are
  written as ITK writes them. No LPS/RAS conversion.
* Pixels: every ``MET_*`` element type ITK reads (``MET_LONG`` is 32 bits in MetaIO);
  ``ElementNumberOfChannels > 1`` or a ``MET_*_ARRAY`` type gives a vector image. Complex
  images are written as ITK writes them (2 channels of float/double) and, as in SimpleITK,
  read back as 2-component vectors unless ``read(..., as_complex=True)``.
  ``BinaryDataByteOrderMSB`` (over ``ElementByteOrderMSB``), ``CompressedData`` (zlib or
  gzip stream, decompression capped at the declared size), ``CompressedDataSize``,
  ``HeaderSize`` (including ``-1``), ASCII data (``BinaryData = False``), and data files
  named by ``ElementDataFile``: ``LOCAL``, one file (``.gz``/``.Z`` appended when missing,
  as MetaIO tries), ``LIST [dim]`` and ``printf`` patterns (``slice%03d.raw 1 10 1``).
* Meta-data, as SimpleITK's dictionary: ``ITK_InputFilterName = MetaImageIO``, ``Modality``
  (``MET_MOD_UNKNOWN`` unless the header names one), every header line that is not a MetaIO
  field (its key and stripped value; the last one wins), ``ITK_VoxelUnits`` from
  ``DistanceUnits`` and ``ITK_ExperimentDate`` from ``AcquisitionDate``. Written back the
  same way: dictionary entries become header lines (sorted, between ``ElementSpacing`` and
  ``DimSize``), ``ITK_VoxelUnits``/``ITK_ExperimentDate`` become ``DistanceUnits``/
  ``AcquisitionDate``.

Numbers are written with 17 significant digits (``%.17g``, ITK's ``max_digits10``
precision), so headers match SimpleITK's byte for byte and every value reads back
bit-exactly; they are parsed with Python's correctly rounded ``float``, as ITK's stream
extraction does.

Deliberate differences (ITK reads these silently to a wrong or garbage image, or writes a
file it cannot read back): a header with too few or unparsable numbers, a compressed
stream that is short, damaged or longer than declared, missing slice files, and pixel data
shorter than declared raise :class:`ImageFileError`; compressed data without
``CompressedDataSize`` is inflated to the end of the file (ITK then fails and returns
garbage). On write, dictionary entries that would not read back as themselves (empty
values, keys or values with line breaks, keys containing ``=`` or ``:``, keys that are
MetaIO field names such as ``ElementDataFile``) are skipped with a warning, where ITK writes
them and corrupts the header. ``ITK_original_direction``/``ITK_original_spacing`` (ITK
reader artefacts that are matrices, not strings) are not carried.

Example
-------
>>> import os, tempfile, numpy as np
>>> from gpuresample import image_from_array
>>> img = image_from_array(np.arange(12, dtype=np.int16).reshape(3, 4))
>>> img.spacing = (0.5, 2.0)
>>> path = os.path.join(tempfile.mkdtemp(), "a.mha")
>>> write(img, path, compress=True)
>>> back = read(path)
>>> back.spacing, back.metadata["ITK_InputFilterName"], int(np.asarray(back)[2, 3])
((0.5, 2.0), 'MetaImageIO', 11)
"""

from __future__ import annotations

import math
import os
import warnings
import zlib
from typing import Any, BinaryIO, Callable, Sequence

import numpy as np

from ..image import Image
from .common import ImageFileError, atomic_write, check_payload_size

__all__ = ["read", "write", "read_series", "stack_series"]

# element type name -> (component dtype, whether the type itself means "vector")
_ELEMENT_TYPES: dict[str, tuple[str, bool]] = {}
for _name, _dtype in (("CHAR", "int8"), ("UCHAR", "uint8"), ("SHORT", "int16"),
                      ("USHORT", "uint16"), ("INT", "int32"), ("UINT", "uint32"),
                      ("LONG", "int32"), ("ULONG", "uint32"), ("LONG_LONG", "int64"),
                      ("ULONG_LONG", "uint64"), ("FLOAT", "float32"), ("DOUBLE", "float64")):
    _ELEMENT_TYPES[f"MET_{_name}"] = (_dtype, False)
    _ELEMENT_TYPES[f"MET_{_name}_ARRAY"] = (_dtype, True)
_ELEMENT_TYPES.update({"MET_ASCII_CHAR": ("int8", False), "MET_STRING": ("int8", True),
                       "MET_FLOAT_MATRIX": ("float32", True)})
_WRITE_TYPES = {"int8": "MET_CHAR", "uint8": "MET_UCHAR", "int16": "MET_SHORT",
                "uint16": "MET_USHORT", "int32": "MET_INT", "uint32": "MET_UINT",
                "int64": "MET_LONG_LONG", "uint64": "MET_ULONG_LONG", "float32": "MET_FLOAT",
                "float64": "MET_DOUBLE"}

# Every key MetaIO reads as a header field of an image (never a dictionary entry).
_FIELDS = frozenset(
    "ObjectType ObjectSubType FileFormatVersion Comment AcquisitionDate NDims Name ID "
    "ParentID CompressedData CompressedDataSize BinaryData ElementByteOrderMSB "
    "BinaryDataByteOrderMSB Color Position Origin Offset TransformMatrix Rotation "
    "Orientation CenterOfRotation DistanceUnits AnatomicalOrientation ElementSpacing "
    "DimSize HeaderSize Modality ImagePosition SequenceID ElementMin ElementMax "
    "ElementNumberOfChannels ElementSize ElementNBits ElementToIntensityFunctionSlope "
    "ElementToIntensityFunctionOffset ElementType ElementDataFile".split())
# Dictionary keys ITK drops silently on write (the others of _FIELDS it writes, breaking
# or changing the file; we skip those with a warning).
_DROPPED_ON_WRITE = frozenset(
    "ObjectType ObjectSubType NDims AcquisitionDate CompressedData BinaryData "
    "BinaryDataByteOrderMSB Color Position Origin Offset TransformMatrix CenterOfRotation "
    "DistanceUnits AnatomicalOrientation ElementSpacing DimSize Modality SequenceID "
    "ElementSize ElementType".split())
_NOT_CARRIED = frozenset({"ITK_original_direction", "ITK_original_spacing",
                          "ITK_ExperimentDate", "ITK_VoxelUnits"})
_MODALITIES = frozenset({"MET_MOD_CT", "MET_MOD_MR", "MET_MOD_NM", "MET_MOD_US",
                         "MET_MOD_OTHER", "MET_MOD_UNKNOWN"})
_DISTANCE_UNITS = {"um": "um", "mm": "mm", "cm": "cm", "um. ": "um", "mm. ": "mm",
                   "cm. ": "cm"}
_MAX_HEADER = 64 << 20     # a header longer than this is not a MetaImage header
_CHUNK = 16 << 20
_TINY = float(np.finfo(np.float64).tiny)
_MAX_INFLATE_RATIO = 1032  # deflate cannot expand data by more than this


# --------------------------------------------------------------------------- header text
def _split_line(line: str) -> tuple[str, str, bool]:
    """``key = value`` (MetaIO also takes ``:``): (key, value, had a separator)."""
    cut = [i for i in (line.find("="), line.find(":")) if i >= 0]
    if not cut:
        return line.strip(), "", False
    i = min(cut)
    return line[:i].strip(), line[i + 1:].strip(), True


def _read_header(fh: BinaryIO, path: str) -> tuple[dict[str, str], dict[str, str], int]:
    """Parse the header up to ``ElementDataFile``: (fields, other entries, data offset)."""
    fields: dict[str, str] = {}
    extras: dict[str, str] = {}
    head = b""
    pos = 0
    while True:
        nl = head.find(b"\n", pos)
        if nl < 0:
            if len(head) > _MAX_HEADER:
                raise ImageFileError(f"{path}: no ElementDataFile line in the first "
                                     f"{_MAX_HEADER >> 20} MiB: not a MetaImage header")
            more = fh.read(1 << 16)
            if more:
                head += more
                continue
            nl = len(head)                          # last line without a newline
            if nl == pos:
                raise ImageFileError(f"{path}: the header ends without an ElementDataFile "
                                     "line: not a MetaImage file, or truncated")
        raw = head[pos:nl]
        pos = nl + 1
        if b"\x00" in raw:
            raise ImageFileError(f"{path}: binary data in the header before ElementDataFile: "
                                 "not a MetaImage file, or damaged")
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        if not line.strip():
            continue
        key, value, had_separator = _split_line(line)
        if key in _FIELDS:
            fields[key] = value
            if key == "ElementDataFile":
                break
        elif value or not had_separator:            # MetaIO drops "key =" with no value
            extras[key] = value
    if "NDims" not in fields:
        raise ImageFileError(f"{path}: the header has no NDims: not a MetaImage file")
    return fields, extras, min(pos, len(head))


def _numbers(fields: dict[str, str], key: str, count: int, path: str) -> list[float] | None:
    """The first ``count`` numbers of a field (None if absent); extra numbers are ignored,
    as ITK ignores them."""
    if key not in fields:
        return None
    words = fields[key].split()
    try:
        values = [float(w) for w in words[:count]]
    except ValueError:
        raise ImageFileError(f"{path}: {key} = {fields[key]!r} is not a list of numbers") from None
    if len(values) < count or not all(math.isfinite(v) for v in values):
        raise ImageFileError(f"{path}: {key} needs {count} finite numbers, got "
                             f"{fields[key]!r}")
    # ITK's stream extraction fails on subnormal numbers (ERANGE) and stores 0
    return [0.0 if 0 < abs(v) < _TINY else v for v in values]


def _integers(fields: dict[str, str], key: str, count: int, path: str) -> list[int] | None:
    values = _numbers(fields, key, count, path)
    if values is None:
        return None
    if any(v != int(v) for v in values):
        raise ImageFileError(f"{path}: {key} = {fields[key]!r} must hold integers")
    return [int(v) for v in values]


def _flag(fields: dict[str, str], key: str) -> bool | None:
    value = fields.get(key)
    return None if value is None else value[:1] in ("T", "t", "1")


# --------------------------------------------------------------------------- geometry
def _geometry(fields: dict[str, str], n: int, path: str):
    spacing = (_numbers(fields, "ElementSpacing", n, path)
               or _numbers(fields, "ElementSize", n, path) or [1.0] * n)
    origin = [0.0] * n
    for key in ("Position", "Offset", "Origin", "ImagePosition"):   # last found wins
        origin = _numbers(fields, key, n, path) or origin
    matrix = None
    for key in ("Orientation", "Rotation", "TransformMatrix"):
        matrix = _numbers(fields, key, n * n, path) or matrix
    direction = np.eye(n) if matrix is None else np.array(matrix).reshape(n, n).T.copy()
    spacing = np.array(spacing)
    if np.any(spacing == 0):
        raise ImageFileError(f"{path}: ElementSpacing {spacing.tolist()} has a zero value")
    flip = spacing < 0                      # ITK's reader: |spacing|, column negated
    direction[:, flip] = -direction[:, flip]
    return origin, np.abs(spacing).tolist(), direction


def _anatomical_orientation(direction: np.ndarray) -> str:
    """ITK's AnatomicalOrientation of a 3-D direction as MetaIO's acronym (RAI = identity).

    Greedy: the largest |D[r, c]| assigns physical axis r to index axis c, then its row
    and column are removed (ties go to the last (r, c) in row-major order, as ITK's
    multimap gives).
    """
    letters = ("RL", "AP", "IS")            # [positive, negative] direction of each LPS axis
    terms = ["?"] * 3
    left = {(r, c) for r in range(3) for c in range(3)}
    for _ in range(3):
        r, c = max(left, key=lambda rc: (abs(direction[rc]), rc))
        terms[c] = letters[r][0 if direction[r, c] > 0 else 1]
        left = {(i, j) for i, j in left if i != r and j != c}
    return "".join(terms)


def format_numbers(values: Sequence[float], sep: str = " ") -> str:
    """Numbers as ITK writes them: 17 significant digits (``%.17g``), read back exactly."""
    return sep.join("%.17g" % float(v) for v in values)


# --------------------------------------------------------------------------- data files
def _data_chunks(fields: dict[str, str], fh: BinaryIO, data_start: int, path: str,
                 sizes: list[int]) -> tuple[list[tuple[str, int, int]], bool]:
    """Where the pixels are: [(file, start offset or None, number of elements)], and
    whether the files were found with a compression suffix (.gz/.Z)."""
    name = fields["ElementDataFile"]
    folder = os.path.dirname(os.path.abspath(path))
    total = math.prod(sizes)

    def resolve(file: str) -> str:
        return file if os.path.isabs(file) else os.path.join(folder, file)

    if name in ("LOCAL", "Local", "local"):
        return [(path, data_start, total)], False
    words = name.split()
    n = len(sizes)
    if name.startswith("LIST"):
        file_dim = int(float(words[1])) if len(words) > 1 else n - 1
        if file_dim == 0 or file_dim > n:
            file_dim = n - 1
        count = math.prod(sizes[file_dim:])
        per_file = math.prod(sizes[:file_dim])
        fh.seek(data_start)
        listed = [line.strip() for line in
                  fh.read(min(count * 4096, _MAX_HEADER)).decode("utf-8", "replace").splitlines()
                  if line.strip()][:count]
        if len(listed) < count:
            raise ImageFileError(f"{path}: ElementDataFile = LIST needs {count} file names, "
                                 f"the header lists {len(listed)}")
        return [(resolve(f), 0, per_file) for f in listed], False
    if "%" in name:
        depth = sizes[-1]
        pattern, numbers = (words[0], words[1:]) if len(words) < 5 else \
            (" ".join(words[:-3]), words[-3:])
        try:
            nums = [int(float(w)) for w in numbers]
        except ValueError:
            raise ImageFileError(f"{path}: ElementDataFile = {name!r}: the numbers after "
                                 "the pattern are not integers") from None
        lo = nums[0] if nums else 1
        hi = nums[1] if len(nums) > 1 else lo + depth - 1
        step = nums[2] if len(nums) > 2 else (max(1, (hi - lo) // depth) if len(nums) > 1 else 1)
        indices = list(range(lo, hi + 1, step))[:depth] if step > 0 else []
        if len(indices) != depth:
            raise ImageFileError(f"{path}: ElementDataFile = {name!r} names {len(indices)} "
                                 f"slice files for {depth} slices")
        try:
            files = [pattern % i for i in indices]
        except (TypeError, ValueError):
            raise ImageFileError(f"{path}: ElementDataFile pattern {pattern!r} is not a "
                                 "printf pattern for one integer") from None
        return [(resolve(f), 0, total // depth if depth else 0) for f in files], False
    target = resolve(name)
    for suffix in ("", ".gz", ".Z"):
        if os.path.isfile(target + suffix):
            return [(target + suffix, 0, total)], bool(suffix)
    raise ImageFileError(f"{path}: the data file {target} named by ElementDataFile does not "
                         "exist")


def inflate_exactly(fh: BinaryIO, path: str, limit: int, out: memoryview, skip: int = 0) -> None:
    """Inflate a zlib or gzip stream (at most ``limit`` bytes of ``fh``) into ``out``.

    The first ``skip`` inflated bytes are dropped. Raises :class:`ImageFileError` when the
    stream is damaged, ends early, or holds more than ``skip + len(out)`` bytes: the output
    never grows beyond what the header declares.
    """
    inflater = zlib.decompressobj(47)       # 32 + 15: zlib or gzip header, as MetaIO
    filled, wanted = -skip, len(out)
    pending = b""

    def feed() -> bytes:
        nonlocal limit
        data = fh.read(min(_CHUNK, limit))
        limit -= len(data)
        return data

    try:
        while filled < wanted and not inflater.eof:
            pending = pending or feed()
            if not pending:
                break
            piece = inflater.decompress(pending, min(wanted - filled, _CHUNK))
            pending = inflater.unconsumed_tail
            if filled < 0:                   # still inside the skipped bytes
                drop = min(-filled, len(piece))
                piece, filled = piece[drop:], filled + drop
            out[filled:filled + len(piece)] = piece
            filled += len(piece)
        while not inflater.eof and filled == wanted:
            pending = pending or feed()
            if not pending:
                break
            if inflater.decompress(pending, 1):
                raise ImageFileError(f"{path}: the compressed pixel data holds more than the "
                                     f"{skip + wanted} bytes the header declares")
            pending = inflater.unconsumed_tail
    except zlib.error as exc:
        raise ImageFileError(f"{path}: damaged compressed pixel data ({exc})") from None
    if filled < wanted or not inflater.eof:
        raise ImageFileError(f"{path}: the compressed pixel data ends after {max(filled, 0)} "
                             f"of {wanted} bytes (or before its end marker): truncated")


def _locate(file: str, start: int, nbytes: int, count: int, *, binary: bool,
            compressed: bool, compressed_size: int, header_size: int,
            path: str) -> tuple[int, int]:
    """Where one data file's pixels start and how many bytes to read, checked against the
    file's size before anything is allocated (MetaIO's M_ReadElements rules)."""
    try:
        size = os.stat(file).st_size
    except OSError as exc:
        raise ImageFileError(f"{path}: cannot open the data file {file}: "
                             f"{exc.strerror or exc}") from None
    if header_size > 0:
        start = header_size                  # from the start of the file, also for LOCAL
    elif header_size == -1:
        if compressed:
            raise ImageFileError(f"{path}: HeaderSize = -1 with compressed data is not "
                                 "supported")
        start = size - nbytes
    start = max(start, 0)
    available = size - start
    if compressed:
        limit = compressed_size if compressed_size > 0 else available
        check_payload_size(file, limit, available, "compressed pixel data")
        if nbytes > _MAX_INFLATE_RATIO * limit + 64:
            raise ImageFileError(f"{file}: the header declares {nbytes} bytes of pixel data, "
                                 f"more than {limit} compressed bytes can hold: damaged")
        return start, limit
    check_payload_size(file, nbytes if binary else count, available,
                       "pixel data" if binary else "text pixel values")
    return start, available


def _read_chunk(file: str, start: int, limit: int, out: np.ndarray, *, binary: bool,
                compressed: bool) -> None:
    """Fill ``out`` (flat, the file's dtype) from ``limit`` bytes of ``file`` at ``start``."""
    with open(file, "rb") as fh:
        fh.seek(start)
        if compressed:
            inflate_exactly(fh, file, limit, memoryview(out.view(np.uint8)))
        elif binary:
            if fh.readinto(memoryview(out.view(np.uint8))) != out.nbytes:
                raise ImageFileError(f"{file}: pixel data truncated while reading")
        else:
            words = fh.read(limit).split()
            if len(words) < out.size:
                raise ImageFileError(f"{file}: {len(words)} text pixel values for "
                                     f"{out.size} declared")
            try:
                values = np.array(words[:out.size], dtype=np.float64)
            except ValueError:
                raise ImageFileError(f"{file}: text pixel data that are not numbers") from None
            with np.errstate(invalid="ignore", over="ignore"):
                out[...] = values.astype(out.dtype)


# --------------------------------------------------------------------------- read
def read(path: str, *, as_complex: bool = False, lazy: bool = False,
         chunks=None) -> Image:
    """Read a ``.mha`` or ``.mhd`` file as SimpleITK does (see the module notes).

    Parameters
    ----------
    path : str
    as_complex : bool
        Read a 2-channel float/double file as a COMPLEX64/COMPLEX128 image (how ITK writes
        complex images). Default False: a 2-component vector, as SimpleITK reads it.
    lazy : bool
        Return a lazy image (:mod:`gpuresample.io.lazy`): geometry from the header, the
        pixels memory-mapped chunk by chunk when needed. Needs uncompressed binary data
        in one file (``LOCAL`` or one ``.raw``).
    chunks : optional
        Dask chunks of the lazy array (numpy order); default 128 voxels along each axis.

    Raises
    ------
    ImageFileError
        Damaged, truncated or inconsistent files, dimensions other than 2 to 4.
    """
    lazy_chunks = chunks
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise ImageFileError(f"{path}: cannot open ({exc.strerror or exc})") from None
    with fh:
        fields, extras, data_start = _read_header(fh, path)
        n = _integers(fields, "NDims", 1, path)[0]
        if not 2 <= n <= 4:
            raise ImageFileError(f"{path}: NDims = {n}; gpuresample images have 2 to 4 axes")
        sizes = _integers(fields, "DimSize", n, path)
        if sizes is None or min(sizes) < 0:
            raise ImageFileError(f"{path}: DimSize is missing or negative")
        element = fields.get("ElementType", "")
        if element not in _ELEMENT_TYPES:
            raise ImageFileError(f"{path}: unsupported or missing ElementType {element!r}")
        channels = (_integers(fields, "ElementNumberOfChannels", 1, path) or [1])[0]
        if channels < 1 or (element == "MET_FLOAT_MATRIX" and channels > 1):
            raise ImageFileError(f"{path}: unsupported ElementNumberOfChannels = {channels} "
                                 f"for {element}")
        dtype_name, is_array = _ELEMENT_TYPES[element]
        msb = _flag(fields, "BinaryDataByteOrderMSB")
        if msb is None:
            msb = _flag(fields, "ElementByteOrderMSB") or False
        dtype = np.dtype(dtype_name).newbyteorder(">" if msb else "<")
        binary = _flag(fields, "BinaryData") is not False
        compressed = bool(_flag(fields, "CompressedData")) and binary
        compressed_size = (_integers(fields, "CompressedDataSize", 1, path) or [0])[0]
        header_size = (_integers(fields, "HeaderSize", 1, path) or [0])[0]
        origin, spacing, direction = _geometry(fields, n, path)
        chunks, suffixed = _data_chunks(fields, fh, data_start, path, sizes)
    if suffixed:
        compressed = binary = True
    places = [_locate(file, start, count * channels * dtype.itemsize, count * channels,
                      binary=binary, compressed=compressed,
                      compressed_size=compressed_size if len(chunks) == 1 else 0,
                      header_size=header_size, path=path)
              for file, start, count in chunks]
    is_vector = channels > 1 or is_array
    shape = tuple(sizes[::-1]) + ((channels,) if is_vector else ())
    if lazy:
        if compressed or not binary or len(chunks) != 1 or as_complex:
            raise ValueError(f"{path}: lazy reading needs uncompressed binary pixels in one "
                             "file (no CompressedData, ASCII data, file lists or "
                             "as_complex); read it with lazy=False")
        from .lazy import raw_array

        array = raw_array(chunks[0][0], places[0][0], dtype, shape, chunks=lazy_chunks)
        return Image._from_array(array, is_vector=is_vector, origin=origin, spacing=spacing,
                                 direction=direction, metadata=_metadata(fields, extras))
    flat = np.empty(math.prod(sizes) * channels, dtype=dtype)
    offset = 0
    for (file, _, count), (start, limit) in zip(chunks, places):
        _read_chunk(file, start, limit, flat[offset:offset + count * channels], binary=binary,
                    compressed=compressed)
        offset += count * channels
    if not dtype.isnative:
        flat = flat.byteswap(inplace=True).view(dtype.newbyteorder("="))
    array = flat.reshape(shape)
    if as_complex:
        if not (is_vector and channels == 2 and array.dtype.kind == "f"):
            raise ValueError(f"{path}: as_complex=True needs 2 channels of float or double, "
                             f"the file has {channels} of {element}")
        array = array.view(np.complex64 if array.dtype == np.float32 else np.complex128)[..., 0]
        is_vector = False
    try:
        return Image._from_array(np.ascontiguousarray(array), is_vector=is_vector,
                                 origin=origin, spacing=spacing, direction=direction,
                                 metadata=_metadata(fields, extras))
    except ValueError as exc:
        raise ImageFileError(f"{path}: {exc}") from None


def _metadata(fields: dict[str, str], extras: dict[str, str]) -> dict[str, str]:
    md = {"ITK_InputFilterName": "MetaImageIO",
          "Modality": fields.get("Modality") if fields.get("Modality") in _MODALITIES
          else "MET_MOD_UNKNOWN"}
    md.update((k, v) for k, v in extras.items()
              if k not in ("ITK_original_direction", "ITK_original_spacing"))
    units = fields.get("DistanceUnits")
    if units in ("um", "mm", "cm"):
        md["ITK_VoxelUnits"] = units
    if fields.get("AcquisitionDate"):
        md["ITK_ExperimentDate"] = fields["AcquisitionDate"]
    return dict(sorted(md.items()))


# --------------------------------------------------------------------------- write
def _user_fields(metadata: dict[str, str]) -> list[str]:
    lines, skipped = [], []
    for key in sorted(metadata):
        value = metadata[key]
        if key in _NOT_CARRIED or key in _DROPPED_ON_WRITE:
            continue
        if (not value or not key or key != key.strip() or any(c in key for c in "=:\r\n")
                or any(c in value for c in "\r\n") or key in _FIELDS):
            skipped.append(key)
            continue
        lines.append(f"{key} = {value}")
    if skipped:
        warnings.warn(f"MetaImage header: meta-data entries {skipped} not written (empty, "
                      "with line breaks, '=' or ':' in the key, or a MetaIO field name: "
                      "they would not read back as themselves)", stacklevel=3)
    return lines


def _header(image: Image, element: str, channels: int, compressed_size: int | None,
            data_file: str) -> bytes:
    n = image.dimension
    md = image.metadata
    lines = ["ObjectType = Image", f"NDims = {n}"]
    if md.get("ITK_ExperimentDate"):
        lines.append(f"AcquisitionDate = {md['ITK_ExperimentDate']}")
    lines += ["BinaryData = True", "BinaryDataByteOrderMSB = False",
              f"CompressedData = {compressed_size is not None}"]
    if compressed_size:
        lines.append(f"CompressedDataSize = {compressed_size}")
    lines += [f"TransformMatrix = {format_numbers(image.direction.T.ravel())}",
              f"Offset = {format_numbers(image.origin)}",
              f"CenterOfRotation = {format_numbers([0.0] * n)}"]
    if md.get("ITK_VoxelUnits") in _DISTANCE_UNITS:
        lines.append(f"DistanceUnits = {_DISTANCE_UNITS[md['ITK_VoxelUnits']]}")
    if n == 3:
        lines.append(f"AnatomicalOrientation = {_anatomical_orientation(image.direction)}")
    lines.append(f"ElementSpacing = {format_numbers(image.spacing)}")
    lines += _user_fields(md)
    lines.append(f"DimSize = {' '.join(str(s) for s in image.size)}")
    if n != 3:
        lines.append(f"AnatomicalOrientation = {'?' * n}")
    if channels > 1:
        lines.append(f"ElementNumberOfChannels = {channels}")
    lines += [f"ElementType = {element}", f"ElementDataFile = {data_file}"]
    return ("\n".join(lines) + "\n").encode("utf-8")


def write(image: Image, path: str, *, compress: bool = False,
          compression_level: int = 2) -> None:
    """Write ``image`` as a MetaImage file, as SimpleITK writes it.

    ``.mha`` holds header and pixels; ``.mhd`` gets a data file beside it named like the
    header with ``.raw`` (``.zraw`` when compressed), as ITK names it.

    Parameters
    ----------
    image : Image
        On the host; any pixel type (complex as 2 channels), 2 to 4 axes.
    path : str
    compress : bool
        zlib-compress the pixels (``CompressedData = True``).
    compression_level : int
        zlib level, 2 by default (ITK's MetaImageIO default).
    """
    array = np.asarray(image._array)
    if image.pixel_type.is_complex:
        channels, component = 2, array.real.dtype
    else:
        channels, component = image.number_of_components if image.pixel_type.is_vector else 1, \
            array.dtype
    element = _WRITE_TYPES[component.name]
    payload: Any = np.ascontiguousarray(
        array.astype(array.dtype.newbyteorder("<"), copy=False)).reshape(-1).view(np.uint8)
    compressed_size = None
    if compress:
        payload = zlib.compress(payload, compression_level)
        compressed_size = len(payload)
    if path.lower().endswith(".mha"):
        with atomic_write(path) as tmp, open(tmp, "wb") as fh:
            fh.write(_header(image, element, channels, compressed_size, "LOCAL"))
            fh.write(payload)
        return
    stem = os.path.basename(path)
    data_name = (stem.rsplit(".", 1)[0] if "." in stem else stem) + \
        (".zraw" if compress else ".raw")
    data_path = os.path.join(os.path.dirname(os.path.abspath(path)), data_name)
    # both files are complete before either is renamed into place (data first)
    with atomic_write(path) as tmp_header, atomic_write(data_path) as tmp_data:
        with open(tmp_data, "wb") as fh:
            fh.write(payload)
        with open(tmp_header, "wb") as fh:
            fh.write(_header(image, element, channels, compressed_size, data_name))


# --------------------------------------------------------------------------- series
def _almost_equal(a: float, b: float) -> bool:
    """ITK's ``Math::AlmostEquals`` for doubles: within 0.1 epsilon, or 4 ulps apart."""
    if abs(a - b) <= 0.1 * np.finfo(np.float64).eps:
        return True
    if (a < 0) != (b < 0):
        return False
    ia, ib = np.array([a, b], dtype=np.float64).view(np.int64).tolist()
    return abs(ia - ib) <= 4


def _norm(v: Sequence[float]) -> float:
    total = 0.0
    for x in v:
        total += x * x
    return math.sqrt(total)


def stack_series(paths: Sequence[str], read_one: Callable[[str], Image]) -> Image:
    """Files of one format as one volume, as ITK's ImageSeriesReader stacks them.

    Shared by the formats without a series notion of their own (MetaImage, NRRD, NIfTI):
    the output has one axis more than the files (3-D files whose z size is 1 are stacked
    along z), the first file's origin, spacing, direction and pixel type (other files are
    cast to it), and along the new axis the spacing ``|origin_last - origin_first| / (n -
    1)`` (1 when the origins coincide). Slices whose spacing differs from that get
    ``ITK_non_uniform_sampling_deviation`` (the largest deviation) and a warning when it
    exceeds 1e-4 of the spacing. The volume carries no other meta-data, as in SimpleITK.
    Lazy files (``read_one`` reading with ``lazy=True``) give a lazy volume: a dask stack
    of the files, each read when its slices are needed.
    """
    if not paths:
        raise ValueError("read_series got an empty list of files")
    first = read_one(paths[0])
    lazy = first.is_lazy

    def pixels(img: Image):
        return img.data if lazy else np.asarray(img._array)

    dim = first.dimension + 1
    if dim == 4 and first.size[2] == 1:
        dim = 3
    if dim > 4:
        raise ValueError(f"{paths[0]}: a series of {first.dimension}-D files would be "
                         f"{dim}-D; gpuresample images have 2 to 4 axes")
    size = list(first.size) + [1] * (dim - first.dimension)
    keep = first.dimension

    def embed(values: Sequence[float], fill: float) -> list[float]:
        return list(values)[:keep] + [fill] * (dim - keep)

    direction = np.eye(dim)
    direction[:keep, :keep] = first.direction[:keep, :keep]
    spacing = embed(first.spacing, 1.0)
    origins = [embed(first.origin, 0.0)]
    moving = min(first.dimension, dim - 1)
    while moving > 0 and size[moving - 1] == 1:
        moving -= 1
    arrays = [pixels(first)]
    for name in paths[1:]:
        img = read_one(name)
        img_size = (list(img.size) + [1] * dim)[:dim]
        if img_size != size or img.number_of_components != first.number_of_components:
            raise ImageFileError(f"size mismatch: {name} is {tuple(img.size)} with "
                                 f"{img.number_of_components} component(s), the series needs "
                                 f"{tuple(first.size)} with {first.number_of_components} "
                                 f"(from {paths[0]})")
        arrays.append(pixels(img).astype(first.dtype))
        origins.append(embed(img.origin, 0.0))
    n = len(paths)
    metadata: dict[str, str] = {}
    if n > 1:
        gap = _norm([b - a for a, b in zip(origins[0], origins[-1])])
        defined = not _almost_equal(gap, 0.0)
        spacing[moving] = gap / (n - 1) if defined else 1.0
        deviation = 0.0
        for prev, cur in zip(origins, origins[1:]):
            step = _norm([b - a for a, b in zip(prev, cur)])
            if defined and not _almost_equal(step, spacing[moving]):
                deviation = max(deviation, abs(spacing[moving] - step))
        if deviation > 0:
            metadata["ITK_non_uniform_sampling_deviation"] = repr(deviation)
            if deviation > 1e-4 * spacing[moving]:
                warnings.warn(f"non-uniform sampling or missing slices in the series from "
                              f"{paths[0]}: largest spacing deviation {deviation:g}",
                              stacklevel=3)
        size[moving] = n
    out_shape = tuple(size[::-1]) + ((first.number_of_components,)
                                     if first.pixel_type.is_vector else ())
    if lazy:
        from .._arrays import import_dask

        array = import_dask().stack(arrays).reshape(out_shape)
    else:
        array = np.ascontiguousarray(np.stack(arrays).reshape(out_shape))
    return Image._from_array(array, is_vector=first.pixel_type.is_vector,
                             origin=origins[0], spacing=spacing, direction=direction,
                             metadata=metadata)


def read_series(paths: list[str], **options: Any) -> Image:
    """MetaImage files stacked as one volume, as ``sitk.ReadImage(list_of_files)``.

    See :func:`stack_series`; ``options`` go to :func:`read` for each file.
    """
    return stack_series(paths, lambda p: read(p, **options))
