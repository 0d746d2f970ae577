"""Spatial transforms with SimpleITK's parameterisations and exact point arithmetic."""

from .affine import (AffineTransform, Euler2DTransform, Euler3DTransform,
                     MatrixOffsetTransform, ScaleTransform, Similarity2DTransform,
                     Similarity3DTransform, VersorRigid3DTransform, VersorTransform)
from .base import IdentityTransform, Transform, TranslationTransform, transform_from_parameters
from .bspline import BSplineTransform, bspline_displacement, bspline_kernel
from .composite import CompositeTransform
from .displacement import (DisplacementFieldTransform, InversionResult, field_displacement,
                           invert_displacement_field)
from .sitk_convert import transform_from_sitk, transform_to_sitk

__all__ = [
    "Transform", "MatrixOffsetTransform", "IdentityTransform", "TranslationTransform",
    "ScaleTransform", "AffineTransform", "Euler2DTransform", "Similarity2DTransform",
    "Euler3DTransform", "VersorTransform", "VersorRigid3DTransform", "Similarity3DTransform",
    "CompositeTransform", "transform_from_parameters", "transform_to_sitk",
    "transform_from_sitk", "BSplineTransform", "bspline_displacement", "bspline_kernel",
    "DisplacementFieldTransform", "field_displacement", "invert_displacement_field",
    "InversionResult",
]
