"""Resampling through B-spline and displacement-field transforms (and chains mixing them
with the affine family) against SimpleITK, on every backend: bit-identical in exact mode."""

from __future__ import annotations

import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK")

import gpuresample as gr  # noqa: E402

from helpers import (SITK_INTERPOLATORS, assert_same, make_pair,  # noqa: E402
                     random_affine_transform, random_geometry, random_values)


def random_bspline(rng: np.random.Generator, image: gr.Image, order: int = 3,
                   scale: float = 2.0) -> gr.BSplineTransform:
    """A B-spline on a control grid initialised on ``image``, random coefficients (mm)."""
    mesh = tuple(int(m) for m in rng.integers(1, 4, size=image.dimension))
    grid = gr.BSplineTransform.from_image(image, mesh, order=order)
    coefficients = rng.normal(scale=scale, size=grid.coefficients.shape)
    return gr.BSplineTransform(coefficients, grid.grid_origin, grid.grid_spacing,
                               grid.grid_direction, order=order)


def random_field(rng: np.random.Generator, dimension: int, scale: float = 1.5,
                 dtype=np.float64) -> gr.Image:
    """A displacement field on its own random oblique grid."""
    size, origin, spacing, direction = random_geometry(rng, dimension)
    array = rng.normal(scale=scale, size=(*size[::-1], dimension)).astype(dtype)
    field = gr.image_from_array(array, is_vector=True)
    field.origin, field.spacing, field.direction = origin, spacing, direction
    return field


def _check(backend, img, simg, transform, interpolators=("linear", "nearest"), **grid):
    st = gr.to_sitk(transform)
    for interpolator in interpolators:
        out = gr.resample(img, transform, interpolator, -7.0, device=backend, **grid)
        if grid:
            ref = sitk.Resample(simg, grid["size"], st, SITK_INTERPOLATORS[interpolator],
                                grid["origin"], grid["spacing"],
                                np.asarray(grid["direction"]).ravel().tolist(), -7.0)
        else:
            ref = sitk.Resample(simg, st, SITK_INTERPOLATORS[interpolator], -7.0)
        assert_same(out, ref, f"{interpolator} through {type(transform).__name__}")


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_bspline_matches_sitk(backend, rng, dim, order):
    geometry = random_geometry(rng, dim)
    img, simg = make_pair(random_values(rng, geometry[0][::-1], np.float32), geometry)
    _check(backend, img, simg, random_bspline(rng, img, order))


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("mesh_x", [1, 3, 41])
@pytest.mark.parametrize("order", [2, 3])
def test_bspline_long_rows_match_sitk(backend, rng, dim, mesh_x, order):
    """Rows longer than the cpu backend's chunks of 64 points (151 = 64 + 64 + 23), with
    control cells along x of 151, 50 and under 4 voxels: the cubic sums go run by run of
    points in one cell (long runs, runs across chunk ends) or point by point (short
    runs); onto the image's own grid (y and z weights equal along a row), onto a rotated
    and larger grid (points outside the valid region inside rows), and with the
    identity direction (a control grid exactly aligned with the rows)."""
    size = (151, 5, 3)[:dim]
    _, origin, spacing, direction = random_geometry(rng, dim)
    for direction in (direction, np.eye(dim)):
        geometry = (size, origin, spacing, direction)
        img, simg = make_pair(random_values(rng, size[::-1], np.float32), geometry)
        mesh = (mesh_x,) + (1,) * (dim - 1)
        grid = gr.BSplineTransform.from_image(img, mesh, order=order)
        transform = gr.BSplineTransform(rng.normal(scale=2.0, size=grid.coefficients.shape),
                                        grid.grid_origin, grid.grid_spacing,
                                        grid.grid_direction, order=order)
        _check(backend, img, simg, transform, interpolators=("linear",))
        _, out_origin, out_spacing, out_direction = random_geometry(rng, dim)
        _check(backend, img, simg, transform, interpolators=("linear",),
               size=(160,) + size[1:], origin=img.origin, spacing=out_spacing,
               direction=out_direction)


@pytest.mark.parametrize("dim", [2, 3])
def test_bspline_onto_another_grid_and_types(backend, rng, dim):
    geometry = random_geometry(rng, dim)
    img, simg = make_pair(random_values(rng, geometry[0][::-1], np.int16), geometry)
    transform = random_bspline(rng, img)
    size, origin, spacing, direction = random_geometry(rng, dim)
    _check(backend, img, simg, transform, size=size, origin=origin, spacing=spacing,
           direction=direction)


