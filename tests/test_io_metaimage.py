"""MetaImage (.mha/.mhd) reader and writer, with SimpleITK 2.5.7 as the oracle."""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np
import pytest
import SimpleITK as sitk

import gpuresample as gr
from gpuresample.io import ImageFileError, metaimage, read_image, write_image
from helpers import make_pair, random_direction, random_geometry, random_values

SCALARS = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
           "float32", "float64"]
ARTEFACTS = ("ITK_original_direction", "ITK_original_spacing")


def sitk_metadata(s: sitk.Image) -> dict[str, str]:
    return {k: s.GetMetaData(k) for k in s.GetMetaDataKeys() if k not in ARTEFACTS}


def assert_same(img: gr.Image, s: sitk.Image, metadata: bool = True) -> None:
    """Pixels, pixel type, components and geometry bit for bit; meta-data as SimpleITK's."""
    assert img.pixel_type.value == s.GetPixelID()
    assert img.number_of_components == s.GetNumberOfComponentsPerPixel()
    expected = sitk.GetArrayFromImage(s)
    np.testing.assert_array_equal(np.asarray(img).reshape(expected.shape), expected)
    assert np.asarray(img).dtype == expected.dtype
    assert img.size == s.GetSize()
    np.testing.assert_array_equal(img.origin, s.GetOrigin())
    np.testing.assert_array_equal(img.spacing, s.GetSpacing())
    np.testing.assert_array_equal(img.direction.ravel(), s.GetDirection())
    if metadata:
        assert dict(img.metadata) == sitk_metadata(s)


def pair(rng, dtype, d, vector=0, complex_=False):
    size, origin, spacing, direction = random_geometry(rng, d)
    shape = size[::-1] + ((vector,) if vector else ())
    if complex_:
        arr = (random_values(rng, shape, dtype) + 1j * random_values(rng, shape, dtype)).astype(
            np.complex64 if dtype == "float32" else np.complex128)
    else:
        arr = random_values(rng, shape, dtype)
    return make_pair(arr, (size, origin, spacing, direction + 0.0), is_vector=bool(vector))


CASES = ([(dt, d, 0, False) for dt in SCALARS for d in (2, 3, 4)]
         + [(dt, d, c, False) for dt in ("uint8", "float32", "float64", "int64")
            for d, c in ((2, 3), (3, 2), (3, 1))]
         + [(dt, d, 0, True) for dt in ("float32", "float64") for d in (2, 3)])


@pytest.mark.parametrize("dtype,d,vector,complex_", CASES)
def test_files_identical_to_simpleitk_and_read_back(tmp_path, rng, dtype, d, vector, complex_):
    img, s = pair(rng, dtype, d, vector, complex_)
    img.metadata["PatientName"] = "Doe^J"
    s.SetMetaData("PatientName", "Doe^J")
    ours, theirs = str(tmp_path / "ours.mha"), str(tmp_path / "theirs.mha")
    metaimage.write(img, ours)
    sitk.WriteImage(s, theirs)
    # header (numbers, AnatomicalOrientation, field order) and pixels byte for byte
    assert open(ours, "rb").read() == open(theirs, "rb").read()
    back = metaimage.read(theirs)
    assert_same(back, sitk.ReadImage(theirs))
    if complex_:   # SimpleITK reads its complex files as 2-component vectors
        assert back.pixel_type.is_vector and back.number_of_components == 2
        c = metaimage.read(theirs, as_complex=True)
        assert c.pixel_type == img.pixel_type
        np.testing.assert_array_equal(np.asarray(c), np.asarray(img))


@pytest.mark.parametrize("ext", [".mha", ".mhd"])
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype,d,vector", [("int16", 3, 0), ("float64", 2, 0),
                                            ("uint8", 3, 3), ("uint64", 4, 0)])
def test_compressed_and_detached_both_ways(tmp_path, rng, ext, compress, dtype, d, vector):
    img, s = pair(rng, dtype, d, vector)
    ours, theirs = str(tmp_path / f"ours{ext}"), str(tmp_path / f"theirs{ext}")
    metaimage.write(img, ours, compress=compress)
    sitk.WriteImage(s, theirs, compress)
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["ours" + ext, "theirs" + ext]
        + ([f"ours.{'zraw' if compress else 'raw'}", f"theirs.{'zraw' if compress else 'raw'}"]
           if ext == ".mhd" else []))
    assert_same(metaimage.read(theirs), sitk.ReadImage(theirs))
    assert_same(metaimage.read(ours), sitk.ReadImage(ours))
    header = open(ours, "rb").read().split(b"ElementDataFile")[0]
    assert (b"CompressedData = True" in header) == compress


