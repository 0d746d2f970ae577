"""The matrix + offset family: ``T(x) = M·x + offset`` with ITK's parameterisations.

Each kind computes its matrix with ITK's formula and operation order (``ComputeMatrix``),
then ``offset_i = (t_i + c_i) - M[i,0]·c_0 - M[i,1]·c_1 (- M[i,2]·c_2)`` (ITK's
``ComputeOffset``), and maps points row by row, left to right: results are bit-identical to
SimpleITK 2.5.7's ``TransformPoint`` and ``GetMatrix``. Scalar trigonometry uses Python's
``math`` (the C library ITK calls too), never numpy's vectorised versions.

Inverses follow ITK's ``GetInverse`` bit for bit: the matrix is inverted with ITK's own SVD
arithmetic (:mod:`gpuresample.itk_inverse`), not numpy's LU.

Example
-------
>>> t = Euler2DTransform(center=(1.0, 0.5), angle=0.3, translation=(2.0, -1.0))
>>> t.transform_point((3.0, -2.0))
(5.649473494904561, -2.297300809491336)
>>> t.parameters, t.fixed_parameters
((0.3, 2.0, -1.0), (1.0, 0.5))
"""

from __future__ import annotations

import abc
import math
from typing import Sequence

import numpy as np

from ..geometry import matvec_rows
from ..itk_inverse import itk_matrix_inverse
from .base import Transform, _fmt, as_scalar, as_vector, check_dimension, frozen

__all__ = [
    "MatrixOffsetTransform", "AffineTransform", "ScaleTransform", "Euler2DTransform",
    "Similarity2DTransform", "Euler3DTransform", "VersorTransform", "VersorRigid3DTransform",
    "Similarity3DTransform",
]

Matrix = tuple[tuple[float, ...], ...]
Quaternion = tuple[float, float, float, float]


# ---------------------------------------------------------------------------------------
# ITK's small-matrix arithmetic on Python floats (IEEE double, no fused multiply-add)
# ---------------------------------------------------------------------------------------

def _matmul(a: Matrix, b: Matrix) -> Matrix:
    """vnl_matrix_fixed product: ``acc = a[i][0]·b[0][k]``, then ``acc += a[i][j]·b[j][k]``."""
    n = len(b)
    out = []
    for row in a:
        out_row = []
        for k in range(len(b[0])):
            acc = row[0] * b[0][k]
            for j in range(1, n):
                acc += row[j] * b[j][k]
            out_row.append(acc)
        out.append(tuple(out_row))
    return tuple(out)


def _matvec(m: Matrix, v: Sequence[float]) -> tuple[float, ...]:
    """itk::Matrix · Vector: ``sum = 0``, then ``sum += m[r][c]·v[c]``."""
    out = []
    for row in m:
        acc = 0.0
        for mc, vc in zip(row, v):
            acc += mc * vc
        out.append(acc)
    return tuple(out)


def compute_offset(m: Matrix, translation: Sequence[float],
                   center: Sequence[float]) -> tuple[float, ...]:
    """ITK's ``ComputeOffset``: ``o_i = t_i + c_i``, then ``o_i -= M[i][j]·c_j`` for each j."""
    out = []
    for i, row in enumerate(m):
        o = translation[i] + center[i]
        for j, c in enumerate(center):
            o -= row[j] * c
        out.append(o)
    return tuple(out)


def compute_translation(m: Matrix, offset: Sequence[float],
                        center: Sequence[float]) -> tuple[float, ...]:
    """ITK's ``ComputeTranslation``: ``t_i = o_i - c_i``, then ``t_i += M[i][j]·c_j``."""
    out = []
    for i, row in enumerate(m):
        t = offset[i] - center[i]
        for j, c in enumerate(center):
            t += row[j] * c
        out.append(t)
    return tuple(out)


def _as_matrix(array) -> Matrix:
    return tuple(tuple(float(v) for v in row) for row in np.asarray(array, dtype=np.float64))


