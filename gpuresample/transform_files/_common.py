"""What the transform file formats share: ITK class names, building and assembling.

ITK files name each transform by its class, ``<Kind>_<double|float>_<D>_<D>`` (B-splines of
order other than 3 add ``_<order>``), and store a flat list of transforms: a composite is
written as ``CompositeTransform_double_D_D`` followed by its members in order of addition.
:func:`build` turns one (class name, parameters, fixed parameters) triple into a
gpuresample transform; :func:`assemble` turns a file's list into the transform that
SimpleITK's ``ReadTransform`` returns; :func:`leaves` and :func:`class_name` go the other way.

Example
-------
>>> from gpuresample.transforms import TranslationTransform
>>> t = build("TranslationTransform_double_2_2", (1.0, 2.0), (), "a.tfm", 0)
>>> class_name(t), t.offset
('TranslationTransform_double_2_2', (1.0, 2.0))
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Sequence

from ..transforms import (BSplineTransform, CompositeTransform, DisplacementFieldTransform,
                          ScaleTransform, Transform, transform_from_parameters)

__all__ = ["TransformFileError", "Entry", "build", "assemble", "leaves", "class_name",
           "entries_of", "parse_class_name", "warn_lost_state"]

_CLASS = re.compile(r"^(?P<kind>[A-Za-z]\w*?)_(?P<precision>double|float)_(?P<din>\d+)_"
                    r"(?P<dout>\d+)(?:_(?P<order>\d+))?$")
COMPOSITE = "CompositeTransform"
# ITK's other transform classes: known, but not (yet) kinds gpuresample computes
_ITK_KINDS = frozenset(name + "Transform" for name in (
    "AzimuthElevationToCartesian", "BSplineDeformable",
    "BSplineSmoothingOnUpdateDisplacementField", "CenteredAffine", "CenteredEuler3D",
    "CenteredRigid2D", "CenteredSimilarity2D", "ComposeScaleSkewVersor3D",
    "ConstantVelocityField", "ElasticBodyReciprocalSplineKernel", "ElasticBodySplineKernel",
    "FixedCenterOfRotationAffine", "GaussianExponentialDiffeomorphic",
    "GaussianSmoothingOnUpdateDisplacementField",
    "GaussianSmoothingOnUpdateTimeVaryingVelocityField", "Kernel", "QuaternionRigid",
    "Rigid3D", "Rigid3DPerspective", "ScalableAffine", "ScaleSkewVersor3D", "ScaleVersor3D",
    "ThinPlateR2LogRSplineKernel", "ThinPlateSplineKernel", "TimeVaryingBSplineVelocityField",
    "TimeVaryingVelocityField", "VelocityField", "VolumeSplineKernel"))


class TransformFileError(ValueError):
    """A file that cannot be read as a transform: truncated, damaged, of an unknown or
    unsupported kind, or with parameters that do not fit the kind.

    The message names the file and the problem.
    """


# one transform as a file stores it: (class name, parameters, fixed parameters); composites
# have None for both parameter lists
Entry = tuple[str, "Sequence[float] | None", "Sequence[float] | None"]


def parse_class_name(name: str, path: str, index: int) -> tuple[str, int, int | None]:
    """``(kind, dimension, order)`` of an ITK class name; ``order`` only for B-splines.

    >>> parse_class_name("BSplineTransform_float_3_3_2", "a.tfm", 0)
    ('BSplineTransform', 3, 2)
    """
    match = _CLASS.match(name.strip())
    if match is None:
        raise TransformFileError(f"{path}: transform {index}: unknown transform class "
                                 f"{name!r} (ITK names look like AffineTransform_double_3_3)")
    kind, din, dout = match["kind"], int(match["din"]), int(match["dout"])
    if din != dout:
        raise TransformFileError(f"{path}: transform {index}: {name} maps {din}-D points to "
                                 f"{dout}-D ones; gpuresample transforms keep the dimension")
    if din not in (2, 3):
        raise TransformFileError(f"{path}: transform {index}: {name} is {din}-D; gpuresample "
                                 "transforms are 2-D or 3-D")
    order = match["order"]
    if order is not None and kind != "BSplineTransform":
        raise TransformFileError(f"{path}: transform {index}: unknown transform class "
                                 f"{name!r}")
    if kind == "BSplineTransform":
        order = 3 if order is None else int(order)
    return kind, din, order


def build(name: str, parameters: Sequence[float], fixed: Sequence[float], path: str,
          index: int) -> Transform:
    """The gpuresample transform of one non-composite file entry, as ITK's reader makes it
    (``SetFixedParameters`` then ``SetParameters``); TransformFileError naming the file,
    the entry and the problem otherwise."""
    kind, d, order = parse_class_name(name, path, index)
    for what, values in (("parameters", parameters), ("fixed parameters", fixed)):
        bad = next((v for v in values if not math.isfinite(v)), None)
        if bad is not None:
            raise TransformFileError(f"{path}: transform {index} ({name}): its {what} "
                                     f"hold a non-finite value ({bad})")
    try:
        if kind == "BSplineTransform":
            return BSplineTransform.from_parameters(parameters, fixed, d, order=order)
        if kind == "ScaleLogarithmicTransform":
            # ITK: scale = exp(parameter), then ScaleTransform's arithmetic
            _check_count(kind, parameters, d, fixed, d)
            return ScaleTransform([math.exp(p) for p in parameters], fixed)
        return transform_from_parameters(_ALIASES.get(kind, kind), parameters, fixed, d)
    except NotImplementedError:
        if kind in _ITK_KINDS:
            raise TransformFileError(f"{path}: transform {index}: {name} transforms are not "
                                     "supported by gpuresample") from None
        raise TransformFileError(f"{path}: transform {index}: unknown transform class "
                                 f"{name!r}") from None
    except (ValueError, TypeError) as exc:
        raise TransformFileError(f"{path}: transform {index} ({name}): {exc}") from None


# ITK kinds whose parameters, fixed parameters and arithmetic are those of a gpuresample kind
# (Euler2DTransform is ITK's Rigid2DTransform with nothing changed)
_ALIASES = {"Rigid2DTransform": "Euler2DTransform"}


def _check_count(kind: str, parameters, n: int, fixed, n_fixed: int) -> None:
    if len(parameters) != n:
        raise ValueError(f"{kind} takes {n} parameters, got {len(parameters)}")
    if len(fixed) != n_fixed:
        raise ValueError(f"{kind} takes {n_fixed} fixed parameters, got {len(fixed)}")


def assemble(entries: Sequence[Entry], path: str) -> Transform:
    """The transform SimpleITK's ``ReadTransform`` gives for a file's list of entries.

    A leading composite holds all the following entries, in order of addition; otherwise
    the file should hold one transform (with several, SimpleITK uses the first and warns,
    and so does this). A composite after the first entry is refused: ITK cannot write one
    and reads it as an empty member.
    """
    if not entries:
        raise TransformFileError(f"{path}: the file holds no transform (empty or truncated)")
    names = [name for name, _, _ in entries]
    for i, name in enumerate(names[1:], start=1):
        if parse_class_name(name, path, i)[0] == COMPOSITE:
            raise TransformFileError(f"{path}: transform {i} is a CompositeTransform; a "
                                     "composite may only be the first transform of a file "
                                     "(its members follow it, as ITK writes them)")
    kind, d, _ = parse_class_name(names[0], path, 0)
    if kind == COMPOSITE:
        members = [build(name, p, f, path, i) for i, (name, p, f) in
                   enumerate(entries[1:], start=1)]
        for i, t in enumerate(members, start=1):
            if t.dimension != d:
                raise TransformFileError(f"{path}: transform {i} ({names[i]}) is "
                                         f"{t.dimension}-D inside a {d}-D {names[0]}")
        return CompositeTransform(members, dimension=d)
    if len(entries) > 1:
        warnings.warn(f"{path} holds {len(entries)} transforms that are not in a composite; "
                      "only the first is used (as SimpleITK's ReadTransform does)",
                      UserWarning, stacklevel=4)
    name, parameters, fixed = entries[0]
    return build(name, parameters, fixed, path, 0)


def leaves(transform: Transform) -> list[Transform]:
    """The non-composite members of ``transform`` in order of addition, nested composites
    flattened (they apply in the same order); ``[transform]`` for a non-composite."""
    if not isinstance(transform, CompositeTransform):
        return [transform]
    return [leaf for member in transform.transforms for leaf in leaves(member)]


def class_name(transform: Transform) -> str:
    """ITK's class name for ``transform`` (``GetTransformTypeAsString``)."""
    d = transform.dimension
    name = f"{transform.itk_class_name}_double_{d}_{d}"
    if isinstance(transform, BSplineTransform) and transform.order != 3:
        name += f"_{transform.order}"
    return name