def _field_layout(img, transform) -> int:
    """The plan's layout flag of a one-field chain: 1 for float32 component planes."""
    from gpuresample.grids import grid_of
    from gpuresample.plan import make_plan

    plan = make_plan(grid_of(img), grid_of(img), [transform], "linear", np.float32,
                     np.float32, 1, 0.0)
    return int(plan.stage_i[0, 0, 7])


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("field_interpolator", ["linear", "nearest"])
@pytest.mark.parametrize("values", ["float64", "float32"])
def test_displacement_field_matches_sitk(backend, rng, dim, field_interpolator, values):
    """Fields of float64 values, and of values float32 holds exactly (as registration
    tools write fields), which the kernels read as float32 component planes."""
    geometry = random_geometry(rng, dim)
    img, simg = make_pair(random_values(rng, geometry[0][::-1], np.float32), geometry)
    # the field covers part of the image: points outside it are not displaced
    transform = gr.DisplacementFieldTransform(random_field(rng, dim, dtype=np.dtype(values)),
                                              interpolator=field_interpolator)
    assert _field_layout(img, transform) == (values == "float32")
    _check(backend, img, simg, transform)


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("values", ["float64", "float32"])
def test_displacement_field_edges_and_thin_axes(backend, rng, dim, values):
    """Fields one and two pixels wide along x (and one along z), on the image's own axes
    and over its whole extent or more: points in the half-pixel bands at both ends, whose
    upper corners clamp to the last pixel (the float32 planes read a word past it), and
    points exactly on a field pixel (one corner weighs 1, the rest are skipped)."""
    size = (9, 7, 5)[:dim]
    _, origin, spacing, _ = random_geometry(rng, dim)
    img, simg = make_pair(random_values(rng, size[::-1], np.float32),
                          (size, origin, spacing, np.eye(dim)))
    for nx in (1, 2):
        field_size = (nx, 4, 1)[:dim]
        array = rng.normal(scale=1.5, size=(*field_size[::-1], dim)).astype(values)
        field = gr.image_from_array(array, is_vector=True)
        # pixel centres at the image's ends along x (nx = 2) or its middle (nx = 1)
        extent = [(n - 1) * s for n, s in zip(size, spacing)]
        field.spacing = tuple(max(e / max(m - 1, 1), 0.1) for e, m in zip(extent, field_size))
        field.origin = tuple(o + (e / 2 if m == 1 else 0.0)
                             for o, e, m in zip(origin, extent, field_size))
        transform = gr.DisplacementFieldTransform(field)
        assert _field_layout(img, transform) == (values == "float32")
        _check(backend, img, simg, transform)


def test_field_float32_planes_are_computed_once_and_not_pickled(rng):
    import pickle

    exact = gr.DisplacementFieldTransform(random_field(rng, 3, dtype=np.float32))
    planes = exact._float32_planes()
    assert planes.dtype == np.float32 and planes.shape == (3, *exact.field.shape[:-1])
    np.testing.assert_array_equal(np.moveaxis(planes, 0, -1), exact.field)
    assert exact._float32_planes() is planes and not planes.flags.writeable
    again = pickle.loads(pickle.dumps(exact))
    assert "_planes" not in again.__dict__
    np.testing.assert_array_equal(again._float32_planes(), planes)
    inexact = gr.DisplacementFieldTransform(random_field(rng, 3))
    assert inexact._float32_planes() is None


@pytest.mark.parametrize("dim", [2, 3])
def test_chains_mixing_affine_and_deformable(backend, rng, dim):
    geometry = random_geometry(rng, dim)
    img, simg = make_pair(random_values(rng, geometry[0][::-1], np.float64), geometry)
    affine, _ = random_affine_transform(rng, dim)
    bspline = random_bspline(rng, img)
    field = gr.DisplacementFieldTransform(random_field(rng, dim, dtype=np.float32))
    scale = gr.ScaleTransform(rng.uniform(0.8, 1.2, size=dim), rng.normal(size=dim))
    for members in ([affine, bspline], [bspline, affine], [field, affine, bspline],
                    [scale, field], [gr.CompositeTransform([affine, bspline]), scale]):
        _check(backend, img, simg, gr.CompositeTransform(members))


def test_vector_images_and_output_types(backend, rng):
    geometry = random_geometry(rng, 3)
    values = random_values(rng, (*geometry[0][::-1], 2), np.uint8)
    img, simg = make_pair(values, geometry, is_vector=True)
    transform = random_bspline(rng, img)
    st = gr.to_sitk(transform)
    for interpolator in ("linear", "nearest"):
        out = gr.resample(img, transform, interpolator, 3.0, gr.PixelType.VECTOR_FLOAT32,
                          device=backend)
        ref = sitk.Resample(simg, st, SITK_INTERPOLATORS[interpolator], 3.0,
                            sitk.sitkVectorFloat32)
        assert_same(out, ref, interpolator)