def test_round_trip_through_dispatch(tmp_path, rng):
    img, _ = pair(rng, "float32", 3)
    img.metadata.update({"Foo": "bar baz", "0010|0010": "Doe^J"})
    for i, compress in enumerate((False, True)):
        path = tmp_path / f"r{i}.mha"
        write_image(img, path, compress=compress)
        back = read_image(path)
        np.testing.assert_array_equal(np.asarray(back), np.asarray(img))
        assert (back.origin, back.spacing) == (img.origin, img.spacing)
        np.testing.assert_array_equal(back.direction, img.direction)
        assert {k: back.metadata[k] for k in img.metadata} == dict(img.metadata)
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".gpuresample-")]


def test_metadata_written_and_read_as_simpleitk(tmp_path):
    entries = {"Foo": "bar", "ITK_VoxelUnits": "mm. ", "ITK_ExperimentDate": "2020.01.02",
               "ITK_InputFilterName": "X", "Modality": "MET_MOD_CT", "ElementSpacing": "9 9",
               "ObjectType": "Blob", "0008|0060": "CT"}
    img, s = make_pair(np.zeros((3, 4), np.uint8), random_geometry(np.random.default_rng(1), 2))
    s.SetDirection(np.eye(2).ravel().tolist())
    img.direction = np.eye(2)
    for key, value in entries.items():
        img.metadata[key] = value
        s.SetMetaData(key, value)
    ours, theirs = str(tmp_path / "ours.mha"), str(tmp_path / "theirs.mha")
    metaimage.write(img, ours)
    sitk.WriteImage(s, theirs)
    assert open(ours, "rb").read() == open(theirs, "rb").read()
    assert_same(metaimage.read(theirs), sitk.ReadImage(theirs))


def test_unwritable_metadata_skipped_with_warning(tmp_path):
    img = gr.Image((4, 3), "uint8")
    img.metadata.update({"Empty": "", "multi": "a\nb", "a=b": "c", "ElementDataFile": "x.raw",
                         "HeaderSize": "7", "Good": "yes"})
    path = str(tmp_path / "m.mha")
    with pytest.warns(UserWarning, match=r"entries \['ElementDataFile'.* not written"):
        metaimage.write(img, path)
    back = sitk.ReadImage(path)     # ITK would have written a header it cannot read
    assert sitk_metadata(back) == dict(metaimage.read(path).metadata)
    assert back.GetMetaData("Good") == "yes" and not back.HasMetaDataKey("multi")


