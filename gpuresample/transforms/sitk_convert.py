"""Conversion between gpuresample transforms and SimpleITK transforms (SimpleITK optional).

Round trips are exact: parameters, fixed parameters, and the internal versor (whose scalar
part SimpleITK keeps but does not report in the parameters) all come back bit for bit, so
points map identically on both sides.

Example
-------
>>> from gpuresample.transforms import Euler2DTransform
>>> st = transform_to_sitk(Euler2DTransform(angle=0.5))
>>> st.GetName(), transform_from_sitk(st).parameters
('Euler2DTransform', (0.5, 0.0, 0.0))
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from .affine import (AffineTransform, Euler2DTransform, Euler3DTransform, ScaleTransform,
                     Similarity2DTransform, Similarity3DTransform, VersorRigid3DTransform,
                     VersorTransform, versor_from_quaternion, versor_from_right_part)
from .base import IdentityTransform, Transform, TranslationTransform, transform_from_parameters
from .bspline import BSplineTransform
from .composite import CompositeTransform
from .displacement import DisplacementFieldTransform, field_displacement

__all__ = ["transform_to_sitk", "transform_from_sitk"]

# SimpleITK's TransformEnum names -> ITK class names ({d}: the transform's dimension)
_ENUM_NAMES = {
    "sitkIdentity": "IdentityTransform", "sitkTranslation": "TranslationTransform",
    "sitkScale": "ScaleTransform", "sitkScaleLogarithmic": "ScaleLogarithmicTransform",
    "sitkEuler": "Euler{d}DTransform", "sitkSimilarity": "Similarity{d}DTransform",
    "sitkQuaternionRigid": "QuaternionRigidTransform", "sitkVersor": "VersorTransform",
    "sitkVersorRigid": "VersorRigid3DTransform",
    "sitkScaleSkewVersor": "ScaleSkewVersor3DTransform",
    "sitkComposeScaleSkewVersor": "ComposeScaleSkewVersor3DTransform",
    "sitkScaleVersor": "ScaleVersor3DTransform", "sitkAffine": "AffineTransform",
    "sitkComposite": "CompositeTransform", "sitkDisplacementField": "DisplacementFieldTransform",
    "sitkBSplineTransform": "BSplineTransform",
}


def _sitk():
    try:
        import SimpleITK
    except ImportError as exc:
        raise ImportError("SimpleITK is needed to convert transforms: "
                          "pip install gpuresample[sitk]") from exc
    return SimpleITK


def _kind(sitk, st) -> str:
    """The ITK class name of a SimpleITK transform (generic ``sitk.Transform`` included)."""
    enum = st.GetTransformEnum()
    for enum_name, name in _ENUM_NAMES.items():
        if getattr(sitk, enum_name, None) == enum:
            return name.format(d=st.GetDimension())
    return st.GetName()


# ---------------------------------------------------------------------------------------
# SimpleITK -> gpuresample
# ---------------------------------------------------------------------------------------

def transform_from_sitk(sitk_transform: Any) -> Transform:
    """A gpuresample transform equal to a SimpleITK one (any ``sitk.Transform``).

    Supported: identity (``sitk.Transform()``, with its dimension), translation, scale,
    Euler 2-D/3-D, similarity 2-D/3-D, versor, versor rigid, affine, B-spline (with its
    order), displacement field (with its inverse field, if any) and composites of these.
    Other kinds raise ``NotImplementedError`` naming the kind.

    SimpleITK cannot report a displacement field's interpolator: it is found by asking
    the transform for one point where linear and nearest-neighbour interpolation differ
    (a field on which they never differ is read as linear).
    """
    sitk = _sitk()
    if not isinstance(sitk_transform, sitk.Transform):
        raise TypeError(f"expected a SimpleITK Transform, got {type(sitk_transform).__name__}")
    kind = _kind(sitk, sitk_transform)
    dimension = sitk_transform.GetDimension()
    st = sitk_transform.Downcast()
    if kind == "IdentityTransform":
        return IdentityTransform(dimension)
    if kind == "CompositeTransform":
        members = [transform_from_sitk(st.GetNthTransform(i))
                   for i in range(st.GetNumberOfTransforms())]
        return CompositeTransform(members, dimension=dimension)
    if kind == "BSplineTransform":
        return BSplineTransform.from_parameters(st.GetParameters(), st.GetFixedParameters(),
                                                dimension, order=st.GetOrder())
    if kind == "DisplacementFieldTransform":
        return _displacement_from_sitk(sitk, st, dimension)
    if kind in _VERSOR_KINDS:
        # the versor's w is state that the parameters do not carry: take it as it is
        cls = _VERSOR_KINDS[kind]
        translation = None if cls is VersorTransform else st.GetTranslation()
        extra = {"_scale": st.GetScale()} if cls is Similarity3DTransform else {}
        return cls._with_state(st.GetVersor(), translation, st.GetCenter(), **extra)
    try:
        return transform_from_parameters(kind, st.GetParameters(), st.GetFixedParameters(),
                                         dimension)
    except NotImplementedError:
        raise NotImplementedError(f"gpuresample does not support SimpleITK's {kind} yet"
                                  ) from None


def _field_array(sitk, simg) -> np.ndarray:
    arr = sitk.GetArrayFromImage(simg).astype(np.float64, copy=False)
    if simg.GetNumberOfComponentsPerPixel() == 1:
        arr = arr[..., None]
    return arr


def _displacement_from_sitk(sitk, st, dimension: int) -> DisplacementFieldTransform:
    from ..image import Image

    def image(simg):
        return Image._from_array(np.ascontiguousarray(_field_array(sitk, simg)), is_vector=True,
                                 origin=simg.GetOrigin(), spacing=simg.GetSpacing(),
                                 direction=simg.GetDirection())

    field = image(st.GetDisplacementField())
    inverse_img = st.GetInverseDisplacementField()
    inverse = image(inverse_img) if min(inverse_img.GetSize(), default=0) > 0 else None
    out = DisplacementFieldTransform(field, "linear", inverse)
    probe = _interpolator_probe(out)
    if probe is not None and st.TransformPoint(tuple(probe[0])) == tuple(probe[1]):
        out = DisplacementFieldTransform(field, "nearest", inverse)
    return out


def _interpolator_probe(t: DisplacementFieldTransform):
    """A point where the field's linear and nearest values differ, with the nearest
    result: ``(point, T_nearest(point))``, or None when they agree at every probe."""
    d = t.dimension
    size = np.asarray(t.field_size)
    for offset in (0.25, 0.75):
        cidx = np.stack(np.meshgrid(*[np.arange(n) + offset for n in size], indexing="ij"),
                        axis=-1).reshape(-1, d)
        cidx = np.minimum(cidx, size - 0.75)
        A = t.field_direction * np.asarray(t.field_spacing)[None, :]
        points = np.asarray(t.field_origin)[None, :] + cidx @ A.T
        lin, _ = field_displacement(points, t.field, t.field_origin, t.field_spacing,
                                    t.field_direction, "linear")
        near, inside = field_displacement(points, t.field, t.field_origin, t.field_spacing,
                                          t.field_direction, "nearest")
        differ = np.flatnonzero(inside & np.any(points + lin != points + near, axis=1))
        if differ.size:
            k = differ[0]
            return points[k], points[k] + near[k]
    return None


_VERSOR_KINDS: dict[str, type[VersorTransform]] = {
    "VersorTransform": VersorTransform, "VersorRigid3DTransform": VersorRigid3DTransform,
    "Similarity3DTransform": Similarity3DTransform,
}


# ---------------------------------------------------------------------------------------
# gpuresample -> SimpleITK
# ---------------------------------------------------------------------------------------

def transform_to_sitk(transform: Transform) -> Any:
    """The SimpleITK transform equal to ``transform`` (same kind, parameters and state)."""
    sitk = _sitk()
    if not isinstance(transform, Transform):
        raise TypeError(f"expected a gpuresample Transform, got {type(transform).__name__}")
    maker = _TO_SITK.get(type(transform))
    if maker is None:
        raise NotImplementedError(f"converting {transform.itk_class_name} to SimpleITK is not "
                                  "supported")
    return maker(sitk, transform)


def _composite(sitk, t: CompositeTransform):
    out = sitk.CompositeTransform(t.dimension)
    for member in t.transforms:
        out.AddTransform(transform_to_sitk(member))
    return out


def _scale(sitk, t: ScaleTransform):
    out = sitk.ScaleTransform(t.dimension, t.scale)
    out.SetCenter(t.center)
    return out


def _euler3d(sitk, t: Euler3DTransform):
    out = sitk.Euler3DTransform(t.center, *t.angles, t.translation)
    out.SetComputeZYX(t.compute_zyx)
    return out


def _versor_preimage(q: Sequence[float]) -> tuple[float, ...] | None:
    """A 4-vector ``c`` that ITK's ``Versor::Set(x, y, z, w)`` normalises to exactly ``q``.

    ``c ≈ t·q`` for a norm ``t`` in [1, 2): each ``c_i`` must divide back to ``q_i`` and
    ``sqrt(Σ c_i²)`` must round to ``t``. Normalising ``q`` itself (``t = 1``) fails about
    a third of the time; trying a few hundred ``t`` found a preimage for every one of
    thousands of SimpleITK-made versors (see ``_versor`` for the fallback).
    """
    q = tuple(q)
    for i in range(251):
        for t in _around(1.0 + i / 251.0):
            choices = []
            for v in q:
                valid = [c for c in _around(v * t) if c / t == v]
                if not valid:
                    break
                choices.append(valid)
            else:
                for candidate in itertools.product(*choices):
                    if versor_from_quaternion(candidate) == q:
                        return candidate
    return None


def _around(x: float) -> tuple[float, float, float]:
    return (x, math.nextafter(x, math.inf), math.nextafter(x, -math.inf))


def _versor(sitk, t: VersorTransform):
    kind = type(t)

    def make(q: Sequence[float]):
        if kind is VersorTransform:
            return sitk.VersorTransform(list(q), t.center)
        if kind is VersorRigid3DTransform:
            return sitk.VersorRigid3DTransform(list(q), t.translation, t.center)
        return sitk.Similarity3DTransform(t.scale, list(q), t.translation, t.center)

    rescale = kind is not VersorTransform
    if versor_from_right_part(t.versor[:3], rescale) == t.versor:
        out = make((0.0, 0.0, 0.0, 1.0))   # the parameters reproduce the state exactly
        out.SetParameters(t.parameters)
        return out
    source = t._versor_input if t._versor_input is not None else _versor_preimage(t.versor)
    if source is not None:
        out = make(source)
        if out.GetVersor() == t.versor:
            return out
    # no exact preimage found: the parameters are exact, w may differ by an ulp
    out = make((0.0, 0.0, 0.0, 1.0))
    out.SetParameters(t.parameters)
    return out


def _bspline(sitk, t: BSplineTransform):
    out = sitk.BSplineTransform(t.dimension, t.order)
    out.SetFixedParameters(t.fixed_parameters)
    out.SetParameters(t.parameters)
    return out


def _field_image(sitk, t: DisplacementFieldTransform, array: np.ndarray):
    simg = sitk.GetImageFromArray(np.array(array, dtype=np.float64), isVector=True)
    simg.SetOrigin(t.field_origin)
    simg.SetSpacing(t.field_spacing)
    simg.SetDirection(t.field_direction.reshape(-1).tolist())
    return simg


def _displacement(sitk, t: DisplacementFieldTransform):
    out = sitk.DisplacementFieldTransform(_field_image(sitk, t, t.field))
    if t.interpolator == "nearest":
        out.SetInterpolator(sitk.sitkNearestNeighbor)
    if t.inverse_field is not None:
        if t.interpolator == "nearest":
            # SimpleITK 2.5.7: once SetInterpolator was called, setting an inverse field
            # makes TransformPoint use the INVERSE field (and GetInverse the forward one)
            warnings.warn("SimpleITK 2.5.7 swaps the forward and inverse fields of a "
                          "DisplacementFieldTransform whose interpolator was set: the "
                          "SimpleITK transform is made without the inverse field",
                          UserWarning, stacklevel=3)
        else:
            out.SetInverseDisplacementField(_field_image(sitk, t, t.inverse_field))
    return out


_TO_SITK: dict[type, Callable[[Any, Any], Any]] = {
    IdentityTransform: lambda sitk, t: sitk.Transform(t.dimension, sitk.sitkIdentity),
    TranslationTransform: lambda sitk, t: sitk.TranslationTransform(t.dimension, t.offset),
    ScaleTransform: _scale,
    AffineTransform: lambda sitk, t: sitk.AffineTransform(
        [float(v) for v in t.matrix.reshape(-1)], t.translation, t.center),
    Euler2DTransform: lambda sitk, t: sitk.Euler2DTransform(t.center, t.angle, t.translation),
    Similarity2DTransform: lambda sitk, t: sitk.Similarity2DTransform(
        t.scale, t.angle, t.translation, t.center),
    Euler3DTransform: _euler3d,
    VersorTransform: _versor,
    VersorRigid3DTransform: _versor,
    Similarity3DTransform: _versor,
    CompositeTransform: _composite,
    BSplineTransform: _bspline,
    DisplacementFieldTransform: _displacement,
}
