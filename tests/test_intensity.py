"""cast and rescale_intensity against SimpleITK 2.5.7's Cast and RescaleIntensity."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

import gpuresample as gr
from gpuresample.sitk_interop import to_sitk
from helpers import make_pair, random_geometry, random_values
from test_image import FakeCupyArray, fake_cupy  # noqa: F401  (the CuPy stand-in fixture)

# Finite values whose truncation SimpleITK and numpy convert alike: fractions, negatives
# (wrapping for unsigned types), values past the 8-, 16- and 32-bit ranges, beyond 2^63.
# Left out: NaN, infinities and e.g. -3e9 -> UINT32, undefined in C++, where SimpleITK's
# vectorised loops and numpy's give different bits (and differ with the array length).
CAST_VALUES = (-5.5, -0.7, 0.7, 2.5, 254.9, 255.5, 300.7, 3e9, 65535.9, -32768.5, 2.0 ** 31,
               -2.0 ** 31, 0.0, -0.0, 127.5, 4294967295.5)
# beyond every 32-bit range: alike too, but not for float -> UINT32 (undefined; SimpleITK's
# bits there depend on the element's position in its loop)
BEYOND_32_BITS = (1e10, 4.3e9, -2.0 ** 31 - 1, 1e18, -1e18, 1.7e19, 2.0 ** 63)
NON_FINITE = (np.nan, np.inf, -np.inf, 1e300, -1e300)


def values_of(pixel_type: gr.PixelType, values) -> np.ndarray:
    """``values`` as a (4, n) (or (4, n, 3) vector) array of ``pixel_type``."""
    v = np.asarray(values, dtype=np.float64)
    v = np.concatenate([v] * (-(-4 * 5 // v.size)))[:4 * 5]
    with np.errstate(invalid="ignore", over="ignore"):
        arr = v.astype(pixel_type.dtype)
        if pixel_type.is_complex:
            arr.imag = v[::-1]
    arr = arr.reshape(4, 5)
    return np.stack([arr, arr[::-1], arr[:, ::-1]], axis=-1) if pixel_type.is_vector else arr


def assert_same(ours: gr.Image, ref: sitk.Image, what: str) -> None:
    assert ours.pixel_type.value == ref.GetPixelID(), what
    assert ours.number_of_components == ref.GetNumberOfComponentsPerPixel(), what
    want = sitk.GetArrayViewFromImage(ref)
    np.testing.assert_array_equal(np.asarray(ours).reshape(want.shape), want, err_msg=what)
    assert (ours.size, ours.origin, ours.spacing) == (ref.GetSize(), ref.GetOrigin(),
                                                      ref.GetSpacing()), what
    assert tuple(ours.direction.ravel()) == ref.GetDirection(), what
    assert dict(ours.metadata) == {k: ref.GetMetaData(k) for k in ref.GetMetaDataKeys()}, what


def with_geometry(arr: np.ndarray, is_vector: bool, seed: int):
    geometry = random_geometry(np.random.default_rng(seed), 2, size=arr.shape[:2][::-1])
    img, ref = make_pair(arr, geometry, is_vector)
    img.metadata["0010|0010"] = "Doe^John"
    ref.SetMetaData("0010|0010", "Doe^John")      # Cast and RescaleIntensity drop it
    return img, ref


@pytest.mark.parametrize("source", list(gr.PixelType), ids=lambda p: p.name)
def test_cast_to_every_type_matches_sitk(source):
    for values in (CAST_VALUES, BEYOND_32_BITS, NON_FINITE):
        img, ref = with_geometry(values_of(source, values), source.is_vector, source.value)
        for target in gr.PixelType:
            if source.dtype.kind in "fc" and target.dtype.kind in "iu" and (
                    values is NON_FINITE or values is BEYOND_32_BITS and target.dtype == np.uint32):
                continue          # undefined in C++ (see CAST_VALUES)
            what = f"{source.name} -> {target.name}"
            try:
                want = sitk.Cast(ref, target.value)
            except RuntimeError:
                with pytest.raises(TypeError, match=f"cannot cast {source.name} to "
                                                    f"{target.name}.*SimpleITK refuses"):
                    gr.cast(img, target)
                continue
            got = gr.cast(img, target)
            assert_same(got, want, what)
            assert not np.shares_memory(got._array, img._array)
    assert img.metadata == {"0010|0010": "Doe^John"}


def test_cast_takes_every_pixel_type_spelling():
    img = gr.image_from_array(np.array([[1.5, -2.5]], np.float32))
    for spelling in (gr.PixelType.INT16, np.int16, "int16", "INT16", 2):
        assert gr.cast(img, spelling).pixel_type is gr.PixelType.INT16
    with pytest.raises(TypeError, match="Image"):
        gr.cast(np.zeros((2, 2)), "uint8")
    with pytest.raises(TypeError, match="label"):
        gr.cast(img, 22)


RESCALE_RANGES = ((0, 255), (-1000, 1000), (2.7, 100.9), (0, 300), (-5.5, 100), (10, 5),
                  (0, 1), (-1e6, 1e6))


def rescale_inputs(rng: np.random.Generator, pixel_type: gr.PixelType):
    """Random values, a constant image, a zero image, and for floats the NaN / infinity /
    almost-equal cases of ITK's AlmostEquals."""
    dtype = pixel_type.dtype
    cases = [random_values(rng, (4, 5), dtype), np.full((3, 4), 5, dtype), np.zeros((3, 4), dtype),
             random_values(rng, (1, 2), dtype)]
    if dtype.kind == "f":
        one_ulp = np.nextafter(dtype.type(1), dtype.type(2))
        cases += [np.array([[np.nan, 1, 2, np.inf]], dtype), np.array([[np.nan, 1, 2]], dtype),
                  np.array([[np.nan, np.nan]], dtype), np.array([[1.0, one_ulp]], dtype),
                  np.array([[1e-9, 2e-9]], dtype), np.array([[-3.0, -3.0]], dtype),
                  np.array([[-1.0, 0.0, 0.5, 3.0]], dtype)]
    return cases


