"""Image, array conversion and SimpleITK interop, with SimpleITK 2.5.7 as the oracle."""

from __future__ import annotations

import os
import subprocess
import sys
import types

import numpy as np
import pytest
import SimpleITK as sitk

from gpuresample.image import (Image, MetaData, array_from_image, array_view_from_image,
                               image_from_array)
from gpuresample.pixeltypes import PixelType, pixel_type_of
from gpuresample.sitk_interop import from_sitk, to_sitk
from helpers import random_direction, random_geometry

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sitk_with_geometry(img: Image) -> sitk.Image:
    """A SimpleITK image with ``img``'s size and geometry, built without to_sitk."""
    s = sitk.Image(list(img.size), sitk.sitkUInt8)
    s.SetOrigin(img.origin)
    s.SetSpacing(img.spacing)
    s.SetDirection(img.direction.ravel().tolist())
    return s


def image_with_geometry(size, origin, spacing, direction) -> Image:
    img = Image(size, PixelType.UINT8)
    img.origin, img.spacing, img.direction = origin, spacing, direction
    return img


def sample_values(rng: np.random.Generator, shape, pixel_type: PixelType) -> np.ndarray:
    """Values spread over the component type's range (complex: both parts)."""
    dt = pixel_type.dtype
    if dt.kind == "c":
        return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dt) * 100
    if dt.kind == "f":
        return (rng.normal(size=shape) * 1000).astype(dt)
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)


# ---------------------------------------------------------------- construction
@pytest.mark.parametrize("pixel_type", [PixelType.UINT8, PixelType.FLOAT32,
                                        PixelType.COMPLEX64, PixelType.VECTOR_INT16])
@pytest.mark.parametrize("size", [(5, 3), (5, 3, 2), (2, 3, 4, 2)])
def test_new_image_matches_sitk_image(pixel_type, size):
    ours, ref = Image(size, pixel_type), sitk.Image(list(size), pixel_type.value)
    assert ours.size == ref.GetSize() and ours.dimension == ref.GetDimension()
    assert ours.number_of_components == ref.GetNumberOfComponentsPerPixel()
    assert ours.origin == ref.GetOrigin() and ours.spacing == ref.GetSpacing()
    assert ours.direction.ravel().tolist() == list(ref.GetDirection())
    assert ours.pixel_type is pixel_type and ours.dtype == pixel_type.dtype
    assert ours.device == "cpu" and ours.metadata == {}
    expected = sitk.GetArrayFromImage(ref)
    np.testing.assert_array_equal(array_from_image(ours).reshape(expected.shape), expected)
    assert all(isinstance(v, int) for v in ours.size)
    assert all(isinstance(v, float) for v in ours.origin + ours.spacing)


def test_pixel_type_spellings_and_components():
    for spelling in (PixelType.INT16, np.int16, "int16", "INT16", 2, np.dtype("int16")):
        assert Image((2, 2), spelling).pixel_type is PixelType.INT16
    assert Image((3, 2)).pixel_type is PixelType.FLOAT32
    rgb = Image((4, 3), PixelType.VECTOR_UINT8, components=3)
    assert rgb.number_of_components == 3 and array_from_image(rgb).shape == (3, 4, 3)
    assert Image((4, 3), "vector_float32", components=1)._array.shape == (3, 4, 1)
    assert Image((4, 3), PixelType.UINT8, components=1).number_of_components == 1
    assert Image((0, 3)).size == (0, 3)   # SimpleITK allows empty images


@pytest.mark.parametrize("args, error, match", [
    (((3, 3), "foo"), TypeError, "not a pixel type"),
    (((3, 3), 22), TypeError, "label"),
    (((3, 3), 99), TypeError, "not a pixel type id"),
    (((3, 3), np.bool_), TypeError, "bool"),
    (((3, 3), np.float16), TypeError, "float16"),
    (((3,), "uint8"), ValueError, "2 to 4 axes"),
    (((3, 3, 3, 3, 3), "uint8"), ValueError, "2 to 4 axes"),
    (((3, -1), "uint8"), ValueError, "negative"),
    (((3, 2.5), "uint8"), TypeError, "integers"),
    (((3, 3), "uint8", 3), ValueError, "1 component"),
    (((3, 3), "vector_uint8", 0), ValueError, "at least 1"),
])
def test_bad_constructor_arguments(args, error, match):
    with pytest.raises(error, match=match):
        Image(*args)


