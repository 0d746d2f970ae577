"""NIfTI-1 files (``.nii``, ``.nii.gz``) and nibabel images, as ITK reads and writes them.

The 348-byte header is read and written with its own layout (no nibabel needed for files);
nibabel (extra ``nifti``) is used only by :func:`from_nibabel` / :func:`to_nibabel`. The
geometry rules and their float arithmetic are ITK's (:mod:`gpuresample.io._nifti1`, SEMANTICS §9.3):

* RAS <-> LPS: origin ``(-m03, -m13, +m23)``, direction column ``d`` the normalised
  ``(-m0d, -m1d, +m2d)`` of the chosen matrix; spacing ``pixdim[1..]`` (not the matrix
  norms) times 1000 for metres, 0.001 for microns; a 4th axis takes ``pixdim[4]`` and
  ``toffset`` in seconds (ms and us scaled).
* Which matrix: both codes 0 -> origin 0, identity; sform and qform (nearly) equal ->
  sform; an orthonormal sform wins when the qform code is 0 or the sform code is 1
  (scanner), else only if an SVD comparison finds it equal to the qform within 1e-4;
  otherwise the qform; a non-orthonormal sform alone is an error
  (``ITK_NIFTI_SFORM_PERMISSIVE`` takes its nearest rotation, as ITK).
* Pixels: every NIfTI integer, float and complex type; RGB24/RGBA32 and
  ``NIFTI_INTENT_VECTOR``/``DISPVECT`` files (components in ``dim[5]``) are vector images,
  ``DISPVECT`` vectors converted from RAS (x and y negated). ``scl_slope``/``scl_inter``
  (a slope of 0 counts as 1) rescale in double; integer types become FLOAT32.
* Meta-data: SimpleITK's keys (``qform_code``, ``sform_code`` and their ``_name``,
  ``srow_x``, ``pixdim[i]``, ``dim[i]``, ``scl_slope``, ``ITK_sform_corrected``,
  ``ITK_FileNotes``, ...) with its number formatting; ``qfac`` and ``qto_xyz``, which
  SimpleITK holds as numbers it cannot show, are left out.

Writing produces SimpleITK's header byte for byte: qform and sform both from the
direction (orthogonalised and turned into a quaternion with nifti1_io's float
arithmetic), codes 1 (scanner; SimpleITK 2.5.7 ignores ``qform_code``/``sform_code`` in
the dictionary), ``xyzt_units`` mm and s, vector images with ``NIFTI_INTENT_VECTOR``
(``DISPVECT``, with the RAS conversion, when the dictionary says ``intent_code = 1006``),
``descrip`` from ``ITK_FileNotes`` and ``aux_file``. ``.nii.gz`` is gzip-compressed,
``.nii`` never (the name decides, as in ITK; ``compress`` is ignored).

:func:`from_nibabel` and :func:`to_nibabel` convert in memory with the same rules.

Deliberate differences: pixel data shorter than the header declares raise
:class:`ImageFileError` (ITK returns zeros past the end of the file); the pixels come from
the file named (asked for ``x.nii.gz``, ITK reads the pixels of ``x.nii`` when both
exist); a gzip stream named ``.nii`` is read (ITK cannot); writing ``DISPVECT`` works
(SimpleITK refuses, its vector images being variable-length); when both codes are set,
the sform code is not 1 and the two matrices agree to float precision, ITK's pick
depends on the signs of its single-precision LINPACK SVD; we take the sform (the two
differ by float rounding, ~1e-7). NIfTI-2 files are refused, as SimpleITK 2.5.7 does.

Example
-------
>>> import os, tempfile, numpy as np
>>> from gpuresample import image_from_array
>>> img = image_from_array(np.arange(24, dtype=np.int16).reshape(2, 3, 4))
>>> img.origin = (10.0, -20.0, 30.0)
>>> path = os.path.join(tempfile.mkdtemp(), "a.nii.gz")
>>> write(img, path)
>>> back = read(path)
>>> back.origin, back.metadata["sform_code_name"]
((10.0, -20.0, 30.0), 'NIFTI_XFORM_SCANNER_ANAT')
>>> to_nibabel(back).affine[:3, 3].tolist()
[-10.0, 20.0, 30.0]
"""