def entries_of(transform: Transform) -> list[Entry]:
    """The list of entries a file stores for ``transform`` (see module docstring)."""
    if not isinstance(transform, Transform):
        raise TypeError(f"write_transform takes a gpuresample Transform, got "
                        f"{type(transform).__name__}")
    warn_lost_state(transform)
    if isinstance(transform, CompositeTransform):
        head: list[Entry] = [(class_name(transform), None, None)]
        return head + [_entry(t) for t in leaves(transform)]
    return [_entry(transform)]


def _entry(t: Transform) -> Entry:
    return class_name(t), t.parameters, t.fixed_parameters


def warn_lost_state(transform: Transform, stacklevel: int = 5) -> None:
    """Warn when a file cannot keep part of a displacement field transform (ITK's files
    store the field only: neither the interpolator nor an inverse field)."""
    if isinstance(transform, DisplacementFieldTransform):
        lost = [what for what, gone in
                (("the nearest-neighbour interpolator", transform.interpolator != "linear"),
                 ("the inverse field", transform.inverse_field is not None)) if gone]
        if lost:
            warnings.warn(f"transform files store a displacement field only: "
                          f"{' and '.join(lost)} is not written (reading gives a linearly "
                          "interpolated field without inverse, as in SimpleITK)",
                          UserWarning, stacklevel=stacklevel)
