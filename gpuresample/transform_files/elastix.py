"""elastix / transformix transform parameter files (``TransformParameters.0.txt``).

:func:`read` turns a parameter file, with the chain of initial transforms it names, into
the gpuresample transform that transformix applies; :func:`read_with_grid` also returns the
output grid and the resampling settings of the file, for resampling as transformix does.
:func:`read_parameter_map` is the bare parser.

The format (elastix's ``itk::ParameterFileParser``): one entry a line,
``(Name value value ...)``; a value is a number or a ``"quoted string"``; ``//`` starts a
comment (anywhere on the line, as elastix: even inside quotes); tabs count as spaces; a
name given twice is an error.

What the entries mean (checked against itk-elastix's transformix; DESIGN §8):

* the transform maps FIXED-image points to MOVING-image points, i.e. output points to input
  points, so it is used as is with :func:`gpuresample.resample`;
* ``CenterOfRotationPoint`` is the center (ITK's fixed parameters) of the Euler, similarity
  and affine kinds; ``TransformParameters`` are ITK's parameters of the same kind
  (``EulerTransform`` 3-D: ax, ay, az, tx, ty, tz, with ``ComputeZYX``; similarity 3-D:
  versor (3), translation (3), scale; affine: the matrix row-major, then the translation);
* ``GridSize``, ``GridOrigin``, ``GridSpacing`` and ``GridDirection`` of ``BSplineTransform``
  and ``RecursiveBSplineTransform`` are ITK's ``BSplineTransform`` fixed parameters
  (order ``BSplineTransformSplineOrder``, 3 by default);
* ``Direction`` and ``GridDirection`` are written column-major (ITK's fixed parameters and
  SimpleITK's ``SetDirection`` are row-major);
* ``InitialTransformParameterFileName`` (or its older spelling
  ``InitialTransformParametersFileName``) names the transform applied BEFORE this one
  (``"NoInitialTransform"`` or empty ends the chain): the chain is ``T1(T0(x))``,
  SimpleITK's ``CompositeTransform([T1, T0])``. A relative name is looked up in the working
  folder, then beside the file that names it, as elastix does.

Deliberate limits, each refused with a :class:`ElastixFileError` that says so:
``HowToCombineTransforms "Add"`` with an initial transform, cyclic B-splines
(``UseCyclicTransform "true"``), ``UseDirectionCosines "false"`` with a non-identity
``Direction``, a center given only as a voxel index (``CenterOfRotation``, elastix < 3.402),
binary parameter files (``UseBinaryFormatForTransformationParameters "true"``), an initial
transform given as an index into an in-memory list, and every other transform kind
(``AffineDTITransform``, ``AffineLogTransform``, ``SplineKernelTransform``, the stack
transforms, ...). Maps that carry ITK's own parameters (``ITKTransformParameters``, as
itk-elastix writes for an ITK transform it was given) and ``(Transform "File")`` maps
pointing at an ITK transform file are read too.

Example
-------
>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "TransformParameters.0.txt")
>>> _ = open(path, "w").write('''(Transform "TranslationTransform")
... (NumberOfParameters 2)
... (TransformParameters 1.5 -2)   // x, y
... (InitialTransformParameterFileName "NoInitialTransform")
... (FixedImageDimension 2)
... (MovingImageDimension 2)
... (Size 10 20)
... (Spacing 0.5 0.5)
... (Origin 0 0)
... ''')
>>> read(path).transform_point((1.0, 1.0))
(2.5, -1.0)
>>> transform, grid, settings = read_with_grid(path)
>>> grid.size, settings["interpolator"], settings["bspline_order"]
((10, 20), 'bspline', 3)
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, Callable, Sequence

import numpy as np

from ..geometry import Grid, index_to_physical_matrix, index_to_point
from ..pixeltypes import PixelType
from ..transforms.base import Transform, transform_from_parameters
from ..transforms.bspline import BSplineTransform
from ..transforms.composite import CompositeTransform
from ._common import TransformFileError

__all__ = ["ElastixFileError", "read", "read_with_grid", "read_parameter_map",
           "is_parameter_file", "SUPPORTED_TRANSFORMS"]

PathLike = str | os.PathLike
ParameterMap = dict[str, list[str]]

# elastix's check on parameter names (itkParameterFileParser.cxx), verbatim: "&-+" is a
# range there (& ' ( ) * +), so elastix accepts "-" in a name
_INVALID_NAME = re.compile(r"[.,:;!@#$%^&-+|<>?]")
_NO_INITIAL = ("", "NoInitialTransform")
# ResultImagePixelType -> pixel type ("long" is 64-bit, as on Linux and macOS)
_PIXEL_TYPES = {
    "char": PixelType.INT8, "unsigned char": PixelType.UINT8,
    "short": PixelType.INT16, "unsigned short": PixelType.UINT16,
    "int": PixelType.INT32, "unsigned int": PixelType.UINT32,
    "long": PixelType.INT64, "unsigned long": PixelType.UINT64,
    "float": PixelType.FLOAT32, "double": PixelType.FLOAT64,
}
_INTERPOLATORS = {
    "FinalBSplineInterpolator": "bspline", "FinalBSplineInterpolatorFloat": "bspline",
    "FinalLinearInterpolator": "linear", "FinalNearestNeighborInterpolator": "nearest",
}


class ElastixFileError(TransformFileError):
    """An elastix parameter file that cannot be read as a transform (a ValueError, and a
    :class:`~gpuresample.transform_files.TransformFileError`).

    The message names the file (and, for chains, the file that referred to it) and the
    problem.
    """


# ---------------------------------------------------------------------------------------
# the parser
# ---------------------------------------------------------------------------------------

def _split_values(body: str) -> list[str]:
    """Split a line's inside at spaces, keeping spaces inside quotes (elastix's SplitLine:
    every quote also starts a new element; empty elements are dropped by the caller)."""
    if '"' not in body:      # the long TransformParameters lines
        return body.split(" ")
    parts = [""]
    quotes = 0
    for char in body:
        if char == '"':
            parts.append("")
            quotes += 1
        elif char == " " and quotes % 2 == 0:
            parts.append("")
        else:
            parts[-1] += char
    return parts


def _parse(text: str, where: str) -> ParameterMap:
    entries: ParameterMap = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.replace("\t", " ").split("//", 1)[0].strip(" ")
        if not line:
            continue

        def fail(problem: str) -> ElastixFileError:
            return ElastixFileError(f"{where}, line {number}: {problem}: {raw.strip()!r}")

        if not (line.startswith("(") and line.endswith(")")):
            raise fail("a line must be an entry between brackets, (Name value ...)")
        body = line[1:-1]
        if not re.search(r" +[^ ]+", body):
            raise fail("an entry needs a name and at least one value")
        if body.count('"') % 2:
            raise fail("odd number of quotes")
        parts = _split_values(body)
        name = parts[0].replace(" ", "")
        if not name or _INVALID_NAME.search(name):
            raise fail(f"invalid parameter name {name!r}")
        if name in entries:
            raise fail(f"{name} is given more than once")
        entries[name] = [p for p in parts[1:] if p]
    return entries


def read_parameter_map(path: PathLike) -> ParameterMap:
    """The entries of an elastix parameter file, as elastix's parser reads them.

    Returns ``{name: [value, ...]}`` with every value a string (quotes removed). Raises
    :class:`ElastixFileError` for a line elastix would refuse (not between brackets, no
    value, odd quotes, invalid or repeated name) and for a file that is not text.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "t.txt")
    >>> _ = open(p, "w").write('(Size 3 4)  // comment\\n(ResultImagePixelType "unsigned char")\\n')
    >>> read_parameter_map(p)
    {'Size': ['3', '4'], 'ResultImagePixelType': ['unsigned char']}
    """
    where = os.fspath(path)
    try:
        with open(where, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"elastix parameter file {where} does not exist") from None
    if b"\0" in data:
        raise ElastixFileError(f"{where} is not a text file (an elastix parameter file is)")
    return _parse(data.decode("utf-8", errors="replace"), where)


def is_parameter_file(path: PathLike) -> bool:
    """True when the file looks like an elastix parameter file: its first line that is
    not blank or a comment starts with ``(`` (an ITK ``.tfm`` starts with ``#Insight``).

    For dispatching on content; :func:`read_parameter_map` does the real checking.
    """
    with open(os.fspath(path), "rb") as f:
        head = f.read(4096)
    for line in head.splitlines():
        line = line.split(b"//", 1)[0].strip()
        if line:
            return line.startswith(b"(")
    return False


# ---------------------------------------------------------------------------------------
# typed access to one map
# ---------------------------------------------------------------------------------------

class _Entries:
    """A parameter map with typed getters whose errors name the file."""

    def __init__(self, entries: ParameterMap, where: str) -> None:
        self.entries, self.where = entries, where

    def error(self, problem: str) -> ElastixFileError:
        return ElastixFileError(f"{self.where}: {problem}")

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def _values(self, name: str, count: int | None) -> list[str] | None:
        values = self.entries.get(name)
        if values is not None and count is not None and len(values) != count:
            raise self.error(f"{name} must have {count} values, got {len(values)}")
        return values

    def numbers(self, name: str, count: int | None = None, *, required: bool = True,
                default: Sequence[float] | None = None) -> tuple[float, ...] | None:
        values = self._values(name, count)
        if values is None:
            if required:
                raise self.error(f"the entry ({name} ...) is missing")
            return None if default is None else tuple(float(v) for v in default)
        try:
            arr = np.fromiter(map(float, values), dtype=np.float64, count=len(values))
        except ValueError:
            arr = None
        if arr is None or not np.all(np.isfinite(arr)):
            for v in values:     # name the culprit
                try:
                    x = float(v)
                except ValueError:
                    raise self.error(f"{name}: {v!r} is not a number") from None
                if not math.isfinite(x):
                    raise self.error(f"{name}: {v!r} is not a finite number")
        return tuple(arr.tolist())

    def integers(self, name: str, count: int | None = None, *, required: bool = True,
                 default: Sequence[int] | None = None) -> tuple[int, ...] | None:
        values = self._values(name, count)
        if values is None:
            if required:
                raise self.error(f"the entry ({name} ...) is missing")
            return None if default is None else tuple(default)
        try:
            return tuple(int(v) for v in values)
        except ValueError:
            raise self.error(f"{name} must be integers, got {' '.join(values)}") from None

    def integer(self, name: str, default: int | None = None) -> int:
        values = self.integers(name, 1, required=default is None)
        return default if values is None else values[0]

    def number(self, name: str, default: float) -> float:
        return self.numbers(name, 1, required=False, default=(default,))[0]

    def string(self, name: str, default: str | None = None) -> str:
        values = self.entries.get(name)
        if values is None:
            if default is None:
                raise self.error(f"the entry ({name} ...) is missing")
            return default
        if len(values) > 1:
            raise self.error(f"{name} must have one value, got {len(values)}")
        return values[0] if values else ""

    def boolean(self, name: str, default: bool) -> bool:
        value = self.string(name, "true" if default else "false")
        if value not in ("true", "false"):
            raise self.error(f'{name} must be "true" or "false", got {value!r}')
        return value == "true"

    def matrix(self, name: str, d: int) -> np.ndarray:
        """A D x D matrix written column-major (elastix's Direction, GridDirection);
        identity when absent."""
        values = self.numbers(name, d * d, required=False)
        if values is None:
            return np.eye(d)
        return np.array(values, dtype=np.float64).reshape(d, d).T


# ---------------------------------------------------------------------------------------
# one transform
# ---------------------------------------------------------------------------------------

def _center(e: _Entries, d: int) -> tuple[float, ...]:
    if "CenterOfRotationPoint" not in e and "CenterOfRotation" in e:
        raise e.error("the center of rotation is given as a voxel index (CenterOfRotation, "
                      "written by elastix < 3.402); only CenterOfRotationPoint is supported, "
                      "as in current elastix")
    return e.numbers("CenterOfRotationPoint", d)


def _euler_fixed(e: _Entries, d: int) -> tuple[float, ...]:
    if d == 2:
        return _center(e, d)
    return _center(e, d) + (1.0 if e.boolean("ComputeZYX", False) else 0.0,)


def _bspline_fixed(e: _Entries, d: int) -> tuple[float, ...]:
    size = e.integers("GridSize", d)
    index = e.integers("GridIndex", d, required=False, default=(0,) * d)
    spacing = e.numbers("GridSpacing", d)
    origin = e.numbers("GridOrigin", d)
    direction = e.matrix("GridDirection", d)
    if any(index):      # ITK's grid has no start index: fold it into the origin
        A = index_to_physical_matrix(spacing, direction)
        origin = tuple(index_to_point(np.array([index], dtype=np.float64), origin, A)[0])
    return (tuple(float(g) for g in size) + tuple(origin) + tuple(spacing)
            + tuple(direction.reshape(-1)))


# elastix name -> (ITK class name per dimension, parameter count, fixed parameters)
_KINDS: dict[str, tuple[dict[int, str], Callable[[int], int] | None,
                        Callable[[_Entries, int], tuple[float, ...]]]] = {
    "TranslationTransform": ({2: "TranslationTransform", 3: "TranslationTransform"},
                             lambda d: d, lambda e, d: ()),
    "EulerTransform": ({2: "Euler2DTransform", 3: "Euler3DTransform"},
                       lambda d: 3 if d == 2 else 6, _euler_fixed),
    "SimilarityTransform": ({2: "Similarity2DTransform", 3: "Similarity3DTransform"},
                            lambda d: 4 if d == 2 else 7, _center),
    "AffineTransform": ({2: "AffineTransform", 3: "AffineTransform"},
                        lambda d: d * d + d, _center),
    "BSplineTransform": ({2: "BSplineTransform", 3: "BSplineTransform"}, None, _bspline_fixed),
    "RecursiveBSplineTransform": ({2: "BSplineTransform", 3: "BSplineTransform"}, None,
                                  _bspline_fixed),
}
SUPPORTED_TRANSFORMS: tuple[str, ...] = tuple(_KINDS)


def _dimension(e: _Entries) -> int:
    fixed = e.integers("FixedImageDimension", 1, required=False)
    moving = e.integers("MovingImageDimension", 1, required=False)
    if fixed is None and moving is None:
        raise e.error("the entry (FixedImageDimension ...) is missing")
    if fixed is not None and moving is not None and fixed != moving:
        raise e.error(f"FixedImageDimension {fixed[0]} and MovingImageDimension {moving[0]} "
                      "differ; gpuresample maps D-D to D-D only")
    d = (fixed or moving)[0]
    if d not in (2, 3):
        raise e.error(f"the image dimension must be 2 or 3, got {d}")
    return d


def _parameters(e: _Entries) -> tuple[float, ...]:
    if e.boolean("UseBinaryFormatForTransformationParameters", False):
        raise e.error("TransformParameters are stored in a separate binary file "
                      "(UseBinaryFormatForTransformationParameters \"true\"), which is not "
                      "supported; write them as text")
    params = e.numbers("TransformParameters")
    declared = e.integers("NumberOfParameters", 1, required=False)
    if declared is not None and declared[0] != len(params):
        raise e.error(f"NumberOfParameters is {declared[0]} but TransformParameters has "
                      f"{len(params)} values")
    return params


def _from_itk_file(e: _Entries, d: int) -> Transform:
    """``(Transform "File")``: an ITK transform file named by TransformFileName, relative
    to the parameter file's folder (elastix's rule)."""
    name = e.string("TransformFileName")
    if not name:
        raise e.error('(Transform "File") needs a TransformFileName')
    absolute = name.startswith(("/", "\\")) or ":" in name
    path = name if absolute else os.path.join(os.path.dirname(e.where), name)
    if not os.path.isfile(path):
        raise e.error(f"TransformFileName {name!r}: the file {path} does not exist")
    from . import read_transform    # the package's dispatcher (ITK text, HDF5, ...)

    if is_parameter_file(path):
        raise e.error(f"TransformFileName {name!r} names an elastix parameter file, "
                      "not an ITK transform file")
    t = read_transform(path)
    if t.dimension != d:
        raise e.error(f"TransformFileName {name!r} holds a {t.dimension}-D transform, "
                      f"the file is {d}-D")
    return t


def _single(e: _Entries, d: int) -> Transform:
    kind = e.string("Transform")
    if kind == "File":
        return _from_itk_file(e, d)
    if kind not in _KINDS:
        raise e.error(f"gpuresample does not support elastix transform {kind!r}; supported: "
                      f"{', '.join(SUPPORTED_TRANSFORMS)} (and \"File\")")
    names, count, fixed_of = _KINDS[kind]
    is_bspline = count is None
    order = e.integer("BSplineTransformSplineOrder", 3) if is_bspline else 3
    if is_bspline:
        if order not in (1, 2, 3):
            raise e.error(f"BSplineTransformSplineOrder must be 1, 2 or 3, got {order}")
        if e.boolean("UseCyclicTransform", False):
            raise e.error('cyclic B-spline transforms (UseCyclicTransform "true") are not '
                          "supported")
    if "ITKTransformParameters" in e:    # ITK's own parameters (itk-elastix)
        params = e.numbers("ITKTransformParameters")
        fixed = e.numbers("ITKTransformFixedParameters", required=False)
        if fixed is None:
            fixed = fixed_of(e, d)
    else:
        params = _parameters(e)
        fixed = fixed_of(e, d)
    if is_bspline:
        n = d * math.prod(int(g) for g in fixed[:d]) if len(fixed) == d * (d + 3) else None
    else:
        n = count(d)
    if n is not None and len(params) != n:
        raise e.error(f"a {d}-D {kind} takes {n} parameters, got {len(params)}")
    try:
        if is_bspline:
            return BSplineTransform.from_parameters(params, fixed, d, order=order)
        return transform_from_parameters(names[d], params, fixed, d)
    except (TypeError, ValueError) as exc:
        raise e.error(f"{kind}: {exc}") from None


# ---------------------------------------------------------------------------------------
# chains
# ---------------------------------------------------------------------------------------

def _initial_name(e: _Entries) -> str:
    """The initial transform's file name, '' at the end of the chain."""
    new = e.string("InitialTransformParameterFileName", "")
    name = new if new else e.string("InitialTransformParametersFileName", "")
    return "" if name in _NO_INITIAL else name


def _locate(name: str, referrer: str) -> str:
    """elastix's lookup: an absolute name as is, a relative one in the working folder,
    then beside the file that names it."""
    if os.path.isabs(name) or os.path.exists(name):
        return name
    beside = os.path.join(os.path.dirname(referrer), name)
    if os.path.exists(beside):
        return beside
    raise FileNotFoundError(name)


def _load_chain(path: PathLike) -> tuple[list[Transform], _Entries, int]:
    """(transforms, entries of the first file, dimension): transforms[0] is the file's own
    transform, each next one its initial transform (applied before it)."""
    where = os.fspath(path)
    chain_names: list[str] = []
    visited: set[str] = set()
    transforms: list[Transform] = []
    first: _Entries | None = None
    dimension = 0
    while True:
        real = os.path.realpath(where)
        chain_names.append(where)
        if real in visited:
            raise ElastixFileError("the chain of initial transforms is a cycle: "
                                   + " -> ".join(chain_names))
        visited.add(real)
        e = _Entries(read_parameter_map(where), where)
        d = _dimension(e)
        if first is None:
            first, dimension = e, d
        elif d != dimension:
            raise e.error(f"this initial transform is {d}-D, but {chain_names[0]} is "
                          f"{dimension}-D")
        transforms.append(_single(e, d))
        name = _initial_name(e)
        if not name:
            return transforms, first, dimension
        if e.string("HowToCombineTransforms", "Compose") != "Compose":
            raise e.error(f"HowToCombineTransforms "
                          f"{e.string('HowToCombineTransforms')!r} is not supported; "
                          'only "Compose" (the initial transform applied first)')
        if name.strip().isdigit():
            raise e.error(f"the initial transform {name!r} is an index into an in-memory "
                          "list of parameter maps; a file needs a file name")
        try:
            where = _locate(name, where)
        except FileNotFoundError:
            beside = os.path.join(os.path.dirname(where), name)
            raise ElastixFileError(
                f"{where} names the initial transform {name!r}, which does not exist "
                f"(looked in the working folder and at {beside}); chain: "
                + " -> ".join(chain_names + [name])) from None


def _compose(transforms: list[Transform], dimension: int) -> Transform:
    if len(transforms) == 1:
        return transforms[0]
    members: list[Transform] = []
    for t in transforms:    # flatten: ITK-order list, the LAST member applied first
        members.extend(t.transforms if isinstance(t, CompositeTransform) else [t])
    return CompositeTransform(members, dimension=dimension)


def read(path: PathLike) -> Transform:
    """The transform of an elastix parameter file, its initial transforms included.

    A file with no initial transform gives its own transform (``Euler3DTransform``,
    ``BSplineTransform``, ...); a chain gives a flat :class:`CompositeTransform`
    ``[T_n, ..., T_1, T_0]`` (``T_0``, the last file of the chain, applied first). The
    transform maps fixed-image (output) points to moving-image (input) points, as
    :func:`gpuresample.resample` expects. Raises :class:`ElastixFileError` naming the file
    and the problem (see the module documentation for what is not supported).

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(os.path.join(folder, "t0.txt"), "w").write('''(Transform "TranslationTransform")
    ... (FixedImageDimension 2)
    ... (TransformParameters 10 0)
    ... ''')
    >>> _ = open(os.path.join(folder, "t1.txt"), "w").write('''(Transform "EulerTransform")
    ... (FixedImageDimension 2)
    ... (CenterOfRotationPoint 0 0)
    ... (TransformParameters 0 0 5)
    ... (InitialTransformParameterFileName "t0.txt")
    ... ''')
    >>> t = read(os.path.join(folder, "t1.txt"))
    >>> type(t).__name__, t.transform_point((1.0, 1.0))    # t0 first, then t1
    ('CompositeTransform', (11.0, 6.0))
    """
    transforms, _, dimension = _load_chain(path)
    return _compose(transforms, dimension)


def _grid(e: _Entries, d: int) -> Grid:
    size = e.integers("Size", d)
    index = e.integers("Index", d, required=False, default=(0,) * d)
    spacing = e.numbers("Spacing", d)
    origin = e.numbers("Origin", d)
    direction = e.matrix("Direction", d)
    use_cosines = e.boolean("UseDirectionCosines", True)
    if not use_cosines and not np.array_equal(direction, np.eye(d)):
        raise e.error('UseDirectionCosines "false" with a non-identity Direction: '
                      "transformix then ignores the images' directions, which gpuresample "
                      "does not reproduce")
    try:
        grid = Grid(size, origin, spacing, direction)
        if any(index):    # a region starting at Index: the grid starts at that voxel
            A = index_to_physical_matrix(grid.spacing, grid.direction)
            start = index_to_point(np.array([index], dtype=np.float64), grid.origin, A)[0]
            grid = Grid(size, tuple(start), spacing, direction)
    except ValueError as exc:
        raise e.error(f"output grid: {exc}") from None
    return grid


def _settings(e: _Entries) -> dict[str, Any]:
    resampler = e.string("ResampleInterpolator", "FinalBSplineInterpolator")
    if resampler not in _INTERPOLATORS:
        raise e.error(f"ResampleInterpolator {resampler!r} is not supported; use one of "
                      f"{', '.join(_INTERPOLATORS)}")
    order = e.integer("FinalBSplineInterpolationOrder", 3)
    if not 0 <= order <= 5:
        raise e.error(f"FinalBSplineInterpolationOrder must be 0 to 5, got {order}")
    pixel = e.string("ResultImagePixelType", "short").replace("_", " ")
    if pixel not in _PIXEL_TYPES:
        raise e.error(f"ResultImagePixelType {pixel!r} is not one of "
                      f"{', '.join(_PIXEL_TYPES)}")
    internal = e.string("MovingInternalImagePixelType", "float").replace("_", " ")
    if internal not in _PIXEL_TYPES:
        raise e.error(f"MovingInternalImagePixelType {internal!r} is not one of "
                      f"{', '.join(_PIXEL_TYPES)}")
    return {
        "interpolator": _INTERPOLATORS[resampler],
        "bspline_order": order,
        "default_value": e.number("DefaultPixelValue", 0.0),
        "pixel_type": _PIXEL_TYPES[pixel],
        "internal_pixel_type": _PIXEL_TYPES[internal],
        "result_image_format": e.string("ResultImageFormat", "mhd"),
        "compress": e.boolean("CompressResultImage", False),
        "use_direction_cosines": e.boolean("UseDirectionCosines", True),
    }


def read_with_grid(path: PathLike) -> tuple[Transform, Grid, dict[str, Any]]:
    """``(transform, grid, settings)``: what transformix needs to resample with this file.

    ``transform`` is :func:`read`'s. ``grid`` is the output grid of the file given (not of
    its initial transforms): ``Size``, ``Spacing``, ``Origin``, ``Direction`` (column-major
    in the file; identity when absent) and ``Index`` (a non-zero start index moves the
    origin to that voxel, which is where ITK's writer puts it). ``settings``:

    ``interpolator``
        ``"bspline"``, ``"linear"`` or ``"nearest"`` (``ResampleInterpolator``; default
        ``FinalBSplineInterpolator``). transformix's B-spline of order 1 is sitkBSpline1
        (mirror boundary), not sitkLinear, near the edges.
    ``bspline_order``
        ``FinalBSplineInterpolationOrder`` (default 3), used with ``"bspline"``.
    ``default_value``
        ``DefaultPixelValue`` (default 0.0).
    ``pixel_type``
        :class:`~gpuresample.PixelType` of ``ResultImagePixelType`` (default ``"short"``;
        ``"long"`` is 64-bit). transformix resamples in ``internal_pixel_type`` and casts
        the result to this type when writing.
    ``internal_pixel_type``
        :class:`~gpuresample.PixelType` of ``MovingInternalImagePixelType`` (default
        ``"float"``).
    ``result_image_format``, ``compress``
        ``ResultImageFormat`` (default ``"mhd"``), ``CompressResultImage`` (default False).
    ``use_direction_cosines``
        ``UseDirectionCosines`` (default True). False is accepted only with an identity
        ``Direction``; transformix then also ignores the MOVING image's direction, so a
        caller must check that it is the identity too.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "t.txt")
    >>> _ = open(p, "w").write('''(Transform "TranslationTransform")
    ... (TransformParameters 0 0)
    ... (FixedImageDimension 2)
    ... (Size 4 3)
    ... (Spacing 1 2)
    ... (Origin 10 20)
    ... (Direction 0 1 -1 0)          // column-major: first column (0, 1)
    ... (FinalBSplineInterpolationOrder 1)
    ... (ResultImagePixelType "unsigned char")
    ... ''')
    >>> _, grid, settings = read_with_grid(p)
    >>> grid.direction.tolist(), settings["bspline_order"], settings["pixel_type"].name
    ([[0.0, -1.0], [1.0, 0.0]], 1, 'UINT8')
    """
    transforms, first, dimension = _load_chain(path)
    return _compose(transforms, dimension), _grid(first, dimension), _settings(first)
