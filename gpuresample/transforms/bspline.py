"""BSplineTransform: a free-form deformation on a control-point grid, as ITK's.

``T(x) = x + Σ_k w_k(x)·c_k`` over the ``(order + 1)^D`` control points around ``x``, inside
the transform domain; ``T(x) = x`` outside it. The control grid is an image geometry (size,
origin, spacing, direction: SimpleITK's fixed parameters) with one coefficient (a physical
displacement vector) per grid point. Point arithmetic replays ITK 5.4's
``BSplineTransform::TransformPoint`` operation for operation, so results are bit-identical
to SimpleITK 2.5.7's ``TransformPoint`` (:func:`bspline_displacement` documents the exact
arithmetic the kernels mirror).

Example
-------
>>> import numpy as np
>>> t = BSplineTransform.from_domain((0.0, 0.0), (10.0, 20.0), (5, 4))
>>> t.grid_size, t.grid_origin, t.grid_spacing
((8, 7), (-2.0, -5.0), (2.0, 5.0))
>>> c = np.zeros(t.coefficients.shape); c[0] = 1.0      # shift everything by +1 in x
>>> t = BSplineTransform(c, t.grid_origin, t.grid_spacing)
>>> t.transform_point((3.0, 7.0)), t.transform_point((30.0, 7.0))   # inside, outside
((4.0, 7.0), (30.0, 7.0))
"""

from __future__ import annotations

import math
import operator
import types
from typing import Any, Sequence

import numpy as np

from ..geometry import (index_to_physical_matrix, physical_to_index_matrix,
                        point_to_continuous_index, validate_geometry)
from . import base
from .base import Transform, as_vector, check_dimension

__all__ = ["BSplineTransform", "bspline_displacement", "bspline_kernel"]

_ORDERS = (0, 1, 2, 3)
_EPS_ABS = 0.1 * 2.220446049250313e-16      # FloatAlmostEqual's maxAbsoluteDifference


# ---------------------------------------------------------------------------------------
# the arithmetic (the contract the numba and CUDA kernels mirror)
# ---------------------------------------------------------------------------------------

def _unsigned_order_minus_one(order: int) -> float:
    """ITK's ``SplineOrder - 1`` in ``unsigned int`` arithmetic, as a double
    (4294967295.0 for order 0)."""
    return float((order - 1) & 0xFFFFFFFF)


def valid_limits(grid_size: Sequence[int], order: int) -> tuple[float, tuple[float, ...]]:
    """``(min_limit, max_limits)`` of ITK's ``InsideValidRegion`` (continuous grid index).

    ``min_limit = 0.5·u`` and ``max_limit_d = (G_d − 0.5·u) − 1.0`` with ``u`` =
    ``SplineOrder − 1`` as an unsigned 32-bit integer (so ``u = 4294967295`` for order 0).
    """
    u = _unsigned_order_minus_one(order)
    half = 0.5 * u
    return half, tuple((float(g) - half) - 1.0 for g in grid_size)


def _as_ulp(x: np.ndarray) -> np.ndarray:
    """ITK's ``FloatIEEE<double>::AsULP``: the bits as int64, negatives as −magnitude."""
    bits = np.asarray(x, dtype=np.float64).view(np.int64)
    magnitude = bits & np.int64(0x7FFFFFFFFFFFFFFF)
    return np.where(bits < 0, -magnitude, bits)


def _float_almost_equal(x: np.ndarray, limit: float, max_ulps: int = 4) -> np.ndarray:
    """ITK's ``Math::FloatAlmostEqual(x, limit, max_ulps)`` element-wise (NaN → False)."""
    with np.errstate(invalid="ignore"):
        close = np.abs(x - limit) <= _EPS_ABS
        same_sign = np.signbit(x) == np.signbit(limit)
        ulps = np.abs(_as_ulp(x) - _as_ulp(np.float64(limit)))
        return (close | (same_sign & (ulps <= max_ulps))) & ~np.isnan(x)


def _float_add_ulp(x: float, ulps: int) -> float:
    """ITK's ``Math::FloatAddULP``: add ``ulps`` to the bits of ``x`` (as int64)."""
    bits = np.array([x], dtype=np.float64).view(np.int64) + np.int64(ulps)
    return float(bits.view(np.float64)[0])


