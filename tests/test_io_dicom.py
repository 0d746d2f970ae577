"""DICOM reading and writing against SimpleITK 2.5.7 (GDCM) as the oracle.

Test files are built with pydicom (every SOP class, tag and pixel layout the reader handles)
or written by SimpleITK; each result is compared with what SimpleITK reads from the same
file: size, pixel type, pixels, origin / spacing / direction bit for bit, and the whole
meta-data dictionary.
"""

from __future__ import annotations

import os
import re
import warnings

import numpy as np
import pytest

pydicom = pytest.importorskip("pydicom")
sitk = pytest.importorskip("SimpleITK")

from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.sequence import Sequence  # noqa: E402
from pydicom.uid import (ExplicitVRBigEndian, ExplicitVRLittleEndian,  # noqa: E402
                         ImplicitVRLittleEndian, RLELossless, generate_uid)

import gpuresample as gr  # noqa: E402
from gpuresample.io import ImageFileError, read_image, write_image  # noqa: E402
from gpuresample.io import dicom  # noqa: E402

from helpers import random_direction  # noqa: E402

sitk.ProcessObject.SetGlobalWarningDisplay(False)

SOP = {"CT": "1.2.840.10008.5.1.4.1.1.2", "MR": "1.2.840.10008.5.1.4.1.1.4",
       "SC": "1.2.840.10008.5.1.4.1.1.7", "CR": "1.2.840.10008.5.1.4.1.1.1",
       "DX": "1.2.840.10008.5.1.4.1.1.1.1", "US": "1.2.840.10008.5.1.4.1.1.6.1",
       "USMF": "1.2.840.10008.5.1.4.1.1.3.1", "NM": "1.2.840.10008.5.1.4.1.1.20",
       "PT": "1.2.840.10008.5.1.4.1.1.128", "XA": "1.2.840.10008.5.1.4.1.1.12.1",
       "VL": "1.2.840.10008.5.1.4.1.1.77.1.4", "ECT": "1.2.840.10008.5.1.4.1.1.2.1",
       "EMR": "1.2.840.10008.5.1.4.1.1.4.1", "MFSC": "1.2.840.10008.5.1.4.1.1.7.3",
       "RTSTRUCT": "1.2.840.10008.5.1.4.1.1.481.3", "PRIVATE": "1.2.3.4.5.6.7"}
NOT_SITK_KEYS = {"ITK_original_direction", "ITK_original_spacing"}   # non-string arrays


# ----------------------------------------------------------------------------- builders
def make(path, sop="CT", arr=None, tags=None, series="1.2.3.4.5", ts=ExplicitVRLittleEndian,
         meta=True):
    """A DICOM file from pydicom: ``arr`` (frames, rows, cols[, 3]) and extra ``tags``
    (keyword -> value, or (group, element) -> (VR, value))."""
    arr = np.arange(12, dtype=np.int16).reshape(3, 4) if arr is None else np.asarray(arr)
    tags = dict(tags or {})
    rgb = tags.get("SamplesPerPixel", 1) == 3
    ds = Dataset()
    uid = SOP.get(sop, sop)
    if uid is not None:
        ds.SOPClassUID = uid
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = "1.2.3"
    ds.Modality = "OT"
    shape = arr.shape[:-1] if rgb else arr.shape
    ds.Rows, ds.Columns = shape[-2:]
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = "RGB" if rgb else "MONOCHROME2"
    if rgb:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = arr.dtype.itemsize * 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = int(arr.dtype.kind == "i")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # pydicom's advice on deliberately odd values
        if series is not None:
            ds.SeriesInstanceUID = series
        for key, value in tags.items():
            if isinstance(key, tuple):
                ds.add_new(key, value[0], value[1])
            else:
                setattr(ds, key, value)
    ds.PixelData = np.ascontiguousarray(arr).tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ts
    if uid is not None and meta:
        ds.file_meta.MediaStorageSOPClassUID = uid
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if ts == ExplicitVRBigEndian:   # pydicom writes the pixel bytes as given
            ds.PixelData = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder(">")).tobytes()
        ds.save_as(os.fspath(path), enforce_file_format=uid is not None and meta)
    return os.fspath(path)


def ds_list(values):
    return [f"{v:.10g}" for v in values]


def item(**kw):
    d = Dataset()
    for k, v in kw.items():
        setattr(d, k, v)
    return d


def sitk_read(path):
    return sitk.ReadImage(os.fspath(path))


def assert_same(img, ref, metadata=True):
    """Our Image equals SimpleITK's: geometry bit for bit, pixels, pixel type, dictionary."""
    assert img.size == ref.GetSize()
    assert img.pixel_type.value == ref.GetPixelID(), (img.pixel_type.name,
                                                       ref.GetPixelIDTypeAsString())
    assert img.number_of_components == ref.GetNumberOfComponentsPerPixel()
    np.testing.assert_array_equal(img.spacing, ref.GetSpacing())
    np.testing.assert_array_equal(img.origin, ref.GetOrigin())
    np.testing.assert_array_equal(img.direction.ravel(), ref.GetDirection())
    np.testing.assert_array_equal(np.asarray(img), sitk.GetArrayFromImage(ref))
    if metadata:
        keys = set(ref.GetMetaDataKeys()) - NOT_SITK_KEYS
        assert set(img.metadata) == keys
        for key in keys:
            assert img.metadata[key] == ref.GetMetaData(key), key


def compare_file(path, metadata=True):
    img = dicom.read(path)
    assert_same(img, sitk_read(path), metadata)
    return img


# ----------------------------------------------------------------------------- one file
def _geometry_tags(name):
    parts = set(name.split("+"))
    t = {}
    if "PS" in parts:
        t["PixelSpacing"] = [0.8, 0.7]
    if "IPS" in parts:
        t["ImagerPixelSpacing"] = [0.6, 0.5]
    if "NSPS" in parts:
        t["NominalScannedPixelSpacing"] = [0.4, 0.3]
    if "SBS" in parts:
        t["SpacingBetweenSlices"] = 2.5
    if "NEG" in parts:
        t["SpacingBetweenSlices"] = -1.5
    if "ST" in parts:
        t["SliceThickness"] = 3.5
    if "IPP" in parts:
        t["ImagePositionPatient"] = [1, -2, 3.25]
    if "IOP" in parts:
        t["ImageOrientationPatient"] = [0, 1, 0, 0, 0, -1]
    return t


