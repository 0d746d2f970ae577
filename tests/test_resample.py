"""resample() against SimpleITK 2.5.7 on every backend: geometries, transforms, pixel types,
grids and the edge cases that decide voxel-for-voxel agreement."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

import gpuresample as gr
from helpers import (SITK_INTERPOLATORS, assert_same, make_pair, random_affine_transform,
                     random_geometry, random_values)

SCALAR_TYPES = [gr.PixelType(i) for i in range(10)]


# ---------------------------------------------------------------- random geometries
@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("interpolator", ["linear", "nearest"])
def test_random_oblique_affine_matches_sitk(backend, rng, dim, interpolator):
    for _ in range(4):
        geometry = random_geometry(rng, dim)
        arr = random_values(rng, geometry[0][::-1], np.float32)
        img, simg = make_pair(arr, geometry)
        out_geometry = random_geometry(rng, dim)
        t, st = random_affine_transform(rng, dim)
        out = gr.resample(img, t, interpolator, -3.0, size=out_geometry[0],
                          origin=out_geometry[1], spacing=out_geometry[2],
                          direction=out_geometry[3], device=backend)
        ref = sitk.Resample(simg, out_geometry[0], st, SITK_INTERPOLATORS[interpolator],
                            out_geometry[1], out_geometry[2],
                            out_geometry[3].ravel().tolist(), -3.0)
        assert_same(out, ref, interpolator)


def _transform_pairs(rng):
    """Each affine-family kind with random parameters, ours and SimpleITK's."""
    c3, t3 = rng.normal(size=3), rng.normal(size=3)
    c2, t2 = rng.normal(size=2), rng.normal(size=2)
    a = rng.normal(scale=0.4, size=3)
    v = rng.normal(scale=0.2, size=3)
    versor = (*v, float(np.sqrt(1 - v @ v)))
    yield gr.TranslationTransform(t3), sitk.TranslationTransform(3, t3.tolist())
    yield (gr.Euler3DTransform(c3, a, t3),
           sitk.Euler3DTransform(c3.tolist(), *a.tolist(), t3.tolist()))
    zyx = sitk.Euler3DTransform(c3.tolist(), *a.tolist(), t3.tolist())
    zyx.SetComputeZYX(True)
    yield gr.Euler3DTransform(c3, a, t3, compute_zyx=True), zyx
    yield (gr.Similarity3DTransform(1.1, versor, t3, c3),
           sitk.Similarity3DTransform(1.1, versor, t3.tolist(), c3.tolist()))
    yield (gr.VersorRigid3DTransform(versor, t3, c3),
           sitk.VersorRigid3DTransform(versor, t3.tolist(), c3.tolist()))
    scale = rng.uniform(0.7, 1.3, size=3)
    yield gr.ScaleTransform(scale, c3), sitk.ScaleTransform(3, scale.tolist())
    yield (gr.Euler2DTransform(c2, 0.3, t2),
           sitk.Euler2DTransform(c2.tolist(), 0.3, t2.tolist()))
    yield (gr.Similarity2DTransform(0.9, -0.2, t2, c2),
           sitk.Similarity2DTransform(0.9, -0.2, t2.tolist(), c2.tolist()))
    affine, saffine = random_affine_transform(rng, 3)
    euler = gr.Euler3DTransform(c3, a, t3)
    composite = sitk.CompositeTransform(3)
    composite.AddTransform(saffine)
    composite.AddTransform(sitk.Euler3DTransform(c3.tolist(), *a.tolist(), t3.tolist()))
    yield gr.CompositeTransform([affine, euler]), composite


def test_every_affine_kind_matches_sitk(backend, rng):
    for t, st in _transform_pairs(rng):
        if isinstance(st, sitk.ScaleTransform):
            st.SetCenter(t.fixed_parameters)
        dim = t.dimension
        geometry = random_geometry(rng, dim)
        img, simg = make_pair(random_values(rng, geometry[0][::-1], np.float64), geometry)
        for interpolator in ("linear", "nearest"):
            out = gr.resample(img, t, interpolator, device=backend)
            ref = sitk.Resample(simg, st, SITK_INTERPOLATORS[interpolator], 0.0)
            assert_same(out, ref, f"{interpolator} ({type(t).__name__})")