def invert_matrix(m: Matrix, what: str) -> Matrix:
    """``M⁻¹`` exactly as ITK computes it (SVD, :mod:`gpuresample.itk_inverse`);
    ``ValueError`` when ITK would call it singular (determinant exactly 0)."""
    try:
        with np.errstate(all="ignore"):
            inv = itk_matrix_inverse(np.array(m, dtype=np.float64))
    except ValueError:
        raise ValueError(f"{what} has no inverse: its matrix is singular "
                         f"({[list(r) for r in m]})") from None
    if not np.all(np.isfinite(inv)):
        raise ValueError(f"{what} has no inverse: its matrix is numerically singular")
    return _as_matrix(inv)


# ---------------------------------------------------------------------------------------
# ITK's versor (unit quaternion) arithmetic
# ---------------------------------------------------------------------------------------

def versor_normalize(q: Sequence[float]) -> Quaternion:
    """``itk::Versor::Normalize``: divide by ``sqrt(x² + y² + z² + w²)``."""
    x, y, z, w = q
    tensor = math.sqrt(x * x + y * y + z * z + w * w)
    if abs(tensor) < 1e-20:
        raise ValueError(f"a versor must not be zero, got {tuple(q)}")
    return (x / tensor, y / tensor, z / tensor, w / tensor)


def versor_from_quaternion(q: Sequence[float]) -> Quaternion:
    """``itk::Versor::Set(x, y, z, w)``: flip to ``w >= 0`` and normalise."""
    x, y, z, w = q
    if w < 0.0:
        x, y, z, w = -x, -y, -z, -w
    return versor_normalize((x, y, z, w))


def versor_from_right_part(v: Sequence[float], rescale: bool) -> Quaternion:
    """The versor of parameters ``(x, y, z)`` as ITK's ``SetParameters`` makes it.

    With ``rescale`` (VersorRigid3D, Similarity3D) a vector of norm ``>= 1 - 1e-10`` is
    first divided by ``norm·(1 + 1e-10)``, so it is always accepted; without (Versor) a
    norm above 1 is an error. ``w = sqrt(1 - |v|²)``.
    """
    x, y, z = v
    if rescale:
        norm = x * x
        norm += y * y
        norm += z * z
        if norm > 0:
            norm = math.sqrt(norm)
        if norm >= 1.0 - 1e-10:
            d = norm + 1e-10 * norm
            x, y, z = x / d, y / d, z / d
    sin_half = math.sqrt(0.0 + x * x + y * y + z * z)
    if sin_half > 1.0:
        raise ValueError(f"the vector part of a versor must have norm <= 1, got "
                         f"{sin_half!r} for {tuple(v)}")
    return (x, y, z, math.sqrt(1.0 - sin_half * sin_half))


def versor_matrix(q: Quaternion) -> Matrix:
    """``itk::Versor::GetMatrix``."""
    x, y, z, w = q
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, xw = x * y, x * z, x * w
    yz, yw, zw = y * z, y * w, z * w
    return ((1.0 - 2.0 * (yy + zz), 2.0 * (xy - zw), 2.0 * (xz + yw)),
            (2.0 * (xy + zw), 1.0 - 2.0 * (xx + zz), 2.0 * (yz - xw)),
            (2.0 * (xz - yw), 2.0 * (yz + xw), 1.0 - 2.0 * (xx + yy)))


# ---------------------------------------------------------------------------------------
# the shared base
# ---------------------------------------------------------------------------------------

