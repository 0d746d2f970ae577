"""PNG, JPEG and BMP reading and writing against SimpleITK 2.5.7 (the oracle)."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import SimpleITK as sitk

PIL = pytest.importorskip("PIL.Image")

import gpuresample as gr  # noqa: E402
from gpuresample.io import ImageFileError, read_image, write_image  # noqa: E402
from gpuresample.io import raster  # noqa: E402
from gpuresample.io.formats import format_by_name  # noqa: E402
from helpers import random_values  # noqa: E402

UNPRINTABLE = "[UNKNOWN_PRINT_CHARACTERISTICS]\n"


def assert_matches_sitk(ours: gr.Image, ref: sitk.Image, tolerance: int = 0) -> None:
    """Pixel type, components, geometry (bit for bit) and pixels equal SimpleITK's."""
    assert ours.pixel_type.value == ref.GetPixelID()
    assert ours.number_of_components == ref.GetNumberOfComponentsPerPixel()
    assert ours.size == ref.GetSize()
    np.testing.assert_array_equal(ours.spacing, ref.GetSpacing())
    np.testing.assert_array_equal(ours.origin, ref.GetOrigin())
    np.testing.assert_array_equal(ours.direction.ravel(), ref.GetDirection())
    want = sitk.GetArrayViewFromImage(ref)
    if tolerance:
        np.testing.assert_allclose(np.asarray(ours), want, rtol=0, atol=tolerance)
    else:
        np.testing.assert_array_equal(np.asarray(ours), want)
    # SimpleITK has only its ITK_original_* objects for these formats
    assert dict(ours.metadata) == {k: ref.GetMetaData(k) for k in ref.GetMetaDataKeys()
                                   if ref.GetMetaData(k) != UNPRINTABLE}


def smooth_picture(shape, dtype=np.uint8) -> np.ndarray:
    """A photo-like picture (JPEG is tested on smooth content; noise defeats any codec)."""
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    top = np.iinfo(dtype).max
    planes = [np.sin(x / 7.0 + k) * np.cos(y / 5.0 - k) for k in range(shape[2])]
    return ((np.stack(planes, -1) + 1) * (top / 2)).astype(dtype)


def sitk_write(array, comps, spacing, path, **kw):
    ref = sitk.GetImageFromArray(array[..., 0] if comps == 1 else array, isVector=comps > 1)
    ref.SetSpacing(spacing)
    sitk.WriteImage(ref, str(path), **kw)


def our_image(array, comps, spacing):
    img = gr.image_from_array(array[..., 0] if comps == 1 else array, is_vector=comps > 1)
    img.spacing = spacing
    return img


# ---------------------------------------------------------------------------- the table
def test_capability_table():
    png, jpeg, bmp = (format_by_name(n) for n in ("png", "jpeg", "bmp"))
    P = gr.PixelType
    assert png.pixel_types == {P.UINT8, P.UINT16, P.VECTOR_UINT8, P.VECTOR_UINT16}
    assert jpeg.pixel_types == bmp.pixel_types == {P.UINT8, P.VECTOR_UINT8}
    assert png.dimensions == jpeg.dimensions == bmp.dimensions == {2}
    assert jpeg.lossy and not png.lossy and not bmp.lossy
    for fmt in (png, jpeg, bmp):
        assert not (fmt.stores_origin or fmt.stores_direction)
    # ITK keeps the spacing in PNG's sCAL chunk; BMP's resolution is written, never read
    assert png.stores_spacing and not bmp.stores_spacing