# ---------------------------------------------------------------- the three grid forms
def test_grid_forms_match_sitk_signatures(backend, rng):
    geometry = random_geometry(rng, 3)
    img, simg = make_pair(random_values(rng, geometry[0][::-1], np.int16), geometry)
    t, st = random_affine_transform(rng, 3)
    # 1: the input's own grid
    assert_same(gr.resample(img, t, device=backend), sitk.Resample(simg, st), "linear")
    # 2: a reference image (its pixel type is not used)
    ref_geometry = random_geometry(rng, 3)
    ref_img, sref = make_pair(np.zeros(ref_geometry[0][::-1], np.uint8), ref_geometry)
    assert_same(gr.resample(img, t, reference=ref_img, device=backend),
                sitk.Resample(simg, sref, st), "linear")
    # 3: explicit size/origin/spacing/direction
    s, o, sp, d = random_geometry(rng, 3)
    assert_same(gr.resample(img, t, size=s, origin=o, spacing=sp, direction=d, device=backend),
                sitk.Resample(simg, s, st, sitk.sitkLinear, o, sp, d.ravel().tolist()), "linear")


def test_spacing_alone_keeps_extent(backend):
    img = gr.Image((20, 10, 6), gr.PixelType.FLOAT32)
    img.spacing = (0.5, 1.0, 2.0)
    out = gr.resample(img, spacing=(1.0, 1.0, 1.0), device=backend)
    assert out.size == (10, 10, 12)
    assert out.origin == img.origin and out.spacing == (1.0, 1.0, 1.0)


# ---------------------------------------------------------------- every pixel type
@pytest.mark.parametrize("pixel_type", SCALAR_TYPES, ids=lambda p: p.name)
def test_every_input_type(backend, rng, pixel_type):
    geometry = random_geometry(rng, 3)
    arr = random_values(rng, geometry[0][::-1], pixel_type.dtype)
    img, simg = make_pair(arr, geometry)
    t, st = random_affine_transform(rng, 3)
    assert_same(gr.resample(img, t, "linear", device=backend),
                sitk.Resample(simg, st, sitk.sitkLinear), "linear")


@pytest.mark.parametrize("pixel_type", SCALAR_TYPES, ids=lambda p: p.name)
def test_every_output_type_clamps_and_truncates(backend, rng, pixel_type):
    geometry = random_geometry(rng, 2, size=(9, 7))
    arr = (rng.normal(size=(7, 9)) * 1e10).astype(np.float64)
    arr[0, :3] = (np.nan, np.inf, -np.inf)
    img, simg = make_pair(arr, geometry)
    t, st = random_affine_transform(rng, 2)
    for interpolator in ("linear", "nearest"):
        out = gr.resample(img, t, interpolator, 0.0, pixel_type, device=backend)
        ref = sitk.Resample(simg, st, SITK_INTERPOLATORS[interpolator], 0.0, pixel_type.value)
        if pixel_type.dtype.kind in "iu":
            # NaN -> integer is undefined in C++; gpuresample documents 0
            nan_out = np.isnan(gr.array_from_image(gr.resample(
                img, t, interpolator, 0.0, gr.PixelType.FLOAT64, device=backend)))
            expected = sitk.GetArrayFromImage(ref)
            expected[nan_out] = 0
            patched = sitk.GetImageFromArray(expected)
            patched.CopyInformation(ref)
            ref = patched
        assert_same(out, ref, interpolator)


@pytest.mark.parametrize("pixel_type", [gr.PixelType.VECTOR_UINT8, gr.PixelType.VECTOR_FLOAT32,
                                        gr.PixelType.VECTOR_INT16], ids=lambda p: p.name)