BASE = ["ObjectType = Image", "NDims = 2", "DimSize = 3 2"]
LOCAL = ["ElementType = MET_USHORT", "ElementDataFile = LOCAL"]
HEADERS = {
    "origin precedence": BASE + ["Position = 3 4", "Offset = 1 2", "Origin = 5 6",
                                 "ImagePosition = 7 8"] + LOCAL,
    "offset over position": BASE + ["Offset = 1 2", "Position = 3 4"] + LOCAL,
    "matrix precedence": BASE + ["TransformMatrix = 0 1 1 0", "Orientation = 0 -1 1 0",
                                 "Rotation = 1 0 0 -1"] + LOCAL,
    "rotation over orientation": BASE + ["Orientation = 0 -1 1 0", "Rotation = 1 0 0 -1"] + LOCAL,
    "non-orthonormal": BASE + ["TransformMatrix = 2 0.5 0 1"] + LOCAL,
    "negative spacing": BASE + ["ElementSpacing = -0.5 2", "TransformMatrix = 0 1 1 0"] + LOCAL,
    "element size": BASE + ["ElementSize = 2 3"] + LOCAL,
    "spacing over size": BASE + ["ElementSize = 2 3", "ElementSpacing = 4 5"] + LOCAL,
    "extra values ignored": BASE + ["Offset = 1 2 3", "ElementSpacing = 4 5 6"] + LOCAL,
    "msb": BASE + ["ElementByteOrderMSB = True"] + LOCAL,
    "binary msb wins": BASE + ["BinaryDataByteOrderMSB = False", "ElementByteOrderMSB = True"]
    + LOCAL,
    "crlf": [line + "\r" for line in BASE + ["Offset = 1.5 2"] + LOCAL],
    "extra keys": BASE + ["Foo =  bar  ", "Bar=baz", "  Indented = x", "Key : value",
                          "A:B = c", "NoSep", "Empty =", "Dup = 1", "Dup = 2"] + LOCAL,
    "modality units date": BASE + ["Modality = MET_MOD_MR", "DistanceUnits = um",
                                   "AcquisitionDate = 2020", "Comment = hi", "Name = n"] + LOCAL,
    "unknown modality and units": BASE + ["Modality = foo", "DistanceUnits = furlong"] + LOCAL,
    "header size": BASE + ["HeaderSize = 3"] + LOCAL,
    "header size -1": BASE + ["HeaderSize = -1"] + LOCAL,
    "no object type, trailing bytes": BASE[1:] + LOCAL,
    "long long array": BASE + ["ElementType = MET_LONG_LONG_ARRAY", "ElementDataFile = LOCAL"],
    "long is 32 bits": BASE + ["ElementType = MET_ULONG", "ElementDataFile = LOCAL"],
    "string": BASE + ["ElementType = MET_STRING", "ElementDataFile = LOCAL"],
    "channels": BASE + ["ElementNumberOfChannels = 2", "ElementType = MET_CHAR",
                        "ElementDataFile = LOCAL"],
    "4-D": ["NDims = 4", "DimSize = 2 1 3 2", "ElementSpacing = 1 2 3 4",
            "TransformMatrix = " + " ".join(map(str, np.eye(4)[[1, 0, 3, 2]].ravel())), ] + LOCAL,
}


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_header_variants_read_as_simpleitk(tmp_path, name):
    path = str(tmp_path / "h.mha")
    with open(path, "wb") as fh:
        fh.write(("\n".join(HEADERS[name]) + "\n").encode() + bytes(range(200)))
    assert_same(metaimage.read(path), sitk.ReadImage(path))


def test_ascii_pixels(tmp_path):
    path = str(tmp_path / "a.mha")
    with open(path, "wb") as fh:
        fh.write("\n".join(BASE + ["BinaryData = False", "ElementType = MET_FLOAT",
                                   "ElementDataFile = LOCAL"]).encode()
                 + b"\n1.5 -2 3\n4e2 5 6.25\n")
    assert_same(metaimage.read(path), sitk.ReadImage(path))


def test_numbers_parse_bit_exactly_as_itk(tmp_path, rng):
    """Shortest repr, ITK's 17 digits and extreme exponents give SimpleITK's doubles."""
    values = np.concatenate([rng.normal(scale=10.0 ** rng.integers(-30, 30, 12)),
                             [0.1, 1 / 3, 5e-324, 1.7976931348623157e308, -0.0]])
    for k, fmt in enumerate((repr, lambda v: "%.17g" % v, lambda v: "%.25e" % v)):
        path = str(tmp_path / f"n{k}.mha")
        origin = " ".join(fmt(float(v)) for v in values[:2])
        spacing = " ".join(fmt(abs(float(v)) or 1.0) for v in values[2:4])
        with open(path, "wb") as fh:
            fh.write("\n".join(BASE + [f"Offset = {origin}", f"ElementSpacing = {spacing}"]
                               + LOCAL).encode() + b"\n" + bytes(12))
        assert_same(metaimage.read(path), sitk.ReadImage(path))
    img = gr.Image((3, 2))
    for v in values:     # and our writer's numbers are SimpleITK's after reading
        img.origin = (float(v), -float(v))
        metaimage.write(img, str(tmp_path / "w.mha"))
        written = str(tmp_path / "w.mha")
        assert_same(metaimage.read(written), sitk.ReadImage(written))
        if abs(v) != 5e-324:   # ITK reads subnormal numbers as 0 (and so do we)
            assert sitk.ReadImage(str(tmp_path / "w.mha")).GetOrigin() == img.origin


def test_gzip_stream_and_gz_data_file(tmp_path):
    data = np.arange(6, dtype=np.uint16).tobytes()
    packed = gzip.compress(data)
    path = str(tmp_path / "g.mha")
    with open(path, "wb") as fh:
        fh.write("\n".join(BASE + ["CompressedData = True", f"CompressedDataSize = {len(packed)}"]
                           + LOCAL).encode() + b"\n" + packed)
    assert_same(metaimage.read(path), sitk.ReadImage(path))
    # a data file found only with .gz appended is read compressed, as MetaIO does
    with open(tmp_path / "d.raw.gz", "wb") as fh:
        fh.write(zlib.compress(data))
    header = str(tmp_path / "d.mhd")
    with open(header, "w") as fh:
        fh.write("\n".join(BASE + ["ElementType = MET_USHORT", "ElementDataFile = d.raw"]) + "\n")
    assert_same(metaimage.read(header), sitk.ReadImage(header))


