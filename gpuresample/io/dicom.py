"""DICOM files and series through pydicom, read the way SimpleITK (ITK's GDCMImageIO) reads them.

Reading
-------
:func:`read` reads one file, :func:`read_series` a list of single-slice files stacked in the
given order (order them with :func:`dicom_series_files`), :func:`slice_metadata` the per-file
tags of a series. :func:`dicom_series_ids` and :func:`dicom_series_files` find the series of a
folder as ``sitk.ImageSeriesReader.GetGDCMSeriesIDs`` / ``GetGDCMSeriesFileNames`` do.

What is reproduced from SimpleITK 2.5.7 (GDCM 3.2.5), each checked against it in
``tests/test_io_dicom.py``:

* A single file is a 3-D image, ``(columns, rows, frames)``, one frame for a plain slice.
* Geometry as GDCM takes it per SOP class: the spacing tag (Pixel Spacing, Imager Pixel
  Spacing for CR/DX/XA/MG, Nominal Scanned Pixel Spacing for a Secondary Capture without
  Pixel Spacing, ...; the two values are row\\column spacing, so x is the 2nd), z spacing from
  Spacing Between Slices (CT, MR, SC, PET, NM, CR, DX, XA, ...; 1 for the others), else the
  Frame Time a Frame Increment Pointer names, else 1; origin from Image Position (Patient)
  (NM: the Detector Information Sequence); direction from Image Orientation (Patient),
  normalised or replaced by the identity when invalid, then re-orthogonalised as ITK does
  (z = row x column, x = column x z, y = z x x). A negative z spacing flips the z axis.
  Ultrasound keeps Pixel Spacing and z spacing 1 (ITK's own rule).
* Enhanced and multi-frame SOP classes (Enhanced CT/MR/PET, multi-frame Secondary Capture,
  ...): geometry from the Shared / Per-frame Functional Groups; z spacing the mean step of
  the frame positions projected on the normal, as GDCM.
* Pixels: bits above Bits Stored are cleared (sign-extended when signed); MONOCHROME1 is
  inverted (8 bits: 255 - v or ~v; 16 bits unsigned: (2^BitsStored - 1) - v; signed: ~v);
  YBR_FULL 8-bit colour is converted to RGB with GDCM's formula; Rescale Slope / Intercept
  are applied with GDCM's output type: float64 when either is not an integer, otherwise
  the smallest integer type holding ``slope * [min, max] + intercept`` over the stored range
  (12-bit unsigned, intercept -1024 -> INT16; 16-bit unsigned, intercept -1024 -> INT32).
* Meta-data: every public top-level element except sequences and Pixel Data, keys
  ``"gggg|eeee"`` (lowercase hex), text values as stored (padding kept, cut at the first
  NUL), numbers (US, SS, UL, SL, FL, FD, AT) as GDCM prints them (``%g``, 6 digits), OB, OW,
  OF and UN base64 encoded. Empty binary elements are left out, as GDCM does.
* Series: a folder's files are those GDCM reads as images (DICOM, Pixel Data, an image SOP
  class; hidden files and non-DICOM files skipped), grouped by Series Instance UID with
  characters outside ``[A-Za-z0-9.]`` removed, IDs in lexicographic order; files ordered by
  their position projected on the first file's slice normal, else Instance Number, else
  file name. A series volume: origin of the first file, z spacing ``|IPP_last - IPP_first| /
  (n - 1)``, direction of the first file with z flipped when the list runs against the
  normal, an empty meta-data dictionary but ``ITK_non_uniform_sampling_deviation`` (the
  largest deviation of a slice gap from the spacing, ITK's almost-equal test) when gaps
  differ, and a warning when it exceeds ``1e-4 * spacing`` (ITK's threshold).

Deliberate differences (each is a SimpleITK result that is undefined, fails, or is
silently wrong):

* ``read_series`` refuses what ITK stacks silently: several series UIDs, mixed sizes,
  orientations or pixel layouts, multi-frame files, duplicate positions (echoes or
  acquisitions sharing a series), files out of spatial order, and gantry tilt (slices not
  stacked along their normal). Enhanced files whose frames are tilted, unevenly spaced (GDCM
  then reports spacing 1, 1, 1), at equal positions, or with per-frame orientations or
  rescale values that differ are refused too.
* MONOCHROME1 with 32 bits is inverted (SimpleITK returns uninitialised memory); rescaled
  output types that ITK refuses with "Pixel type larger than output type" are produced;
  binary VRs ITK cannot print (OD, OL, OV, SV, UV: SimpleITK fails to read the file) are
  base64 encoded; mixed pixel types in a series are promoted (ITK casts to the first's).
* Secondary Capture files are ordered by their positions, as SimpleITK does once it has read
  any DICOM image in the process (before that, GDCM ignores the positions of SC files).
* SimpleITK also puts ``ITK_original_direction`` / ``ITK_original_spacing`` (non-string
  arrays) in every dictionary; they are not reproduced. Its ``ITK_non_uniform_sampling_deviation``
  is a double; here it is ``repr`` of that double.
* Files GDCM cannot read are refused: unknown (private) and non-image SOP classes, RT Dose
  (GDCM 3.2.5 in SimpleITK fails on it), Bits Allocated other than 8, 16, 32, PALETTE COLOR,
  native YBR_FULL_422. MONOCHROME1 signed with fewer stored than allocated bits is refused
  (GDCM fails an assertion). Compressed transfer syntaxes are decoded by pydicom's pixel
  handlers (``pip install 'gpuresample[dicom-codecs]'`` for JPEG, JPEG-LS, JPEG 2000); lossy
  codecs may differ from GDCM's decoders by rounding.

Writing
-------
:func:`write` writes one slice (a 2-D image, or a 3-D image with one slice) and
:func:`write_series` a 3-D volume as one file per slice with its own position, shared
orientation, spacing and new UIDs, as SimpleITK's series-writing recipe does; SimpleITK's
ImageSeriesReader reads both back to the same pixels and geometry (to the ~12 significant
digits a 16-character DICOM decimal string holds). Pixel types: INT8 ... UINT32 and
3-component VECTOR_UINT8 (RGB). Float images are refused, as SimpleITK refuses them unless
the dictionary names a stored integer type. A 3-D volume with several slices cannot go to
one file: SimpleITK writes it as an Enhanced CT/MR multi-frame file, which is not reproduced;
use :func:`write_series`.

Example
-------
>>> import os, tempfile, numpy as np, gpuresample as gr
>>> from gpuresample.io import dicom
>>> vol = gr.image_from_array(np.arange(60, dtype=np.int16).reshape(3, 4, 5))
>>> vol.spacing, vol.origin = (0.5, 0.6, 2.0), (10.0, 20.0, 30.0)
>>> folder = tempfile.mkdtemp()
>>> files = dicom.write_series(vol, folder)
>>> back = dicom.read_series(dicom.dicom_series_files(folder))
>>> back.size, back.spacing, back.origin, back.pixel_type.name
((5, 4, 3), (0.5, 0.6, 2.0), (10.0, 20.0, 30.0), 'INT16')
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import math
import os
import re
import struct
import warnings
from typing import Any, Sequence

import numpy as np

from ..image import Image, MetaData
from ..pixeltypes import PixelType
from .common import ImageFileError, atomic_write, require

__all__ = ["read", "write", "read_series", "write_series", "slice_metadata",
           "dicom_series_ids", "dicom_series_files"]

PathLike = str | os.PathLike


def _pydicom():
    return require("pydicom", "dicom", "Reading and writing DICOM files")


# ----------------------------------------------------------------------------- SOP classes
# GDCM's MediaStorage table (gdcmMediaStorage.cxx MSStrings): the SOP classes GDCM knows.
_GDCM_SOP_CLASSES = frozenset("""
1.2.840.10008.1.3.10 1.2.840.10008.5.1.4.1.1.1 1.2.840.10008.5.1.4.1.1.1.1
1.2.840.10008.5.1.4.1.1.1.1.1 1.2.840.10008.5.1.4.1.1.1.2 1.2.840.10008.5.1.4.1.1.1.2.1
1.2.840.10008.5.1.4.1.1.1.3 1.2.840.10008.5.1.4.1.1.1.3.1 1.2.840.10008.5.1.4.1.1.2
1.2.840.10008.5.1.4.1.1.2.1 1.2.840.10008.5.1.4.1.1.6 1.2.840.10008.5.1.4.1.1.6.1
1.2.840.10008.5.1.4.1.1.3 1.2.840.10008.5.1.4.1.1.3.1 1.2.840.10008.5.1.4.1.1.4
1.2.840.10008.5.1.4.1.1.4.1 1.2.840.10008.5.1.4.1.1.4.2 1.2.840.10008.5.1.4.1.1.5
1.2.840.10008.5.1.4.1.1.7 1.2.840.10008.5.1.4.1.1.7.1 1.2.840.10008.5.1.4.1.1.7.2
1.2.840.10008.5.1.4.1.1.7.3 1.2.840.10008.5.1.4.1.1.7.4 1.2.840.10008.5.1.4.1.1.8
1.2.840.10008.5.1.4.1.1.9 1.2.840.10008.5.1.4.1.1.9.1.1 1.2.840.10008.5.1.4.1.1.9.1.2
1.2.840.10008.5.1.4.1.1.9.1.3 1.2.840.10008.5.1.4.1.1.9.2.1 1.2.840.10008.5.1.4.1.1.9.3.1
1.2.840.10008.5.1.4.1.1.9.4.1 1.2.840.10008.5.1.4.1.1.10 1.2.840.10008.5.1.4.1.1.11
1.2.840.10008.5.1.4.1.1.11.1 1.2.840.10008.5.1.4.1.1.12.1 1.2.840.10008.5.1.4.1.1.12.2
1.2.840.10008.5.1.4.1.1.12.3 1.2.840.10008.5.1.4.1.1.20 1.2.840.10008.5.1.4.1.1.66
1.2.840.10008.5.1.4.1.1.66.1 1.2.840.10008.5.1.4.1.1.66.2 1.2.840.10008.5.1.4.1.1.128
1.2.840.10008.5.1.4.1.1.481.1 1.2.840.10008.5.1.4.1.1.481.2 1.2.840.10008.5.1.4.1.1.481.3
1.2.840.10008.5.1.4.1.1.481.5 1.3.12.2.1107.5.9.1 1.2.840.113543.6.6.1.3.10002
1.2.840.10008.5.1.4.1.1.88.22 1.2.840.10008.5.1.4.1.1.88.11 1.2.840.10008.5.1.1.29
1.2.840.10008.5.1.4.1.1.88.33 1.2.840.10008.3.1.2.3.1 1.2.840.10008.5.1.4.1.1.104.1
1.2.840.10008.5.1.4.1.1.104.2 1.2.840.10008.3.1.2.3.2 1.2.840.10008.3.1.2.2.1
1.2.840.10008.3.1.2.1.1 1.2.840.10008.5.1.4.1.1.77.1.1.1 1.2.840.113619.4.2
1.2.840.113619.4.26 1.2.392.200036.9116.7.8.1.1.1 1.2.840.10008.5.1.4.1.1.88.50
1.2.840.10008.5.1.4.1.1.88.59 1.2.840.10008.5.1.4.38.1 1.2.840.10008.3.1.2.3.3
1.3.46.670589.5.0.10 1.2.840.10008.5.1.4.1.1.77.1.4 1.2.840.10008.5.1.4.1.1.66.4
1.2.840.10008.5.1.4.1.1.481.8 1.2.840.10008.5.1.4.1.1.13.1.1 1.2.840.10008.5.1.4.1.1.12.1.1
1.2.840.10008.5.1.4.1.1.481.9 1.2.840.10008.5.1.4.1.1.66.5 1.2.840.10008.5.1.4.1.1.77.1.6
1.2.840.10008.5.1.4.1.1.481.7 1.2.840.10008.5.1.4.1.1.6.2 1.2.840.10008.5.1.4.1.1.88.67
1.2.840.10008.5.1.4.1.1.77.1.1 1.2.840.10008.5.1.4.1.1.13.1.3 1.2.392.200036.9125.1.1.2
1.2.840.10008.5.1.4.1.1.77.1.5.1 1.2.840.10008.5.1.4.1.1.77.1.5.4 1.2.840.10008.5.1.4.1.1.77.1.2
1.2.840.10008.5.1.4.1.1.130 1.2.840.10008.5.1.4.1.1.77.1.4.1 1.2.840.10008.5.1.4.1.1.13.1.2
1.2.840.10008.5.1.4.1.1.14.1 1.2.840.10008.5.1.4.1.1.14.2 1.2.840.10008.5.1.4.1.1.2.2
1.2.840.10008.5.1.4.1.1.4.4 1.2.840.10008.5.1.4.1.1.128.1 1.2.840.10008.5.1.4.1.1.13.1.4
1.2.840.10008.5.1.4.1.1.13.1.5 1.2.840.10008.5.1.1.30 1.2.840.10008.5.1.4.1.1.4.3
1.2.392.200036.9125.1.1.4 1.2.840.10008.5.1.4.1.1.77.1.5.2 1.2.840.10008.5.1.4.1.1.77.1.2.1
""".split())

# MediaStorage::IsImage's exclusions, plus RT Dose (which SimpleITK 2.5.7 fails to read).
_NOT_IMAGES = frozenset("""
1.2.840.10008.1.3.10 1.2.840.10008.5.1.4.1.1.9.4.1 1.3.12.2.1107.5.9.1
1.2.840.10008.5.1.4.1.1.9.2.1 1.2.840.10008.5.1.4.1.1.481.5 1.2.840.10008.5.1.4.1.1.11.1
1.2.840.10008.5.1.4.1.1.9.3.1 1.2.392.200036.9116.7.8.1.1.1 1.2.840.10008.5.1.4.1.1.88.22
1.2.840.10008.5.1.4.1.1.88.11 1.2.840.10008.5.1.4.1.1.88.33 1.2.840.10008.3.1.2.3.2
1.2.840.10008.3.1.2.2.1 1.2.840.10008.3.1.2.3.1 1.2.840.10008.5.1.4.1.1.104.1
1.2.840.10008.5.1.4.1.1.104.2 1.2.840.10008.5.1.4.1.1.88.67 1.2.840.10008.5.1.4.1.1.88.59
1.2.840.10008.5.1.4.38.1 1.2.840.10008.5.1.4.1.1.4.2 1.2.840.10008.3.1.2.3.3
1.2.840.10008.5.1.4.1.1.66 1.2.840.10008.5.1.4.1.1.481.8 1.2.840.10008.5.1.4.1.1.9.1.1
1.2.840.10008.5.1.4.1.1.9.1.2 1.2.840.10008.5.1.4.1.1.481.9 1.2.840.10008.5.1.4.1.1.481.3
1.2.840.10008.5.1.4.1.1.88.50 1.2.840.10008.5.1.4.1.1.66.5 1.2.840.10008.5.1.4.1.1.481.2
""".split())

_CT = "1.2.840.10008.5.1.4.1.1.2"
_MR = "1.2.840.10008.5.1.4.1.1.4"
_PET = "1.2.840.10008.5.1.4.1.1.128"
_SC = "1.2.840.10008.5.1.4.1.1.7"
_NM = "1.2.840.10008.5.1.4.1.1.20"
_US_RETIRED, _US, _US_MF_RETIRED, _US_MF = ("1.2.840.10008.5.1.4.1.1.6", "1.2.840.10008.5.1.4.1.1.6.1",
                                            "1.2.840.10008.5.1.4.1.1.3", "1.2.840.10008.5.1.4.1.1.3.1")

# Geometry in the Shared / Per-frame Functional Groups (gdcmImageHelper's enhanced lists).
_ENHANCED = frozenset("""
1.2.840.10008.5.1.4.1.1.2.1 1.2.840.10008.5.1.4.1.1.4.1 1.2.840.10008.5.1.4.1.1.4.3
1.2.840.10008.5.1.4.1.1.130 1.2.840.10008.5.1.4.1.1.77.1.5.4 1.2.840.10008.5.1.4.1.1.7.1
1.2.840.10008.5.1.4.1.1.7.2 1.2.840.10008.5.1.4.1.1.7.3 1.2.840.10008.5.1.4.1.1.7.4
1.2.840.10008.5.1.4.1.1.13.1.1 1.2.840.10008.5.1.4.1.1.13.1.2 1.2.840.10008.5.1.4.1.1.66.4
1.2.840.10008.5.1.4.1.1.14.1 1.2.840.10008.5.1.4.1.1.14.2 1.2.840.10008.5.1.4.1.1.13.1.3
1.2.840.10008.5.1.4.1.1.13.1.4 1.2.840.10008.5.1.4.1.1.13.1.5 1.2.840.10008.5.1.4.1.1.4.4
1.2.840.10008.5.1.4.1.1.2.2 1.2.840.10008.5.1.4.1.1.128.1
""".split())
# Their rescale comes from the functional groups too (not for Enhanced MR Color, IVOCT, OPT, MF SC).
_ENHANCED_RESCALE = _ENHANCED - frozenset("""
1.2.840.10008.5.1.4.1.1.4.3 1.2.840.10008.5.1.4.1.1.77.1.5.4 1.2.840.10008.5.1.4.1.1.7.1
1.2.840.10008.5.1.4.1.1.7.2 1.2.840.10008.5.1.4.1.1.7.3 1.2.840.10008.5.1.4.1.1.7.4
1.2.840.10008.5.1.4.1.1.14.1 1.2.840.10008.5.1.4.1.1.14.2
""".split())

# SOP classes whose spacing ITK reads itself: Pixel Spacing, z spacing 1 (itkGDCMImageIO).
_ITK_SPACING = frozenset({_US_RETIRED, _US, _US_MF_RETIRED, _US_MF, "1.2.840.10008.5.1.1.29",
                          "1.2.840.113619.4.26", "1.2.840.113543.6.6.1.3.10002",
                          "1.2.840.10008.5.1.4.1.1.77.1.1.1"})

_PIXEL_SPACING, _IMAGER_PIXEL_SPACING = 0x00280030, 0x00181164
_NOMINAL_SCANNED_PIXEL_SPACING, _IMAGE_PLANE_PIXEL_SPACING = 0x00182010, 0x30020011
_SPACING_TAGS = {
    **dict.fromkeys("""1.2.840.10008.5.1.4.1.1.6.2 1.2.840.10008.5.1.4.1.1.2 1.2.840.10008.5.1.4.1.1.4
        1.2.840.10008.5.1.4.1.1.20 1.2.840.10008.5.1.4.1.1.128 1.2.840.113619.4.2 1.3.46.670589.5.0.10
        1.2.840.10008.5.1.4.1.1.77.1.4 1.2.840.10008.5.1.4.1.1.77.1.2 1.2.840.10008.5.1.4.1.1.14.1
        1.2.840.10008.5.1.4.1.1.14.2""".split(), (_PIXEL_SPACING,)),
    **dict.fromkeys("""1.2.840.10008.5.1.4.1.1.1 1.2.840.10008.5.1.4.1.1.1.1 1.2.840.10008.5.1.4.1.1.1.1.1
        1.2.840.10008.5.1.4.1.1.1.2 1.2.840.10008.5.1.4.1.1.1.2.1 1.2.840.10008.5.1.4.1.1.1.3
        1.2.840.10008.5.1.4.1.1.1.3.1 1.2.840.10008.5.1.4.1.1.12.1 1.2.840.10008.5.1.4.1.1.12.2
        1.2.840.10008.5.1.4.1.1.12.3 1.2.392.200036.9125.1.1.4""".split(), (_IMAGER_PIXEL_SPACING,)),
    "1.2.840.10008.5.1.4.1.1.481.1": (_IMAGE_PLANE_PIXEL_SPACING,),
    # GDCM's Secondary Capture image plane module (set by ITK): Pixel Spacing first.
    _SC: (_PIXEL_SPACING, _NOMINAL_SCANNED_PIXEL_SPACING),
    "1.2.840.10008.5.1.1.30": (_NOMINAL_SCANNED_PIXEL_SPACING,),
}
_SPACING_BETWEEN_SLICES = 0x00180088
_Z_FROM_SPACING_BETWEEN_SLICES = frozenset("""
1.2.840.10008.5.1.4.1.1.6.2 1.2.840.10008.5.1.4.1.1.4 1.2.840.10008.5.1.4.1.1.20 1.2.840.113619.4.2
1.2.840.10008.5.1.4.1.1.128 1.2.840.10008.5.1.4.1.1.2 1.2.840.10008.5.1.4.1.1.481.1
1.2.840.10008.5.1.4.1.1.1 1.2.840.10008.5.1.4.1.1.1.1 1.2.840.10008.5.1.4.1.1.1.1.1
1.2.840.10008.5.1.4.1.1.1.2 1.2.840.10008.5.1.4.1.1.1.2.1 1.2.840.10008.5.1.4.1.1.1.3
1.2.840.10008.5.1.4.1.1.1.3.1 1.2.840.10008.5.1.4.1.1.12.1 1.2.840.10008.5.1.4.1.1.12.2
1.2.840.10008.5.1.4.1.1.12.3 1.2.840.10008.5.1.4.1.1.7
""".split())

_NATIVE_SYNTAXES = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
                              "1.2.840.10008.1.2.1.99"})


# ----------------------------------------------------------------------------- raw values
def _raw(ds: Any, tag: int) -> tuple[bytes, bool] | None:
    """(value bytes as stored, little endian) of an element of ``ds`` (None when absent).

    Values are taken from pydicom's raw elements, so nothing is re-formatted; an element
    pydicom has already converted is re-encoded as the file holds it.
    """
    if tag not in ds:
        return None
    elem = ds.get_item(tag)
    value = elem.value
    little = getattr(elem, "is_little_endian", None)
    if little is None:
        little = _encoding(ds)[1]
    if getattr(elem, "is_raw", False) or isinstance(value, (bytes, bytearray)):
        return (bytes(value) if value is not None else b""), little
    if value is None or value == "":
        return b"", little
    return _encode_element(ds, elem), little


def _raw_bytes(ds: Any, tag: int) -> bytes | None:
    raw = _raw(ds, tag)
    return None if raw is None else raw[0]


def _encode_element(ds: Any, elem: Any) -> bytes:
    """The value bytes of an element pydicom already converted (re-encoded as in the file)."""
    pydicom = _pydicom()
    fp = pydicom.filebase.DicomBytesIO()
    implicit, little = _encoding(ds)
    fp.is_implicit_VR, fp.is_little_endian = implicit, little
    pydicom.filewriter.write_data_element(fp, elem)
    data = fp.getvalue()
    long_vrs = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
    header = 8 if implicit or elem.VR not in long_vrs else 12
    return data[header:]


def _encoding(ds: Any) -> tuple[bool, bool]:
    """(implicit VR, little endian) of the data set as read."""
    enc = getattr(ds, "original_encoding", None)
    if enc and enc[0] is not None:
        return bool(enc[0]), bool(enc[1])
    return False, True


def _text(ds: Any, tag: int) -> str | None:
    """A text element as GDCM's StringFilter gives it: raw, cut at the first NUL."""
    raw = _raw_bytes(ds, tag)
    if raw is None:
        return None
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _uid(ds: Any, tag: int) -> str:
    text = _text(ds, tag)
    return "" if text is None else text.strip(" \0")