class MatrixOffsetTransform(Transform):
    """Base of the matrix + offset family (ITK's ``MatrixOffsetTransformBase``).

    A subclass sets its own parameter state, then calls ``__init__`` (which validates the
    translation and center and computes matrix and offset), and implements
    ``_compute_matrix()`` (ITK's ``ComputeMatrix``), ``parameters``, ``_from_parameters``
    and, for the generic ``inverse()``, ``_from_matrix`` (ITK's ``ComputeMatrixParameters``)
    unless it overrides ``inverse`` with ITK's own formula for the kind.
    Fixed parameters are the center unless a subclass adds to them.

    Example
    -------
    >>> t = AffineTransform([[2.0, 0.0], [0.0, 1.0]], translation=(1.0, 0.0))
    >>> isinstance(t, MatrixOffsetTransform), t.offset
    (True, (1.0, 0.0))
    """

    def __init__(self, dimension: int, translation: Sequence[float] | None = None,
                 center: Sequence[float] | None = None) -> None:
        self._dimension = check_dimension(dimension)
        zeros = (0.0,) * dimension
        self._translation = zeros if translation is None else as_vector(
            "translation", translation, dimension)
        self._center = zeros if center is None else as_vector("center", center, dimension)
        self._m = self._compute_matrix()
        self._off = compute_offset(self._m, self._translation, self._center)
        self._matrix_array = frozen(self._m)
        self._offset_array = frozen(self._off)

    @abc.abstractmethod
    def _compute_matrix(self) -> Matrix:
        """The matrix from the kind's parameters, as ITK's ``ComputeMatrix``."""

    @classmethod
    def _from_matrix(cls, source: "MatrixOffsetTransform", matrix: Matrix,
                     translation: tuple[float, ...]) -> "MatrixOffsetTransform":
        """A transform of this kind with ``matrix`` (ITK's ``ComputeMatrixParameters``),
        ``translation`` and ``source``'s other fixed parameters."""
        raise ValueError(f"{cls.itk_class_name} has no inverse")

    # -- properties ----------------------------------------------------------------------
    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def is_linear(self) -> bool:
        return True

    @property
    def matrix(self) -> np.ndarray:
        """The (D, D) matrix ``M`` (read-only), equal to SimpleITK's ``GetMatrix()``."""
        return self._matrix_array

    @property
    def translation(self) -> tuple[float, ...]:
        return self._translation

    @property
    def center(self) -> tuple[float, ...]:
        return self._center

    @property
    def offset(self) -> tuple[float, ...]:
        """``t + c - M·c``, computed as ITK's ``ComputeOffset``."""
        return self._off

    @property
    def fixed_parameters(self) -> tuple[float, ...]:
        return self._center

    # -- mapping -------------------------------------------------------------------------
    def _transform_points(self, points: np.ndarray) -> np.ndarray:
        out = matvec_rows(self._matrix_array, points)
        out += self._offset_array[None, :]
        return out

    def affine(self) -> tuple[np.ndarray, np.ndarray]:
        return self._matrix_array, self._offset_array

    def inverse(self) -> "MatrixOffsetTransform":
        """ITK's ``GetInverse``: ``M⁻¹``, offset ``-(M⁻¹·offset)``, the same center.

        ITK stores that offset as computed (the translation is derived from it), so the
        inverse keeps it rather than recomputing ``t + c - M·c``, which may differ in the
        last bit.
        """
        minv = invert_matrix(self._m, repr(self))
        offset = tuple(-v for v in _matvec(minv, self._off))
        translation = compute_translation(minv, offset, self._center)
        inverse = self._from_matrix(self, minv, translation)
        return inverse._holding(minv if self._inverse_keeps_matrix else inverse._m, offset)

    # ITK's ComputeMatrixParameters of most kinds keeps the matrix it was given; Euler3D's
    # recomputes it from the angles it derived
    _inverse_keeps_matrix = True

    def _holding(self, matrix: Matrix, offset: tuple[float, ...]) -> "MatrixOffsetTransform":
        """``self`` with ITK's stored matrix and offset set as given (returns ``self``).

        ITK's ``GetInverse`` stores ``M⁻¹`` and ``-(M⁻¹·offset)`` as computed; the kind's
        parameters derived from them (angles, a versor) need not reproduce them exactly.
        """
        self._m, self._off = matrix, offset
        self._matrix_array, self._offset_array = frozen(matrix), frozen(offset)
        return self

    def _repr_fields(self) -> dict[str, str]:
        return {"center": _fmt(self._center), "translation": _fmt(self._translation)}

    # -- helpers for subclasses ---------------------------------------------------------
    @classmethod
    def _check_lengths(cls, parameters: tuple[float, ...], n_params: int,
                       fixed: tuple[float, ...], n_fixed: Sequence[int]) -> None:
        name = cls.itk_class_name
        if len(parameters) != n_params:
            raise ValueError(f"{name} takes {n_params} parameters, got {len(parameters)}")
        if len(fixed) not in n_fixed:
            want = " or ".join(str(n) for n in n_fixed)
            raise ValueError(f"{name} takes {want} fixed parameters, got {len(fixed)}")


