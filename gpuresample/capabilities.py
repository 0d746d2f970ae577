"""Which backend supports what: one table read by the planner, the tests and the docs.

Example
-------
>>> from gpuresample.capabilities import SUPPORT, check_supported
>>> sorted(SUPPORT["cpu"]["interpolators"])
['label_linear', 'linear', 'nearest']
>>> check_supported("cpu", interpolator="linear", transform_kind="affine", precision="exact")
"""

from __future__ import annotations

from .pixeltypes import PixelType

__all__ = ["SUPPORT", "INTERPOLATORS", "TRANSFORM_KINDS", "PRECISIONS", "BACKENDS",
           "check_supported", "transform_kind"]

INTERPOLATORS = ("linear", "nearest", "label_linear")
TRANSFORM_KINDS = ("affine", "bspline", "displacement_field")
PRECISIONS = ("exact", "fast")
BACKENDS = ("cpu", "cuda-host", "cuda")

_ALL_PIXEL_TYPES = frozenset(PixelType)
_EVERYTHING = {
    "interpolators": frozenset(INTERPOLATORS),
    # "affine": any chain of affine-family transforms (scan-line positions); a chain with a
    # "bspline" or "displacement_field" member runs every voxel through its stages
    "transform_kinds": frozenset(TRANSFORM_KINDS),
    "pixel_types": _ALL_PIXEL_TYPES,
    "precisions": frozenset(PRECISIONS),
    "dimensions": frozenset({2, 3}),
}

# backend -> capability -> supported values
SUPPORT: dict[str, dict[str, frozenset]] = {name: dict(_EVERYTHING) for name in BACKENDS}


def transform_kind(transform) -> str:
    """The capability-table kind of one chain member: "affine", "bspline" or
    "displacement_field" (decided by the class name, so no transform module is imported)."""
    if transform.is_linear:
        return "affine"
    name = type(transform).__name__
    if name == "BSplineTransform":
        return "bspline"
    if name == "DisplacementFieldTransform":
        return "displacement_field"
    raise ValueError(f"no backend resamples through a {name}")


def check_supported(backend: str, **request) -> None:
    """Raise ``ValueError`` naming the first requested capability ``backend`` lacks.

    Keywords: ``interpolator``, ``transform_kind``, ``pixel_type``, ``precision``,
    ``dimension`` (singular forms of the table's keys).
    """
    table = SUPPORT[backend]
    for key, value in request.items():
        plural = {"interpolator": "interpolators", "transform_kind": "transform_kinds",
                  "pixel_type": "pixel_types", "precision": "precisions",
                  "dimension": "dimensions"}[key]
        if value not in table[plural]:
            allowed = ", ".join(sorted(str(v) for v in table[plural]))
            raise ValueError(f"backend {backend!r} does not support {key} {value!r} "
                             f"(supported: {allowed})")