# ---------------------------------------------------------------- geometry
def test_geometry_setters_validate_and_normalise():
    img = Image((4, 3, 2))
    img.origin, img.spacing = np.array([1, 2, 3]), [0.5, 2, 3]
    assert img.origin == (1.0, 2.0, 3.0) and img.spacing == (0.5, 2.0, 3.0)
    assert all(type(v) is float for v in img.origin + img.spacing)
    mine = random_direction(np.random.default_rng(1), 3)
    img.direction = mine
    np.testing.assert_array_equal(img.direction, mine)
    mine[0, 0] = 7.0                          # the image holds its own copy
    assert img.direction[0, 0] != 7.0
    img.direction = [0, 1, 0, 1, 0, 0, 0, 0, 1]   # flat, row-major as SimpleITK
    assert img.direction.tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
    assert img.direction.dtype == np.float64 and img.direction.shape == (3, 3)
    with pytest.raises(ValueError):
        img.direction[0, 0] = 2.0             # read-only
    s = sitk_with_geometry(img)
    assert s.GetDirection() == tuple(img.direction.ravel())


@pytest.mark.parametrize("field, value, match, sitk_refuses", [
    ("spacing", (0.0, 1.0), "positive", True),
    ("spacing", (1.0, -2.0), "positive", True),
    ("spacing", (1.0, float("nan")), "finite", False),
    ("origin", (1.0, 2.0, 3.0), "origin must have 2 values", False),  # SimpleITK ignores z
    ("origin", (1.0,), "origin must have 2 values", False),
    ("direction", (1.0, 2.0, 2.0, 4.0), "singular", True),
    ("direction", np.eye(3), "direction must have 2x2", False),
])
def test_bad_geometry_is_refused(field, value, match, sitk_refuses):
    img = Image((4, 3))
    origin, spacing, direction = img.origin, img.spacing, img.direction
    with pytest.raises(ValueError, match=match):
        setattr(img, field, value)
    assert img.origin == origin and img.spacing == spacing and img.direction is direction
    if sitk_refuses:
        setter = {"spacing": "SetSpacing", "direction": "SetDirection"}[field]
        with pytest.raises(RuntimeError):
            getattr(sitk.Image([4, 3], sitk.sitkUInt8), setter)(tuple(value))


def test_non_orthonormal_direction_is_accepted_as_in_sitk():
    img = Image((4, 3))
    img.direction = (1.0, 0.5, 0.0, 2.0)
    assert img.transform_index_to_physical_point((1, 1)) == \
        sitk_with_geometry(img).TransformIndexToPhysicalPoint((1, 1))


# ---------------------------------------------------------------- index <-> point
@pytest.mark.parametrize("dim", [2, 3])
def test_point_conversions_match_sitk_on_random_geometries(dim):
    rng = np.random.default_rng(100 + dim)
    for _ in range(15):
        img = image_with_geometry(*random_geometry(rng, dim))
        ref = sitk_with_geometry(img)
        indices = rng.integers(-20, 30, size=(6, dim))
        cindices = rng.uniform(-20, 30, size=(6, dim))
        points = np.array([ref.TransformContinuousIndexToPhysicalPoint(c) for c in
                           rng.uniform(-5, 15, size=(6, dim)).tolist()])

        want = np.array([ref.TransformIndexToPhysicalPoint(i) for i in indices.tolist()])
        np.testing.assert_array_equal(img.transform_index_to_physical_point(indices), want)
        assert img.transform_index_to_physical_point(tuple(indices[0])) == tuple(want[0])

        want = np.array([ref.TransformContinuousIndexToPhysicalPoint(c)
                         for c in cindices.tolist()])
        np.testing.assert_array_equal(
            img.transform_continuous_index_to_physical_point(cindices), want)
        assert img.transform_continuous_index_to_physical_point(cindices[0].tolist()) == \
            tuple(want[0])

        # ITK inverts D·diag(s) with an SVD, numpy with LU: a few ulp apart
        want = np.array([ref.TransformPhysicalPointToContinuousIndex(p)
                         for p in points.tolist()])
        np.testing.assert_allclose(
            img.transform_physical_point_to_continuous_index(points), want,
            rtol=1e-13, atol=1e-12)

        want = np.array([ref.TransformPhysicalPointToIndex(p) for p in points.tolist()])
        got = img.transform_physical_point_to_index(points)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, want)
        single = img.transform_physical_point_to_index(points[0])
        assert single == tuple(want[0]) and all(type(v) is int for v in single)