# ---------------------------------------------------------------------------------------
# general matrix and scale
# ---------------------------------------------------------------------------------------

class AffineTransform(MatrixOffsetTransform):
    """A general affine map ``T(x) = M·(x - c) + c + t``.

    ``matrix`` is (D, D) or flat row-major (SimpleITK's order); the dimension comes from it.
    Parameters: the matrix row-major, then the translation; fixed parameters: the center.

    Example
    -------
    >>> t = AffineTransform([1.0, 0.0, 0.0, 2.0], translation=(1.0, 0.0), center=(0.0, 1.0))
    >>> t.transform_point((1.0, 2.0))
    (2.0, 3.0)
    >>> t.inverse().transform_point((2.0, 3.0))
    (1.0, 2.0)
    """

    itk_class_name = "AffineTransform"

    def __init__(self, matrix, translation: Sequence[float] | None = None,
                 center: Sequence[float] | None = None) -> None:
        if isinstance(matrix, (str, bytes)) or np.ndim(matrix) not in (1, 2):
            raise TypeError(f"matrix must be a 2x2 or 3x3 array (or 4 or 9 numbers, row-major),"
                            f" got {matrix!r}")
        shape = np.shape(matrix)
        n = {(4,): 2, (9,): 3, (2, 2): 2, (3, 3): 3}.get(shape)
        if n is None:
            raise ValueError(f"matrix must be 2x2 or 3x3 (or 4 or 9 numbers, row-major), "
                             f"got shape {shape}")
        flat = as_vector("matrix", np.reshape(matrix, -1), n * n)
        self._given = tuple(flat[r * n:(r + 1) * n] for r in range(n))
        super().__init__(n, translation, center)

    def _compute_matrix(self) -> Matrix:
        return self._given

    @property
    def parameters(self) -> tuple[float, ...]:
        return tuple(v for row in self._m for v in row) + self._translation

    @classmethod
    def _from_parameters(cls, parameters, fixed, dimension):
        d = len(fixed)
        if d not in (2, 3):
            raise ValueError(f"AffineTransform takes 2 or 3 fixed parameters (the center), "
                             f"got {d}")
        cls._check_lengths(parameters, d * d + d, fixed, (d,))
        return cls(parameters[:d * d], parameters[d * d:], fixed)

    @classmethod
    def _from_matrix(cls, source, matrix, translation):
        return cls(matrix, translation, source.center)

    def _repr_fields(self) -> dict[str, str]:
        rows = ", ".join(_fmt(r) for r in self._m)
        return {"matrix": f"({rows})", **super()._repr_fields()}


class ScaleTransform(MatrixOffsetTransform):
    """Axis-aligned scaling about a center: ``T(x)_i = (x_i - c_i)·s_i + c_i``.

    Parameters: the scale factors; fixed parameters: the center. ``inverse()`` raises for a
    zero factor (SimpleITK returns an infinite scale there).

    Example
    -------
    >>> ScaleTransform((2.0, 3.0), center=(1.0, 1.0)).transform_point((2.0, 2.0))
    (3.0, 4.0)
    """

    itk_class_name = "ScaleTransform"

    def __init__(self, scale: Sequence[float], center: Sequence[float] | None = None) -> None:
        self._scale = as_vector("scale", scale)
        if len(self._scale) not in (2, 3):
            raise ValueError(f"scale must have 2 or 3 values (one per axis), "
                             f"got {len(self._scale)}")
        super().__init__(len(self._scale), None, center)

    def _compute_matrix(self) -> Matrix:
        d = len(self._scale)
        return tuple(tuple(self._scale[i] if i == j else 0.0 for j in range(d)) for i in range(d))

    @property
    def scale(self) -> tuple[float, ...]:
        return self._scale

    @property
    def parameters(self) -> tuple[float, ...]:
        return self._scale

    @classmethod
    def _from_parameters(cls, parameters, fixed, dimension):
        cls._check_lengths(parameters, len(fixed), fixed, (2, 3))
        return cls(parameters, fixed)

    def _transform_points(self, points: np.ndarray) -> np.ndarray:
        # ITK's ScaleTransform::TransformPoint, not M·x + offset
        c = np.asarray(self._center)[None, :]
        return (points - c) * np.asarray(self._scale)[None, :] + c

    def inverse(self) -> "ScaleTransform":
        if any(s == 0.0 for s in self._scale):
            raise ValueError(f"{self!r} has no inverse: a scale factor is 0")
        return ScaleTransform(tuple(1.0 / s for s in self._scale), self._center)

    def _repr_fields(self) -> dict[str, str]:
        return {"scale": _fmt(self._scale), "center": _fmt(self._center)}


