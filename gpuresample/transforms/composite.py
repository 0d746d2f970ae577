"""CompositeTransform: a stack of transforms, applied last-added first (ITK's order).

``CompositeTransform([T0, T1])`` maps ``x`` to ``T0(T1(x))``. Points go through each
member in turn (never through a fused matrix), so results are bit-identical to
SimpleITK's; ``affine()`` fuses the chain for planning only.

Example
-------
>>> from gpuresample.transforms import ScaleTransform, TranslationTransform
>>> t = CompositeTransform([TranslationTransform((10.0, 0.0, 0.0)),
...                         ScaleTransform((2.0, 2.0, 2.0))])
>>> t.transform_point((1.0, 1.0, 1.0))
(12.0, 2.0, 2.0)
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .affine import _matmul, _matvec
from .base import Transform, check_dimension, frozen

__all__ = ["CompositeTransform"]


class CompositeTransform(Transform):
    """A sequence of transforms; the LAST one added is applied FIRST.

    The dimension comes from the members, which must all share it. An empty composite is
    the identity and needs ``dimension=`` (there is nothing to take it from); ``dimension``
    given with members must match them. Members may be composites themselves.

    Members are stored as SimpleITK stores them: each added transform is copied the way ITK
    clones it, rebuilt from its parameters (for versor kinds this recomputes the versor's
    scalar part, which can move the matrix by an ulp; ``transforms`` returns the copies).
    Like SimpleITK's, ``parameters`` / ``fixed_parameters`` are those of the last-added
    member (the one ITK optimises), and ``()`` when empty. ``inverse()`` is the reversed
    list of the members' inverses.

    Example
    -------
    >>> from gpuresample.transforms import TranslationTransform
    >>> c = CompositeTransform(dimension=2)
    >>> c.add(TranslationTransform((1.0, 0.0)))
    >>> c.add(TranslationTransform((0.0, 2.0)))
    >>> c.transform_point((0.0, 0.0)), len(c.transforms)
    ((1.0, 2.0), 2)
    """

    itk_class_name = "CompositeTransform"

    def __init__(self, transforms: Iterable[Transform] = (), *,
                 dimension: int | None = None) -> None:
        if isinstance(transforms, Transform):
            raise TypeError("CompositeTransform takes a list of transforms; wrap a single "
                            "one in a list")
        members = list(transforms)
        if dimension is None:
            if not members:
                raise ValueError("an empty CompositeTransform needs dimension=2 or 3")
            self._check_member(members[0], 0, None)
            dimension = members[0].dimension
        self._dimension = check_dimension(dimension)
        for i, t in enumerate(members):
            self._check_member(t, i, self._dimension)
        self._members = [t._itk_clone() for t in members]

    @staticmethod
    def _check_member(t: object, index: int, dimension: int | None) -> None:
        if not isinstance(t, Transform):
            raise TypeError(f"CompositeTransform member {index} must be a gpuresample "
                            f"Transform, got {type(t).__name__}")
        if dimension is not None and t.dimension != dimension:
            raise ValueError(f"CompositeTransform member {index} ({t.itk_class_name}) is "
                             f"{t.dimension}-D, but the composite is {dimension}-D")

    def add(self, transform: Transform) -> None:
        """Append ``transform``: it will be applied before all current members."""
        self._check_member(transform, len(self._members), self._dimension)
        self._members.append(transform._itk_clone())

    def _itk_clone(self) -> "CompositeTransform":
        # ITK clones a composite member by member
        out = CompositeTransform.__new__(CompositeTransform)
        out._dimension = self._dimension
        out._members = [t._itk_clone() for t in self._members]
        return out

    @property
    def transforms(self) -> list[Transform]:
        """The members in order of addition (a new list; use :meth:`add` to extend)."""
        return list(self._members)

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def is_linear(self) -> bool:
        return all(t.is_linear for t in self._members)

    @property
    def parameters(self) -> tuple[float, ...]:
        return self._members[-1].parameters if self._members else ()

    @property
    def fixed_parameters(self) -> tuple[float, ...]:
        return self._members[-1].fixed_parameters if self._members else ()

    @classmethod
    def _from_parameters(cls, parameters, fixed, dimension):
        raise ValueError("a CompositeTransform is built from its members, not from "
                         "parameters: CompositeTransform([t0, t1, ...])")

    def _transform_points(self, points: np.ndarray) -> np.ndarray:
        out = points.copy()
        for t in reversed(self._members):
            out = t._transform_points(out)
        return out

    def inverse(self) -> "CompositeTransform":
        return CompositeTransform([t.inverse() for t in reversed(self._members)],
                                  dimension=self._dimension)

    def affine(self) -> tuple[np.ndarray, np.ndarray]:
        """The fused ``(M, offset)`` of an all-linear chain (for planning only)."""
        if not self.is_linear:
            raise ValueError("CompositeTransform has a non-linear member: it has no affine "
                             "matrix")
        d = self._dimension
        m = tuple(tuple(1.0 if i == j else 0.0 for j in range(d)) for i in range(d))
        off = (0.0,) * d
        for t in self._members:  # x -> m·(M_t·x + o_t) + off
            mt, ot = t.affine()
            mt = tuple(tuple(float(v) for v in row) for row in mt)
            off = tuple(a + b for a, b in zip(_matvec(m, tuple(float(v) for v in ot)), off))
            m = _matmul(m, mt)
        return frozen(m), frozen(off)

    def _repr_fields(self) -> dict[str, str]:
        if not self._members:
            return {"dimension": str(self._dimension)}
        return {"transforms": "[" + ", ".join(repr(t) for t in self._members) + "]"}
