"""DisplacementFieldTransform and ITK's InvertDisplacementField, with SimpleITK's arithmetic.

``T(x) = x + u(x)``: ``u`` is a vector image of physical (LPS) displacements on its own grid,
interpolated linearly (ITK's ``VectorLinearInterpolateImageFunction``, the default) or by
nearest neighbour; outside the field's buffer ``T(x) = x``. Point arithmetic replays ITK
5.4 operation for operation, so results are bit-identical to SimpleITK 2.5.7's
``TransformPoint`` (:func:`field_displacement` documents the exact arithmetic the kernels
mirror). :func:`invert_displacement_field` is ITK's ``InvertDisplacementFieldImageFilter``.

Example
-------
>>> import numpy as np
>>> from gpuresample import image_from_array
>>> u = np.zeros((3, 4, 2)); u[..., 0] = 1.5             # shift x by 1.5 everywhere
>>> t = DisplacementFieldTransform(image_from_array(u, is_vector=True))
>>> t.transform_point((1.0, 1.0)), t.transform_point((9.0, 1.0))   # inside, outside
((2.5, 1.0), (9.0, 1.0))
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..geometry import (index_to_physical_matrix, index_to_point, physical_to_index_matrix,
                        point_to_continuous_index, validate_geometry)
from .base import Transform, as_scalar

__all__ = ["DisplacementFieldTransform", "field_displacement", "invert_displacement_field",
           "InversionResult"]

_INTERPOLATORS = {
    "linear": "linear", "bilinear": "linear", "trilinear": "linear",
    "nearest": "nearest", "nearest_neighbor": "nearest", "nearestneighbor": "nearest",
    "nearest_neighbour": "nearest",
}


# ---------------------------------------------------------------------------------------
# the arithmetic (the contract the numba and CUDA kernels mirror)
# ---------------------------------------------------------------------------------------

def field_displacement(points: np.ndarray, field: np.ndarray, origin: Sequence[float],
                       spacing: Sequence[float], direction: np.ndarray,
                       interpolator: str = "linear") -> tuple[np.ndarray, np.ndarray]:
    """The displacement at ``points`` (N, D): ``(displacement (N, D), inside (N,))``.

    ``field`` is float64 ([Nz,] Ny, Nx, D) (numpy order, components last) on the grid
    ``origin``/``spacing``/``direction``. ``T(x) = x + displacement`` where ``inside``, else
    ``T(x) = x`` (the point itself); ``displacement`` is 0 where not inside. Bit-identical to
    ITK 5.4's ``DisplacementFieldTransform::TransformPoint`` (SimpleITK 2.5.7).

    Arithmetic (mirrored by the kernels)
    ------------------------------------
    All in IEEE float64, no fused multiply-add, left to right as written.

    1. **Continuous index.** ``P = physical_to_index_matrix(spacing, direction)`` (ITK's
       SVD inverse, bit-exact); ``v_d = x_d − origin_d``;
       ``c_r = ((P[r,0]·v_0) + P[r,1]·v_1) + P[r,2]·v_2``.
    2. **Inside** iff for every axis ``c_d ≥ −0.5 and c_d < float(N_d) − 0.5`` (written so
       NaN is outside). Outside: the point is returned unchanged.
    3. **Linear** (``VectorLinearInterpolateImageFunction``):
       ``b_d = floor(c_d)`` (int64), ``f_d = c_d − float(b_d)``; ``acc_j = 0.0``,
       ``total = 0.0``; for ``corner = 0 … 2^D − 1`` (bit d of ``corner`` set = upper
       neighbour along axis d; so x varies fastest): ``w = 1.0``, then for d = 0, 1[, 2]:
       upper: ``i_d = min(b_d + 1, N_d − 1)``, ``w = w·f_d``; lower:
       ``i_d = max(b_d, 0)``, ``w = w·(1.0 − f_d)``. If ``w != 0.0``:
       ``acc_j = acc_j + w·u_j[i]`` for each component j, and ``total = total + w``.
       Then, whether or not the corner was used: if ``total == 1.0`` stop (the remaining
       corners are skipped, even when their weight is not zero).
    4. **Nearest** (``SetInterpolator(sitkNearestNeighbor)``): ``i_d = floor(c_d + 0.5)``
       (round half up), then clamped to [0, N_d − 1], ``acc_j = u_j[i]``. The clamp only
       acts on an axis one pixel wide at ``c = 0.49999999999999994`` (``c + 0.5`` rounds to
       1.0), where ITK reads index 1, outside the axis — a deliberate difference.
    5. **Result**: ``T(x)_j = x_j + acc_j``.
    """
    pts = np.asarray(points, dtype=np.float64)
    u = np.asarray(field, dtype=np.float64)
    d = pts.shape[1]
    size = u.shape[:-1][::-1]
    P = physical_to_index_matrix(spacing, np.asarray(direction, dtype=np.float64))
    c = point_to_continuous_index(pts, origin, P)
    upper_limit = np.array([float(n) - 0.5 for n in size])
    with np.errstate(invalid="ignore"):
        inside = np.all((c >= -0.5) & (c < upper_limit[None, :]), axis=1)
    disp = np.zeros(pts.shape, dtype=np.float64)
    if not inside.any():
        return disp, inside
    ci = c[inside]
    flat = u.reshape(-1, d)
    nmax = np.asarray(size, dtype=np.int64) - 1
    strides = [1, size[0], size[0] * size[1]][:d]
    if interpolator == "nearest":
        idx = np.clip(np.floor(ci + 0.5).astype(np.int64), 0, nmax[None, :])
        at = sum(idx[:, j] * strides[j] for j in range(d))
        disp[inside] = flat[at]
        return disp, inside
    if interpolator != "linear":
        raise ValueError(f"interpolator must be 'linear' or 'nearest', got {interpolator!r}")
    b = np.floor(ci).astype(np.int64)
    f = ci - b.astype(np.float64)
    m = ci.shape[0]
    acc = np.zeros((m, d), dtype=np.float64)
    total = np.zeros(m, dtype=np.float64)
    active = np.ones(m, dtype=bool)
    lower_idx = np.maximum(b, 0)
    upper_idx = np.minimum(b + 1, nmax[None, :])
    for corner in range(1 << d):
        w = np.ones(m, dtype=np.float64)
        at = np.zeros(m, dtype=np.int64)
        for j in range(d):
            if (corner >> j) & 1:
                w = w * f[:, j]
                at = at + upper_idx[:, j] * strides[j]
            else:
                w = w * (1.0 - f[:, j])
                at = at + lower_idx[:, j] * strides[j]
        use = active & (w != 0.0)
        if use.all():
            values = flat[at]
            for j in range(d):
                acc[:, j] = acc[:, j] + w * values[:, j]
            total = total + w
        elif use.any():
            values = flat[at[use]]
            wu = w[use]
            for j in range(d):
                acc[use, j] = acc[use, j] + wu * values[:, j]
            total[use] = total[use] + wu
        active &= total != 1.0
        if not active.any():
            break
    disp[inside] = acc
    return disp, inside


# ---------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------

def _field_from_image(image: Any, what: str):
    """(float64 read-only array, size, origin, spacing, direction) of a displacement-field
    Image; clear errors for anything else."""
    from ..image import Image
    from ..pixeltypes import PixelType

    if not isinstance(image, Image):
        raise TypeError(f"{what} must be a gpuresample Image with VECTOR_FLOAT64 (or "
                        f"VECTOR_FLOAT32) pixels, got {type(image).__name__}; build one "
                        "with gr.image_from_array(array, is_vector=True)")
    d = image.dimension
    if d not in (2, 3):
        raise ValueError(f"{what} must be a 2-D or 3-D image, got a {d}-D one")
    if image.pixel_type not in (PixelType.VECTOR_FLOAT64, PixelType.VECTOR_FLOAT32):
        raise TypeError(f"{what} must have VECTOR_FLOAT64 or VECTOR_FLOAT32 pixels (one "
                        f"physical displacement vector per pixel), got "
                        f"{image.pixel_type.name}; convert it with "
                        "gr.cast(image, gr.PixelType.VECTOR_FLOAT64)")
    if image.number_of_components != d:
        raise ValueError(f"{what} is {d}-D, so its vectors need {d} components, got "
                         f"{image.number_of_components}")
    array = image._array
    if not isinstance(array, np.ndarray):     # a GPU image: the transform lives on the host
        array = array.get()
    arr = np.array(array, dtype=np.float64, order="C")   # a copy: never the user's buffer
    if arr.size == 0:
        raise ValueError(f"{what} is empty (size {image.size})")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} has non-finite displacements (NaN or inf)")
    arr.setflags(write=False)
    return arr, tuple(image.size), image.origin, image.spacing, image.direction


def _check_same_grid(a, b) -> None:
    """ITK's ``VerifyFixedParametersInformation``: same size; origin and spacing within
    ``1e-6·spacing[0]``, direction within 1e-6 (ITK skips the spacing check by a bug; we
    do not)."""
    _, size_a, o_a, s_a, d_a = a
    _, size_b, o_b, s_b, d_b = b
    tol = 1e-6 * s_a[0]
    problems = []
    if size_a != size_b:
        problems.append(f"size {size_b} != {size_a}")
    if np.max(np.abs(np.subtract(o_a, o_b))) > tol:
        problems.append(f"origin {o_b} != {o_a}")
    if np.max(np.abs(np.subtract(s_a, s_b))) > tol:
        problems.append(f"spacing {s_b} != {s_a}")
    if np.max(np.abs(np.subtract(d_a, d_b))) > 1e-6:
        problems.append("direction differs")
    if problems:
        raise ValueError("inverse_field must lie on the field's grid: " + "; ".join(problems))


def _check_interpolator(interpolator: Any) -> str:
    key = interpolator.strip().lower() if isinstance(interpolator, str) else None
    if key not in _INTERPOLATORS:
        raise ValueError("a displacement field is interpolated 'linear' or 'nearest' (the "
                         f"two SimpleITK accepts), got {interpolator!r}")
    return _INTERPOLATORS[key]


# ---------------------------------------------------------------------------------------
# the transform
# ---------------------------------------------------------------------------------------

class DisplacementFieldTransform(Transform):
    """ITK's ``DisplacementFieldTransform``: ``T(x) = x + u(x)``, 2-D or 3-D.

    Parameters
    ----------
    field : Image
        VECTOR_FLOAT64 or VECTOR_FLOAT32 pixels with ``D`` components (physical
        displacements), any origin / spacing / direction. Copied to float64 on
        construction (SimpleITK requires float64 and takes the image over, leaving it
        empty; gpuresample converts float32 and never modifies or consumes the image).
    interpolator : "linear" (default) or "nearest"
        How ``u`` is sampled between pixels (SimpleITK's ``SetInterpolator``).
    inverse_field : Image, optional
        The inverse's displacements on the same grid (SimpleITK's
        ``SetInverseDisplacementField``), e.g. from :func:`invert_displacement_field`;
        :meth:`inverse` needs it.

    ``parameters`` are SimpleITK's (the field buffer, components interleaved per pixel,
    x fastest); ``fixed_parameters``: size, origin, spacing, direction (row-major). Points
    outside ``[−0.5, N − 0.5)`` in continuous index come back unchanged. Arithmetic:
    :func:`field_displacement`.

    Notes
    -----
    SimpleITK 2.5.7's ``CompositeTransform`` keeps only the field of an added
    displacement-field transform: there a nearest-neighbour field is interpolated
    linearly and the inverse field is gone (``Resample`` with the transform itself keeps
    nearest). gpuresample's :class:`CompositeTransform` does the same (with a warning).
    Nearest neighbour on an axis one pixel wide: at ``c = 0.49999999999999994`` ITK rounds
    to index 1 and reads the next pixel in memory; gpuresample clamps to index 0.

    Example
    -------
    >>> import numpy as np
    >>> from gpuresample import image_from_array
    >>> u = np.zeros((3, 4, 2)); u[..., 1] = np.arange(12).reshape(3, 4)
    >>> t = DisplacementFieldTransform(image_from_array(u, is_vector=True))
    >>> t.transform_point((1.5, 0.0)), t.field_size
    ((1.5, 1.5), (4, 3))
    """

    itk_class_name = "DisplacementFieldTransform"

    def __init__(self, field: Any, interpolator: str = "linear",
                 inverse_field: Any = None) -> None:
        self._interp = _check_interpolator(interpolator)
        grid = _field_from_image(field, "field")
        self._set(grid, None if inverse_field is None else
                  _field_from_image(inverse_field, "inverse_field"))

    def _set(self, grid, inverse) -> None:
        if inverse is not None:
            _check_same_grid(grid, inverse)
        self._field, self._size, self._origin, self._spacing, self._direction = grid
        self._inverse = None if inverse is None else inverse[0]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_planes", None)      # a cache (``_float32_planes``): not sent along
        return state

    def __setstate__(self, state: dict) -> None:      # unpickled arrays stay read-only
        self.__dict__.update(state)
        for array in (self._field, self._inverse, self._direction):
            if array is not None:
                array.setflags(write=False)

    @classmethod
    def _from_arrays(cls, field: np.ndarray, origin, spacing, direction, interpolator="linear",
                     inverse: np.ndarray | None = None) -> "DisplacementFieldTransform":
        """From float64 read-only arrays already checked (internal)."""
        out = cls.__new__(cls)
        out._interp = interpolator
        out._field, out._inverse = field, inverse
        out._size = tuple(field.shape[:-1][::-1])
        out._origin, out._spacing, out._direction = origin, spacing, direction
        return out

    @classmethod
    def _from_parameters(cls, parameters, fixed, dimension):
        d = {10: 2, 18: 3}.get(len(fixed))
        if d is None or (dimension is not None and d != dimension):
            want = "10 (2-D) or 18 (3-D)" if dimension is None else str(dimension * (3 + dimension))
            raise ValueError(f"DisplacementFieldTransform takes {want} fixed parameters "
                             f"(size, origin, spacing, direction), got {len(fixed)}")
        size = fixed[:d]
        if any(s != int(s) or s < 1 for s in size):
            raise ValueError(f"DisplacementFieldTransform size (fixed parameters) must be "
                             f"positive integers, got {size}")
        size = tuple(int(s) for s in size)
        n = d * math.prod(size)
        if len(parameters) != n:
            raise ValueError(f"a DisplacementFieldTransform on a {size} grid takes {n} "
                             f"parameters, got {len(parameters)}")
        origin, spacing, direction = validate_geometry(d, fixed[d:2 * d], fixed[2 * d:3 * d],
                                                       fixed[3 * d:])
        field = np.array(parameters, dtype=np.float64).reshape(size[::-1] + (d,))
        field.setflags(write=False)
        return cls._from_arrays(field, origin, spacing, direction)

    def _itk_clone(self) -> "DisplacementFieldTransform":
        """What SimpleITK 2.5.7 stores of this transform in a CompositeTransform: the field
        only, interpolated LINEARLY, with no inverse field (checked: a nearest-neighbour
        member is evaluated linearly, the composite's GetInverse fails; ``Resample`` with
        the transform itself keeps nearest). A UserWarning says so when that changes
        this transform."""
        if self._interp == "linear" and self._inverse is None:
            return self     # immutable
        lost = [what for what, gone in (("the nearest-neighbour interpolator",
                                          self._interp != "linear"),
                                         ("the inverse field", self._inverse is not None))
                if gone]
        warnings.warn(f"as in SimpleITK, a DisplacementFieldTransform added to a "
                      f"CompositeTransform keeps only its field: {' and '.join(lost)} "
                      "is dropped (the member is interpolated linearly)", UserWarning,
                      stacklevel=3)
        return DisplacementFieldTransform._from_arrays(self._field, self._origin,
                                                       self._spacing, self._direction)

    def _float32_planes(self) -> np.ndarray | None:
        """The field as float32 component planes (D, [Nz,] Ny, Nx), read-only, where
        float32 holds every displacement exactly (a field read from a float32 file, as
        registration tools write them), else None: the kernels' compact layout
        (plan._stages), the same sums from half the bytes. Computed once."""
        planes = self.__dict__.get("_planes", False)
        if planes is False:
            single = self._field.astype(np.float32)
            planes = None
            if np.array_equal(single, self._field):
                planes = np.ascontiguousarray(np.moveaxis(single, -1, 0))
                planes.setflags(write=False)
            self._planes = planes
        return planes

    # -- properties ------------------------------------------------------------------------
    @property
    def dimension(self) -> int:
        return len(self._size)

    @property
    def is_linear(self) -> bool:
        return False

    @property
    def field(self) -> np.ndarray:
        """Read-only float64 displacements, ([Nz,] Ny, Nx, D) numpy order."""
        return self._field

    @property
    def inverse_field(self) -> np.ndarray | None:
        """The attached inverse's displacements (read-only, like ``field``), or None."""
        return self._inverse

    @property
    def field_size(self) -> tuple[int, ...]:
        return self._size

    @property
    def field_origin(self) -> tuple[float, ...]:
        return self._origin

    @property
    def field_spacing(self) -> tuple[float, ...]:
        return self._spacing

    @property
    def field_direction(self) -> np.ndarray:
        return self._direction

    @property
    def interpolator(self) -> str:
        """``"linear"`` or ``"nearest"``."""
        return self._interp

    def field_image(self):
        """The displacement field as a new VECTOR_FLOAT64 Image (a copy)."""
        return self._image(self._field)

    def inverse_field_image(self):
        """The inverse field as a new Image, or None when none is attached."""
        return None if self._inverse is None else self._image(self._inverse)

    def _image(self, array: np.ndarray):
        from ..image import Image

        return Image._from_array(np.array(array), is_vector=True, origin=self._origin,
                                 spacing=self._spacing, direction=self._direction)

    @property
    def parameters(self) -> tuple[float, ...]:
        return tuple(self._field.reshape(-1).tolist())

    @property
    def fixed_parameters(self) -> tuple[float, ...]:
        return (tuple(float(n) for n in self._size) + self._origin + self._spacing
                + tuple(self._direction.reshape(-1).tolist()))

    # -- mapping ---------------------------------------------------------------------------
    def _transform_points(self, points: np.ndarray) -> np.ndarray:
        disp, inside = field_displacement(points, self._field, self._origin, self._spacing,
                                          self._direction, self._interp)
        out = points.copy()
        out[inside] = points[inside] + disp[inside]
        return out

    def inverse(self) -> "DisplacementFieldTransform":
        """The transform with field and inverse field swapped (same interpolator), as
        SimpleITK's ``GetInverse``; ValueError when no inverse field is attached."""
        if self._inverse is None:
            raise ValueError("this DisplacementFieldTransform has no inverse field attached "
                             "(SimpleITK's GetInverse fails the same way): compute one with "
                             "inv, info = gr.invert_displacement_field(field_image) and build "
                             "DisplacementFieldTransform(field_image, inverse_field=inv)")
        return DisplacementFieldTransform._from_arrays(
            self._inverse, self._origin, self._spacing, self._direction, self._interp,
            self._field)

    def _repr_fields(self) -> dict[str, str]:
        return {"field_size": str(self._size), "field_origin": str(self._origin),
                "field_spacing": str(self._spacing),
                "field_direction": str(self._direction.reshape(-1).tolist()),
                "interpolator": repr(self._interp),
                "inverse_field": "attached" if self._inverse is not None else "None"}