# ---------------------------------------------------------------------------------------
# 2-D rigid and similarity
# ---------------------------------------------------------------------------------------

class Euler2DTransform(MatrixOffsetTransform):
    """A 2-D rotation by ``angle`` (radians) about ``center``, then a translation.

    Parameters: ``(angle, tx, ty)``; fixed parameters: the center.

    Example
    -------
    >>> import math
    >>> t = Euler2DTransform(angle=math.pi / 2)
    >>> [round(v, 12) for v in t.transform_point((1.0, 0.0))]
    [0.0, 1.0]
    """

    itk_class_name = "Euler2DTransform"

    def __init__(self, center: Sequence[float] = (0.0, 0.0), angle: float = 0.0,
                 translation: Sequence[float] = (0.0, 0.0)) -> None:
        self._angle = as_scalar("angle", angle)
        super().__init__(2, translation, center)

    def _compute_matrix(self) -> Matrix:
        ca, sa = math.cos(self._angle), math.sin(self._angle)
        return ((ca, -sa), (sa, ca))

    @property
    def angle(self) -> float:
        return self._angle

    @property
    def parameters(self) -> tuple[float, ...]:
        return (self._angle,) + self._translation

    @classmethod
    def _from_parameters(cls, parameters, fixed, dimension):
        cls._check_lengths(parameters, 3, fixed, (2,))
        return cls(fixed, parameters[0], parameters[1:])

    def inverse(self) -> "Euler2DTransform":
        # ITK's Rigid2DTransform::GetInverse: angle -θ, translation -(M⁻¹·t), same center
        minv = invert_matrix(self._m, repr(self))
        return Euler2DTransform(self._center, -self._angle,
                                tuple(-v for v in _matvec(minv, self._translation)))

    def _repr_fields(self) -> dict[str, str]:
        return {"center": _fmt(self._center), "angle": repr(self._angle),
                "translation": _fmt(self._translation)}


class Similarity2DTransform(Euler2DTransform):
    """A 2-D rotation and isotropic scaling about ``center``, then a translation.

    Parameters: ``(scale, angle, tx, ty)``; fixed parameters: the center.

    Example
    -------
    >>> Similarity2DTransform(scale=2.0, translation=(1.0, 0.0)).transform_point((1.0, 1.0))
    (3.0, 2.0)
    """

    itk_class_name = "Similarity2DTransform"

    def __init__(self, scale: float = 1.0, angle: float = 0.0,
                 translation: Sequence[float] = (0.0, 0.0),
                 center: Sequence[float] = (0.0, 0.0)) -> None:
        self._scale = as_scalar("scale", scale)
        super().__init__(center, angle, translation)

    def _compute_matrix(self) -> Matrix:
        cc, ss = math.cos(self._angle), math.sin(self._angle)
        ca, sa = cc * self._scale, ss * self._scale
        return ((ca, -sa), (sa, ca))

    @property
    def scale(self) -> float:
        return self._scale

    @property
    def parameters(self) -> tuple[float, ...]:
        return (self._scale, self._angle) + self._translation

    @classmethod
    def _from_parameters(cls, parameters, fixed, dimension):
        cls._check_lengths(parameters, 4, fixed, (2,))
        return cls(parameters[0], parameters[1], parameters[2:], fixed)

    def inverse(self) -> "Similarity2DTransform":
        # ITK's Similarity2DTransform::GetInverse: 1/s, -θ, -(M⁻¹·t), same center
        minv = invert_matrix(self._m, repr(self))
        return Similarity2DTransform(1.0 / self._scale, -self._angle,
                                     tuple(-v for v in _matvec(minv, self._translation)),
                                     self._center)

    def _repr_fields(self) -> dict[str, str]:
        return {"scale": repr(self._scale), "angle": repr(self._angle),
                "translation": _fmt(self._translation), "center": _fmt(self._center)}


