"""Slicing ``img[...]`` against SimpleITK 2.5.7's ``Image.__getitem__`` (Slice + Extract)."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

import gpuresample as gr
from gpuresample.slicing import parse_key, slice_geometry
from helpers import make_pair, random_direction, random_geometry, random_values
from test_image import FakeCupyArray, fake_cupy  # noqa: F401  (the CuPy stand-in fixture)

STEPS = (None, 1, 2, 3, -1, -2, -3)


def random_key(rng: np.random.Generator, size) -> object:
    """A random key in SimpleITK's grammar: ints (some out of range), slices with any
    start/stop/step (negative ones too), sometimes too short or with an ellipsis."""
    entries: list = []
    for n in size:
        if rng.random() < 0.25:
            entries.append(int(rng.integers(-n - 1, n + 1)))
            continue
        start, stop = (None if rng.random() < 0.3 else int(rng.integers(-n - 2, n + 3))
                       for _ in range(2))
        entries.append(slice(start, stop, STEPS[int(rng.integers(len(STEPS)))]))
    r = rng.random()
    if r < 0.15:
        entries = entries[:int(rng.integers(1, len(size)))]
    elif r < 0.3:
        i = int(rng.integers(0, len(size)))
        entries = entries[:i] + [Ellipsis] + entries[int(rng.integers(i, len(size) + 1)):]
    return entries[0] if len(entries) == 1 and rng.random() < 0.5 else tuple(entries)


def non_orthonormal_direction(rng: np.random.Generator, d: int) -> np.ndarray:
    """A random well-conditioned matrix with columns of different lengths (SimpleITK takes
    any non-singular direction)."""
    while True:
        m = random_direction(rng, d) + rng.normal(scale=0.3, size=(d, d))
        if abs(np.linalg.det(m)) > 0.2:
            return m


def assert_same_image(ours: gr.Image, ref: sitk.Image) -> None:
    """Pixel type, size, geometry (bit for bit), pixels and metadata equal SimpleITK's."""
    assert ours.pixel_type.value == ref.GetPixelID()
    assert ours.size == ref.GetSize() and ours.dimension == ref.GetDimension()
    assert ours.number_of_components == ref.GetNumberOfComponentsPerPixel()
    # SimpleITK's geometry arithmetic is reproduced exactly (ITK's index -> point sum)
    np.testing.assert_array_equal(ours.origin, ref.GetOrigin())
    np.testing.assert_array_equal(ours.spacing, ref.GetSpacing())
    np.testing.assert_array_equal(ours.direction.ravel(), ref.GetDirection())
    np.testing.assert_array_equal(np.asarray(ours).reshape(sitk.GetArrayViewFromImage(ref).shape),
                                  sitk.GetArrayViewFromImage(ref))
    assert dict(ours.metadata) == {k: ref.GetMetaData(k) for k in ref.GetMetaDataKeys()}


def compare_key(img: gr.Image, ref: sitk.Image, key) -> None:
    """``img[key]`` does what ``ref[key]`` does: the same value, image or kind of error."""
    try:
        want = ref[key]
    except Exception as exc:                                 # noqa: BLE001 - any refusal
        # SimpleITK: IndexError / ValueError from its key rules, RuntimeError from Extract
        # for an empty range next to an integer (we raise IndexError there)
        expected = IndexError if isinstance(exc, RuntimeError) else type(exc)
        with pytest.raises(expected):
            img[key]
        return
    got = img[key]
    if isinstance(want, sitk.Image):
        assert_same_image(got, want)
        assert got._array.flags.c_contiguous and not np.shares_memory(got._array, img._array)
    else:
        assert got == want and type(got) is type(want)


