"""NRRD (.nrrd/.nhdr) reader and writer, with SimpleITK 2.5.7 as the oracle."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
import SimpleITK as sitk

pytest.importorskip("nrrd")

import gpuresample as gr   # noqa: E402
from gpuresample.io import ImageFileError, nrrd, read_image, write_image   # noqa: E402
from helpers import make_pair, random_geometry, random_values   # noqa: E402

SCALARS = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
           "float32", "float64"]
# numbers SimpleITK keeps in its dictionary but cannot show as strings
HIDDEN = ("ITK_original_direction", "ITK_original_spacing", "NRRD_pixel_original_axis")


def assert_same(img: gr.Image, s: sitk.Image, metadata: bool = True) -> None:
    """Pixels, pixel type, components, geometry bit for bit, meta-data as SimpleITK's."""
    assert img.pixel_type.value == s.GetPixelID()
    assert img.number_of_components == s.GetNumberOfComponentsPerPixel()
    expected = sitk.GetArrayFromImage(s)
    np.testing.assert_array_equal(np.asarray(img).reshape(expected.shape), expected)
    assert img.size == s.GetSize()
    np.testing.assert_array_equal(img.origin, s.GetOrigin())
    np.testing.assert_array_equal(img.spacing, s.GetSpacing())
    np.testing.assert_array_equal(img.direction.ravel(), s.GetDirection())
    if metadata:
        assert dict(img.metadata) == {k: s.GetMetaData(k) for k in s.GetMetaDataKeys()
                                      if k not in HIDDEN}


def pair(rng, dtype, d, vector=0, complex_=False):
    size, origin, spacing, direction = random_geometry(rng, d)
    shape = size[::-1] + ((vector,) if vector else ())
    arr = random_values(rng, shape, dtype)
    if complex_:
        arr = (arr + 1j * random_values(rng, shape, dtype)).astype(
            np.complex64 if dtype == "float32" else np.complex128)
    return make_pair(arr, (size, origin, spacing, direction + 0.0), is_vector=bool(vector))


CASES = ([(dt, d, 0, False) for dt in SCALARS for d in (2, 3, 4)]
         + [(dt, d, c, False) for dt in ("uint8", "float32", "int64")
            for d, c in ((2, 3), (3, 2), (3, 1))]
         + [(dt, d, 0, True) for dt in ("float32", "float64") for d in (2, 3)])


@pytest.mark.parametrize("dtype,d,vector,complex_", CASES)
def test_files_identical_to_simpleitk_and_read_back(tmp_path, rng, dtype, d, vector, complex_):
    img, s = pair(rng, dtype, d, vector, complex_)
    for key, value in {"PatientName": "Doe^J", "multi": "a\nb\\c", "NRRD_content": "hi",
                       "NRRD_labels[0]": "x axis", "NRRD_centerings[1]": "cell",
                       "NRRD_kinds[0]": "space"}.items():
        img.metadata[key] = value
        s.SetMetaData(key, value)
    ours, theirs = str(tmp_path / "ours.nrrd"), str(tmp_path / "theirs.nrrd")
    nrrd.write(img, ours)
    sitk.WriteImage(s, theirs)
    assert open(ours, "rb").read() == open(theirs, "rb").read()
    # ITK's arithmetic (norm, direction * 1/norm) is reproduced bit for bit on read
    assert_same(nrrd.read(theirs), sitk.ReadImage(theirs))
    back = nrrd.read(ours)   # a 1-component vector comes back scalar, as in SimpleITK
    np.testing.assert_array_equal(np.asarray(back), np.asarray(img).reshape(np.asarray(back).shape))
    np.testing.assert_allclose(back.spacing, img.spacing, rtol=1e-15)
    np.testing.assert_allclose(back.direction, img.direction, atol=1e-15)


@pytest.mark.parametrize("ext", [".nrrd", ".nhdr"])
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype,d,vector", [("int16", 3, 0), ("float64", 2, 0),
                                            ("uint8", 3, 3), ("uint16", 4, 0)])
