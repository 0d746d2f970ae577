"""Transforms against SimpleITK 2.5.7 as the oracle: bit-identical points, matrices and
parameters, exact SimpleITK round trips, inverses, composites and input validation."""

from __future__ import annotations

import math
import sys
import types
import zlib

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings, strategies as st

from gpuresample.transforms import (
    AffineTransform, CompositeTransform, Euler2DTransform, Euler3DTransform,
    IdentityTransform, MatrixOffsetTransform, ScaleTransform, Similarity2DTransform,
    Similarity3DTransform, Transform, TranslationTransform, VersorRigid3DTransform,
    VersorTransform, transform_from_parameters, transform_from_sitk, transform_to_sitk)

TRIALS = 80
N_POINTS = 50
SPECIAL_ANGLES = (0.0, math.pi / 2, -math.pi / 2, math.pi, -math.pi, 1e-300)
SPECIAL_VERSORS = ((0.0, 0.0, 0.0, 1.0), (1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0),
                   (0.0, 0.0, 1.0, 0.0), (0.0, 0.0, 0.3, -0.7), (1e-9, 0.0, 0.0, 1.0))


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng([20240611, zlib.crc32(name.encode())])


def _points(rng: np.random.Generator, d: int) -> np.ndarray:
    pts = rng.uniform(-300.0, 300.0, size=(N_POINTS, d))
    pts[0] = 0.0
    pts[1] = rng.uniform(-1e6, 1e6, size=d)
    pts[2] = rng.uniform(-1e-3, 1e-3, size=d)
    return pts


def _sitk_points(st_transform, points: np.ndarray) -> np.ndarray:
    return np.array([st_transform.TransformPoint(p) for p in points.tolist()], dtype=np.float64)


def _vec(rng, d, scale=50.0):
    return rng.normal(0.0, scale, d)


def _angle(rng):
    return float(rng.choice(SPECIAL_ANGLES)) if rng.random() < 0.15 else float(rng.uniform(-7, 7))


def _versor(rng):
    if rng.random() < 0.2:
        return tuple(float(v) for v in SPECIAL_VERSORS[rng.integers(len(SPECIAL_VERSORS))])
    return tuple(rng.normal(size=4).tolist())


def _scale_factor(rng):
    return float(rng.uniform(0.1, 5.0) * rng.choice((1.0, 1.0, 1.0, -1.0)))


# Each factory builds ours and SimpleITK's from the same constructor arguments.
def _translation(rng, d):
    t = _vec(rng, d)
    return TranslationTransform(t), sitk.TranslationTransform(d, t.tolist())


def _scale(rng, d):
    s, c = rng.uniform(-3.0, 3.0, d), _vec(rng, d)
    theirs = sitk.ScaleTransform(d, s.tolist())
    theirs.SetCenter(c.tolist())
    return ScaleTransform(s, c), theirs


def _affine(rng, d):
    m, t, c = rng.normal(size=(d, d)), _vec(rng, d), _vec(rng, d)
    flat = rng.random() < 0.5
    ours = AffineTransform(m.reshape(-1) if flat else m, t, c)
    return ours, sitk.AffineTransform(m.reshape(-1).tolist(), t.tolist(), c.tolist())


def _euler2d(rng, d=2):
    c, a, t = _vec(rng, 2), _angle(rng), _vec(rng, 2)
    return Euler2DTransform(c, a, t), sitk.Euler2DTransform(c.tolist(), a, t.tolist())


def _similarity2d(rng, d=2):
    s, a, t, c = _scale_factor(rng), _angle(rng), _vec(rng, 2), _vec(rng, 2)
    return (Similarity2DTransform(s, a, t, c),
            sitk.Similarity2DTransform(s, a, t.tolist(), c.tolist()))


