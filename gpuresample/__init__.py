"""gpuresample: resample 2D and 3D images in physical space, with SimpleITK's semantics,
on NVIDIA GPUs and CPUs.

Example
-------
>>> import numpy as np, gpuresample as gr
>>> img = gr.image_from_array(np.zeros((4, 5), np.float32))
>>> gr.resample(img, gr.Euler2DTransform(angle=0.1), device="cpu").size
(5, 4)
"""

from .arithmetic import Tolerances, get_tolerances, set_tolerances
from .backends import backends
from .geometry import Grid
from .grids import bounding_grid
from .image import Image, array_from_image, array_view_from_image, image_from_array
from .intensity import cast, rescale_intensity
from .pixeltypes import PixelType, as_pixel_type
from .resample import resample, resample_batch
from .io import (dicom_series_files, dicom_series_ids, read_image, write_dicom_series,
                 write_image)
from .io.nifti import from_nibabel, to_nibabel
from .sitk_interop import from_sitk, to_sitk
from .transform_files import TransformFileError, read_transform, write_transform
from .transforms.bspline import BSplineTransform
from .transforms.displacement import DisplacementFieldTransform, invert_displacement_field
from .transforms import (AffineTransform, CompositeTransform, Euler2DTransform,
                         Euler3DTransform, IdentityTransform, ScaleTransform,
                         Similarity2DTransform, Similarity3DTransform, Transform,
                         TranslationTransform, VersorRigid3DTransform, VersorTransform)

__version__ = "0.1.0"

__all__ = [
    "Image", "PixelType", "Grid", "as_pixel_type", "image_from_array", "array_from_image",
    "array_view_from_image", "resample", "resample_batch", "bounding_grid", "backends",
    "from_sitk", "to_sitk",
    "Transform", "IdentityTransform", "TranslationTransform", "Euler2DTransform",
    "Euler3DTransform", "Similarity2DTransform", "Similarity3DTransform",
    "VersorTransform", "VersorRigid3DTransform", "ScaleTransform", "AffineTransform",
    "CompositeTransform", "BSplineTransform", "DisplacementFieldTransform",
    "invert_displacement_field", "cast", "rescale_intensity", "Tolerances",
    "get_tolerances", "set_tolerances", "read_image", "write_image", "dicom_series_ids",
    "dicom_series_files", "write_dicom_series", "from_nibabel", "to_nibabel",
    "read_transform", "write_transform", "TransformFileError",
]
