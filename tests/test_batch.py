"""resample_batch: many (image, transform) pairs in one launch per path, each result
bit-identical to resample of its pair, on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import gpuresample as gr

from helpers import make_pair, random_affine_transform, random_geometry, random_values
from test_resample_deformable import random_bspline, random_field


def _transforms(rng, img, dim):
    affine = [random_affine_transform(rng, dim)[0] for _ in range(3)]
    deformable = [random_bspline(rng, img),
                  gr.CompositeTransform([affine[0], random_bspline(rng, img)]),
                  gr.DisplacementFieldTransform(random_field(rng, dim))]
    # interleaved, so the two launches write back into the right places
    return [affine[0], deformable[0], affine[1], deformable[1], None, deformable[2],
            affine[2]]


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("precision", ["exact", "fast"])
def test_one_image_through_many_transforms(backend, rng, dim, precision):
    geometry = random_geometry(rng, dim)
    img, _ = make_pair(random_values(rng, geometry[0][::-1], np.int16), geometry)
    transforms = _transforms(rng, img, dim)
    out_grid = random_geometry(rng, dim)
    grid = dict(size=out_grid[0], origin=out_grid[1], spacing=out_grid[2],
                direction=out_grid[3])
    batch = gr.resample_batch(img, transforms, "linear", -3.0, gr.PixelType.FLOAT32,
                              device=backend, precision=precision, **grid)
    assert len(batch) == len(transforms)
    for t, got in zip(transforms, batch):
        one = gr.resample(img, t, "linear", -3.0, gr.PixelType.FLOAT32, device=backend,
                          precision=precision, **grid)
        assert got.size == one.size and got.origin == one.origin
        np.testing.assert_array_equal(gr.array_from_image(got.to("cpu")),
                                      gr.array_from_image(one.to("cpu")))


@pytest.mark.parametrize("interpolator", ["linear", "nearest"])
def test_a_stack_of_images_one_transform_each(backend, rng, interpolator):
    geometry = random_geometry(rng, 3)
    images = []
    for _ in range(4):
        values = random_values(rng, (*geometry[0][::-1], 2), np.float32)
        images.append(make_pair(values, geometry, is_vector=True)[0])
    transforms = [random_affine_transform(rng, 3)[0], random_bspline(rng, images[0]),
                  None, random_affine_transform(rng, 3)[0]]
    batch = gr.resample_batch(images, transforms, interpolator, device=backend)
    for img, t, got in zip(images, transforms, batch):
        one = gr.resample(img, t, interpolator, device=backend)
        assert got.pixel_type == gr.PixelType.VECTOR_FLOAT32
        np.testing.assert_array_equal(gr.array_from_image(got.to("cpu")),
                                      gr.array_from_image(one.to("cpu")))


def test_bad_batches_are_refused(rng):
    a = gr.Image((5, 4), gr.PixelType.FLOAT32)
    b = gr.Image((5, 4), gr.PixelType.FLOAT32)
    b.spacing = (2.0, 1.0)
    shift = gr.TranslationTransform((1.0, 0.0))
    with pytest.raises(ValueError, match="not on the first image's grid"):
        gr.resample_batch([a, b], [shift, shift], device="cpu")
    with pytest.raises(ValueError, match="pixel type"):
        gr.resample_batch([a, gr.Image((5, 4), gr.PixelType.UINT8)], [shift, shift],
                          device="cpu")
    with pytest.raises(ValueError, match="2 images for 1 transforms"):
        gr.resample_batch([a, a], [shift], device="cpu")
    with pytest.raises(ValueError, match="at least one transform"):
        gr.resample_batch(a, [], device="cpu")
    with pytest.raises(TypeError, match="gpuresample Image"):
        gr.resample_batch([a, np.zeros((4, 5))], [shift, shift], device="cpu")