@pytest.mark.parametrize("dim", [2, 3])
def test_many_points_take_the_loop_and_give_the_same_bits(dim):
    """From geometry._LOOP_FROM points on, conversions run numba's loop (padded to 3-D for
    2-D): bit for bit the numpy path's result (chunks below the threshold) and SimpleITK's,
    signed zeros, infinities and NaN included."""
    from gpuresample import geometry

    rng = np.random.default_rng(300 + dim)
    n = geometry._LOOP_FROM + 5
    img = image_with_geometry(*random_geometry(rng, dim))
    ref = sitk_with_geometry(img)
    cindices = rng.uniform(-20, 30, size=(n, dim))
    cindices[::5] = -0.0
    cindices[1, 0], cindices[2, -1], cindices[3] = np.inf, np.nan, 0.0
    A = geometry.index_to_physical_matrix(img.spacing, img.direction)
    P = geometry.physical_to_index_matrix(img.spacing, img.direction)
    conversions = [lambda v: geometry.index_to_point(v, img.origin, A),
                   lambda v: geometry.point_to_continuous_index(v, img.origin, P),
                   lambda v: geometry.matvec_rows(A, v)]
    for convert in conversions:
        looped = convert(cindices)
        chunked = np.concatenate([convert(cindices[i:i + 1000]) for i in range(0, n, 1000)])
        assert looped.shape == (n, dim)
        np.testing.assert_array_equal(looped.view(np.int64), chunked.view(np.int64))
    points = img.transform_continuous_index_to_physical_point(cindices)
    indices = np.round(cindices[4:])
    on_grid = img.transform_index_to_physical_point(indices.astype(np.int64))
    for i in range(0, n - 4, 97):
        assert tuple(points[i + 4]) == ref.TransformContinuousIndexToPhysicalPoint(
            cindices[i + 4].tolist())
        assert tuple(on_grid[i]) == ref.TransformIndexToPhysicalPoint(
            indices[i].astype(int).tolist())

def _axis_aligned_directions(dim):
    """Identity, flips and axis permutations with signs: ITK's inverse is exact there."""
    eye = np.eye(dim)
    yield eye
    yield -eye
    yield eye[::-1] * np.array([1.0, -1.0] + [1.0] * (dim - 2))[None, :]


@pytest.mark.parametrize("dim", [2, 3])
def test_axis_aligned_point_to_index_is_exact(dim):
    rng = np.random.default_rng(7)
    for direction in _axis_aligned_directions(dim):
        for _ in range(5):
            size, origin, spacing, _ = random_geometry(rng, dim)
            img = image_with_geometry(size, origin, spacing, direction)
            ref = sitk_with_geometry(img)
            points = rng.uniform(-30, 30, size=(20, dim))
            want = np.array([ref.TransformPhysicalPointToContinuousIndex(p)
                             for p in points.tolist()])
            np.testing.assert_array_equal(
                img.transform_physical_point_to_continuous_index(points), want)
            want = np.array([ref.TransformPhysicalPointToIndex(p) for p in points.tolist()])
            np.testing.assert_array_equal(img.transform_physical_point_to_index(points), want)


def test_point_to_index_rounds_ties_up_like_sitk():
    img = Image((4, 4))
    ref = sitk_with_geometry(img)
    xs = [0.5, -0.5, -1.5, 1.5, 2.5, -2.5, 0.49999999999999994, 7.5]
    expected = [1, 0, -1, 2, 3, -2, 1, 8]          # floor(x + 0.5); no bounds check
    for x, e in zip(xs, expected):
        assert img.transform_physical_point_to_index((x, -x)) == \
            ref.TransformPhysicalPointToIndex((x, -x))
        assert img.transform_physical_point_to_index((x, 0.0))[0] == e
    # multiply by the inverse, never divide: spacing 0.1, x = 0.95 -> c = 9.5 -> 10
    img.spacing = (0.1, 0.1)
    ref.SetSpacing((0.1, 0.1))
    assert img.transform_physical_point_to_continuous_index((0.95, 0.0))[0] == 9.5
    assert img.transform_physical_point_to_index((0.95, 0.0)) == \
        ref.TransformPhysicalPointToIndex((0.95, 0.0)) == (10, 0)


