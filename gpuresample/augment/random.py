"""Random spatial transforms: each draws its parameters from a numpy Generator and returns
a :class:`~gpuresample.augment.draws.Draw` holding a concrete gpuresample transform.

Conventions: axes are the image's index axes in ITK order (0 = x, the last numpy axis);
distances are in mm (physical units); every transform maps OUTPUT points to INPUT points
(ITK's), about the image's physical centre, so the content moves by its inverse. A draw
depends only on the generator and the image grid.

Example
-------
>>> import numpy as np
>>> from gpuresample.geometry import Grid
>>> d = RandomAffine(degrees=10).draw(Grid((8, 8)), np.random.default_rng(0))[0]
>>> d.name, sorted(d.params)
('RandomAffine', ['angles', 'center', 'scales', 'shears', 'translation'])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..geometry import Grid, index_to_physical_matrix, index_to_point
from ..grids import output_grid
from ..image import Image
from ..transforms import AffineTransform
from ..transforms.bspline import BSplineTransform
from ..transforms.displacement import DisplacementFieldTransform
from .draws import Draw
from .smoothing import gaussian_smooth

__all__ = ["RandomTransform", "RandomAffine", "RandomElastic", "RandomFlip",
           "RandomAnisotropy", "image_center"]


def image_center(grid: Grid) -> np.ndarray:
    """The physical centre of ``grid``: the point of continuous index (N - 1) / 2."""
    half = (np.asarray(grid.size, dtype=np.float64) - 1.0) / 2.0
    return index_to_point(half[None], grid.origin,
                          index_to_physical_matrix(grid.spacing, grid.direction))[0]


def _range(name: str, value, center: float = 0.0, positive: bool = False) -> tuple[float, float]:
    """A (low, high) range from a number v (center - v, center + v) or a pair."""
    if np.isscalar(value):
        v = float(value)
        if v < 0:
            raise ValueError(f"{name} must be >= 0 or a (low, high) pair, got {value!r}")
        low, high = center - v, center + v
    else:
        pair = tuple(float(x) for x in value)
        if len(pair) != 2:
            raise ValueError(f"{name} must be a number or a (low, high) pair, got {value!r}")
        low, high = pair
    if not (np.isfinite(low) and np.isfinite(high)) or low > high:
        raise ValueError(f"{name} range must be finite with low <= high, got {(low, high)}")
    if positive and low <= 0:
        raise ValueError(f"{name} must stay positive, got the range {(low, high)}")
    return low, high


def _uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> np.ndarray:
    return rng.uniform(bounds[0], bounds[1], size=n) if bounds[0] < bounds[1] else np.full(
        n, bounds[0])


def _axes(name: str, axes, dimension: int) -> tuple[int, ...]:
    axes = (axes,) if np.isscalar(axes) else tuple(axes)
    for a in axes:
        if isinstance(a, bool) or int(a) != a or not 0 <= int(a) < dimension:
            raise ValueError(f"{name}: axis {a!r} is not an axis of a {dimension}-D image "
                             f"(0 = x ... {dimension - 1})")
    return tuple(int(a) for a in axes)


class RandomTransform:
    """Base of the random transforms: a probability ``p`` of being applied at all, a
    generator to draw from, and the calls that augment samples.

    Subclasses implement ``_draw(grid, rng) -> Draw | None``. :meth:`draw` always takes
    the probability's number from ``rng`` first, so later draws do not depend on ``p``.

    Calling an instance augments one sample (an Image, an array or tensor, or a dict of
    them: :mod:`gpuresample.augment.sample`) and returns it in the same form; the draws
    are left in ``history`` (a list of :class:`Draw`). :meth:`batch` augments a batch
    ``(B, C, [z,] y, x)`` with one independent draw per item, in one launch per key and
    path; ``history`` is then one list per item. Options: see :class:`Compose`.
    """

    def __init__(self, p: float = 1.0) -> None:
        if isinstance(p, bool) or not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.history: list = []
        self._rng = np.random.default_rng()

    def reseed(self, seed=None) -> "RandomTransform":
        """Draw from ``numpy.random.default_rng(seed)`` from now on (a Generator is used
        as is); returns self."""
        self._rng = seed if isinstance(seed, np.random.Generator) else (
            np.random.default_rng(seed))
        return self

    def draw(self, grid: Grid, rng: np.random.Generator) -> list[Draw]:
        """The draws (none or one) for an image on ``grid``."""
        if rng.random() >= self.p:
            return []
        d = self._draw(grid, rng)
        return [] if d is None else [d]

    def _draw(self, grid: Grid, rng: np.random.Generator) -> Draw | None:
        raise NotImplementedError

    def __call__(self, sample, *, spacing=None, origin=None, direction=None,
                 rng: np.random.Generator | None = None, **options):
        return self._augment(sample, False, rng, spacing, origin, direction, options)

    def batch(self, batch, *, spacing=None, origin=None, direction=None,
              rng: np.random.Generator | None = None, **options):
        """Augment a batch: arrays/tensors ``(B, C, [z,] y, x)`` (or a dict of them)."""
        return self._augment(batch, True, rng, spacing, origin, direction, options)

    def _augment(self, data, is_batch: bool, rng, spacing, origin, direction, options):
        from .compose import augment
        out, self.history = augment(self, data, is_batch, rng or self._rng,
                                    dict(spacing=spacing, origin=origin, direction=direction),
                                    options)
        return out

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                           if not k.startswith("_") and k not in ("history", "options"))
        return f"{type(self).__name__}({fields})"


def _rotation(angles: np.ndarray) -> np.ndarray:
    if len(angles) == 1:
        c, s = np.cos(angles[0]), np.sin(angles[0])
        return np.array([[c, -s], [s, c]])
    out = np.eye(3)
    for axis, a in enumerate(angles):      # about x, then y, then z: R = Rz Ry Rx
        c, s = np.cos(a), np.sin(a)
        i, j = [k for k in range(3) if k != axis]
        r = np.eye(3)
        r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
        out = r @ out
    return out


class RandomAffine(RandomTransform):
    """A random affine transform about the image centre: rotation, scaling, shear,
    translation, ``T(x) = R·H·S·(x − c) + c + t``.

    Parameters
    ----------
    degrees : number or (low, high)
        Rotation angle(s) in degrees, about each physical axis (3-D: x, y, z; 2-D: one);
        v means (−v, v). Default 10.
    scales : number or (low, high)
        Scale factors; v means (1 − v, 1 + v). Default 0.1. Drawn per axis unless
        ``isotropic``.
    shear : number or (low, high)
        Shear factors (the off-diagonal entries of the upper-triangular H), default 0.
    translation : number or (low, high)
        Translation in mm per axis, default 0.
    isotropic : bool
        One scale factor for every axis.
    p : float
        Probability of being applied.

    Example
    -------
    >>> import numpy as np
    >>> from gpuresample.geometry import Grid
    >>> t = RandomAffine(degrees=0, scales=(2, 2)).draw(Grid((5, 5)), np.random.default_rng(1))
    >>> t[0].transform.transform_point((2.0, 3.0))       # about the centre (2, 2)
    (2.0, 4.0)
    """

    def __init__(self, degrees=10.0, scales=0.1, shear=0.0, translation=0.0,
                 isotropic: bool = False, p: float = 1.0) -> None:
        super().__init__(p)
        self.degrees = _range("degrees", degrees)
        self.scales = _range("scales", scales, center=1.0, positive=True)
        self.shear = _range("shear", shear)
        self.translation = _range("translation", translation)
        self.isotropic = bool(isotropic)

    def _draw(self, grid: Grid, rng: np.random.Generator) -> Draw:
        d = grid.dimension
        angles = np.deg2rad(_uniform(rng, self.degrees, 1 if d == 2 else 3))
        scales = _uniform(rng, self.scales, 1 if self.isotropic else d)
        scales = np.broadcast_to(scales, (d,)).copy()
        shears = _uniform(rng, self.shear, d * (d - 1) // 2)
        translation = _uniform(rng, self.translation, d)
        h = np.eye(d)
        h[np.triu_indices(d, 1)] = shears
        matrix = _rotation(angles) @ h @ np.diag(scales)
        center = image_center(grid)
        transform = AffineTransform(matrix, translation, center)
        return Draw("RandomAffine", {"angles": angles, "scales": scales, "shears": shears,
                                     "translation": translation, "center": center},
                    transform)


class RandomFlip(RandomTransform):
    """Flips along image axes, each with probability ``flip_probability``: the reflection
    about the image centre along that index axis (its direction column), which maps voxel
    centres onto voxel centres.

    Example
    -------
    >>> import numpy as np
    >>> from gpuresample.geometry import Grid
    >>> d = RandomFlip(axes=0, flip_probability=1).draw(Grid((5, 3)), np.random.default_rng(0))
    >>> d[0].transform.transform_point((1.0, 2.0))
    (3.0, 2.0)
    """

    def __init__(self, axes: int | Sequence[int] = 0, flip_probability: float = 0.5,
                 p: float = 1.0) -> None:
        super().__init__(p)
        self.axes = (axes,) if np.isscalar(axes) else tuple(axes)
        if not 0.0 <= float(flip_probability) <= 1.0:
            raise ValueError(f"flip_probability must be in [0, 1], got {flip_probability!r}")
        self.flip_probability = float(flip_probability)

    def _draw(self, grid: Grid, rng: np.random.Generator) -> Draw | None:
        axes = _axes("RandomFlip", self.axes, grid.dimension)
        flips = tuple(a for a, u in zip(axes, rng.random(len(axes)))
                      if u < self.flip_probability)
        if not flips:
            return None
        d = grid.dimension
        matrix = np.eye(d)
        for a in flips:
            u = grid.direction[:, a]
            matrix = (np.eye(d) - 2.0 * np.outer(u, u)) @ matrix
        return Draw("RandomFlip", {"axes": flips},
                    AffineTransform(matrix, None, image_center(grid)))


class RandomElastic(RandomTransform):
    """A random smooth deformation.

    ``mode="bspline"`` (TorchIO's RandomElasticDeformation): a cubic B-spline on a coarse
    control grid of ``num_control_points`` per axis spanning the image, its coefficients
    uniform in ±``max_displacement`` mm, the ``locked_borders`` outer layers of control
    points held at zero. The control grid's axes are the image's, so in ``fast``
    precision it is evaluated separably.

    ``mode="field"`` (MONAI's Rand2D/3DElastic): uniform noise on a grid ``field_spacing``
    times coarser than the image, Gaussian-smoothed with ``sigma`` (in image voxels), scaled
    so its largest component is ``magnitude`` mm, sampled linearly
    (a DisplacementFieldTransform).

    Neither has an inverse (``Draw.inverse`` raises).

    Example
    -------
    >>> import numpy as np
    >>> from gpuresample.geometry import Grid
    >>> d = RandomElastic(num_control_points=5).draw(Grid((20, 20)), np.random.default_rng(0))
    >>> d[0].transform.grid_size
    (5, 5)
    """

    def __init__(self, mode: str = "bspline", num_control_points: int | Sequence[int] = 7,
                 max_displacement: float | Sequence[float] = 7.5, locked_borders: int = 2,
                 sigma=(5.0, 7.0), magnitude=(2.0, 8.0), field_spacing: int = 2,
                 p: float = 1.0) -> None:
        super().__init__(p)
        if mode not in ("bspline", "field"):
            raise ValueError(f"mode must be 'bspline' or 'field', got {mode!r}")
        self.mode = mode
        ncp = (num_control_points,) if np.isscalar(num_control_points) else tuple(
            num_control_points)
        if any(int(n) != n or n < 4 for n in ncp):
            raise ValueError(f"num_control_points must be integers >= 4 (a cubic spline), got "
                             f"{num_control_points!r}")
        self.num_control_points = tuple(int(n) for n in ncp)
        md = np.atleast_1d(np.asarray(max_displacement, dtype=np.float64))
        if np.any(md < 0) or not np.all(np.isfinite(md)):
            raise ValueError(f"max_displacement must be finite and >= 0, got {max_displacement!r}")
        self.max_displacement = tuple(md.tolist())
        if int(locked_borders) != locked_borders or locked_borders < 0:
            raise ValueError(f"locked_borders must be an integer >= 0, got {locked_borders!r}")
        self.locked_borders = int(locked_borders)
        self.sigma = _range("sigma", sigma, positive=True) if not np.isscalar(sigma) else (
            _range("sigma", (sigma, sigma), positive=True))
        self.magnitude = _range("magnitude", magnitude) if not np.isscalar(magnitude) else (
            _range("magnitude", (magnitude, magnitude)))
        if int(field_spacing) != field_spacing or field_spacing < 1:
            raise ValueError(f"field_spacing must be an integer >= 1, got {field_spacing!r}")
        self.field_spacing = int(field_spacing)

    def _draw(self, grid: Grid, rng: np.random.Generator) -> Draw:
        return self._bspline(grid, rng) if self.mode == "bspline" else self._field(grid, rng)

    def _bspline(self, grid: Grid, rng: np.random.Generator) -> Draw:
        d = grid.dimension
        ncp = np.broadcast_to(np.asarray(self.num_control_points), (d,))
        if 2 * self.locked_borders >= ncp.min():
            raise ValueError(f"locked_borders={self.locked_borders} leaves no free control "
                             f"point of {tuple(ncp.tolist())}")
        a = index_to_physical_matrix(grid.spacing, grid.direction)
        corner = index_to_point(np.full((1, d), -0.5), grid.origin, a)[0]
        extent = np.asarray(grid.size) * np.asarray(grid.spacing)
        zero = BSplineTransform.from_domain(corner, extent, tuple(int(n) - 3 for n in ncp),
                                            grid.direction)
        md = np.broadcast_to(np.asarray(self.max_displacement), (d,))
        shape = zero.coefficients.shape
        coefficients = rng.uniform(-1.0, 1.0, size=shape) * md.reshape(d, *([1] * d))
        b = self.locked_borders
        if b:
            for axis in range(1, d + 1):
                index = [slice(None)] * (d + 1)
                index[axis] = np.r_[0:b, shape[axis] - b:shape[axis]]
                coefficients[tuple(index)] = 0.0
        transform = BSplineTransform(coefficients, zero.grid_origin, zero.grid_spacing,
                                     zero.grid_direction, order=3)
        return Draw("RandomElastic", {"mode": "bspline", "coefficients": coefficients},
                    transform)

    def _field(self, grid: Grid, rng: np.random.Generator) -> Draw:
        d = grid.dimension
        f = self.field_spacing
        size = tuple(-(-(n - 1) // f) + 1 for n in grid.size)
        sigma = float(_uniform(rng, self.sigma, 1)[0])
        magnitude = float(_uniform(rng, self.magnitude, 1)[0])
        noise = rng.random(size=(*size[::-1], d), dtype=np.float32) * 2.0 - 1.0
        field = gaussian_smooth(noise, sigma / f, axes=tuple(range(d)))
        peak = np.abs(field).max()
        field *= magnitude / peak if peak > 0 else 0.0
        image = Image._from_array(field, is_vector=True, origin=grid.origin,
                                  spacing=tuple(s * f for s in grid.spacing),
                                  direction=grid.direction)
        return Draw("RandomElastic", {"mode": "field", "sigma": sigma,
                                      "magnitude": magnitude, "field": field},
                    DisplacementFieldTransform(image))


class RandomAnisotropy(RandomTransform):
    """Simulates a thick-slice acquisition (TorchIO's RandomAnisotropy): along one random
    axis of ``axes``, the image goes onto a grid ``downsampling`` times coarser (nearest
    neighbour, same physical extent) and back onto its own grid (the intensity
    interpolator). Label maps are left as they are. It has no inverse.

    Example
    -------
    >>> import numpy as np
    >>> from gpuresample.geometry import Grid
    >>> d = RandomAnisotropy(axes=2, downsampling=4).draw(Grid((8, 8, 8)),
    ...                                                 np.random.default_rng(0))[0]
    >>> d.coarse.size
    (8, 8, 2)
    """

    def __init__(self, axes: int | Sequence[int] = (0, 1, 2), downsampling=(1.5, 5.0),
                 p: float = 1.0) -> None:
        super().__init__(p)
        self.axes = (axes,) if np.isscalar(axes) else tuple(axes)
        self.downsampling = (_range("downsampling", (downsampling, downsampling),
                                    positive=True) if np.isscalar(downsampling)
                             else _range("downsampling", downsampling, positive=True))
        if self.downsampling[0] < 1.0:
            raise ValueError(f"downsampling factors must be >= 1, got {self.downsampling}")

    def _draw(self, grid: Grid, rng: np.random.Generator) -> Draw:
        axes = [a for a in _axes("RandomAnisotropy", self.axes, 3) if a < grid.dimension]
        if not axes:
            raise ValueError(f"RandomAnisotropy: none of the axes {self.axes} is an axis of a "
                             f"{grid.dimension}-D image")
        axis = int(axes[rng.integers(len(axes))])
        factor = float(_uniform(rng, self.downsampling, 1)[0])
        spacing = list(grid.spacing)
        spacing[axis] *= factor
        coarse = output_grid(grid, spacing=spacing)
        return Draw("RandomAnisotropy", {"axis": axis, "factor": factor}, coarse=coarse,
                    applies_to_labels=False)