def _euler3d(rng, d=3):
    c, t = _vec(rng, 3), _vec(rng, 3)
    angles = [_angle(rng) for _ in range(3)]
    zyx = bool(rng.integers(2))
    theirs = sitk.Euler3DTransform(c.tolist(), *angles, t.tolist())
    theirs.SetComputeZYX(zyx)
    return Euler3DTransform(c, angles, t, compute_zyx=zyx), theirs


def _versor_only(rng, d=3):
    q, c = _versor(rng), _vec(rng, 3)
    return VersorTransform(q, c), sitk.VersorTransform(list(q), c.tolist())


def _versor_rigid(rng, d=3):
    q, t, c = _versor(rng), _vec(rng, 3), _vec(rng, 3)
    return (VersorRigid3DTransform(q, t, c),
            sitk.VersorRigid3DTransform(list(q), t.tolist(), c.tolist()))


def _similarity3d(rng, d=3):
    s, q, t, c = _scale_factor(rng), _versor(rng), _vec(rng, 3), _vec(rng, 3)
    return (Similarity3DTransform(s, q, t, c),
            sitk.Similarity3DTransform(s, list(q), t.tolist(), c.tolist()))


CASES = {
    "translation2d": (_translation, 2), "translation3d": (_translation, 3),
    "scale2d": (_scale, 2), "scale3d": (_scale, 3),
    "affine2d": (_affine, 2), "affine3d": (_affine, 3),
    "euler2d": (_euler2d, 2), "similarity2d": (_similarity2d, 2),
    "euler3d": (_euler3d, 3), "versor": (_versor_only, 3),
    "versor_rigid3d": (_versor_rigid, 3), "similarity3d": (_similarity3d, 3),
}
MATRIX_CASES = [k for k in CASES if not k.startswith("translation")]


def _make(kind, rng):
    factory, d = CASES[kind]
    return factory(rng, d)