# ---------------------------------------------------------------------------------------
# ITK's InvertDisplacementFieldImageFilter
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InversionResult:
    """What :func:`invert_displacement_field` reports (errors in voxels: each displacement
    component divided by the spacing, then the Euclidean norm).

    ``max_error`` / ``mean_error``: ITK's ``GetMaxErrorNorm`` / ``GetMeanErrorNorm``, the
    residual ``|v(x) + u(x + v(x))|`` measured in the last iteration, BEFORE its update
    (that is what the stopping rule tests). ``residual_max`` / ``residual_mean``: the same
    norm measured on the returned field (one extra composition), i.e. how far
    ``T(T⁻¹(x))`` is from ``x`` at the grid points (boundary voxels included, which the
    boundary condition pins to zero displacement). ``iterations``: iterations run;
    ``converged``: whether a tolerance (not the iteration limit) stopped it.
    """

    max_error: float
    mean_error: float
    residual_max: float
    residual_mean: float
    iterations: int
    converged: bool


def _compose(u: np.ndarray, v: np.ndarray, points: np.ndarray, origin, spacing, direction
             ) -> np.ndarray:
    """ITK's ``ComposeDisplacementFieldsImageFilter`` (displacement u, warping field v):
    ``((p + v) + u_linear(p + v)) − p`` for the grid points p (u = 0 outside)."""
    d = u.shape[-1]
    warped = points + v.reshape(-1, d)
    disp, _ = field_displacement(warped, u, origin, spacing, direction, "linear")
    return ((warped + disp) - points).reshape(v.shape)