def test_vector_images_per_component(backend, rng, pixel_type):
    geometry = random_geometry(rng, 3)
    arr = random_values(rng, (*geometry[0][::-1], 3), pixel_type.dtype)
    img, simg = make_pair(arr, geometry, is_vector=True)
    t, st = random_affine_transform(rng, 3)
    for interpolator in ("linear", "nearest"):
        out = gr.resample(img, t, interpolator, 7.0, device=backend)
        assert out.pixel_type == pixel_type and out.number_of_components == 3
        assert_same(out, sitk.Resample(simg, st, SITK_INTERPOLATORS[interpolator], 7.0),
                    interpolator)


def test_vector_output_type_from_component_type(backend, rng):
    geometry = random_geometry(rng, 2)
    arr = random_values(rng, (*geometry[0][::-1], 2), np.uint8)
    img, simg = make_pair(arr, geometry, is_vector=True)
    out = gr.resample(img, output_pixel_type="float32", device=backend)
    assert out.pixel_type == gr.PixelType.VECTOR_FLOAT32
    assert_same(out, sitk.Resample(simg, sitk.Transform(), sitk.sitkLinear, 0.0,
                                   sitk.sitkVectorFloat32), "linear")


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_images_as_real_and_imaginary_parts(backend, rng, dtype):
    geometry = random_geometry(rng, 3)
    arr = (rng.normal(size=geometry[0][::-1]) + 1j * rng.normal(size=geometry[0][::-1]))
    arr = arr.astype(dtype)
    img, _ = make_pair(arr, geometry)
    t, st = random_affine_transform(rng, 3)
    out = gr.array_from_image(gr.resample(img, t, "linear", 2.0, device=backend))
    assert out.dtype == dtype
    for part, default in ((np.real, 2.0), (np.imag, 0.0)):
        _, spart = make_pair(np.ascontiguousarray(part(arr)), geometry)
        ref = sitk.GetArrayFromImage(sitk.Resample(spart, st, sitk.sitkLinear, default))
        scale = np.abs(ref).max() + 1.0
        np.testing.assert_allclose(part(out), ref, rtol=0,
                                   atol=(5e-7 if dtype == np.complex64 else 1e-12) * scale)


# ---------------------------------------------------------------- edge cases
def _row_image(values, dtype=np.float32, spacing=1.0, origin=0.0):
    arr = np.asarray(values, dtype=dtype)[None, :]
    img = gr.image_from_array(arr)
    img.spacing, img.origin = (spacing, 1.0), (origin, 0.0)
    s = sitk.GetImageFromArray(arr)
    s.SetSpacing((spacing, 1.0))
    s.SetOrigin((origin, 0.0))
    return img, s


@pytest.mark.parametrize("interpolator", ["linear", "nearest"])
@pytest.mark.parametrize("shift", [-0.5, -0.5000001, 3.4999999, 3.5, 0.5, 1.5, 2.5, -1.5,
                                   0.49999999999, 2.75, -0.25])
def test_boundaries_and_ties(backend, interpolator, shift):
    """Continuous index exactly on -0.5 (inside) and N - 0.5 (outside), and .5 ties."""
    img, simg = _row_image([10, 20, 30, 40])
    t = gr.TranslationTransform((shift, 0.0))
    st = sitk.TranslationTransform(2, (shift, 0.0))
    out = gr.resample(img, t, interpolator, -1.0, size=(1, 1), device=backend)
    ref = sitk.Resample(simg, [1, 1], st, SITK_INTERPOLATORS[interpolator], (0, 0), (1, 1),
                        (), -1.0)
    assert_same(out, ref, interpolator)