def test_point_conversion_argument_checks():
    img = Image((4, 3, 2))
    for method in (img.transform_index_to_physical_point,
                   img.transform_continuous_index_to_physical_point,
                   img.transform_physical_point_to_index,
                   img.transform_physical_point_to_continuous_index):
        with pytest.raises(ValueError, match="must have 3 values"):
            method((1, 2))
        with pytest.raises(ValueError, match=r"\(N, 3\)"):
            method(np.zeros((4, 2)))
        with pytest.raises(ValueError):
            method(1.0)
        with pytest.raises(TypeError):
            method(("a", "b", "c"))
        assert method(np.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(TypeError, match="continuous"):
        img.transform_index_to_physical_point((0.5, 1, 2))
    assert img.transform_index_to_physical_point((1.0, 2.0, 3.0)) == (1.0, 2.0, 3.0)
    assert Image((3, 3, 3, 3)).transform_index_to_physical_point((1, 2, 3, 4)) == \
        (1.0, 2.0, 3.0, 4.0)


# ---------------------------------------------------------------- image_from_array
@pytest.mark.parametrize("shape, dtype, is_vector", [
    ((3, 4, 3), np.float32, None),        # 3-D scalar, size (3, 4, 3)
    ((3, 4, 3), np.float32, True),        # 2-D, size (4, 3), 3 components
    ((2, 3, 4, 5), np.uint8, None),       # 3-D vector, 5 components
    ((2, 3, 4, 5), np.int32, False),      # 4-D scalar
    ((2, 3, 4, 5), np.complex64, None),   # complex: 4-D scalar
    ((3, 4), np.int16, None),             # 2-D scalar
    ((3, 4), np.int16, True),             # 2-D, 1 component
    ((2, 3, 4, 5, 2), np.float64, True),  # 4-D vector
])
def test_image_from_array_follows_sitk_rules(shape, dtype, is_vector):
    rng = np.random.default_rng(3)
    arr = sample_values(rng, shape, pixel_type_of(dtype))
    ours, ref = image_from_array(arr, is_vector), sitk.GetImageFromArray(arr, is_vector)
    assert ours.size == ref.GetSize() and ours.dimension == ref.GetDimension()
    assert ours.number_of_components == ref.GetNumberOfComponentsPerPixel()
    assert ours.pixel_type.value == ref.GetPixelID()
    expected = sitk.GetArrayFromImage(ref)
    np.testing.assert_array_equal(array_from_image(ours).reshape(expected.shape), expected)
    if ours.dimension <= 3:   # pixel access agrees too, at the far corner
        corner = tuple(n - 1 for n in ours.size)
        assert ours[corner] == ref[corner]


@pytest.mark.parametrize("arr, error, match", [
    (np.zeros((3, 4), bool), TypeError, "bool"),
    (np.zeros((3, 4), np.float16), TypeError, "float16"),
    (np.zeros((3, 4), ">i2"), TypeError, "non-native"),
    (np.zeros((3, 4), "<U3"), TypeError, "U3"),
    (np.zeros(5, np.float32), ValueError, "1-D"),
    (np.float32(1.0), ValueError, "0-D"),
    (np.zeros((2, 2, 2, 2, 2), np.float32), ValueError, "5-D"),
])
def test_image_from_array_refuses_what_sitk_refuses(arr, error, match):
    with pytest.raises(error, match=match):
        image_from_array(arr, is_vector=False if np.ndim(arr) == 5 else None)
    if np.ndim(arr) < 5:      # (SimpleITK would make a 5-D image; gpuresample stops at 4)
        with pytest.raises((TypeError, RuntimeError)):
            sitk.GetImageFromArray(arr)


def test_image_from_array_vector_edge_cases():
    with pytest.raises(TypeError, match="complex"):
        image_from_array(np.zeros((3, 4, 2), np.complex64), is_vector=True)
    with pytest.raises(ValueError, match="at least 1 component"):
        image_from_array(np.zeros((3, 4, 0), np.float32), is_vector=True)
    with pytest.raises(ValueError, match="5-D vector"):
        image_from_array(np.zeros((2,) * 6, np.float32), is_vector=True)


def test_image_from_array_copy_semantics():
    arr = np.arange(24, dtype=np.float32).reshape(4, 6)
    copied = image_from_array(arr)
    assert not np.shares_memory(copied._array, arr)
    wrapped = image_from_array(arr, copy=False)
    assert np.shares_memory(wrapped._array, arr)
    wrapped[1, 2] = -1.0                      # writes through: arr[2, 1]
    assert arr[2, 1] == -1.0 and copied[1, 2] == 13.0
    vector2d = image_from_array(arr, is_vector=True, copy=False)
    assert np.shares_memory(vector2d._array, arr) and vector2d._array.shape == (4, 6, 1)

    with pytest.raises(ValueError, match="C-contiguous"):
        image_from_array(arr[:, ::2], copy=False)
    with pytest.raises(ValueError, match="C-contiguous"):
        image_from_array(np.asfortranarray(arr), copy=False)
    fortran = image_from_array(np.asfortranarray(arr))
    assert fortran._array.flags.c_contiguous
    np.testing.assert_array_equal(fortran._array, arr)
    strided = image_from_array(arr[:, ::2])
    np.testing.assert_array_equal(array_from_image(strided), arr[:, ::2])

    assert image_from_array([[1, 2], [3, 4]]).size == (2, 2)
    with pytest.raises(ValueError, match="copy=True"):
        image_from_array([[1, 2], [3, 4]], copy=False)


class DLPackOnly:
    """A DLPack producer that is not a numpy array (as a torch tensor would be)."""

    def __init__(self, array, device=None):
        self.array, self.device = array, device

    def __dlpack__(self, **kwargs):
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.device or self.array.__dlpack_device__()


def test_image_from_dlpack_producer():
    arr = np.arange(12, dtype=np.int32).reshape(3, 4)
    wrapped = image_from_array(DLPackOnly(arr), copy=False)
    assert wrapped.device == "cpu" and np.shares_memory(wrapped._array, arr)
    copied = image_from_array(DLPackOnly(arr))
    assert not np.shares_memory(copied._array, arr)
    np.testing.assert_array_equal(copied._array, arr)
    with pytest.raises(TypeError, match="DLPack device type 4"):
        image_from_array(DLPackOnly(arr, device=(4, 0)))


# ---------------------------------------------------------------- arrays out, numpy interop
def test_array_from_image_is_a_writeable_copy_and_view_is_read_only():
    img = image_from_array(np.arange(6, dtype=np.uint16).reshape(2, 3))
    a = array_from_image(img)
    assert a.flags.writeable and a.flags.c_contiguous and not np.shares_memory(a, img._array)
    a[0, 0] = 99
    assert img[0, 0] == 0
    v = array_view_from_image(img)
    assert not v.flags.writeable and np.shares_memory(v, img._array)
    with pytest.raises(ValueError):
        v[0, 0] = 5
    img[0, 0] = 7                              # the view sees later writes
    assert v[0, 0] == 7 and img._array.flags.writeable
    with pytest.raises(TypeError, match="Image"):
        array_from_image(np.zeros((2, 2)))


def test_array_protocols_on_host_images():
    img = image_from_array(np.arange(6, dtype=np.int16).reshape(2, 3))
    assert np.asarray(img) is img._array
    assert not np.shares_memory(np.array(img), img._array)          # np.array copies
    assert np.asarray(img, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="copy"):
        img.__array__(np.float64, copy=False)
    assert np.shares_memory(np.asarray(img, copy=False), img._array)
    assert np.shares_memory(np.from_dlpack(img), img._array)
    assert img.__dlpack_device__() == (1, 0)
    assert not hasattr(img, "__cuda_array_interface__")
    assert float(np.sum(img)) == 15.0


# ---------------------------------------------------------------- pixel access
def test_pixel_access_matches_sitk():
    rng = np.random.default_rng(5)
    for pixel_type, shape in ((PixelType.INT16, (3, 4, 5)), (PixelType.FLOAT64, (4, 5)),
                              (PixelType.COMPLEX64, (3, 4, 5)),
                              (PixelType.VECTOR_UINT8, (3, 4, 5, 2))):
        arr = sample_values(rng, shape, pixel_type)
        ours = image_from_array(arr, pixel_type.is_vector)
        ref = sitk.GetImageFromArray(arr, pixel_type.is_vector)
        for _ in range(10):
            key = tuple(int(rng.integers(-n, n)) for n in ours.size)
            got, want = ours[key], ref[key]
            assert got == want and type(got) is type(want)


def test_pixel_writes_are_checked_like_sitk():
    img, ref = Image((4, 3), "uint8"), sitk.Image([4, 3], sitk.sitkUInt8)
    img[1, 2] = 200
    img[-1, -1] = np.uint8(3)
    assert img._array[2, 1] == 200 and img._array[2, 3] == 3
    for value, error in ((300, OverflowError), (-1, OverflowError), (2.7, TypeError),
                         ("1", TypeError)):
        with pytest.raises(error):
            img[0, 0] = value
        with pytest.raises(error):
            ref[0, 0] = value
    f = Image((2, 2), "float32")
    f[0, 1] = 2
    assert f[0, 1] == 2.0 and type(f[0, 1]) is float
    c = Image((2, 2), "complex128")
    c[1, 1] = 1 + 2j
    assert c[1, 1] == 1 + 2j
    with pytest.raises(TypeError):
        f[0, 0] = 1j

    vec = Image((4, 3), PixelType.VECTOR_INT16, components=3)
    vec[2, 1] = (1, -2, 3)
    assert vec[2, 1] == (1, -2, 3) and vec._array[1, 2].tolist() == [1, -2, 3]
    vec[0, 0] = np.array([4, 5, 6])
    assert vec[0, 0] == (4, 5, 6)
    with pytest.raises(ValueError, match="3 components"):
        vec[0, 0] = (1, 2)
    with pytest.raises(TypeError, match="sequence"):
        vec[0, 0] = 5
    with pytest.raises(TypeError):
        sitk.Image([4, 3], sitk.sitkVectorInt16, 3)[0, 0] = 5


def test_pixel_index_errors():
    img, ref = Image((4, 3, 2)), sitk.Image([4, 3, 2], sitk.sitkFloat32)
    for key in ((4, 0, 0), (0, -4, 0), (0, 0, 2)):
        with pytest.raises(IndexError, match="outside"):
            img[key]
        with pytest.raises(IndexError):
            ref[key]
    with pytest.raises(IndexError, match="too many"):
        img[0, 0, 0, 0]
    with pytest.raises(TypeError, match="integers"):
        img[0.5, 0, 0]
    with pytest.raises(TypeError, match="integers"):
        img[True, 0, 0]
    for key in ((slice(None), 0, 0), (0, 0)):      # padded with ':' to a 1-D slice
        with pytest.raises(IndexError, match="1 axis"):
            img[key]
        with pytest.raises(IndexError, match="1 dimension"):
            ref[key]
    for key in ((Ellipsis, 0), 0):                   # sub-images (tests/test_slicing.py)
        assert img[key].size == ref[key].GetSize()
    assert img[np.int64(-1), np.int32(2), 1] == 0.0   # SimpleITK takes only int


# ---------------------------------------------------------------- metadata, copies, repr
def test_metadata_is_a_str_dict():
    img = Image((2, 2))
    img.metadata["0010|0010"] = "Doe^John"
    img.metadata.update({"0008|0060": "CT"}, extra="x")
    img.metadata.setdefault("0020|000d", "1.2.3")
    img.metadata |= {"a": "b"}
    assert isinstance(img.metadata, dict)
    assert img.metadata == {"0010|0010": "Doe^John", "0008|0060": "CT", "extra": "x",
                            "0020|000d": "1.2.3", "a": "b"}
    for bad in ({"k": 3.5}, {3: "v"}):
        with pytest.raises(TypeError, match="must be str"):
            img.metadata.update(bad)
    with pytest.raises(TypeError, match="must be str"):
        img.metadata["k"] = None
    with pytest.raises(TypeError, match="must be str"):
        img.metadata = {"k": 1}
    img.metadata = {"only": "this"}
    assert img.metadata == {"only": "this"} and isinstance(img.metadata, MetaData)
    del img.metadata["only"]
    assert img.metadata == {}


def test_copy_to_repr_and_hash():
    img = image_from_array(np.arange(6, dtype=np.float32).reshape(2, 3))
    img.origin, img.spacing, img.direction = (1.0, 2.0), (0.5, 3.0), (0.0, 1.0, 1.0, 0.0)
    img.metadata["k"] = "v"
    dup = img.copy()
    assert not np.shares_memory(dup._array, img._array)
    assert (dup.origin, dup.spacing, dup.metadata) == (img.origin, img.spacing, img.metadata)
    np.testing.assert_array_equal(dup.direction, img.direction)
    dup[0, 0] = 5.0
    dup.metadata["k"] = "changed"
    assert img[0, 0] == 0.0 and img.metadata["k"] == "v"
    assert img.to("cpu") is img
    with pytest.raises(ValueError, match="unknown device"):
        img.to("gpu")
    text = repr(img)
    for part in ("size=(3, 2)", "FLOAT32", "spacing=(0.5, 3.0)", "origin=(1.0, 2.0)",
                 "device='cpu'"):
        assert part in text
    assert "components=3" in repr(Image((2, 2), "vector_uint8", components=3))
    # == compares pixels (tests/test_arithmetic.py), so images are unhashable, like arrays
    with pytest.raises(TypeError, match="unhashable"):
        hash(img)
    with pytest.raises(TypeError, match="ambiguous"):
        bool(img != dup)


def test_internal_contract():
    arr = np.zeros((2, 3, 4), np.int8)
    img = Image._from_array(arr, is_vector=False, origin=(1, 2, 3), metadata={"k": "v"})
    assert img._array is arr and img.size == (4, 3, 2) and img.origin == (1.0, 2.0, 3.0)
    vec = Image._from_array(arr, is_vector=True)
    assert vec._array is arr and vec.size == (3, 2) and vec.number_of_components == 4
    with pytest.raises(ValueError, match="C-contiguous"):
        Image._from_array(arr.transpose(), is_vector=False)
    with pytest.raises(ValueError, match="2 to 4 axes"):
        Image._from_array(np.zeros(3), is_vector=False)
    with pytest.raises(TypeError, match="numpy or CuPy"):
        Image._from_array([[1]], is_vector=False)
    other = Image((9, 9, 9))
    other.origin, other.spacing = (5.0, 6.0, 7.0), (2.0, 2.0, 2.0)
    assert img._copy_geometry_from(other) is img
    assert img.origin == other.origin and img.spacing == other.spacing
    assert img.size == (4, 3, 2) and img.metadata == {"k": "v"}
    with pytest.raises(ValueError, match="geometry"):
        img._copy_geometry_from(Image((2, 2)))


# ---------------------------------------------------------------- SimpleITK interop
@pytest.mark.parametrize("pixel_type", list(PixelType), ids=lambda p: p.name)
def test_every_pixel_type_round_trips_through_sitk(pixel_type):
    rng = np.random.default_rng(pixel_type.value)
    dim = 2 + pixel_type.value % 2
    size, origin, spacing, direction = random_geometry(rng, dim)
    shape = size[::-1] + ((3,) if pixel_type.is_vector else ())
    arr = sample_values(rng, shape, pixel_type)
    img = image_from_array(arr, pixel_type.is_vector)
    img.origin, img.spacing, img.direction = origin, spacing, direction
    img.metadata.update({"0010|0010": "Doe^John", "unicode": "välue ü", "empty": ""})

    s = to_sitk(img)
    assert s.GetPixelID() == pixel_type.value and s.GetSize() == img.size
    assert s.GetNumberOfComponentsPerPixel() == img.number_of_components
    assert s.GetOrigin() == img.origin and s.GetSpacing() == img.spacing
    assert s.GetDirection() == tuple(direction.ravel())
    assert {k: s.GetMetaData(k) for k in s.GetMetaDataKeys()} == img.metadata
    np.testing.assert_array_equal(sitk.GetArrayFromImage(s), arr)

    back = from_sitk(s)
    assert back.pixel_type is pixel_type and back.size == img.size
    assert (back.origin, back.spacing, back.metadata) == (img.origin, img.spacing,
                                                          img.metadata)
    np.testing.assert_array_equal(back.direction, img.direction)
    got = array_from_image(back)
    assert got.dtype == arr.dtype
    np.testing.assert_array_equal(got, arr)


def _sitk_with_corner(size, pixel_id, components, value):
    s = sitk.Image(size, pixel_id, components)
    s[[n - 1 for n in size]] = value
    return s


def _sitk_complex(size):
    real, imag = sitk.Image(size, sitk.sitkFloat64) + 1.0, sitk.Image(size, sitk.sitkFloat64)
    return sitk.RealAndImaginaryToComplex(real, imag - 2.0)   # (SimpleITK cannot set one)


@pytest.mark.parametrize("make, value", [
    (lambda: _sitk_with_corner([4, 3], sitk.sitkVectorFloat32, 1, (2.5,)), (2.5,)),
    (lambda: _sitk_with_corner([4, 3, 2, 2], sitk.sitkInt16, 1, -7), -7),
    (lambda: _sitk_with_corner([4, 3, 2, 2], sitk.sitkVectorUInt8, 2, (1, 2)), (1, 2)),
    (lambda: _sitk_complex([4, 3, 2]), 1 - 2j),
], ids=["vector-1-component", "4d-scalar", "4d-vector", "complex"])
def test_sitk_made_images_convert_both_ways(make, value):
    s = make()
    s.SetOrigin(tuple(float(i) for i in range(s.GetDimension())))
    img = from_sitk(s)
    assert img.pixel_type.value == s.GetPixelID() and img.size == s.GetSize()
    assert img.number_of_components == s.GetNumberOfComponentsPerPixel()
    assert img.origin == s.GetOrigin()
    assert img[tuple(n - 1 for n in img.size)] == value
    if img.pixel_type.is_vector:               # the component axis is kept, even for 1
        assert img._array.shape == img.size[::-1] + (img.number_of_components,)
    back = to_sitk(img)
    assert back.GetPixelID() == s.GetPixelID() and back.GetSize() == s.GetSize()
    assert back.GetNumberOfComponentsPerPixel() == s.GetNumberOfComponentsPerPixel()
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back), sitk.GetArrayFromImage(s))


