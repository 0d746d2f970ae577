"""TIFF reading and writing against SimpleITK 2.5.7's TIFFImageIO (the oracle)."""

from __future__ import annotations

import logging
import struct

import numpy as np
import pytest
import SimpleITK as sitk

tifffile = pytest.importorskip("tifffile")

import gpuresample as gr  # noqa: E402
from gpuresample.io import ImageFileError, read_image, write_image  # noqa: E402
from gpuresample.io import tiff  # noqa: E402
from gpuresample.io.formats import format_by_name  # noqa: E402
from helpers import random_geometry, random_values  # noqa: E402

# what ITK's TIFFImageIO writes and reads: 8/16/32-bit integers and 32-bit floats
SITK_TIFF_TYPES = [gr.PixelType(i) for i in (0, 1, 2, 3, 4, 5, 8)]
OUR_KEYS = ("spacing_source", "spacing_unit")


UNPRINTABLE = "[UNKNOWN_PRINT_CHARACTERISTICS]\n"


def sitk_metadata(ref: sitk.Image) -> dict[str, str]:
    """SimpleITK's string entries: without the objects it cannot print (ITK_original_*,
    numeric TIFF tags), which gpuresample does not reproduce."""
    return {k: ref.GetMetaData(k) for k in ref.GetMetaDataKeys()
            if ref.GetMetaData(k) != UNPRINTABLE}


def assert_matches_sitk(ours: gr.Image, ref: sitk.Image, metadata: bool = True) -> None:
    """Pixel type, components, geometry (bit for bit), pixels and tags equal SimpleITK's."""
    assert ours.pixel_type.value == ref.GetPixelID()
    assert ours.number_of_components == ref.GetNumberOfComponentsPerPixel()
    assert ours.size == ref.GetSize()
    np.testing.assert_array_equal(ours.spacing, ref.GetSpacing())
    np.testing.assert_array_equal(ours.origin, ref.GetOrigin())
    np.testing.assert_array_equal(ours.direction.ravel(), ref.GetDirection())
    np.testing.assert_array_equal(np.asarray(ours), sitk.GetArrayViewFromImage(ref))
    if metadata:
        got = {k: v for k, v in ours.metadata.items() if k not in OUR_KEYS}
        assert got == sitk_metadata(ref)


def sitk_image(array: np.ndarray, is_vector: bool, spacing) -> sitk.Image:
    ref = sitk.GetImageFromArray(array, isVector=is_vector)
    ref.SetSpacing(spacing)
    return ref


def cases():
    """(pixel type, dimension, components): every SimpleITK TIFF type, 2-D and 3-D."""
    for pt in SITK_TIFF_TYPES:
        for dim in (2, 3):
            yield pt, dim, 1
    for pt, comps in ((gr.PixelType.UINT8, 3), (gr.PixelType.UINT8, 4),
                      (gr.PixelType.UINT16, 3), (gr.PixelType.FLOAT32, 5),
                      (gr.PixelType.INT16, 2), (gr.PixelType.INT32, 4)):
        yield pt, 2, comps
        yield pt, 3, comps


def random_case(rng, pt, dim, comps):
    size, origin, spacing, direction = random_geometry(rng, dim)
    shape = size[::-1] + ((comps,) if comps > 1 else ())
    return random_values(rng, shape, pt.dtype), spacing


# ---------------------------------------------------------------------------- oracle
def test_capability_table_lists_what_sitk_stores(tmp_path):
    """The table's TIFF pixel types are those SimpleITK writes and reads back."""
    writable = set()
    for pt in gr.PixelType:
        if pt.is_complex:
            continue
        comps = 3 if pt.is_vector else 1
        a = np.zeros((3, 4, comps) if pt.is_vector else (3, 4), pt.dtype)
        try:
            sitk.WriteImage(sitk.GetImageFromArray(a, isVector=pt.is_vector),
                            str(tmp_path / "t.tif"))
            sitk.ReadImage(str(tmp_path / "t.tif"))
        except RuntimeError:
            continue
        writable.add(pt)
    assert writable == set(SITK_TIFF_TYPES) | {pt.vector for pt in SITK_TIFF_TYPES}
    fmt = format_by_name("tiff")
    assert fmt.pixel_types == writable
    assert not (fmt.stores_origin or fmt.stores_direction) and fmt.stores_spacing