def test_compressed_without_size_read_to_end(tmp_path):
    # ITK fails to inflate this (it takes the whole file as the stream) and returns garbage
    path = str(tmp_path / "c.mha")
    with open(path, "wb") as fh:
        fh.write("\n".join(BASE + ["CompressedData = True"] + LOCAL).encode() + b"\n"
                 + zlib.compress(np.arange(6, dtype=np.uint16).tobytes()))
    np.testing.assert_array_equal(np.asarray(metaimage.read(path)).ravel(), np.arange(6))


def _slices(tmp_path, names, depth=3):
    arr = np.arange(depth * 6, dtype=np.int16).reshape(depth, 2, 3)
    for name, plane in zip(names, arr):
        plane.tofile(tmp_path / name)
    return arr


@pytest.mark.parametrize("element_data_file,names", [
    ("LIST", ["a.raw", "b.raw", "c.raw"]),
    ("LIST 2", ["a.raw", "b.raw", "c.raw"]),
    ("s%02d.raw", ["s01.raw", "s02.raw", "s03.raw"]),
    ("s%d.raw 4 8 2", ["s4.raw", "s6.raw", "s8.raw"]),
])
def test_slice_file_lists(tmp_path, element_data_file, names):
    _slices(tmp_path, names)
    header = str(tmp_path / "list.mhd")
    listing = names if element_data_file.startswith("LIST") else []
    with open(header, "w") as fh:
        fh.write("\n".join(["NDims = 3", "DimSize = 3 2 3", "ElementType = MET_SHORT",
                            f"ElementDataFile = {element_data_file}"] + listing) + "\n")
    assert_same(metaimage.read(header), sitk.ReadImage(header))


def test_series_as_simpleitk(tmp_path, rng):
    names = []
    direction = random_direction(rng, 2)
    for k, origin in enumerate([(1.0, 2.0), (1.5, 2.2), (2.5, 2.9)]):   # non-uniform
        img = gr.image_from_array(np.full((3, 4), k, np.int16))
        img.origin, img.spacing, img.direction = origin, (0.5, 0.7), direction
        img.metadata["Foo"] = str(k)
        names.append(str(tmp_path / f"s{k}.mha"))
        metaimage.write(img, names[-1])
    with pytest.warns(UserWarning, match="non-uniform"):
        ours = read_image(names)
    theirs = sitk.ReadImage(names)
    assert_same(ours, theirs, metadata=False)
    assert set(ours.metadata) == set(sitk_metadata(theirs)) == {
        "ITK_non_uniform_sampling_deviation"}
    assert float(ours.metadata["ITK_non_uniform_sampling_deviation"]) > 0.3
    assert_same(read_image(names[:1]), sitk.ReadImage(names[:1]))
    flat = [str(tmp_path / f"f{k}.mha") for k in range(2)]   # 3-D files of one slice
    for k, name in enumerate(flat):
        metaimage.write(gr.image_from_array(np.full((1, 3, 4), k, np.uint8)), name)
    assert_same(read_image(flat), sitk.ReadImage(flat))
    metaimage.write(gr.Image((5, 3), "int16"), str(tmp_path / "odd.mha"))
    with pytest.raises(ImageFileError, match="size mismatch"):
        read_image([names[0], str(tmp_path / "odd.mha")])


def _write_raw(path, header_lines, payload):
    with open(path, "wb") as fh:
        fh.write(("\n".join(header_lines) + "\n").encode() + payload)
    return str(path)


