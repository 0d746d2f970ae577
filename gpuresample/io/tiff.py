"""TIFF files (through tifffile): 2-D images, 3-D stacks, RGB(A) and multi-channel pixels.

What is read, as SimpleITK's TIFFImageIO reads it
-------------------------------------------------
* Pixel types: 8-, 16- and 32-bit integers and 32-bit floats (SimpleITK reads and writes
  exactly these); gpuresample also reads 64-bit integers and floats and complex samples,
  which SimpleITK refuses, and widens 16-bit floats to FLOAT32 (exact).
* Pages: every page except reduced-resolution and mask pages is one z slice, so a
  multi-page file is a 3-D image (as ITK), whatever the file's own axes say.
* Samples: one sample per pixel is a scalar image (MinIsWhite is *not* inverted, as ITK);
  RGB(A) and further samples are a VECTOR_* image with that many components; palette
  images are expanded to RGB (to a scalar when the palette is grey), in 8 bits when the
  palette's first 256 entries fit in 8 bits, else in 16, as ITK.
* Rows are flipped for the bottom-up orientations, as libtiff does for ITK.
* Geometry: origin 0 and identity direction; spacing 25.4 / XResolution (inch) or
  10 / XResolution (cm), computed from the resolution as libtiff stores it (a 32-bit
  float), so that it is bit-identical to SimpleITK's; 1.0 without a resolution unit, and
  1.0 for the z axis of a stack.
* Meta-data: the ASCII tags of the first page, under libtiff's names ("ImageDescription",
  "Software", "DateTime", ...; unknown tags as "Tag 65000"), with the bytes ITK keeps
  (DateTime and unknown tags keep their terminating NUL). Numeric tags, which SimpleITK
  holds as objects it shows as "[UNKNOWN_PRINT_CHARACTERISTICS]", are left out.

Where gpuresample deliberately differs (``convention="metadata"``, the default)
---------------------------------------------------------------------------------
ImageJ and OME-TIFF files carry the physical spacing and the axes that ITK ignores:

* spacing from OME-XML ``PhysicalSizeX/Y/Z`` (with their units), else from the ImageJ
  description (``unit=``, ``spacing=`` for z, X/YResolution as pixels per unit), else as
  ITK. Lengths are converted to millimetres (ITK's convention, as its NIfTI reader does
  for microns); the file's unit is kept in ``metadata["spacing_unit"]`` and the source in
  ``metadata["spacing_source"]`` (``"OME-XML"``, ``"ImageJ"``, ``"TIFF resolution"`` or
  ``"default"``).
* ImageJ / OME channel axes become pixel components (ITK makes every page a slice), time
  a fourth axis.

``convention="itk"`` reads every file exactly as SimpleITK would (pages as slices,
X/YResolution only). In both conventions, files that ITK can only read through libtiff's
8-bit RGBA fallback, losing data (tiled files, separate sample planes, 1/2/4/12-bit
samples, rare photometrics) are read with their stored samples instead; and a grey image
with extra samples is a vector image (ITK copies the first ``width`` interleaved samples
of each row, which is a bug).

Written files
-------------
One page per z slice, contiguous samples (MinIsBlack for one component, RGB for three or
more, the fourth as associated alpha, as ITK), XResolution/YResolution = 25.4 / spacing as
a 32-bit float per inch (what ITK writes), and for stacks an ImageJ description with the z
spacing (in inches, the unit of the resolution tags, so that ImageJ and gpuresample agree).
``compress=True`` uses deflate (zlib). SimpleITK reads these files back with the same
pixels and the same x/y spacing it gives for its own files.

Example
-------
>>> import os, tempfile, numpy as np, gpuresample as gr
>>> img = gr.image_from_array(np.arange(24, dtype=np.uint16).reshape(2, 3, 4))
>>> img.spacing = (0.5, 0.5, 2.0)
>>> path = os.path.join(tempfile.mkdtemp(), "stack.tif")
>>> write(img, path, compress=True)
>>> back = read(path)
>>> back.size, back.spacing[2], back.metadata["spacing_source"]
((4, 3, 2), 2.0, 'ImageJ')
>>> read(path, convention="itk").spacing[2]
1.0
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import xml.etree.ElementTree as ElementTree
from typing import Any, Iterator

import numpy as np

from ..image import Image
from ..pixeltypes import pixel_type_of
from .common import ImageFileError, atomic_write, require

__all__ = ["read", "write", "read_series", "CONVENTIONS"]

CONVENTIONS = ("metadata", "itk")

# ASCII tags libtiff knows, with ITK's way of keeping them: as a C string, or (DateTime,
# a fixed count of 20) with all its bytes. Any other ASCII tag is "Tag N", all bytes.
_LIBTIFF_ASCII = {269: "DocumentName", 270: "ImageDescription", 271: "Make", 272: "Model",
                  285: "PageName", 305: "Software", 315: "Artist", 316: "HostComputer",
                  337: "TargetPrinter", 33432: "Copyright"}
_LIBTIFF_FIXED_ASCII = {306: ("DateTime", 20)}

# Length units of ImageJ and OME-XML, in millimetres.
_UNITS_MM = {"m": 1e3, "cm": 10.0, "mm": 1.0, "um": 1e-3, "\u00b5m": 1e-3, "\u03bcm": 1e-3,
             "micron": 1e-3, "microns": 1e-3, "micrometer": 1e-3, "nm": 1e-6, "pm": 1e-9,
             "\u00c5": 1e-7, "angstrom": 1e-7, "inch": 25.4, "in": 25.4}
_RESOLUTION_UNITS = {2: ("inch", 25.4), 3: ("cm", 10.0)}

# Largest plausible decoded / stored ratio per TIFF compression code, to refuse headers that
# declare far more pixels than the file can hold before anything is allocated.
_MAX_RATIO = {1: 1, 5: 2800, 8: 1100, 32946: 1100, 32773: 64}
_DEFAULT_MAX_RATIO = 1 << 16
_IGNORED_SUBFILES = 1 | 4      # FILETYPE_REDUCEDIMAGE | FILETYPE_MASK
# the sample types ITK's TIFFImageIO reads (and so writes here)
_WRITABLE = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "float32")


# ---------------------------------------------------------------------------- errors
class _Records(logging.Handler):
    """Collects the warnings and errors tifffile logs from one thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