@pytest.mark.parametrize("compressor", ["", "DEFLATE"])
@pytest.mark.parametrize("pt, dim, comps", list(cases()))
def test_files_written_by_sitk(tmp_path, rng, pt, dim, comps, compressor):
    array, spacing = random_case(rng, pt, dim, comps)
    path = str(tmp_path / "s.tif")
    sitk.WriteImage(sitk_image(array, comps > 1, spacing), path, useCompression=bool(compressor),
                    compressor=compressor)
    ref = sitk.ReadImage(path)
    ours = read_image(path, convention="itk")
    assert_matches_sitk(ours, ref)
    # no ImageJ/OME metadata: the default convention reads the same image
    assert_matches_sitk(read_image(path), ref)
    assert ours.metadata["spacing_source"] == "TIFF resolution"


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("pt, dim, comps", [c for c in cases() if c[2] != 2])
def test_files_written_by_us(tmp_path, rng, pt, dim, comps, compress):
    array, spacing = random_case(rng, pt, dim, comps)
    img = gr.image_from_array(array, is_vector=comps > 1)
    img.spacing = spacing
    before = array.copy()
    ours_path, sitk_path = str(tmp_path / "g.tif"), str(tmp_path / "s.tif")
    write_image(img, ours_path, compress=compress)
    np.testing.assert_array_equal(array, before)
    # SimpleITK reads our file as it reads its own file of the same image
    sitk.WriteImage(sitk_image(array, comps > 1, spacing), sitk_path)
    ref, own = sitk.ReadImage(ours_path), sitk.ReadImage(sitk_path)
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(ref), array)
    np.testing.assert_array_equal(ref.GetSpacing(), own.GetSpacing())
    assert ref.GetPixelID() == own.GetPixelID()
    if compress:
        assert tifffile.TiffFile(ours_path).pages[0].compression == 8     # deflate
    assert_matches_sitk(read_image(ours_path, convention="itk"), ref)
    # the default convention also reads the z spacing back from the ImageJ description
    back = read_image(ours_path)
    np.testing.assert_array_equal(np.asarray(back), array)
    np.testing.assert_array_equal(back.spacing[:2], ref.GetSpacing()[:2])
    if dim == 3:
        np.testing.assert_allclose(back.spacing[2], spacing[2], rtol=1e-15)
        assert back.metadata["spacing_source"] == "ImageJ"
        assert back.metadata["spacing_unit"] == "inch"


def test_round_trip_follows_the_table(tmp_path, rng):
    """Origin and direction are not stored (the table says so): they come back as defaults."""
    fmt = format_by_name("tiff")
    size, origin, spacing, direction = random_geometry(rng, 3)
    img = gr.image_from_array(random_values(rng, size[::-1], np.int16))
    img.origin, img.spacing, img.direction = origin, spacing, direction
    write_image(img, str(tmp_path / "r.tiff"))
    back = read_image(str(tmp_path / "r.tiff"))
    assert back.origin == (origin if fmt.stores_origin else (0.0, 0.0, 0.0))
    np.testing.assert_array_equal(back.direction, direction if fmt.stores_direction else np.eye(3))
    np.testing.assert_allclose(back.spacing, spacing, rtol=1e-7)   # x, y via float32 as ITK


def random_rational(rng):
    return int(rng.integers(1, 2**32)), int(rng.integers(1, 2**32))


def test_resolution_units_and_rationals_bit_exact(tmp_path, rng):
    """ITK's spacing: 25.4 / (float) XResolution per inch, 10 / per cm, else 1."""
    a = random_values(rng, (5, 7), np.uint16)
    variants = [dict(resolution=(random_rational(rng), random_rational(rng)),
                     resolutionunit=unit) for unit in ("INCH", "CENTIMETER", "NONE",
                                                       "MILLIMETER", "MICROMETER")
                for _ in range(6)]
    variants += [dict(resolution=((0, 1), (3, 1)), resolutionunit="INCH"),
                 dict(resolution=((300, 1), (150, 1))), dict()]
    for k, kw in enumerate(variants):
        path = str(tmp_path / f"r{k}.tif")
        tifffile.imwrite(path, a, metadata=None, **kw)
        ours = read_image(path)
        assert_matches_sitk(ours, sitk.ReadImage(path))
        assert ours.metadata["spacing_source"] in ("TIFF resolution", "default")