# ---------------------------------------------------------------------------------------
# 3-D Euler angles
# ---------------------------------------------------------------------------------------

def _euler_angles(m: Matrix, compute_zyx: bool) -> tuple[float, float, float]:
    """ITK's ``Euler3DTransform::ComputeMatrixParameters`` (angles of a rotation matrix)."""
    def asin(v: float) -> float:
        return math.asin(min(1.0, max(-1.0, v)))  # rounding may step just past ±1

    if compute_zyx:
        ay = -asin(m[2][0])
        c = math.cos(ay)
        if abs(c) > 0.00005:
            ax = math.atan2(m[2][1] / c, m[2][2] / c)
            az = math.atan2(m[1][0] / c, m[0][0] / c)
        else:
            ax = 0.0
            az = math.atan2(-m[0][1], m[1][1])
    else:
        ax = asin(m[2][1])
        a = math.cos(ax)
        if abs(a) > 0.00005:
            ay = math.atan2(-m[2][0] / a, m[2][2] / a)
            az = math.atan2(-m[0][1] / a, m[1][1] / a)
        else:
            az = 0.0
            ay = math.atan2(m[1][0], m[0][0])
    return (ax, ay, az)


class Euler3DTransform(MatrixOffsetTransform):
    """A 3-D rotation by Euler angles (radians) about ``center``, then a translation.

    ``M = Rz·Rx·Ry`` (ITK's default), or ``Rz·Ry·Rx`` with ``compute_zyx=True``.
    Parameters: ``(ax, ay, az, tx, ty, tz)``; fixed parameters: ``(cx, cy, cz, zyx)`` with
    ``zyx`` 1.0 or 0.0 (a 3-value fixed vector is accepted when reading, as in ITK).

    Example
    -------
    >>> t = Euler3DTransform(angles=(0.0, 0.0, 0.5), compute_zyx=True)
    >>> t.fixed_parameters
    (0.0, 0.0, 0.0, 1.0)
    """

    itk_class_name = "Euler3DTransform"
    _inverse_keeps_matrix = False

    def __init__(self, center: Sequence[float] = (0.0, 0.0, 0.0),
                 angles: Sequence[float] = (0.0, 0.0, 0.0),
                 translation: Sequence[float] = (0.0, 0.0, 0.0),
                 compute_zyx: bool = False) -> None:
        self._angles = as_vector("angles", angles, 3)
        if not isinstance(compute_zyx, (bool, np.bool_, int, np.integer)) or compute_zyx not in (0, 1):
            raise TypeError(f"compute_zyx must be a bool, got {compute_zyx!r}")
        self._zyx = bool(compute_zyx)
        super().__init__(3, translation, center)

    def _compute_matrix(self) -> Matrix:
        ax, ay, az = self._angles
        cx, sx = math.cos(ax), math.sin(ax)
        cy, sy = math.cos(ay), math.sin(ay)
        cz, sz = math.cos(az), math.sin(az)
        rx = ((1.0, 0.0, 0.0), (0.0, cx, -sx), (0.0, sx, cx))
        ry = ((cy, 0.0, sy), (0.0, 1.0, 0.0), (-sy, 0.0, cy))
        rz = ((cz, -sz, 0.0), (sz, cz, 0.0), (0.0, 0.0, 1.0))
        if self._zyx:
            return _matmul(_matmul(rz, ry), rx)
        return _matmul(_matmul(rz, rx), ry)

    @property
    def angles(self) -> tuple[float, float, float]:
        return self._angles

    @property
    def compute_zyx(self) -> bool:
        return self._zyx

    @property
    def parameters(self) -> tuple[float, ...]:
        return self._angles + self._translation

    @property
    def fixed_parameters(self) -> tuple[float, ...]:
        return self._center + (1.0 if self._zyx else 0.0,)

    @classmethod
    def _from_parameters(cls, parameters, fixed, dimension):
        cls._check_lengths(parameters, 6, fixed, (3, 4))
        return cls(fixed[:3], parameters[:3], parameters[3:],
                   len(fixed) == 4 and fixed[3] != 0.0)

    @classmethod
    def _from_matrix(cls, source, matrix, translation):
        return cls(source.center, _euler_angles(matrix, source.compute_zyx), translation,
                   source.compute_zyx)

    def _repr_fields(self) -> dict[str, str]:
        return {"center": _fmt(self._center), "angles": _fmt(self._angles),
                "translation": _fmt(self._translation), "compute_zyx": str(self._zyx)}