def test_compressed_and_detached_both_ways(tmp_path, rng, ext, compress, dtype, d, vector):
    img, s = pair(rng, dtype, d, vector)
    ours, theirs = str(tmp_path / f"ours{ext}"), str(tmp_path / f"theirs{ext}")
    nrrd.write(img, ours, compress=compress)
    sitk.WriteImage(s, theirs, compress)
    data = [f"{name}.raw{'.gz' if compress else ''}" for name in ("ours", "theirs")]
    assert sorted(os.listdir(tmp_path)) == sorted(
        [f"ours{ext}", f"theirs{ext}"] + (data if ext == ".nhdr" else []))
    assert_same(nrrd.read(theirs), sitk.ReadImage(theirs))
    assert_same(nrrd.read(ours), sitk.ReadImage(ours))
    header = open(ours, "rb").read().split(b"\n\n")[0]
    assert (b"encoding: gzip" in header) == compress


def test_round_trip_through_dispatch(tmp_path, rng):
    img, _ = pair(rng, "float32", 3)
    img.metadata.update({"Foo": "bar baz", "0010|0010": "Doe^J", "spaces": "  kept  "})
    for i, compress in enumerate((False, True)):
        write_image(img, tmp_path / f"r{i}.nrrd", compress=compress)
        back = read_image(tmp_path / f"r{i}.nrrd")
        np.testing.assert_array_equal(np.asarray(back), np.asarray(img))
        assert {k: back.metadata[k] for k in img.metadata} == dict(img.metadata)
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".gpuresample-")]


def test_space_given_to_the_writer(tmp_path):
    for space, warns in (("scanner-xyz", False), ("right-anterior-superior", True),
                         ("3D-left-handed", False)):
        img, s = make_pair(np.zeros((2, 2, 2), np.uint8),
                           random_geometry(np.random.default_rng(2), 3))
        img.metadata["NRRD_space"] = space
        ours = str(tmp_path / "s.nrrd")
        if warns:   # ITK writes RAS over LPS numbers (read back mirrored); we keep LPS
            with pytest.warns(UserWarning, match="ignored: the geometry is written in LPS"):
                nrrd.write(img, ours)
            assert b"space: left-posterior-superior" in open(ours, "rb").read()
        else:
            s.SetMetaData("NRRD_space", space)
            nrrd.write(img, ours)
            sitk.WriteImage(s, str(tmp_path / "t.nrrd"))
            assert open(ours, "rb").read() == open(tmp_path / "t.nrrd", "rb").read()
        assert_same(nrrd.read(ours), sitk.ReadImage(ours))


B = ["type: uchar", "dimension: 3", "sizes: 2 3 4"]
DIRS = ["space directions: (1,2,3) (0,4,0) (0,0,5)", "space origin: (1,2,3)", "encoding: raw"]
HEADERS = {
    **{f"space {sp}": B + [f"space: {sp}"] + DIRS
       for sp in ("right-anterior-superior", "left-anterior-superior", "LPS", "RAS", "LAS",
                  "scanner-xyz", "3D-right-handed")},
    "oblique": ["type: short", "dimension: 3", "sizes: 2 2 2", "space: RAS",
                "space directions: (0.1,0.7,-0.3) (1e-3,2.5,0.25) (-3,0.125,7)",
                "space origin: (-1.5,2.25,1e2)", "endian: little", "encoding: raw"],
    "spacings only": B + ["spacings: 0.5 2 3", "encoding: raw"],
    "spacings with nan and negative": B + ["spacings: -0.5 nan 3", "encoding: raw"],
    "axis mins": B + ["spacings: 0.5 2 3", "axis mins: 1 2 3", "encoding: raw"],
    "axis mins node": B + ["spacings: 0.5 2 3", "axis mins: 1 2 3", "centers: node cell ???",
                           "encoding: raw"],
    "axis mins and maxs": B + ["axis mins: 1 2 3", "axis maxs: 2 4 9", "encoding: raw"],
    "nothing": B + ["encoding: raw"],
    "vector first": ["type: float", "dimension: 4", "sizes: 3 2 2 2",
                     "kinds: vector domain domain domain", "space: LPS",
                     "space directions: none (1,0,0) (0,1,0) (0,0,1)", "endian: little",
                     "encoding: raw"],
    "color last": ["type: uchar", "dimension: 3", "sizes: 2 2 3",
                   "kinds: domain domain RGB-color", "space dimension: 2",
                   "space directions: (2,0) (0,3) none", "encoding: raw"],
    "3-vector middle": ["type: uchar", "dimension: 3", "sizes: 2 3 2",
                        "kinds: domain 3-vector domain", "encoding: raw"],
    "complex": ["type: float", "dimension: 3", "sizes: 2 2 2",
                "kinds: complex domain domain", "endian: little", "encoding: raw"],
    "list": ["type: uchar", "dimension: 3", "sizes: 5 2 2", "kinds: list domain domain",
             "encoding: raw"],
    "4-D": ["type: short", "dimension: 4", "sizes: 2 2 2 2", "space dimension: 4",
            "space directions: (1,0,0,0) (0,1,0,0) (0,0,1,0) (0,0,0,2)",
            "space origin: (1,2,3,4)", "endian: big", "encoding: raw"],
    "meta": B + ["encoding: raw", "content: hello", "centerings: cell node cell",
                 'labels: "x" "y y" ""', "Foo:=bar baz", "multi:=a\\nb", "slash:=c\\\\d",
                 "padded:=  kept  ", "col:=on:=x", "empty:=", "# comment", "space: RAS",
                 "space directions: (1,0,0) (0,1,0) (0,0,1)", "kinds: space domain time"],
    "skips": ["type: ushort", "dimension: 2", "sizes: 3 2", "endian: little", "encoding: raw",
              "line skip: 1", "byte skip: 3"],
    "byte skip -1": ["type: ushort", "dimension: 2", "sizes: 3 2", "endian: little",
                     "encoding: raw", "byte skip: -1"],
}


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_header_variants_read_as_simpleitk(tmp_path, name):
    path = str(tmp_path / "h.nrrd")
    with open(path, "wb") as fh:
        fh.write(("\n".join(["NRRD0004"] + HEADERS[name]) + "\n\n").encode()
                 + b"skip this line\n" + bytes(range(250)))
    assert_same(nrrd.read(path), sitk.ReadImage(path))


