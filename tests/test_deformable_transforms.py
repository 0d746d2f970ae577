"""BSplineTransform, DisplacementFieldTransform and invert_displacement_field against
SimpleITK 2.5.7, bit for bit (TransformPoint, fixed parameters, the initializer, the
inverse field), plus composites mixing them with the affine family, and bad inputs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import SimpleITK as sitk

import gpuresample as gr
from gpuresample.transforms import (AffineTransform, BSplineTransform, CompositeTransform,
                                    DisplacementFieldTransform, Euler2DTransform,
                                    Euler3DTransform, TranslationTransform,
                                    bspline_displacement, field_displacement,
                                    invert_displacement_field, transform_from_parameters,
                                    transform_from_sitk, transform_to_sitk)


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------

def _direction(rng, d):
    """A random orthonormal matrix, reflections as often as rotations."""
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))[None, :]


def _random_bspline(rng, d, order, oblique=True):
    grid = tuple(int(g) for g in rng.integers(order + 2, order + 6, size=d))
    coef = rng.normal(scale=2.0, size=(d,) + grid[::-1])
    if oblique:
        origin, spacing = rng.normal(scale=4.0, size=d), rng.uniform(0.4, 2.5, size=d)
        direction = _direction(rng, d)
    else:
        origin, spacing, direction = np.zeros(d), np.ones(d), np.eye(d)
    return BSplineTransform(coef, origin, spacing, direction, order)


def _sitk_bspline(t):
    out = sitk.BSplineTransform(t.dimension, t.order)
    out.SetFixedParameters(t.fixed_parameters)
    out.SetParameters(t.parameters)
    return out


def _points_around(rng, size, origin, spacing, direction, n=250, margin=1.0):
    """Random points over the grid's continuous-index box widened by ``margin``."""
    d = len(size)
    cidx = rng.uniform(-margin, np.asarray(size) - 1 + margin, size=(n, d))
    A = np.asarray(direction) * np.asarray(spacing)[None, :]
    return np.asarray(origin)[None, :] + cidx @ A.T


def _assert_same_as_sitk(t, st, points):
    ours = t.transform_points(points)
    ref = np.array([st.TransformPoint(tuple(float(v) for v in p)) for p in points])
    bad = np.flatnonzero(np.any(ours != ref, axis=1))
    assert bad.size == 0, (f"{bad.size} of {len(points)} points differ, e.g. "
                           f"{points[bad[0]].tolist()}: {ours[bad[0]].tolist()} vs "
                           f"{ref[bad[0]].tolist()}")
    return ours


def _ulps(x, k):
    for _ in range(abs(k)):
        x = math.nextafter(x, math.inf if k > 0 else -math.inf)
    return x


def _field_image(rng, d, size=None, dtype=np.float64, oblique=True, scale=2.0):
    if size is None:
        size = tuple(int(n) for n in rng.integers(2, 8, size=d))
    arr = (rng.normal(scale=scale, size=size[::-1] + (d,))).astype(dtype)
    img = gr.image_from_array(arr, is_vector=True)
    if oblique:
        img.origin = rng.normal(scale=4.0, size=d)
        img.spacing = rng.uniform(0.4, 2.5, size=d)
        img.direction = _direction(rng, d)
    return img


def _sitk_field(img):
    s = sitk.GetImageFromArray(np.asarray(img).astype(np.float64), isVector=True)
    s.SetOrigin(img.origin)
    s.SetSpacing(img.spacing)
    s.SetDirection(img.direction.reshape(-1).tolist())
    return s


def _smooth_field(rng, size, spacing, amplitude, window=True):
    """A smooth random field (voxel-scaled amplitude), zero on the border with ``window``."""
    d = len(size)
    axes = np.meshgrid(*[np.linspace(0.0, 1.0, n) for n in size[::-1]], indexing="ij")
    win = np.prod([np.sin(np.pi * a) for a in axes], axis=0) ** 2 if window else 1.0
    out = np.zeros(size[::-1] + (d,))
    for j in range(d):
        k, phase = rng.uniform(0.5, 2.0, size=d), rng.uniform(0, 2 * np.pi)
        out[..., j] = amplitude * spacing[j] * win * np.sin(
            sum(k[i] * axes[i] * np.pi for i in range(d)) + phase)
    return out


