"""The per-format capability table: which file formats exist, and what each one stores.

This table is data read by the readers' dispatch, the tests (round trips follow it) and the
docs. Each format lives in its own module of :mod:`gpuresample.io` with two functions,
``read(path, **options) -> Image`` and ``write(image, path, *, compress, **options)``.

Example
-------
>>> fmt = format_for_path("scan.nii.gz")
>>> fmt.name, fmt.stores_direction
('nifti', True)
>>> format_for_path("photo.JPG").lossy
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..pixeltypes import PixelType

__all__ = ["FileFormat", "FORMATS", "format_for_path", "format_by_name"]

_INTEGERS = frozenset(PixelType(i) for i in range(8))
_SCALARS = frozenset(PixelType(i) for i in range(10))
_VECTORS = frozenset(PixelType(i) for i in range(12, 22))
_ALL = frozenset(PixelType)
# what ITK's TIFF reader and writer take: 8 to 32 bit integers and float32, and their vectors
_TIFF_TYPES = frozenset(PixelType[n] for base in ("INT8", "UINT8", "INT16", "UINT16", "INT32",
                                                  "UINT32", "FLOAT32")
                        for n in (base, "VECTOR_" + base))


@dataclass(frozen=True)
class FileFormat:
    """One file format and what it can hold.

    Attributes
    ----------
    name : str
        Short name (``format=`` arguments, the docs).
    extensions : tuple of str
        Lower-case file name endings, longest first where they overlap.
    module : str
        The :mod:`gpuresample.io` submodule that reads and writes it.
    extra : str
        The ``pip install gpuresample[extra]`` that brings its library ("" if none).
    pixel_types : frozenset of PixelType
        Pixel types it stores as they are (others are refused on write).
    dimensions : frozenset of int
        Image dimensions it stores.
    stores_origin, stores_spacing, stores_direction : bool
        Whether the geometry field survives a round trip.
    lossy : bool
        Whether pixel values change on a round trip (JPEG).

    Round trips also follow SimpleITK in two ways the table does not spell out: a
    1-component vector image comes back scalar from MetaImage, NRRD and NIfTI, and a
    complex image written to MetaImage comes back as a 2-component vector (``read(...,
    as_complex=True)`` in :mod:`gpuresample.io.metaimage` restores it).
    """

    name: str
    extensions: tuple[str, ...]
    module: str
    extra: str
    pixel_types: frozenset
    dimensions: frozenset
    stores_origin: bool = True
    stores_spacing: bool = True
    stores_direction: bool = True
    lossy: bool = False


FORMATS: tuple[FileFormat, ...] = (
    FileFormat("metaimage", (".mha", ".mhd"), "metaimage", "", _ALL, frozenset({2, 3, 4})),
    FileFormat("nrrd", (".nrrd", ".nhdr"), "nrrd", "nrrd", _ALL, frozenset({2, 3, 4})),
    FileFormat("nifti", (".nii.gz", ".nii"), "nifti", "nifti", _ALL, frozenset({2, 3, 4})),
    FileFormat("dicom", (".dcm", ".dicom"), "dicom", "dicom",
               frozenset({PixelType.INT8, PixelType.UINT8, PixelType.INT16, PixelType.UINT16,
                          PixelType.INT32, PixelType.UINT32, PixelType.VECTOR_UINT8}),
               frozenset({2, 3})),
    FileFormat("tiff", (".tiff", ".tif"), "tiff", "tiff", _TIFF_TYPES,
               frozenset({2, 3}), stores_origin=False, stores_direction=False),
    FileFormat("png", (".png",), "raster", "png",
               frozenset({PixelType.UINT8, PixelType.UINT16, PixelType.VECTOR_UINT8,
                          PixelType.VECTOR_UINT16}),
               frozenset({2}), stores_origin=False, stores_direction=False),
    FileFormat("jpeg", (".jpeg", ".jpg"), "raster", "png",
               frozenset({PixelType.UINT8, PixelType.VECTOR_UINT8}), frozenset({2}),
               stores_origin=False, stores_spacing=False, stores_direction=False, lossy=True),
    # a folder; direction in gpuresample's own attribute (other tools see none)
    FileFormat("ome-zarr", (".ome.zarr", ".zarr"), "omezarr", "zarr",
               frozenset(t for t in _SCALARS | _VECTORS if not t.is_complex),
               frozenset({2, 3})),
    FileFormat("bmp", (".bmp",), "raster", "png",
               frozenset({PixelType.UINT8, PixelType.VECTOR_UINT8}), frozenset({2}),
               stores_origin=False, stores_spacing=False, stores_direction=False),
)


def format_by_name(name: str) -> FileFormat:
    """The format called ``name`` (``"nifti"``, ``"tiff"``, ...)."""
    for fmt in FORMATS:
        if fmt.name == name.lower():
            return fmt
    raise ValueError(f"unknown image format {name!r}; known: "
                     f"{', '.join(f.name for f in FORMATS)}")


def format_for_path(path: str | os.PathLike) -> FileFormat:
    """The format a file name's extension names (case-insensitive).

    Raises ValueError listing the known extensions for anything else.
    """
    name = os.fspath(path).lower()
    matches = [(len(ext), fmt) for fmt in FORMATS for ext in fmt.extensions
               if name.endswith(ext)]
    if not matches:
        known = ", ".join(ext for fmt in FORMATS for ext in fmt.extensions)
        raise ValueError(f"cannot tell the image format of {os.fspath(path)!r} from its "
                         f"extension; known extensions: {known}")
    return max(matches, key=lambda m: m[0])[1]