def test_ascii_tags_as_itk_names_them(tmp_path, rng):
    a = random_values(rng, (3, 4), np.uint8)
    tags = [(269, "s", 0, "doc", True), (285, "s", 0, "page", True), (315, "s", 0, "me", True),
            (316, "s", 0, "host", True), (33432, "s", 0, "(c)", True), (271, "s", 0, "mk", True),
            (272, "s", 0, "mdl", True), (65000, "s", 0, "private", True),
            (65001, "H", 1, 7, True)]
    path = str(tmp_path / "t.tif")
    tifffile.imwrite(path, a, extratags=tags, datetime="2024:01:02 03:04:05",
                     description="hello", metadata=None)
    ours = read_image(path)
    assert_matches_sitk(ours, sitk.ReadImage(path))
    assert ours.metadata["DateTime"].endswith("\0") and "Tag 65000" in ours.metadata


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("kind", ["colour8", "colour16", "grey"])
def test_palette_images_expand_as_itk(tmp_path, rng, kind, bits):
    colors = 2**bits
    index = rng.integers(0, colors, (5, 6)).astype(f"uint{bits}")
    if kind == "grey":
        cmap = np.tile(rng.integers(0, 65536, colors, dtype=np.uint16), (3, 1))
    else:
        top = 256 if kind == "colour8" else 65536
        cmap = rng.integers(0, top, (3, colors)).astype(np.uint16)
    path = str(tmp_path / "p.tif")
    tifffile.imwrite(path, index, photometric="palette", colormap=cmap, metadata=None)
    assert_matches_sitk(read_image(path), sitk.ReadImage(path))


def test_miniswhite_and_bottom_up_rows_as_itk(tmp_path, rng):
    a = random_values(rng, (4, 3, 5), np.uint16)
    for k, kw in enumerate([dict(photometric="miniswhite"),
                            dict(extratags=[(274, "H", 1, 4, True)])]):
        path = str(tmp_path / f"o{k}.tif")
        tifffile.imwrite(path, a, metadata=None, **{"photometric": "minisblack", **kw})
        assert_matches_sitk(read_image(path), sitk.ReadImage(path))


def test_reduced_resolution_pages_are_not_slices(tmp_path, rng):
    a = random_values(rng, (3, 8, 10), np.uint8)
    path = str(tmp_path / "pyr.tif")
    with tifffile.TiffWriter(path) as tw:
        tw.write(a, photometric="minisblack", metadata=None)
        tw.write(a[0, ::2, ::2], subfiletype=1, photometric="minisblack", metadata=None)
    ours = read_image(path, convention="itk")
    assert_matches_sitk(ours, sitk.ReadImage(path))
    assert ours.size == (10, 8, 3)


def test_imagej_hyperstack_channels_are_components(tmp_path, rng):
    """Default: the channel axis becomes components, spacing from the ImageJ description;
    convention="itk": every page a slice, as SimpleITK."""
    stack = random_values(rng, (4, 3, 5, 6), np.uint16)        # Z C Y X
    path = str(tmp_path / "ij.tif")
    tifffile.imwrite(path, stack, imagej=True, resolution=(2.0, 4.0),
                     metadata={"axes": "ZCYX", "spacing": 3.5, "unit": "um"})
    assert_matches_sitk(read_image(path, convention="itk"), sitk.ReadImage(path))
    img = read_image(path)
    assert img.size == (6, 5, 4) and img.pixel_type is gr.PixelType.VECTOR_UINT16
    np.testing.assert_array_equal(np.asarray(img), np.moveaxis(stack, 1, -1))
    assert img.spacing == (0.5 * 1e-3, 0.25 * 1e-3, 3.5 * 1e-3)      # micrometres -> mm
    assert (img.metadata["spacing_source"], img.metadata["spacing_unit"]) == ("ImageJ", "um")


def test_imagej_time_axis_is_a_fourth_axis(tmp_path, rng):
    stack = random_values(rng, (3, 4, 5, 6), np.float32)       # T Z Y X
    path = str(tmp_path / "ijt.tif")
    tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "TZYX", "spacing": 2.0})
    img = read_image(path)
    assert img.size == (6, 5, 4, 3)
    np.testing.assert_array_equal(np.asarray(img), stack)
    assert img.spacing == (1.0, 1.0, 2.0, 1.0)     # no unit: the stored numbers
    assert read_image(path, convention="itk").size == (6, 5, 12)