from __future__ import annotations

import gzip
import math
import os
import warnings
import zlib
from typing import Any, BinaryIO

import numpy as np

from ..image import Image
from . import _nifti1 as n1
from .common import ImageFileError, atomic_write, check_payload_size, gzip_compress, require
from .metaimage import stack_series

__all__ = ["read", "write", "read_series", "from_nibabel", "to_nibabel"]

_TYPES = {2: "uint8", 4: "int16", 8: "int32", 16: "float32", 64: "float64", 256: "int8",
          512: "uint16", 768: "uint32", 1024: "int64", 1280: "uint64", 32: "complex64",
          1792: "complex128", 128: "uint8", 2304: "uint8"}
_RGB_COMPONENTS = {128: 3, 2304: 4}
_CODES = {"uint8": 2, "int16": 4, "int32": 8, "float32": 16, "float64": 64, "int8": 256,
          "uint16": 512, "uint32": 768, "int64": 1024, "uint64": 1280, "complex64": 32,
          "complex128": 1792}
_HEADER, _OFFSET = 348, 352
_MAX_INFLATE_RATIO = 1032


def _nibabel():
    return require("nibabel", "nifti", "NIfTI files")


# The 348-byte NIfTI-1 header (nifti1.h; the field names nibabel uses too). Files are read
# and written with this layout alone, so reading a .nii needs no nibabel import.
_HEADER_DTYPE = np.dtype([
    ("sizeof_hdr", "i4"), ("data_type", "S10"), ("db_name", "S18"), ("extents", "i4"),
    ("session_error", "i2"), ("regular", "S1"), ("dim_info", "u1"), ("dim", "i2", (8,)),
    ("intent_p1", "f4"), ("intent_p2", "f4"), ("intent_p3", "f4"), ("intent_code", "i2"),
    ("datatype", "i2"), ("bitpix", "i2"), ("slice_start", "i2"), ("pixdim", "f4", (8,)),
    ("vox_offset", "f4"), ("scl_slope", "f4"), ("scl_inter", "f4"), ("slice_end", "i2"),
    ("slice_code", "u1"), ("xyzt_units", "u1"), ("cal_max", "f4"), ("cal_min", "f4"),
    ("slice_duration", "f4"), ("toffset", "f4"), ("glmax", "i4"), ("glmin", "i4"),
    ("descrip", "S80"), ("aux_file", "S24"), ("qform_code", "i2"), ("sform_code", "i2"),
    ("quatern_b", "f4"), ("quatern_c", "f4"), ("quatern_d", "f4"), ("qoffset_x", "f4"),
    ("qoffset_y", "f4"), ("qoffset_z", "f4"), ("srow_x", "f4", (4,)), ("srow_y", "f4", (4,)),
    ("srow_z", "f4", (4,)), ("intent_name", "S16"), ("magic", "S4"),
])


# --------------------------------------------------------------------------- layout
def _layout(nim: dict[str, Any], where: str) -> tuple[int, int, str, np.dtype]:
    """(image dimension, components, pixel kind, component dtype), as ITK decides them."""
    intent, dim = nim["intent_code"], nim["dim"]
    if intent == n1.INTENT_GENMATRIX:
        raise ImageFileError(f"{where}: NIFTI_INTENT_GENMATRIX images are not supported "
                             "(nor by ITK)")
    if nim["datatype"] not in _TYPES:
        raise ImageFileError(f"{where}: unsupported NIfTI datatype {nim['datatype']} "
                             "(float16, float128, complex256 and others are not read by ITK)")
    dtype = np.dtype(_TYPES[nim["datatype"]])
    if intent in (n1.INTENT_VECTOR, n1.INTENT_DISPVECT, n1.INTENT_SYMMATRIX):
        if intent == n1.INTENT_SYMMATRIX:
            raise ImageFileError(f"{where}: NIFTI_INTENT_SYMMATRIX (tensor) images are not "
                                 "supported (SimpleITK cannot read them either)")
        dims = next((d for d in (4, 3, 2) if dim[d] > 1), 1)
        components, kind = dim[5], "vector"
        if components < 1:
            raise ImageFileError(f"{where}: a vector NIfTI image with dim[5] = {components}")
        if dtype.kind == "c" or nim["datatype"] in _RGB_COMPONENTS:
            raise ImageFileError(f"{where}: vector intent with datatype {nim['datatype']} is "
                                 "not supported")
    else:
        dims = dim[0]
        while dims > 3 and dim[dims] == 1:
            dims -= 1
        components, kind = 1, "scalar"
        if nim["datatype"] in _RGB_COMPONENTS:
            components, kind = _RGB_COMPONENTS[nim["datatype"]], "rgb"
        elif dtype.kind == "c":
            kind = "complex"
    if not 2 <= dims <= 4:
        raise ImageFileError(f"{where}: a {dims}-D NIfTI image; gpuresample images have 2 to "
                             "4 axes")
    return dims, components, kind, dtype