@pytest.mark.parametrize("sop", ["CT", "MR", "SC", "CR", "DX", "US", "NM", "PT", "XA", "VL",
                                 None])
def test_geometry_rules_per_sop_class(tmp_path, sop):
    for combo in ["PS", "IPS", "NSPS", "PS+IPS+NSPS", "PS+NSPS", "SBS+ST+IPP+IOP", "ST",
                  "NEG+IPP+IOP+PS"]:
        compare_file(make(tmp_path / f"{combo}.dcm", sop=sop, tags=_geometry_tags(combo)))


@pytest.mark.parametrize("text", ["0\\.5", "0.5", ".5\\0", "", " 0.25\\0.5 "])
def test_pixel_spacing_strings(tmp_path, text):
    compare_file(make(tmp_path / "a.dcm", sop="MR", tags={(0x0028, 0x0030): ("DS", text)}))


@pytest.mark.parametrize("ipp,iop", [("1\\2", "1\\0\\0\\0\\1"), ("", "2\\0\\0\\0\\3\\0"),
                                     ("1\\2\\3\\4", "1\\0\\0\\1\\0\\0"),
                                     (" 1 \\ 2 \\ 3", "0.99\\0\\0\\0\\1\\0"),
                                     ("0\\0\\0", "1\\0.0009\\0\\0\\1\\0"),
                                     ("5\\5\\5", "0\\0\\0\\0\\0\\0")])
def test_position_and_orientation_strings(tmp_path, ipp, iop):
    compare_file(make(tmp_path / "a.dcm", sop="CT", tags={(0x0020, 0x0032): ("DS", ipp),
                                                          (0x0020, 0x0037): ("DS", iop)}))


@pytest.mark.parametrize("ts", [ExplicitVRLittleEndian, ImplicitVRLittleEndian,
                                ExplicitVRBigEndian])
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "uint16", "int32", "uint32"])
def test_random_oblique_files(tmp_path, rng, ts, dtype):
    for k in range(3):
        d = random_direction(rng, 3)
        info = np.iinfo(dtype)
        arr = rng.integers(info.min, info.max, size=(int(rng.integers(3, 9)) | 1, 5),
                           endpoint=True).astype(dtype)
        tags = {"ImageOrientationPatient": ds_list(np.r_[d[:, 0], d[:, 1]]),
                "ImagePositionPatient": ds_list(rng.normal(0, 50, 3)),
                "PixelSpacing": ds_list(rng.uniform(0.2, 3, 2)),
                "SpacingBetweenSlices": f"{rng.uniform(0.5, 4):.6g}",
                "PatientName": "Doe^Jane", "InstanceNumber": k}
        compare_file(make(tmp_path / f"{k}.dcm", sop=["CT", "MR", "SC"][k], arr=arr,
                          tags=tags, ts=ts))


METADATA_TAGS = {
    "PatientName": "Doe^Jo", "ImagePositionPatient": [10, -20, 30], "PixelSpacing": [.8, .7],
    (0x0018, 0x9087): ("FD", 1 / 3), (0x0018, 0x9089): ("FD", [1e-7, 2.5e10, -0.0]),
    (0x0018, 0x1310): ("US", [0, 4, 5, 0]), (0x0028, 0x0106): ("US", 3),
    (0x0028, 0x0009): ("AT", [0x00181063, 0x00540010]), (0x0018, 0x6024): ("US", 3),
    (0x0018, 0x602C): ("FD", 123456789.123), (0x0018, 0x6020): ("SL", -5),
    (0x0018, 0x6016): ("UL", 4000000000), (0x0009, 0x0010): ("LO", "PRIV"),
    (0x0009, 0x1001): ("LO", "private value"), (0x0029, 0x0010): ("UN", b"ab"),
    (0x0008, 0x1150): ("UI", "1.2.3"), (0x0008, 0x0008): ("CS", ["ORIGINAL", "PRIMARY"]),
    (0x0040, 0x0275): ("SQ", [Dataset()]), (0x0018, 0x1000): ("LO", ""),
    (0x0028, 0x1201): ("OW", b"\x01\x02\x03\x04"), (0x0028, 0x1202): ("OW", b""),
    (0x0018, 0x9004): ("CS", "X"), (0x0010, 0x1010): ("AS", "045Y"),
    (0x0020, 0x4000): ("LT", "line1\r\nline2"), (0x0018, 0x9219): ("SS", -2),
    (0x0040, 0xA30A): ("DS", [1.5]), (0x0066, 0x0016): ("OF", b"\x00\x00\x80\x3f"),
    (0x0072, 0x0075): ("UR", "http://x"), (0x0040, 0xA160): ("UT", "text"),
    (0x0018, 0x9351): ("FL", [1.0, 2.0]), (0x0018, 0x9305): ("FD", 0.1),
    "SpecificCharacterSet": "ISO_IR 100", (0x0010, 0x0020): ("LO", b"Jos\xe9"),
}


@pytest.mark.parametrize("ts", [ExplicitVRLittleEndian, ImplicitVRLittleEndian,
                                ExplicitVRBigEndian])
def test_metadata_dictionary(tmp_path, ts):
    tags = dict(METADATA_TAGS)
    if ts == ImplicitVRLittleEndian:
        del tags[(0x0072, 0x0075)]   # GDCM's dictionary lacks this UR tag: SimpleITK fails
    img = compare_file(make(tmp_path / "m.dcm", tags=tags, ts=ts))
    assert img.metadata["0018|9087"] == "0.333333"
    assert "0009|1001" not in img.metadata and "0040|0275" not in img.metadata