@contextlib.contextmanager
def _strict(path: str) -> Iterator[_Records]:
    """Turn tifffile's logged complaints and decoding failures into ImageFileError.

    tifffile logs damaged structures (bad page offsets, series that do not fit) and goes
    on, returning partly-zero pixels; here any such record fails the read.
    """
    logger = logging.getLogger("tifffile")
    records = _Records()
    logger.addHandler(records)
    try:
        yield records
    except (ImageFileError, FileNotFoundError, IsADirectoryError, PermissionError,
            MemoryError, ImportError):
        raise
    except Exception as exc:   # tifffile, zlib, struct, numpy: all mean a damaged file
        raise ImageFileError(f"{path}: cannot read as TIFF: {exc}") from exc
    finally:
        logger.removeHandler(records)
    if records.messages:
        raise ImageFileError(f"{path}: damaged TIFF file: {'; '.join(records.messages)}")


# ---------------------------------------------------------------------------- reading
def read(path: str, *, convention: str = "metadata") -> Image:
    """Read a TIFF file (one page: 2-D; several: a 3-D stack).

    Parameters
    ----------
    path : str
    convention : {"metadata", "itk"}
        ``"metadata"`` (default): spacing, channels and time from OME-XML or ImageJ
        metadata where present (a deliberate difference to SimpleITK, see the module
        docs); ``"itk"``: exactly what ``SimpleITK.ReadImage`` gives.

    Returns
    -------
    Image
        ``metadata`` has the first page's ASCII tags (ITK's names) and
        ``"spacing_source"`` (plus ``"spacing_unit"`` when the file names a unit).

    Raises
    ------
    ImageFileError
        Not a TIFF file, truncated or damaged data, a header that declares more data than
        the file holds, or pages of differing shapes.

    >>> import os, tempfile, numpy as np, tifffile
    >>> path = os.path.join(tempfile.mkdtemp(), "a.tif")
    >>> tifffile.imwrite(path, np.zeros((3, 4), np.uint8), resolution=(20.0, 40.0),
    ...                  resolutionunit="CENTIMETER")
    >>> img = read(path)
    >>> img.size, img.spacing, img.metadata["spacing_source"]
    ((4, 3), (0.5, 0.25), 'TIFF resolution')
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    tifffile = require("tifffile", "tiff", "Reading TIFF files")
    path = os.fspath(path)
    with _strict(path):
        with tifffile.TiffFile(path) as tf:
            return _read_file(tf, path, convention)


def _read_file(tf: Any, path: str, convention: str) -> Image:
    pages = _image_pages(tf, path)
    first = pages[0]
    size_on_disk = os.path.getsize(path)
    for page in pages:
        _check_page(path, page, first, size_on_disk)
    # tifffile's series are only consulted for ImageJ/OME axes (its guesses for other files
    # can log complaints about files ITK reads without trouble)
    series = (tf.series[0] if convention == "metadata" and (tf.is_imagej or tf.is_ome)
              and tf.series else None)
    use_axes = series is not None and set(series.axes) <= set("TZCYXS")
    if use_axes:
        _check_series(path, series, size_on_disk)
        stack = series.asarray(maxworkers=1)
        array, axes = _normalise_axes(stack, series.axes, first)
    else:
        array = np.stack([_page_samples(page) for page in pages])
        axes = "ZYXS" if len(pages) > 1 else "YXS"
        if len(pages) == 1:
            array = array[0]
    array = _pixels(array, first)
    spacing, metadata = _spacing(tf, first, axes, convention)
    metadata.update(_ascii_tags(tf, first))
    is_vector = array.shape[-1] > 1
    if not is_vector:
        array = array[..., 0]
    try:
        pixel_type_of(array.dtype, is_vector)
    except TypeError as exc:
        raise ImageFileError(f"{path}: samples of type {array.dtype} have no pixel type") \
            from exc
    return Image._from_array(np.ascontiguousarray(array), is_vector=is_vector,
                             spacing=spacing, metadata=metadata)


def _image_pages(tf: Any, path: str) -> list:
    """The pages ITK reads as slices: all but reduced-resolution and mask pages."""
    pages = list(tf.pages)
    if not pages:
        raise ImageFileError(f"{path}: the TIFF file has no image")
    if len(pages) > 1:
        pages = [p for p in pages if not p.subfiletype & _IGNORED_SUBFILES] or pages[:1]
    return pages


def _check_page(path: str, page: Any, first: Any, size_on_disk: int) -> None:
    """Refuse pages that differ from the first, or declare more data than the file holds."""
    if page is not first and (page.shape != first.shape or page.dtype != first.dtype
                              or page.photometric != first.photometric):
        raise ImageFileError(f"{path}: page {page.index} is {page.shape} {page.dtype}, the "
                             f"first page {first.shape} {first.dtype}: not one image stack")
    if page.imagedepth > 1:
        raise ImageFileError(f"{path}: volumetric (ImageDepth) TIFF pages are not supported")
    if page.size == 0 or page.dtype is None:
        raise ImageFileError(f"{path}: page {page.index} has no pixels or an unsupported "
                             f"sample format ({page.sampleformat}, {page.bitspersample} bits)")
    ends = [o + c for o, c in zip(page.dataoffsets, page.databytecounts) if c]
    if not ends or max(ends) > size_on_disk:
        raise ImageFileError(f"{path}: page {page.index} declares pixel data up to byte "
                             f"{max(ends, default=0)} but the file holds {size_on_disk}: "
                             "truncated or damaged")
    stored = int(sum(page.databytecounts))
    declared = page.size * page.bitspersample // 8
    ratio = _MAX_RATIO.get(int(page.compression), _DEFAULT_MAX_RATIO)
    if declared > ratio * stored + (0 if ratio == 1 else 65536):
        raise ImageFileError(f"{path}: page {page.index} declares {declared} bytes of pixels "
                             f"from {stored} stored bytes (compression "
                             f"{getattr(page.compression, 'name', page.compression)}): "
                             "truncated or damaged")


def _check_series(path: str, series: Any, size_on_disk: int) -> None:
    """ImageJ files over 4 GiB keep one page header for contiguous data: check that too."""
    if getattr(series, "is_truncated", False):
        raise ImageFileError(f"{path}: the ImageJ/OME series is truncated")
    offset = series.dataoffset
    if offset is not None and offset + series.nbytes > size_on_disk:
        raise ImageFileError(f"{path}: the series declares {series.nbytes} bytes from byte "
                             f"{offset} but the file holds {size_on_disk}: truncated")


def _page_samples(page: Any) -> np.ndarray:
    """One page's stored samples as [y, x, sample]."""
    data = page.asarray(maxworkers=1)
    if page.samplesperpixel > 1 and int(page.planarconfig) == 2:
        data = np.moveaxis(data, 0, -1)
    return data.reshape(page.imagelength, page.imagewidth, page.samplesperpixel)