def test_sitk_interop_refusals(monkeypatch):
    with pytest.raises(TypeError, match="label"):
        from_sitk(sitk.Image([3, 3], sitk.sitkLabelUInt8))   # SimpleITK would abort here
    with pytest.raises(TypeError, match="SimpleITK Image or Transform"):
        from_sitk(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="gpuresample Image or Transform"):
        to_sitk(sitk.Image([3, 3], sitk.sitkUInt8))
    monkeypatch.setitem(sys.modules, "SimpleITK", None)     # as if not installed
    with pytest.raises(ImportError, match=r"pip install gpuresample\[sitk\]"):
        to_sitk(Image((2, 2)))


# ---------------------------------------------------------------- GPU images (CuPy stand-in)
class FakeCupyArray(np.ndarray):
    """Host memory that passes for a CuPy array on GPU 0 (this machine has no GPU)."""

    @property
    def device(self):
        return types.SimpleNamespace(id=0)

    def get(self):
        return np.array(self)

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str, "version": 3,
                "data": (self.ctypes.data, False), "strides": None}


FakeCupyArray.__module__ = "cupy._core.core"


class FakeDevice:
    def __init__(self, index=0):
        self.id = index

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def fake_cupy(monkeypatch):
    fake = types.ModuleType("cupy")
    fake.ndarray = FakeCupyArray
    fake.asarray = lambda a, dtype=None: np.array(a, dtype=dtype).view(FakeCupyArray)
    fake.from_dlpack = lambda a: np.from_dlpack(a).view(FakeCupyArray)
    fake.cuda = types.SimpleNamespace(Device=FakeDevice)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    return fake