def _assert_close(a: np.ndarray, b: np.ndarray, tol: float = 1e-12) -> None:
    """``a`` equals ``b`` to ``tol`` relative to each row's magnitude (at least 1)."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    scale = np.maximum(1.0, np.abs(b).max(axis=1, keepdims=True))
    err = np.abs(a - b) / scale
    assert err.max() <= tol, f"max relative error {err.max():.3g} > {tol:.3g}"


# ---------------------------------------------------------------------------------------
# bit-identical to SimpleITK
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", CASES)
def test_points_bit_identical(kind):
    rng = _rng(kind)
    for _ in range(TRIALS):
        ours, theirs = _make(kind, rng)
        pts = _points(rng, ours.dimension)
        got = ours.transform_points(pts)
        assert got.dtype == np.float64 and got.shape == pts.shape
        assert np.array_equal(got, _sitk_points(theirs, pts))
        assert ours.transform_point(pts[3]) == theirs.TransformPoint(pts[3].tolist())


@pytest.mark.parametrize("kind", MATRIX_CASES)
def test_matrix_bit_identical(kind):
    rng = _rng("matrix" + kind)
    for _ in range(TRIALS):
        ours, theirs = _make(kind, rng)
        d = ours.dimension
        expected = np.array(theirs.GetMatrix()).reshape(d, d)
        assert np.array_equal(ours.matrix, expected)
        m, offset = ours.affine()
        assert np.array_equal(m, expected) and offset.shape == (d,)
        assert not m.flags.writeable and not offset.flags.writeable


@pytest.mark.parametrize("kind", CASES)
def test_parameters_and_name_equal(kind):
    rng = _rng("params" + kind)
    for _ in range(TRIALS):
        ours, theirs = _make(kind, rng)
        assert ours.parameters == theirs.GetParameters()
        assert ours.fixed_parameters == theirs.GetFixedParameters()
        assert ours.itk_class_name == theirs.GetName()
        assert ours.is_linear and theirs.IsLinear()


@pytest.mark.parametrize("kind", CASES)
def test_from_parameters_matches_set_parameters(kind):
    rng = _rng("setparams" + kind)
    for _ in range(TRIALS):
        ours, theirs = _make(kind, rng)
        params = np.array(ours.parameters)
        if isinstance(ours, VersorTransform) and rng.random() < 0.5:
            # vector parts near and above norm 1 go through ITK's rescaling
            v = rng.normal(size=3)
            limit = 1.0 if type(ours) is VersorTransform else 1.5
            params[:3] = v / np.linalg.norm(v) * rng.choice((1 - 1e-11, 1.0, limit))
        fresh = sitk.Transform(theirs).Downcast()
        fresh.SetFixedParameters(ours.fixed_parameters)
        fresh.SetParameters(params.tolist())
        rebuilt = transform_from_parameters(ours.itk_class_name, params, ours.fixed_parameters,
                                            ours.dimension)
        assert type(rebuilt) is type(ours)
        assert rebuilt.parameters == fresh.GetParameters()
        assert rebuilt.fixed_parameters == fresh.GetFixedParameters()
        pts = _points(rng, ours.dimension)
        assert np.array_equal(rebuilt.transform_points(pts), _sitk_points(fresh, pts))


@pytest.mark.parametrize("kind", CASES)
def test_sitk_round_trip_exact(kind):
    rng = _rng("roundtrip" + kind)
    for _ in range(TRIALS):
        ours, theirs = _make(kind, rng)
        pts = _points(rng, ours.dimension)
        to = transform_to_sitk(ours)
        assert to.GetName() == ours.itk_class_name
        assert to.GetParameters() == ours.parameters
        assert to.GetFixedParameters() == ours.fixed_parameters
        assert np.array_equal(_sitk_points(to, pts), ours.transform_points(pts))
        back = transform_from_sitk(to)
        assert type(back) is type(ours) and back.parameters == ours.parameters
        assert back.fixed_parameters == ours.fixed_parameters
        from_theirs = transform_from_sitk(sitk.Transform(theirs))   # generic wrapper too
        assert from_theirs.parameters == theirs.GetParameters()
        assert from_theirs.fixed_parameters == theirs.GetFixedParameters()
        assert np.array_equal(from_theirs.transform_points(pts), _sitk_points(theirs, pts))


@pytest.mark.parametrize("kind", ["versor", "versor_rigid3d", "similarity3d"])
def test_versor_round_trip_keeps_scalar_part(kind):
    # ITK keeps w as normalised, which the parameters (x, y, z) often do not reproduce
    rng = _rng("versor-state" + kind)
    for _ in range(TRIALS):
        ours, theirs = _make(kind, rng)
        pts = _points(rng, 3)
        for t in (ours.inverse(), transform_from_sitk(theirs)):
            assert transform_to_sitk(t).GetVersor() == t.versor
        back = transform_from_sitk(theirs)
        assert np.array_equal(_sitk_points(transform_to_sitk(back), pts),
                              back.transform_points(pts))
        # An inverse holds ITK's numerically inverted matrix and offset, which no parameter
        # vector reproduces exactly (as for ITK's own GetInverse written to a file): its
        # SimpleITK twin, rebuilt from the parameters, agrees to rounding.
        inverse = ours.inverse()
        _assert_close(_sitk_points(transform_to_sitk(inverse), pts),
                      inverse.transform_points(pts), 1e-12)
        again = transform_to_sitk(transform_from_sitk(theirs))
        assert again.GetVersor() == theirs.GetVersor()


# ---------------------------------------------------------------------------------------
# inverses
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", CASES)
def test_inverse_matches_sitk(kind):
    rng = _rng("inverse" + kind)
    for _ in range(TRIALS):
        ours, theirs = _make(kind, rng)
        if kind.startswith("scale") and 0.0 in ours.parameters:
            continue
        inv = ours.inverse()
        assert type(inv) is type(ours)
        assert inv.fixed_parameters == ours.fixed_parameters
        their_inv = theirs.GetInverse().Downcast()
        # the matrix is inverted with ITK's own SVD arithmetic: bit-identical
        pts = _points(rng, ours.dimension)[3:]
        np.testing.assert_array_equal(inv.transform_points(pts), _sitk_points(their_inv, pts))
        if isinstance(ours, (VersorTransform, Euler3DTransform)):
            # ±q, or angles ±π apart, are one rotation: compare matrices
            np.testing.assert_array_equal(inv.matrix.reshape(-1), np.array(their_inv.GetMatrix()))
        else:
            np.testing.assert_array_equal(np.array(inv.parameters),
                                          np.array(their_inv.GetParameters()))
        cond = np.linalg.cond(ours.affine()[0])
        _assert_close(inv.transform_points(ours.transform_points(pts)), pts,
                      1e-11 * max(1.0, cond / 100.0))


def test_singular_and_zero_scale_have_no_inverse():
    with pytest.raises(ValueError, match="no inverse"):
        AffineTransform([[1.0, 2.0], [2.0, 4.0]]).inverse()
    with pytest.raises(ValueError, match="no inverse"):
        AffineTransform(np.zeros((3, 3))).inverse()
    with pytest.raises(ValueError, match="no inverse"):
        Similarity2DTransform(scale=0.0).inverse()
    with pytest.raises(ValueError, match="no inverse"):
        Similarity3DTransform(scale=0.0).inverse()
    with pytest.raises(ValueError, match="no inverse"):
        ScaleTransform((1.0, 0.0)).inverse()
    with pytest.raises(ValueError, match="no inverse"):
        CompositeTransform([TranslationTransform((1.0, 2.0)),
                            AffineTransform([1.0, 1.0, 1.0, 1.0])]).inverse()


# ---------------------------------------------------------------------------------------
# composites
# ---------------------------------------------------------------------------------------

def test_composite_order_applies_last_added_first():
    ours = CompositeTransform([TranslationTransform((10.0, 0.0, 0.0)),
                               ScaleTransform((2.0, 2.0, 2.0))])
    theirs = sitk.CompositeTransform([sitk.TranslationTransform(3, (10, 0, 0)),
                                      sitk.ScaleTransform(3, (2, 2, 2))])
    assert ours.transform_point((1.0, 1.0, 1.0)) == (12.0, 2.0, 2.0)
    assert theirs.TransformPoint((1.0, 1.0, 1.0)) == (12.0, 2.0, 2.0)
    m, offset = ours.affine()
    assert np.array_equal(m, 2 * np.eye(3)) and np.array_equal(offset, [10.0, 0.0, 0.0])


def _random_chain(rng, d, depth=0):
    kinds = [k for k, (_, kd) in CASES.items() if kd == d]
    pairs = [_make(kinds[rng.integers(len(kinds))], rng) for _ in range(rng.integers(1, 5))]
    if depth == 0 and rng.random() < 0.3:
        pairs.insert(int(rng.integers(len(pairs) + 1)), _random_chain(rng, d, depth + 1))
    theirs = sitk.CompositeTransform(d)
    for _, t in pairs:
        theirs.AddTransform(t)
    return CompositeTransform([o for o, _ in pairs]), theirs


@pytest.mark.parametrize("d", [2, 3])
def test_composite_chains_against_sitk(d):
    rng = _rng(f"composite{d}")
    for _ in range(TRIALS):
        ours, theirs = _random_chain(rng, d)
        pts = _points(rng, d)
        expected = _sitk_points(theirs, pts)
        assert np.array_equal(ours.transform_points(pts), expected)
        assert ours.parameters == theirs.GetParameters()
        assert ours.fixed_parameters == theirs.GetFixedParameters()
        assert ours.is_linear and ours.dimension == d
        m, offset = ours.affine()   # the fused matrix agrees to rounding
        fused = np.array([m @ p + offset for p in pts])
        assert np.allclose(fused, expected, rtol=1e-9, atol=1e-6)
        to = transform_to_sitk(ours)
        assert np.array_equal(_sitk_points(to, pts), expected)
        back = transform_from_sitk(theirs)
        assert np.array_equal(back.transform_points(pts), expected)
        if not any(isinstance(t, ScaleTransform) and 0.0 in t.parameters
                   for t in _flatten(ours)):
            inv = ours.inverse()
            _assert_close(inv.transform_points(pts), _sitk_points(theirs.GetInverse(), pts))


def _flatten(t):
    if isinstance(t, CompositeTransform):
        return [m for member in t.transforms for m in _flatten(member)]
    return [t]


def test_composite_inverse_is_reversed_list_of_inverses():
    a, b = TranslationTransform((1.0, 2.0)), Euler2DTransform(angle=0.3)
    inv = CompositeTransform([a, b]).inverse()
    assert [type(t) for t in inv.transforms] == [Euler2DTransform, TranslationTransform]
    assert inv.transforms[1].parameters == (-1.0, -2.0)
    p = (3.0, -4.0)
    back = inv.transform_point(CompositeTransform([a, b]).transform_point(p))
    assert np.allclose(back, p, rtol=0, atol=1e-12)


def test_empty_and_growing_composite():
    with pytest.raises(ValueError, match="dimension"):
        CompositeTransform([])
    empty = CompositeTransform(dimension=2)
    assert empty.transform_point((1.5, -2.0)) == (1.5, -2.0)
    assert empty.parameters == () and empty.is_linear
    assert empty.inverse().dimension == 2
    assert sitk.CompositeTransform(2).GetParameters() == empty.parameters
    assert transform_to_sitk(empty).GetNumberOfTransforms() == 0
    empty.add(TranslationTransform((1.0, 1.0)))
    members = empty.transforms
    members.append("not a transform")       # a copy: the composite is unchanged
    assert len(empty.transforms) == 1
    with pytest.raises(ValueError, match="3-D"):
        empty.add(TranslationTransform((1.0, 1.0, 1.0)))
    with pytest.raises(TypeError):
        empty.add(sitk.TranslationTransform(2))
    with pytest.raises(ValueError, match="2-D"):
        CompositeTransform([TranslationTransform((1.0, 1.0, 1.0))], dimension=2)


def test_composite_repr_and_nesting():
    inner = CompositeTransform([Euler2DTransform(angle=0.1), TranslationTransform((1.0, 0.0))])
    outer = CompositeTransform([inner, ScaleTransform((2.0, 3.0))])
    assert "CompositeTransform(transforms=[CompositeTransform(" in repr(outer)
    st_outer = transform_to_sitk(outer)
    assert st_outer.GetNthTransform(0).GetName() == "CompositeTransform"
    pts = _points(_rng("nested"), 2)
    assert np.array_equal(outer.transform_points(pts), _sitk_points(st_outer, pts))


# ---------------------------------------------------------------------------------------
# identity, Euler ZYX, names
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [2, 3])
def test_identity(d):
    pts = _points(_rng(f"identity{d}"), d)
    ours = IdentityTransform(d)
    assert np.array_equal(ours.transform_points(pts), pts)
    assert ours.parameters == () and ours.fixed_parameters == () and ours.is_linear
    assert isinstance(ours.inverse(), IdentityTransform)
    assert np.array_equal(ours.affine()[0], np.eye(d))
    theirs = transform_to_sitk(ours)
    assert theirs.GetDimension() == d and theirs.GetTransformEnum() == sitk.sitkIdentity
    assert np.array_equal(_sitk_points(theirs, pts), pts)
    back = transform_from_sitk(sitk.Transform(d, sitk.sitkIdentity))
    assert isinstance(back, IdentityTransform) and back.dimension == d
    assert transform_from_parameters("IdentityTransform", (), (), d).dimension == d


def test_default_sitk_transform_is_3d_identity():
    back = transform_from_sitk(sitk.Transform())
    assert isinstance(back, IdentityTransform) and back.dimension == 3


def test_euler3d_compute_zyx():
    angles, center = (0.3, -0.2, 1.1), (1.0, 2.0, 3.0)
    zxy = Euler3DTransform(center, angles)
    zyx = Euler3DTransform(center, angles, compute_zyx=True)
    assert zxy.fixed_parameters == center + (0.0,) and zyx.fixed_parameters == center + (1.0,)
    assert not np.allclose(zxy.matrix, zyx.matrix)
    theirs = sitk.Euler3DTransform(list(center), *angles)
    theirs.SetComputeZYX(True)
    assert np.array_equal(zyx.matrix.reshape(-1), theirs.GetMatrix())
    assert transform_from_sitk(theirs).compute_zyx
    assert not transform_from_parameters("Euler3DTransform", angles + (0, 0, 0), center).compute_zyx
    assert transform_from_parameters("Euler3DTransform", angles + (0, 0, 0),
                                     center + (1.0,)).compute_zyx
    # the inverse keeps the convention and undoes the rotation
    inv = zyx.inverse()
    assert inv.compute_zyx
    _assert_close(np.array(inv.transform_point(zyx.transform_point((5.0, 6.0, 7.0)))),
                  np.array([5.0, 6.0, 7.0]))


def test_tfm_names_and_unknown_kinds():
    t = transform_from_parameters("AffineTransform_double_2_2", (1, 0, 0, 1, 5, 6), (0, 0))
    assert isinstance(t, AffineTransform) and t.dimension == 2
    t = transform_from_parameters("MatrixOffsetTransformBase_double_3_3",
                                  tuple(np.eye(3).reshape(-1)) + (1, 2, 3), (0, 0, 0))
    assert isinstance(t, AffineTransform) and t.translation == (1.0, 2.0, 3.0)
    with pytest.raises(NotImplementedError, match="KernelTransform"):
        transform_from_parameters("KernelTransform_double_3_3", (), ())
    with pytest.raises(ValueError, match="2-D"):
        transform_from_parameters("TranslationTransform_double_2_2", (1, 2), (), 3)
    with pytest.raises(ValueError, match="members"):
        transform_from_parameters("CompositeTransform", (), ())


def test_unsupported_sitk_kinds_raise_naming_the_kind():
    unsupported = {"ScaleVersor3DTransform": sitk.ScaleVersor3DTransform(),
                   "ScaleLogarithmicTransform": sitk.Transform(3, sitk.sitkScaleLogarithmic)}
    for name, theirs in unsupported.items():
        with pytest.raises(NotImplementedError, match=name):
            transform_from_sitk(theirs)
    with pytest.raises(NotImplementedError, match="ScaleVersor3DTransform"):
        transform_from_sitk(sitk.CompositeTransform([sitk.ScaleVersor3DTransform()]))
    with pytest.raises(TypeError):
        transform_from_sitk(Euler2DTransform())
    with pytest.raises(TypeError):
        transform_to_sitk(sitk.Euler2DTransform())


# ---------------------------------------------------------------------------------------
# validation and array handling
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("build", [
    lambda: TranslationTransform((1.0, 2.0, 3.0, 4.0)),
    lambda: TranslationTransform((1.0,)),
    lambda: Euler2DTransform(center=(0.0, 0.0, 0.0)),
    lambda: Euler2DTransform(translation=(1.0,)),
    lambda: Euler3DTransform(angles=(0.1, 0.2)),
    lambda: Euler3DTransform(center=(0.0, 0.0)),
    lambda: Similarity3DTransform(translation=(1.0, 2.0)),
    lambda: VersorRigid3DTransform(versor=(0.0, 0.0, 0.5)),
    lambda: AffineTransform(np.ones((2, 3))),
    lambda: AffineTransform(np.ones(5)),
    lambda: AffineTransform(np.eye(2), translation=(1.0, 2.0, 3.0)),
    lambda: ScaleTransform((1.0, 2.0), center=(0.0, 0.0, 0.0)),
    lambda: Euler2DTransform(angle=math.nan),
    lambda: Similarity2DTransform(scale=math.inf),
    lambda: AffineTransform([[1.0, math.nan], [0.0, 1.0]]),
    lambda: VersorTransform((0.0, 0.0, 0.0, 0.0)),
    lambda: IdentityTransform(4),
    lambda: transform_from_parameters("Euler2DTransform", (0.1, 1.0), (0.0, 0.0)),
    lambda: transform_from_parameters("Euler3DTransform", (0.0,) * 6, (0.0,) * 5),
    lambda: transform_from_parameters("AffineTransform", (1.0, 0.0, 0.0, 1.0), (0.0, 0.0)),
    lambda: transform_from_parameters("VersorTransform", (0.0, 0.0, 1.5), (0.0, 0.0, 0.0)),
    lambda: transform_from_parameters("IdentityTransform", (), ()),
    lambda: transform_from_parameters("TranslationTransform", (1.0, 2.0), (0.0,)),
])
def test_bad_values_raise_value_error(build):
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize("build", [
    lambda: Euler2DTransform(angle="0.5"),
    lambda: Euler2DTransform(angle=(0.1, 0.2)),
    lambda: Euler3DTransform(compute_zyx="yes"),
    lambda: TranslationTransform(5.0),
    lambda: AffineTransform("identity"),
    lambda: ScaleTransform(["a", "b"]),
    lambda: IdentityTransform(2.0),
    lambda: CompositeTransform(TranslationTransform((1.0, 2.0))),
    lambda: CompositeTransform([sitk.TranslationTransform(2)]),
    lambda: Similarity2DTransform(scale=1j),
])
def test_bad_types_raise_type_error(build):
    with pytest.raises(TypeError):
        build()


def test_versor_norm_follows_itk():
    # VersorTransform refuses a vector part above 1; rigid and similarity rescale it
    with pytest.raises(ValueError, match="norm"):
        transform_from_parameters("VersorTransform", (0.0, 0.8, 0.8), (0.0, 0.0, 0.0))
    for name, extra in (("VersorRigid3DTransform", (0.0,) * 3), ("Similarity3DTransform",
                                                                   (0.0,) * 3 + (1.0,))):
        ours = transform_from_parameters(name, (0.0, 0.8, 0.8) + extra, (0.0, 0.0, 0.0))
        theirs = getattr(sitk, name)()
        theirs.SetParameters((0.0, 0.8, 0.8) + extra)
        assert ours.parameters == theirs.GetParameters()
        assert ours.versor == theirs.GetVersor()
    assert VersorTransform((0.0, 0.0, 2.0, -2.0)).versor == sitk.VersorTransform(
        (0.0, 0.0, 2.0, -2.0)).GetVersor()


def test_dimension_mismatch_names_dimension():
    t2 = Euler2DTransform(angle=0.2)
    with pytest.raises(ValueError, match="2-D"):
        t2.transform_points(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="transform_point"):
        t2.transform_points(np.zeros(2))
    with pytest.raises(ValueError, match="3-D"):
        Euler3DTransform().transform_point((1.0, 2.0))
    with pytest.raises(TypeError):
        t2.transform_points(np.zeros((2, 2), dtype=complex))


def test_points_input_is_not_modified_and_lists_are_accepted():
    t = AffineTransform(np.array([[1.0, 2.0], [3.0, 4.0]]), (1.0, 1.0))
    pts = np.array([[1.0, 2.0], [3.0, 4.0]])
    before = pts.copy()
    out = t.transform_points(pts)
    assert np.array_equal(pts, before) and out is not pts
    assert np.array_equal(t.transform_points(pts.tolist()), out)
    assert np.array_equal(t.transform_points(pts.astype(np.int32)), out)
    assert np.array_equal(IdentityTransform(2).transform_points(pts), pts)
    assert IdentityTransform(2).transform_points(pts) is not pts
    assert t.transform_points(np.zeros((0, 2))).shape == (0, 2)
    assert t.transform_points(np.asfortranarray(pts)).tolist() == out.tolist()


def test_cupy_arrays_come_back_as_cupy(monkeypatch):
    # a stand-in for CuPy: the dispatch only looks at the array's module
    class FakeCupyArray:
        def __init__(self, data):
            self.data = np.asarray(data)

    FakeCupyArray.__module__ = "cupy._core.core"
    fake = types.ModuleType("cupy")
    fake.asnumpy = lambda a: a.data
    fake.asarray = FakeCupyArray
    monkeypatch.setitem(sys.modules, "cupy", fake)
    t = TranslationTransform((1.0, 2.0))
    out = t.transform_points(FakeCupyArray([[0.0, 0.0], [1.0, 1.0]]))
    assert isinstance(out, FakeCupyArray)
    assert out.data.tolist() == [[1.0, 2.0], [2.0, 3.0]]


def test_missing_simpleitk_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "SimpleITK", None)   # makes the import fail
    with pytest.raises(ImportError, match=r"pip install gpuresample\[sitk\]"):
        transform_to_sitk(TranslationTransform((1.0, 2.0)))
    with pytest.raises(ImportError, match="gpuresample"):
        transform_from_sitk(object())


def test_repr_is_readable_and_reconstructs():
    ns = {name: obj for name, obj in vars(sys.modules["gpuresample.transforms"]).items()
          if isinstance(obj, type)}
    examples = [TranslationTransform((1.0, 2.0)), Euler2DTransform((1.0, 2.0), 0.25, (3.0, 4.0)),
                Similarity2DTransform(2.0, 0.5, (1.0, 0.0), (0.0, 1.0)),
                Euler3DTransform((1.0, 2.0, 3.0), (0.1, 0.2, 0.3), compute_zyx=True),
                AffineTransform(np.eye(3) * 2, (1.0, 2.0, 3.0)), ScaleTransform((2.0, 3.0)),
                IdentityTransform(3), CompositeTransform([TranslationTransform((1.0, 2.0))])]
    for t in examples:
        text = repr(t)
        assert text.startswith(type(t).__name__ + "(")
        again = eval(text, ns)
        assert type(again) is type(t) and again.parameters == t.parameters
        assert again.fixed_parameters == t.fixed_parameters
    assert "versor=(0.0, 0.0, 0.0, 1.0)" in repr(VersorRigid3DTransform())


def test_base_class_interface():
    assert issubclass(Euler3DTransform, MatrixOffsetTransform)
    assert issubclass(CompositeTransform, Transform)
    with pytest.raises(TypeError):
        Transform()
    t = Euler2DTransform(angle=0.5, translation=(1.0, 2.0))
    assert isinstance(t.affine()[0], np.ndarray) and t.offset == tuple(t.affine()[1])


# ---------------------------------------------------------------------------------------
# property-based: affine matrices of any magnitude
# ---------------------------------------------------------------------------------------

_finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(d=st.sampled_from([2, 3]), values=st.lists(_finite, min_size=12 + 3 + 3 + 3,
                                                   max_size=12 + 3 + 3 + 3))
def test_affine_bit_identical_property(d, values):
    m = values[:d * d]
    t, c, p = values[9:9 + d], values[12:12 + d], values[15:15 + d]
    ours = AffineTransform(m, t, c)
    theirs = sitk.AffineTransform(m, t, c)
    assert ours.transform_point(p) == theirs.TransformPoint(p)
    assert ours.parameters == theirs.GetParameters()
