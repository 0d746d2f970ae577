"""The :class:`Transform` interface, the identity and translation, and input validation.

Every transform maps points of the OUTPUT space to points of the INPUT space (as in
SimpleITK's ``Resample``), in float64, with SimpleITK's parameterisation: ``parameters`` and
``fixed_parameters`` are SimpleITK's ``GetParameters()`` / ``GetFixedParameters()``, and
:func:`transform_from_parameters` rebuilds a transform from them (the ``.tfm`` route).

Point arithmetic mirrors ITK's operation order, so results are bit-identical to
SimpleITK's ``TransformPoint`` (up to the sign of an exact zero, which ITK's
``0.0 + ...`` accumulator turns positive).

Example
-------
>>> t = TranslationTransform((1.0, 2.0))
>>> t.transform_point((0.5, 0.5))
(1.5, 2.5)
>>> transform_from_parameters("TranslationTransform", (1.0, 2.0), ()).inverse()
TranslationTransform(offset=(-1.0, -2.0))
"""

from __future__ import annotations

import abc
import math
import re
from typing import Any, ClassVar, Sequence

import numpy as np

__all__ = ["Transform", "IdentityTransform", "TranslationTransform",
           "transform_from_parameters"]

_REGISTRY: dict[str, type["Transform"]] = {}
# "AffineTransform_double_3_3" as written in .tfm files
_TFM_SUFFIX = re.compile(r"^(?P<name>\w+?)_(?:double|float)_(?P<din>\d+)_(?P<dout>\d+)$")


# ---------------------------------------------------------------------------------------
# validation helpers (shared by every transform module)
# ---------------------------------------------------------------------------------------

def check_dimension(dimension: Any) -> int:
    """``dimension`` as an int, 2 or 3 (the dimensions SimpleITK resamples)."""
    if isinstance(dimension, bool) or not isinstance(dimension, (int, np.integer)):
        raise TypeError(f"dimension must be an integer (2 or 3), got {dimension!r}")
    if dimension not in (2, 3):
        raise ValueError(f"dimension must be 2 or 3, got {dimension}")
    return int(dimension)


def as_scalar(name: str, value: Any) -> float:
    """A finite real number as a Python float; TypeError / ValueError naming ``name``."""
    if isinstance(value, (str, bytes)) or np.ndim(value) != 0:
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        if np.iscomplexobj(value):
            raise TypeError
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {out}")
    return out


def as_vector(name: str, value: Any, length: int | None = None) -> tuple[float, ...]:
    """A sequence of finite reals as a tuple of Python floats, optionally of ``length``."""
    if isinstance(value, (str, bytes)) or np.ndim(value) == 0:
        what = f"{length} numbers" if length is not None else "a sequence of numbers"
        raise TypeError(f"{name} must be {what}, got {value!r}")
    try:
        if np.iscomplexobj(value):
            raise TypeError
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of real numbers, got {value!r}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a flat sequence, got shape {arr.shape}")
    if length is not None and arr.size != length:
        raise ValueError(f"{name} must have {length} values, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {tuple(arr.tolist())}")
    return tuple(float(x) for x in arr)


def frozen(array: Any) -> np.ndarray:
    """A read-only float64 copy."""
    out = np.array(array, dtype=np.float64)
    out.setflags(write=False)
    return out


def _fmt(values: Sequence[float]) -> str:
    return "(" + ", ".join(repr(float(v)) for v in values) + ("," if len(values) == 1 else "") + ")"


# ---------------------------------------------------------------------------------------
# the interface
# ---------------------------------------------------------------------------------------