def test_scanline_nearest_ties(backend):
    """SEMANTICS §0.3: the tie decisions of ITK's scan-line positions, not per-voxel ones."""
    img, simg = _row_image(np.arange(40))
    for n in range(3, 70):
        out = gr.resample(img, None, "nearest", -1.0, size=(n, 1), origin=(-0.5, 0.0),
                          spacing=(0.5, 1.0), device=backend)
        ref = sitk.Resample(simg, [n, 1], sitk.Transform(), sitk.sitkNearestNeighbor,
                            (-0.5, 0.0), (0.5, 1.0), (), -1.0)
        assert_same(out, ref)


def test_negative_ties_round_up(backend):
    img, simg = _row_image(np.arange(6), origin=-3.0)
    t, st = gr.TranslationTransform((-0.5, 0.0)), sitk.TranslationTransform(2, (-0.5, 0.0))
    assert_same(gr.resample(img, t, "nearest", -9.0, device=backend),
                sitk.Resample(simg, st, sitk.sitkNearestNeighbor, -9.0))


@pytest.mark.parametrize("size", [(1, 1, 1), (1, 5, 3), (5, 1, 3), (4, 3, 1)])
def test_size_one_axes(backend, rng, size):
    geometry = random_geometry(rng, 3, size=size)
    img, simg = make_pair(random_values(rng, size[::-1], np.float32), geometry)
    t, st = random_affine_transform(rng, 3)
    for interpolator in ("linear", "nearest"):
        shift = gr.TranslationTransform((0.1, -0.2, 0.3))
        sshift = sitk.TranslationTransform(3, (0.1, -0.2, 0.3))
        assert_same(gr.resample(img, shift, interpolator, device=backend),
                    sitk.Resample(simg, sshift, SITK_INTERPOLATORS[interpolator]), interpolator)
        out = gr.resample(img, t, interpolator, size=(5, 4, 3), device=backend)
        ref = sitk.Resample(simg, [5, 4, 3], st, SITK_INTERPOLATORS[interpolator],
                            simg.GetOrigin(), simg.GetSpacing(), simg.GetDirection())
        assert_same(out, ref, interpolator)


@pytest.mark.parametrize("pixel_type", SCALAR_TYPES, ids=lambda p: p.name)
@pytest.mark.parametrize("size", [(1, 1, 1), (2, 1, 1), (3, 1, 1), (5, 2, 2)])
def test_linear_at_the_end_of_tiny_buffers(backend, rng, pixel_type, size):
    """The cpu kernel reads linear's x neighbours in pairs, one word a load, from the
    buffer as it is: at the buffer's last voxel the word is read from further back, and
    a buffer shorter than a word takes the general kernel. Points across the last voxel
    (and the half-voxel band past it) of every scalar type, output float64 and the type."""
    arr = random_values(rng, size[::-1], pixel_type.dtype)
    img, simg = make_pair(arr, ((size), (0.0,) * 3, (1.0,) * 3, np.eye(3)))
    out_size = [2 * n + 3 for n in size]
    for out_type in (gr.PixelType.FLOAT64, pixel_type):
        out = gr.resample(img, None, "linear", -7.0, out_type, size=out_size,
                          origin=(-0.75,) * 3, spacing=(0.5,) * 3, device=backend)
        ref = sitk.Resample(simg, out_size, sitk.Transform(), sitk.sitkLinear,
                            (-0.75,) * 3, (0.5,) * 3, np.eye(3).ravel().tolist(), -7.0,
                            out_type.value)
        assert_same(out, ref, "linear")


@pytest.mark.parametrize("pixel_type,default", [
    (gr.PixelType.UINT8, -1.0), (gr.PixelType.UINT8, 300.0), (gr.PixelType.UINT8, 2.7),
    (gr.PixelType.INT16, -2.7), (gr.PixelType.FLOAT32, float("nan")),
    (gr.PixelType.INT32, 1e10), (gr.PixelType.FLOAT64, -1e300)])