_NUMBER = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def _decimals(text: str | None, count: int | None = None) -> list[float]:
    """Decimal strings as C++ ``istream >> double`` reads them, up to the first unreadable one."""
    if not text:
        return []
    out = []
    for part in text.split("\\")[:count]:
        match = _NUMBER.match(part)
        if not match:
            break
        out.append(float(match.group(1)))
    return out


def _int(ds: Any, tag: int, default: int) -> int:
    """The first value of a US/UL/SS/IS element, from its bytes (GDCM's ``Attribute``
    default when absent or empty)."""
    raw = _raw(ds, tag)
    if raw is None or not raw[0]:
        return default
    data, little = raw
    vr = _dictionary_vr(tag, None, 0)
    codes = {"US": "H", "SS": "h", "UL": "I", "SL": "i"}
    if vr in codes:
        size = struct.calcsize(codes[vr])
        if len(data) < size:
            return default
        return struct.unpack(("<" if little else ">") + codes[vr], data[:size])[0]
    numbers = _decimals(data.split(b"\0", 1)[0].decode("latin-1"), 1)
    return int(numbers[0]) if numbers else default


# ----------------------------------------------------------------------------- opening files
def _looks_like_dicom(path: str) -> bool:
    """ITK's GDCMImageIO::CanReadFile sniffing: "DICM" at 128, or a group 2 or 8 first tag."""
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    if len(head) < 132:
        return False
    return head[128:132] == b"DICM" or struct.unpack("<H", head[:2])[0] in (0x0002, 0x0008)