def test_ome_physical_sizes(tmp_path, rng):
    stack = random_values(rng, (2, 4, 5, 6), np.uint8)         # C Z Y X
    path = str(tmp_path / "o.ome.tif")
    tifffile.imwrite(path, stack, ome=True, metadata={
        "axes": "CZYX", "PhysicalSizeX": 0.25, "PhysicalSizeY": 0.5, "PhysicalSizeZ": 2.0,
        "PhysicalSizeZUnit": "nm"})
    img = read_image(path)
    assert img.size == (6, 5, 4) and img.number_of_components == 2
    np.testing.assert_array_equal(np.asarray(img), np.moveaxis(stack, 0, -1))
    np.testing.assert_array_equal(img.spacing, (0.25e-3, 0.5e-3, 2.0e-6))
    assert img.metadata["spacing_source"] == "OME-XML"
    itk = read_image(path, convention="itk")
    assert_matches_sitk(itk, sitk.ReadImage(path))
    assert itk.size == (6, 5, 8) and itk.metadata["spacing_source"] == "default"


# ---------------------------------------------------------------------------- beyond ITK
@pytest.mark.parametrize("dtype", ["int64", "uint64", "float64", "complex64"])
def test_types_sitk_refuses_are_read(tmp_path, rng, dtype):
    a = (rng.normal(size=(4, 5)) * 100).astype(dtype)
    path = str(tmp_path / "w.tif")
    tifffile.imwrite(path, a, metadata=None)
    with pytest.raises(RuntimeError):
        sitk.ReadImage(path)
    img = read_image(path)
    assert img.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.asarray(img), a)


@pytest.mark.parametrize("layout", ["tiled", "separate", "grey+alpha"])
def test_stored_samples_where_itk_falls_back_to_8_bit(tmp_path, rng, layout):
    """ITK reads these through libtiff's 8-bit RGBA path (or, for grey+alpha, copies half
    of each row); gpuresample reads the stored samples."""
    a = random_values(rng, (20, 24, 3 if layout == "separate" else 2), np.uint16)
    path = str(tmp_path / "f.tif")
    if layout == "tiled":
        tifffile.imwrite(path, a[..., 0], tile=(16, 16), metadata=None)
        want = a[..., 0]
    elif layout == "separate":
        tifffile.imwrite(path, np.moveaxis(a, -1, 0), photometric="rgb",
                         planarconfig="separate", metadata=None)
        want = a
    else:
        tifffile.imwrite(path, a, photometric="minisblack", planarconfig="contig",
                         extrasamples=[0], metadata=None)
        want = a
    ref = sitk.ReadImage(path)
    assert not np.array_equal(sitk.GetArrayViewFromImage(ref), want)
    img = read_image(path)
    np.testing.assert_array_equal(np.asarray(img), want)
    assert img.size == ref.GetSize()


# ---------------------------------------------------------------------------- series
def test_read_series_matches_sitk(tmp_path, rng):
    names = []
    for k in range(4):
        img = gr.image_from_array(random_values(rng, (5, 7, 3), np.uint8), is_vector=True)
        img.spacing = (0.3, 0.7)
        names.append(str(tmp_path / f"s{k}.tif"))
        write_image(img, names[-1])
    order = [names[i] for i in (2, 0, 3, 1)]
    vol = read_image(order)
    ref = sitk.ReadImage(order)
    assert_matches_sitk(vol, ref, metadata=False)
    assert vol.metadata == {"spacing_source": "TIFF resolution", "spacing_unit": "inch"}


def test_read_series_refuses_mixed_files(tmp_path):
    a, b = str(tmp_path / "a.tif"), str(tmp_path / "b.tif")
    tifffile.imwrite(a, np.zeros((3, 4), np.uint8))
    tifffile.imwrite(b, np.zeros((3, 5), np.uint8))
    with pytest.raises(ValueError, match="b.tif is .* a series needs one size and type"):
        read_image([a, b])
    with pytest.raises(RuntimeError):
        sitk.ReadImage([a, b])       # SimpleITK refuses different sizes too


