"""Conversion between gpuresample and SimpleITK objects (SimpleITK is optional).

Images convert exactly: pixels, pixel type, origin, spacing, direction and every meta-data
key and value. Transforms are converted by :mod:`gpuresample.transforms.sitk_convert`.

Example
-------
>>> import SimpleITK as sitk
>>> s = sitk.Image([4, 3], sitk.sitkInt16)
>>> s.SetSpacing((0.5, 2.0))
>>> img = from_sitk(s)
>>> img.size, img.pixel_type.name, img.spacing
((4, 3), 'INT16', (0.5, 2.0))
>>> to_sitk(img).GetSpacing()
(0.5, 2.0)
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .image import Image
from .pixeltypes import as_pixel_type

__all__ = ["from_sitk", "to_sitk"]


def _import_sitk() -> ModuleType:
    try:
        import SimpleITK
    except ImportError as exc:
        raise ImportError("SimpleITK is needed to convert to and from SimpleITK objects: "
                          "pip install gpuresample[sitk]") from exc
    return SimpleITK


def from_sitk(obj: Any) -> Any:
    """The gpuresample equivalent of a SimpleITK ``Image`` or ``Transform``.

    Images come back on the host with their pixel type, geometry and meta-data. Vector
    images keep a trailing component axis in their array even with 1 component.
    SimpleITK's label-map pixel types have no gpuresample equivalent (TypeError; convert
    them with ``sitk.LabelMapToLabel`` first).

    >>> import SimpleITK as sitk
    >>> from_sitk(sitk.Image([4, 3], sitk.sitkVectorFloat32, 1)).number_of_components
    1
    """
    sitk = _import_sitk()
    if isinstance(obj, sitk.Image):
        return _image_from_sitk(sitk, obj)
    if isinstance(obj, sitk.Transform):
        from .transforms.sitk_convert import transform_from_sitk
        return transform_from_sitk(obj)
    raise TypeError(f"expected a SimpleITK Image or Transform, got {type(obj).__name__}")


def to_sitk(obj: Any) -> Any:
    """The SimpleITK equivalent of a gpuresample ``Image`` or transform.

    GPU images are copied to the host first.

    >>> to_sitk(Image((4, 3), "uint8")).GetPixelIDTypeAsString()
    '8-bit unsigned integer'
    """
    sitk = _import_sitk()
    if isinstance(obj, Image):
        return _image_to_sitk(sitk, obj)
    from .transforms import Transform
    if isinstance(obj, Transform):
        from .transforms.sitk_convert import transform_to_sitk
        return transform_to_sitk(obj)
    raise TypeError(f"expected a gpuresample Image or Transform, got {type(obj).__name__}")


def _image_from_sitk(sitk: ModuleType, simg: Any) -> Image:
    # checked before GetArrayFromImage, which aborts the process on label maps
    pixel_type = as_pixel_type(simg.GetPixelID())
    array = sitk.GetArrayFromImage(simg)   # a copy, owned by the new image
    if pixel_type.is_vector and simg.GetNumberOfComponentsPerPixel() == 1:
        array = array[..., None]           # SimpleITK drops a single component axis
    return Image._from_array(array, is_vector=pixel_type.is_vector, origin=simg.GetOrigin(),
                             spacing=simg.GetSpacing(), direction=simg.GetDirection(),
                             metadata={k: simg.GetMetaData(k) for k in simg.GetMetaDataKeys()})


def _image_to_sitk(sitk: ModuleType, img: Image) -> Any:
    # isVector given explicitly: SimpleITK would read a 4-D scalar array as a vector image
    simg = sitk.GetImageFromArray(img.to("cpu")._array, isVector=img.pixel_type.is_vector)
    simg.SetOrigin(img.origin)
    simg.SetSpacing(img.spacing)
    simg.SetDirection(img.direction.reshape(-1).tolist())
    for key, value in img.metadata.items():
        simg.SetMetaData(key, value)
    return simg