def bspline_kernel(order: int, u: np.ndarray) -> np.ndarray:
    """ITK's ``BSplineKernelFunction<order>::FastEvaluate(u)``, element-wise in float64.

    With ``a = |u|`` and ``s = a·a`` (each line is the exact C++ evaluation order):

    * order 3: ``a < 1``: ``((4.0 − 6.0·s) + (3.0·s)·a) / 6.0``;
      ``a < 2``: ``(((8.0 − 12.0·a) + 6.0·s) − s·a) / 6.0``; else 0.
    * order 2: ``a < 0.5``: ``0.75 − s``; ``a < 1.5``: ``((9.0 − 12.0·a) + 4.0·s) · 0.125``;
      else 0.
    * order 1: ``a < 1``: ``1.0 − a``; else 0.
    * order 0: ``a < 0.5``: 1.0; ``a == 0.5``: 0.5; else 0.
    """
    u = np.asarray(u, dtype=np.float64)
    a = np.abs(u)
    s = a * a
    with np.errstate(invalid="ignore"):
        if order == 3:
            inner = ((4.0 - 6.0 * s) + (3.0 * s) * a) / 6.0
            outer = (((8.0 - 12.0 * a) + 6.0 * s) - s * a) / 6.0
            return np.where(a < 1.0, inner, np.where(a < 2.0, outer, 0.0))
        if order == 2:
            inner = 0.75 - s
            outer = ((9.0 - 12.0 * a) + 4.0 * s) * 0.125
            return np.where(a < 0.5, inner, np.where(a < 1.5, outer, 0.0))
        if order == 1:
            return np.where(a < 1.0, 1.0 - a, 0.0)
        if order == 0:
            return np.where(a < 0.5, 1.0, np.where(a == 0.5, 0.5, 0.0))
    raise ValueError(f"B-spline order must be 0, 1, 2 or 3, got {order!r}")