def test_write_slices_to_a_list_of_files(tmp_path, rng):
    vol = gr.image_from_array(random_values(rng, (3, 5, 6), np.float32))
    vol.spacing = (0.5, 0.25, 4.0)
    names = [str(tmp_path / f"slice{k}.tif") for k in range(3)]
    write_image(vol, names)
    for k, name in enumerate(names):
        ref = sitk.ReadImage(name)
        np.testing.assert_array_equal(sitk.GetArrayViewFromImage(ref), np.asarray(vol)[k])
    np.testing.assert_array_equal(np.asarray(read_image(names)), np.asarray(vol))


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("compression", [None, "zlib"])
def test_truncated_files(tmp_path, rng, compression):
    a = random_values(rng, (3, 64, 64), np.uint16)
    path = tmp_path / "t.tif"
    tifffile.imwrite(path, a, compression=compression, photometric="minisblack",
                     metadata=None)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 50, 12):
        path.write_bytes(data[:cut])
        with pytest.raises(ImageFileError, match="t.tif: .*(truncated|damaged|cannot read)"):
            read_image(str(path))


def test_logged_damage_is_an_error(tmp_path, rng, caplog):
    """tifffile only logs a broken page chain and returns what it found."""
    path = tmp_path / "chain.tif"
    tifffile.imwrite(path, random_values(rng, (3, 8, 8), np.uint8), photometric="minisblack",
                     metadata=None)
    tf = tifffile.TiffFile(path)
    second = tf.pages[1].offset
    tf.close()
    data = bytearray(path.read_bytes())
    # point the first page's "next IFD" offset past the end of the file
    entries = struct.unpack("<H", data[8:10])[0]
    data[10 + 12 * entries:14 + 12 * entries] = struct.pack("<I", len(data) + 1000)
    assert second != len(data) + 1000
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.ERROR, "tifffile"):
        with pytest.raises(ImageFileError, match="damaged TIFF file: .*invalid page offset"):
            read_image(str(path))


def tiny_tiff(width: int, height: int, count: int) -> bytes:
    """An 8-bit grey TIFF whose header declares width x height pixels in ``count`` bytes."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
               (273, 4, 8 + 2 + 12 * 9 + 4), (277, 3, 1), (278, 4, height), (279, 4, count)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", t, ty, 1, v) if ty == 4 else struct.pack("<HHIHH", t, ty, 1, v, 0)
        for t, ty, v in entries) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + bytes(count)


def test_header_declaring_a_huge_image(tmp_path):
    path = tmp_path / "huge.tif"
    path.write_bytes(tiny_tiff(100000, 100000, 16))
    with pytest.raises(ImageFileError, match="declares .* bytes of pixels from 16 stored"):
        read_image(str(path))
    path.write_bytes(tiny_tiff(4, 4, 16))           # the same layout, consistent
    assert read_image(str(path)).size == (4, 4)


def test_garbage_wrong_content_and_missing_files(tmp_path):
    garbage = tmp_path / "g.tif"
    garbage.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ImageFileError, match="g.tif: cannot read as TIFF"):
        read_image(str(garbage))
    png = tmp_path / "p.tif"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((3, 4), np.uint8)), str(tmp_path / "x.png"))
    png.write_bytes((tmp_path / "x.png").read_bytes())
    with pytest.raises(ImageFileError, match="p.tif: cannot read as TIFF"):
        read_image(str(png))
    with pytest.raises(FileNotFoundError, match="missing.tif"):
        read_image(str(tmp_path / "missing.tif"))
    with pytest.raises(FileNotFoundError):
        tiff.read(str(tmp_path / "missing.tif"))


def test_pages_of_different_shapes(tmp_path):
    path = str(tmp_path / "mixed.tif")
    with tifffile.TiffWriter(path) as tw:
        tw.write(np.zeros((4, 5), np.uint8), metadata=None)
        tw.write(np.zeros((6, 5), np.uint8), metadata=None)
    with pytest.raises(ImageFileError, match="page 1 is .* not one image stack"):
        read_image(path)


def test_bad_arguments(tmp_path):
    img = gr.image_from_array(np.zeros((3, 4, 2), np.float32), is_vector=True)
    with pytest.raises(ValueError, match="2-component pixels"):
        write_image(img, str(tmp_path / "v.tif"))
    with pytest.raises(ValueError, match="unknown TIFF write options: quality"):
        tiff.write(gr.image_from_array(np.zeros((3, 4), np.uint8)), str(tmp_path / "a.tif"),
                   compress=False, quality=3)
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((3, 4), np.uint8))
    with pytest.raises(ValueError, match="convention must be one of"):
        read_image(str(tmp_path / "a.tif"), convention="imagej")
    assert not list(tmp_path.glob(".gpuresample-*"))      # no half-written files left