def test_binary_vrs_simpleitk_cannot_print_are_base64(tmp_path):
    path = make(tmp_path / "ol.dcm", tags={(0x0066, 0x0040): ("OL", b"\x01\x00\x00\x00")})
    with pytest.raises(RuntimeError):
        sitk_read(path)   # SimpleITK cannot read the file at all
    assert dicom.read(path).metadata["0066|0040"] == "AQAAAA=="


# ----------------------------------------------------------------------------- pixels
RAW16 = np.array([[0, 1, 4095, 4096], [0xF123, 0x8000, 0x0800, 0x07FF],
                  [100, 200, 300, 65535]], np.uint16)


@pytest.mark.parametrize("case", [
    dict(arr=RAW16, tags=dict(BitsStored=12, HighBit=11)),
    dict(arr=RAW16.view(np.int16), tags=dict(BitsStored=12, HighBit=11)),
    dict(arr=RAW16, tags=dict(BitsStored=12, HighBit=15)),
    dict(arr=RAW16.view(np.int16), tags=dict(BitsStored=10, HighBit=9)),
    dict(arr=RAW16, tags=dict(PhotometricInterpretation="MONOCHROME1")),
    dict(arr=RAW16, tags=dict(PhotometricInterpretation="MONOCHROME1", BitsStored=12,
                              HighBit=11)),
    dict(arr=RAW16.view(np.int16), tags=dict(PhotometricInterpretation="MONOCHROME1")),
    dict(arr=np.array([[0, 1, 2, 255]], np.uint8),
         tags=dict(PhotometricInterpretation="MONOCHROME1")),
    dict(arr=np.array([[0, 1, -2, 127]], np.int8),
         tags=dict(PhotometricInterpretation="MONOCHROME1")),
    dict(arr=RAW16, tags=dict(PhotometricInterpretation="MONOCHROME1", RescaleSlope=1,
                              RescaleIntercept=-1024)),
])
def test_stored_bits_and_monochrome1(tmp_path, case):
    compare_file(make(tmp_path / "p.dcm", arr=case["arr"], tags=case["tags"]))


@pytest.mark.parametrize("slope,intercept,bits,dtype", [
    (1, -1024, 12, "uint16"), (1, -1024, 16, "uint16"), (2, 0, 16, "int16"),
    (1, 0.5, 16, "int16"), (1.5, 0, 16, "uint16"), (-1, 0, 16, "uint16"),
    (1, 100, 8, "uint8"), (1, -100, 8, "uint8"), (1, -200, 8, "uint8"), (1, -1, 16, "int16"),
    (1, 1, 32, "int32"), (1, -1, 32, "uint32"), (0, 5, 16, "int16"), (3, 0, 8, "int8"),
    (1, "", 16, "int16"), (1, -1024, 11, "int16"), (1, 0, 16, "uint16"), (1, 1, 16, "uint16"),
    (0.25, -3.5, 16, "int16"), (1, 0, 8, "uint8")])
def test_rescale_output_type(tmp_path, rng, slope, intercept, bits, dtype):
    info = np.iinfo(dtype)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if info.min < 0 else (0, (1 << bits) - 1)
    arr = rng.integers(lo, hi, size=(3, 5), endpoint=True).astype(dtype)
    tags = dict(RescaleSlope=slope, RescaleIntercept=intercept)
    if bits != arr.dtype.itemsize * 8:
        tags.update(BitsStored=bits, HighBit=bits - 1)
    compare_file(make(tmp_path / "r.dcm", arr=arr, tags=tags))


def test_rescale_simpleitk_refuses_is_read(tmp_path):
    # 7 stored bits + 1 fits UINT8; ITK refuses "Pixel type larger than output type"
    path = make(tmp_path / "r.dcm", arr=np.array([[0, 1, 2, 300]], np.uint16),
                tags=dict(BitsStored=7, HighBit=6, RescaleSlope=1, RescaleIntercept=1))
    with pytest.raises(RuntimeError, match="larger than output"):
        sitk_read(path)
    img = dicom.read(path)
    assert img.pixel_type is gr.PixelType.UINT8
    np.testing.assert_array_equal(np.asarray(img).ravel(), [1, 2, 3, (300 & 127) + 1])


def test_monochrome1_32_bit_is_inverted(tmp_path):
    # SimpleITK returns uninitialised memory here; we invert as for 16 bits
    arr = np.array([[0, 1, 2, 255]], np.uint32)
    img = dicom.read(make(tmp_path / "m.dcm", arr=arr,
                          tags=dict(PhotometricInterpretation="MONOCHROME1")))
    np.testing.assert_array_equal(np.asarray(img).ravel(), 0xFFFFFFFF - arr.ravel())


def test_rgb_layouts(tmp_path, rng):
    rgb = rng.integers(0, 255, size=(5, 6, 3), dtype=np.uint8)
    compare_file(make(tmp_path / "rgb.dcm", arr=rgb, tags=dict(SamplesPerPixel=3)))
    path = make(tmp_path / "planar.dcm", arr=rgb, tags=dict(SamplesPerPixel=3))
    ds = pydicom.dcmread(path)
    ds.PlanarConfiguration = 1
    ds.PixelData = np.ascontiguousarray(rgb.transpose(2, 0, 1)).tobytes()
    ds.save_as(path)
    compare_file(path)
    ds.PlanarConfiguration = 0
    ds.PixelData = rgb.tobytes()
    ds.PhotometricInterpretation = "YBR_FULL"
    ds.save_as(path)
    compare_file(path)
    rgb16 = rng.integers(0, 65535, size=(4, 5, 3)).astype(np.uint16)
    compare_file(make(tmp_path / "rgb16.dcm", arr=rgb16, tags=dict(SamplesPerPixel=3)))
    img = compare_file(make(tmp_path / "rgbr.dcm", arr=rgb, tags=dict(
        SamplesPerPixel=3, RescaleSlope=2, RescaleIntercept=0)))
    assert img.pixel_type is gr.PixelType.VECTOR_UINT8