def _scaled_norm(e: np.ndarray, spacing) -> np.ndarray:
    """``sqrt(Σ_d (e_d · (1.0 / spacing_d))²)``, summed from 0.0 over d in order."""
    acc = np.zeros(e.shape[:-1], dtype=np.float64)
    for j, s in enumerate(spacing):
        x = e[..., j] * (1.0 / s)
        acc = acc + x * x
    return np.sqrt(acc)


def invert_displacement_field(field_image: Any, max_iterations: int = 10,
                              max_error_tolerance: float = 0.1,
                              mean_error_tolerance: float = 0.001,
                              enforce_boundary_condition: bool = True):
    """The inverse of a displacement field, by ITK's ``InvertDisplacementFieldImageFilter``
    (SimpleITK's ``InvertDisplacementField``, same defaults), on the field's own grid.

    Returns ``(inverse, info)``: a VECTOR_FLOAT64 Image on the field's grid and an
    :class:`InversionResult` with the errors (in voxels) and the iterations run. Attach
    the inverse with ``DisplacementFieldTransform(field_image, inverse_field=inverse)``.

    Algorithm (ITK's, operation for operation; u = the field, v = the estimate, 0 at first):
    while ``iteration < max_iterations`` and ``max_error > max_error_tolerance`` and
    ``mean_error > mean_error_tolerance`` (both ∞ before the first iteration):

    1. ``e(x) = ((x + v(x)) + u(x + v(x))) − x`` at every grid point x (u linearly
       interpolated as :func:`field_displacement`, 0 outside the grid);
    2. ``s(x) = |e(x) / spacing|``; ``max_error = max s``, ``mean_error = Σ s / N``;
    3. ``ε = 0.75`` in the first iteration, 0.5 afterwards; ``d = −e``, scaled by
       ``ε·max_error / s(x)`` where ``s(x) > ε·max_error``; ``v ← v + d·ε``;
    4. with ``enforce_boundary_condition``, ``v = 0`` on the first and last voxel of every
       axis.

    float32 fields are converted to float64 first (SimpleITK would compute in float32 on a
    float32 field). ITK sums the mean per thread; the order of that sum can move
    ``mean_error`` (and the returned field, when it decides the stopping) in the last bits.

    >>> import numpy as np
    >>> from gpuresample import image_from_array
    >>> y, x = np.mgrid[0:16, 0:16] / 15.0
    >>> u = np.zeros((16, 16, 2)); u[..., 0] = 0.5 * (np.sin(np.pi * x) * np.sin(np.pi * y)) ** 2
    >>> inv, info = invert_displacement_field(image_from_array(u, is_vector=True),
    ...                                       max_error_tolerance=0.01)
    >>> info.converged, info.iterations, round(float(np.asarray(inv)[8, 8, 0]), 2)
    (True, 9, -0.47)
    >>> info.residual_max < 0.025      # voxels, at the grid points
    True
    """
    u, size, origin, spacing, direction = _field_from_image(field_image, "field_image")
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, (int, np.integer)):
        raise TypeError(f"max_iterations must be an integer, got {max_iterations!r}")
    if max_iterations < 0:
        raise ValueError(f"max_iterations must be >= 0, got {max_iterations}")
    max_tol = as_scalar("max_error_tolerance", max_error_tolerance)
    mean_tol = as_scalar("mean_error_tolerance", mean_error_tolerance)
    d = len(size)
    grid = np.stack(np.meshgrid(*[np.arange(n, dtype=np.float64) for n in size],
                                indexing="ij"), axis=-1)
    index = np.ascontiguousarray(grid.transpose(tuple(range(d))[::-1] + (d,))).reshape(-1, d)
    points = index_to_point(index, origin, index_to_physical_matrix(spacing, direction))
    border = np.zeros(u.shape[:-1], dtype=bool)
    for axis in range(d):           # numpy axis d-1-axis is index axis `axis`
        sl = [slice(None)] * d
        for at in (0, size[axis] - 1):
            sl[d - 1 - axis] = at
            border[tuple(sl)] = True

    v = np.zeros(u.shape, dtype=np.float64)
    big = float(np.finfo(np.float64).max)
    max_err = mean_err = big
    iteration = 0
    while iteration < max_iterations and max_err > max_tol and mean_err > mean_tol:
        iteration += 1
        e = _compose(u, v, points, origin, spacing, direction)
        s = _scaled_norm(e, spacing)
        max_err = float(s.max())
        mean_err = float(np.sum(s)) / float(s.size)
        eps = 0.75 if iteration == 1 else 0.5
        update = -e
        limit = eps * max_err
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = limit / s
        clip = s > limit
        update[clip] = update[clip] * factor[clip][:, None]
        v = v + update * eps
        if enforce_boundary_condition:
            v[border] = 0.0
    residual = _scaled_norm(_compose(u, v, points, origin, spacing, direction), spacing)
    converged = max_err <= max_tol or mean_err <= mean_tol
    info = InversionResult(
        max_error=max_err if iteration else math.nan,
        mean_error=mean_err if iteration else math.nan,
        residual_max=float(residual.max()), residual_mean=float(np.mean(residual)),
        iterations=iteration, converged=bool(converged))
    from ..image import Image

    inverse = Image._from_array(np.ascontiguousarray(v), is_vector=True, origin=origin,
                                spacing=spacing, direction=direction)
    return inverse, info