def bspline_displacement(points: np.ndarray, coefficients: np.ndarray,
                         grid_origin: Sequence[float], grid_spacing: Sequence[float],
                         grid_direction: np.ndarray, order: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """The B-spline displacement at ``points`` (N, D): ``(displacement (N, D), inside (N,))``.

    ``T(x) = x + displacement`` where ``inside``, else ``T(x) = x`` (the point itself, not
    ``x + 0.0``); ``displacement`` is 0 where not inside. ``coefficients`` is (D, [Gz,] Gy,
    Gx) float64 (component j = displacement along physical axis j). Bit-identical to ITK
    5.4's ``BSplineTransform::TransformPoint`` (SimpleITK 2.5.7).

    Arithmetic (mirrored by the kernels)
    ------------------------------------
    All in IEEE float64, no fused multiply-add, left-to-right as written.

    1. **Continuous grid index.** ``P = physical_to_index_matrix(grid_spacing,
       grid_direction)`` (ITK's SVD inverse of ``Dir·diag(spacing)``, bit-exact);
       ``v_d = x_d − origin_d``; ``c_r = ((P[r,0]·v_0) + P[r,1]·v_1) + P[r,2]·v_2``
       (row r summed over the columns in increasing order; ITK starts from 0.0, which only
       changes the sign of an exact zero).
    2. **Validity**, per axis d = 0, 1[, 2] in order, with ``u = float(uint32(order − 1))``
       (``u = 4294967295.0`` for order 0: ITK's unsigned wrap), ``min = 0.5·u``,
       ``max_d = (float(G_d) − 0.5·u) − 1.0``:

       a. if ``FloatAlmostEqual(c_d, max_d, 4 ULP)`` — i.e. ``|c_d − max_d| ≤ 0.1·DBL_EPSILON``,
          or same sign bit and ``|ulp(c_d) − ulp(max_d)| ≤ 4`` where ``ulp(x)`` is the
          float's bits as int64 (negatives: −(bits & 0x7FF..F)) — then
          ``c_d ← bits⁻¹(bits(max_d) − 6)`` (6 ULP below max_d) and the axis is inside
          (no lower-bound test); this catches points up to 4 ULP ABOVE the limit too;
       b. else if ``c_d ≥ max_d`` → outside;
       c. else if ``c_d < min`` → outside.

       NaN is outside (ITK would read outside its buffer). Order 3: inside iff
       ``1 ≤ c_d < G_d − 2`` up to the nudge. Order 0 is never inside in practice (the
       limits are ±2.1e9); a point whose support would leave the grid is outside.
    3. **Start index** (per axis): ``start_d = floor((c_d + 0.5) − order/2.0)`` (two
       roundings: first ``+ 0.5``, then ``− 0.0/0.5/1.0/1.5``), as int64.
    4. **1-D weights** (per axis d): ``t = c_d − float(start_d)``; for k = 0 … order:
       ``w_d[k] = B_order(t)``, then ``t = t − 1.0`` (repeated subtraction, not
       ``c_d − start_d − k``). ``B`` is :func:`bspline_kernel` (exact formulas there).
    5. **Products and sum.** The ``(order+1)^D`` support points are visited with the x
       offset fastest, then y, then z (``k = kx + S·ky + S²·kz``, ``S = order + 1``); the
       weight is ``(w_x[kx]·w_y[ky])·w_z[kz]`` (ITK: ``1.0``, then ``*= w_x``, ``*= w_y``,
       ``*= w_z``); for each component j: ``acc_j = 0.0``, then
       ``acc_j = acc_j + weight·coef_j[start_z+kz, start_y+ky, start_x+kx]`` in visiting
       order (every support point, zero weights included).
    6. **Result**: ``T(x)_j = acc_j + x_j``.
    """
    pts = np.asarray(points, dtype=np.float64)
    coef = np.asarray(coefficients, dtype=np.float64)
    d = pts.shape[1]
    grid_size = coef.shape[1:][::-1]
    P = physical_to_index_matrix(grid_spacing, np.asarray(grid_direction, dtype=np.float64))
    c = point_to_continuous_index(pts, grid_origin, P)
    n = pts.shape[0]

    # 2. validity (with the nudge)
    min_limit, max_limits = valid_limits(grid_size, order)
    inside = np.ones(n, dtype=bool)
    with np.errstate(invalid="ignore"):
        for j in range(d):
            cj = c[:, j]
            near = _float_almost_equal(cj, max_limits[j])
            cj[near] = _float_add_ulp(max_limits[j], -6)
            far = ~near & ((cj >= max_limits[j]) | (cj < min_limit) | np.isnan(cj))
            inside &= ~far
    disp = np.zeros((n, d), dtype=np.float64)
    if not inside.any():
        return disp, inside

    ci = c[inside]
    support = order + 1
    # 3. start indices
    start = np.floor((ci + 0.5) - order / 2.0).astype(np.int64)
    ok = np.all((start >= 0) & (start + order <= np.asarray(grid_size) - 1), axis=1)
    if not ok.all():    # only reachable for order 0 (ITK reads outside its buffer there)
        idx = np.flatnonzero(inside)
        inside[idx[~ok]] = False
        ci, start = ci[ok], start[ok]
    # 4. 1-D weights, w[j][k] has shape (m,)
    weights = []
    for j in range(d):
        t = ci[:, j] - start[:, j].astype(np.float64)
        wj = []
        for _ in range(support):
            wj.append(bspline_kernel(order, t))
            t = t - 1.0
        weights.append(wj)
    # 5. products and accumulation, x offset fastest
    flat = coef.reshape(d, -1)
    gx, gy = grid_size[0], grid_size[1]
    acc = np.zeros((ci.shape[0], d), dtype=np.float64)
    for kz in range(support if d == 3 else 1):
        for ky in range(support):
            for kx in range(support):
                w = weights[0][kx] * weights[1][ky]
                at = (start[:, 1] + ky) * gx + (start[:, 0] + kx)
                if d == 3:
                    w = w * weights[2][kz]
                    at = at + (start[:, 2] + kz) * (gx * gy)
                for j in range(d):
                    acc[:, j] = acc[:, j] + w * flat[j, at]
    disp[inside] = acc
    return disp, inside


# ---------------------------------------------------------------------------------------
# the transform
# ---------------------------------------------------------------------------------------

def _check_order(order: Any) -> int:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)):
        raise TypeError(f"B-spline order must be an integer 0, 1, 2 or 3, got {order!r}")
    if int(order) not in _ORDERS:
        raise ValueError(f"B-spline order must be 0, 1, 2 or 3 (as SimpleITK), got {order}")
    return int(order)


def _check_sizes(name: str, value: Any, dimension: int | None = None) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or np.ndim(value) != 1:
        raise TypeError(f"{name} must be a sequence of integers, got {value!r}")
    try:
        sizes = tuple(operator.index(v) for v in value)
    except TypeError:
        arr = np.asarray(value)
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            sizes = tuple(int(v) for v in arr)
        else:
            raise TypeError(f"{name} must be integers, got {value!r}") from None
    if dimension is not None and len(sizes) != dimension:
        raise ValueError(f"{name} must have {dimension} values, got {len(sizes)}")
    if len(sizes) not in (2, 3):
        raise ValueError(f"{name} must have 2 or 3 values (one per axis), got {len(sizes)}")
    if min(sizes) < 1:
        raise ValueError(f"{name} must be at least 1 along every axis, got {sizes}")
    return sizes