def _nbytes_per_voxel(nim: dict[str, Any]) -> int:
    return np.dtype(_TYPES[nim["datatype"]]).itemsize * _RGB_COMPONENTS.get(nim["datatype"], 1)


def _image(nim: dict[str, Any], raw: np.ndarray, slope: float, inter: float,
           where: str) -> Image:
    """An Image from nifti1_io's header view and the raw voxels in reversed-dim order
    (``dim[ndim], ..., dim[1]``, file byte order already native)."""
    dims, components, kind, dtype = _layout(nim, where)
    dim = nim["dim"]
    if kind == "vector":          # NIfTI: x y z t c (c slowest) -> numpy [t, z, y, x, c]
        series = dim[1:5]
        if raw.size != components * math.prod(series):
            raise ImageFileError(f"{where}: a vector image with dimensions beyond dim[5] "
                                 f"({dim}) is not supported")
        raw = raw.reshape((components,) + tuple(series[::-1]))
        array = np.moveaxis(raw, 0, -1).reshape(tuple(dim[1:dims + 1][::-1]) + (components,))
    elif kind == "rgb":
        array = raw.reshape(tuple(dim[1:dims + 1][::-1]) + (components,))
    else:
        array = raw.reshape(tuple(dim[1:dims + 1][::-1]))
    array = _values(array, slope, inter, dtype, kind, where)
    if nim["intent_code"] == n1.INTENT_DISPVECT:
        if components != 3 or array.dtype.kind != "f":
            raise ImageFileError(f"{where}: NIFTI_INTENT_DISPVECT needs 3 float components "
                                 f"for the RAS -> LPS conversion, got {components} of "
                                 f"{array.dtype}")
        array = array.copy()
        array[..., :2] *= -1
    origin, spacing, direction, md = _geometry(nim, dims, where)
    try:
        return Image._from_array(np.ascontiguousarray(array), is_vector=kind in ("vector", "rgb"),
                                 origin=origin, spacing=spacing, direction=direction,
                                 metadata=md)
    except ValueError as exc:
        raise ImageFileError(f"{where}: {exc}") from None


def _geometry(nim: dict[str, Any], dims: int, where: str):
    """(origin, spacing, direction, metadata) as ITK reads them."""
    try:
        origin, spacing, direction, corrected = n1.geometry(nim, dims, where)
    except ValueError as exc:
        raise ImageFileError(str(exc)) from None
    return origin, spacing, direction, n1.metadata(nim, corrected, _nbytes_per_voxel(nim))


def _must_rescale(slope: float, inter: float) -> bool:
    return abs(slope) > np.finfo(float).eps and (
        abs(slope - 1.0) > np.finfo(float).eps or abs(inter) > np.finfo(float).eps)


