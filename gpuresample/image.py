"""The Image: pixels (numpy or CuPy) plus physical geometry, with SimpleITK's semantics.

Sizes, indexes and points are in (x, y[, z[, t]]) order, as in SimpleITK; arrays are in
numpy order [z, y, x(, component)]. An image is 2-D to 4-D (resampling takes 2-D and 3-D).

Example
-------
>>> import numpy as np
>>> img = image_from_array(np.arange(12, dtype=np.int16).reshape(3, 4))
>>> img.size, img.pixel_type.name, img[1, 2]
((4, 3), 'INT16', 9)
>>> img.spacing = (0.5, 2.0)
>>> img.transform_index_to_physical_point((1, 2))
(0.5, 4.0)
"""

from __future__ import annotations

import numbers
import operator
from typing import Any, Mapping, Sequence

import numpy as np

from . import _arrays, arithmetic, slicing
from .geometry import (index_to_physical_matrix, index_to_point, matvec_rows,
                       physical_to_index_matrix, point_to_continuous_index, round_half_up,
                       validate_geometry)
from .pixeltypes import PixelType, as_pixel_type, pixel_type_of

__all__ = ["Image", "MetaData", "image_from_array", "array_from_image",
           "array_view_from_image"]

_DIMENSIONS = (2, 3, 4)


def _refuse_lazy(*operands: Any) -> None:
    for obj in operands:
        if isinstance(obj, Image) and obj.is_lazy:
            raise TypeError("this operation needs the pixels of a lazy image: call "
                            "img.compute() first (or work on its dask array, img.data)")


def _binary_operator(name: str, reflected: bool = False):
    """An operator method that hands ``self`` and the other operand to arithmetic.binary."""
    def method(self: "Image", other: Any) -> Any:
        _refuse_lazy(self, other)
        return arithmetic.binary(name, self, other, reflected)
    method.__name__ = f"__{'r' if reflected else ''}{name}__"
    method.__doc__ = "SimpleITK's semantics, the physical space checked (gpuresample.arithmetic)."
    return method


def _unary_operator(name: str):
    def method(self: "Image") -> "Image":
        _refuse_lazy(self)
        return arithmetic.unary(name, self)
    method.__name__ = f"__{name}__"
    method.__doc__ = "SimpleITK's semantics (see gpuresample.arithmetic)."
    return method


