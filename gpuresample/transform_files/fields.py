"""Displacement fields stored as vector images (``.nii``, ``.nii.gz``, ``.nrrd``, ``.nhdr``,
``.mha``, ``.mhd``), ANTs warps included.

The image's pixels are the displacement vectors, read as stored: ITK (and so ANTs, which
writes its warps through ITK) keeps them in LPS physical coordinates, and no format's
RAS <-> LPS conversion of the geometry touches the vector values. A NIfTI warp as ANTs
writes it (``dim[0] = 5``, ``dim[4] = 1``, ``dim[5] = D``, intent 1007 "vector") reads
as a D-D image of D components, as in SimpleITK. The transform equals SimpleITK's
``DisplacementFieldTransform(sitk.Cast(sitk.ReadImage(path), sitk.sitkVectorFloat64))``.

Writing stores the field as a VECTOR_FLOAT64 image with the field's geometry (the
interpolator and an inverse field are not stored; a warning says so when that loses
something).

Example
-------
>>> import os, tempfile, numpy as np
>>> from gpuresample import image_from_array
>>> from gpuresample.transforms import DisplacementFieldTransform
>>> t = DisplacementFieldTransform(image_from_array(np.ones((3, 4, 2)), is_vector=True))
>>> path = os.path.join(tempfile.mkdtemp(), "warp.nii.gz")
>>> write(t, path)
>>> read(path).transform_point((1.0, 1.0))
(2.0, 2.0)
"""

from __future__ import annotations

import os

from ..io import ImageFileError, read_image, write_image
from ..pixeltypes import PixelType
from ..transforms import DisplacementFieldTransform, Transform
from ._common import TransformFileError, leaves, warn_lost_state

__all__ = ["read", "write", "EXTENSIONS"]

EXTENSIONS = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")
_FLOAT_VECTORS = (PixelType.VECTOR_FLOAT64, PixelType.VECTOR_FLOAT32)


def read(path: str | os.PathLike) -> DisplacementFieldTransform:
    """A displacement field transform from a vector image file (linear interpolation, no
    inverse field); TransformFileError naming the file when it holds no field."""
    name = os.fspath(path)
    try:
        image = read_image(name)
    except ImageFileError as exc:
        raise TransformFileError(str(exc)) from None
    d = image.dimension
    if image.pixel_type not in _FLOAT_VECTORS or image.number_of_components != d:
        raise TransformFileError(
            f"{name}: not a displacement field: a {d}-D field holds {d} float components per "
            f"pixel, this image has {image.pixel_type.name} pixels with "
            f"{image.number_of_components} component(s)")
    if d not in (2, 3):
        raise TransformFileError(f"{name}: a {d}-D image; displacement fields are 2-D or 3-D")
    image.direction = image.direction + 0.0    # ITK's direction has no negative zeros
    try:
        return DisplacementFieldTransform(image)
    except ValueError as exc:
        raise TransformFileError(f"{name}: {exc}") from None


def write(transform: Transform, path: str | os.PathLike) -> None:
    """Write a displacement field transform's field as a VECTOR_FLOAT64 image."""
    members = leaves(transform)
    if len(members) != 1 or not isinstance(members[0], DisplacementFieldTransform):
        kinds = ", ".join(t.itk_class_name for t in members) or "an empty composite"
        raise ValueError(f"cannot write {kinds} to {os.fspath(path)}: an image file holds a "
                         "single displacement field (use .tfm or .h5 for other transforms)")
    field = members[0]
    warn_lost_state(field, stacklevel=4)
    write_image(field.field_image(), path)