def test_gpu_images_stay_on_the_gpu(fake_cupy):
    host = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    gpu_arr = fake_cupy.asarray(host)
    img = image_from_array(gpu_arr)
    assert img.device == "cuda:0" and isinstance(img._array, FakeCupyArray)
    assert image_from_array(gpu_arr, copy=False)._array is gpu_arr
    assert isinstance(array_from_image(img), FakeCupyArray)
    assert array_view_from_image(img) is img._array
    assert hasattr(img, "__cuda_array_interface__")
    with pytest.raises(TypeError, match=r"to\('cpu'\)"):
        np.asarray(img)
    assert img.to("cuda") is img and img.to("cuda:0") is img

    img.origin, img.metadata = (1.0, 2.0, 3.0), {"k": "v"}
    img[1, 2, 0] = 5.0
    on_host = img.to("cpu")
    assert on_host.device == "cpu" and type(on_host._array) is np.ndarray
    assert on_host.origin == (1.0, 2.0, 3.0) and on_host.metadata == {"k": "v"}
    expected = host.copy()
    expected[0, 2, 1] = 5.0
    np.testing.assert_array_equal(on_host._array, expected)
    back = on_host.to("cuda")
    assert back.device == "cuda:0" and isinstance(back._array, FakeCupyArray)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(to_sitk(img)), on_host._array)

    vec = Image((3, 2), "vector_uint8").to("cuda")
    vec[1, 1] = (7, 8)
    assert vec[1, 1] == (7, 8)
    pts = img.transform_index_to_physical_point(fake_cupy.asarray([[1, 1, 1]]))
    assert isinstance(pts, FakeCupyArray) and pts.tolist() == [[2.0, 3.0, 4.0]]
    dl = image_from_array(DLPackOnly(host, device=(2, 0)))
    assert dl.device == "cuda:0"


def test_missing_cupy_names_the_extras(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)           # as if not installed
    with pytest.raises(ImportError, match=r"gpuresample\[cuda12\].*gpuresample\[cuda13\]"):
        Image((2, 2)).to("cuda")


def test_importing_the_image_modules_imports_no_optional_package():
    code = ("import sys, gpuresample.image, gpuresample.sitk_interop, gpuresample._arrays; "
            "print(sorted(m for m in ('SimpleITK', 'cupy', 'torch') if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=REPO)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
