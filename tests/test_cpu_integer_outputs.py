"""The cpu backend's integer outputs, which take the staged form of the row loop (values
clamped and truncated in the arithmetic type, converted in a second pass) where the
type's range is exact in it, else the branchy form (float outputs take the vectorised
select form): every integer type, both interpolators, both precisions, per-voxel rows,
batches and vector pixels, bit for bit SimpleITK's and the kernel sources' (cuda-host)."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

import gpuresample as gr
from helpers import (SITK_INTERPOLATORS, assert_same, make_pair, random_affine_transform,
                     random_geometry, random_values)
from test_resample_deformable import random_bspline


@pytest.mark.parametrize("interpolator", ["linear", "nearest"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint16, np.int32, np.int64])
def test_integer_outputs(rng, interpolator, dtype):
    geometry = random_geometry(rng, 3, size=(9, 7, 5))
    img, simg = make_pair(random_values(rng, geometry[0][::-1], dtype), geometry)
    t, st = random_affine_transform(rng, 3)
    out = gr.resample(img, t, interpolator, 3.0, device="cpu")
    assert_same(out, sitk.Resample(simg, st, SITK_INTERPOLATORS[interpolator], 3.0),
                interpolator)


def test_per_voxel_rows(rng):
    geometry = random_geometry(rng, 3, size=(7, 6, 5))
    img, simg = make_pair(random_values(rng, geometry[0][::-1], np.int16), geometry)
    bspline = random_bspline(rng, img)
    out = gr.resample(img, bspline, "linear", -7.0, gr.PixelType.UINT8, device="cpu")
    ref = sitk.Resample(simg, gr.to_sitk(bspline), sitk.sitkLinear, -7.0, sitk.sitkUInt8)
    assert_same(out, ref, "linear")


def test_batches(rng):
    geometry = random_geometry(rng, 2, size=(11, 9))
    images = [make_pair(random_values(rng, geometry[0][::-1], np.int16), geometry)
              for _ in range(3)]
    pairs = [random_affine_transform(rng, 2) for _ in images]
    batch = gr.resample_batch([i for i, _ in images], [t for t, _ in pairs], "linear", 5.0,
                              device="cpu")
    for (_, simg), (_, st), got in zip(images, pairs, batch):
        assert_same(got, sitk.Resample(simg, st, sitk.sitkLinear, 5.0), "linear")


def test_vector_integer_outputs(rng):
    geometry = random_geometry(rng, 2, size=(9, 8))
    array = random_values(rng, (*geometry[0][::-1], 3), np.uint8)
    img, simg = make_pair(array, geometry, is_vector=True)
    t, st = random_affine_transform(rng, 2)
    out = gr.resample(img, t, "linear", 9.0, device="cpu")
    assert_same(out, sitk.Resample(simg, st, sitk.sitkLinear, 9.0), "linear")


@pytest.mark.parametrize("precision", ["exact", "fast"])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16, np.int32,
                                   np.uint32, np.int64])
def test_nearest_same_type_copies_the_sample(rng, precision, dtype):
    # where the arithmetic type holds every value, the cpu backend stores the sample as
    # it is (no conversion); elsewhere it converts: either way the kernel's bits
    # (cuda-host) and, in exact mode, SimpleITK's
    state = gr.backends()["cuda-host"]
    if state != "available":
        pytest.skip(f"backend cuda-host {state}")
    geometry = random_geometry(rng, 3, size=(9, 7, 5))
    img, simg = make_pair(random_values(rng, geometry[0][::-1], dtype), geometry)
    t, st = random_affine_transform(rng, 3)
    out = gr.resample(img, t, "nearest", -4.0, device="cpu", precision=precision)
    host = gr.resample(img, t, "nearest", -4.0, device="cuda-host", precision=precision)
    np.testing.assert_array_equal(gr.array_from_image(out), gr.array_from_image(host))
    if precision == "exact":
        assert_same(out, sitk.Resample(simg, st, sitk.sitkNearestNeighbor, -4.0))


@pytest.mark.parametrize("precision", ["exact", "fast"])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16, np.int32,
                                   np.uint32, np.int64, np.uint64])
def test_float_to_integer_conversions_match_the_kernel(rng, precision, dtype):
    # staged (range exact in the arithmetic type) and branchy (int32 and up in fast,
    # 64-bit in exact) both clamp, truncate toward zero and map NaN to 0 as the kernel
    state = gr.backends()["cuda-host"]
    if state != "available":
        pytest.skip(f"backend cuda-host {state}")
    geometry = random_geometry(rng, 3, size=(13, 6, 4))
    array = rng.normal(size=geometry[0][::-1]) * 10.0 ** rng.integers(0, 20, geometry[0][::-1])
    array.flat[:5] = (np.nan, np.inf, -np.inf, -0.75, 0.75)
    img, _ = make_pair(array, geometry)
    t, _ = random_affine_transform(rng, 3)
    for interpolator in ("linear", "nearest"):
        for default in (-5.0, 1e30):
            got, want = (gr.array_from_image(gr.resample(
                img, t, interpolator, default, dtype, device=d,
                precision=precision)) for d in ("cpu", "cuda-host"))
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, want)