class MetaData(dict):
    """An image's meta-data dictionary: a ``dict`` whose keys and values must be ``str``.

    SimpleITK stores strings only, so a non-string key or value raises ``TypeError``
    (convert it yourself, e.g. ``str(3.5)``) rather than being stored as something
    SimpleITK and the file writers cannot hold.

    >>> md = MetaData({"0010|0010": "Doe^John"})
    >>> md["0008|0060"] = "CT"
    >>> sorted(md)
    ['0008|0060', '0010|0010']
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()
        self.update(*args, **kwargs)

    def __setitem__(self, key: str, value: str) -> None:
        for what, obj in (("key", key), ("value", value)):
            if not isinstance(obj, str):
                raise TypeError(f"meta-data {what}s must be str (SimpleITK stores strings), "
                                f"got {type(obj).__name__} {obj!r}")
        super().__setitem__(key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: str, default: str | None = None) -> str:
        if key not in self:
            self[key] = default
        return self[key]

    def __ior__(self, other: Mapping[str, str]) -> "MetaData":
        self.update(other)
        return self


class Image:
    """An image: a pixel buffer (host or GPU) and its origin, spacing and direction.

    Parameters
    ----------
    size : sequence of int
        (x, y[, z[, t]]): 2 to 4 axes. The pixels are zeros, on the host.
    pixel_type : PixelType, numpy dtype, dtype name or SimpleITK pixel id
        Default ``PixelType.FLOAT32``.
    components : int, optional
        Components per pixel of a VECTOR_* type; default ``dimension`` (as SimpleITK).
        Scalar and complex types have 1.

    Notes
    -----
    Geometry defaults to origin 0, spacing 1 and the identity direction. ``direction``
    columns are the physical directions of the index axes; it is set from a (D, D) matrix
    or a flat row-major sequence (SimpleITK's order). ``img[x, y(, z)]`` reads and writes
    one pixel (vector pixels as tuples); ``img[::2, ::-1]`` and ``img[:, :, 10]`` are
    sub-images with SimpleITK's geometry (:mod:`gpuresample.slicing`). Operators (``+``,
    ``/``, ``>``, ``&``, ...) follow SimpleITK and numpy ufuncs numpy, both checking the
    physical space (:mod:`gpuresample.arithmetic`); so ``==`` compares pixels and gives an
    image, images are not hashable, and ``bool(img)`` raises.

    Examples
    --------
    >>> img = Image((256, 128, 64), PixelType.INT16)
    >>> img.origin = (78.0, 76.0, 77.0)
    >>> img[0, 0, 1] = 2
    >>> img.size, img.dimension, img[0, 0, 1]
    ((256, 128, 64), 3, 2)
    >>> Image((8, 8), "vector_uint8").number_of_components
    2
    """

    def __init__(self, size: Sequence[int], pixel_type: Any = PixelType.FLOAT32,
                 components: int | None = None):
        try:
            size = tuple(operator.index(n) for n in size)
        except TypeError:
            raise TypeError(f"size must be a sequence of integers (x, y[, z]), "
                            f"got {size!r}") from None
        if len(size) not in _DIMENSIONS:
            raise ValueError(f"an image has 2 to 4 axes, got size {size}")
        if min(size) < 0:
            raise ValueError(f"size must not be negative, got {size}")
        pt = as_pixel_type(pixel_type)
        shape = size[::-1]
        if pt.is_vector:
            n = len(size) if components is None else operator.index(components)
            if n < 1:
                raise ValueError(f"a vector image needs at least 1 component, got {n}")
            shape += (n,)
        elif components not in (None, 1):
            raise ValueError(f"{pt.name} pixels have 1 component, got components={components} "
                             f"(use {pt.vector.name if not pt.is_complex else 'a VECTOR_ type'}"
                             " for several)")
        self._set_fields(np.zeros(shape, dtype=pt.dtype), pt, None, None, None, None)

    # ------------------------------------------------------------------ internal contract
    @classmethod
    def _from_array(cls, array: Any, *, is_vector: bool, origin: Sequence[float] | None = None,
                    spacing: Sequence[float] | None = None, direction: Any = None,
                    metadata: Mapping[str, str] | None = None) -> "Image":
        """Wrap an existing numpy or CuPy array as an Image, WITHOUT copying it.

        This is the library-internal constructor (resample, readers, arithmetic build their
        results with it); the caller guarantees that nobody else writes the array.

        Parameters
        ----------
        array : numpy.ndarray, cupy.ndarray or dask.array.Array
            C-contiguous (numpy, CuPy), numpy order: [(t,) (z,) y, x] for scalar and complex images,
            [(t,) (z,) y, x, c] for vector images, whose trailing component axis is always
            present (also with 1 component). Its dtype is the component dtype.
        is_vector : bool
            Whether the last axis is the component axis.
        origin, spacing, direction, metadata : optional
            Validated like the property setters; None gives 0, 1, identity, {}.
            ``metadata`` is copied.

        The pixel buffer is then ``img._array`` (same object as ``array``); the image's
        device is where the array lives.

        >>> img = Image._from_array(np.zeros((2, 3, 4), np.float32), is_vector=True)
        >>> img.size, img.number_of_components
        ((3, 2), 4)
        """
        lazy = _arrays.is_dask_array(array)
        if not (isinstance(array, np.ndarray) or _arrays.is_cupy_array(array) or lazy):
            raise TypeError(f"expected a numpy or CuPy array (or a dask array), got "
                            f"{type(array).__name__}")
        if not lazy and not array.flags.c_contiguous:
            raise ValueError("the pixel array must be C-contiguous")
        dimension = array.ndim - 1 if is_vector else array.ndim
        if dimension not in _DIMENSIONS:
            layout = "[.., z, y, x, c]" if is_vector else "[.., z, y, x]"
            raise ValueError(f"an image has 2 to 4 axes; a {'vector' if is_vector else 'scalar'}"
                             f" image array {layout} of shape {array.shape} would have "
                             f"{dimension}")
        if is_vector and array.shape[-1] < 1:
            raise ValueError("a vector image needs at least 1 component, got shape "
                             f"{array.shape}")
        pt = pixel_type_of(array.dtype, is_vector)
        img = cls.__new__(cls)
        img._set_fields(array, pt, origin, spacing, direction, metadata)
        return img

    def _set_fields(self, array: Any, pixel_type: PixelType, origin, spacing, direction,
                    metadata) -> None:
        self._array = array
        self._pixel_type = pixel_type
        d = self.dimension
        self._origin, self._spacing, self._direction = validate_geometry(
            d, (0.0,) * d if origin is None else origin,
            (1.0,) * d if spacing is None else spacing,
            np.eye(d) if direction is None else direction)
        self._metadata = MetaData(metadata or {})

    def _copy_geometry_from(self, other: "Image") -> "Image":
        """Give this image ``other``'s origin, spacing and direction (not its metadata).

        Returns ``self``, for ``Image._from_array(out, is_vector=...)._copy_geometry_from(img)``.
        """
        if other.dimension != self.dimension:
            raise ValueError(f"cannot copy the geometry of a {other.dimension}-D image to a "
                             f"{self.dimension}-D one")
        self._origin, self._spacing = other._origin, other._spacing
        self._direction = other._direction   # read-only, safe to share
        return self

    # ------------------------------------------------------------------ properties
    @property
    def size(self) -> tuple[int, ...]:
        """Number of pixels along each axis, (x, y[, z[, t]])."""
        shape = self._array.shape[:-1] if self._pixel_type.is_vector else self._array.shape
        return tuple(int(n) for n in shape[::-1])

    @property
    def dimension(self) -> int:
        """Number of axes (2 to 4)."""
        return self._array.ndim - (1 if self._pixel_type.is_vector else 0)

    @property
    def origin(self) -> tuple[float, ...]:
        """Physical point of the pixel with index 0."""
        return self._origin

    @origin.setter
    def origin(self, value: Sequence[float]) -> None:
        self._origin = validate_geometry(self.dimension, origin=value)[0]

    @property
    def spacing(self) -> tuple[float, ...]:
        """Distance between pixel centres along each index axis (positive)."""
        return self._spacing

    @spacing.setter
    def spacing(self, value: Sequence[float]) -> None:
        self._spacing = validate_geometry(self.dimension, spacing=value)[1]

    @property
    def direction(self) -> np.ndarray:
        """(D, D) read-only float64 matrix; column d is the direction of index axis d.

        Set it from a matrix or a flat row-major sequence; any non-singular matrix.
        """
        return self._direction

    @direction.setter
    def direction(self, value: Any) -> None:
        self._direction = validate_geometry(self.dimension, direction=value)[2]

    @property
    def pixel_type(self) -> PixelType:
        return self._pixel_type

    @property
    def dtype(self) -> np.dtype:
        """numpy dtype of one component (complex64 for COMPLEX64)."""
        return self._array.dtype

    @property
    def number_of_components(self) -> int:
        """Components per pixel: the vector length, 1 for scalar and complex images."""
        return int(self._array.shape[-1]) if self._pixel_type.is_vector else 1

    @property
    def device(self) -> str:
        """Where the pixels are: ``"cpu"`` or ``"cuda:N"`` (lazy images: ``"cpu"``)."""
        return _arrays.device_of(self._array)

    # ------------------------------------------------------------------ lazy images
    @property
    def is_lazy(self) -> bool:
        """True when the pixels are a ``dask.array`` (read or computed only on demand).

        Lazy images come from ``read_image(path, lazy=True)``, OME-Zarr files,
        ``image_from_array(dask_array)`` and :func:`~gpuresample.resample` of a lazy
        image (or with ``chunks=``). Geometry and pixel type are known; pixel access,
        operators and conversion to numpy compute them (or refuse and say so).
        """
        return _arrays.is_dask_array(self._array)

    @property
    def data(self) -> Any:
        """The pixel array itself (numpy, CuPy or dask), numpy order [z, y, x(, c)]."""
        return self._array

    def compute(self, *, progress: bool = False, **kwargs: Any) -> "Image":
        """This image with its pixels in memory (a numpy array); ``self`` if not lazy.

        Parameters
        ----------
        progress : bool
            Show a progress bar while Dask computes (local schedulers).
        **kwargs
            Passed to ``dask.compute`` (``scheduler="threads"``, ``"processes"``,
            ``"synchronous"``; with a ``dask.distributed`` client active, its cluster).

        Examples
        --------
        >>> import dask.array as da
        >>> lazy = image_from_array(da.zeros((4, 6), dtype=np.uint8, chunks=2))
        >>> lazy.is_lazy, lazy.compute().is_lazy, lazy.compute().size
        (True, False, (6, 4))
        """
        if not self.is_lazy:
            return self
        from .progress import compute

        (array,) = compute([self._array], progress=progress, **kwargs)
        return self._with_array(np.ascontiguousarray(array))

    @property
    def metadata(self) -> MetaData:
        """Meta-data dictionary (``str`` keys and values only, e.g. DICOM ``"0010|0010"``)."""
        return self._metadata

    @metadata.setter
    def metadata(self, value: Mapping[str, str]) -> None:
        self._metadata = MetaData(value)

    # ------------------------------------------------------------------ copies and devices
    def copy(self) -> "Image":
        """A deep copy (pixels, geometry, metadata) on the same device (lazy stays lazy)."""
        if self.is_lazy:
            return self._with_array(self._array)   # dask arrays are immutable
        return self._with_array(self._array.copy(order="C"))

    def to(self, device: str) -> "Image":
        """This image on ``device`` (``"cpu"``, ``"cuda"`` or ``"cuda:N"``).

        Returns ``self`` when the pixels are already there (``"cuda"``: on any GPU),
        otherwise a new image with the same geometry and metadata.

        >>> img = Image((4, 3))
        >>> img.to("cpu") is img
        True
        """
        if self.is_lazy:
            if _arrays.parse_device(device)[0] == "cpu":
                return self
            raise TypeError("a lazy image cannot be moved to a GPU as a whole: resample "
                            "it with device='cuda' (block by block), or compute() it first")
        array = _arrays.to_device(self._array, device)
        return self if array is self._array else self._with_array(array)

    def _with_array(self, array: Any) -> "Image":
        return Image._from_array(array, is_vector=self._pixel_type.is_vector,
                                 origin=self._origin, spacing=self._spacing,
                                 direction=self._direction, metadata=self._metadata)

    def __repr__(self) -> str:
        components = (f", components={self.number_of_components}"
                      if self._pixel_type.is_vector else "")
        lazy = ", lazy=True" if self.is_lazy else ""
        return (f"Image(size={self.size}, pixel_type={self._pixel_type.name}{components}, "
                f"spacing={self._spacing}, origin={self._origin}, device={self.device!r}"
                f"{lazy})")

    # ------------------------------------------------------------------ index <-> point
    def transform_index_to_physical_point(self, index: Any) -> Any:
        """Physical point of an integer index: ``origin + D·diag(spacing)·index``.

        ``index`` is one (x, y[, z]) index (returns a tuple of float) or an (N, D) array
        (returns an (N, D) float64 array). Bit-identical to SimpleITK.

        >>> Image((4, 4)).transform_index_to_physical_point((1, 2))
        (1.0, 2.0)
        """
        idx, single, gpu = self._points_in(index, "index", integral=True)
        A = index_to_physical_matrix(self._spacing, self._direction)
        return self._points_out(index_to_point(idx, self._origin, A), single, gpu)

    def transform_continuous_index_to_physical_point(self, index: Any) -> Any:
        """Physical point of a continuous index (one, or an (N, D) array).

        >>> Image((4, 4)).transform_continuous_index_to_physical_point((0.5, 2.25))
        (0.5, 2.25)
        """
        cidx, single, gpu = self._points_in(index, "continuous index")
        A = index_to_physical_matrix(self._spacing, self._direction)
        # ITK sums A·c first and adds the origin last here (unlike the integer version)
        points = matvec_rows(A, cidx) + np.asarray(self._origin)[None, :]
        return self._points_out(points, single, gpu)

    def transform_physical_point_to_continuous_index(self, point: Any) -> Any:
        """Continuous index of a physical point: ``inv(D·diag(spacing))·(point - origin)``.

        ITK inverts with an SVD, numpy with LU: oblique geometries may differ from
        SimpleITK in the last bits; axis-aligned ones agree exactly.

        >>> Image((4, 4)).transform_physical_point_to_continuous_index((0.5, 2.25))
        (0.5, 2.25)
        """
        pts, single, gpu = self._points_in(point, "point")
        P = physical_to_index_matrix(self._spacing, self._direction)
        return self._points_out(point_to_continuous_index(pts, self._origin, P), single, gpu)

    def transform_physical_point_to_index(self, point: Any) -> Any:
        """Index of the pixel nearest a physical point (ties round up, as ITK: -0.5 -> 0).

        No bounds check: points outside the image give indices outside it. Returns a tuple
        of int for one point, an (N, D) int64 array for an (N, D) array.

        >>> Image((4, 4)).transform_physical_point_to_index((0.5, -1.5))
        (1, -1)
        """
        pts, single, gpu = self._points_in(point, "point")
        P = physical_to_index_matrix(self._spacing, self._direction)
        cidx = point_to_continuous_index(pts, self._origin, P)
        return self._points_out(round_half_up(cidx), single, gpu)

    def _points_in(self, value: Any, what: str, integral: bool = False):
        """(points as an (N, D) float64 numpy array, one point given?, given on the GPU?)."""
        gpu = _arrays.is_cupy_array(value)
        arr = np.asarray(value.get() if gpu else value)
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{what} must be real numbers, got dtype {arr.dtype}")
        d = self.dimension
        if arr.ndim not in (1, 2) or arr.shape[-1] != d:
            raise ValueError(f"{what} must have {d} values (x, y{', z' if d > 2 else ''}"
                             f"{', t' if d > 3 else ''}) or be an (N, {d}) array, "
                             f"got shape {arr.shape}")
        points = arr.astype(np.float64, copy=False)
        if integral and arr.dtype.kind == "f" and not np.array_equal(points, np.floor(points)):
            raise TypeError(f"an index must be integers, got {value!r}; use "
                            "transform_continuous_index_to_physical_point")
        return points.reshape(-1, d), arr.ndim == 1, gpu

    @staticmethod
    def _points_out(result: np.ndarray, single: bool, gpu: bool) -> Any:
        if single:
            return tuple(result[0].tolist())
        return _arrays.import_cupy().asarray(result) if gpu else result

    # ------------------------------------------------------------------ pixel access
    def __getitem__(self, key: Any) -> Any:
        """A pixel (every axis an integer, (x, y[, z]) order) or a sub-image, as SimpleITK.

        Slices keep SimpleITK's geometry: spacing times |step|, flipped direction columns
        for negative steps, the origin at the first kept voxel; an integer among slices
        drops that axis. The sub-image owns a C-contiguous copy of its pixels, on the same
        device, and has no metadata (SimpleITK drops it too).

        >>> img = image_from_array(np.arange(12, dtype=np.int16).reshape(3, 4))
        >>> img[1, 2], img[::-2, :].size, img[::-2, :].origin
        (9, (2, 3), (3.0, 0.0))
        """
        axes = slicing.parse_key(key, self.size)
        if slicing.is_pixel_index(axes):
            value = self._array[slicing.array_index_of_pixel(axes)]
            value = (np.asarray(value) if self.is_lazy else value).tolist()
            return tuple(value) if self._pixel_type.is_vector else value
        sub = slicing.slice_geometry(self._origin, self._spacing, self._direction, axes)
        try:
            part = self._array[sub.array_index]
            return Image._from_array(part if self.is_lazy else part.copy(order="C"),
                                     is_vector=self._pixel_type.is_vector, origin=sub.origin,
                                     spacing=sub.spacing, direction=sub.direction)
        except ValueError as exc:
            # only the kept rows and columns of the direction can be refused here
            raise ValueError(f"the sub-image's direction (the kept rows and columns) is "
                             f"nearly singular, which gpuresample refuses (SimpleITK keeps "
                             f"any matrix whose determinant is not exactly 0): {exc}") from None

    def __setitem__(self, key: Any, value: Any) -> None:
        """Set one pixel, ``img[x, y(, z)] = value``, checked as SimpleITK checks it."""
        if self.is_lazy:
            raise TypeError("the pixels of a lazy image cannot be written: compute() it "
                            "first")
        entries = key if isinstance(key, tuple) else (key,)
        if len(entries) < self.dimension or any(isinstance(k, slice) or k is Ellipsis
                                                for k in entries):
            raise TypeError("assigning to a slice of an image is not supported: set pixels "
                            "one at a time (img[x, y] = v), or write the pixel array in "
                            "numpy order, e.g. np.asarray(img)[z0:z1, y0:y1, x0:x1] = v")
        index = slicing.array_index_of_pixel(slicing.parse_key(key, self.size))
        if self._pixel_type.is_vector:
            n = self.number_of_components
            try:
                comps = [_check_component(v, self.dtype) for v in value]
            except TypeError:
                if isinstance(value, str) or np.ndim(value) == 0:
                    raise TypeError(f"a vector pixel takes a sequence of {n} numbers, "
                                    f"got {value!r}") from None
                raise
            if len(comps) != n:
                raise ValueError(f"a vector pixel takes {n} components, got {len(comps)}")
            self._array[index] = _arrays.namespace(self._array).asarray(comps, dtype=self.dtype)
        else:
            self._array[index] = _check_component(value, self.dtype)

    def __iter__(self):
        raise TypeError("an Image is not iterable: index pixels with img[x, y(, z)] or "
                        "iterate over the pixel array (np.asarray(img), numpy order)")

    # ------------------------------------------------------------------ arithmetic
    __add__, __radd__ = _binary_operator("add"), _binary_operator("add", True)
    __sub__, __rsub__ = _binary_operator("sub"), _binary_operator("sub", True)
    __mul__, __rmul__ = _binary_operator("mul"), _binary_operator("mul", True)
    __truediv__ = _binary_operator("truediv")
    __rtruediv__ = _binary_operator("truediv", True)
    __floordiv__ = _binary_operator("floordiv")
    __rfloordiv__ = _binary_operator("floordiv", True)
    __and__, __rand__ = _binary_operator("and"), _binary_operator("and", True)
    __or__, __ror__ = _binary_operator("or"), _binary_operator("or", True)
    __xor__, __rxor__ = _binary_operator("xor"), _binary_operator("xor", True)
    __lt__, __le__ = _binary_operator("lt"), _binary_operator("le")
    __eq__, __ne__ = _binary_operator("eq"), _binary_operator("ne")
    __gt__, __ge__ = _binary_operator("gt"), _binary_operator("ge")
    __neg__, __abs__ = _unary_operator("neg"), _unary_operator("abs")
    __invert__ = _unary_operator("invert")
    __hash__ = None   # == compares pixels (as for numpy arrays), so no hashing

    def __pos__(self) -> "Image":
        """A copy (SimpleITK returns the image itself, whose pixels are copy-on-write)."""
        return self.copy()

    def __bool__(self) -> bool:
        raise TypeError("the truth value of an image is ambiguous (img1 == img2 is an "
                        "image of 0/1 pixels): use np.all(...) / np.any(...) on it")

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any):
        """numpy ufuncs on images: numpy's type rules, the geometry checked and kept."""
        _refuse_lazy(*inputs)
        return arithmetic.array_ufunc(Image, ufunc, method, inputs, kwargs)

    # ------------------------------------------------------------------ array interop
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """numpy's conversion (NumPy 2 signature); the pixel buffer itself where it can be.

        Refused for GPU images, as CuPy and torch refuse implicit device -> host copies.
        """
        if _arrays.is_cupy_array(self._array):
            raise TypeError(f"the pixels of this image are on {self.device}; numpy cannot "
                            "convert them implicitly: call img.to('cpu') first, or use "
                            "array_from_image(img) for a CuPy array")
        arr = self.compute()._array if self.is_lazy else self._array
        if dtype is not None and np.dtype(dtype) != arr.dtype:
            if copy is False:
                raise ValueError(f"converting {arr.dtype} pixels to {np.dtype(dtype)} "
                                 "needs a copy, but copy=False was given")
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def __dlpack__(self, **kwargs: Any) -> Any:
        """DLPack export of the pixel buffer (arguments passed through)."""
        _refuse_lazy(self)
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._array.__dlpack_device__()

    @property
    def __cuda_array_interface__(self) -> dict:
        """The GPU buffer's interface; absent (AttributeError) for host images."""
        if not _arrays.is_cupy_array(self._array):
            raise AttributeError("__cuda_array_interface__ exists only for images on a GPU")
        return self._array.__cuda_array_interface__