def _normalise_axes(stack: np.ndarray, axes: str, page: Any) -> tuple[np.ndarray, str]:
    """An ImageJ/OME series as [(t,) (z,) y, x, component], channels and samples merged."""
    if "S" in axes and int(page.planarconfig) == 2:
        # separate sample planes come before y, x in tifffile's axes; move them last
        stack = np.moveaxis(stack, axes.index("S"), -1)
        axes = axes.replace("S", "") + "S"
    for letter in "TZCS":
        if letter not in axes:
            stack = stack[..., np.newaxis] if letter == "S" else stack[np.newaxis]
            axes = axes + "S" if letter == "S" else letter + axes
    order = [axes.index(a) for a in "TZYXCS"]
    stack = np.transpose(stack, order)
    t, z, y, x, c, s = stack.shape
    stack = stack.reshape(t, z, y, x, c * s)
    kept = "".join(a for a, n in (("T", t), ("Z", z)) if n > 1)
    stack = stack.reshape(tuple(n for n in (t, z) if n > 1) + (y, x, c * s))
    return stack, kept + "YXS"


def _pixels(array: np.ndarray, page: Any) -> np.ndarray:
    """Apply what ITK applies to stored samples: palettes, row order, sample widths."""
    photometric = int(page.photometric)
    if photometric == 3 and page.colormap is not None:        # palette
        array = _expand_palette(array[..., 0], page)
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    elif array.dtype == np.float16:
        array = array.astype(np.float32)
    orientation = int(page.tags.valueof(274, 1))
    # libtiff's TIFFReadRGBAImageOriented flips rows/columns only (5..8 as 1..4)
    flip_x = orientation in (2, 3, 6, 7)
    flip_y = orientation in (3, 4, 7, 8)
    if flip_y:
        array = array[..., ::-1, :, :]
    if flip_x:
        array = array[..., :, ::-1, :]
    return array