class Transform(abc.ABC):
    """A spatial transform from output physical points to input physical points.

    Subclasses set the class attribute ``itk_class_name`` (SimpleITK's ``GetName()``) and
    implement ``dimension``, ``parameters``, ``fixed_parameters``, ``_from_parameters`` and
    ``_transform_points``; linear ones also ``affine`` and ``inverse``.

    Example
    -------
    >>> import numpy as np
    >>> t = TranslationTransform((1.0, 0.0, 0.0))
    >>> t.transform_points(np.zeros((2, 3)))
    array([[1., 0., 0.],
           [1., 0., 0.]])
    """

    itk_class_name: ClassVar[str] = "Transform"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "itk_class_name" in cls.__dict__:
            _REGISTRY[cls.itk_class_name] = cls

    # -- what a transform is -------------------------------------------------------------
    @property
    @abc.abstractmethod
    def dimension(self) -> int:
        """Number of spatial dimensions (2 or 3)."""

    @property
    def is_linear(self) -> bool:
        """True when ``T(x) = M·x + offset`` (ITK's "Linear" category)."""
        return False

    @property
    @abc.abstractmethod
    def parameters(self) -> tuple[float, ...]:
        """SimpleITK's ``GetParameters()``."""

    @property
    @abc.abstractmethod
    def fixed_parameters(self) -> tuple[float, ...]:
        """SimpleITK's ``GetFixedParameters()``."""

    @classmethod
    def from_parameters(cls, parameters: Sequence[float], fixed_parameters: Sequence[float],
                        dimension: int | None = None) -> "Transform":
        """Build from SimpleITK parameters and fixed parameters (like ``SetParameters``).

        ``dimension`` is needed only where the lengths do not tell it (identity).
        """
        params = as_vector(f"{cls.itk_class_name} parameters", parameters)
        fixed = as_vector(f"{cls.itk_class_name} fixed parameters", fixed_parameters)
        if dimension is not None:
            dimension = check_dimension(dimension)
        out = cls._from_parameters(params, fixed, dimension)
        if dimension is not None and out.dimension != dimension:
            raise ValueError(f"{cls.itk_class_name} parameters describe a {out.dimension}-D "
                             f"transform, but dimension={dimension} was given")
        return out

    @classmethod
    @abc.abstractmethod
    def _from_parameters(cls, parameters: tuple[float, ...], fixed: tuple[float, ...],
                         dimension: int | None) -> "Transform":
        """``from_parameters`` after the common validation."""

    # -- point mapping -------------------------------------------------------------------
    @abc.abstractmethod
    def _transform_points(self, points: np.ndarray) -> np.ndarray:
        """Map a host (N, D) float64 array; return a new (N, D) float64 array."""

    def transform_points(self, points: Any) -> Any:
        """Map points (N, D) to a new float64 (N, D) array, as SimpleITK's ``TransformPoint``.

        Accepts numpy arrays (and nested sequences); a CuPy array is mapped on the host
        and returned as a CuPy array.
        """
        if type(points).__module__.partition(".")[0] == "cupy":
            import cupy  # only when the caller already uses CuPy

            return cupy.asarray(self._transform_host(cupy.asnumpy(points)))
        return self._transform_host(points)

    def _transform_host(self, points: Any) -> np.ndarray:
        try:
            if np.iscomplexobj(points):
                raise TypeError
            pts = np.asarray(points, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"points must be a real (N, {self.dimension}) array, "
                            f"got {type(points).__name__}") from None
        d = self.dimension
        if pts.ndim != 2 or pts.shape[1] != d:
            hint = " (use transform_point for a single point)" if pts.ndim == 1 else ""
            raise ValueError(f"{self.itk_class_name} is {d}-D: points must have shape (N, {d}),"
                             f" got {pts.shape}{hint}")
        return self._transform_points(pts)

    def transform_point(self, point: Sequence[float]) -> tuple[float, ...]:
        """Map one point; returns a tuple of Python floats."""
        arr = np.asarray(point, dtype=np.float64)
        if arr.ndim != 1 or arr.size != self.dimension:
            raise ValueError(f"{self.itk_class_name} is {self.dimension}-D: a point must have "
                             f"{self.dimension} coordinates, got {tuple(arr.shape)}")
        return tuple(float(v) for v in self._transform_host(arr[None, :])[0])

    # -- algebra ---------------------------------------------------------------------------
    def inverse(self) -> "Transform":
        """The inverse transform; ``ValueError`` where there is none."""
        raise ValueError(f"{self.itk_class_name} has no inverse")

    def affine(self) -> tuple[np.ndarray, np.ndarray]:
        """``(M, offset)`` with ``T(x) = M·x + offset`` (read-only), for planning.

        Point mapping never uses this: for some kinds (scale, composites) ITK's own
        arithmetic differs from ``M·x + offset`` in the last bits.
        """
        raise ValueError(f"{self.itk_class_name} is not linear: it has no affine matrix")

    def _itk_clone(self) -> "Transform":
        """The copy ITK's ``Clone()`` makes, i.e. what a SimpleITK composite stores of an
        added transform: this transform rebuilt from its parameters and fixed parameters.
        (For versor kinds that recomputes the versor's scalar part, which can move the
        matrix by an ulp.)"""
        return type(self).from_parameters(self.parameters, self.fixed_parameters,
                                          self.dimension)

    # -- display -----------------------------------------------------------------------------
    def _repr_fields(self) -> dict[str, str]:
        return {"parameters": _fmt(self.parameters),
                "fixed_parameters": _fmt(self.fixed_parameters)}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in self._repr_fields().items())
        return f"{type(self).__name__}({fields})"


