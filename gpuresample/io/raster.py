"""PNG, JPEG and BMP files: 2-D grey, RGB and RGBA pictures, as SimpleITK reads and writes them.

Pillow decodes PNG and JPEG; PNG is written, and BMP read and written, here (numpy + zlib),
to match ITK where Pillow differs (16-bit colour PNGs, BMP alpha). The file's content
decides how it is read (a PNG named ``.jpg`` reads as PNG), as ITK's readers mostly do.

What SimpleITK gives, and so gpuresample
----------------------------------------
* PNG: grey -> UINT8/UINT16 (1, 2 and 4-bit grey scaled to 8 bits), RGB(A) -> VECTOR_UINT8
  or VECTOR_UINT16 with 3 (4) components, palettes expanded to RGB (RGBA with a tRNS
  chunk), a tRNS colour becomes an alpha channel, an sBIT chunk shifts the samples down
  to their significant bits (libpng's ``png_set_shift``). Spacing from the sCAL chunk
  (whatever its unit, as ITK), else 1; pHYs is ignored, as ITK ignores it.
* JPEG: grey -> UINT8, colour (also CMYK, converted as ITK's libjpeg converts it) ->
  VECTOR_UINT8 with 3 components. Spacing 25.4 / density for JFIF densities per inch,
  10 / density per cm, else 1. Grey and unsubsampled colour files decode to SimpleITK's
  pixels (colour within 1 grey level); colour files with subsampled chroma (most
  cameras') differ near colour edges, because ITK's libjpeg upsamples chroma in another
  way than Pillow's libjpeg-turbo.
* BMP: 8-bit palette (also grey) files -> VECTOR_UINT8 with 3 components (ITK expands
  every palette, so a grey BMP reads back as RGB), 24-bit -> 3 components, 32-bit -> 4
  (the fourth byte as alpha); RLE8 decoded. Spacing always 1 (ITK ignores the resolution).
* Origin 0, identity direction, no meta-data (SimpleITK gives none for these formats
  beyond its internal ITK_original_* entries).

Deliberate differences: grey+alpha PNGs (also grey with tRNS) are read as 2-component
vector images (SimpleITK raises "Unknown PixelType"); a JPEG whose spacing is closer to a
whole number of pixels per cm is written with that density in cm (ITK computes it, then
stores it with unit 0, which loses the spacing); colour JPEGs are written without chroma
subsampling; PNG rows get libpng's filter heuristic but the bytes need not be libpng's.
Grey+alpha PNGs are not written (SimpleITK could not read them back).

Written files
-------------
PNG: 8/16-bit grey, RGB, RGBA, spacing in an sCAL chunk (unit metre, as ITK, but with every
digit: ITK keeps 5); zlib level 6 (libpng's default, what SimpleITK uses) or 9 with
``compress=True``. JPEG: quality 95, progressive, density as ITK computes it, colour
without chroma subsampling (ITK subsamples; see above why not here). BMP: as ITK
(8-bit grey palette, 24-bit BGR, 32-bit BGRA, bottom-up, pixels per metre).

Example
-------
>>> import os, tempfile, numpy as np, gpuresample as gr
>>> img = gr.image_from_array(np.arange(12, dtype=np.uint8).reshape(3, 4))
>>> img.spacing = (0.3, 0.7)
>>> path = os.path.join(tempfile.mkdtemp(), "a.png")
>>> write(img, path, compress=False)
>>> back = read(path)
>>> back.spacing, back.pixel_type.name, np.array_equal(np.asarray(back), np.asarray(img))
((0.3, 0.7), 'UINT8', True)
"""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from typing import Any, Callable, Sequence

import numpy as np

from ..image import Image
from .common import ImageFileError, atomic_write, require