@pytest.mark.parametrize("encoding,payload", [
    ("ascii", b"1 2 3\n4.5 5 -6\n"), ("text", b"1e2 2 3 4 5 6"),
    ("hex", b"3f800000 40000000\n40400000 40800000 40a00000 40c00000\n"),
])
def test_text_encodings(tmp_path, encoding, payload):
    path = str(tmp_path / "t.nrrd")
    with open(path, "wb") as fh:
        fh.write(f"NRRD0004\ntype: float\ndimension: 2\nsizes: 3 2\nendian: big\n"
                 f"encoding: {encoding}\n\n".encode() + payload)
    assert_same(nrrd.read(path), sitk.ReadImage(path))


def test_detached_gzip_header_with_byte_skip(tmp_path):
    data = np.arange(6, dtype="<u2").tobytes()
    (tmp_path / "d.raw.gz").write_bytes(gzip.compress(b"xyz" + data))
    header = tmp_path / "d.nhdr"
    header.write_text("NRRD0004\ntype: ushort\ndimension: 2\nsizes: 3 2\nendian: little\n"
                      "encoding: gzip\nbyte skip: 3\ndata file: d.raw.gz\n")
    assert_same(nrrd.read(str(header)), sitk.ReadImage(str(header)))


def test_series_as_simpleitk(tmp_path, rng):
    names = []
    for k in range(3):
        img = gr.image_from_array(random_values(rng, (3, 4), "int16"))
        img.origin, img.spacing = (0.5 * k, 1.0 * k), (0.5, 0.7)
        names.append(str(tmp_path / f"s{k}.nrrd"))
        nrrd.write(img, names[-1])
    assert_same(read_image(names), sitk.ReadImage(names), metadata=False)


def _raw(path, lines, payload=b""):
    with open(path, "wb") as fh:
        fh.write(("\n".join(["NRRD0004"] + lines) + "\n\n").encode() + payload)
    return str(path)