def _open(path: str, *, defer: bool = False) -> Any:
    """A pydicom data set, or ImageFileError naming the file and the problem."""
    pydicom = _pydicom()
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such DICOM file: {path}")
    if not _looks_like_dicom(path):
        raise ImageFileError(f"{path}: not a DICOM file (no 'DICM' marker and no DICOM "
                             "header at the start)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # value-format complaints, not damage
            return pydicom.dcmread(path, force=True, defer_size=65536 if defer else None)
    except Exception as exc:   # pydicom raises many types for damaged files
        raise ImageFileError(f"{path}: cannot parse the DICOM file: {exc}") from exc


def _sop_class(ds: Any) -> str:
    """GDCM's MediaStorage::SetFromFile: the data set's SOP Class UID, else the file meta's;
    neither: Secondary Capture (GDCM's guess for a file with pixel data)."""
    uid = _uid(ds, 0x00080016)
    if not uid:
        meta = getattr(ds, "file_meta", None)
        uid = _uid(meta, 0x00020002) if meta is not None else ""
    return uid or _SC


def _image_problem(ds: Any) -> str | None:
    """Why GDCM's ImageReader would not read this data set as an image (None if it would)."""
    if 0x7FE00010 not in ds:
        return "it holds no Pixel Data (7fe0,0010): not an image, or truncated"
    meta = getattr(ds, "file_meta", None)
    header_uid = _uid(meta, 0x00020002) if meta is not None else ""
    uid = header_uid if header_uid in _GDCM_SOP_CLASSES else _uid(ds, 0x00080016)
    if (uid and uid not in _GDCM_SOP_CLASSES) or uid in _NOT_IMAGES:
        return (f"its SOP class {uid} is not an image storage class gpuresample reads "
                "(RT Dose, private and non-image classes are refused)")
    if _int(ds, 0x00280010, 0) <= 0 or _int(ds, 0x00280011, 0) <= 0:
        return "it declares no Rows / Columns"
    return None


# ----------------------------------------------------------------------------- geometry
@dataclasses.dataclass
class _Geometry:
    origin: tuple[float, float, float]
    spacing: tuple[float, float, float]
    direction: np.ndarray          # 3x3, columns = index axes
    cosines: list[float]           # the six direction cosines GDCM read (before ITK's fix-up)


def _cross(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    # vnl_cross_3d, component by component (no numpy reordering of the products)
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                     a[0] * b[1] - a[1] * b[0]])


def _normalize(v: np.ndarray) -> np.ndarray:
    # vnl_vector::normalize: multiply by the reciprocal of the magnitude
    norm = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    return v * (1.0 / norm) if norm != 0 else v


def _itk_direction(cosines: Sequence[float]) -> np.ndarray:
    """ITK GDCMImageIO's direction: z = row x col, then x = col x z, y = z x x."""
    row, col = np.asarray(cosines[:3], float), np.asarray(cosines[3:6], float)
    slice_dir = _normalize(_cross(row, col))
    row = _normalize(_cross(col, slice_dir))
    col = _cross(slice_dir, row)
    return np.column_stack([row, col, slice_dir])


def _valid_cosines(c: Sequence[float]) -> bool:
    # gdcm::DirectionCosines::IsValid: unit rows, orthogonal, to 1e-3
    n1 = c[0] * c[0] + c[1] * c[1] + c[2] * c[2]
    n2 = c[3] * c[3] + c[4] * c[4] + c[5] * c[5]
    dot = c[0] * c[3] + c[1] * c[4] + c[2] * c[5]
    return abs(n1 - 1) < 1e-3 and abs(n2 - 1) < 1e-3 and abs(dot) < 1e-3


def _cosines_from(ds: Any) -> list[float] | None:
    """gdcm ImageHelper::GetDirectionCosinesFromDataSet (None when absent or unfixable)."""
    if 0x00200037 not in ds:
        return None
    cosines = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    for i, v in enumerate(_decimals(_text(ds, 0x00200037), 6)):
        cosines[i] = v
    if _valid_cosines(cosines):
        return cosines
    fixed = []
    for row in (cosines[:3], cosines[3:]):
        norm = math.sqrt(sum(x * x for x in row))
        fixed += [x / norm for x in row] if norm != 0 else row
    return fixed if _valid_cosines(fixed) else None


def _position_from(ds: Any) -> tuple[float, float, float]:
    origin = [0.0, 0.0, 0.0]
    for i, v in enumerate(_decimals(_text(ds, 0x00200032), 3)):
        origin[i] = v
    return tuple(origin)


def _plane_spacing(ds: Any, tags: Sequence[int]) -> tuple[float, float]:
    """GDCM's in-plane spacing: (x, y) = (2nd, 1st) value, 0 read as 1, one value for both."""
    for tag in tags:
        text = _text(ds, tag)
        if not text:
            continue
        if "\\" in text:
            values = [v if v else 1.0 for v in _decimals(text, 2)]
            if len(values) < 2:
                raise ImageFileError(f"({tag >> 16:04x},{tag & 0xFFFF:04x}) {text!r} is not "
                                     "two decimal numbers")
            return values[1], values[0]
        values = _decimals(text, 1)
        single = values[0] if values and values[0] else 1.0
        return single, single
    return 1.0, 1.0