# ---------------------------------------------------------------------------- PNG
PNG_CASES = [(dt, c) for dt in (np.uint8, np.uint16) for c in (1, 3, 4)]


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype, comps", PNG_CASES)
def test_png_written_by_sitk(tmp_path, rng, dtype, comps, compress):
    array = random_values(rng, (9, 13, comps), dtype)
    spacing = tuple(rng.uniform(0.1, 3.0, 2))
    sitk_write(array, comps, spacing, tmp_path / "s.png", useCompression=compress)
    path = str(tmp_path / "s.png")
    assert_matches_sitk(read_image(path), sitk.ReadImage(path))


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype, comps", PNG_CASES)
def test_png_written_by_us(tmp_path, rng, dtype, comps, compress):
    array = random_values(rng, (9, 13, comps), dtype)
    spacing = tuple(rng.uniform(0.1, 3.0, 2))
    img = our_image(array, comps, spacing)
    before = array.copy()
    path = str(tmp_path / "g.png")
    write_image(img, path, compress=compress)
    np.testing.assert_array_equal(array, before)
    ref = sitk.ReadImage(path)
    # every digit of the spacing survives (ITK itself writes 5 significant digits)
    np.testing.assert_array_equal(ref.GetSpacing(), spacing)
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(ref), np.asarray(img))
    assert_matches_sitk(read_image(path), ref)
    # PIL agrees on the pixels too (the filters and zlib stream are standard)
    if comps in (1, 3, 4) and dtype == np.uint8:
        np.testing.assert_array_equal(np.asarray(PIL.open(path)), np.asarray(img))


def chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def pack_rows(a: np.ndarray, depth: int) -> np.ndarray:
    h = a.shape[0]
    if depth == 16:
        return a.astype(">u2").reshape(h, -1).view(np.uint8).reshape(h, -1)
    flat = a.reshape(h, -1).astype(np.uint8)
    if depth == 8:
        return flat
    per = 8 // depth
    flat = np.pad(flat, ((0, 0), (0, (-flat.shape[1]) % per))).reshape(h, -1, per)
    shifts = (8 - depth * (np.arange(per) + 1)).astype(np.uint8)
    return np.bitwise_or.reduce(flat << shifts, axis=2).astype(np.uint8)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def png_file(a, depth, color, before=b"", after=b"", interlace=False) -> bytes:
    """A PNG with the given samples, chunks before the pixels (PLTE, tRNS, sBIT, sCAL...)
    and after them; filter 0; Adam7 when asked."""
    a = np.asarray(a)
    a = a[..., np.newaxis] if a.ndim == 2 else a
    h, w = a.shape[:2]
    parts = [a[y0::dy, x0::dx] for x0, y0, dx, dy in ADAM7] if interlace else [a]
    raw = b"".join(b"\0" + row.tobytes()
                   for p in parts if p.size for row in pack_rows(p, depth))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, int(interlace)))
            + before + chunk(b"IDAT", zlib.compress(raw)) + after + chunk(b"IEND", b""))


def png_variants(rng):
    """Crafted PNG files: (name, bytes) over bit depths, palettes and ancillary chunks."""
    def sbit(*bits):
        return chunk(b"sBIT", bytes(bits))

    for depth in (1, 2, 4, 8, 16):
        a = rng.integers(0, 2**depth, (5, 11))
        yield f"grey{depth}", png_file(a, depth, 0)
        yield f"grey{depth}-adam7", png_file(a, depth, 0, interlace=True)
        yield f"grey{depth}-sbit", png_file(a, depth, 0, sbit(max(depth - 1, 1)))
        yield f"grey{depth}-bad-sbit", png_file(a, depth, 0, sbit(depth + 1))
    for d in (8, 16):
        rgb = rng.integers(0, 2**d, (5, 7, 3))
        rgba = rng.integers(0, 2**d, (5, 7, 4))
        key = chunk(b"tRNS", struct.pack(">HHH", *map(int, rgb[0, 0])))
        yield f"rgb{d}", png_file(rgb, d, 2)
        yield f"rgb{d}-adam7", png_file(rgb, d, 2, interlace=True)
        yield f"rgb{d}-sbit", png_file(rgb, d, 2, sbit(d - 3, d - 2, d - 1))
        yield f"rgb{d}-trns", png_file(rgb, d, 2, key)
        yield f"rgb{d}-trns-sbit", png_file(rgb, d, 2, sbit(d - 1, d - 1, d - 1) + key)
        yield f"rgba{d}", png_file(rgba, d, 6)
        yield f"rgba{d}-sbit", png_file(rgba, d, 6, sbit(d - 3, d - 2, d - 1, d - 4))
    for d in (1, 2, 4, 8):
        index = rng.integers(0, 2**d, (6, 9))
        plte = chunk(b"PLTE", rng.integers(0, 256, (2**d, 3)).astype(np.uint8).tobytes())
        yield f"palette{d}", png_file(index, d, 3, plte)
        yield f"palette{d}-trns", png_file(index, d, 3, plte + chunk(b"tRNS", bytes([7, 200])))
        yield f"palette{d}-sbit", png_file(index, d, 3, sbit(5, 6, 7) + plte)
        yield (f"palette{d}-sbit-trns",
               png_file(index, d, 3, sbit(5, 6, 7) + plte + chunk(b"tRNS", bytes([3]))))
    short = chunk(b"PLTE", bytes(range(12)))      # 4 entries for indices up to 15
    yield "palette-short", png_file(rng.integers(0, 16, (4, 5)), 4, 3, short)
    a = rng.integers(0, 256, (5, 7))
    for k, body in enumerate([b"\x01.3\x00.7", b"\x02.3\x00.7", b"\x011e-3\x002.5E+1",
                              b"\x010.3\x00-1", b"\x01abc\x001", b"\x011.5\x00", b"\x011.5",
                              b"\x03.3\x00.7", b"\x01+.5\x005.", b"\x010\x001",
                              b"\x010.123456789012345678\x000.5"]):
        yield f"scal{k}", png_file(a, 8, 0, chunk(b"sCAL", body))
    scal = chunk(b"sCAL", b"\x01.3\x00.7")
    yield "scal-after-idat", png_file(a, 8, 0, after=scal)
    yield "scal-twice", png_file(a, 8, 0, scal + chunk(b"sCAL", b"\x012\x003"))
    yield "phys", png_file(a, 8, 0, chunk(b"pHYs", struct.pack(">IIB", 3000, 4000, 1)))