def _grey_palette(colormap: np.ndarray) -> bool:
    return bool(np.all(colormap[0] == colormap[1]) and np.all(colormap[0] == colormap[2]))


def _expand_palette(index: np.ndarray, page: Any) -> np.ndarray:
    """ITK's palette expansion: RGB (or grey), 8-bit when the first 256 entries fit."""
    colormap = np.asarray(page.colormap)
    colors = colormap.shape[-1]
    dtype = np.uint16 if np.any(colormap[:, :256] > 255) else np.uint8
    index = index.astype(np.intp) % colors
    if _grey_palette(colormap):
        return colormap[0][index].astype(dtype)[..., np.newaxis]
    return np.moveaxis(colormap[:, index], 0, -1).astype(dtype)


# ---------------------------------------------------------------------------- spacing
def _itk_xy_spacing(page: Any) -> tuple[tuple[float, float], str | None]:
    """ITK's x/y spacing and the resolution unit's name (None when it has no length)."""
    unit = int(page.tags.valueof(296, 1))      # ITK defaults to "none" when absent
    x = _libtiff_float(page.tags.valueof(282, (1, 1)))
    y = _libtiff_float(page.tags.valueof(283, (1, 1)))
    if unit in _RESOLUTION_UNITS and x > 0 and y > 0:
        name, length = _RESOLUTION_UNITS[unit]
        return (length / float(x), length / float(y)), name
    return (1.0, 1.0), None