# ---------------------------------------------------------------------------------------
# BSplineTransform: points
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_bspline_points_match_sitk(rng, d, order):
    for trial in range(3):
        t = _random_bspline(rng, d, order)
        pts = _points_around(rng, t.grid_size, t.grid_origin, t.grid_spacing,
                             t.grid_direction, n=150 if d == 3 else 250, margin=0.5)
        ours = _assert_same_as_sitk(t, _sitk_bspline(t), pts)
        moved = np.any(ours != pts, axis=1).mean()
        if order == 0:
            assert moved == 0     # SimpleITK's order 0: identity (unsigned order - 1)
        else:
            assert moved > 0.05


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_bspline_domain_edges_and_nudge(rng, d, order):
    """On a unit grid the continuous index is the point itself: probe the valid-region
    limits ulp by ulp, including ITK's 4-ULP nudge (which also takes points just ABOVE
    the upper limit inside)."""
    t = _random_bspline(rng, d, order, oblique=False)
    half = 0.5 * (order - 1)
    pts, expect = [], []
    for j in range(d):
        upper = (t.grid_size[j] - half) - 1.0
        for k in range(-8, 9):
            p = rng.uniform(half, np.asarray(t.grid_size) - half - 1.0)
            p[j] = _ulps(upper, k)
            pts.append(p.copy())
            expect.append(k <= 4)
        for k in (-2, -1, 0, 1, 2):
            p = rng.uniform(half, np.asarray(t.grid_size) - half - 1.0)
            p[j] = _ulps(half, k)
            pts.append(p.copy())
            expect.append(k >= 0)
        # just below a power of two, c + 0.5 rounds up: ITK's start index is one more
        # than floor(c - (order - 1)/2)
        for c in (math.nextafter(2.0, 0.0), math.nextafter(4.0, 0.0)):
            if half <= c < upper:
                p = rng.uniform(half, np.asarray(t.grid_size) - half - 1.0)
                p[j] = c
                pts.append(p.copy())
                expect.append(True)
    pts = np.array(pts)
    ours = _assert_same_as_sitk(t, _sitk_bspline(t), pts)
    disp, inside = bspline_displacement(pts, t.coefficients, t.grid_origin, t.grid_spacing,
                                        t.grid_direction, t.order)
    assert inside.tolist() == expect
    assert np.array_equal(ours[~inside], pts[~inside])


def test_bspline_special_points(rng):
    t = _random_bspline(rng, 3, 3)
    pts = np.array([[np.inf, 0.0, 0.0], [-np.inf, 1.0, 2.0], [1e300, 0.0, 0.0],
                    [np.nan, 0.0, 0.0]])
    out = t.transform_points(pts)
    # outside: unchanged (SimpleITK raises for NaN; gpuresample returns the point)
    assert np.array_equal(out[:3], pts[:3]) and np.isnan(out[3, 0])
    st = _sitk_bspline(t)
    for p, o in zip(pts[:3], out[:3]):
        assert st.TransformPoint(tuple(p)) == tuple(o)


def test_bspline_documented_example():
    c = np.zeros((2, 5, 6))
    c[1, 2, 2] = 3.0
    t = BSplineTransform(c, (-1.0, -1.0), (1.0, 1.0))
    # at the control point itself the cubic weights are (2/3)·(2/3)
    assert t.transform_point((1.0, 1.0)) == _sitk_bspline(t).TransformPoint((1.0, 1.0))
    assert abs(t.transform_point((1.0, 1.0))[1] - (1.0 + 3.0 * 4.0 / 9.0)) < 1e-15


# ---------------------------------------------------------------------------------------
# BSplineTransform: grid, parameters, construction
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [2, 3])
def test_bspline_parameters_and_round_trip(rng, d):
    for order in range(4):
        t = _random_bspline(rng, d, order)
        st = _sitk_bspline(t)
        assert st.GetFixedParameters() == t.fixed_parameters
        assert st.GetParameters() == t.parameters
        assert st.GetTransformDomainMeshSize() == t.mesh_size
        assert t.coefficients.shape == (d,) + t.grid_size[::-1]
        if order:
            assert st.GetTransformDomainOrigin() == t.domain_origin
            assert st.GetTransformDomainPhysicalDimensions() == t.domain_physical_dimensions
        back = transform_from_sitk(st)
        assert isinstance(back, BSplineTransform) and back.order == order
        assert back.fixed_parameters == t.fixed_parameters
        assert np.array_equal(back.coefficients, t.coefficients)
        assert transform_to_sitk(back).GetParameters() == st.GetParameters()
        # coefficient images of SimpleITK: component j, numpy order
        for j, ci in enumerate(st.GetCoefficientImages()):
            assert np.array_equal(sitk.GetArrayFromImage(ci), t.coefficients[j])