def test_png_variants_match_sitk(tmp_path, rng):
    checked = 0
    for name, data in png_variants(rng):
        path = tmp_path / f"{name}.png"
        path.write_bytes(data)
        ref = sitk.ReadImage(str(path))
        assert_matches_sitk(read_image(str(path)), ref), name
        checked += 1
    assert checked > 60


@pytest.mark.parametrize("depth", [8, 16])
def test_grey_alpha_png_beyond_sitk(tmp_path, rng, depth):
    """SimpleITK cannot read grey+alpha PNGs ("Unknown PixelType"); gpuresample reads them
    as 2-component images, also grey images with a tRNS colour (alpha 0 on it)."""
    la = rng.integers(0, 2**depth, (5, 7, 2))
    grey = rng.integers(0, 2**depth, (5, 7))
    key = int(grey[1, 2])
    files = {"la": (png_file(la, depth, 4), la),
             "trns": (png_file(grey, depth, 0, chunk(b"tRNS", struct.pack(">H", key))),
                      np.stack([grey, np.where(grey == key, 0, 2**depth - 1)], -1))}
    for name, (data, want) in files.items():
        path = tmp_path / f"{name}.png"
        path.write_bytes(data)
        with pytest.raises(RuntimeError, match="Unknown PixelType"):
            sitk.ReadImage(str(path))
        img = read_image(str(path))
        assert img.number_of_components == 2 and img.dtype == np.dtype(f"uint{depth}")
        np.testing.assert_array_equal(np.asarray(img), want)


# ---------------------------------------------------------------------------- JPEG
@pytest.mark.parametrize("subsampling", [0, 2])
@pytest.mark.parametrize("comps", [1, 3])
def test_jpeg_written_by_others(tmp_path, rng, comps, subsampling):
    """Grey JPEGs decode exactly as in SimpleITK; colour ones within 1 without chroma
    subsampling. With 4:2:0 chroma, ITK's libjpeg upsamples chroma in another way than
    Pillow's libjpeg-turbo: only the mean difference is small."""
    array = smooth_picture((32, 48, comps))
    path = tmp_path / "p.jpg"
    PIL.fromarray(array[..., 0] if comps == 1 else array).save(path, quality=90,
                                                               subsampling=subsampling,
                                                               dpi=(300, 72))
    ref = sitk.ReadImage(str(path))
    ours = read_image(str(path))
    if comps == 1 or subsampling == 0:
        assert_matches_sitk(ours, ref, tolerance=0 if comps == 1 else 1)
    else:
        diff = np.abs(np.asarray(ours).astype(int) - sitk.GetArrayViewFromImage(ref))
        assert diff.mean() < 1.5
        np.testing.assert_array_equal(ours.spacing, ref.GetSpacing())