# ----------------------------------------------------------------------------- multi-frame
TH = 0.3
ROW, COL = np.array([np.cos(TH), np.sin(TH), 0.0]), np.array([0.0, 0.0, -1.0])
NORMAL = np.cross(ROW, COL)
O = np.array([10.0, -20.0, 30.0])


def enhanced(path, positions, sop="ECT", sbs=None, where="shared", rescale=None,
             orientations=None):
    n = len(positions)
    arr = np.arange(n * 3 * 4, dtype=np.int16).reshape(n, 3, 4) * 7
    shared = item()
    measures = item(PixelSpacing=[0.8, 0.7])
    if sbs is not None:
        measures.SpacingBetweenSlices = sbs
    shared.PixelMeasuresSequence = Sequence([measures])
    iop = ds_list(np.r_[ROW, COL])
    if where == "shared":
        shared.PlaneOrientationSequence = Sequence([item(ImageOrientationPatient=iop)])
    if rescale == "shared":
        shared.PixelValueTransformationSequence = Sequence([item(RescaleIntercept=-3,
                                                                 RescaleSlope=2)])
    frames = []
    for k, p in enumerate(positions):
        f = item(PlanePositionSequence=Sequence([item(ImagePositionPatient=ds_list(p))]))
        if where == "perframe":
            o = orientations[k] if orientations else iop
            f.PlaneOrientationSequence = Sequence([item(ImageOrientationPatient=o)])
        if rescale == "perframe":
            f.PixelValueTransformationSequence = Sequence([item(RescaleIntercept=k,
                                                                RescaleSlope=1)])
        frames.append(f)
    return make(path, sop=sop, arr=arr, tags={
        "NumberOfFrames": n, "SharedFunctionalGroupsSequence": Sequence([shared]),
        "PerFrameFunctionalGroupsSequence": Sequence(frames)})


@pytest.mark.parametrize("case", ["uniform", "perframe", "reversed", "single", "single-sbs",
                                  "sbs-ignored", "emr", "mfsc", "small-deviation", "rescale"])
def test_enhanced_multiframe(tmp_path, case):
    steps = {"small-deviation": [0, 2.5, 5.0005, 7.5], "reversed": [0, -2.5, -5, -7.5],
             "single": [0], "single-sbs": [0]}.get(case, [0, 2.5, 5, 7.5])
    path = enhanced(tmp_path / "e.dcm", [O + z * NORMAL for z in steps],
                    sop={"emr": "EMR", "mfsc": "MFSC"}.get(case, "ECT"),
                    sbs={"single-sbs": 3.0, "sbs-ignored": 9.0}.get(case),
                    where="perframe" if case == "perframe" else "shared",
                    rescale="shared" if case == "rescale" else None)
    img = compare_file(path)
    assert img.size[2] == len(steps)


@pytest.mark.parametrize("case,message", [
    ("uneven", "not evenly spaced"), ("tilted", "gantry tilt"), ("equal", "same position"),
    ("orientations", "different orientations"), ("rescale", "different rescale")])
def test_enhanced_multiframe_refused(tmp_path, case, message):
    steps = [0, 2.5, 5.5, 7.5] if case == "uneven" else [0, 2.5, 5, 7.5]
    positions = [O + z * NORMAL + (z * ROW if case == "tilted" else 0) for z in steps]
    if case == "equal":
        positions = [O] * 3
    orientations = None
    if case == "orientations":
        orientations = [ds_list(np.r_[ROW, COL])] * 3 + [ds_list(np.r_[COL, ROW])]
    path = enhanced(tmp_path / "e.dcm", positions,
                    where="perframe" if case == "orientations" else "shared",
                    rescale="perframe" if case == "rescale" else None,
                    orientations=orientations)
    if case == "uneven":   # SimpleITK silently gives spacing 1, 1, 1
        assert sitk_read(path).GetSpacing() == (1.0, 1.0, 1.0)
    with pytest.raises((ImageFileError, ValueError), match=message):
        dicom.read(path)


@pytest.mark.parametrize("sop", ["MR", "CT", "NM", "SC", "USMF", "XA", "PT", "MFSC"])
def test_classic_multiframe(tmp_path, sop):
    arr = np.arange(36, dtype=np.int16).reshape(3, 3, 4)
    path = make(tmp_path / "f.dcm", sop=sop, arr=arr, tags=dict(
        NumberOfFrames=3, ImagePositionPatient=[1, 2, 3], ImageOrientationPatient=ds_list(
            np.r_[ROW, COL]), PixelSpacing=[.8, .7], SpacingBetweenSlices=2, SliceThickness=4))
    if sop == "MFSC":   # an enhanced class without functional groups: spacing 1, origin 0
        with pytest.warns(UserWarning, match="without Pixel Measures"):
            compare_file(path)
    else:
        compare_file(path)


def test_multiframe_frame_time_and_nm_detector(tmp_path):
    compare_file(make(tmp_path / "fip.dcm", sop="CT", arr=np.zeros((3, 3, 4), np.int16), tags={
        "NumberOfFrames": 3, "ImagePositionPatient": [1, 2, 3], "PixelSpacing": [.8, .7],
        (0x0028, 0x0009): ("AT", 0x00181063), (0x0018, 0x1063): ("DS", 33.0)}))
    compare_file(make(tmp_path / "nm.dcm", sop="NM", arr=np.ones((3, 3, 4), np.int16), tags={
        "NumberOfFrames": 3, "ImagePositionPatient": [1, 2, 3], "PixelSpacing": [.8, .7],
        "SpacingBetweenSlices": 2, "DetectorInformationSequence": Sequence([item(
            ImagePositionPatient=[5, 6, 7], ImageOrientationPatient=ds_list(np.r_[ROW, COL]))])}))


@pytest.mark.parametrize("pixel_type", ["INT8", "UINT8", "INT16", "UINT16", "INT32", "UINT32",
                                        "VECTOR_UINT8"])