def test_all_outside_gets_default_cast_like_sitk(backend, pixel_type, default):
    img = gr.Image((4, 3), gr.PixelType.FLOAT32)
    simg = sitk.Image((4, 3), sitk.sitkFloat32)
    t, st = gr.TranslationTransform((100.0, 0.0)), sitk.TranslationTransform(2, (100.0, 0.0))
    out = gr.resample(img, t, "linear", default, pixel_type, device=backend)
    ref = sitk.Resample(simg, st, sitk.sitkLinear, default, pixel_type.value)
    assert_same(out, ref)


@pytest.mark.parametrize("values,dtype,out_type,position,expected", [
    ([0, 3], np.uint8, None, 0.5, 1), ([0, 3], np.uint8, None, 0.9, 2),
    ([0, -3], np.int16, None, 0.5, -1), ([0, -3], np.int16, None, 0.9, -2),
    ([0, 300], np.float32, gr.PixelType.UINT8, 0.9, 255),
    ([-5, -7], np.float32, gr.PixelType.UINT8, 0.5, 0),
    ([200, 200], np.uint8, gr.PixelType.INT8, 0.0, 127),
    ([np.inf, np.inf], np.float32, None, 0.0, 3.4028234663852886e38),
    ([3e9, 3e9], np.float32, gr.PixelType.INT32, 0.0, 2147483647)])
def test_sitk_cast_table(backend, values, dtype, out_type, position, expected):
    """SEMANTICS §2.5's observed conversions."""
    img, simg = _row_image(values, dtype)
    t = gr.TranslationTransform((position, 0.0))
    st = sitk.TranslationTransform(2, (position, 0.0))
    out = gr.resample(img, t, "linear", 0.0, out_type, size=(1, 1), device=backend)
    ref = sitk.Resample(simg, [1, 1], st, sitk.sitkLinear, (0, 0), (1, 1), (), 0.0,
                        out_type.value if out_type is not None else sitk.sitkUnknown)
    assert_same(out, ref)
    assert gr.array_from_image(out.to("cpu"))[0, 0] == expected


# ---------------------------------------------------------------- precision modes
def test_cpu_and_kernel_sources_bit_identical_in_both_precisions(rng):
    if gr.backends()["cuda-host"] != "available":
        pytest.skip(f"cuda-host {gr.backends()['cuda-host']}")
    geometry = random_geometry(rng, 3, size=(31, 17, 9))
    img, _ = make_pair(random_values(rng, geometry[0][::-1], np.int16), geometry)
    t, _ = random_affine_transform(rng, 3)
    for precision in ("exact", "fast"):
        for interpolator in ("linear", "nearest"):
            for out_type in (None, gr.PixelType.FLOAT32):
                a, b = (gr.array_from_image(gr.resample(
                    img, t, interpolator, 5.0, out_type, device=d, precision=precision))
                    for d in ("cpu", "cuda-host"))
                np.testing.assert_array_equal(a, b)


def test_fast_precision_bound(backend, rng):
    """The documented bound of precision="fast" against the exact result.

    float32 positions are off by up to 2^-24 of the largest coordinate (N voxels), so
    linear, float output: |fast - exact| <= 2^-23 * N * (max - min) + 1e-6 * max|input|;
    integer output: at most 1 apart; nearest: at most 0.5% of voxels pick a neighbour.
    Voxels whose position lies within that rounding of the image's border (-0.5 or
    N - 0.5) may be inside in one mode and outside (the default value) in the other.
    """
    default = -12345.0
    geometry = random_geometry(rng, 3, size=(63, 41, 27))
    arr = random_values(rng, geometry[0][::-1], np.float32)
    img, _ = make_pair(arr, geometry)
    t, _ = random_affine_transform(rng, 3)
    span, peak = float(arr.max() - arr.min()), float(np.abs(arr).max())
    exact, fast = (gr.array_from_image(gr.resample(img, t, "linear", default, device=backend,
                                                   precision=p).to("cpu"))
                   for p in ("exact", "fast"))
    flipped = (exact == default) != (fast == default)
    assert np.mean(flipped) <= 1e-3
    bound = 2.0 ** -23 * max(img.size) * span + 1e-6 * peak
    assert np.max(np.abs(fast.astype(np.float64) - exact)[~flipped]) <= bound
    exact_i, fast_i = (gr.array_from_image(gr.resample(
        img, t, "linear", 0, gr.PixelType.INT16, device=backend, precision=p).to("cpu"))
        for p in ("exact", "fast"))
    assert np.max(np.abs(fast_i.astype(np.int64) - exact_i)[~flipped]) <= 1
    exact_n, fast_n = (gr.array_from_image(gr.resample(img, t, "nearest", device=backend,
                                                       precision=p).to("cpu"))
                       for p in ("exact", "fast"))
    assert np.mean(exact_n != fast_n) <= 0.005