def _libtiff_float(rational: Any) -> np.float32:
    """A RATIONAL as libtiff hands it to ITK: num / den in double, stored as a float."""
    num, den = (int(v) for v in rational)
    return np.float32(0.0 if num == 0 or den == 0 else num / den)


def _per_unit(rational: Any) -> float:
    """1 / (pixels per unit): the pixel size an ImageJ resolution tag means."""
    num, den = (int(v) for v in rational)
    return den / num if num and den else 1.0


def _spacing(tf: Any, page: Any, axes: str, convention: str) -> tuple[tuple, dict]:
    """Spacing in (x, y[, z[, t]]) order, and the metadata that says where it came from."""
    (sx, sy), res_unit = _itk_xy_spacing(page)
    extra = [1.0] * (len(axes) - 3)            # the axes before "YXS"
    source = "TIFF resolution" if res_unit else "default"
    unit = res_unit
    if convention == "metadata":
        found = _ome_spacing(tf) if tf.is_ome else _imagej_spacing(tf, page, res_unit)
        if found is not None:
            name, values, unit = found
            source = name
            sx, sy = values.get("X", sx), values.get("Y", sy)
            if "Z" in axes and "Z" in values:
                extra[axes.index("Z")] = values["Z"]
    metadata = {"spacing_source": source}
    if unit:
        metadata["spacing_unit"] = unit
    return (sx, sy, *extra[::-1]), metadata


def _to_mm(values: dict[str, float], unit: str | None) -> dict[str, float]:
    factor = _UNITS_MM.get((unit or "").strip().lower().replace("\\u00b5", "\u00b5"))
    return values if factor is None else {k: v * factor for k, v in values.items()}


def _imagej_spacing(tf: Any, page: Any, res_unit: str | None):
    meta = tf.imagej_metadata if tf.is_imagej else None
    if not meta:
        return None
    unit = str(meta.get("unit", "")).strip() or res_unit
    values: dict[str, float] = {}
    if unit and unit != res_unit and unit.lower() != "pixel":
        # a unit of its own: X/YResolution are pixels per that unit (ImageJ's reading)
        values = _to_mm({"X": _per_unit(page.tags.valueof(282, (1, 1))),
                         "Y": _per_unit(page.tags.valueof(283, (1, 1)))}, unit)
    if "spacing" in meta:
        values.update(_to_mm({"Z": float(meta["spacing"])}, unit))
    return ("ImageJ", values, unit) if values else None


def _ome_spacing(tf: Any):
    try:
        root = ElementTree.fromstring(tf.ome_metadata)
    except (ElementTree.ParseError, TypeError, ValueError) as exc:
        raise ImageFileError(f"{tf.filename}: unreadable OME-XML: {exc}") from exc
    pixels = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return None
    values, units = {}, set()
    for axis in "XYZ":
        text = pixels.get(f"PhysicalSize{axis}")
        if text is None:
            continue
        unit = pixels.get(f"PhysicalSize{axis}Unit", "\u00b5m")
        try:
            values.update(_to_mm({axis: float(text)}, unit))
        except ValueError as exc:
            raise ImageFileError(f"{tf.filename}: OME-XML PhysicalSize{axis}={text!r} is "
                                 "not a number") from exc
        units.add(unit)
    if not values:
        return None
    return "OME-XML", values, ",".join(sorted(units))