@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_bspline_tfm_names_carry_the_order(rng, tmp_path, order):
    """ITK writes order 3 as ``BSplineTransform_double_D_D`` and appends ``_<order>``
    otherwise (``BSplineTransform_double_2_2_2``)."""
    t = _random_bspline(rng, 2, order)
    path = str(tmp_path / "b.tfm")
    sitk.WriteTransform(_sitk_bspline(t), path)
    lines = open(path).read().splitlines()
    name = next(x.split(": ", 1)[1] for x in lines if x.startswith("Transform:"))
    assert name == ("BSplineTransform_double_2_2" if order == 3
                    else f"BSplineTransform_double_2_2_{order}")
    params = next(x for x in lines if x.startswith("Parameters:")).split()[1:]
    fixed = next(x for x in lines if x.startswith("FixedParameters:")).split()[1:]
    back = transform_from_parameters(name, [float(v) for v in params],
                                     [float(v) for v in fixed])
    assert isinstance(back, BSplineTransform) and back.order == order
    pts = _points_around(rng, t.grid_size, t.grid_origin, t.grid_spacing, t.grid_direction)
    _assert_same_as_sitk(back, sitk.ReadTransform(path), pts)
    if min(t.grid_size) >= 4:      # an order-3 reading needs a 4-point grid
        plain = transform_from_parameters("BSplineTransform", t.parameters,
                                          t.fixed_parameters)
        assert plain.order == 3
    assert BSplineTransform.from_parameters(t.parameters, t.fixed_parameters,
                                            order=order).fixed_parameters == t.fixed_parameters


@pytest.mark.parametrize("d", [2, 3])
def test_bspline_from_domain_matches_sitk_setters(rng, d):
    for order in range(4):
        origin = tuple(rng.normal(scale=10.0, size=d).tolist())
        dims = tuple(rng.uniform(1.0, 60.0, size=d).tolist())
        direction = _direction(rng, d)
        mesh = tuple(int(m) for m in rng.integers(1, 7, size=d))
        st = sitk.BSplineTransform(d, order)
        st.SetTransformDomainOrigin(origin)
        st.SetTransformDomainPhysicalDimensions(dims)
        st.SetTransformDomainDirection(direction.reshape(-1).tolist())
        st.SetTransformDomainMeshSize(mesh)
        t = BSplineTransform.from_domain(origin, dims, mesh, direction, order)
        assert t.fixed_parameters == st.GetFixedParameters()
        assert t.mesh_size == mesh and not np.any(t.coefficients)
    assert BSplineTransform.from_domain((0.0, 0.0), (1.0, 1.0), (1, 1)).fixed_parameters == \
        sitk.BSplineTransform(2).GetFixedParameters()


def test_bspline_from_image_matches_initializer(rng):
    """BSplineTransformInitializer on oblique, reflected, permuted, 45°-tied and
    non-orthogonal images (its corners are float32 inside ITK)."""
    for trial in range(48):
        d = 2 + trial % 2
        size = tuple(int(n) for n in rng.integers(1, 25, size=d))
        kind = trial % 4
        if kind == 0:
            direction = _direction(rng, d)
        elif kind == 1:
            direction = np.eye(d)[:, rng.permutation(d)] * rng.choice([-1.0, 1.0], size=d)
        elif kind == 2:
            a = np.deg2rad(rng.choice([45, 90, 120, 135, 180, -45, -135, 30]))
            direction = np.eye(d)
            direction[:2, :2] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
        else:
            direction = _direction(rng, d) + rng.normal(scale=0.2, size=(d, d))
        img = gr.Image(size, gr.PixelType.FLOAT32)
        img.origin = rng.normal(scale=10.0, size=d)
        img.spacing = rng.uniform(0.2, 3.0, size=d)
        img.direction = direction
        simg = sitk.Image(size, sitk.sitkFloat32)
        simg.SetOrigin(img.origin)
        simg.SetSpacing(img.spacing)
        simg.SetDirection(img.direction.reshape(-1).tolist())
        mesh = tuple(int(m) for m in rng.integers(1, 6, size=d))
        order = int(rng.integers(0, 4))
        st = sitk.BSplineTransformInitializer(simg, mesh, order)
        t = BSplineTransform.from_image(img, mesh, order)
        assert t.fixed_parameters == st.GetFixedParameters(), (trial, kind)
        assert t.order == st.GetOrder()
    # the documented axis-aligned example (SEMANTICS §4.3)
    img = gr.Image((10, 8))
    img.spacing, img.origin = (2.0, 3.0), (5.0, -4.0)
    t = BSplineTransform.from_image(img, (4, 2))
    assert t.grid_size == (7, 5) and t.grid_origin == (-1.375, -18.25)
    assert t.grid_spacing == (5.125, 12.375) and len(t.parameters) == 70