def _check_component(value: Any, dtype: np.dtype) -> Any:
    """``value`` as a python number fit for a ``dtype`` component, as SimpleITK checks it.

    Integer types take integers in range only (SimpleITK refuses 2.7 and 300 for UINT8,
    where numpy would truncate or wrap silently).
    """
    if dtype.kind in "iu":
        if not isinstance(value, numbers.Integral):
            raise TypeError(f"a {dtype} pixel takes an integer, got {value!r}")
        info = np.iinfo(dtype)
        if not info.min <= int(value) <= info.max:
            raise OverflowError(f"{value} is outside the range of {dtype} "
                                f"[{info.min}, {info.max}]")
        return int(value)
    expected = numbers.Complex if dtype.kind == "c" else numbers.Real
    if not isinstance(value, expected):
        raise TypeError(f"a {dtype} pixel takes a {'complex' if dtype.kind == 'c' else 'real'}"
                        f" number, got {value!r}")
    return complex(value) if dtype.kind == "c" else float(value)


def image_from_array(arr: Any, is_vector: bool | None = None, *, copy: bool = True,
                     origin: Sequence[float] | None = None,
                     spacing: Sequence[float] | None = None, direction: Any = None) -> Image:
    """An Image from a numpy array, a CuPy array, a dask array or any DLPack producer.

    Parameters
    ----------
    arr : array-like
        numpy order [(t,) (z,) y, x(, c)]. GPU arrays stay on the GPU. A ``dask.array``
        (a Zarr array opened with ``dask.array.from_zarr``, say) gives a lazy image:
        nothing is read or copied (``copy`` does not apply).
    is_vector : bool, optional
        SimpleITK's rule (``GetImageFromArray``): None means True only for a 4-D non-complex
        array (a 3-D vector image). For a vector image the last axis holds the components,
        except that a 2-D array gives a 2-D image with 1 component.
    copy : bool
        True (default): the image owns a C-contiguous copy. False: the image wraps ``arr``'s
        memory (writes through the image change ``arr``); a ValueError is raised where that
        is impossible (non-C-contiguous arrays, lists).
    origin, spacing, direction : optional
        The geometry, (x, y[, z]) order (default 0, 1, identity), as the setters take it.

    Raises
    ------
    TypeError
        dtypes without a pixel type (bool, float16, non-native byte order, ...).
    ValueError
        an image of fewer than 2 or more than 4 axes (a 1-D array, say).

    Examples
    --------
    >>> img = image_from_array(np.zeros((2, 3, 4, 5), np.uint8))
    >>> img.size, img.pixel_type.name, img.number_of_components
    ((4, 3, 2), 'VECTOR_UINT8', 5)
    >>> image_from_array(np.zeros((3, 4, 3)), is_vector=True).size
    (4, 3)
    >>> import dask.array as da
    >>> lazy = image_from_array(da.zeros((64, 64), dtype=np.uint16), spacing=(0.5, 0.5))
    >>> lazy.is_lazy, lazy.spacing
    (True, (0.5, 0.5))
    """
    lazy = _arrays.is_dask_array(arr)
    array = arr if lazy else _arrays.asarray(arr, copy=copy)
    pixel_type_of(array.dtype)   # the dtype error before any shape error, as SimpleITK
    if is_vector is None:
        is_vector = array.ndim == 4 and array.dtype.kind != "c"
    if is_vector and array.ndim == 2:
        array = array[..., None]   # a view: 2-D image, 1 component
    if array.ndim < 2 + bool(is_vector) or array.ndim > 4 + bool(is_vector):
        raise ValueError(f"an array of shape {array.shape} would be a "
                         f"{array.ndim - bool(is_vector)}-D {'vector' if is_vector else 'scalar'}"
                         " image; images have 2 to 4 axes")
    if lazy:
        pass
    elif copy:
        array = array.copy(order="C")
    elif not array.flags.c_contiguous:
        raise ValueError("the array is not C-contiguous, so wrapping it needs a copy; "
                         "pass copy=True")
    return Image._from_array(array, is_vector=bool(is_vector), origin=origin, spacing=spacing,
                             direction=direction)