@pytest.mark.parametrize("modality", [None, "CT", "MR"])
def test_files_written_by_simpleitk(tmp_path, rng, pixel_type, modality):
    """SimpleITK's own single slices, and its Enhanced CT/MR multi-frame volumes."""
    pt = gr.PixelType[pixel_type]
    info = np.iinfo(pt.dtype)
    for frames in (1, 3):
        shape = (frames, 6, 7) + ((3,) if pt.is_vector else ())
        arr = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(pt.dtype)
        ref = sitk.GetImageFromArray(arr, isVector=pt.is_vector)
        ref.SetSpacing(tuple(rng.uniform(0.3, 3, 3)))
        ref.SetOrigin(tuple(rng.normal(0, 50, 3)))
        ref.SetDirection(random_direction(rng, 3).ravel().tolist())
        if modality:
            ref.SetMetaData("0008|0060", modality)
        path = os.fspath(tmp_path / f"{frames}.dcm")
        try:
            sitk.WriteImage(ref, path)
        except RuntimeError:
            assert frames > 1 and modality is None   # SimpleITK refuses some of these
            continue
        compare_file(path)


# ----------------------------------------------------------------------------- compressed
@pytest.mark.parametrize("dtype,frames,bits", [("int16", 1, 16), ("uint16", 2, 16),
                                               ("uint8", 1, 8), ("int16", 1, 12)])
def test_rle_lossless(tmp_path, rng, dtype, frames, bits):
    info = np.iinfo(dtype)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if info.min < 0 else (0, (1 << bits) - 1)
    arr = rng.integers(lo, hi, size=(frames, 24, 20), endpoint=True).astype(dtype)
    tags = {"NumberOfFrames": frames, "PixelSpacing": [0.5, 0.25]}
    if bits != arr.dtype.itemsize * 8:
        tags.update(BitsStored=bits, HighBit=bits - 1)
    path = make(tmp_path / "rle.dcm", sop="MR", arr=arr if frames > 1 else arr[0], tags=tags)
    ds = pydicom.dcmread(path)
    ds.compress(RLELossless, encoding_plugin="pydicom")
    ds.save_as(path)
    img = compare_file(path)
    np.testing.assert_array_equal(np.asarray(img), arr)


@pytest.mark.parametrize("compressor", ["JPEG", "JPEG2000"])
def test_jpeg_written_by_simpleitk(tmp_path, compressor):
    """Lossless JPEG / JPEG 2000: identical pixels when pydicom has a decoder, else an
    ImportError naming the extra."""
    arr = (np.arange(16 * 20, dtype=np.int16).reshape(1, 16, 20) * 7) - 500
    ref = sitk.GetImageFromArray(arr)
    ref.SetMetaData("0008|0060", "CT")
    path = os.fspath(tmp_path / "j.dcm")
    writer = sitk.ImageFileWriter()
    writer.SetFileName(path)
    writer.UseCompressionOn()
    writer.SetCompressor(compressor)
    writer.Execute(ref)
    from pydicom.pixels.decoders.base import get_decoder
    syntax = pydicom.dcmread(path).file_meta.TransferSyntaxUID
    if get_decoder(syntax).is_available:
        compare_file(path)
    else:
        with pytest.raises(ImportError, match=re.escape("gpuresample[dicom-codecs]")):
            dicom.read(path)


def test_compressed_header_declaring_huge_size(tmp_path):
    path = make(tmp_path / "rle.dcm", arr=np.zeros((32, 32), np.int16))
    ds = pydicom.dcmread(path)
    ds.compress(RLELossless, encoding_plugin="pydicom")
    ds.Rows = ds.Columns = 65535
    ds.NumberOfFrames = 1000
    ds.save_as(path)
    with pytest.raises(ImageFileError, match="damaged"):
        dicom.read(path)


# ----------------------------------------------------------------------------- series
def write_series_files(folder, zs, sop="CT", inst=None, shift=None, uid="1.2.3.4.5",
                       names=None, tags=None, row=ROW, col=COL, ts=ExplicitVRLittleEndian):
    os.makedirs(folder, exist_ok=True)
    normal = np.cross(row, col)
    paths = []
    for i, z in enumerate(zs):
        p = O + z * normal + (0 if shift is None else shift[i])
        t = {"ImagePositionPatient": [f"{v:.6f}" for v in p],
             "ImageOrientationPatient": [f"{v:.6f}" for v in np.r_[row, col]],
             "PixelSpacing": [0.8, 0.7], "InstanceNumber": i + 1 if inst is None else inst[i]}
        t.update(tags[i] if isinstance(tags, list) else tags or {})
        name = names[i] if names else f"s{i}.dcm"
        paths.append(make(os.path.join(folder, name), sop=sop, series=uid, ts=ts, tags=t,
                          arr=np.arange(12, dtype=np.int16).reshape(3, 4) + 100 * i))
    return paths


def sitk_series(paths):
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(list(paths))
    reader.MetaDataDictionaryArrayUpdateOn()
    return reader.Execute(), reader


def assert_ordering(folder, recursive=False):
    """IDs (GetGDCMSeriesIDs has no recursive mode) and every series' files as SimpleITK."""
    ids = dicom.dicom_series_ids(folder, recursive=recursive)
    if not recursive:
        assert ids == list(sitk.ImageSeriesReader.GetGDCMSeriesIDs(os.fspath(folder)))
    for series in ids:
        assert dicom.dicom_series_files(folder, series, recursive=recursive) == list(
            sitk.ImageSeriesReader.GetGDCMSeriesFileNames(os.fspath(folder), series,
                                                          recursive=recursive))
    assert dicom.dicom_series_files(folder, recursive=recursive) == list(
        sitk.ImageSeriesReader.GetGDCMSeriesFileNames(os.fspath(folder), recursive=recursive))
    return ids


