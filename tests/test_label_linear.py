"""interpolator="label_linear" against SimpleITK's sitkLabelLinear, on every backend:
random label maps and geometries, every integer label type, ties built on purpose."""

from __future__ import annotations

import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK")

import gpuresample as gr  # noqa: E402

from helpers import (assert_same, make_pair, random_affine_transform,  # noqa: E402
                     random_geometry)
from test_resample_deformable import random_bspline  # noqa: E402

INTEGER_TYPES = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64"]


def random_labels(rng: np.random.Generator, shape, dtype, count: int = 5) -> np.ndarray:
    """A label map of ``count`` labels spread over ``dtype``'s range (negatives too), in
    blobs a few voxels wide, so most points have two or more labels around them."""
    dt = np.dtype(dtype)
    if dt.kind == "f":
        labels = rng.integers(-50, 50, size=count).astype(dt)
    else:
        info = np.iinfo(dt)
        lo, hi = max(int(info.min), -2**62), min(int(info.max), 2**62)
        labels = np.array([int(v) for v in rng.integers(lo, hi, size=count)], dtype=object)
        labels[0] = 0
        labels = labels.astype(dt)
    coarse = rng.integers(0, count, size=tuple((n + 1) // 2 for n in shape))
    for axis in range(len(shape)):
        coarse = np.repeat(coarse, 2, axis=axis)
    fine = coarse[tuple(slice(0, n) for n in shape)]
    # a sprinkle of single-voxel labels makes eight-label corners
    noise = rng.random(shape) < 0.2
    fine = np.where(noise, rng.integers(0, count, size=shape), fine)
    return labels[fine]


def _sitk_resample(simg, st, default, **grid):
    if grid:
        return sitk.Resample(simg, grid["size"], st, sitk.sitkLabelLinear, grid["origin"],
                             grid["spacing"], np.asarray(grid["direction"]).ravel().tolist(),
                             default)
    return sitk.Resample(simg, st, sitk.sitkLabelLinear, default)


@pytest.mark.parametrize("dtype", INTEGER_TYPES)
@pytest.mark.parametrize("dim", [2, 3])
def test_matches_sitk_on_random_geometries(backend, rng, dim, dtype):
    for _ in range(3):
        geometry = random_geometry(rng, dim)
        img, simg = make_pair(random_labels(rng, geometry[0][::-1], dtype), geometry)
        transform, st = random_affine_transform(rng, dim)
        out_grid = random_geometry(rng, dim)
        grid = dict(zip(("size", "origin", "spacing", "direction"), out_grid))
        out = gr.resample(img, transform, "label_linear", 3, device=backend, **grid)
        assert out.pixel_type == img.pixel_type
        assert_same(out, _sitk_resample(simg, st, 3.0, **grid), "label_linear")


@pytest.mark.parametrize("dtype", ["uint8", "int16", "int64", "uint64", "float32"])
@pytest.mark.parametrize("dim", [2, 3])
def test_ties_between_labels(backend, rng, dim, dtype):
    """Points exactly halfway between voxels (and at cell centres, where four or eight
    labels meet): equal weights, and ITK gives the smallest label."""
    size = (9, 7, 5)[:dim]
    geometry = (size, (0.0,) * dim, (1.0,) * dim, np.eye(dim))
    arr = random_labels(rng, size[::-1], dtype, count=3)
    img, simg = make_pair(arr, geometry)
    for shift in ([0.5] + [0.0] * (dim - 1), [0.0] * (dim - 1) + [0.5], [0.5] * dim,
                  [-0.5] * dim, [1.5, -0.5, 0.5][:dim]):
        out = gr.resample(img, gr.TranslationTransform(shift), "label_linear", 0,
                          device=backend)
        ref = sitk.Resample(simg, sitk.TranslationTransform(dim, shift), sitk.sitkLabelLinear,
                            0.0)
        assert_same(out, ref, f"label_linear ties at shift {shift}")
    # a tie must actually have been decided by the smallest label somewhere
    half = gr.array_from_image(gr.resample(img, gr.TranslationTransform([0.5] * dim),
                                           "label_linear", 0, device=backend))
    lows = np.minimum(arr[(slice(None, -1),) * dim], arr[(slice(1, None),) * dim])
    assert np.any(half[(slice(None, -1),) * dim] == lows)


def test_two_label_tie_picks_the_smaller(backend):
    arr = np.array([[5, 3, 7, 7, 200]], dtype=np.uint8)
    img = gr.image_from_array(arr)
    out = gr.resample(img, gr.TranslationTransform((0.5, 0.0)), "label_linear", 9,
                      device=backend)
    # 5|3 -> 3, 3|7 -> 3, 7|7 -> 7, 7|200 -> 7, past the end -> the default
    assert gr.array_from_image(out).tolist() == [[3, 3, 7, 7, 9]]


@pytest.mark.parametrize("dim", [2, 3])
def test_deformable_and_output_types(backend, rng, dim):
    geometry = random_geometry(rng, dim)
    img, simg = make_pair(random_labels(rng, geometry[0][::-1], np.int16), geometry)
    transform = random_bspline(rng, img)
    st = gr.to_sitk(transform)
    assert_same(gr.resample(img, transform, "label_linear", -2, device=backend),
                _sitk_resample(simg, st, -2.0), "label_linear through a B-spline")
    for pixel_type in (gr.PixelType.FLOAT32, gr.PixelType.INT8, gr.PixelType.UINT8):
        out = gr.resample(img, transform, "label_linear", -2, pixel_type, device=backend)
        ref = sitk.Resample(simg, st, sitk.sitkLabelLinear, -2.0, int(pixel_type.value))
        assert_same(out, ref, f"label_linear to {pixel_type.name}")


@pytest.mark.parametrize("dim", [2, 3])
def test_float_labels(backend, rng, dim):
    geometry = random_geometry(rng, dim)
    img, simg = make_pair(random_labels(rng, geometry[0][::-1], np.float32), geometry)
    transform, st = random_affine_transform(rng, dim)
    assert_same(gr.resample(img, transform, "label_linear", 0.5, device=backend),
                _sitk_resample(simg, st, 0.5), "label_linear on float labels")


@pytest.mark.parametrize("dim", [2, 3])
def test_batch_and_fast_precision(backend, rng, dim):
    geometry = random_geometry(rng, dim, size=(12, 11, 10)[:dim])
    img, _ = make_pair(random_labels(rng, geometry[0][::-1], np.uint8), geometry)
    transforms = [random_affine_transform(rng, dim)[0] for _ in range(2)]
    transforms.append(random_bspline(rng, img))
    for precision in ("exact", "fast"):
        batch = gr.resample_batch(img, transforms, "label_linear", 0, device=backend,
                                  precision=precision)
        for t, got in zip(transforms, batch):
            one = gr.resample(img, t, "label_linear", 0, device=backend, precision=precision)
            np.testing.assert_array_equal(gr.array_from_image(got), gr.array_from_image(one))
            # fast (float32 weights) differs from exact only where labels nearly tie
            exact = gr.resample(img, t, "label_linear", 0, device=backend)
            same = gr.array_from_image(one) == gr.array_from_image(exact)
            assert same.mean() > 0.98


def test_fast_precision_cpu_equals_kernel(rng):
    geometry = random_geometry(rng, 3, size=(13, 9, 7))
    img, _ = make_pair(random_labels(rng, geometry[0][::-1], np.int32), geometry)
    t = random_affine_transform(rng, 3)[0]
    got = [gr.array_from_image(gr.resample(img, t, "label_linear", 0, device=d,
                                           precision="fast"))
           for d in ("cpu", "cuda-host")]
    np.testing.assert_array_equal(got[0], got[1])


def test_label_linear_refuses_vector_and_complex_images(backend):
    vec = gr.image_from_array(np.zeros((4, 5, 2), np.uint8), is_vector=True)
    with pytest.raises(ValueError, match="label_linear interpolates scalar"):
        gr.resample(vec, None, "label_linear", device=backend)
    cplx = gr.image_from_array(np.zeros((4, 5), np.complex64))
    with pytest.raises(ValueError, match="label_linear interpolates scalar"):
        gr.resample(cplx, None, "label_linear", device=backend)


def test_aliases_include_sitk_constant():
    img = gr.image_from_array(np.array([[1, 2, 2]], np.uint8))
    a = gr.resample(img, gr.TranslationTransform((0.5, 0.0)), sitk.sitkLabelLinear, device="cpu")
    b = gr.resample(img, gr.TranslationTransform((0.5, 0.0)), "LabelLinear", device="cpu")
    np.testing.assert_array_equal(gr.array_from_image(a), gr.array_from_image(b))


@pytest.mark.parametrize("size", [(5, 4, 1), (1, 6, 3), (7, 1)])
def test_axes_one_voxel_thick_and_the_border_band(backend, rng, size):
    """Axes of one voxel (never interpolated) and points in the half-voxel band at the
    border (edge replication), as ITK's linear interpolator handles them."""
    dim = len(size)
    geometry = (size, (0.0,) * dim, (1.0,) * dim, np.eye(dim))
    img, simg = make_pair(random_labels(rng, size[::-1], np.int32, count=4), geometry)
    for shift in ([-0.3] * dim, [0.45] * dim, [0.25, -0.4, 0.1][:dim]):
        out = gr.resample(img, gr.TranslationTransform(shift), "label_linear", -1,
                          device=backend, size=tuple(n + 1 for n in size))
        ref = sitk.Resample(simg, [n + 1 for n in size], sitk.TranslationTransform(dim, shift),
                            sitk.sitkLabelLinear, (0.0,) * dim, (1.0,) * dim,
                            np.eye(dim).ravel().tolist(), -1.0)
        assert_same(out, ref, f"label_linear, size {size}, shift {shift}")


@pytest.mark.parametrize("kind", ["euler", "bspline", "mixed"])
def test_blocks_equal_the_whole(backend, rng, kind):
    """label_linear through block-wise resampling (input crops, output blocks): the same
    labels as the whole resampling."""
    pytest.importorskip("dask")
    from test_blocks import awkward_chunks, output_around, transform_of

    geometry = random_geometry(rng, 3, size=tuple(rng.integers(9, 16, 3)))
    img, _ = make_pair(random_labels(rng, geometry[0][::-1], np.int16), geometry)
    transform = transform_of(kind, rng, img, 3)
    grid = output_around(rng, img)
    whole = gr.resample(img, transform, "label_linear", -5, device=backend, **grid)
    lazy = gr.resample(img, transform, "label_linear", -5, device=backend,
                       chunks=awkward_chunks(rng, grid["size"]), **grid)
    got = gr.array_from_image(lazy.compute(scheduler="synchronous").to("cpu"))
    want = gr.array_from_image(whole.to("cpu"))
    assert got.dtype == np.int16 and np.any(want != -5)
    np.testing.assert_array_equal(got, want)