BAD = {
    "truncated": (BASE + LOCAL, bytes(7), r"declares 12 bytes of pixel data but the file holds 7"),
    "huge": (["NDims = 3", "DimSize = 100000 100000 100000"] + LOCAL, bytes(16),
             r"declares 2000000000000000 bytes"),
    "damaged stream": (BASE + ["CompressedData = True", "CompressedDataSize = 14"] + LOCAL,
                       b"garbagegarbage", r"damaged compressed pixel data"),
    "short stream": (BASE + ["CompressedData = True"] + LOCAL, zlib.compress(bytes(8)),
                     r"ends after 8 of 12 bytes"),
    "long stream": (BASE + ["CompressedData = True"] + LOCAL, zlib.compress(bytes(20)),
                    r"more than the 12 bytes"),
    "size beyond file": (BASE + ["CompressedData = True", "CompressedDataSize = 999"] + LOCAL,
                         zlib.compress(bytes(12)), r"declares 999 bytes of compressed"),
    "five dims": (["NDims = 5", "DimSize = 1 1 1 1 2"] + LOCAL, bytes(4), r"NDims = 5"),
    "element type": (BASE + ["ElementType = MET_OTHER", "ElementDataFile = LOCAL"], bytes(12),
                     r"unsupported or missing ElementType 'MET_OTHER'"),
    "no data file line": (BASE + ["ElementType = MET_USHORT"], b"", r"without an ElementDataFile"),
    "bad number": (BASE + ["Offset = nan 1"] + LOCAL, bytes(12), r"Offset needs 2 finite"),
    "too few": (BASE + ["ElementSpacing = 1"] + LOCAL, bytes(12), r"ElementSpacing needs 2"),
    "words": (BASE + ["Offset = 1,5 2"] + LOCAL, bytes(12), r"not a list of numbers"),
    "zero spacing": (BASE + ["ElementSpacing = 0 1"] + LOCAL, bytes(12), r"zero value"),
    "singular": (BASE + ["TransformMatrix = 1 0 1 0"] + LOCAL, bytes(12), r"singular"),
    "channels": (BASE + ["ElementNumberOfChannels = 0"] + LOCAL, bytes(12),
                 r"ElementNumberOfChannels = 0"),
    "missing list files": (["NDims = 3", "DimSize = 3 2 3", "ElementType = MET_SHORT",
                            "ElementDataFile = LIST", "a.raw"], b"", r"needs 3 file names"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_headers_and_payloads(tmp_path, name):
    lines, payload, message = BAD[name]
    path = _write_raw(tmp_path / "bad.mha", lines, payload)
    with pytest.raises(ImageFileError, match=message):
        metaimage.read(path)


def test_garbage_and_wrong_content(tmp_path, rng):
    garbage = _write_raw(tmp_path / "g.mha", [], rng.integers(0, 256, 5000, np.uint8).tobytes())
    with pytest.raises(ImageFileError, match="not a MetaImage"):
        read_image(garbage)
    nifti = str(tmp_path / "n.nii")
    sitk.WriteImage(sitk.Image([4, 3], sitk.sitkInt16), nifti)
    os.replace(nifti, tmp_path / "n.mha")
    with pytest.raises(ImageFileError, match="not a MetaImage"):
        read_image(tmp_path / "n.mha")
    text = _write_raw(tmp_path / "t.mha", ["hello world", "no header here"], b"")
    with pytest.raises(ImageFileError, match="without an ElementDataFile"):
        read_image(text)


def test_missing_and_short_data_files(tmp_path):
    header = _write_raw(tmp_path / "d.mhd", BASE + ["ElementType = MET_USHORT",
                                                    "ElementDataFile = gone.raw"], b"")
    with pytest.raises(ImageFileError, match=r"gone\.raw named by ElementDataFile does not exist"):
        read_image(header)
    (tmp_path / "gone.raw").write_bytes(bytes(5))
    with pytest.raises(ImageFileError, match=r"gone\.raw: the header declares 12 bytes"):
        read_image(header)
    pattern = _write_raw(tmp_path / "p.mhd", ["NDims = 3", "DimSize = 3 2 3",
                                              "ElementType = MET_SHORT",
                                              "ElementDataFile = q%d.raw"], b"")
    with pytest.raises(ImageFileError, match=r"cannot open the data file .*q1\.raw"):
        read_image(pattern)


def test_as_complex_refused_for_other_files(tmp_path):
    path = str(tmp_path / "v.mha")
    metaimage.write(gr.Image((3, 2), "vector_float32", components=3), path)
    with pytest.raises(ValueError, match="as_complex=True needs 2 channels"):
        metaimage.read(path, as_complex=True)


def test_failed_write_leaves_nothing(tmp_path):
    img = gr.Image((3, 2), "uint8")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        metaimage.write(img, str(tmp_path / "nowhere" / "x.mha"))
    with pytest.raises(TypeError):
        metaimage.write(img, str(tmp_path / "x.mhd"), compress=True, compression_level="9")
    assert os.listdir(tmp_path) == []