def test_series_in_a_folder(tmp_path):
    folder = tmp_path / "mixed"
    write_series_files(folder, [0, 2.5, 5], uid="1.2.3.4.10", names=["c.dcm", "a.dcm", "b.dcm"],
                       inst=[3, 1, 2])
    write_series_files(folder, [0, 2.5], uid="1.2.3.4.6", names=["x.dcm", "y.dcm"])
    write_series_files(folder, [0], uid="1.2.3_4 weird", names=["w.dcm"])
    write_series_files(folder, [0], uid=None, names=["nouid.dcm"])
    write_series_files(folder, [0], sop="RTSTRUCT", uid="1.2.3.4.7", names=["rt.dcm"])
    write_series_files(folder, [0], sop="PRIVATE", uid="1.2.3.4.8", names=["priv.dcm"])
    write_series_files(folder, [0], uid="1.2.3.4.9", names=[".hidden.dcm"])
    write_series_files(folder / "sub", [0, 1], uid="1.2.3.4.11")
    ds = pydicom.dcmread(folder / "x.dcm")
    del ds.PixelData
    ds.SeriesInstanceUID = "1.2.3.4.12"
    ds.save_as(folder / "nopixels.dcm")
    (folder / "notes.txt").write_text("not DICOM")
    (folder / "fake.dcm").write_bytes(b"\x89PNG" + b"\0" * 200)
    ids = assert_ordering(folder)
    assert ids == ["", "1.2.3.4.10", "1.2.3.4.6", "1.2.34weird"]
    assert "1.2.3.4.11" in assert_ordering(folder, recursive=True)
    assert len(dicom.dicom_series_files(folder, "1.2.3.4.11", recursive=True)) == 2


def test_ordering_rules(tmp_path):
    # shuffled oblique positions, descending instance numbers: by position
    write_series_files(tmp_path / "ipp", [5, 0, 7.5, 2.5], inst=[4, 3, 2, 1])
    # equal positions, distinct instance numbers: by instance number
    write_series_files(tmp_path / "inst", [0, 0, 0], inst=[3, 1, 2])
    # equal positions, duplicated instance numbers: by file name
    write_series_files(tmp_path / "name", [0, 0, 0], inst=[1, 1, 2],
                       names=["z.dcm", "m.dcm", "a.dcm"])
    # two equal positions among others: positions ignored
    write_series_files(tmp_path / "dup", [0, 2.5, 2.5], inst=[2, 3, 1])
    # implicit VR files without file meta
    write_series_files(tmp_path / "implicit", [2.5, 0], ts=ImplicitVRLittleEndian)
    for name, expected in [("ipp", ["s1", "s3", "s0", "s2"]), ("inst", ["s1", "s2", "s0"]),
                           ("name", ["a", "m", "z"]), ("dup", ["s2", "s0", "s1"]),
                           ("implicit", ["s1", "s0"])]:
        assert_ordering(tmp_path / name)
        assert [os.path.basename(p)[:-4] for p in dicom.dicom_series_files(
            tmp_path / name)] == expected


def test_secondary_capture_ordering(tmp_path):
    write_series_files(tmp_path / "sc", [5, 0, 2.5], sop="SC")
    # SimpleITK orders SC files by position once GDCMImageIO has read an image (its
    # Secondary Capture plane module is switched on then); this reader always does
    sitk_read(os.path.join(tmp_path / "sc", "s0.dcm"))
    assert_ordering(tmp_path / "sc")