# ---------------------------------------------------------------------------------------
# 3-D versor family
# ---------------------------------------------------------------------------------------

class VersorTransform(MatrixOffsetTransform):
    """A 3-D rotation about ``center`` given by a versor (unit quaternion) ``(x, y, z, w)``.

    The versor is normalised (and flipped to ``w >= 0``) as SimpleITK does. Parameters:
    its vector part ``(x, y, z)``; fixed parameters: the center. Reading parameters, a
    vector part of norm above 1 is an error. The inverse has the conjugate versor and, as
    in ITK, holds the numerically inverted matrix and offset.

    Example
    -------
    >>> VersorTransform((0.0, 0.0, 1.0, 1.0)).versor
    (0.0, 0.0, 0.7071067811865475, 0.7071067811865475)
    """

    itk_class_name = "VersorTransform"

    def __init__(self, versor: Sequence[float] = (0.0, 0.0, 0.0, 1.0),
                 center: Sequence[float] = (0.0, 0.0, 0.0)) -> None:
        self._set_versor(versor)
        super().__init__(3, None, center)

    # -- versor state ----------------------------------------------------------------------
    def _set_versor(self, versor: Sequence[float]) -> None:
        given = as_vector("versor", versor)
        if len(given) != 4:
            raise ValueError(f"versor must be 4 values (x, y, z, w), got {len(given)}"
                             + (" (the 3 parameters go through from_parameters)"
                                if len(given) == 3 else ""))
        self._q = versor_from_quaternion(given)
        # ITK keeps w as normalised, which the parameters (x, y, z) may not reproduce; keep
        # a 4-vector (flipped to w >= 0) that SimpleITK's constructors normalise the same
        x, y, z, w = given
        self._versor_input: Quaternion | None = (-x, -y, -z, -w) if w < 0.0 else given

    def _rotation_matrix(self) -> Matrix:
        return versor_matrix(self._q)

    def _compute_matrix(self) -> Matrix:
        return self._rotation_matrix()

    @property
    def versor(self) -> Quaternion:
        """The unit quaternion ``(x, y, z, w)`` as stored (SimpleITK's ``GetVersor()``)."""
        return self._q

    @property
    def parameters(self) -> tuple[float, ...]:
        return self._q[:3]

    @classmethod
    def _with_state(cls, q: Quaternion, translation: Sequence[float] | None,
                    center: Sequence[float], source: Quaternion | None = None,
                    **extra: float) -> "VersorTransform":
        """An instance holding exactly versor ``q`` (as ITK's internal state can).

        ``source``: a 4-vector with ``w >= 0`` that ``versor_from_quaternion`` maps to
        ``q``, if known; ``extra`` sets further state (``_scale``).
        """
        obj = cls.__new__(cls)
        obj._q, obj._versor_input = tuple(float(v) for v in q), source
        obj.__dict__.update(extra)
        MatrixOffsetTransform.__init__(obj, 3, translation, center)
        return obj

    @classmethod
    def _from_parameters(cls, parameters, fixed, dimension):
        cls._check_lengths(parameters, 3, fixed, (3,))
        return cls._with_state(versor_from_right_part(parameters, False), None, fixed)

    def _inverse_extra(self) -> dict[str, float]:
        """State besides the versor that the inverse changes (the similarity scale)."""
        return {}

    def inverse(self) -> "VersorTransform":
        x, y, z, w = self._q
        src = self._versor_input
        conj = (-x, -y, -z, w)
        conj_src = None if src is None else (-src[0], -src[1], -src[2], src[3])
        extra = self._inverse_extra()
        # ITK's generic GetInverse: the SVD inverse of the matrix and -(M⁻¹·offset) are
        # stored as computed; the versor parameter is the conjugate (equal to the one ITK
        # derives from M⁻¹ up to rounding)
        minv = invert_matrix(self._m, repr(self))
        offset = tuple(-v for v in _matvec(minv, self._off))
        translation = (None if type(self) is VersorTransform   # no translation parameter
                       else compute_translation(minv, offset, self._center))
        inverse = self._with_state(conj, translation, self._center, conj_src, **extra)
        return inverse._holding(minv, offset)

    def _repr_fields(self) -> dict[str, str]:
        return {"versor": _fmt(self._q), "center": _fmt(self._center)}