S = ["type: ushort", "dimension: 2", "sizes: 3 2", "endian: little"]
BAD = {
    "truncated": (S + ["encoding: raw"], bytes(7), r"declares 12 bytes of pixel data but the "
                                                   r"file holds 7"),
    "huge": (["type: ushort", "dimension: 3", "sizes: 100000 100000 100000", "endian: little",
              "encoding: raw"], bytes(8), r"declares 2000000000000000 bytes"),
    "huge gzip": (["type: ushort", "dimension: 3", "sizes: 100000 100000 100000",
                   "endian: little", "encoding: gzip"], gzip.compress(bytes(8)),
                  r"more than \d+ compressed bytes can hold"),
    "damaged gzip": (S + ["encoding: gzip"], b"garbagegarbage", r"damaged compressed"),
    "short gzip": (S + ["encoding: gzip"], gzip.compress(bytes(8)), r"ends after 8 of 12"),
    "long gzip": (S + ["encoding: gzip"], gzip.compress(bytes(40)), r"more than the 12 bytes"),
    "no endian": (["type: ushort", "dimension: 2", "sizes: 3 2", "encoding: raw"], bytes(12),
                  r"no valid 'endian'"),
    "bad type": (["type: quaternion", "dimension: 2", "sizes: 3 2", "encoding: raw"],
                 bytes(12), r"unsupported NRRD type 'quaternion'"),
    "sizes vs dimension": (["type: uchar", "dimension: 3", "sizes: 3 2", "encoding: raw"],
                           bytes(12), r"does not match dimension 3"),
    "two component axes": (["type: uchar", "dimension: 4", "sizes: 2 2 3 3",
                            "kinds: vector list domain domain", "encoding: raw"], bytes(36),
                           r"2 non-domain axes"),
    "kind size": (["type: float", "dimension: 3", "sizes: 3 2 2", "endian: little",
                   "kinds: complex domain domain", "encoding: raw"], bytes(48),
                  r"kind complex must have size 2"),
    "space dimension mismatch": (["type: uchar", "dimension: 4", "sizes: 2 2 2 2",
                                  "kinds: domain domain domain time", "space: RAS",
                                  "space directions: (1,0,0) (0,1,0) (0,0,1) none",
                                  "encoding: raw"], bytes(16), r"does not match the dimension "
                                                               r"of the space"),
    "spacings with space": (S + ["space dimension: 2", "spacings: 1 1", "encoding: raw"],
                            bytes(12), r"both 'spacings' and a space direction"),
    "directions count": (S + ["space dimension: 2", "space directions: (1,0)",
                              "encoding: raw"], bytes(12), r"'space directions' needs 2"),
    "five dims": (["type: uchar", "dimension: 5", "sizes: 1 1 1 1 2", "encoding: raw"],
                  bytes(2), r"5 image axes"),
    "unknown space": (S + ["space: outer-space", "encoding: raw"], bytes(12),
                      r"unknown NRRD space"),
    "bzip2": (S + ["encoding: bzip2"], bytes(12), r"unsupported NRRD encoding 'bzip2'"),
    "bad ascii": (["type: float", "dimension: 2", "sizes: 3 2", "encoding: ascii"],
                  b"1 2 x 4 5 6", r"ascii pixel data that cannot be parsed"),
    "duplicate field": (S + ["encoding: raw", "encoding: raw"], bytes(12),
                        r"bad NRRD header: Duplicate header field"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files(tmp_path, name):
    lines, payload, message = BAD[name]
    path = _raw(tmp_path / "bad.nrrd", lines, payload)
    with pytest.raises(ImageFileError, match=message):
        nrrd.read(path)


def test_garbage_wrong_content_and_missing_data_file(tmp_path, rng):
    garbage = tmp_path / "g.nrrd"
    garbage.write_bytes(rng.integers(0, 256, 3000, np.uint8).tobytes())
    with pytest.raises(ImageFileError, match="not a NRRD file"):
        read_image(garbage)
    sitk.WriteImage(sitk.Image([4, 3], sitk.sitkInt16), str(tmp_path / "x.mha"))
    os.replace(tmp_path / "x.mha", tmp_path / "x.nrrd")
    with pytest.raises(ImageFileError, match="not a NRRD file"):
        read_image(tmp_path / "x.nrrd")
    binary = _raw(tmp_path / "b.nrrd", ["type: uchar", "dimen\x00sion: 2"])
    with pytest.raises(ImageFileError, match="binary data inside the NRRD header"):
        nrrd.read(binary)
    header = _raw(tmp_path / "d.nhdr", S + ["encoding: raw", "data file: gone.raw"])
    with pytest.raises(ImageFileError, match=r"cannot open the data file .*gone\.raw"):
        read_image(header)
    listed = _raw(tmp_path / "l.nhdr", S + ["encoding: raw", "data file: LIST"])
    with pytest.raises(ImageFileError, match="several files"):
        nrrd.read(listed)


def test_failed_write_leaves_nothing(tmp_path):
    img = gr.Image((3, 2), "uint8")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nrrd.write(img, str(tmp_path / "nowhere" / "x.nrrd"))
    with pytest.raises(TypeError):
        nrrd.write(img, str(tmp_path / "x.nhdr"), compress=True, compression_level="9")
    assert os.listdir(tmp_path) == []