def _matvec0(m: np.ndarray, v: Sequence[float]) -> tuple[float, ...]:
    """itk::Matrix · Point/Vector: each row summed from 0.0, columns in order."""
    out = []
    for row in np.asarray(m, dtype=np.float64):
        acc = 0.0
        for mc, vc in zip(row, v):
            acc += float(mc) * float(vc)
        out.append(acc)
    return tuple(out)


class BSplineTransform(Transform):
    """ITK's ``BSplineTransform`` (2-D or 3-D, order 0 to 3) on an explicit control grid.

    Parameters
    ----------
    coefficients : array (D, [Gz,] Gy, Gx)
        Component ``j`` (``coefficients[j]``, numpy order) holds each control point's
        displacement along PHYSICAL axis ``j``. Copied to a read-only float64 array.
    grid_origin, grid_spacing : D numbers
        The control grid's origin and spacing (positive).
    grid_direction : (D, D) or D² numbers (row-major), optional
        The control grid's direction (columns = grid axes); identity by default. Any
        non-singular matrix, as SimpleITK.
    order : 0, 1, 2 or 3
        Spline order (default 3, as SimpleITK). Order 0 gives the identity everywhere, as
        it does in SimpleITK 2.5.7 (ITK computes ``SplineOrder − 1`` unsigned, which puts
        the valid region at ±2.1e9 grid units).

    ``parameters`` are SimpleITK's: the coefficients, component blocks one after the other,
    x fastest (``coefficients.ravel()``); ``fixed_parameters``: grid size, grid origin,
    grid spacing, grid direction (row-major). The transform domain is where
    ``(order−1)/2 ≤ c_d < G_d − (order−1)/2 − 1`` for the continuous grid index c (order 3:
    one grid spacing inside the grid on every side); outside it ``T(x) = x``. Arithmetic:
    :func:`bspline_displacement`. Use :meth:`from_domain` (a mesh over a physical box) or
    :meth:`from_image` (SimpleITK's ``BSplineTransformInitializer``) to build the grid.

    There is no inverse (:meth:`inverse` raises, as SimpleITK's ``GetInverse``).

    Example
    -------
    >>> import numpy as np
    >>> c = np.zeros((2, 5, 6)); c[1, 2, 2] = 3.0
    >>> t = BSplineTransform(c, grid_origin=(-1.0, -1.0), grid_spacing=(1.0, 1.0))
    >>> t.grid_size, t.mesh_size, t.order
    ((6, 5), (3, 2), 3)
    >>> t.transform_point((1.0, 1.0))
    (1.0, 2.333333333333333)
    """

    itk_class_name = "BSplineTransform"

    def __init__(self, coefficients: Any, grid_origin: Sequence[float],
                 grid_spacing: Sequence[float], grid_direction: Any = None,
                 order: int = 3) -> None:
        order = _check_order(order)
        if isinstance(coefficients, (str, bytes)) or np.iscomplexobj(coefficients):
            raise TypeError("coefficients must be a real array of shape (D, [Gz,] Gy, Gx)")
        try:
            coef = np.array(coefficients, dtype=np.float64, order="C")
        except (TypeError, ValueError):
            raise TypeError("coefficients must be a real array of shape (D, [Gz,] Gy, Gx), "
                            f"got {type(coefficients).__name__}") from None
        if coef.ndim not in (3, 4) or coef.shape[0] != coef.ndim - 1:
            raise ValueError("coefficients must have shape (2, Gy, Gx) for a 2-D transform or "
                             f"(3, Gz, Gy, Gx) for a 3-D one, got {coef.shape}")
        d = coef.shape[0]
        grid_size = coef.shape[1:][::-1]
        if min(grid_size) < order + 1:
            raise ValueError(f"an order-{order} B-spline grid needs at least {order + 1} "
                             f"control points along every axis (mesh size >= 1), got grid "
                             f"size {grid_size}")
        if not np.all(np.isfinite(coef)):
            raise ValueError("coefficients must be finite")
        origin, spacing, direction = validate_geometry(
            d, as_vector("grid_origin", grid_origin, d),
            as_vector("grid_spacing", grid_spacing, d),
            np.eye(d) if grid_direction is None else grid_direction)
        coef.setflags(write=False)
        self._coef = coef
        self._order = order
        self._grid_size = tuple(int(g) for g in grid_size)
        self._origin, self._spacing, self._direction = origin, spacing, direction

    def __setstate__(self, state: dict) -> None:      # unpickled arrays stay read-only
        self.__dict__.update(state)
        for array in (self._coef, self._direction):
            array.setflags(write=False)

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def from_domain(cls, domain_origin: Sequence[float], physical_dimensions: Sequence[float],
                    mesh_size: Sequence[int], direction: Any = None,
                    order: int = 3) -> "BSplineTransform":
        """A zero (identity) transform whose domain is a physical box, exactly as
        SimpleITK's ``BSplineTransform(D, order)`` followed by ``SetTransformDomainOrigin``,
        ``SetTransformDomainPhysicalDimensions``, ``SetTransformDomainDirection`` and
        ``SetTransformDomainMeshSize`` in that order (BSplineTransformInitializer's).

        The box starts at ``domain_origin`` and spans ``physical_dimensions`` along the
        columns of ``direction`` (identity by default), cut into ``mesh_size`` cells: grid
        size ``mesh + order``, grid spacing ``dims / mesh``, grid origin
        ``domain_origin + Dir·((−0.5·spacing)·(order − 1))`` (order − 1 unsigned, so order 0
        gets SimpleITK's huge origin too). ITK 5.4 keeps no domain state: each setter reads
        the others back from the grid, so the grid origin's last bits depend on the order of
        the calls; this follows the order above.

        >>> BSplineTransform.from_domain((0.0, 0.0), (10.0, 20.0), (5, 4)).fixed_parameters
        (8.0, 7.0, -2.0, -5.0, 2.0, 5.0, 1.0, 0.0, 0.0, 1.0)
        """
        order = _check_order(order)
        mesh = _check_sizes("mesh_size", mesh_size)
        d = len(mesh)
        origin = as_vector("domain_origin", domain_origin, d)
        dims = as_vector("physical_dimensions", physical_dimensions, d)
        if min(dims) <= 0:
            raise ValueError(f"physical_dimensions must be positive, got {dims}")
        _, _, dirm = validate_geometry(d, direction=np.eye(d) if direction is None
                                       else direction)
        return cls._zeros(_setters(origin, dims, dirm, mesh, order), order)

    @classmethod
    def _zeros(cls, fixed: tuple[float, ...], order: int) -> "BSplineTransform":
        d = {10: 2, 18: 3}[len(fixed)]
        g = tuple(int(v) for v in fixed[:d])
        return cls(np.zeros((d,) + g[::-1]), fixed[d:2 * d], fixed[2 * d:3 * d],
                   np.asarray(fixed[3 * d:]).reshape(d, d), order)

    @classmethod
    def from_image(cls, image: Any, mesh_size: Sequence[int],
                   order: int = 3) -> "BSplineTransform":
        """SimpleITK's ``BSplineTransformInitializer(image, mesh_size, order)``: a zero
        transform whose domain covers ``image`` (an Image or a Grid; plus 1/8 voxel on
        every side). Set coefficients with ``BSplineTransform(coefficients,
        t.grid_origin, t.grid_spacing, t.grid_direction, t.order)``.

        As ITK: the image's corners at continuous indices ``−0.625`` and ``N − 0.375`` per
        axis; the domain origin is the corner nearest (squared distance, first wins) the
        bounding box's minimum; for each physical axis in turn, the edge from that corner
        closest in angle to it (not already taken) becomes the domain axis (its length the
        physical dimension, its normalised vector the direction column). Oblique and
        reflected images hence get permuted / re-signed domain axes. ITK holds the corners
        as float32, so the domain origin and direction are float32 values (as SimpleITK's).

        >>> from gpuresample import Image
        >>> img = Image((10, 8)); img.spacing = (2.0, 3.0); img.origin = (5.0, -4.0)
        >>> BSplineTransform.from_image(img, (4, 2)).grid_origin
        (-1.375, -18.25)
        """
        from ..geometry import Grid
        from ..image import Image

        if not isinstance(image, (Image, Grid)):
            raise TypeError(f"image must be a gpuresample Image (or Grid), got "
                            f"{type(image).__name__}")
        d = len(image.size)
        if d not in (2, 3):
            raise ValueError(f"a B-spline transform is 2-D or 3-D; the image is {d}-D")
        order = _check_order(order)
        mesh = _check_sizes("mesh_size", mesh_size, d)
        origin, dims, direction = _initializer_domain(image.size, image.origin, image.spacing,
                                                      image.direction)
        if min(dims) <= 0:
            raise ValueError(f"the image has an empty physical extent: {dims}")
        return cls._zeros(_setters(origin, dims, direction, mesh, order), order)

    @classmethod
    def from_parameters(cls, parameters: Sequence[float], fixed_parameters: Sequence[float],
                        dimension: int | None = None, order: int = 3) -> "BSplineTransform":
        """From SimpleITK's parameters and fixed parameters; ``order`` is not among them
        (SimpleITK's ``BSplineTransform(dim, order)``; ``.tfm`` files carry it in the class
        name: ``BSplineTransform_double_3_3`` is order 3, ``..._3_3_2`` order 2)."""
        order = _check_order(order)
        try:
            if isinstance(parameters, (str, bytes)) or np.iscomplexobj(parameters):
                raise TypeError
            params = np.asarray(parameters, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise TypeError("BSplineTransform parameters must be a sequence of real numbers"
                            ) from None
        fixed = as_vector("BSplineTransform fixed parameters", fixed_parameters)
        if dimension is not None:
            dimension = check_dimension(dimension)
        d = {10: 2, 18: 3}.get(len(fixed))
        if d is None or (dimension is not None and d != dimension):
            want = "10 (2-D) or 18 (3-D)" if dimension is None else str(dimension * (3 + dimension))
            raise ValueError(f"BSplineTransform takes {want} fixed parameters (grid size, "
                             f"origin, spacing, direction), got {len(fixed)}")
        grid_size = _check_sizes("BSplineTransform grid size (fixed parameters)", fixed[:d])
        n = d * math.prod(grid_size)
        if params.size != n:
            raise ValueError(f"a BSplineTransform on a {grid_size} grid takes {n} parameters, "
                             f"got {params.size}")
        coef = params.reshape((d,) + grid_size[::-1])
        return cls(coef, fixed[d:2 * d], fixed[2 * d:3 * d],
                   np.asarray(fixed[3 * d:]).reshape(d, d), order)

    @classmethod
    def _from_parameters(cls, parameters, fixed, dimension):
        return cls.from_parameters(parameters, fixed, dimension)

    def _itk_clone(self) -> "BSplineTransform":
        return self    # immutable; ITK's clone is an exact copy (order included)

    # -- properties ------------------------------------------------------------------------
    @property
    def dimension(self) -> int:
        return len(self._grid_size)

    @property
    def is_linear(self) -> bool:
        return False

    @property
    def coefficients(self) -> np.ndarray:
        """(D, [Gz,] Gy, Gx) read-only float64: component j = displacement along axis j."""
        return self._coef

    @property
    def order(self) -> int:
        return self._order

    @property
    def grid_size(self) -> tuple[int, ...]:
        """Control points per grid axis, (x, y[, z])."""
        return self._grid_size

    @property
    def grid_origin(self) -> tuple[float, ...]:
        return self._origin

    @property
    def grid_spacing(self) -> tuple[float, ...]:
        return self._spacing

    @property
    def grid_direction(self) -> np.ndarray:
        """(D, D) read-only; column d = direction of grid axis d."""
        return self._direction

    @property
    def mesh_size(self) -> tuple[int, ...]:
        """``grid_size − order`` (SimpleITK's ``GetTransformDomainMeshSize``)."""
        return tuple(g - self._order for g in self._grid_size)

    @property
    def domain_origin(self) -> tuple[float, ...]:
        """The transform domain's origin: the grid origin moved forward by
        ``(order − 1)/2`` grid spacings along the grid axes (SimpleITK's
        ``GetTransformDomainOrigin``)."""
        return _domain_origin(self._origin, self._spacing, self._direction, self._order)

    @property
    def domain_physical_dimensions(self) -> tuple[float, ...]:
        """``mesh_size · grid_spacing`` per axis."""
        return tuple(float(m) * s for m, s in zip(self.mesh_size, self._spacing))

    @property
    def parameters(self) -> tuple[float, ...]:
        return tuple(self._coef.reshape(-1).tolist())

    @property
    def fixed_parameters(self) -> tuple[float, ...]:
        return (tuple(float(g) for g in self._grid_size) + self._origin + self._spacing
                + tuple(self._direction.reshape(-1).tolist()))

    # -- mapping ---------------------------------------------------------------------------
    def _transform_points(self, points: np.ndarray) -> np.ndarray:
        disp, inside = bspline_displacement(points, self._coef, self._origin, self._spacing,
                                            self._direction, self._order)
        out = points.copy()
        out[inside] = disp[inside] + points[inside]
        return out

    def inverse(self) -> Transform:
        raise ValueError("BSplineTransform has no inverse (SimpleITK's GetInverse raises "
                         "'Unable to create inverse!' too); sample it into a displacement "
                         "field and use gpuresample.invert_displacement_field")

    def _repr_fields(self) -> dict[str, str]:
        return {"grid_size": str(self._grid_size), "grid_origin": str(self._origin),
                "grid_spacing": str(self._spacing),
                "grid_direction": str(self._direction.reshape(-1).tolist()),
                "order": str(self._order)}


# ---------------------------------------------------------------------------------------
# ITK's domain -> fixed parameters, and BSplineTransformInitializer
# ---------------------------------------------------------------------------------------

def _fixed_from_domain(origin: Sequence[float], dims: Sequence[float], mesh: Sequence[int],
                       direction: np.ndarray, order: int) -> tuple[float, ...]:
    """ITK's ``SetFixedParametersFromTransformDomainInformation(origin, dims, dir, mesh)``:
    grid size ``mesh + order``; spacing ``dims / mesh``; grid origin
    ``Dir·((−0.5·spacing)·u) + origin`` (``u`` = order − 1 unsigned, the product summed
    from 0 per row); the direction row-major."""
    d = len(mesh)
    u = _unsigned_order_minus_one(order)
    spacing = tuple(dims[i] / float(mesh[i]) for i in range(d))
    shift = tuple(-0.5 * spacing[i] * u for i in range(d))
    rotated = _matvec0(direction, shift)
    grid_origin = tuple(rotated[i] + origin[i] for i in range(d))
    return (tuple(float(m + order) for m in mesh) + grid_origin + spacing
            + tuple(float(v) for v in np.asarray(direction).reshape(-1)))


def _setters(origin, dims, direction, mesh, order) -> tuple[float, ...]:
    """SimpleITK's ``BSplineTransform(D, order)`` then ``SetTransformDomainOrigin``,
    ``…PhysicalDimensions``, ``…Direction``, ``…MeshSize`` (BSplineTransformInitializer's
    order): the fixed parameters."""
    state = _DomainState(len(mesh), order)
    state.set(origin=origin)
    state.set(dims=dims)
    state.set(direction=direction)
    state.set(mesh=mesh)
    return state.fixed


class _DomainState:
    """The fixed parameters of an ITK 5.4 ``BSplineTransform`` while its transform-domain
    setters run. ITK keeps no domain members: each ``SetTransformDomain*`` reads the other
    three back from the current grid (``GetTransformDomain*``) and recomputes the whole grid
    when the new value differs, so the result depends on the call order (in the last bits
    of the grid origin)."""

    def __init__(self, d: int, order: int) -> None:
        self.d, self.order = d, order
        self.fixed = _fixed_from_domain((0.0,) * d, (1.0,) * d, (1,) * d, np.eye(d), order)

    # GetTransformDomain* (ITK 5.4)
    def mesh(self) -> tuple[int, ...]:
        return tuple(int(g) - self.order for g in self.fixed[:self.d])

    def spacing(self) -> tuple[float, ...]:
        return self.fixed[2 * self.d:3 * self.d]

    def direction(self) -> np.ndarray:
        return np.asarray(self.fixed[3 * self.d:]).reshape(self.d, self.d)

    def dims(self) -> tuple[float, ...]:
        return tuple(float(m) * s for m, s in zip(self.mesh(), self.spacing()))

    def origin(self) -> tuple[float, ...]:
        return _domain_origin(self.fixed[self.d:2 * self.d], self.spacing(), self.direction(),
                              self.order)

    def set(self, origin=None, dims=None, direction=None, mesh=None) -> None:
        """One ``SetTransformDomain*`` call (the others read back)."""
        cur = (self.origin(), self.dims(), self.direction(), self.mesh())
        new = (cur[0] if origin is None else tuple(origin),
               cur[1] if dims is None else tuple(dims),
               cur[2] if direction is None else np.asarray(direction, dtype=np.float64),
               cur[3] if mesh is None else tuple(mesh))
        changed = (new[0] != cur[0] or new[1] != cur[1] or not np.array_equal(new[2], cur[2])
                   or new[3] != cur[3])
        if changed:
            self.fixed = _fixed_from_domain(new[0], new[1], new[3], new[2], self.order)


def _domain_origin(grid_origin: Sequence[float], spacing: Sequence[float],
                   direction: np.ndarray, order: int) -> tuple[float, ...]:
    """ITK 5.4's ``GetTransformDomainOrigin``: ``grid_origin + Dir·((spacing·0.5)·u)``."""
    u = _unsigned_order_minus_one(order)
    shift = tuple(s * 0.5 * u for s in spacing)
    rotated = _matvec0(direction, shift)
    return tuple(o + v for o, v in zip(grid_origin, rotated))


_F32 = np.float32


def _f32_norm(v: Sequence[np.float32]) -> float:
    """itk::Vector<float>::GetNorm: the float components squared and summed in double."""
    acc = 0.0
    for x in v:
        value = float(x)
        acc += value * value
    return math.sqrt(acc)


def _f32_normalized(v: Sequence[np.float32]) -> tuple[np.float32, ...]:
    """itk::Vector<float>::Normalize: ``float(x · (1.0 / norm))`` (unchanged below epsilon)."""
    norm = _f32_norm(v)
    if norm < 2.220446049250313e-16:
        return tuple(v)
    inv = 1.0 / norm
    return tuple(_F32(float(x) * inv) for x in v)


def _f32_angle_to_axis(axis: int, v: Sequence[np.float32]) -> float:
    """vnl's ``angle(e_axis, v)`` on float vectors: ``acos(float(<e,v> / sqrt(|e|²·|v|²)))``
    with the inner product and squared magnitudes accumulated in float, clamped to
    [0, π]."""
    with np.errstate(all="ignore"):
        ab = _F32(0.0)
        mag = _F32(0.0)
        for i, x in enumerate(v):
            ab = _F32(ab + _F32(1.0 if i == axis else 0.0) * x)
            mag = _F32(mag + x * x)
        c = float(_F32(float(ab) / math.sqrt(float(_F32(1.0)) * float(mag))))
    if c >= 1.0:
        return 0.0
    if c <= -1.0:
        return math.pi
    return math.acos(c) if math.isfinite(c) else math.nan


def _initializer_domain(size: Sequence[int], origin: Sequence[float],
                        spacing: Sequence[float], direction: np.ndarray):
    """ITK's ``BSplineTransformInitializer::InitializeTransform``: (domain origin,
    physical dimensions, domain direction (D, D)).

    ITK keeps the corners in a ``PointSet`` whose coordinates are ``float``: each corner
    is computed in double (``TransformContinuousIndexToPhysicalPoint``: ``A·c`` summed from
    0, then ``+ origin``) and rounded to float32; edge vectors are float differences, the
    direction columns float32, the physical dimensions double norms of float vectors.
    """
    d = len(size)
    eps = 1.0 / 8.0
    A = index_to_physical_matrix(spacing, direction)
    start = tuple(0 - 0.5 - eps for _ in range(d))
    corners = []
    for k in range(1 << d):
        cidx = tuple(start[i] + float((k >> i) & 1) * (float(size[i]) + 2.0 * eps)
                     for i in range(d))
        point = _matvec0(A, cidx)
        corners.append(tuple(_F32(point[r] + origin[r]) for r in range(d)))
    low = tuple(min(c[i] for c in corners) for i in range(d))
    best, best_id = float(np.finfo(np.float64).max), 0
    for k, c in enumerate(corners):
        dist = 0.0
        for i in range(d):
            comp = float(low[i]) - float(c[i])
            dist += comp * comp
        if dist < best:
            best, best_id = dist, k
    domain_origin = corners[best_id]
    chosen: list[int] = []
    with np.errstate(all="ignore"):
        edges = {k: tuple(_F32(a - b) for a, b in zip(corners[k], domain_origin))
                 for k in range(1 << d)}
    for axis in range(d):
        min_angle = float(np.finfo(np.float64).max)
        pick = None
        for i in range(d):
            other = (1 << i) ^ best_id
            theta = _f32_angle_to_axis(axis, _f32_normalized(edges[other]))
            if theta < min_angle and other not in chosen:
                pick, min_angle = other, theta
        if pick is None:
            raise ValueError("cannot build a B-spline domain over a degenerate image")
        chosen.append(pick)
    dims = []
    dirm = np.zeros((d, d))
    for axis, k in enumerate(chosen):
        dims.append(_f32_norm(edges[k]))
        dirm[:, axis] = [float(x) for x in _f32_normalized(edges[k])]
    return tuple(float(x) for x in domain_origin), tuple(dims), dirm


# ---------------------------------------------------------------------------------------
# .tfm names that carry the order ("BSplineTransform_double_3_3_2" is order 2)
# ---------------------------------------------------------------------------------------

def _register_order_names() -> None:
    for d in (2, 3):
        for precision in ("double", "float"):
            for order in (0, 1, 2):
                name = f"BSplineTransform_{precision}_{d}_{d}_{order}"

                def make(parameters, fixed_parameters, dimension=None, _d=d, _order=order,
                         _name=name):
                    if dimension is not None and check_dimension(dimension) != _d:
                        raise ValueError(f"{_name} is {_d}-D but dimension={dimension} "
                                         "was given")
                    return BSplineTransform.from_parameters(parameters, fixed_parameters, _d,
                                                            order=_order)
                base._REGISTRY.setdefault(name, types.SimpleNamespace(from_parameters=make))


_register_order_names()