def _values(array: np.ndarray, slope: float, inter: float, dtype: np.dtype, kind: str,
            where: str) -> np.ndarray:
    """Pixel values as ITK reads them: non-finite floats as 0, then the rescale."""
    if array.dtype.kind in "fc":
        # nifticlib's nifti_read_buffer replaces every non-finite float (NaN, ±inf; each
        # part of a complex value) by 0 as it reads, so SimpleITK never sees one
        work = array.view(array.real.dtype) if array.dtype.kind == "c" else array
        if not np.all(np.isfinite(work)):
            work = np.where(np.isfinite(work), work, work.dtype.type(0))
            array = work.view(array.dtype) if array.dtype.kind == "c" else work
    if _must_rescale(slope, inter):
        if dtype.kind in "iu":
            if kind == "vector":
                raise ImageFileError(f"{where}: integer vector pixels with scl_slope/scl_inter"
                                     " (ITK overruns its buffer on these)")
            array = array.astype(np.float32)
        work = array.real if array.dtype.kind == "c" else array
        out_type = work.dtype
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = (work.astype(np.float64) * slope + inter).astype(out_type)
        if array.dtype.kind == "c":
            imag = (array.imag.astype(np.float64) * slope + inter).astype(out_type)
            array = (scaled + 1j * imag).astype(array.dtype)
        else:
            array = scaled
    return array


# --------------------------------------------------------------------------- read
def _parse_header(raw: bytes, path: str):
    if len(raw) < _HEADER:
        raise ImageFileError(f"{path}: {len(raw)} bytes, shorter than a NIfTI-1 header "
                             f"({_HEADER}): truncated or not a NIfTI file")
    size_le, size_be = int.from_bytes(raw[:4], "little"), int.from_bytes(raw[:4], "big")
    if 540 in (size_le, size_be):
        raise ImageFileError(f"{path}: a NIfTI-2 file; only NIfTI-1 is read (as SimpleITK "
                             "2.5.7)")
    dim0 = int.from_bytes(raw[40:42], "little")
    swapped = int.from_bytes(raw[40:42], "big")
    if not (1 <= dim0 <= 7 or 1 <= swapped <= 7) and _HEADER not in (size_le, size_be):
        raise ImageFileError(f"{path}: not a NIfTI file (bad dim[0] and sizeof_hdr)")
    endian = "<" if 1 <= dim0 <= 7 else ">" if 1 <= swapped <= 7 else (
        "<" if size_le == _HEADER else ">")
    header = np.frombuffer(raw[:_HEADER], dtype=_HEADER_DTYPE.newbyteorder(endian))[0]
    if not 1 <= int(header["dim"][0]) <= 7:
        raise ImageFileError(f"{path}: not a NIfTI file (dim[0] = {int(header['dim'][0])})")
    return header, endian


def _open(path: str) -> tuple[BinaryIO, bool]:
    """The file, decompressed when it is a gzip stream (by content: a plain file named
    .nii.gz reads as ITK's zlib reads it, and a gzip stream named .nii reads too)."""
    fh = open(path, "rb")
    magic = fh.read(2)
    fh.seek(0)
    if magic == b"\x1f\x8b":
        try:   # ISA-L inflates about 3x faster than zlib, when installed
            from isal.igzip import IGzipFile as GzipFile
        except ImportError:
            GzipFile = gzip.GzipFile
        return GzipFile(fileobj=fh, mode="rb"), True
    return fh, False