__all__ = ["read", "write", "read_series", "stack_series"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAGIC = ((_PNG_SIGNATURE, "png"), (b"\xff\xd8", "jpeg"), (b"BM", "bmp"),
          (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"GIF8", "GIF"),
          (b"\x1f\x8b", "gzip"), (b"DICM", "DICOM"))
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# deflate cannot expand more than about 1032:1; a header asking for more is damaged
_DEFLATE_RATIO = 1032
# JPEG can be denser (progressive end-of-band runs), but not this dense
_JPEG_RATIO = 4096
_SLACK = 1 << 20
_FP = re.compile(rb"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")


# ---------------------------------------------------------------------------- reading
def read(path: str) -> Image:
    """Read a PNG, JPEG or BMP file (by its content) as SimpleITK reads it.

    Raises
    ------
    ImageFileError
        Not one of these formats, truncated or damaged, or a header that declares more
        pixels than the file can hold.

    >>> import os, tempfile, numpy as np
    >>> from PIL import Image as PILImage
    >>> path = os.path.join(tempfile.mkdtemp(), "a.jpg")
    >>> PILImage.fromarray(np.zeros((3, 4, 3), np.uint8)).save(path, dpi=(254, 127))
    >>> img = read(path)
    >>> img.size, img.number_of_components, [round(s, 9) for s in img.spacing]
    ((4, 3), 3, [0.1, 0.2])
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    kind = next((name for magic, name in _MAGIC if data.startswith(magic)), None)
    if kind not in ("png", "jpeg", "bmp"):
        what = f"{kind} data" if kind else "no PNG, JPEG or BMP signature"
        raise ImageFileError(f"{path}: not a PNG, JPEG or BMP file ({what})")
    reader = {"png": _read_png, "jpeg": _read_jpeg, "bmp": _read_bmp}[kind]
    array, spacing = reader(path, data)
    is_vector = array.ndim == 3
    if is_vector and array.shape[2] == 1:
        array, is_vector = array[..., 0], False
    return Image._from_array(np.ascontiguousarray(array), is_vector=is_vector,
                             spacing=spacing)


def _pillow():
    return require("PIL.Image", "png", "Reading and writing PNG and JPEG files")


def _open_pillow(path: str, data: bytes, kind: str) -> Any:
    """Pillow's image for ``data``, its errors (truncation, bad CRCs) as ImageFileError."""
    pil = _pillow()
    try:
        im = pil.open(io.BytesIO(data), formats=[kind])
        im.load()
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error,
            pil.DecompressionBombError) as exc:
        raise ImageFileError(f"{path}: damaged or truncated {kind} file: {exc}") from exc
    return im


def _decode_with(path: str, data: bytes, rawmode: str) -> np.ndarray:
    """Decode a PNG with another Pillow unpacker (same bytes per pixel) to get every bit.

    Pillow keeps only the high byte of 16-bit colour samples; decoding the same data with
    the little-endian unpacker gives the low bytes, and 16-bit grey+alpha has the layout
    of 8-bit RGBA.
    """
    pil = _pillow()
    try:
        im = pil.open(io.BytesIO(data), formats=["PNG"])
        tile = im.tile[0]
        if len(im.tile) != 1 or tile.codec_name != "zip" or not isinstance(tile.args, str):
            raise ImageFileError(f"{path}: this Pillow version cannot decode 16-bit colour "
                                 "PNG files")
        im.tile = [tile._replace(args=rawmode)]
        im.load()
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error) as exc:
        if isinstance(exc, ImageFileError):
            raise
        raise ImageFileError(f"{path}: damaged or truncated PNG file: {exc}") from exc
    return np.asarray(im)


def _png_chunks(path: str, data: bytes) -> dict[str, Any]:
    """Walk the chunks: header fields, the ancillary chunks ITK uses, the IDAT size."""
    pos, info = 8, {"idat": 0, "before_idat": {}}
    seen_idat = False
    while True:
        if pos + 8 > len(data):
            raise ImageFileError(f"{path}: truncated PNG file (no IEND chunk)")
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise ImageFileError(f"{path}: truncated PNG file (chunk {ctype!r} declares "
                                 f"{length} bytes, the file ends first)")
        body = data[pos + 8:pos + 8 + length]
        if struct.unpack(">I", data[end - 4:end])[0] != zlib.crc32(ctype + body):
            raise ImageFileError(f"{path}: damaged PNG file (bad CRC in chunk {ctype!r})")
        if ctype == b"IHDR":
            if length != 13:
                raise ImageFileError(f"{path}: damaged PNG file (IHDR of {length} bytes)")
            info.update(zip(("width", "height", "depth", "color", "compression", "filter",
                             "interlace"), struct.unpack(">IIBBBBB", body)))
        elif ctype == b"IDAT":
            seen_idat = True
            info["idat"] += length
        elif ctype == b"IEND":
            break
        elif not seen_idat:
            info["before_idat"].setdefault(ctype.decode("latin-1"), body)
        pos = end
    if "width" not in info:
        raise ImageFileError(f"{path}: damaged PNG file (no IHDR chunk)")
    return info