@pytest.mark.parametrize("pixel_type", [gr.PixelType(i) for i in range(10)],
                         ids=lambda p: p.name)
def test_rescale_intensity_matches_sitk(pixel_type):
    rng = np.random.default_rng(100 + pixel_type.value)
    for k, arr in enumerate(rescale_inputs(rng, pixel_type)):
        img, ref = with_geometry(arr, False, k)
        for bounds in RESCALE_RANGES + ((),):          # () : the defaults 0, 255
            what = f"{pixel_type.name} case {k} {bounds}"
            try:
                want = sitk.RescaleIntensity(ref, *bounds)
            except RuntimeError:      # the bounds as the pixel type: minimum > maximum
                with pytest.raises(ValueError, match="is greater than output_maximum"):
                    gr.rescale_intensity(img, *bounds)
                continue
            assert_same(gr.rescale_intensity(img, *bounds), want, what)
        np.testing.assert_array_equal(np.asarray(img), arr)


def test_rescale_vector_images_per_component_and_empty_images():
    rng = np.random.default_rng(5)
    for pixel_type in (gr.PixelType.VECTOR_UINT8, gr.PixelType.VECTOR_FLOAT32,
                       gr.PixelType.VECTOR_INT64):
        arr = random_values(rng, (4, 5, 3), pixel_type.dtype)
        arr[..., 2] = arr[0, 0, 2]                 # one constant component
        img, ref = with_geometry(arr, True, pixel_type.value)
        for low, high in ((0, 255), (3, 120.5)):
            assert_same(gr.rescale_intensity(img, low, high),
                        sitk.RescaleIntensity(ref, low, high), pixel_type.name)
    empty, sempty = gr.Image((0, 3), "uint8"), sitk.Image([0, 3], sitk.sitkUInt8)
    assert_same(gr.rescale_intensity(empty), sitk.RescaleIntensity(sempty), "empty")


def test_rescale_refusals():
    c = gr.Image((3, 2), "complex64")
    with pytest.raises(TypeError, match="not defined for COMPLEX64"):
        gr.rescale_intensity(c)
    with pytest.raises(RuntimeError, match="not supported"):
        sitk.RescaleIntensity(to_sitk(c))
    with pytest.raises(ValueError, match=r"output_minimum \(-5.5, as uint8: 251\) is greater"):
        gr.rescale_intensity(gr.Image((3, 2), "uint8"), -5.5, 100)
    with pytest.raises(TypeError, match="Image"):
        gr.rescale_intensity(np.zeros((3, 2)))


def test_4d_images_cast_and_rescale_volume_by_volume():
    # SimpleITK's Cast and RescaleIntensity stop at 3-D; gpuresample takes 4-D. Cast is
    # per pixel, so each 3-D volume equals SimpleITK's cast of that volume.
    rng = np.random.default_rng(9)
    arr = (rng.normal(size=(2, 3, 4, 5)) * 300).astype(np.float32)
    img = gr.image_from_array(arr, is_vector=False)
    got = gr.cast(img, "int8")
    for t in range(2):
        assert_same(got[:, :, :, t], sitk.Cast(to_sitk(img[:, :, :, t]), sitk.sitkInt8), "4-D")
    whole = gr.rescale_intensity(img)          # one range over all volumes
    flat = gr.image_from_array(arr.reshape(6, 4, 5))
    np.testing.assert_array_equal(np.asarray(whole).reshape(6, 4, 5),
                                  sitk.GetArrayFromImage(sitk.RescaleIntensity(to_sitk(flat))))


def test_cast_and_rescale_on_the_gpu(fake_cupy):  # noqa: F811
    rng = np.random.default_rng(13)
    host = gr.image_from_array(random_values(rng, (4, 5, 3), np.int16), is_vector=True)
    gpu = host.to("cuda")
    for got, want in ((gr.cast(gpu, "vector_float32"), gr.cast(host, "vector_float32")),
                      (gr.rescale_intensity(gpu, -1, 1), gr.rescale_intensity(host, -1, 1))):
        assert got.device == "cuda:0" and isinstance(got._array, FakeCupyArray)
        assert got.pixel_type is want.pixel_type
        np.testing.assert_array_equal(got._array.get(), np.asarray(want))