def test_jpeg_written_by_sitk(tmp_path):
    array = smooth_picture((32, 48, 1))
    sitk_write(array, 1, (0.3, 0.25), tmp_path / "s.jpg")
    path = str(tmp_path / "s.jpg")
    assert_matches_sitk(read_image(path), sitk.ReadImage(path))


@pytest.mark.parametrize("comps", [1, 3])
def test_jpeg_written_by_us(tmp_path, comps):
    """What SimpleITK reads from our JPEG equals what we read (colour within 1: the two
    libjpegs round YCbCr -> RGB differently). JPEG is lossy, so against the image written
    the pixels differ by the compression loss, small on smooth pictures and no larger than
    in SimpleITK's own JPEG of the image (quality 95 both; ours keeps full chroma)."""
    array = smooth_picture((33, 47, comps))
    spacing = (0.3, 0.25)
    img = our_image(array, comps, spacing)
    ours, theirs = str(tmp_path / "g.jpg"), str(tmp_path / "s.jpg")
    write_image(img, ours)
    sitk_write(array, comps, spacing, theirs)
    ref = sitk.ReadImage(ours)
    assert_matches_sitk(read_image(ours), ref, tolerance=0 if comps == 1 else 1)
    loss = [np.abs(decoded.astype(int) - np.asarray(img)).mean()
            for decoded in (sitk.GetArrayViewFromImage(ref),
                            sitk.GetArrayFromImage(sitk.ReadImage(theirs)))]
    assert loss[0] < 1.5 and loss[1] < 3.0 and loss[0] <= loss[1]
    # the density is ITK's: 10 / 0.3 rounds better per cm (33 / cm) than per inch (85)
    np.testing.assert_array_equal(ref.GetSpacing(), (10 / 33, 10 / 40))
    assert PIL.open(ours).info["progressive"] == 1


def test_jpeg_quality_option(tmp_path):
    img = our_image(smooth_picture((32, 32, 3)), 3, (1.0, 1.0))
    write_image(img, str(tmp_path / "lo.jpg"), quality=20)
    write_image(img, str(tmp_path / "hi.jpg"))
    assert (tmp_path / "lo.jpg").stat().st_size < (tmp_path / "hi.jpg").stat().st_size


def test_cmyk_jpeg_converted_as_itk(tmp_path, rng):
    cmyk = rng.integers(0, 256, (16, 16, 4), dtype=np.uint8)
    path = tmp_path / "c.jpg"
    PIL.fromarray(cmyk, "CMYK").save(path, quality=100, subsampling=0)
    assert_matches_sitk(read_image(str(path)), sitk.ReadImage(str(path)), tolerance=1)


# ---------------------------------------------------------------------------- BMP
@pytest.mark.parametrize("comps", [1, 3, 4])
def test_bmp_both_ways(tmp_path, rng, comps):
    array = random_values(rng, (7, 9, comps), np.uint8)
    spacing = (0.3, 0.25)
    theirs, ours = tmp_path / "s.bmp", tmp_path / "g.bmp"
    sitk_write(array, comps, spacing, theirs)
    write_image(our_image(array, comps, spacing), str(ours))
    assert ours.read_bytes() == theirs.read_bytes()          # the same file, byte for byte
    img = read_image(str(theirs))
    assert_matches_sitk(img, sitk.ReadImage(str(theirs)))
    # a grey BMP comes back as RGB, in SimpleITK and here (ITK expands every palette)
    assert img.number_of_components == (3 if comps == 1 else comps)


