"""The cpu backend runs output rows tile by tile (backends/cpu.py ``_row_order``): every
row exactly once, and the same voxels as SimpleITK where the tiles matter (more rows than
a tile along y and z, sizes that are not multiples of it)."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

import gpuresample as gr
from gpuresample.backends import cpu
from helpers import (SITK_INTERPOLATORS, assert_same, make_pair, random_affine_transform,
                     random_geometry, random_values)


@pytest.mark.parametrize("ny,nz", [(1, 1), (1, 70), (70, 1), (31, 33), (64, 64), (97, 5)])
def test_row_order_is_a_permutation_in_tiles(ny, nz):
    order = cpu._row_order(ny, nz)
    assert sorted(order.tolist()) == list(range(ny * nz))
    y, z = order % ny, order // ny
    tile = (z // cpu._TILE) * (-(-ny // cpu._TILE)) + y // cpu._TILE
    assert np.all(np.diff(tile) >= 0)          # whole tiles, one after another
    assert not order.flags.writeable


@pytest.mark.parametrize("interpolator", ["linear", "nearest"])
@pytest.mark.parametrize("d,size", [(3, (7, 75, 66)), (2, (9, 100))])
def test_tiled_rows_match_simpleitk(rng, interpolator, d, size):
    geometry = random_geometry(rng, d, size=size)
    img, simg = make_pair(random_values(rng, geometry[0][::-1], np.int16), geometry)
    t, st = random_affine_transform(rng, d)
    for pixel_type in (None, gr.PixelType.FLOAT32):
        out = gr.resample(img, t, interpolator, -3.0, pixel_type, device="cpu")
        ref = sitk.Resample(simg, st, SITK_INTERPOLATORS[interpolator], -3.0,
                            pixel_type.value if pixel_type else sitk.sitkUnknown)
        assert_same(out, ref, interpolator)