def transform_from_parameters(itk_class_name: str, parameters: Sequence[float],
                              fixed_parameters: Sequence[float],
                              dimension: int | None = None) -> Transform:
    """Build a transform from its ITK class name, parameters and fixed parameters.

    ``itk_class_name`` is SimpleITK's ``GetName()`` ("Euler3DTransform") or a ``.tfm``
    name ("Euler3DTransform_double_3_3", whose numbers give the dimension).
    ``MatrixOffsetTransformBase`` is read as an affine transform. Kinds gpuresample does
    not implement raise ``NotImplementedError`` naming them.

    >>> transform_from_parameters("Euler2DTransform", (0.0, 1.0, 2.0), (0.0, 0.0))
    Euler2DTransform(center=(0.0, 0.0), angle=0.0, translation=(1.0, 2.0))
    """
    if not isinstance(itk_class_name, str):
        raise TypeError(f"itk_class_name must be a str, got {itk_class_name!r}")
    name = itk_class_name.strip()
    match = _TFM_SUFFIX.match(name)
    if match:
        name = match["name"]
        din, dout = int(match["din"]), int(match["dout"])
        if din != dout:
            raise ValueError(f"{itk_class_name}: input and output dimensions differ")
        if dimension is not None and check_dimension(dimension) != din:
            raise ValueError(f"{itk_class_name} is {din}-D but dimension={dimension} was given")
        dimension = din
    if name == "MatrixOffsetTransformBase":
        name = "AffineTransform"
    cls = _REGISTRY.get(name)
    if cls is None:
        raise NotImplementedError(f"gpuresample does not support {name} transforms yet")
    return cls.from_parameters(parameters, fixed_parameters, dimension)


# ---------------------------------------------------------------------------------------
# the two simplest kinds
# ---------------------------------------------------------------------------------------

class IdentityTransform(Transform):
    """The identity, ``T(x) = x`` (SimpleITK's default ``sitk.Transform()``).

    Example
    -------
    >>> IdentityTransform(2).transform_point((1.0, 2.0))
    (1.0, 2.0)
    """

    itk_class_name = "IdentityTransform"

    def __init__(self, dimension: int) -> None:
        self._dimension = check_dimension(dimension)

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def is_linear(self) -> bool:
        return True

    @property
    def parameters(self) -> tuple[float, ...]:
        return ()

    @property
    def fixed_parameters(self) -> tuple[float, ...]:
        return ()

    @classmethod
    def _from_parameters(cls, parameters, fixed, dimension):
        if parameters or fixed:
            raise ValueError("IdentityTransform has no parameters and no fixed parameters")
        if dimension is None:
            raise ValueError("IdentityTransform needs dimension= (it has no parameters)")
        return cls(dimension)

    def _transform_points(self, points: np.ndarray) -> np.ndarray:
        return points.copy()

    def inverse(self) -> "IdentityTransform":
        return IdentityTransform(self._dimension)

    def affine(self) -> tuple[np.ndarray, np.ndarray]:
        return frozen(np.eye(self._dimension)), frozen(np.zeros(self._dimension))

    def _repr_fields(self) -> dict[str, str]:
        return {"dimension": str(self._dimension)}


class TranslationTransform(Transform):
    """A shift, ``T(x) = x + offset`` (parameters: the offset; no fixed parameters).

    Example
    -------
    >>> TranslationTransform((10.0, 0.0, 0.0)).transform_point((1.0, 1.0, 1.0))
    (11.0, 1.0, 1.0)
    """

    itk_class_name = "TranslationTransform"

    def __init__(self, offset: Sequence[float]) -> None:
        offset = as_vector("offset", offset)
        if len(offset) not in (2, 3):
            raise ValueError(f"offset must have 2 or 3 values (one per axis), got {len(offset)}")
        self._offset = offset

    @property
    def dimension(self) -> int:
        return len(self._offset)

    @property
    def is_linear(self) -> bool:
        return True

    @property
    def offset(self) -> tuple[float, ...]:
        return self._offset

    @property
    def parameters(self) -> tuple[float, ...]:
        return self._offset

    @property
    def fixed_parameters(self) -> tuple[float, ...]:
        return ()

    @classmethod
    def _from_parameters(cls, parameters, fixed, dimension):
        if fixed:
            raise ValueError("TranslationTransform has no fixed parameters, "
                             f"got {len(fixed)}")
        return cls(parameters)

    def _transform_points(self, points: np.ndarray) -> np.ndarray:
        return points + np.asarray(self._offset)[None, :]

    def inverse(self) -> "TranslationTransform":
        return TranslationTransform(tuple(-v for v in self._offset))

    def affine(self) -> tuple[np.ndarray, np.ndarray]:
        return frozen(np.eye(self.dimension)), frozen(self._offset)

    def _repr_fields(self) -> dict[str, str]:
        return {"offset": _fmt(self._offset)}