def bmp_file(rows: np.ndarray, depth: int, palette: bytes = b"", compression: int = 0,
             top_down: bool = False, size: tuple[int, int] | None = None) -> bytes:
    """A Windows 3 BMP of these (padded) rows; ``size`` for RLE data, which has no rows."""
    data = rows.tobytes()
    width, height = size or (rows.shape[1] * 8 // depth, len(rows))
    offset = 54 + len(palette)
    return (struct.pack("<2sIHHIIiiHHIIIIII", b"BM", offset + len(data), 0, 0, offset, 40,
                        width, -height if top_down else height, 1, depth, compression,
                        len(data), 0, 0, len(palette) // 4, 0) + palette + data)


def test_bmp_variants_match_sitk(tmp_path, rng):
    index = rng.integers(0, 256, (5, 8), dtype=np.uint8)
    palette = rng.integers(0, 256, (16, 4), dtype=np.uint8).tobytes()
    bgr = rng.integers(0, 256, (5, 12), dtype=np.uint8)     # 4 pixels of 24 bits
    # runs, an odd absolute run (padded), ends of lines, a (null) delta, end of bitmap;
    # every pixel is written (ITK leaves the others uninitialised)
    rle = bytes([3, 1, 0, 3, 5, 9, 2, 0, 0, 0, 2, 7, 4, 3, 0, 0, 0, 2, 0, 0, 6, 2, 0, 1])
    files = {
        "palette16": bmp_file(index % 20, 8, palette),        # indices past the palette: black
        "top-down": bmp_file(bgr, 24, top_down=True),
        "bottom-up": bmp_file(bgr, 24),
        "rle8": bmp_file(np.frombuffer(rle, np.uint8), 8, palette, 1, size=(6, 3)),
    }
    for name, data in files.items():
        path = tmp_path / f"{name}.bmp"
        path.write_bytes(data)
        assert_matches_sitk(read_image(str(path)), sitk.ReadImage(str(path))), name
    pil = tmp_path / "pil.bmp"
    PIL.fromarray(index, "P").save(pil)
    assert_matches_sitk(read_image(str(pil)), sitk.ReadImage(str(pil)))


# ---------------------------------------------------------------------------- series
@pytest.mark.parametrize("ext", ["png", "jpg", "bmp"])
def test_read_series_matches_sitk(tmp_path, rng, ext):
    names = []
    for k in range(4):
        a = smooth_picture((6, 8, 1)) // (k + 1)
        names.append(str(tmp_path / f"s{k}.{ext}"))
        sitk_write(a, 1, (0.5, 0.75), names[-1])
    order = [names[i] for i in (3, 1, 0, 2)]
    assert_matches_sitk(read_image(order), sitk.ReadImage(order))


def test_read_series_refuses_mixed_files(tmp_path):
    names = [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((3, 4), np.uint8)), names[0])
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((3, 4), np.uint16)), names[1])
    with pytest.raises(ValueError, match="b.png is .* UINT16 .* a series needs one size"):
        read_image(names)
    with pytest.raises(ValueError, match="empty list"):
        raster.read_series([])


def test_notebook_jpeg_slices(tmp_path, rng):
    """The notebook's pattern: rescale a volume to 0..255, cast to UINT8, one JPEG a slice."""
    vol = gr.image_from_array((smooth_picture((20, 24, 5)).astype(np.float32) - 3000)
                              .transpose(2, 0, 1).copy())
    vol.spacing = (0.5, 0.5, 2.0)
    names = [str(tmp_path / f"slice{i:03d}.jpg") for i in range(vol.size[2])]
    slices = gr.cast(gr.rescale_intensity(vol), gr.PixelType.UINT8)
    write_image(slices, names)
    want = np.asarray(slices)
    for k, name in enumerate(names):
        ref = sitk.ReadImage(name)
        assert ref.GetSize() == (24, 20) and ref.GetPixelID() == sitk.sitkUInt8
        assert np.abs(sitk.GetArrayViewFromImage(ref).astype(int) - want[k]).max() <= 8
    back = read_image(names)
    assert_matches_sitk(back, sitk.ReadImage(names))
    assert back.size == (24, 20, 5) and back.spacing == (0.5, 0.5, 1.0)