# ---------------------------------------------------------------- devices and inputs
def test_result_stays_on_the_input_device(backend):
    img = gr.Image((5, 4), gr.PixelType.UINT8)
    out = gr.resample(img, device=backend)
    assert out.device == ("cuda:0" if backend == "cuda" else "cpu")
    assert out.pixel_type == gr.PixelType.UINT8
    assert out.metadata == {}


def test_input_is_not_modified(backend, rng):
    geometry = random_geometry(rng, 3)
    arr = random_values(rng, geometry[0][::-1], np.float32)
    img, _ = make_pair(arr, geometry)
    before = (gr.array_from_image(img), img.origin, img.spacing, img.direction.copy())
    t, _ = random_affine_transform(rng, 3)
    params = t.parameters
    gr.resample(img, t, device=backend)
    np.testing.assert_array_equal(gr.array_from_image(img), before[0])
    assert (img.origin, img.spacing) == before[1:3]
    np.testing.assert_array_equal(img.direction, before[3])
    assert t.parameters == params


@pytest.mark.parametrize("call,error,match", [
    (lambda img: gr.resample(np.zeros((3, 3))), TypeError, "Image"),
    (lambda img: gr.resample(gr.Image((2, 2, 2, 2))), ValueError, "4-D"),
    (lambda img: gr.resample(img, gr.TranslationTransform((1.0, 2.0))), ValueError, "2-D"),
    (lambda img: gr.resample(img, interpolator="cubic"), ValueError, "interpolator"),
    (lambda img: gr.resample(img, direction=np.zeros((3, 3))), ValueError, "singular"),
    (lambda img: gr.resample(img, spacing=(1.0, 0.0, 1.0)), ValueError, "spacing"),
    (lambda img: gr.resample(img, size=(4, 4)), ValueError, "size"),
    (lambda img: gr.resample(img, device="tpu"), ValueError, "device"),
    (lambda img: gr.resample(img, precision="half"), ValueError, "precision"),
    (lambda img: gr.resample(img, output_pixel_type=gr.PixelType.VECTOR_UINT8), ValueError,
     "vector"),
    (lambda img: gr.resample(img, "not a transform"), TypeError, "Transform"),
    (lambda img: gr.resample(img, reference=gr.Image((3, 3))), ValueError, "2-D"),
])
def test_bad_inputs_raise_clear_errors(call, error, match):
    img = gr.Image((4, 4, 4), gr.PixelType.FLOAT32)
    with pytest.raises(error, match=match):
        call(img)


@pytest.mark.parametrize("dim", [2, 3])
def test_inverse_transforms_resample_like_sitk_get_inverse(backend, rng, dim):
    """The notebook's fix for the all-black image: resample through ``t.inverse()``."""
    for _ in range(3):
        geometry = random_geometry(rng, dim)
        img, simg = make_pair(random_values(rng, geometry[0][::-1], np.float32), geometry)
        t, st = random_affine_transform(rng, dim)
        for interpolator in ("linear", "nearest"):
            out = gr.resample(img, t.inverse(), interpolator, device=backend)
            ref = sitk.Resample(simg, st.GetInverse(), SITK_INTERPOLATORS[interpolator])
            assert_same(out, ref, interpolator)