def test_cpu_and_kernel_sources_agree_on_deformable_chains(rng):
    """cpu and cuda-host give the same bits in both precisions (fast mode too)."""
    geometry = random_geometry(rng, 3)
    img, _ = make_pair(random_values(rng, geometry[0][::-1], np.float32), geometry)
    affine = random_affine_transform(rng, 3)[0]
    chains = [gr.CompositeTransform([affine, random_bspline(rng, img)])]
    for values in (np.float64, np.float32):   # float64 vectors, float32 planes
        field = gr.DisplacementFieldTransform(random_field(rng, 3, dtype=values))
        chains.append(gr.CompositeTransform([field, affine]))
    for transform in chains:
        for precision in ("exact", "fast"):
            for interpolator in ("linear", "nearest"):
                a = gr.resample(img, transform, interpolator, device="cpu",
                                precision=precision)
                b = gr.resample(img, transform, interpolator, device="cuda-host",
                                precision=precision)
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_too_long_deformable_chain_is_refused(rng):
    img = gr.Image((5, 5), gr.PixelType.FLOAT32)
    field = gr.DisplacementFieldTransform(random_field(rng, 2))
    chain = gr.CompositeTransform([gr.TranslationTransform((1.0, 0.0))] * 8 + [field])
    with pytest.raises(ValueError, match="at most 8"):
        gr.resample(img, chain, device="cpu")


def test_bounding_grid_of_a_constant_field_is_the_translated_image(rng):
    img = gr.Image((12, 9, 7), gr.PixelType.FLOAT32)
    img.spacing, img.origin = (1.0, 1.5, 2.0), (3.0, -2.0, 1.0)
    shift = np.array([2.0, -3.0, 4.0])
    field = gr.image_from_array(np.tile(shift, (4, 4, 4, 1)), is_vector=True)
    field.origin, field.spacing = (-20.0, -20.0, -20.0), (20.0, 20.0, 20.0)
    sampled = gr.bounding_grid(img, gr.DisplacementFieldTransform(field))
    exact = gr.bounding_grid(img, gr.TranslationTransform(shift))
    assert sampled.size == exact.size
    np.testing.assert_allclose(sampled.origin, exact.origin, atol=1e-12)


@pytest.mark.parametrize("dim", [2, 3])
def test_bounding_grid_holds_the_deformed_image_and_no_more(rng, dim):
    geometry = random_geometry(rng, dim)
    img, _ = make_pair(np.ones(geometry[0][::-1], np.float32), geometry)
    transform = gr.CompositeTransform([random_affine_transform(rng, dim)[0],
                                       random_bspline(rng, img)])
    grid = gr.bounding_grid(img, transform, spacing=(1.0,) * dim, direction=np.eye(dim))
    # two voxels of margin: every sample outside the grid maps outside the image
    padded = gr.resample(img, transform, "nearest", 0.0, size=[n + 4 for n in grid.size],
                         origin=np.asarray(grid.origin) - 2.0, spacing=grid.spacing,
                         direction=grid.direction, device="cpu")
    inside = np.asarray(padded) > 0
    core = (slice(2, -2),) * dim
    assert inside.any() and inside[core].sum() == inside.sum()
    # and the grid is the smallest: each of its faces holds a sample inside the image
    kept = inside[core]
    for axis in range(dim):
        assert kept.take(0, axis=axis).any() and kept.take(-1, axis=axis).any()


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("shape", [(23, 19, 11), (151, 5, 3)])
def test_fast_separable_bspline_on_an_aligned_grid(rng, dim, shape):
    """precision="fast" evaluates a B-spline whose control grid is aligned with the output
    grid separably (y-z sums per row): cpu and cuda-host still give the same bits, and the
    result stays within the fast bound of SimpleITK's; rows of 151 take the cpu backend's
    chunks of 64 points, whose y-z sums come from the row's first point."""
    from gpuresample.grids import grid_of
    from gpuresample.plan import make_plan

    size, origin, spacing, _ = random_geometry(rng, dim, size=shape[:dim])
    img, simg = make_pair(random_values(rng, size[::-1], np.float32),
                          (size, origin, spacing, np.eye(dim)))
    transform = random_bspline(rng, img)
    plan = make_plan(grid_of(img), grid_of(img), [transform], "linear", np.float32,
                     np.float32, 1, 0.0, "fast")
    assert plan.stage_i[0, 0, 7] == 1
    exact_plan = make_plan(grid_of(img), grid_of(img), [transform], "linear", np.float32,
                           np.float32, 1, 0.0, "exact")
    assert exact_plan.stage_i[0, 0, 7] == 0
    ref = sitk.GetArrayFromImage(sitk.Resample(simg, gr.to_sitk(transform)))
    values = np.asarray(img)
    bound = 2.0 ** -23 * max(img.size) * float(values.max() - values.min()) \
        + 1e-6 * float(np.abs(values).max())
    fast = {}
    for backend in ("cpu", "cuda-host"):
        fast[backend] = np.asarray(gr.resample(img, transform, device=backend,
                                               precision="fast"))
        assert np.max(np.abs(fast[backend].astype(np.float64) - ref)) <= bound
    np.testing.assert_array_equal(fast["cpu"], fast["cuda-host"])