# ---------------------------------------------------------------------------- bad input
def test_truncated_files(tmp_path, rng):
    a = smooth_picture((40, 40, 3))
    for ext in ("png", "jpg", "bmp"):
        path = tmp_path / f"t.{ext}"
        write_image(our_image(a, 3, (1.0, 1.0)), str(path))
        data = path.read_bytes()
        for cut in (len(data) // 2, len(data) - 3, 20):
            path.write_bytes(data[:cut])
            with pytest.raises(ImageFileError, match=f"t.{ext}: .*(truncated|damaged)"):
                read_image(str(path))


def test_headers_declaring_huge_images(tmp_path):
    png = bytearray(png_file(np.zeros((2, 2), np.uint8), 8, 0))
    png[16:24] = struct.pack(">II", 60000, 60000)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    (tmp_path / "h.png").write_bytes(bytes(png))
    with pytest.raises(ImageFileError, match="declares 60000x60000 pixels"):
        read_image(str(tmp_path / "h.png"))
    jpg = bytearray((tmp_path / "h.png").read_bytes()[:0])
    write_image(our_image(np.zeros((8, 8, 1), np.uint8), 1, (1, 1)), str(tmp_path / "h.jpg"))
    jpg = bytearray((tmp_path / "h.jpg").read_bytes())
    sof = jpg.index(b"\xff\xc2")
    jpg[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
    (tmp_path / "h.jpg").write_bytes(bytes(jpg))
    with pytest.raises(ImageFileError, match="declares 65000x65000 pixels"):
        read_image(str(tmp_path / "h.jpg"))
    bmp = bytearray(bmp_file(np.zeros((2, 4), np.uint8), 8, bytes(1024)))
    bmp[22:26] = struct.pack("<i", 1 << 24)
    (tmp_path / "h.bmp").write_bytes(bytes(bmp))
    with pytest.raises(ImageFileError, match="declares .* bytes of pixels"):
        read_image(str(tmp_path / "h.bmp"))


def test_damaged_chunks_and_garbage(tmp_path):
    data = bytearray(png_file(np.zeros((4, 4), np.uint8), 8, 0))
    data[-20] ^= 0xFF                                            # inside IDAT: bad CRC
    (tmp_path / "c.png").write_bytes(bytes(data))
    with pytest.raises(ImageFileError, match="bad CRC in chunk b'IDAT'"):
        read_image(str(tmp_path / "c.png"))
    for ext in ("png", "jpg", "bmp"):
        (tmp_path / f"g.{ext}").write_bytes(bytes(range(7, 255)) * 3)
        with pytest.raises(ImageFileError, match=f"g.{ext}: not a PNG, JPEG or BMP file"):
            read_image(str(tmp_path / f"g.{ext}"))
    tiff = tmp_path / "t.png"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((3, 4), np.uint8)), str(tmp_path / "x.tif"))
    tiff.write_bytes((tmp_path / "x.tif").read_bytes())
    with pytest.raises(ImageFileError, match=r"t.png: not a PNG, JPEG or BMP file \(TIFF data\)"):
        read_image(str(tiff))
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_image(str(tmp_path / "missing.png"))


def test_content_decides_the_decoder(tmp_path, rng):
    """A PNG named .jpg reads as PNG (SimpleITK's PNG reader looks at the content too)."""
    a = random_values(rng, (5, 6, 3), np.uint8)
    sitk_write(a, 3, (1.0, 1.0), tmp_path / "x.png")
    (tmp_path / "x.jpg").write_bytes((tmp_path / "x.png").read_bytes())
    path = str(tmp_path / "x.jpg")
    assert_matches_sitk(read_image(path), sitk.ReadImage(path))


@pytest.mark.parametrize("ext, array, match", [
    ("png", np.zeros((3, 4, 2), np.uint8), "1 or 3 or 4 components"),
    ("jpg", np.zeros((3, 4, 4), np.uint8), "1 or 3 components"),
    ("bmp", np.zeros((3, 4, 2), np.uint8), "1 or 3 or 4 components"),
])
def test_refused_writes(tmp_path, ext, array, match):
    with pytest.raises(ValueError, match=match):
        write_image(gr.image_from_array(array, is_vector=True), str(tmp_path / f"a.{ext}"))
    with pytest.raises(ValueError, match="2-D"):
        raster.write(gr.image_from_array(np.zeros((2, 3, 4), np.uint8)), str(tmp_path / "b.png"),
                     compress=False)
    with pytest.raises(ValueError, match="cannot store"):
        write_image(gr.image_from_array(np.zeros((3, 4), np.int16)), str(tmp_path / f"c.{ext}"))
    assert not list(tmp_path.glob(".gpuresample-*"))