def test_bspline_properties_and_inputs_untouched(rng):
    coef = rng.normal(size=(2, 5, 6))
    keep = coef.copy()
    direction = np.array([[0.0, -1.0], [1.0, 0.0]])
    t = BSplineTransform(coef, [1.0, 2.0], [0.5, 2.0], direction, order=2)
    coef[:] = 0.0
    direction[:] = 7.0
    assert np.array_equal(t.coefficients, keep)
    assert not t.coefficients.flags.writeable and not t.grid_direction.flags.writeable
    with pytest.raises(ValueError):
        t.coefficients[0, 0, 0] = 1.0
    assert t.grid_size == (6, 5) and t.mesh_size == (4, 3) and t.order == 2
    assert t.grid_origin == (1.0, 2.0) and t.grid_spacing == (0.5, 2.0)
    assert np.array_equal(t.grid_direction, [[0.0, -1.0], [1.0, 0.0]])
    assert t.dimension == 2 and not t.is_linear
    assert t.itk_class_name == "BSplineTransform"
    pts = rng.normal(size=(20, 2))
    before = pts.copy()
    t.transform_points(pts)
    assert np.array_equal(pts, before)
    with pytest.raises(ValueError, match="no inverse"):
        t.inverse()
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        t.transform_points(np.zeros((4, 3)))
    assert "BSplineTransform(grid_size=(6, 5)" in repr(t)