def _read_png(path: str, data: bytes) -> tuple[np.ndarray, tuple[float, float]]:
    info = _png_chunks(path, data)
    width, height, depth, color = info["width"], info["height"], info["depth"], info["color"]
    channels = _PNG_CHANNELS.get(color)
    if channels is None or width == 0 or height == 0:
        raise ImageFileError(f"{path}: damaged PNG header (size {width}x{height}, colour "
                             f"type {color})")
    raw_bytes = height * (1 + (width * channels * depth + 7) // 8)
    if raw_bytes > _DEFLATE_RATIO * info["idat"] + _SLACK:
        raise ImageFileError(f"{path}: the PNG header declares {width}x{height} pixels "
                             f"({raw_bytes} bytes) but holds {info['idat']} compressed "
                             "bytes: damaged")
    if depth == 16 and color in (2, 4, 6):
        array = _png16_colour(path, data, color)
    else:
        im = _open_pillow(path, data, "PNG")
        array = np.asarray(im)
        if im.mode == "1":
            array = array.astype(np.uint8) * np.uint8(255)   # libpng expands 1-bit to 0/255
        elif im.mode in ("I", "I;16"):
            array = array.astype(np.uint16)
        if color == 3:
            array = _png_palette(path, array, info["before_idat"])
    extras = info["before_idat"]
    array = _png_transparency(array, color, depth, extras.get("tRNS"))
    array = _png_shift(array, color, depth, extras.get("sBIT"))
    return array, _png_spacing(extras.get("sCAL"))


def _png16_colour(path: str, data: bytes, color: int) -> np.ndarray:
    if color == 4:   # grey+alpha: the bytes of 8-bit RGBA
        pairs = _decode_with(path, data, "RGBA").astype(np.uint16)
        return (pairs[..., 0::2] << 8) | pairs[..., 1::2]
    mode = "RGB" if color == 2 else "RGBA"
    high = _decode_with(path, data, f"{mode};16B").astype(np.uint16)
    low = _decode_with(path, data, f"{mode};16L").astype(np.uint16)
    return (high << 8) | low


def _png_palette(path: str, index: np.ndarray, chunks: dict) -> np.ndarray:
    """libpng's png_set_palette_to_rgb: RGB, plus alpha from a tRNS chunk."""
    plte = chunks.get("PLTE")
    if plte is None or len(plte) % 3 or not plte:
        raise ImageFileError(f"{path}: palette PNG without a valid PLTE chunk")
    palette = np.frombuffer(plte, np.uint8).reshape(-1, 3)
    if index.max(initial=0) >= len(palette):
        # libpng would map such indices to black; a damaged file either way
        palette = np.vstack([palette, np.zeros((256 - len(palette), 3), np.uint8)])
    rgb = palette[index]
    trns = chunks.get("tRNS")
    if trns is None or not 0 < len(trns) <= len(palette):
        return rgb
    alpha = np.full(256, 255, np.uint8)
    alpha[:len(trns)] = np.frombuffer(trns, np.uint8)
    return np.concatenate([rgb, alpha[index][..., np.newaxis]], axis=-1)


def _png_transparency(array: np.ndarray, color: int, depth: int, trns: bytes | None):
    """png_set_tRNS_to_alpha for grey and RGB images: alpha 0 on the tRNS colour."""
    if array.ndim == 2:
        array = array[..., np.newaxis]
    if trns is None or color not in (0, 2) or len(trns) != (2 if color == 0 else 6):
        return array
    key = np.array(struct.unpack(f">{len(trns) // 2}H", trns), np.uint32)
    if color == 0 and depth < 8:
        key = (key & ((1 << depth) - 1)) * (255 // ((1 << depth) - 1))
    top = np.iinfo(array.dtype).max
    hit = np.all(array == key.astype(array.dtype), axis=-1)
    alpha = np.where(hit, 0, top).astype(array.dtype)
    return np.concatenate([array, alpha[..., np.newaxis]], axis=-1)


def _png_shift(array: np.ndarray, color: int, depth: int, sbit: bytes | None):
    """png_set_shift from an sBIT chunk, on the samples as they come out (8 or 16 bits)."""
    need = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}[color]
    if sbit is None or len(sbit) != need:
        return array
    bits = list(sbit)
    if any(b == 0 or b > (8 if color == 3 else depth) for b in bits):
        return array                 # libpng: "invalid", ignored
    out_depth = array.dtype.itemsize * 8
    bits += [0] * (array.shape[-1] - len(bits))       # an alpha added from tRNS: not shifted
    shifts = np.array([out_depth - b if 0 < out_depth - b < out_depth else 0 for b in bits])
    if not shifts.any():
        return array
    return (array >> shifts.astype(array.dtype)).astype(array.dtype)


def _png_spacing(scal: bytes | None) -> tuple[float, float]:
    """ITK's PNG spacing: the sCAL chunk's width and height (any unit), else 1."""
    if scal is None or len(scal) < 4 or scal[0] not in (1, 2):
        return 1.0, 1.0
    width, sep, height = scal[1:].partition(b"\0")
    values = []
    for text in (width, height):
        if not sep or not _FP.match(text):
            return 1.0, 1.0
        value = float(text)
        if not value > 0:        # libpng: "non-positive width/height", chunk ignored
            return 1.0, 1.0
        values.append(value)
    return values[0], values[1]


def _read_jpeg(path: str, data: bytes) -> tuple[np.ndarray, tuple[float, float]]:
    width, height, components = _jpeg_frame(path, data)
    if width * height * components > _JPEG_RATIO * len(data) + _SLACK:
        raise ImageFileError(f"{path}: the JPEG header declares {width}x{height} pixels but "
                             f"the file holds {len(data)} bytes: damaged")
    im = _open_pillow(path, data, "JPEG")
    if im.mode not in ("L", "RGB", "CMYK"):
        raise ImageFileError(f"{path}: JPEG colour mode {im.mode} is not supported")
    array = np.asarray(im)
    if im.mode == "CMYK":
        # ITK's libjpeg converts CMYK to RGB from the stored (Adobe: inverted) values as
        # r = c * k / 255, truncated; Pillow un-inverts Adobe files, so undo that first
        stored = (255 - array if "adobe" in im.info else array).astype(np.uint16)
        array = (stored[..., :3] * stored[..., 3:] // 255).astype(np.uint8)
    unit = im.info.get("jfif_unit", 0)
    xd, yd = im.info.get("jfif_density", (1, 1))
    spacing = (1.0, 1.0)
    if xd > 0 and yd > 0 and unit in (1, 2):
        length = 25.4 if unit == 1 else 10.0
        spacing = (length / xd, length / yd)
    return array, spacing


def _jpeg_frame(path: str, data: bytes) -> tuple[int, int, int]:
    """Width, height and components from the first SOF marker (for the size check)."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ImageFileError(f"{path}: damaged JPEG file (no marker at byte {pos})")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD,
                      0xCE, 0xCF) and pos + 10 <= len(data):
            height, width, components = struct.unpack(">HHB", data[pos + 5:pos + 10])
            return width, height, components
        pos += 2 + length
    raise ImageFileError(f"{path}: truncated or damaged JPEG file (no frame header)")


def _read_bmp(path: str, data: bytes) -> tuple[np.ndarray, tuple[float, float]]:
    """ITK's BMPImageIO: 8-bit palette (expanded to RGB), 24 and 32-bit, RLE8."""
    if len(data) < 26:
        raise ImageFileError(f"{path}: truncated BMP file")
    offset, info_size = struct.unpack("<II", data[10:18])
    compression, data_size, colors = 0, 0, 0
    if info_size == 40 and len(data) >= 54:
        width, height, depth, compression, data_size, colors = struct.unpack(
            "<ii2xHII8xI4x", data[18:54])
        colors &= 0xFFFF             # ITK keeps it in an unsigned short
    elif info_size == 12:
        width, height, depth = struct.unpack("<hh2xH", data[18:26])
    else:
        raise ImageFileError(f"{path}: BMP header of {info_size} bytes: only Windows 3 "
                             "(40-byte) and OS/2 (12-byte) BMP files are read, as ITK")
    top_down = height < 0
    height = abs(height)
    if depth not in (8, 24, 32):
        raise ImageFileError(f"{path}: BMP depth {depth}: only 8, 24 and 32 bits per pixel "
                             "are read, as ITK")
    if width <= 0 or height == 0:
        raise ImageFileError(f"{path}: damaged BMP header (size {width}x{height})")
    if compression == 1 and top_down:
        raise ImageFileError(f"{path}: compressed BMP files cannot be top-down")
    palette = None
    if depth == 8:
        n = min(256, colors) if colors else 256
        start = 14 + info_size
        if start + 4 * n > len(data):
            raise ImageFileError(f"{path}: truncated BMP file (palette)")
        palette = np.frombuffer(data, np.uint8, 4 * n, start).reshape(n, 4)[:, 2::-1]
        palette = np.vstack([palette, np.zeros((256 - n, 3), np.uint8)])
    if compression == 1 and depth == 8:
        index = _bmp_rle8(path, data, offset, data_size, width, height)
        return palette[index], (1.0, 1.0)
    row = (width * depth // 8 + 3) // 4 * 4
    if offset < 0 or offset + row * height > len(data):
        raise ImageFileError(f"{path}: the BMP header declares {row * height} bytes of "
                             f"pixels from byte {offset} but the file holds {len(data)}: "
                             "truncated")
    rows = np.frombuffer(data, np.uint8, row * height, offset).reshape(height, row)
    if not top_down:
        rows = rows[::-1]
    pixels = rows[:, :width * depth // 8].reshape(height, width, depth // 8)
    if depth == 8:
        return palette[pixels[..., 0]], (1.0, 1.0)
    order = [2, 1, 0] if depth == 24 else [2, 1, 0, 3]
    return pixels[..., order], (1.0, 1.0)


def _bmp_rle8(path: str, data: bytes, offset: int, size: int, width: int,
              height: int) -> np.ndarray:
    """ITK's RLE8 decoding (bottom-up), refusing runs that leave the image."""
    end = offset + size
    if size <= 0 or end > len(data):
        raise ImageFileError(f"{path}: the BMP header declares {size} bytes of RLE data "
                             f"from byte {offset}; the file holds {len(data)}")
    out = np.zeros((height, width), np.uint8)
    line, x, i = height - 1, 0, offset

    def put(n: int, values: Any) -> None:
        nonlocal x
        if not (0 <= line < height and x + n <= width):
            raise ImageFileError(f"{path}: damaged RLE8 data (a run leaves the image)")
        out[line, x:x + n] = values   # line counts from the bottom: rows come top-down
        x += n

    while i + 1 < end:
        count, value = data[i], data[i + 1]
        i += 2
        if count:
            put(count, value)
        elif value == 0:
            line, x = line - 1, 0
        elif value == 1:
            break
        elif value == 2:
            if i + 1 >= end:
                break
            x, line = x + data[i], line - data[i + 1]
            i += 2
        else:
            if i + value > end:
                raise ImageFileError(f"{path}: truncated RLE8 data")
            put(value, np.frombuffer(data, np.uint8, value, i))
            i += value + (value & 1)
    return out


# ---------------------------------------------------------------------------- series
def stack_series(paths: Sequence[str], read_one: Callable[[str], Image]) -> Image:
    """Read files of one size and type as one image with one more axis (the last).

    ITK's ImageSeriesReader for files without slice positions: the first file gives
    spacing, origin and direction; the new axis has spacing 1 and origin 0 (ITK takes the
    distance between the first and last file's origins, 0 for these formats). Unlike ITK,
    which converts every file to the first one's pixel type silently, files that differ
    in size, pixel type or components raise ValueError naming the file.
    """
    if not paths:
        raise ValueError("read_series got an empty list of files")
    first = read_one(paths[0])
    if first.dimension >= 4:
        raise ValueError(f"{paths[0]} is {first.dimension}-D; a series of such files would "
                         "be 5-D, more than an Image holds")
    out = np.empty((len(paths),) + first._array.shape, first.dtype)
    out[0] = first._array
    for k, name in enumerate(paths[1:], start=1):
        img = read_one(name)
        if (img.size, img.pixel_type, img.number_of_components) != \
                (first.size, first.pixel_type, first.number_of_components):
            raise ValueError(f"{name} is {img.size} {img.pixel_type.name} with "
                             f"{img.number_of_components} component(s), but {paths[0]} is "
                             f"{first.size} {first.pixel_type.name} with "
                             f"{first.number_of_components}: a series needs one size and type")
        out[k] = img._array
    d = first.dimension
    direction = np.eye(d + 1)
    direction[:d, :d] = first.direction
    kept = {k: v for k, v in first.metadata.items() if k in ("spacing_source", "spacing_unit")}
    return Image._from_array(out, is_vector=first.pixel_type.is_vector,
                             origin=first.origin + (0.0,), spacing=first.spacing + (1.0,),
                             direction=direction, metadata=kept)


def read_series(paths: Sequence[str]) -> Image:
    """Read 2-D PNG/JPEG/BMP files as one 3-D volume, in the given order (see stack_series).

    >>> import os, tempfile, numpy as np, gpuresample as gr
    >>> folder = tempfile.mkdtemp()
    >>> names = [os.path.join(folder, f"s{k}.png") for k in range(3)]
    >>> for k, name in enumerate(names):
    ...     write(gr.image_from_array(np.full((2, 4), k, np.uint8)), name, compress=False)
    >>> vol = read_series(names)
    >>> vol.size, vol.spacing, vol[0, 0, 2]
    ((4, 2, 3), (1.0, 1.0, 1.0), 2)
    """
    return stack_series(paths, read)


# ---------------------------------------------------------------------------- writing
def write(image: Image, path: str, *, compress: bool, format: str | None = None,
          quality: int = 95) -> None:
    """Write a 2-D image as PNG, JPEG or BMP (the extension, or ``format``, decides).

    Parameters
    ----------
    image : Image
        2-D, UINT8 (any format) or UINT16 (PNG); 1, 3 or 4 components (JPEG: 1 or 3).
    compress : bool
        PNG: zlib level 9 instead of 6. JPEG and BMP: ignored (JPEG is always compressed).
    format : {"png", "jpeg", "bmp"}, optional
        Default: from the extension.
    quality : int
        JPEG quality, 1-100; default 95 (ITK's).
    """
    from .formats import format_by_name, format_for_path
    fmt = (format_by_name(format) if format else format_for_path(path)).name
    if fmt not in ("png", "jpeg", "bmp"):
        raise ValueError(f"the raster writer writes PNG, JPEG and BMP, not {fmt}")
    if image.dimension != 2:
        raise ValueError(f"{fmt.upper()} files hold 2-D images, this one is "
                         f"{image.dimension}-D")
    array = np.asarray(image._array)
    if array.ndim == 2:
        array = array[..., np.newaxis]
    components = array.shape[2]
    allowed = (1, 3) if fmt == "jpeg" else (1, 3, 4)
    if components not in allowed:
        raise ValueError(f"{fmt.upper()} files hold pixels of {' or '.join(map(str, allowed))} "
                         f"components that SimpleITK reads back, not {components}")
    if array.dtype != np.uint8 and not (fmt == "png" and array.dtype == np.uint16):
        raise ValueError(f"{fmt.upper()} files hold {'8/16' if fmt == 'png' else '8'}-bit "
                         f"unsigned pixels, not {array.dtype}")
    with atomic_write(path) as tmp:
        if fmt == "png":
            payload = _encode_png(array, image.spacing, 9 if compress else 6)
        elif fmt == "jpeg":
            payload = _encode_jpeg(array, image.spacing, quality)
        else:
            payload = _encode_bmp(array, image.spacing)
        with open(tmp, "wb") as f:
            f.write(payload)


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + \
        struct.pack(">I", zlib.crc32(ctype + body))


def _encode_png(array: np.ndarray, spacing: tuple[float, float], level: int) -> bytes:
    height, width, components = array.shape
    depth = array.dtype.itemsize * 8
    color = {1: 0, 3: 2, 4: 6}[components]
    rows = array.astype(f">u{array.dtype.itemsize}").view(np.uint8).reshape(height, -1)
    body = _filter_rows(rows, components * array.dtype.itemsize)
    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    scal = b"\x01" + repr(float(spacing[0])).encode() + b"\0" + repr(float(spacing[1])).encode()
    return (_PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"sCAL", scal)
            + _chunk(b"IDAT", zlib.compress(body, level)) + _chunk(b"IEND", b""))


def _filter_rows(rows: np.ndarray, bpp: int, block: int = 256) -> bytes:
    """PNG filtering, each row with the filter of least absolute sum (libpng's heuristic)."""
    out = []
    for start in range(0, len(rows), block):
        x = rows[start:start + block].astype(np.int16)
        up = np.zeros_like(x)
        up[1:] = x[:-1]
        if start:
            up[0] = rows[start - 1]
        left, upleft = np.zeros_like(x), np.zeros_like(x)
        left[:, bpp:], upleft[:, bpp:] = x[:, :-bpp], up[:, :-bpp]
        p = left + up - upleft
        pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - upleft)
        paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
        candidates = np.stack([x, x - left, x - up, x - (left + up) // 2, x - paeth]) & 0xFF
        cost = np.where(candidates > 127, 256 - candidates, candidates).sum(axis=2)
        best = np.argmin(cost, axis=0)
        chosen = candidates[best, np.arange(len(x))].astype(np.uint8)
        out.append(np.hstack([best.astype(np.uint8)[:, np.newaxis], chosen]))
    return np.vstack(out).tobytes()


def _encode_jpeg(array: np.ndarray, spacing: tuple[float, float], quality: int) -> bytes:
    pil = _pillow()
    im = pil.fromarray(array[..., 0] if array.shape[2] == 1 else array,
                       "L" if array.shape[2] == 1 else "RGB")
    buffer = io.BytesIO()
    # 4:4:4: ITK's libjpeg and Pillow's libjpeg-turbo upsample subsampled chroma
    # differently, so subsampled colour files would decode to different pixels in each
    im.save(buffer, "JPEG", quality=quality, progressive=True, subsampling=0)
    return _set_jfif_density(buffer.getvalue(), spacing)


def _set_jfif_density(data: bytes, spacing: tuple[float, float]) -> bytes:
    """ITK's density: whole pixels per inch, or per cm where that is closer to the spacing."""
    if not (data[2:4] == b"\xff\xe0" and data[6:11] == b"JFIF\0"):
        return data
    def density(length: float) -> list[int]:
        return [min(int(length / s + 0.5), 0xFFFF) for s in spacing]
    inch, cm = density(25.4), density(10.0)
    error_inch = sum(abs(25.4 / s - d) for s, d in zip(spacing, inch))
    error_cm = sum(abs(10.0 / s - d) for s, d in zip(spacing, cm))
    unit, values = (1, inch) if error_inch <= error_cm else (2, cm)
    return data[:13] + struct.pack(">BHH", unit, *values) + data[18:]


def _encode_bmp(array: np.ndarray, spacing: tuple[float, float]) -> bytes:
    height, width, components = array.shape
    row = (width * components + 3) // 4 * 4
    palette = b""
    if components == 1:
        palette = np.repeat(np.arange(256, dtype=np.uint8), 4).reshape(256, 4)
        palette[:, 3] = 77           # ITK fills the reserved byte with "M": same bytes
        palette = palette.tobytes()
        pixels = array
    else:
        pixels = array[..., [2, 1, 0] + ([3] if components == 4 else [])]
    rows = np.zeros((height, row), np.uint8)
    rows[:, :width * components] = pixels[::-1].reshape(height, -1)
    offset = 54 + len(palette)
    resolution = [min(int(np.floor(1000.0 / s + 0.5)), 0xFFFFFFFF) for s in spacing]
    header = struct.pack("<2sIHHIIiiHHIIIIII", b"BM", offset + rows.size, 0, 0, offset, 40,
                         width, height, 1, components * 8, 0, rows.size, *resolution, 0, 0)
    return header + palette + rows.tobytes()