def array_from_image(image: Image) -> Any:
    """A writeable copy of the pixels, numpy order [z, y, x(, c)]: numpy or CuPy by device.

    Vector images keep their component axis even with 1 component (SimpleITK drops it).

    A lazy image is computed (with Dask's current scheduler).

    >>> a = array_from_image(Image((4, 3), "uint8"))
    >>> a.shape, a.flags.writeable
    ((3, 4), True)
    """
    image = _check_image(image)
    if image.is_lazy:
        return image.compute()._array
    return image._array.copy(order="C")


def array_view_from_image(image: Image) -> Any:
    """The pixels without a copy, numpy order [z, y, x(, c)].

    On the host a read-only numpy view (it sees later writes to the image). CuPy arrays
    have no read-only flag: for GPU images this is the pixel buffer itself; do not write.

    >>> v = array_view_from_image(Image((4, 3)))
    >>> v.shape, v.flags.writeable
    ((3, 4), False)
    """
    image = _check_image(image)
    array = image.compute()._array if image.is_lazy else image._array
    if _arrays.is_cupy_array(array):
        return array
    view = array.view()
    view.flags.writeable = False
    return view


def _check_image(image: Any) -> Image:
    if not isinstance(image, Image):
        raise TypeError(f"expected a gpuresample Image, got {type(image).__name__}")
    return image