def _classic_z_spacing(ds: Any, sop: str, frames: int) -> float:
    """gdcm ImageHelper::GetSpacingValue's z: Spacing Between Slices, else the Frame Time
    a Frame Increment Pointer names, else 1."""
    if sop in _Z_FROM_SPACING_BETWEEN_SLICES and _SPACING_BETWEEN_SLICES in ds:
        text = _text(ds, _SPACING_BETWEEN_SLICES)
        if not text:
            return 1.0
        values = _decimals(text, 1)
        if not values:
            raise ImageFileError(f"Spacing Between Slices {text!r} is not a decimal number")
        return values[0]
    if 0x00280009 in ds:
        raw = _raw_bytes(ds, 0x00280009) or b""
        _, little = _encoding(ds)
        if len(raw) == 4:
            group, element = struct.unpack("<HH" if little else ">HH", raw)
            pointer = (group << 16) | element
            if pointer == 0x00181063 and pointer in ds:
                frame_time = _decimals(_text(ds, pointer), 1)
                value = frame_time[0] if frame_time else 0.0
                if frames > 1:
                    return value
                return 1.0 if value == 0 else 0.0
    return 1.0


def _first_item(ds: Any, tag: int) -> Any:
    if tag not in ds:
        return None
    seq = ds[tag].value
    return seq[0] if seq else None


def _group_item(ds: Any, group: int, sub: int) -> Any:
    """Item 1 of ``sub`` in item 1 of functional-group sequence ``group``."""
    item = _first_item(ds, group)
    return None if item is None else _first_item(item, sub)


_SHARED, _PER_FRAME = 0x52009229, 0x52009230
_PLANE_POSITION, _PLANE_ORIENTATION, _PIXEL_MEASURES = 0x00209113, 0x00209116, 0x00289110
_PIXEL_VALUE_TRANSFORMATION = 0x00289145