@pytest.mark.parametrize("dim, pixel_type, orthonormal", [
    (2, gr.PixelType.INT16, True), (3, gr.PixelType.FLOAT32, True),
    (3, gr.PixelType.UINT8, False), (2, gr.PixelType.VECTOR_UINT8, True),
    (3, gr.PixelType.VECTOR_FLOAT64, False), (3, gr.PixelType.COMPLEX64, True),
    (4, gr.PixelType.INT32, True), (4, gr.PixelType.FLOAT64, False),
], ids=lambda v: getattr(v, "name", str(v)))
def test_random_slicings_match_sitk(dim, pixel_type, orthonormal):
    rng = np.random.default_rng(1000 * dim + pixel_type.value)
    for _ in range(3):
        size, origin, spacing, direction = random_geometry(
            rng, dim, size=tuple(int(n) for n in rng.integers(2, 9 if dim == 4 else 12, dim)))
        if not orthonormal:
            direction = non_orthonormal_direction(rng, dim)
        shape = size[::-1] + ((3,) if pixel_type.is_vector else ())
        values = random_values(rng, shape, pixel_type.dtype) if not pixel_type.is_complex \
            else (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(pixel_type.dtype)
        img, ref = make_pair(values, (size, origin, spacing, direction), pixel_type.is_vector)
        img.metadata["0010|0010"] = "Doe^John"
        ref.SetMetaData("0010|0010", "Doe^John")              # SimpleITK drops it on slicing
        before = (img.origin, img.spacing, img.direction.copy(), img._array.copy())
        for _ in range(60):
            compare_key(img, ref, random_key(rng, size))
        assert (img.origin, img.spacing) == before[:2]
        np.testing.assert_array_equal(img.direction, before[2])
        np.testing.assert_array_equal(img._array, before[3])


def test_the_documented_oblique_example_matches_sitk():
    # SEMANTICS §6: image 6x5x4, origin (10, 20, 30), spacing (0.5, 2, 3), 30 deg about y
    th = np.deg2rad(30)
    direction = np.array([[np.cos(th), 0, -np.sin(th)], [0, 1, 0], [np.sin(th), 0, np.cos(th)]])
    values = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    img, ref = make_pair(values, ((6, 5, 4), (10, 20, 30), (0.5, 2, 3), direction))
    for key in ((slice(1, 5, 2), slice(None, None, -1), slice(None)), slice(None, None, -2),
                (slice(None), slice(None), 2), (slice(None), 3, slice(None)), 2,
                (Ellipsis, -1), (slice(-3, None), slice(None, 2)), Ellipsis,
                (slice(10, 20),), (slice(2, 5, -1),), (slice(-100, -50),)):
        compare_key(img, ref, key)


@pytest.mark.parametrize("direction", [
    [[0, 0, 1], [0, 1, 0], [1, 0, 0]],         # kept 2x2 block singular -> identity
    [[0, 1, 0], [1, 0, 0], [0, 0, 1]],         # kept block a permutation, kept as is
], ids=["singular", "permutation"])
def test_collapsed_direction_follows_itk_guess_strategy(direction):
    img, ref = make_pair(np.arange(60, dtype=np.uint8).reshape(5, 4, 3),
                         ((3, 4, 5), (1.0, 2.0, 3.0), (1.0, 1.5, 2.0), np.array(direction)))
    compare_key(img, ref, (slice(None), slice(None), 1))


def test_exactly_singular_3x3_block_becomes_identity():
    # 4-D -> 3-D: the kept block [[1,2,3],[4,5,6],[7,8,9]] has determinant exactly 0 in
    # vnl's closed form; the 4x4 direction itself is not singular
    d = np.array([[1, 2, 3, 1], [4, 5, 6, 0], [7, 8, 9, 0], [0, 0, 1, 0]], dtype=np.float64)
    img, ref = make_pair(np.zeros((2, 3, 4, 5), np.float32), ((5, 4, 3, 2), (0,) * 4,
                                                             (1,) * 4, d))
    compare_key(img, ref, (slice(None), slice(None), slice(None), 1))


def test_nearly_singular_kept_direction_is_refused_where_sitk_keeps_it():
    # Deliberate difference: gpuresample refuses nearly singular directions everywhere
    # (geometry.validate_geometry); SimpleITK keeps any block whose determinant is not 0.
    direction = [[1, 0, 0], [0, 1e-20, -1], [0, 1, 1e-20]]
    img, ref = make_pair(np.zeros((5, 4, 3), np.uint8), ((3, 4, 5), (0.0,) * 3, (1.0,) * 3,
                                                          np.array(direction)))
    assert ref[:, :, 1].GetDirection() == (1.0, 0.0, 0.0, 1e-20)
    with pytest.raises(ValueError, match="nearly singular"):
        img[:, :, 1]


def test_notebook_slicings_match_sitk():
    rng = np.random.default_rng(7)
    logo = rng.integers(0, 256, size=(60, 131, 3), dtype=np.uint8)   # 131 x 60 RGB
    img, ref = make_pair(logo, ((131, 60), (0.0, 0.0), (1.0, 1.0), np.eye(2)), is_vector=True)
    for key in ((slice(None, None, 2), slice(None, None, 2)), (slice(0, 115), slice(None)),
                (slice(115, 0, -1), slice(None))):
        compare_key(img, ref, key)


@pytest.mark.parametrize("key, error, match", [
    ((0, 0, 0, 0), IndexError, "too many indices"),
    ((Ellipsis, 0, Ellipsis), IndexError, "only one ellipsis"),
    ((slice(None), 0, 0), IndexError, "1 axis"),
    ((0, 0), IndexError, "1 axis"),
    ((slice(None), 7, slice(None)), IndexError, "outside the extent for axis 1"),
    ((slice(None), slice(10, 20), 1), IndexError, "empty range"),
    ((slice(None, None, 0),), ValueError, "step cannot be zero"),
    ((0.5, slice(None), slice(None)), TypeError, "integers, slices"),
    (([1, 2], 0), TypeError, "tuple"),
    ((True, slice(None), 0), TypeError, "integers"),
    ((slice(1, 2.5), slice(None)), TypeError, "slice indices must be integers"),
], ids=str)
def test_bad_keys_are_refused_like_sitk(key, error, match):
    img, ref = gr.Image((6, 5, 4), "int16"), sitk.Image([6, 5, 4], sitk.sitkInt16)
    with pytest.raises(error, match=match):
        img[key]
    with pytest.raises(Exception):     # SimpleITK refuses each of them too
        ref[key]


def test_assigning_to_slices_is_refused_clearly():
    img = gr.Image((4, 3), "uint8")
    for key in ((slice(0, 2), slice(None)), (Ellipsis, 0), (1,)):
        with pytest.raises(TypeError, match="assigning to a slice.*np.asarray"):
            img[key] = 5
    assert not np.asarray(img).any()


def test_slicing_gpu_images_stays_on_the_gpu(fake_cupy):  # noqa: F811
    rng = np.random.default_rng(3)
    size, origin, spacing, direction = random_geometry(rng, 3)
    host = gr.image_from_array(random_values(rng, size[::-1], np.int16))
    host.origin, host.spacing, host.direction = origin, spacing, direction
    gpu = host.to("cuda")
    for key in ((slice(None, None, -2), slice(1, None), 2), (Ellipsis, slice(3, 0, -1)), 1):
        got, want = gpu[key], host[key]
        assert got.device == "cuda:0" and isinstance(got._array, FakeCupyArray)
        assert (got.size, got.origin, got.spacing) == (want.size, want.origin, want.spacing)
        np.testing.assert_array_equal(got.direction, want.direction)
        np.testing.assert_array_equal(got._array.get(), want._array)
    assert gpu[1, 2, 0] == host[1, 2, 0]


def test_pure_functions_do_not_touch_their_inputs():
    direction = random_direction(np.random.default_rng(4), 3)
    direction.setflags(write=False)
    origin, spacing = [1.0, 2.0, 3.0], [0.5, 1.0, 2.0]
    axes = parse_key((slice(None, None, -1), 2, slice(1, 3)), (4, 5, 6))
    sub = slice_geometry(origin, spacing, direction, axes)
    assert origin == [1.0, 2.0, 3.0] and spacing == [0.5, 1.0, 2.0]
    img = gr.Image((4, 5, 6))
    img.origin, img.spacing, img.direction = origin, spacing, direction
    ref = sitk.Image([4, 5, 6], sitk.sitkFloat32)
    ref.SetOrigin(origin), ref.SetSpacing(spacing), ref.SetDirection(direction.ravel().tolist())
    want = ref[::-1, 2, 1:3]
    assert sub.size == want.GetSize() and sub.origin == want.GetOrigin()
    assert sub.spacing == want.GetSpacing()
    assert tuple(sub.direction.ravel()) == want.GetDirection()