def test_bspline_bad_inputs(rng):
    ok = dict(grid_origin=(0.0, 0.0), grid_spacing=(1.0, 1.0))
    with pytest.raises(ValueError, match="shape"):
        BSplineTransform(np.zeros((3, 5, 6)), **ok)          # 3 components for a 2-D grid
    with pytest.raises(ValueError, match="shape"):
        BSplineTransform(np.zeros((2, 6)), **ok)
    with pytest.raises(ValueError, match="shape"):
        BSplineTransform(np.zeros((2, 4, 5, 6)), (0.0,) * 3, (1.0,) * 3)
    with pytest.raises(ValueError, match="at least 4 control points"):
        BSplineTransform(np.zeros((2, 3, 6)), **ok)
    with pytest.raises(ValueError, match="finite"):
        BSplineTransform(np.full((2, 5, 6), np.nan), **ok)
    with pytest.raises(TypeError, match="real array"):
        BSplineTransform(np.zeros((2, 5, 6), complex), **ok)
    with pytest.raises(TypeError, match="real array"):
        BSplineTransform("coefficients", **ok)
    with pytest.raises(ValueError, match="singular"):
        BSplineTransform(np.zeros((2, 5, 6)), (0.0, 0.0), (1.0, 1.0), [[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(ValueError, match="spacing must be positive"):
        BSplineTransform(np.zeros((2, 5, 6)), (0.0, 0.0), (1.0, 0.0))
    with pytest.raises(ValueError, match="grid_origin must be finite"):
        BSplineTransform(np.zeros((2, 5, 6)), (0.0, np.inf), (1.0, 1.0))
    with pytest.raises(ValueError, match="grid_spacing must have 2 values"):
        BSplineTransform(np.zeros((2, 5, 6)), (0.0, 0.0), (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="order must be 0, 1, 2 or 3"):
        BSplineTransform(np.zeros((2, 6, 6)), order=4, **ok)
    with pytest.raises(TypeError, match="order must be an integer"):
        BSplineTransform(np.zeros((2, 6, 6)), order=True, **ok)
    with pytest.raises(ValueError, match="mesh_size must be at least 1"):
        BSplineTransform.from_domain((0.0, 0.0), (1.0, 1.0), (0, 2))
    with pytest.raises(ValueError, match="physical_dimensions must be positive"):
        BSplineTransform.from_domain((0.0, 0.0), (1.0, -1.0), (2, 2))
    with pytest.raises(TypeError, match="gpuresample Image"):
        BSplineTransform.from_image(np.zeros((4, 4)), (2, 2))
    with pytest.raises(ValueError, match="mesh_size must have 2 values"):
        BSplineTransform.from_image(gr.Image((4, 4)), (2, 2, 2))
    t = _random_bspline(rng, 2, 3)
    with pytest.raises(ValueError, match="10 \\(2-D\\) or 18 \\(3-D\\) fixed parameters"):
        BSplineTransform.from_parameters(t.parameters, t.fixed_parameters[:-1])
    with pytest.raises(ValueError, match="takes .* parameters, got"):
        BSplineTransform.from_parameters(t.parameters[:-1], t.fixed_parameters)
    with pytest.raises(ValueError, match="18 fixed parameters"):
        BSplineTransform.from_parameters(t.parameters, t.fixed_parameters, dimension=3)
    with pytest.raises(TypeError, match="grid size .* integers"):
        BSplineTransform.from_parameters(t.parameters, (4.5,) + t.fixed_parameters[1:])


# ---------------------------------------------------------------------------------------
# DisplacementFieldTransform
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("interpolator", ["linear", "nearest"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_field_points_match_sitk(rng, d, interpolator, dtype):
    for trial in range(3):
        img = _field_image(rng, d, dtype=dtype, oblique=trial > 0)
        t = DisplacementFieldTransform(img, interpolator)
        st = sitk.DisplacementFieldTransform(_sitk_field(img))
        if interpolator == "nearest":
            st.SetInterpolator(sitk.sitkNearestNeighbor)
        pts = _points_around(rng, img.size, img.origin, img.spacing, img.direction,
                             n=200, margin=1.0)
        if trial == 0:     # identity grid: exact edges, half and whole indices
            size = np.asarray(img.size, dtype=float)
            edges = [np.full(d, -0.5), np.full(d, np.nextafter(-0.5, -1.0)),
                     size - 0.5, np.nextafter(size - 0.5, 0.0), size - 1.0]
            pts = np.vstack([pts, rng.integers(-2, 2 * img.size[0] + 2, size=(150, d)) * 0.5,
                             np.array(edges)])
        ours = _assert_same_as_sitk(t, st, pts)
        assert np.any(ours != pts)


def test_field_documented_values():
    """SEMANTICS §4.4's example: field 4x3, spacing (2, 1), origin (10, 0)."""
    arr = np.zeros((3, 4, 2))
    arr[..., 0] = np.arange(12).reshape(3, 4)
    arr[..., 1] = 100 + np.arange(12).reshape(3, 4) * 2
    img = gr.image_from_array(arr, is_vector=True)
    img.spacing, img.origin = (2.0, 1.0), (10.0, 0.0)
    t = DisplacementFieldTransform(img)
    assert t.transform_point((11.0, 0.0)) == (11.5, 101.0)
    assert t.transform_point((9.0, 0.0)) == (9.0, 100.0)
    assert t.transform_point((8.9, 0.0)) == (8.9, 0.0)
    assert t.transform_point((17.0, 2.0)) == (17.0, 2.0)


def test_field_linear_stops_at_total_weight_one(rng):
    """ITK stops summing corners once the weights add up to exactly 1.0: at a point on a
    grid line the upper corners are never read (zero weights skipped)."""
    img = _field_image(rng, 2, size=(5, 4), oblique=False)
    t = DisplacementFieldTransform(img)
    arr = np.asarray(img)
    assert t.transform_point((2.0, 1.0)) == (2.0 + arr[1, 2, 0], 1.0 + arr[1, 2, 1])
    pts = np.array([[2.0, 1.25], [2.5, 1.0], [3.999999, 2.5], [-0.5, -0.5], [4.4999, 3.4999]])
    disp, inside = field_displacement(pts, t.field, t.field_origin, t.field_spacing,
                                      t.field_direction, "linear")
    assert inside.all()
    _assert_same_as_sitk(t, sitk.DisplacementFieldTransform(_sitk_field(img)), pts)
    # weight 1 - 1e-20 rounds to 1.0: the corner of weight 1e-20 is never added
    arr = np.zeros((2, 3, 2))
    arr[0, 0] = 1e-10
    arr[0, 1] = 1e10
    tiny = DisplacementFieldTransform(gr.image_from_array(arr, is_vector=True))
    assert tiny.transform_point((1e-20, 0.0)) == (1e-20 + 1e-10, 1e-10)
    pts = np.array([[1e-20, 0.0], [-1e-20, 0.0], [1e-20, 1e-20], [1.0 - 1e-17, 0.5]])
    _assert_same_as_sitk(tiny, sitk.DisplacementFieldTransform(_sitk_field(
        gr.image_from_array(arr, is_vector=True))), pts)


@pytest.mark.parametrize("d", [2, 3])
def test_field_parameters_and_round_trip(rng, d):
    img = _field_image(rng, d)
    inverse = _field_image(rng, d, size=img.size)
    inverse.origin, inverse.spacing, inverse.direction = img.origin, img.spacing, img.direction
    t = DisplacementFieldTransform(img, inverse_field=inverse)
    st = sitk.DisplacementFieldTransform(_sitk_field(img))
    assert st.GetFixedParameters() == t.fixed_parameters
    assert st.GetParameters() == t.parameters
    assert t.field.shape == img.size[::-1] + (d,) and t.field_size == img.size
    assert t.field_origin == img.origin and t.field_spacing == img.spacing
    assert np.array_equal(t.field_direction, img.direction)
    pts = _points_around(rng, img.size, img.origin, img.spacing, img.direction, n=100)
    for interpolator in ("linear", "nearest"):
        t = DisplacementFieldTransform(img, interpolator,
                                       inverse if interpolator == "linear" else None)
        s = transform_to_sitk(t)
        _assert_same_as_sitk(t, s, pts)
        back = transform_from_sitk(s)
        assert back.interpolator == interpolator
        assert np.array_equal(back.field, t.field) and back.fixed_parameters == t.fixed_parameters
        assert (back.inverse_field is None) == (t.inverse_field is None)
        if t.inverse_field is not None:
            assert np.array_equal(back.inverse_field, t.inverse_field)
            _assert_same_as_sitk(t.inverse(), s.GetInverse(), pts)
    back = transform_from_parameters(f"DisplacementFieldTransform_double_{d}_{d}",
                                     t.parameters, t.fixed_parameters)
    assert isinstance(back, DisplacementFieldTransform) and np.array_equal(back.field, t.field)
    # SimpleITK swaps the fields of a transform with an interpolator set and an inverse
    nearest = DisplacementFieldTransform(img, "nearest", inverse)
    with pytest.warns(UserWarning, match="swaps the forward and inverse fields"):
        s = transform_to_sitk(nearest)
    _assert_same_as_sitk(nearest, s, pts)


def test_field_inverse_and_inputs_untouched(rng):
    img = _field_image(rng, 2, size=(6, 5))
    arr = np.asarray(img).copy()
    t = DisplacementFieldTransform(img)
    np.asarray(img)[...] = 0.0            # later edits of the image do not reach t
    assert np.array_equal(t.field, arr) and not t.field.flags.writeable
    img2 = _field_image(rng, 2, size=(6, 5))
    keep = np.asarray(img2).copy()
    with pytest.raises(ValueError, match="invert_displacement_field"):
        t.inverse()
    inv, _ = invert_displacement_field(img2)
    assert np.array_equal(np.asarray(img2), keep)          # not consumed, not modified
    inv.origin, inv.spacing, inv.direction = img2.origin, img2.spacing, img2.direction
    t2 = DisplacementFieldTransform(img2, inverse_field=inv)
    assert np.array_equal(t2.inverse().field, np.asarray(inv))
    assert np.array_equal(t2.inverse().inverse_field, keep)
    assert t2.inverse().inverse().transform_point((1.0, 1.0)) == t2.transform_point((1.0, 1.0))
    assert not t2.is_linear and t2.dimension == 2
    assert t2.field_image().pixel_type == gr.PixelType.VECTOR_FLOAT64
    assert np.array_equal(np.asarray(t2.inverse_field_image()), np.asarray(inv))
    f32 = gr.image_from_array(keep.astype(np.float32), is_vector=True)
    assert DisplacementFieldTransform(f32).field.dtype == np.float64


def test_field_bad_inputs(rng):
    with pytest.raises(TypeError, match="gpuresample Image"):
        DisplacementFieldTransform(np.zeros((4, 4, 2)))
    with pytest.raises(TypeError, match="VECTOR_FLOAT64 or VECTOR_FLOAT32"):
        DisplacementFieldTransform(gr.Image((4, 4), gr.PixelType.FLOAT64))
    with pytest.raises(TypeError, match="VECTOR_FLOAT64 or VECTOR_FLOAT32"):
        DisplacementFieldTransform(gr.Image((4, 4), gr.PixelType.VECTOR_INT16))
    with pytest.raises(ValueError, match="need 2 components, got 3"):
        DisplacementFieldTransform(gr.Image((4, 4), gr.PixelType.VECTOR_FLOAT64, 3))
    with pytest.raises(ValueError, match="2-D or 3-D"):
        DisplacementFieldTransform(gr.Image((4, 4, 4, 4), gr.PixelType.VECTOR_FLOAT64))
    bad = np.zeros((4, 4, 2))
    bad[1, 1, 0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        DisplacementFieldTransform(gr.image_from_array(bad, is_vector=True))
    img = _field_image(rng, 2, size=(5, 4))
    other = _field_image(rng, 2, size=(5, 4))
    with pytest.raises(ValueError, match="inverse_field must lie on the field's grid"):
        DisplacementFieldTransform(img, inverse_field=other)
    with pytest.raises(ValueError, match="'linear' or 'nearest'"):
        DisplacementFieldTransform(img, "bspline")
    with pytest.raises(ValueError, match="fixed parameters"):
        DisplacementFieldTransform.from_parameters((0.0,) * 8, (2.0, 2.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="takes 8 parameters, got 7"):
        DisplacementFieldTransform.from_parameters(
            (0.0,) * 7, (2.0, 2.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="singular"):
        DisplacementFieldTransform.from_parameters(
            (0.0,) * 8, (2.0, 2.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0))
    with pytest.raises(TypeError, match="max_iterations must be an integer"):
        invert_displacement_field(img, max_iterations=2.5)
    with pytest.raises(ValueError, match="max_error_tolerance must be finite"):
        invert_displacement_field(img, max_error_tolerance=np.nan)
    with pytest.raises(TypeError, match="gpuresample Image"):
        invert_displacement_field(sitk.Image([4, 4], sitk.sitkVectorFloat64))


# ---------------------------------------------------------------------------------------
# invert_displacement_field (ITK's InvertDisplacementFieldImageFilter)
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("settings", [
    {}, {"max_iterations": 25, "max_error_tolerance": 0.01, "mean_error_tolerance": 1e-5},
    {"enforce_boundary_condition": False}])
def test_inverse_field_matches_sitk(rng, d, settings):
    size = tuple(int(n) for n in rng.integers(20, 40, size=d)) if d == 2 else \
        tuple(int(n) for n in rng.integers(8, 14, size=d))
    spacing = rng.uniform(0.5, 2.0, size=d)
    arr = _smooth_field(rng, size, spacing, amplitude=rng.uniform(0.5, 3.0),
                        window=bool(rng.integers(0, 2)))
    img = gr.image_from_array(arr, is_vector=True)
    img.origin, img.spacing, img.direction = rng.normal(size=d), spacing, _direction(rng, d)
    f = sitk.InvertDisplacementFieldImageFilter()
    f.SetMaximumNumberOfIterations(settings.get("max_iterations", 10))
    f.SetMaxErrorToleranceThreshold(settings.get("max_error_tolerance", 0.1))
    f.SetMeanErrorToleranceThreshold(settings.get("mean_error_tolerance", 0.001))
    f.SetEnforceBoundaryCondition(settings.get("enforce_boundary_condition", True))
    ref = f.Execute(_sitk_field(img))
    inv, info = invert_displacement_field(img, **settings)
    assert inv.size == img.size and inv.origin == img.origin and inv.spacing == img.spacing
    assert np.array_equal(inv.direction, img.direction)
    assert inv.pixel_type == gr.PixelType.VECTOR_FLOAT64
    assert np.array_equal(np.asarray(inv), sitk.GetArrayFromImage(ref))      # bit for bit
    assert info.max_error == f.GetMaxErrorNorm()
    # ITK sums the mean per thread: equal up to the summation order
    assert abs(info.mean_error - f.GetMeanErrorNorm()) <= 1e-12 * f.GetMeanErrorNorm()
    assert sitk.GetArrayFromImage(sitk.InvertDisplacementField(_sitk_field(img))).shape == \
        np.asarray(inv).shape


@pytest.mark.parametrize("size", [(40, 32), (20, 18, 16)])
def test_inverse_field_composes_to_identity(rng, size):
    d = len(size)
    spacing = np.array([1.0, 1.5, 0.8][:d])
    img = gr.image_from_array(_smooth_field(rng, size, spacing, amplitude=1.2),
                              is_vector=True)
    img.spacing, img.origin = spacing, rng.normal(size=d)
    inv, info = invert_displacement_field(img, max_iterations=50, max_error_tolerance=0.01,
                                          mean_error_tolerance=1e-5)
    assert info.converged and info.iterations < 50
    assert info.residual_max < 0.02 and info.residual_mean < 1e-4
    assert info.max_error <= 0.01 or info.mean_error <= 1e-5
    t = DisplacementFieldTransform(img, inverse_field=inv)
    index = np.argwhere(np.ones(size[::-1], dtype=bool))[:, ::-1]
    pts = img.transform_index_to_physical_point(index)
    back = t.transform_points(t.inverse().transform_points(pts))
    err = np.sqrt((((back - pts) / spacing) ** 2).sum(axis=1))
    assert err.max() <= info.residual_max * (1 + 1e-12)
    # off the grid points the composition is still close (linear interpolation error)
    mid = pts[:200] + 0.37 * spacing
    back = t.transform_points(t.inverse().transform_points(mid))
    assert np.abs((back - mid) / spacing).max() < 0.1


# ---------------------------------------------------------------------------------------
# composites mixing the kinds
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [2, 3])
def test_mixed_composite_matches_sitk(rng, d):
    b = _random_bspline(rng, d, int(rng.integers(1, 4)))
    img = _field_image(rng, d, size=(7,) * d)
    img.origin, img.spacing = (-4.0,) * d, (1.5,) * d
    field = DisplacementFieldTransform(img)
    affine = AffineTransform(np.eye(d) + rng.normal(scale=0.1, size=(d, d)),
                             rng.normal(size=d), rng.normal(size=d))
    rigid = Euler2DTransform((1.0, 0.5), 0.3, (0.2, -0.1)) if d == 2 else \
        Euler3DTransform((1.0, 0.5, 0.0), (0.1, 0.2, 0.3), (0.2, -0.1, 0.4))
    c = CompositeTransform([affine, b, rigid, field, TranslationTransform(rng.normal(size=d))])
    assert not c.is_linear
    assert CompositeTransform([affine, rigid]).is_linear
    with pytest.raises(ValueError, match="non-linear member"):
        c.affine()
    sc = transform_to_sitk(c)
    assert not sc.IsLinear()
    pts = np.vstack([_points_around(rng, b.grid_size, b.grid_origin, b.grid_spacing,
                                    b.grid_direction, n=150),
                     _points_around(rng, img.size, img.origin, img.spacing, img.direction,
                                    n=150)])
    ours = _assert_same_as_sitk(c, sc, pts)
    assert np.all(np.any(ours != pts, axis=1))
    back = transform_from_sitk(sc)
    assert [type(t) for t in back.transforms] == [type(t) for t in c.transforms]
    assert np.array_equal(back.transform_points(pts), ours)
    nested = CompositeTransform([CompositeTransform([affine, b]), field])
    _assert_same_as_sitk(nested, transform_to_sitk(nested), pts[:50])
    with pytest.raises(ValueError, match="no inverse"):
        CompositeTransform([affine, b]).inverse()


def test_composite_keeps_only_the_field_as_sitk(rng):
    """SimpleITK's CompositeTransform stores a clone of a displacement field transform
    that is interpolated linearly and has no inverse field."""
    img = _field_image(rng, 2, size=(6, 5), oblique=False)
    nearest = DisplacementFieldTransform(img, "nearest")
    linear = DisplacementFieldTransform(img)
    with pytest.warns(UserWarning, match="nearest-neighbour interpolator"):
        c = CompositeTransform([nearest])
    pts = _points_around(rng, img.size, img.origin, img.spacing, img.direction, n=100)
    assert np.array_equal(c.transform_points(pts), linear.transform_points(pts))
    assert not np.array_equal(nearest.transform_points(pts), linear.transform_points(pts))
    s = sitk.DisplacementFieldTransform(_sitk_field(img))
    s.SetInterpolator(sitk.sitkNearestNeighbor)
    _assert_same_as_sitk(c, sitk.CompositeTransform([s]), pts)
    inv, _ = invert_displacement_field(img)
    with pytest.warns(UserWarning, match="inverse field"):
        c = CompositeTransform([DisplacementFieldTransform(img, inverse_field=inv)])
    with pytest.raises(ValueError, match="invert_displacement_field"):
        c.inverse()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CompositeTransform([linear, _random_bspline(rng, 2, 3)])   # nothing dropped: silent


def test_pickle_keeps_transforms_read_only(rng):
    import pickle

    b = _random_bspline(rng, 3, 2)
    field = DisplacementFieldTransform(_field_image(rng, 2), "nearest")
    for t in (b, field):
        back = pickle.loads(pickle.dumps(t))
        assert back.fixed_parameters == t.fixed_parameters
        assert back.parameters == t.parameters
        arrays = [back.coefficients] if t is b else [back.field]
        assert not any(a.flags.writeable for a in arrays)
    assert pickle.loads(pickle.dumps(field)).interpolator == "nearest"
    grid = gr.Grid((10, 8), origin=(5.0, -4.0), spacing=(2.0, 3.0))
    assert BSplineTransform.from_image(grid, (4, 2)).grid_origin == (-1.375, -18.25)
