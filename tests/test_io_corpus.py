"""Real files: every DICOM file pydicom ships and every NIfTI file nibabel ships is read as
SimpleITK reads it (same pixels, pixel type, origin, spacing, direction), or refused with a
clear error listed here with its reason, or (where GDCM decodes wrongly) read as pydicom
decodes it."""

from __future__ import annotations

import glob
import os
import warnings

import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK")
pydicom = pytest.importorskip("pydicom")
nibabel = pytest.importorskip("nibabel")

import gpuresample as gr  # noqa: E402

DICOM_FILES = sorted(glob.glob(os.path.join(os.path.dirname(pydicom.__file__), "data",
                                            "test_files", "*.dcm")))
NIFTI_FILES = sorted(glob.glob(os.path.join(os.path.dirname(nibabel.__file__), "tests",
                                            "data", "*.nii*")))

# Files SimpleITK reads that gpuresample refuses on purpose, with the error it gives.
REFUSED = {
    "JPEGLSNearLossless_08.dcm": (ImportError, "dicom-codecs"),
    "JPEGLSNearLossless_16.dcm": (ImportError, "dicom-codecs"),
    "MR_small_jpeg_ls_lossless.dcm": (ImportError, "dicom-codecs"),
    "SC_rgb_jls_lossy_line.dcm": (ImportError, "dicom-codecs"),
    "SC_rgb_jls_lossy_sample.dcm": (ImportError, "dicom-codecs"),
    "SC_rgb_jpeg_gdcm.dcm": (ImportError, "dicom-codecs"),
    # 12-bit JPEG and this JPEG 2000 stream: no decoder without the codecs extra
    "JPEG-lossy.dcm": (gr.io.ImageFileError, "dicom-codecs"),
    "JPGExtended.dcm": (gr.io.ImageFileError, "dicom-codecs"),
    "GDCMJ2K_TextGBR.dcm": (gr.io.ImageFileError, "dicom-codecs"),
    # its pixel data is shorter than the header declares
    "SC_ybr_full_422_uncompressed.dcm": (gr.io.ImageFileError, "truncated or damaged"),
    "examples_palette.dcm": (gr.io.ImageFileError, "PALETTE COLOR"),
    "liver_1frame.dcm": (gr.io.ImageFileError, "Bits Allocated 1"),
    "liver_expb_1frame.dcm": (gr.io.ImageFileError, "Bits Allocated 1"),
    "rtdose.dcm": (gr.io.ImageFileError, "RT Dose"),
    "rtdose_expb.dcm": (gr.io.ImageFileError, "RT Dose"),
    "rtdose_rle.dcm": (gr.io.ImageFileError, "RT Dose"),
    "badVR.dcm": (gr.io.ImageFileError, "RT Dose"),
}
# GDCM decodes these RLE files' 16/32-bit colour samples with their bytes in the wrong
# order (pure red comes back as 0, 65280, 255); gpuresample gives pydicom's decoding.
GDCM_MISDECODES = {"SC_rgb_rle_16bit.dcm", "SC_rgb_rle_16bit_2frame.dcm",
                   "SC_rgb_rle_32bit.dcm", "SC_rgb_rle_32bit_2frame.dcm"}
# Same values, wider type in SimpleITK: for this JPEG 2000 file GDCM sizes the rescaled
# type from the 16 bits of the code stream, gpuresample from Bits Stored (14): INT16, not
# INT32. Known difference, not yet reproduced.
WIDER_IN_SITK = {"693_J2KI.dcm"}


def _sitk_read(path: str):
    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    try:
        image = sitk.ReadImage(path)
        return image, sitk.GetArrayFromImage(image)
    except RuntimeError:
        return None, None


def _read(path: str) -> gr.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # e.g. non-uniform spacing notes
        return gr.read_image(path)


@pytest.mark.parametrize("path", DICOM_FILES + NIFTI_FILES, ids=os.path.basename)
def test_shipped_files_read_as_simpleitk_reads_them(path):
    name = os.path.basename(path)
    ref, expected = _sitk_read(path)
    if name in REFUSED:
        error, match = REFUSED[name]
        assert ref is not None, f"SimpleITK no longer reads {name}: update the table"
        with pytest.raises(error, match=match):
            _read(path)
        return
    if ref is None:
        # SimpleITK refuses it: so must we, with an error naming the file
        with pytest.raises((ValueError, OSError, ImportError), match=name.split(".")[0]):
            _read(path)
        return
    ours = _read(path)
    got = np.asarray(ours)
    if name in GDCM_MISDECODES:
        expected = pydicom.dcmread(path).pixel_array
    assert got.size == expected.size
    assert got.dtype == expected.dtype or (name in WIDER_IN_SITK
                                           and np.can_cast(got.dtype, expected.dtype))
    np.testing.assert_array_equal(got.reshape(-1), expected.reshape(-1))
    if name in GDCM_MISDECODES:
        return
    if name not in WIDER_IN_SITK:
        assert ours.pixel_type == gr.from_sitk(ref).pixel_type
    np.testing.assert_array_equal(ours.origin, ref.GetOrigin())
    np.testing.assert_array_equal(ours.spacing, ref.GetSpacing())
    np.testing.assert_array_equal(ours.direction.ravel(), ref.GetDirection())