def test_series_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="no DICOM series in .*empty"):
        dicom.dicom_series_ids(tmp_path / "empty")
    with pytest.raises(ValueError, match="no DICOM series"):
        dicom.dicom_series_files(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        dicom.dicom_series_ids(tmp_path / "missing")
    with pytest.raises(NotADirectoryError):
        dicom.dicom_series_ids(tmp_path / "empty" / "a.txt")
    write_series_files(tmp_path / "one", [0, 1])
    with pytest.raises(ValueError, match="no series '9.9'.*1.2.3.4.5"):
        dicom.dicom_series_files(tmp_path / "one", "9.9")


@pytest.mark.parametrize("case", ["uniform", "shuffled", "reversed", "tiny-deviation",
                                  "uneven", "equal-two", "mr-implicit", "single"])
def test_read_series_matches_simpleitk(tmp_path, case, capfd):
    zs = {"uneven": [0, 2.5, 5.5, 7.5], "tiny-deviation": [0, 2.5, 5.00001, 7.5],
          "shuffled": [5, 0, 7.5, 2.5], "single": [3]}.get(case, [0, 2.5, 5, 7.5])
    d = random_direction(np.random.default_rng(len(case)), 3)
    row, col = (d[:, 0], d[:, 1]) if case in ("shuffled", "uneven") else (ROW, COL)
    write_series_files(tmp_path, zs, inst=list(range(len(zs), 0, -1)), row=row, col=col,
                       sop="MR" if case == "mr-implicit" else "CT",
                       ts=ImplicitVRLittleEndian if case == "mr-implicit" else
                       ExplicitVRLittleEndian)
    files = dicom.dicom_series_files(tmp_path)
    if case == "reversed":
        files = files[::-1]
    ref, reader = sitk_series(files)
    ref_keys = set(ref.GetMetaDataKeys())   # GetArrayFromImage(ref) below empties them
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        img = dicom.read_series(files)
        via_dispatch = read_image(files)
    assert_same(img, ref, metadata=False)
    assert_same(via_dispatch, ref, metadata=False)
    assert set(img.metadata) == ref_keys
    warned = [w for w in caught if "non-uniform sampling" in str(w.message)]
    assert bool(warned) == (case == "uneven")
    if case == "uneven":
        assert float(img.metadata["ITK_non_uniform_sampling_deviation"]) == pytest.approx(
            0.5, abs=1e-5)
    # per-slice dictionaries as ImageSeriesReader's
    for i, md in enumerate(dicom.slice_metadata(files)):
        keys = set(reader.GetMetaDataKeys(i)) - NOT_SITK_KEYS - {
            "ITK_non_uniform_sampling_deviation"}
        assert set(md) == keys
        assert all(md[k] == reader.GetMetaData(i, k) for k in keys)


def test_series_deviation_value_matches_itk_warning(tmp_path):
    files = write_series_files(tmp_path, [0, 2.5, 5.75, 7.5])
    sitk.ProcessObject.SetGlobalWarningDisplay(True)
    try:
        r = sitk.ImageSeriesReader()
        r.SetFileNames(files)
        r.Execute()
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(False)
    with pytest.warns(UserWarning, match="non-uniform sampling"):
        img = dicom.read_series(files)
    value = float(img.metadata["ITK_non_uniform_sampling_deviation"])
    # ITK prints it with 6 significant digits: "maximum nonuniformity:0.75"
    assert value == pytest.approx(0.75, abs=2e-6)


@pytest.mark.parametrize("case,message", [
    ("sizes", "mixed sizes"), ("orientation", "mixed orientations"),
    ("series", "belong to 2 series"), ("duplicate", "duplicate position"),
    ("echoes", "Echo Numbers"), ("tilt", "gantry tilt"), ("order", "not in spatial order"),
    ("multiframe", "multi-frame")])
def test_read_series_refusals(tmp_path, case, message):
    zs = [0, 2.5, 5]
    kwargs = {}
    if case in ("duplicate", "echoes"):
        zs = [0, 2.5, 2.5]
    if case == "echoes":
        kwargs["tags"] = [{"EchoNumbers": 1}, {"EchoNumbers": 1}, {"EchoNumbers": 2}]
    if case == "tilt":
        kwargs["shift"] = [k * 0.3 * ROW for k in range(3)]
    files = write_series_files(tmp_path, zs, **kwargs)
    if case == "sizes":
        make(files[1], arr=np.zeros((4, 4), np.int16), tags={
            "ImagePositionPatient": [0, 0, 1]})
    if case == "orientation":
        write_series_files(tmp_path, [2.5], names=["s1.dcm"], row=COL, col=ROW)
    if case == "series":
        write_series_files(tmp_path, [2.5], names=["s1.dcm"], uid="9.8.7")
    if case == "order":
        files = [files[0], files[2], files[1]]
    if case == "multiframe":
        make(files[1], sop="MR", arr=np.zeros((2, 3, 4), np.int16), tags={"NumberOfFrames": 2})
    with pytest.raises(ValueError, match=message):
        dicom.read_series(files)


def test_read_image_list_goes_through_read_series(tmp_path):
    files = write_series_files(tmp_path, [0, 2.5])
    img = read_image(files, pixel_type=gr.PixelType.FLOAT32)
    assert img.pixel_type is gr.PixelType.FLOAT32 and img.size == (4, 3, 2)


# ----------------------------------------------------------------------------- writing
@pytest.mark.parametrize("pixel_type", ["INT8", "UINT8", "INT16", "UINT16", "INT32", "UINT32",
                                        "VECTOR_UINT8"])
@pytest.mark.parametrize("compress", [False, True])
def test_write_series_round_trip(tmp_path, rng, pixel_type, compress):
    pt = gr.PixelType[pixel_type]
    info = np.iinfo(pt.dtype)
    shape = (5, 17, 19) + ((3,) if pt.is_vector else ())
    arr = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(pt.dtype)
    img = gr.image_from_array(arr, is_vector=pt.is_vector)
    img.spacing = tuple(rng.uniform(0.3, 3, 3))
    img.origin = tuple(rng.normal(0, 50, 3))
    img.direction = random_direction(rng, 3)
    img.metadata.update({"0008|0060": "MR", "0010|0010": "Doe^Jane", "0008|103e": "series",
                         "0020|000d": "1.2.3", "0028|1052": "-1024"})
    before = (np.array(arr), dict(img.metadata), img.origin)
    files = dicom.write_series(img, tmp_path / "out", compress=compress)
    assert [os.path.basename(f) for f in files] == [f"slice{k:04d}.dcm" for k in range(5)]
    ref, _ = sitk_series(files)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(ref), arr)
    # DICOM decimal strings hold 16 characters: ~12 significant digits here
    np.testing.assert_allclose(ref.GetOrigin(), img.origin, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ref.GetSpacing(), img.spacing, rtol=1e-11)
    np.testing.assert_allclose(np.reshape(ref.GetDirection(), (3, 3)), img.direction, atol=1e-11)
    back = dicom.read_series(files)
    assert_same(back, ref, metadata=False)
    # GDCM's order is ascending along row x column: z comes back reversed for reflections
    ordered = dicom.dicom_series_files(tmp_path / "out")
    assert ordered == list(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(
        os.fspath(tmp_path / "out")))
    assert ordered == (files if np.linalg.det(img.direction) > 0 else files[::-1])
    md = dicom.slice_metadata(files)
    assert md[0]["0010|0010"] == "Doe^Jane" and md[0]["0008|0060"] == "MR"
    assert md[0]["0020|000d"] != "1.2.3" and "0028|1052" not in md[0]
    assert len({m["0020|000e"] for m in md}) == 1 and len({m["0008|0018"] for m in md}) == 5
    assert [m["0020|0013"].strip() for m in md] == ["1", "2", "3", "4", "5"]
    np.testing.assert_array_equal(np.asarray(img), before[0])
    assert dict(img.metadata) == before[1] and img.origin == before[2]


@pytest.mark.parametrize("pixel_type", ["INT8", "UINT8", "INT16", "UINT16", "INT32", "UINT32",
                                        "VECTOR_UINT8"])
@pytest.mark.parametrize("dimension", [2, 3])
def test_write_one_slice(tmp_path, rng, pixel_type, dimension):
    pt = gr.PixelType[pixel_type]
    info = np.iinfo(pt.dtype)
    shape = (1,) * (dimension - 2) + (7, 9) + ((3,) if pt.is_vector else ())
    arr = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(pt.dtype)
    img = gr.image_from_array(arr, is_vector=pt.is_vector)
    img.spacing = tuple(rng.uniform(0.3, 3, dimension))
    img.origin = tuple(rng.normal(0, 50, dimension))
    img.direction = random_direction(rng, dimension)
    path = os.fspath(tmp_path / "one.dcm")
    write_image(img, path)
    ref = sitk_read(path)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(ref), arr.reshape((1,) + arr.shape[
        dimension - 2:]))
    d3 = np.eye(3)
    d3[:dimension, :dimension] = img.direction
    np.testing.assert_allclose(np.reshape(ref.GetDirection(), (3, 3))[:, :2], d3[:, :2],
                               atol=1e-11)
    np.testing.assert_allclose(ref.GetOrigin()[:dimension], img.origin, atol=1e-9)
    np.testing.assert_allclose(ref.GetSpacing()[:dimension], img.spacing, rtol=1e-11)
    back = read_image(path)
    assert_same(back, ref)