# ---------------------------------------------------------------------------- tags
def _ascii_tags(tf: Any, page: Any) -> dict[str, str]:
    """The first page's ASCII tags with the names and bytes ITK's ReadTIFFTags keeps."""
    out = {}
    fh = tf.filehandle
    for tag in page.tags.values():
        if tag.dtype != 2:          # ASCII
            continue
        fh.seek(tag.valueoffset)
        raw = fh.read(tag.count)
        if tag.code in _LIBTIFF_ASCII:
            name, raw = _LIBTIFF_ASCII[tag.code], raw.split(b"\0", 1)[0]
        elif tag.code in _LIBTIFF_FIXED_ASCII:
            name, count = _LIBTIFF_FIXED_ASCII[tag.code]
            raw = raw[:count]
        else:
            name = f"Tag {tag.code}"
        out[name] = raw.decode("utf-8", errors="surrogateescape")
    return out


# ---------------------------------------------------------------------------- series
def read_series(paths: list[str], **options: Any) -> Image:
    """Read a list of TIFF files as one image with one more axis, in the given order.

    As ITK's ImageSeriesReader for files without positions: the first file gives the
    spacing, the new axis has spacing 1 and origin 0. All files must have the same size,
    pixel type and number of components (ITK would convert silently; this raises).

    >>> import os, tempfile, numpy as np, tifffile
    >>> folder = tempfile.mkdtemp()
    >>> names = [os.path.join(folder, f"s{k}.tif") for k in range(3)]
    >>> for k, name in enumerate(names):
    ...     tifffile.imwrite(name, np.full((2, 4), k, np.uint8))
    >>> read_series(names).size
    (4, 2, 3)
    """
    from .raster import stack_series
    return stack_series(paths, lambda p: read(p, **options))


# ---------------------------------------------------------------------------- writing
def _inches(mm: float) -> float:
    """``mm / 25.4``, nudged by an ulp or two so that reading (``x * 25.4``) gives ``mm`` back."""
    x = mm / 25.4
    candidates = [x]
    for direction in (np.inf, -np.inf):
        y = x
        for _ in range(3):
            y = float(np.nextafter(y, direction))
            candidates.append(y)
    return min(candidates, key=lambda c: (abs(c * 25.4 - mm), c != x))


def write(image: Image, path: str, *, compress: bool, **options: Any) -> None:
    """Write a 2-D image or a 3-D stack as TIFF, as ITK writes it (see the module docs).

    Parameters
    ----------
    image : Image
        2-D or 3-D, on the host. Vector images with 2 components are refused (ITK writes
        them as an RGB image with 2 samples, which nothing else reads).
    path : str
    compress : bool
        Deflate (zlib) compression.
    **options
        None are accepted (a ValueError names any given).
    """
    if options:
        raise ValueError(f"unknown TIFF write options: {', '.join(sorted(options))}")
    tifffile = require("tifffile", "tiff", "Writing TIFF files")
    components = image.number_of_components
    if image.dtype.name not in _WRITABLE:
        raise ValueError(f"SimpleITK reads TIFF files of {', '.join(_WRITABLE)} samples, "
                         f"not {image.dtype}; cast first or write a .mha or .nrrd file")
    if image.pixel_type.is_vector and components == 2:
        raise ValueError("TIFF cannot hold 2-component pixels that SimpleITK reads back; "
                         "write a .mha or .nrrd file instead")
    array = np.asarray(image._array)
    if image.pixel_type.is_vector and components == 1:
        array = array[..., 0]
    rgb = components >= 3
    spacing = image.spacing
    # ITK: resolution = (float) (25.4 / spacing), in pixels per inch
    resolution = tuple(float(np.float32(25.4 / s)) for s in spacing[:2])
    kwargs: dict[str, Any] = dict(
        photometric="rgb" if rgb else "minisblack", planarconfig="contig" if rgb else None,
        extrasamples=(1,) + (0,) * (components - 4) if components > 3 else None,
        resolution=resolution, resolutionunit="INCH", software="gpuresample",
        metadata=None, compression="zlib" if compress else None)
    if image.dimension == 3:
        depth = image.size[2]
        kwargs["description"] = (f"ImageJ=1.11a\nimages={depth}\nslices={depth}\n"
                                 f"unit=inch\nspacing={_inches(spacing[2])!r}\nloop=false\n")
    with atomic_write(path) as tmp:
        tifffile.imwrite(tmp, array, **kwargs)