def _enhanced_geometry(ds: Any, path: str, frames: int) -> tuple[_Geometry, bool]:
    """Geometry of an enhanced / multi-frame SOP class from its functional groups, as GDCM
    (origin and orientation of frame 1, spacing from Pixel Measures, z spacing the mean
    projected step), refusing frames GDCM would stack wrongly. Returns (geometry, found)."""
    origin = (0.0, 0.0, 0.0)
    for group in (_SHARED, _PER_FRAME):
        item = _group_item(ds, group, _PLANE_POSITION)
        if item is not None and 0x00200032 in item:
            origin = _position_from(item)
            break
    cosines = None
    for group in (_SHARED, _PER_FRAME):
        item = _group_item(ds, group, _PLANE_ORIENTATION)
        if item is not None and 0x00200037 in item:
            cosines = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            for i, v in enumerate(_decimals(_text(item, 0x00200037), 6)):
                cosines[i] = v
            break
    if cosines is None:
        cosines = _cosines_from(ds) or [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    spacing = None
    for group in (_SHARED, _PER_FRAME):
        measures = _group_item(ds, group, _PIXEL_MEASURES)
        if measures is not None and _PIXEL_SPACING in measures:
            values = _decimals(_text(measures, _PIXEL_SPACING), 2)
            if len(values) < 2:
                raise ImageFileError(f"{path}: Pixel Spacing of the functional groups is not "
                                     "two numbers")
            z = _frame_step(ds, path, cosines, frames)
            if z is not None:
                spacing = (values[1], values[0], z)
            break
    found = spacing is not None
    return _Geometry(origin, spacing or (1.0, 1.0, 1.0), _itk_direction(cosines), cosines), found


def _frame_step(ds: Any, path: str, cosines: list[float], frames: int) -> float | None:
    """gdcm ComputeZSpacingFromIPP: mean step of the frame positions along the normal."""
    per_frame = ds[_PER_FRAME].value if _PER_FRAME in ds else None
    if not per_frame:
        return None
    if len(per_frame) == 1:
        measures = _group_item(ds, _SHARED, _PIXEL_MEASURES)
        if measures is not None and _SPACING_BETWEEN_SLICES in measures:
            values = _decimals(_text(measures, _SPACING_BETWEEN_SLICES), 1)
            return values[0] if values else 1.0
        return 1.0
    normal = _cross(cosines[:3], cosines[3:6])
    length = math.sqrt(normal[0] * normal[0] + normal[1] * normal[1] + normal[2] * normal[2])
    if length:
        normal = normal / length   # GDCM 3.2.5 divides by the norm (checked bit for bit)
    positions, orientations = [], []
    for index, frame in enumerate(per_frame):
        pos = _first_item(frame, _PLANE_POSITION)
        if pos is None or 0x00200032 not in pos:
            return None
        positions.append(np.array(_position_from(pos)))
        ori = _first_item(frame, _PLANE_ORIENTATION)
        if ori is not None and 0x00200037 in ori:
            orientations.append(tuple(_decimals(_text(ori, 0x00200037), 6)))
    if len(set(orientations)) > 1:
        raise ImageFileError(f"{path}: the frames have different orientations; a volume "
                             "needs one orientation for all frames")
    dist = [0.0 + normal[0] * p[0] + normal[1] * p[1] + normal[2] * p[2] for p in positions]
    steps = [dist[i] - dist[i - 1] for i in range(1, len(dist))]
    mean = 0.0
    for s in steps:
        mean += s
    mean /= len(steps)
    if mean == 0.0:
        raise ImageFileError(f"{path}: all {len(dist)} frames lie at the same position (a "
                             "time series?); they cannot be stacked as a volume")
    if any(abs(s - mean) > 1e-3 for s in steps):
        raise ImageFileError(f"{path}: the frames are not evenly spaced along the slice "
                             f"normal (steps {[round(s, 6) for s in steps]}); SimpleITK would "
                             "report spacing 1, 1, 1")
    _check_along_normal(positions, normal, path, "frames")
    return mean


def _check_along_normal(positions: Sequence[np.ndarray], unit_normal: np.ndarray, what: str,
                        kind: str) -> None:
    """Refuse positions that do not move along the slice normal (gantry tilt)."""
    first = positions[0]
    for p in positions[1:]:
        offset = p - first
        along = float(offset @ unit_normal)
        across = float(np.linalg.norm(offset - along * unit_normal))
        if across > 1e-3 * abs(along) + 1e-4:
            angle = math.degrees(math.atan2(across, abs(along)))
            raise ValueError(f"{what}: the {kind} are not stacked along their slice normal "
                             f"(gantry tilt of {angle:.3g} degrees); a tilted stack has no "
                             "orthogonal grid: resample the slices onto one first")


def _classic_geometry(ds: Any, sop: str, frames: int) -> _Geometry:
    """Geometry of a non-enhanced file, per GDCM's SOP-class rules and ITK's overrides."""
    if sop == _NM:
        item = _first_item(ds, 0x00540022)   # Detector Information Sequence
        if item is not None:
            origin = _position_from(item)
            cosines = _cosines_from(item) or [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        else:
            origin = (0.0, 0.0, 0.0)
            cosines = _cosines_from(ds) or [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    else:
        origin = _position_from(ds) if 0x00200032 in ds else (0.0, 0.0, 0.0)
        cosines = _cosines_from(ds) or [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    if sop in _ITK_SPACING:
        values = _decimals(_text(ds, _PIXEL_SPACING), 2)
        x, y = (values[1], values[0]) if len(values) == 2 else (1.0, 1.0)
        spacing = (x, y, 1.0)
    else:
        spacing = _plane_spacing(ds, _SPACING_TAGS.get(sop, ())) + (
            _classic_z_spacing(ds, sop, frames),)
    return _Geometry(origin, spacing, _itk_direction(cosines), cosines)


def _geometry(ds: Any, path: str, sop: str, frames: int) -> _Geometry:
    if sop in _ENHANCED:
        geometry, found = _enhanced_geometry(ds, path, frames)
        if not found:
            warnings.warn(f"{path}: an enhanced multi-frame file without Pixel Measures and "
                          "Plane Position functional groups; spacing 1, 1, 1 (as SimpleITK)",
                          stacklevel=3)
    else:
        geometry = _classic_geometry(ds, sop, frames)
    x, y, z = geometry.spacing
    if x <= 0 or y <= 0 or z == 0:
        raise ImageFileError(f"{path}: spacing {geometry.spacing} is not positive")
    if z < 0:   # ITK's ImageFileReader: a negative spacing flips its axis
        geometry.direction = geometry.direction.copy()
        geometry.direction[:, 2] *= -1
        geometry.spacing = (x, y, -z)
    return geometry


# ----------------------------------------------------------------------------- pixels
@dataclasses.dataclass
class _PixelFormat:
    rows: int
    cols: int
    frames: int
    samples: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    photometric: str

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(f"{'i' if self.signed else 'u'}{self.bits_allocated // 8}")

    @property
    def frame_bytes(self) -> int:
        return self.rows * self.cols * self.samples * self.bits_allocated // 8

    def stored_range(self) -> tuple[int, int]:
        """gdcm PixelFormat::GetMin / GetMax: the Bits Stored range."""
        if self.signed:
            return -(1 << (self.bits_stored - 1)), (1 << (self.bits_stored - 1)) - 1
        return 0, (1 << self.bits_stored) - 1


def _pixel_format(ds: Any, path: str) -> _PixelFormat:
    allocated = _int(ds, 0x00280100, 0)
    stored = _int(ds, 0x00280101, allocated)
    if stored <= 0 or stored > allocated:
        stored = allocated
    representation = _int(ds, 0x00280103, 0)
    samples = _int(ds, 0x00280002, 1)
    photometric = (_text(ds, 0x00280004) or "").strip(" \0") or (
        "RGB" if samples == 3 else "MONOCHROME2")
    frames = max(_int(ds, 0x00280008, 1), 1)
    pf = _PixelFormat(_int(ds, 0x00280010, 0), _int(ds, 0x00280011, 0), frames, samples,
                      allocated, stored, representation == 1, photometric)
    if allocated not in (8, 16, 32):
        raise ImageFileError(f"{path}: Bits Allocated {allocated} is not supported (only 8, "
                             "16 or 32; bit-packed 1-bit segmentations are not read)")
    if representation not in (0, 1):
        raise ImageFileError(f"{path}: Pixel Representation {representation} is not 0 or 1")
    if samples not in (1, 3):
        raise ImageFileError(f"{path}: {samples} samples per pixel (1 or 3 are supported)")
    if photometric == "PALETTE COLOR":
        raise ImageFileError(f"{path}: PALETTE COLOR images are not supported; convert them "
                             "to RGB (pydicom.pixels.apply_color_lut)")
    if photometric == "MONOCHROME1" and pf.signed and stored != allocated:
        raise ImageFileError(f"{path}: signed MONOCHROME1 with Bits Stored {stored} < Bits "
                             f"Allocated {allocated} is not supported (GDCM fails on it too)")
    return pf


def _transfer_syntax(ds: Any) -> str:
    meta = getattr(ds, "file_meta", None)
    uid = _uid(meta, 0x00020010) if meta is not None else ""
    if uid:
        return uid
    implicit, little = _encoding(ds)
    return "1.2.840.10008.1.2" if implicit else (
        "1.2.840.10008.1.2.1" if little else "1.2.840.10008.1.2.2")


def _pixel_vr(ds: Any) -> str:
    """The value representation of the Pixel Data element ("OB", "OW", ...), "" if unknown."""
    try:
        return str(ds[0x7FE00010].VR)
    except Exception:   # a raw or missing element: no VR to go by
        return ""


def _decode(ds: Any, path: str, pf: _PixelFormat) -> np.ndarray:
    """Stored pixels, shape (frames, rows, cols, samples), dtype pf.dtype (native order)."""
    syntax = _transfer_syntax(ds)
    expected = pf.frame_bytes * pf.frames
    if syntax in _NATIVE_SYNTAXES:
        data = _raw_bytes(ds, 0x7FE00010) or b""
        if len(data) < expected:
            raise ImageFileError(f"{path}: the header declares {expected} bytes of pixel data "
                                 f"but the file holds {len(data)}: truncated or damaged")
        if pf.photometric == "YBR_FULL_422":
            raise ImageFileError(f"{path}: uncompressed YBR_FULL_422 colour is not supported")
        if syntax == "1.2.840.10008.1.2.2" and (pf.bits_allocated > 8
                                                 or _pixel_vr(ds) == "OW"):
            # big endian OW: GDCM swaps 16-bit words (also inside 32-bit pixels, and the
            # byte pairs of 8-bit samples stored as OW)
            words = np.frombuffer(data, dtype=">u2", count=(expected + 1) // 2).astype("<u2")
            array = np.frombuffer(words.tobytes()[:expected], dtype=pf.dtype.newbyteorder(
                "<")).astype(pf.dtype)
        else:
            array = np.frombuffer(data, dtype=pf.dtype.newbyteorder("<"), count=expected
                                  // pf.dtype.itemsize).astype(pf.dtype)
        planar = _int(ds, 0x00280006, 0) if pf.samples == 3 else 0
        if planar == 1:
            return array.reshape(pf.frames, pf.samples, pf.rows, pf.cols).transpose(
                0, 2, 3, 1).copy()
        return array.reshape(pf.frames, pf.rows, pf.cols, pf.samples)
    return _decode_compressed(ds, path, pf, syntax)


def _decode_compressed(ds: Any, path: str, pf: _PixelFormat, syntax: str) -> np.ndarray:
    pydicom = _pydicom()
    from pydicom.pixels.decoders.base import get_decoder
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise ImageFileError(f"{path}: transfer syntax {syntax} has no pixel decoder in "
                             "pydicom") from None
    if not decoder.is_available:
        raise ImportError(f"{path}: decoding {pydicom.uid.UID(syntax).name} needs a pydicom "
                          "pixel decoder plugin: pip install 'gpuresample[dicom-codecs]' "
                          f"({'; '.join(decoder.missing_dependencies)})")
    encoded = len(_raw_bytes(ds, 0x7FE00010) or b"")
    decoded = pf.frame_bytes * pf.frames
    # a damaged header must not make the decoder allocate far more than the data can hold
    if decoded > max(256 << 20, 10000 * encoded):
        raise ImageFileError(f"{path}: the header declares {decoded} bytes of pixels for "
                             f"{encoded} bytes of compressed data: damaged")
    ybr_lossless = pf.photometric.startswith("YBR") and syntax == "1.2.840.10008.1.2.5"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            array, _ = decoder.as_array(ds, raw=ybr_lossless)
    except Exception as exc:
        raise ImageFileError(f"{path}: cannot decode the compressed pixel data ({exc}); "
                             "pip install 'gpuresample[dicom-codecs]' adds decoders") from exc
    array = np.ascontiguousarray(array)
    if array.size != pf.rows * pf.cols * pf.samples * pf.frames:
        raise ImageFileError(f"{path}: decoded {array.size} values, the header declares "
                             f"{pf.rows * pf.cols * pf.samples * pf.frames}")
    return array.astype(pf.dtype, copy=False).reshape(pf.frames, pf.rows, pf.cols, pf.samples)


def _clean_bits(array: np.ndarray, pf: _PixelFormat) -> np.ndarray:
    """GDCM's overlay clean-up: keep the low Bits Stored bits, sign-extended when signed."""
    if pf.bits_stored >= pf.bits_allocated:
        return array
    wide = array.astype(np.int64) & ((1 << pf.bits_stored) - 1)
    if pf.signed:
        sign = 1 << (pf.bits_stored - 1)
        wide = (wide ^ sign) - sign
    return wide.astype(pf.dtype)


def _invert_monochrome1(array: np.ndarray, pf: _PixelFormat) -> np.ndarray:
    """gdcm ImageCodec::DoInvertMonochrome: signed ~v; unsigned 8-bit 255 - v; unsigned
    wider (2^BitsStored - 1) - v (also for 32 bits, where GDCM leaves garbage)."""
    if pf.signed:
        return np.invert(array)
    top = 255 if pf.bits_allocated == 8 else pf.stored_range()[1]
    return (np.asarray(top, array.dtype) - np.minimum(array, top)).astype(array.dtype)


def _ybr_to_rgb(array: np.ndarray) -> np.ndarray:
    """ITK's YBR_FULL -> RGB for 8-bit pixels (gdcm YBR2RGB, (int)(x + 0.5), clamped)."""
    y, cb, cr = (array[..., i].astype(np.float64) for i in range(3))
    r = y + 1.402 * (cr - 128.0)
    g = y - (0.114 * 1.772 * (cb - 128.0) + 0.299 * 1.402 * (cr - 128.0)) / 0.587
    b = y + 1.772 * (cb - 128.0)
    out = np.stack([np.trunc(c + 0.5) for c in (r, g, b)], axis=-1)
    return np.clip(out, 0, 255).astype(array.dtype)


def _rescale_values(ds: Any, path: str, sop: str) -> tuple[float, float]:
    """(intercept, slope) as GDCM reads them; ITK forces them on for every SOP class."""
    source = ds
    if sop in _ENHANCED_RESCALE:
        items = []
        for group in (_SHARED, _PER_FRAME):
            item = _group_item(ds, group, _PIXEL_VALUE_TRANSFORMATION)
            if item is not None and 0x00281052 in item and 0x00281053 in item:
                items.append(item)
        if items:
            source = items[0]
            per_frame = ds[_PER_FRAME].value if _PER_FRAME in ds else []
            values = set()
            for frame in per_frame:
                item = _first_item(frame, _PIXEL_VALUE_TRANSFORMATION)
                if item is not None and 0x00281052 in item and 0x00281053 in item:
                    values.add((_text(item, 0x00281052).strip(), _text(item, 0x00281053).strip()))
            if len(values) > 1 and _group_item(ds, _SHARED, _PIXEL_VALUE_TRANSFORMATION) is None:
                raise ImageFileError(f"{path}: the frames have different rescale slopes / "
                                     "intercepts; one volume has one")
    intercept, slope = 0.0, 1.0
    for tag, name in ((0x00281052, "Rescale Intercept"), (0x00281053, "Rescale Slope")):
        text = _text(source, tag)
        if text is None or not text.strip(" \0"):
            continue
        values = _decimals(text, 1)
        if not values:
            raise ImageFileError(f"{path}: {name} {text!r} is not a decimal number")
        if tag == 0x00281052:
            intercept = values[0]
        else:
            slope = values[0] if values[0] != 0 else 1.0   # GDCM: a zero slope means 1
    return intercept, slope


def _rescaled_dtype(pf: _PixelFormat, intercept: float, slope: float) -> np.dtype:
    """gdcm Rescaler::ComputeInterceptSlopePixelType."""
    if pf.samples != 1:
        return pf.dtype
    if slope != int(slope) or intercept != int(intercept):
        return np.dtype(np.float64)
    lo, hi = pf.stored_range()
    if slope < 0:
        lo, hi = hi, lo
    vmin, vmax = slope * lo + intercept, slope * hi + intercept
    if vmin >= 0:
        for dt in (np.uint8, np.uint16, np.uint32):
            if vmax <= np.iinfo(dt).max:
                return np.dtype(dt)
        return np.dtype(np.float64)
    for dt in (np.int8, np.int16, np.int32):
        if vmax <= np.iinfo(dt).max and vmin >= np.iinfo(dt).min:
            return np.dtype(dt)
    return np.dtype(np.float64)


def _apply_rescale(array: np.ndarray, pf: _PixelFormat, intercept: float,
                   slope: float) -> np.ndarray:
    """gdcm Rescaler::Rescale: (TOut)(slope * v + intercept) in double."""
    out_type = _rescaled_dtype(pf, intercept, slope)
    if out_type.kind == "f":
        return array.astype(np.float64) * slope + intercept
    # integral slope and intercept within the output range: exact in int64; wraps like the
    # C cast for the (vector) cases where GDCM keeps the stored type
    values = array.astype(np.int64) * int(slope) + int(intercept)
    return values.astype(out_type)


def _pixels(ds: Any, path: str, sop: str, pf: _PixelFormat) -> np.ndarray:
    array = _clean_bits(_decode(ds, path, pf), pf)
    if pf.photometric == "MONOCHROME1":
        array = _invert_monochrome1(array, pf)
    intercept, slope = _rescale_values(ds, path, sop)
    if slope != 1.0 or intercept != 0.0:
        array = _apply_rescale(array, pf, intercept, slope)
    elif (pf.photometric == "YBR_FULL" and pf.samples == 3 and pf.bits_allocated == 8
          and _transfer_syntax(ds) in _NATIVE_SYNTAXES | {"1.2.840.10008.1.2.5"}):
        array = _ybr_to_rgb(array)
    return array


# ----------------------------------------------------------------------------- metadata
_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST",
                       "TM", "UC", "UI", "UR", "UT"})
_NUMBER_VRS = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d"}
# ITK base64-encodes OB, OF, OW and UN; OD, OL, OV, SV, UV make SimpleITK fail, here base64
_WORD_SIZES = {"OB": 1, "UN": 1, "OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8, "SV": 8, "UV": 8}


def _dictionary_vr(tag: int, stored_vr: str | None, pixel_representation: int) -> str:
    """The VR to read a value with: the one an explicit-VR file stores, else the
    dictionary's (ambiguous ones resolved as GDCM does), else UN.

    GDCM prefers its dictionary; an explicit VR differs from it only where the dictionaries
    differ (tags newer than GDCM's), where the stored VR is what GDCM falls back to.
    """
    if stored_vr and stored_vr != "UN" and " or " not in stored_vr:
        return stored_vr
    pydicom = _pydicom()
    if tag & 0xFFFF == 0:
        return "UL"
    try:
        vr = pydicom.datadict.dictionary_VR(tag)
    except KeyError:
        return "UN"
    if vr == "US or SS":
        return "SS" if pixel_representation == 1 and tag != 0x00280071 else "US"
    if " or " in vr:
        return "OW" if "OW" in vr else vr.split(" or ")[0]
    return vr


def _format_value(raw: bytes, vr: str, little: bool) -> str | None:
    """A value as ITK's dictionary holds it (None: GDCM leaves the key out)."""
    if vr in _TEXT_VRS:
        return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    if vr in _NUMBER_VRS or vr == "AT":
        width = 4 if vr == "AT" else struct.calcsize(_NUMBER_VRS[vr])
        if not raw or len(raw) % width:
            return ""
        order = "<" if little else ">"
        if vr == "AT":
            words = struct.unpack(f"{order}{len(raw) // 2}H", raw)
            return "\\".join(f"({g:04x},{e:04x})" for g, e in zip(words[::2], words[1::2]))
        values = struct.unpack(f"{order}{len(raw) // width}{_NUMBER_VRS[vr]}", raw)
        if vr in ("FL", "FD"):
            return "\\".join(format(float(v), "g") for v in values)
        return "\\".join(str(v) for v in values)
    if not raw:
        return None
    size = _WORD_SIZES.get(vr, 1)
    if not little and size > 1:   # GDCM holds binary values in little-endian order
        raw = np.frombuffer(raw[: len(raw) // size * size], f">u{size}").astype(
            f"<u{size}").tobytes()
    return base64.b64encode(raw).decode("ascii")


def _metadata(ds: Any) -> MetaData:
    """ITK GDCMImageIO's meta-data dictionary of a file's top-level data set."""
    _, little = _encoding(ds)
    representation = _int(ds, 0x00280103, 0)
    out = MetaData()
    for tag in sorted(ds.keys()):
        tag = int(tag)
        if (tag >> 16) % 2 or tag == 0x7FE00010:
            continue   # private tags (LoadPrivateTags is off) and the pixels
        elem = ds.get_item(tag)
        stored_vr = getattr(elem, "VR", None)
        vr = _dictionary_vr(tag, stored_vr, representation)
        if vr == "SQ" or stored_vr == "SQ":
            continue
        raw = _raw_bytes(ds, tag) or b""
        value = _format_value(raw, vr, little)
        if value is not None:
            out[f"{tag >> 16:04x}|{tag & 0xFFFF:04x}"] = value
    return out


# ----------------------------------------------------------------------------- one file
@dataclasses.dataclass
class _Slice:
    """One file's header: what reading, ordering and stacking need."""
    path: str
    ds: Any
    sop: str
    pf: _PixelFormat
    geometry: _Geometry

    @classmethod
    def open(cls, path: str, *, defer: bool = False, strict: bool = True) -> "_Slice":
        """Parse ``path``; ``strict=False`` (folder scans) keeps an image whose pixel
        layout or geometry this reader refuses, with GDCM's default geometry, so that
        series listings match GDCM's."""
        ds = _open(path, defer=defer)
        problem = _image_problem(ds)
        if problem:
            raise ImageFileError(f"{path}: not an image gpuresample reads: {problem}")
        sop = _sop_class(ds)
        try:
            pf = _pixel_format(ds, path)
            with warnings.catch_warnings() if not strict else contextlib.nullcontext():
                if not strict:
                    warnings.simplefilter("ignore")
                geometry = _geometry(ds, path, sop, pf.frames)
        except (ImageFileError, ValueError):
            if strict:
                raise
            pf = None
            geometry = _Geometry((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), np.eye(3),
                                 [1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
        return cls(path, ds, sop, pf, geometry)

    def pixels(self) -> np.ndarray:
        return _pixels(self.ds, self.path, self.sop, self.pf)


def _to_image(array: np.ndarray, geometry: _Geometry, metadata: MetaData) -> Image:
    vector = array.shape[-1] != 1
    array = np.ascontiguousarray(array if vector else array[..., 0])
    return Image._from_array(array, is_vector=vector, origin=geometry.origin,
                             spacing=geometry.spacing, direction=geometry.direction,
                             metadata=metadata)


def read(path: PathLike) -> Image:
    """Read one DICOM file as SimpleITK's ``ReadImage`` does: a 3-D image.

    Parameters
    ----------
    path : path
        A single-slice file gives size ``(columns, rows, 1)``; a multi-frame file
        (Number of Frames > 1) a volume with one z slice per frame.

    Returns
    -------
    Image
        Geometry, pixel type and values as SimpleITK's (see the module docstring), the
        file's tags in ``metadata``.

    Raises
    ------
    FileNotFoundError, ImageFileError (damaged, truncated, not an image, unsupported),
    ImportError naming ``gpuresample[dicom-codecs]`` for a compressed file without decoder.

    Examples
    --------
    >>> import os, tempfile, numpy as np, gpuresample as gr
    >>> path = os.path.join(tempfile.mkdtemp(), "a.dcm")
    >>> write(gr.image_from_array(np.arange(12, dtype=np.uint8).reshape(3, 4)), path)
    >>> img = read(path)
    >>> img.size, img.pixel_type.name, img.metadata["0028|0010"]
    ((4, 3, 1), 'UINT8', '3')
    """
    name = os.fspath(path)
    s = _Slice.open(name)
    return _to_image(s.pixels(), s.geometry, _metadata(s.ds))


# ----------------------------------------------------------------------------- series
def _list_folder(folder: str, recursive: bool) -> list[str]:
    """The file names gdcm::Directory lists (hidden entries skipped), sorted."""
    if not os.path.exists(folder):
        raise FileNotFoundError(f"no such folder: {folder}")
    if not os.path.isdir(folder):
        raise NotADirectoryError(f"{folder} is not a folder")
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        out += [os.path.join(root, f) for f in sorted(files) if not f.startswith(".")]
    return out


def _series_id(ds: Any) -> str:
    """GDCM's series identifier: the Series Instance UID with non-[A-Za-z0-9.] removed."""
    return re.sub(r"[^A-Za-z0-9.]", "", _text(ds, 0x0020000E) or "")


def _scan(folder: PathLike, recursive: bool) -> dict[str, list[_Slice]]:
    groups: dict[str, list[_Slice]] = {}
    for path in _list_folder(os.fspath(folder), recursive):
        if not _looks_like_dicom(path):
            continue
        try:
            s = _Slice.open(path, defer=True, strict=False)
        except (ImageFileError, ValueError, OSError):
            continue   # GDCM skips what it cannot read as an image
        groups.setdefault(_series_id(s.ds), []).append(s)
    if not groups:
        raise ValueError(f"no DICOM series in {os.fspath(folder)}: no file there is a DICOM "
                         "image SimpleITK reads" + ("" if recursive else
                                                    " (recursive=True searches sub-folders)"))
    return groups


def dicom_series_ids(folder: PathLike, recursive: bool = False) -> list[str]:
    """The series in a folder, as ``sitk.ImageSeriesReader.GetGDCMSeriesIDs``.

    Parameters
    ----------
    folder : path
    recursive : bool
        Also search sub-folders.

    Returns
    -------
    list of str
        Series Instance UIDs with every character outside ``[A-Za-z0-9.]`` removed
        (``""`` for images without one), in lexicographic order.

    Raises
    ------
    FileNotFoundError, NotADirectoryError, or ValueError naming the folder when it holds no
    DICOM image.

    Examples
    --------
    >>> import tempfile, numpy as np, gpuresample as gr
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_series(gr.image_from_array(np.zeros((2, 3, 4), np.int16)), folder)
    >>> len(dicom_series_ids(folder))
    1
    """
    return sorted(_scan(folder, recursive))


def dicom_series_files(folder: PathLike, series_id: str | None = None,
                       recursive: bool = False) -> list[str]:
    """The files of one series in GDCM's order, as ``GetGDCMSeriesFileNames``.

    Parameters
    ----------
    folder : path
    series_id : str, optional
        One of :func:`dicom_series_ids`; default the first.
    recursive : bool
        Also search sub-folders.

    Returns
    -------
    list of str
        Paths (``os.path.join(folder, name)``), ordered by Image Position (Patient)
        projected on the first file's slice normal (if all positions differ), else by
        Instance Number (if all differ), else by file name.

    Raises
    ------
    ValueError for an unknown ``series_id`` (SimpleITK returns an empty list) or a folder
    without series.

    Examples
    --------
    >>> import os, tempfile, numpy as np, gpuresample as gr
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_series(gr.image_from_array(np.zeros((3, 4, 5), np.int16)), folder)
    >>> [os.path.basename(p) for p in dicom_series_files(folder)]
    ['slice0000.dcm', 'slice0001.dcm', 'slice0002.dcm']
    """
    groups = _scan(folder, recursive)
    if series_id is None:
        series_id = min(groups)
    if series_id not in groups:
        raise ValueError(f"no series {series_id!r} in {os.fspath(folder)}; its series: "
                         f"{sorted(groups)}")
    return [s.path for s in _gdcm_order(groups[series_id])]


def _gdcm_order(slices: list[_Slice]) -> list[_Slice]:
    """gdcm SerieHelper::OrderFileList: by position along the normal, instance, file name."""
    c = slices[0].geometry.cosines
    normal = (c[1] * c[5] - c[2] * c[4], c[2] * c[3] - c[0] * c[5], c[0] * c[4] - c[1] * c[3])
    dist = []
    for s in slices:
        p = s.geometry.origin   # GDCM's GetOriginValue, per SOP class
        d = 0.0
        for i in range(3):
            d += normal[i] * p[i]
        dist.append(d)
    if min(dist) != max(dist) and len(set(dist)) == len(dist):
        return [s for _, s in sorted(zip(dist, slices), key=lambda x: x[0])]
    numbers = [_int(s.ds, 0x00200013, -1) for s in slices]
    if len(set(numbers)) == len(numbers):
        return [s for _, s in sorted(zip(numbers, slices), key=lambda x: x[0])]
    return sorted(slices, key=lambda s: os.fsencode(s.path))


def _almost_equal(a: float, b: float) -> bool:
    """itk::Math::AlmostEquals for doubles: within 0.1 epsilon, or 4 units in the last place."""
    if abs(a - b) <= 0.1 * np.finfo(np.float64).eps:
        return True
    if (a < 0) != (b < 0):
        return False
    ia, ib = (struct.unpack("<q", struct.pack("<d", abs(v)))[0] for v in (a, b))
    return abs(ia - ib) <= 4


def _norm(v: np.ndarray) -> float:
    return math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])


def _check_stack(slices: list[_Slice]) -> None:
    """Refuse what ITK's ImageSeriesReader would stack into a wrong volume."""
    first = slices[0]
    for s in slices:
        if s.pf.frames > 1:
            raise ValueError(f"{s.path} is a multi-frame volume ({s.pf.frames} frames), not "
                             "a slice; read it alone with read_image(path)")
    uids = {_series_id(s.ds) for s in slices}
    if len(uids) > 1:
        raise ValueError(f"the files belong to {len(uids)} series ({sorted(uids)}); select one "
                         "with gr.dicom_series_files(folder, series_id)")
    for s in slices[1:]:
        if (s.pf.rows, s.pf.cols, s.pf.samples) != (first.pf.rows, first.pf.cols,
                                                     first.pf.samples):
            raise ValueError(f"mixed sizes: {s.path} is {s.pf.cols}x{s.pf.rows}x{s.pf.samples}"
                             f", {first.path} is {first.pf.cols}x{first.pf.rows}x"
                             f"{first.pf.samples} (columns x rows x samples)")
        if not np.allclose(s.geometry.direction[:, :2], first.geometry.direction[:, :2],
                           rtol=0, atol=1e-4):
            raise ValueError(f"mixed orientations: {s.path} and {first.path} have different "
                             "Image Orientation (Patient)")
    positions = [np.array(s.geometry.origin) for s in slices]
    normal = first.geometry.direction[:, 2]
    along = [float((p - positions[0]) @ normal) for p in positions]
    seen: dict[tuple[float, ...], _Slice] = {}
    for s, p in zip(slices, positions):
        key = tuple(np.round(p, 6))
        if key in seen:
            raise ValueError(_duplicate_message(seen[key], s))
        seen[key] = s
    _check_along_normal(positions, normal, "the series", "slices")
    steps = np.diff(along)
    if len(steps) and not (np.all(steps > 0) or np.all(steps < 0)):
        raise ValueError("the files are not in spatial order along the slice normal; order "
                         "them with gr.dicom_series_files(folder)")


def _duplicate_message(a: _Slice, b: _Slice) -> str:
    hints = []
    for tag, name in ((0x00180086, "Echo Numbers"), (0x00200012, "Acquisition Number"),
                      (0x00200100, "Temporal Position Identifier"),
                      (0x00180081, "Echo Time")):
        va, vb = _text(a.ds, tag), _text(b.ds, tag)
        if va != vb:
            hints.append(f"{name} {va!r} vs {vb!r}")
    why = (f"; they differ in {', '.join(hints)}: several echoes / acquisitions share one "
           "series, select the files of one") if hints else ""
    return (f"duplicate position: {a.path} and {b.path} are both at "
            f"{tuple(round(v, 6) for v in a.geometry.origin)}{why}")


def read_series(paths: Sequence[PathLike]) -> Image:
    """Stack single-slice DICOM files in the given order, as SimpleITK's ImageSeriesReader.

    Parameters
    ----------
    paths : sequence of paths
        The slices, first to last (order them with :func:`dicom_series_files`).

    Returns
    -------
    Image
        3-D: origin of the first file, x/y spacing and direction of the first file, z
        spacing ``|IPP_last - IPP_first| / (n - 1)`` (1 if they coincide), the z axis
        flipped when the files run against the slice normal. ``metadata`` holds no DICOM
        tags (as ImageSeriesReader's volume; see :func:`slice_metadata` for the per-file
        tags), only ``ITK_non_uniform_sampling_deviation`` when slice gaps differ.

    Warns
    -----
    UserWarning
        when a gap deviates from the spacing by more than ``1e-4 * spacing`` (missing
        slices or non-uniform sampling), as ITK.

    Raises
    ------
    ValueError
        several series, mixed sizes or orientations, multi-frame files, duplicate
        positions, files out of spatial order, gantry tilt (see the module docstring).

    Examples
    --------
    >>> import tempfile, numpy as np, gpuresample as gr
    >>> folder = tempfile.mkdtemp()
    >>> vol = gr.image_from_array(np.arange(24, dtype=np.uint16).reshape(2, 3, 4))
    >>> back = read_series(write_series(vol, folder))
    >>> back.size, back[3, 2, 1]
    ((4, 3, 2), 23)
    """
    names = [os.fspath(p) for p in paths]
    if not names:
        raise ValueError("read_series got an empty list of files")
    slices = [_Slice.open(n) for n in names]
    if len(slices) == 1:
        return _to_image(slices[0].pixels(), slices[0].geometry, MetaData())
    _check_stack(slices)
    arrays = [s.pixels() for s in slices]
    dtype = np.result_type(*arrays)
    volume = np.concatenate([a.astype(dtype, copy=False) for a in arrays], axis=0)
    first, last = slices[0].geometry, slices[-1].geometry
    dir_n = np.array(last.origin) - np.array(first.origin)
    length = _norm(dir_n)
    direction = first.direction.copy()
    metadata = MetaData()
    if _almost_equal(length, 0.0):
        z = 1.0
    else:
        z = length / (len(slices) - 1)
        if float(dir_n @ direction[:, 2]) < 0:
            direction[:, 2] *= -1
        deviation = 0.0
        for a, b in zip(slices, slices[1:]):
            gap = _norm(np.array(b.geometry.origin) - np.array(a.geometry.origin))
            if not _almost_equal(gap, z):
                deviation = max(deviation, abs(z - gap))
        if deviation > 0:
            metadata["ITK_non_uniform_sampling_deviation"] = repr(deviation)
        if deviation > 1e-4 * z:
            warnings.warn(f"non-uniform sampling or missing slices: a slice gap deviates by "
                          f"{deviation:.6g} from the spacing {z:.6g} (files "
                          f"{names[0]} ... {names[-1]})", stacklevel=2)
    geometry = _Geometry(first.origin, first.spacing[:2] + (z,), direction, first.cosines)
    return _to_image(volume, geometry, metadata)


def slice_metadata(paths: Sequence[PathLike]) -> list[MetaData]:
    """Each file's tags, as ImageSeriesReader's per-slice dictionaries.

    ``sitk.ImageSeriesReader`` with ``MetaDataDictionaryArrayUpdateOn()`` then
    ``GetMetaDataKeys(i)`` / ``GetMetaData(i, key)``; the keys and values are those
    :func:`read` puts in an image's ``metadata``.

    Examples
    --------
    >>> import tempfile, numpy as np, gpuresample as gr
    >>> files = write_series(gr.image_from_array(np.zeros((2, 3, 4), np.int16)),
    ...                      tempfile.mkdtemp())
    >>> [md["0020|0013"] for md in slice_metadata(files)]
    ['1 ', '2 ']
    """
    return [_metadata(_open(os.fspath(p), defer=True)) for p in paths]


# ----------------------------------------------------------------------------- writing
_WRITABLE = {PixelType.INT8, PixelType.UINT8, PixelType.INT16, PixelType.UINT16,
             PixelType.INT32, PixelType.UINT32}
# tags the writer derives from the image itself, never copied from its dictionary
_DERIVED = frozenset({0x00080016, 0x00080018, 0x0020000D, 0x0020000E, 0x00200052, 0x00200013,
                      0x00200032, 0x00200037, 0x00180050, 0x00180088, 0x00080060})
_SOP_BY_MODALITY = {"CT": _CT, "MR": _MR, "PT": _PET}


def _check_writable(image: Image) -> None:
    pt = image.pixel_type
    ok = pt in _WRITABLE or (pt is PixelType.VECTOR_UINT8 and image.number_of_components == 3)
    if not ok:
        hint = (" (cast first, e.g. gr.cast(img, gr.PixelType.INT16); SimpleITK refuses float "
                "pixels too)" if pt.dtype.kind == "f" else "")
        raise ValueError(f"DICOM files store INT8 ... UINT32 or 3-component VECTOR_UINT8 (RGB)"
                         f" pixels, not {pt.name} with {image.number_of_components} "
                         f"component(s){hint}")


def _ds_string(value: float) -> str:
    from pydicom.valuerep import format_number_as_ds
    text = format_number_as_ds(float(value))
    return "0" if text in ("-0", "-0.0") else text


def _geometry_3d(image: Image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(origin, spacing, direction) of ``image`` embedded in 3-D."""
    d = image.dimension
    origin, spacing, direction = np.zeros(3), np.ones(3), np.eye(3)
    origin[:d], spacing[:d], direction[:d, :d] = image.origin, image.spacing, image.direction
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-6):
        raise ValueError("DICOM stores orthonormal orientations only; this image's direction "
                         f"is not orthonormal: {image.direction.tolist()}")
    return origin, spacing, direction


def _metadata_elements(ds: Any, metadata: MetaData, path: str) -> None:
    """Copy ``"gggg|eeee"`` dictionary entries into ``ds`` (as SimpleITK's writer does)."""
    pydicom = _pydicom()
    for key, value in metadata.items():
        match = re.fullmatch(r"([0-9a-fA-F]{4})\|([0-9a-fA-F]{4})", key)
        if not match:
            continue   # not a DICOM tag (ITK_..., ...)
        tag = int(match.group(1) + match.group(2), 16)
        group, element = tag >> 16, tag & 0xFFFF
        if group in (0x0002, 0x0028, 0x7FE0) or group % 2 or element == 0 or tag in _DERIVED:
            continue   # file meta, pixel module, private, group lengths: the writer's own
        try:
            vr = pydicom.datadict.dictionary_VR(tag)
        except KeyError:
            warnings.warn(f"{path}: metadata key {key} is not a known DICOM tag; not written",
                          stacklevel=4)
            continue
        vr = "OW" if " or " in vr and "OW" in vr else vr.split(" or ")[0]
        try:
            converted = _parse_value(value, vr)
        except ValueError:
            warnings.warn(f"{path}: metadata {key} = {value!r} is not a valid {vr} value; "
                          "not written", stacklevel=4)
            continue
        if converted is not None:
            ds.add_new(tag, vr, converted)


def _parse_value(value: str, vr: str) -> Any:
    """A dictionary string as the element value SimpleITK's writer stores (text as bytes)."""
    if vr == "SQ":
        return None
    if vr in _TEXT_VRS:
        data = value.encode("utf-8", "surrogateescape")
        return data + (b"\0" if vr == "UI" else b" ") * (len(data) % 2)
    if vr in ("US", "SS", "UL", "SL"):
        values = [int(v) for v in value.split("\\") if v.strip()]
        return values if len(values) != 1 else values[0]
    if vr in ("FL", "FD"):
        values = [float(v) for v in value.split("\\") if v.strip()]
        return values if len(values) != 1 else values[0]
    if vr == "AT":
        values = [int(g + e, 16) for g, e in re.findall(r"\(([0-9a-fA-F]{4}),([0-9a-fA-F]{4})\)",
                                                        value)]
        return values if len(values) != 1 else values[0]
    try:
        return base64.b64decode(value, validate=True)
    except Exception as exc:
        raise ValueError(str(exc)) from None


def _dataset(image2d: Image, geometry: tuple[np.ndarray, np.ndarray, np.ndarray], k: int,
             uids: dict[str, str], path: str, compress: bool, metadata: MetaData) -> Any:
    """A data set holding slice ``k`` (a 2-D image) of a volume with ``geometry``."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid
    origin, spacing, direction = geometry
    modality = (metadata.get("0008|0060") or "OT").strip() or "OT"
    sop = metadata.get("0008|0016", "").strip(" \0")
    if sop not in _SOP_BY_MODALITY.values() and sop != _SC:
        sop = _SOP_BY_MODALITY.get(modality, _SC)
    ds = Dataset()
    _metadata_elements(ds, metadata, path)
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uids["study"], uids["series"]
    ds.FrameOfReferenceUID = uids["frame"]
    ds.Modality = modality
    if "SeriesNumber" not in ds:
        ds.SeriesNumber = 1
    ds.InstanceNumber = k + 1
    position = origin + (direction[:, 2] * spacing[2]) * k   # ITK: o + (D diag(s)) i
    ds.ImagePositionPatient = [_ds_string(v) for v in position]
    ds.ImageOrientationPatient = [_ds_string(v) for v in np.r_[direction[:, 0], direction[:, 1]]]
    ds.PixelSpacing = [_ds_string(spacing[1]), _ds_string(spacing[0])]
    if uids["thickness"]:
        ds.SliceThickness = _ds_string(spacing[2])
    if uids["slices"]:
        ds.SpacingBetweenSlices = _ds_string(spacing[2])
    array = np.ascontiguousarray(image2d._array)
    rgb = image2d.pixel_type.is_vector
    ds.Rows, ds.Columns = int(array.shape[0]), int(array.shape[1])
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = "RGB" if rgb else "MONOCHROME2"
    if rgb:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = array.dtype.itemsize * 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if array.dtype.kind == "i" else 0
    ds.PixelData = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if compress:
        try:
            ds.compress(RLELossless, encoding_plugin="pydicom")
        except ValueError:
            pass   # pydicom's RLE encoder refuses some layouts (32-bit unsigned): keep it raw
    return ds


def _save(ds: Any, path: str) -> None:
    with atomic_write(path) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # pydicom's value-format advice
            ds.save_as(tmp, enforce_file_format=True)


def _new_uids(thickness: bool, slices: bool) -> dict[str, Any]:
    from pydicom.uid import generate_uid
    return {"study": generate_uid(), "series": generate_uid(), "frame": generate_uid(),
            "thickness": thickness, "slices": slices}


def write(image: Image, path: PathLike, *, compress: bool = False) -> None:
    """Write one slice as a DICOM file that SimpleITK reads back to the same image.

    Parameters
    ----------
    image : Image
        2-D, or 3-D with one slice (what :func:`read` gives); INT8 ... UINT32 or RGB
        (3-component VECTOR_UINT8). A volume with several slices: :func:`write_series`.
    path : path
    compress : bool
        RLE Lossless (pydicom's encoder) instead of uncompressed Explicit VR Little Endian
        (SimpleITK compresses with JPEG 2000). GDCM fails to decode RLE frames of very small
        images (a few hundred bytes).

    Notes
    -----
    Origin, orientation (Image Orientation (Patient) from the direction's first two
    columns), Pixel Spacing and, for a 3-D image, Spacing Between Slices are written; new
    Study, Series, Frame of Reference and SOP Instance UIDs (as SimpleITK, which replaces
    them unless told to keep them); Modality from ``metadata["0008|0060"]`` (default "OT"),
    SOP class CT, MR or PET for those modalities, else Secondary Capture; every other
    public ``"gggg|eeee"`` key of ``image.metadata`` as its tag, except the pixel module and
    the geometry tags, which follow the image. The SOP class of ``metadata["0008|0016"]``
    is kept when it is CT, MR, PET or Secondary Capture (single-frame classes whose
    geometry tags this writer fills).

    Examples
    --------
    >>> import os, tempfile, numpy as np, gpuresample as gr
    >>> img = gr.image_from_array(np.arange(12, dtype=np.int16).reshape(3, 4))
    >>> img.spacing, img.origin = (0.5, 0.8), (1.0, 2.0)
    >>> path = os.path.join(tempfile.mkdtemp(), "a.dcm")
    >>> write(img, path)
    >>> read(path).spacing
    (0.5, 0.8, 1.0)
    """
    _pydicom()   # ImportError naming the extra before anything else
    name = os.fspath(path)
    if image.dimension == 3 and image.size[2] != 1:
        raise ValueError(f"a DICOM file written here holds one slice; this volume has "
                         f"{image.size[2]}: use gpuresample.io.dicom.write_series(image, "
                         "folder)")
    if image.dimension not in (2, 3):
        raise ValueError(f"DICOM files hold 2-D or 3-D images, not {image.dimension}-D")
    _check_writable(image)
    image = image.to("cpu")
    geometry = _geometry_3d(image)
    slice2d = image[:, :, 0] if image.dimension == 3 else image
    uids = _new_uids(thickness=False, slices=image.dimension == 3)
    _save(_dataset(slice2d, geometry, 0, uids, name, compress, image.metadata), name)


def write_series(image: Image, folder_or_paths: PathLike | Sequence[PathLike], *,
                 compress: bool = False, pattern: str = "slice{:04d}.dcm") -> list[str]:
    """Write a volume as a DICOM series: one file per z slice, with correct geometry.

    Parameters
    ----------
    image : Image
        3-D (a 2-D image gives one file); INT8 ... UINT32 or RGB (3-component
        VECTOR_UINT8); an orthonormal direction.
    folder_or_paths : path or sequence of paths
        A folder (created if missing) to write ``pattern.format(k)`` into, or one path per
        slice.
    compress : bool
        RLE Lossless (see :func:`write`).
    pattern : str
        File names in a folder.

    Returns
    -------
    list of str
        The files, slice 0 first.

    Notes
    -----
    Each file gets Image Position (Patient) ``origin + k * spacing_z * direction[:, 2]``,
    the shared Image Orientation (Patient), Pixel Spacing, Slice Thickness and Spacing
    Between Slices, Instance Number ``k + 1`` and its own SOP Instance UID; one Study,
    Series and Frame of Reference UID for all (``pydicom.uid.generate_uid``). Modality and
    the other tags as :func:`write`. ``read_series`` of the files in the returned order
    (and SimpleITK's ImageSeriesReader) gives the volume back, to the ~12 significant
    digits of DICOM's 16-character decimal strings. GDCM's file order
    (:func:`dicom_series_files`) is ascending along the slice normal ``row x column``, so
    a volume with a left-handed direction comes back with z reversed (the same physical
    image).

    Examples
    --------
    >>> import tempfile, numpy as np, gpuresample as gr
    >>> vol = gr.image_from_array(np.zeros((3, 4, 5), np.uint8))
    >>> len(write_series(vol, tempfile.mkdtemp()))
    3
    """
    _pydicom()
    if image.dimension not in (2, 3):
        raise ValueError(f"a DICOM series holds a 2-D or 3-D image, not {image.dimension}-D")
    _check_writable(image)
    image = image.to("cpu")
    depth = image.size[2] if image.dimension == 3 else 1
    if isinstance(folder_or_paths, (list, tuple)):
        paths = [os.fspath(p) for p in folder_or_paths]
        if len(paths) != depth:
            raise ValueError(f"got {len(paths)} file names for a volume of {depth} slices")
    else:
        folder = os.fspath(folder_or_paths)
        os.makedirs(folder, exist_ok=True)
        paths = [os.path.join(folder, pattern.format(k)) for k in range(depth)]
    geometry = _geometry_3d(image)
    uids = _new_uids(thickness=True, slices=True)
    for k, path in enumerate(paths):
        slice2d = image[:, :, k] if image.dimension == 3 else image
        _save(_dataset(slice2d, geometry, k, uids, path, compress, image.metadata), path)
    return paths