class VersorRigid3DTransform(VersorTransform):
    """A 3-D rotation (versor ``(x, y, z, w)``) about ``center``, then a translation.

    Parameters: ``(vx, vy, vz, tx, ty, tz)``; fixed parameters: the center. Reading
    parameters, a vector part of norm ``>= 1 - 1e-10`` is scaled to just under 1, as ITK
    does (so no norm is refused).

    Example
    -------
    >>> t = VersorRigid3DTransform((0.0, 0.0, 0.0, 1.0), translation=(1.0, 2.0, 3.0))
    >>> t.parameters
    (0.0, 0.0, 0.0, 1.0, 2.0, 3.0)
    """

    itk_class_name = "VersorRigid3DTransform"

    def __init__(self, versor: Sequence[float] = (0.0, 0.0, 0.0, 1.0),
                 translation: Sequence[float] = (0.0, 0.0, 0.0),
                 center: Sequence[float] = (0.0, 0.0, 0.0)) -> None:
        self._set_versor(versor)
        MatrixOffsetTransform.__init__(self, 3, translation, center)

    @property
    def parameters(self) -> tuple[float, ...]:
        return self._q[:3] + self._translation

    @classmethod
    def _from_parameters(cls, parameters, fixed, dimension):
        cls._check_lengths(parameters, 6, fixed, (3,))
        return cls._with_state(versor_from_right_part(parameters[:3], True), parameters[3:6],
                               fixed)

    def _repr_fields(self) -> dict[str, str]:
        return {"versor": _fmt(self._q), "translation": _fmt(self._translation),
                "center": _fmt(self._center)}


class Similarity3DTransform(VersorRigid3DTransform):
    """A 3-D rotation (versor) and isotropic scaling about ``center``, then a translation.

    Parameters: ``(vx, vy, vz, tx, ty, tz, scale)``; fixed parameters: the center.

    Example
    -------
    >>> Similarity3DTransform(scale=2.0).transform_point((1.0, 2.0, 3.0))
    (2.0, 4.0, 6.0)
    """

    itk_class_name = "Similarity3DTransform"

    def __init__(self, scale: float = 1.0, versor: Sequence[float] = (0.0, 0.0, 0.0, 1.0),
                 translation: Sequence[float] = (0.0, 0.0, 0.0),
                 center: Sequence[float] = (0.0, 0.0, 0.0)) -> None:
        self._scale = as_scalar("scale", scale)
        super().__init__(versor, translation, center)

    def _compute_matrix(self) -> Matrix:
        return tuple(tuple(v * self._scale for v in row) for row in self._rotation_matrix())

    @property
    def scale(self) -> float:
        return self._scale

    @property
    def parameters(self) -> tuple[float, ...]:
        return self._q[:3] + self._translation + (self._scale,)

    @classmethod
    def _from_parameters(cls, parameters, fixed, dimension):
        cls._check_lengths(parameters, 7, fixed, (3,))
        return cls._with_state(versor_from_right_part(parameters[:3], True), parameters[3:6],
                               fixed, _scale=parameters[6])

    def _inverse_extra(self) -> dict[str, float]:
        if self._scale == 0.0:
            raise ValueError(f"{self!r} has no inverse: its scale is 0")
        return {"_scale": 1.0 / self._scale}

    def _repr_fields(self) -> dict[str, str]:
        return {"scale": repr(self._scale), **super()._repr_fields()}