def read(path: str, *, lazy: bool = False, chunks=None) -> Image:
    """Read a ``.nii`` / ``.nii.gz`` file as SimpleITK does (see the module notes).

    ``lazy=True``: a lazy image (:mod:`gpuresample.io.lazy`) of an uncompressed scalar or
    RGB file, its pixels memory-mapped chunk by chunk when needed (the same values: the
    rescale and the non-finite replacement run per chunk); ``chunks`` are its dask chunks
    (numpy order, default 128 voxels along each axis).

    Raises
    ------
    ImageFileError
        Damaged, truncated or inconsistent files; layouts ITK refuses.
    """
    try:
        fh, compressed = _open(path)
    except OSError as exc:
        raise ImageFileError(f"{path}: cannot open ({exc.strerror or exc})") from None
    size = os.path.getsize(path)
    if lazy:
        fh.close()
        return _read_lazy(path, compressed, size, chunks)
    try:
        with fh:
            header, endian = _parse_header(_read_exactly(fh, _HEADER, path, allow_short=True),
                                           path)
            nim = n1.to_nim(header)
            _layout(nim, path)
            count = math.prod(nim["dim"][1:nim["dim"][0] + 1])
            nbytes = count * _nbytes_per_voxel(nim)
            offset = nim["vox_offset"]
            if compressed:
                if offset + nbytes > _MAX_INFLATE_RATIO * size + 1024:
                    raise ImageFileError(f"{path}: the header declares {nbytes} bytes of "
                                         f"pixel data, more than a {size}-byte gzip file holds")
            else:
                check_payload_size(path, nbytes, max(size - offset, 0))
            _read_exactly(fh, offset - _HEADER, path)
            dtype = np.dtype(_TYPES[nim["datatype"]]).newbyteorder(endian)
            raw = np.empty(nbytes // dtype.itemsize, dtype=dtype)
            got = fh.readinto(memoryview(raw.view(np.uint8)))
            if got != nbytes:
                raise ImageFileError(f"{path}: the pixel data end after {got} of {nbytes} "
                                     "bytes: truncated")
    except (OSError, EOFError, zlib.error) as exc:
        raise ImageFileError(f"{path}: damaged compressed data ({exc})") from None
    if not raw.dtype.isnative:
        raw = raw.byteswap(inplace=True).view(raw.dtype.newbyteorder("="))
    slope, inter = _rescale(nim)
    return _image(nim, raw, slope, inter, path)


def _read_lazy(path: str, compressed: bool, size: int, chunks) -> Image:
    if compressed:
        raise ValueError(f"{path}: lazy reading needs an uncompressed .nii file (gzip "
                         "streams cannot be read in parts); read it with lazy=False")
    with open(path, "rb") as fh:
        header, endian = _parse_header(_read_exactly(fh, _HEADER, path, allow_short=True),
                                       path)
    nim = n1.to_nim(header)
    dims, components, kind, dtype = _layout(nim, path)
    if kind not in ("scalar", "rgb"):
        raise ValueError(f"{path}: lazy reading supports scalar and RGB NIfTI images, not "
                         f"{kind} ones; read it with lazy=False")
    dim = nim["dim"]
    shape = tuple(dim[1:dims + 1][::-1]) + ((components,) if kind == "rgb" else ())
    offset = int(nim["vox_offset"])
    check_payload_size(path, math.prod(shape) * dtype.itemsize, max(size - offset, 0))
    from .lazy import raw_array

    raw = raw_array(path, offset, dtype.newbyteorder(endian), shape, chunks=chunks)
    slope, inter = _rescale(nim)
    out = np.float32 if dtype.kind in "iu" and _must_rescale(slope, inter) else dtype
    array = raw.map_blocks(_values, slope, inter, dtype, kind, path, dtype=out)
    origin, spacing, direction, md = _geometry(nim, dims, path)
    return Image._from_array(array, is_vector=kind == "rgb", origin=origin, spacing=spacing,
                             direction=direction, metadata=md)


def _read_exactly(fh: BinaryIO, n: int, path: str, allow_short: bool = False) -> bytes:
    data = b""
    while len(data) < n:
        piece = fh.read(min(n - len(data), 1 << 20))
        if not piece:
            if allow_short:
                break
            raise ImageFileError(f"{path}: the file ends before the pixel data (vox_offset)")
        data += piece
    return data


def _rescale(nim: dict[str, Any]) -> tuple[float, float]:
    """ITK's slope and intercept: none for Analyze files, a slope of ~0 counts as 1."""
    if not nim["is_nifti"]:
        return 1.0, 0.0
    slope = float(nim["scl_slope"])
    if abs(slope) < np.finfo(float).eps:
        slope = 1.0
    return slope, float(nim["scl_inter"])


# --------------------------------------------------------------------------- write
def _header_fields(image: Image) -> tuple[dict[str, Any], bool]:
    """The header SimpleITK writes for ``image``, and whether vectors go out as DISPVECT."""
    dims = image.dimension
    md = image.metadata
    components = image.number_of_components if image.pixel_type.is_vector else 1
    dim = [1] * 8
    pixdim = [0.0] * 8
    pixdim[1:4] = [1.0, 1.0, 1.0]
    for d in range(dims):
        dim[d + 1] = image.size[d]
        pixdim[d + 1] = abs(float(np.float32(image.spacing[d])))
    if max(image.size) > 32767:
        raise ValueError(f"NIfTI-1 stores sizes up to 32767, this image is {image.size}")
    intent, dispvect = 0, False
    if components > 1:           # as ITK: a 1-component vector image is written scalar
        dim[0], dim[5], intent = 5, components, n1.INTENT_VECTOR
        if md.get("intent_code", "").strip() == str(n1.INTENT_DISPVECT):
            if components != 3 or image.dtype.kind != "f":
                raise ValueError("NIFTI_INTENT_DISPVECT (meta-data intent_code = 1006) needs "
                                 "3 float components for the LPS -> RAS conversion, this "
                                 f"image has {components} of {image.dtype}")
            intent, dispvect = n1.INTENT_DISPVECT, True
    else:
        dim[0] = dims
    for key, limit, field in (("ITK_FileNotes", 79, "descrip"), ("aux_file", 23, "aux_file")):
        if len(md.get(key, "").encode("utf-8")) > limit:
            raise ValueError(f"{key} (NIfTI {field}) is longer than NIfTI's {limit} characters")
    component = image.dtype.name
    nbyper = image.dtype.itemsize
    fields = n1.orientation_fields(image.origin, image.spacing, image.direction)
    pixdim[0] = float(fields.pop("qfac"))
    fields.update({
        "sizeof_hdr": _HEADER, "dim": dim, "pixdim": pixdim, "intent_code": intent,
        "datatype": _CODES[component], "bitpix": 8 * nbyper, "vox_offset": float(_OFFSET),
        "scl_slope": 1.0, "scl_inter": 0.0, "xyzt_units": 2 | 8,
        "toffset": float(np.float32(image.origin[3])) if dims > 3 else 0.0,
        "descrip": md.get("ITK_FileNotes", "").encode("utf-8"),
        "aux_file": md.get("aux_file", "").encode("utf-8"),
        "qform_code": 1, "sform_code": 1, "magic": b"n+1", "regular": b"r"})
    return fields, dispvect


def _header_bytes(fields: dict[str, Any]) -> bytes:
    block = np.zeros((), dtype=_HEADER_DTYPE.newbyteorder("<"))
    for key, value in fields.items():
        block[key] = value
    return block.tobytes()


def _voxels(image: Image, dispvect: bool) -> np.ndarray:
    """The pixels in NIfTI order (vectors component-major), little-endian, flat bytes."""
    array = np.asarray(image._array)
    if image.pixel_type.is_vector:
        if dispvect:
            array = array.copy()
            array[..., :2] *= -1
        array = np.moveaxis(array, -1, 0)   # a single component: the same bytes
    array = np.ascontiguousarray(array.astype(array.dtype.newbyteorder("<"), copy=False))
    return array.reshape(-1).view(np.uint8)


def write(image: Image, path: str, *, compress: bool = False, compression_level: int = 6) -> None:
    """Write ``image`` as NIfTI-1, as SimpleITK writes it (see the module notes).

    Parameters
    ----------
    image : Image
        On the host; scalar, complex or vector pixels, 2 to 4 axes.
    path : str
        ``.nii.gz`` is gzip-compressed, ``.nii`` is not: the name decides, as in ITK
        (``compress`` is accepted and ignored).
    compression_level : int
        gzip level for ``.nii.gz``, 6 by default (zlib's, which ITK uses; ISA-L's level 3
        when installed, see :func:`gpuresample.io.common.gzip_compress`).
    """
    fields, dispvect = _header_fields(image)
    head = _header_bytes(fields) + b"\x00" * (_OFFSET - _HEADER)
    data = _voxels(image, dispvect)
    with atomic_write(path) as tmp, open(tmp, "wb") as fh:
        if path.lower().endswith(".gz"):
            fh.write(gzip_compress(head, data, level=compression_level))
        else:
            fh.write(head)
            fh.write(data)


def read_series(paths: list[str], **options: Any) -> Image:
    """NIfTI files stacked as one volume, as ``sitk.ReadImage(list_of_files)``
    (see :func:`gpuresample.io.metaimage.stack_series`)."""
    return stack_series(paths, lambda p: read(p, **options))


# --------------------------------------------------------------------------- nibabel
def from_nibabel(nib_image: Any) -> Image:
    """The Image SimpleITK would read from ``nib_image`` saved as NIfTI-1.

    The header (``nib_image.affine`` included, without changing ``nib_image``) goes
    through ITK's rules (RAS -> LPS, sform/qform choice, pixdim spacing, units, intent
    vectors, scaling to FLOAT32), so ``from_nibabel(nibabel.load(p))`` equals
    ``read_image(p)``. Scaling is taken from the image's array proxy, as nibabel keeps it
    there (nibabel drops a slope of 0 with an intercept, which ITK would apply).

    >>> import numpy as np, nibabel as nib
    >>> img = from_nibabel(nib.Nifti1Image(np.zeros((4, 3, 2), np.int16), np.diag([2, 3, 4, 1])))
    >>> img.size, img.spacing, img.direction.diagonal().tolist()
    ((4, 3, 2), (2.0, 3.0, 4.0), [-1.0, -1.0, 1.0])
    """
    nib = _nibabel()
    if not isinstance(nib_image, (nib.Nifti1Image, nib.Nifti1Pair)):
        raise TypeError(f"from_nibabel takes a nibabel Nifti1Image, got "
                        f"{type(nib_image).__name__}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # nibabel notes header fields it adjusts
        synced = nib_image.__class__(nib_image.dataobj, nib_image.affine, nib_image.header)
    header = synced.header
    proxy = nib_image.dataobj
    if hasattr(proxy, "get_unscaled"):
        raw = np.asarray(proxy.get_unscaled())
        slope, inter = float(proxy.slope), float(proxy.inter)
    else:
        raw = np.asarray(proxy)
        slope, inter = header.get_slope_inter()
        slope = 1.0 if slope is None else float(slope)
        inter = 0.0 if inter is None else float(inter)
    header.set_data_dtype(raw.dtype)
    nim = n1.to_nim(header)
    nim["scl_slope"], nim["scl_inter"] = np.float32(slope), np.float32(inter)
    # nibabel holds 0 in memory; a saved single file has its data at 352 or beyond
    nim["vox_offset"] = max(int(float(nib_image.header["vox_offset"])), 352)
    if abs(slope) < np.finfo(float).eps:
        slope = 1.0
    flat = np.asarray(raw).T     # nibabel is (x, y, z, ...): reversed dims, as on disk
    return _image(nim, np.ascontiguousarray(flat).astype(flat.dtype.newbyteorder("="),
                                                         copy=False).reshape(-1),
                  slope, inter, "nibabel image")


def to_nibabel(image: Image) -> Any:
    """A ``nibabel.Nifti1Image`` with the header SimpleITK would write for ``image``.

    The array is a view of the image's pixels in nibabel's (x, y, z[, t]) order (vector
    images (x, y, z, 1, c), as ITK stores them), and the header's qform and sform are
    ITK's, so ``to_nibabel(img)`` equals ``nibabel.load`` of the file :func:`write`
    makes, and ``to_nibabel(read_image(p)).affine`` is ``nibabel.load(p).affine`` to float
    precision.

    >>> import numpy as np
    >>> from gpuresample import Image
    >>> img = Image((4, 3, 2), "int16")
    >>> img.spacing = (2.0, 3.0, 4.0)
    >>> to_nibabel(img).affine.diagonal().tolist()
    [-2.0, -3.0, 4.0, 1.0]
    """
    nib = _nibabel()
    image = image.to("cpu")
    fields, dispvect = _header_fields(image)
    header = nib.Nifti1Header(_header_bytes(fields))
    array = np.asarray(image._array)
    if image.pixel_type.is_vector and image.number_of_components == 1:
        array = array[..., 0]
    if image.pixel_type.is_vector and image.number_of_components > 1:
        if dispvect:
            array = array.copy()
            array[..., :2] *= -1
        spatial = array.ndim - 1
        data = np.moveaxis(array, -1, 0).T          # (x, y, z, ..., c)
        data = data.reshape(data.shape[:spatial] + (1,) * (4 - spatial) + data.shape[-1:])
    else:
        data = array.T
    # nibabel keeps the header's sform and qform (it resets vox_offset and scl_* to its
    # in-memory defaults, written back on save)
    return nib.Nifti1Image(data, header.get_best_affine(), header)