def test_write_back_what_was_read(tmp_path):
    src = make(tmp_path / "src.dcm", sop="CT", tags=dict(
        PatientName="Doe^John", ImagePositionPatient=[1, 2, 3], PixelSpacing=[0.5, 0.25],
        SpacingBetweenSlices=2.5, ImageOrientationPatient=ds_list(np.r_[ROW, COL]),
        RescaleIntercept=-1024, RescaleSlope=1, **{"SeriesDescription": "abc"}))
    img = dicom.read(src)
    out = os.fspath(tmp_path / "out.dcm")
    dicom.write(img, out)
    again = dicom.read(out)
    assert_same(again, sitk_read(out))
    np.testing.assert_array_equal(np.asarray(again), np.asarray(img))
    np.testing.assert_allclose(again.origin, img.origin, atol=1e-12)
    np.testing.assert_allclose(again.direction, img.direction, atol=1e-9)
    assert again.spacing == img.spacing
    for key in ("0010|0010", "0008|103e", "0008|0016"):
        assert again.metadata[key] == img.metadata[key]


def test_write_refusals(tmp_path):
    path = os.fspath(tmp_path / "x.dcm")
    with pytest.raises(ValueError, match="cast first"):
        dicom.write(gr.Image((4, 3), gr.PixelType.FLOAT32), path)
    with pytest.raises(ValueError, match="cast first"):
        write_image(gr.Image((4, 3), gr.PixelType.FLOAT32), path)
    with pytest.raises(ValueError, match="write_series"):
        dicom.write(gr.Image((4, 3, 2), gr.PixelType.INT16), path)
    with pytest.raises(ValueError, match="RGB"):
        dicom.write(gr.Image((4, 3), gr.PixelType.VECTOR_UINT8, components=2), path)
    skew = gr.Image((4, 3, 2), gr.PixelType.INT16)
    skew.direction = [[1, 0.5, 0], [0, 1, 0], [0, 0, 1]]
    with pytest.raises(ValueError, match="orthonormal"):
        dicom.write_series(skew, [tmp_path / "a.dcm", tmp_path / "b.dcm"])
    with pytest.raises(ValueError, match="3 file names for a volume of 2"):
        dicom.write_series(gr.Image((4, 3, 2), gr.PixelType.INT16), [path] * 3)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        dicom.write(gr.Image((4, 3), gr.PixelType.INT16), tmp_path / "missing" / "x.dcm")
    assert os.listdir(tmp_path) == []   # nothing written, not even a temporary file


def test_write_series_to_paths_and_two_dimensional(tmp_path):
    img = gr.image_from_array(np.arange(60, dtype=np.uint16).reshape(3, 4, 5))
    paths = [os.fspath(tmp_path / f"{c}.dcm") for c in "abc"]
    assert dicom.write_series(img, paths) == paths
    np.testing.assert_array_equal(np.asarray(dicom.read_series(paths)), np.asarray(img))
    flat = gr.image_from_array(np.arange(20, dtype=np.uint8).reshape(4, 5))
    one = dicom.write_series(flat, tmp_path / "flat")
    assert len(one) == 1 and dicom.read(one[0]).size == (5, 4, 1)


# ----------------------------------------------------------------------------- bad files
def test_bad_files(tmp_path):
    good = make(tmp_path / "good.dcm", arr=np.arange(64 * 64, dtype=np.int16).reshape(64, 64))
    data = open(good, "rb").read()
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes(data[:-100])
    with pytest.raises(ImageFileError, match="truncated"):
        dicom.read(truncated)
    header_only = tmp_path / "header.dcm"
    header_only.write_bytes(data[:400])
    with pytest.raises(ImageFileError, match="no Pixel Data"):
        dicom.read(header_only)
    garbage = tmp_path / "garbage.dcm"
    garbage.write_bytes(np.random.default_rng(1).integers(0, 255, 4000, np.uint8).tobytes())
    with pytest.raises(ImageFileError, match="not a DICOM file"):
        dicom.read(garbage)
    with pytest.raises(ImageFileError, match="not a DICOM file"):
        read_image(garbage)
    png = tmp_path / "png.dcm"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 300)
    with pytest.raises(ImageFileError, match="not a DICOM file"):
        dicom.read(png)
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    with pytest.raises(ImageFileError, match="not a DICOM file"):
        dicom.read(empty)
    with pytest.raises(FileNotFoundError):
        dicom.read(tmp_path / "missing.dcm")
    ds = pydicom.dcmread(good)
    ds.Rows = ds.Columns = 65535
    ds.NumberOfFrames = 100000
    ds.save_as(tmp_path / "huge.dcm")
    with pytest.raises(ImageFileError, match="declares .* bytes of pixel data"):
        dicom.read(tmp_path / "huge.dcm")
    ds = pydicom.dcmread(good)
    ds.BitsAllocated = 12
    ds.save_as(tmp_path / "bits.dcm")
    with pytest.raises(ImageFileError, match="Bits Allocated 12"):
        dicom.read(tmp_path / "bits.dcm")
    ds = pydicom.dcmread(good)
    ds.PhotometricInterpretation = "PALETTE COLOR"
    ds.save_as(tmp_path / "palette.dcm")
    with pytest.raises(ImageFileError, match="PALETTE COLOR"):
        dicom.read(tmp_path / "palette.dcm")
    with pytest.raises(ImageFileError, match="SOP class 1.2.3.4.5.6.7"):
        dicom.read(make(tmp_path / "private.dcm", sop="PRIVATE"))
    for name in ("truncated", "header", "garbage", "png", "huge"):
        with pytest.raises(RuntimeError):
            sitk_read(tmp_path / f"{name}.dcm")
