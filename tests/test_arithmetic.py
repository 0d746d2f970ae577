"""Image operators, the physical-space check and numpy ufuncs, with SimpleITK 2.5.7 as the
oracle for the operators (numpy itself for the ufuncs, which follow numpy's rules)."""

from __future__ import annotations

import operator
import warnings

import numpy as np
import pytest
import SimpleITK as sitk

import gpuresample as gr
from gpuresample.sitk_interop import to_sitk
from helpers import make_pair, random_geometry, random_values
from test_image import FakeCupyArray, fake_cupy  # noqa: F401  (the CuPy stand-in fixture)

BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
          "//": operator.floordiv, "<": operator.lt, "<=": operator.le, "==": operator.eq,
          "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "&": operator.and_,
          "|": operator.or_, "^": operator.xor}
BITWISE = ("&", "|", "^")
UNARY = {"neg": operator.neg, "abs": abs, "invert": operator.invert}
# constants that exercise SimpleITK's C cast to the pixel type: fractions, negatives,
# values out of every range (wrap), the 64-bit limits and NaN
CONSTANTS = (0, 1, -1, 7, 2.7, -3.7, 300.7, -1e5, 3e9, -3e9, 1e10, 2.0 ** 63, -2.0 ** 63,
             1.8446744073709552e19, float("nan"), True, np.float32(2.5), np.int64(-2))
BIT_CONSTANTS = (0, 3, -1, 300, 2 ** 31 - 1, -2 ** 31, 2.7)   # SimpleITK: int(), C int
SCALAR_TYPES = [gr.PixelType(i) for i in range(10)]


def run(function, *args):
    """The result, or the exception raised (to compare refusals with SimpleITK's)."""
    try:
        return function(*args)
    except Exception as exc:                                 # noqa: BLE001
        return exc


def assert_matches_sitk(ours, ref, what: str) -> None:
    """The same refusal, or the same image: pixel type, values (NaN where NaN), geometry,
    no metadata."""
    if isinstance(ref, Exception) or isinstance(ours, Exception):
        assert isinstance(ref, Exception) and isinstance(ours, (TypeError, ValueError)), \
            f"{what}: ours {ours!r}, SimpleITK {ref!r}"
        return
    assert ours.pixel_type.value == ref.GetPixelID(), what
    assert ours.size == ref.GetSize(), what
    assert ours.number_of_components == ref.GetNumberOfComponentsPerPixel(), what
    np.testing.assert_array_equal(np.asarray(ours).reshape(sitk.GetArrayViewFromImage(ref).shape),
                                  sitk.GetArrayViewFromImage(ref), err_msg=what)
    # the output geometry is the first image's, copied: exact
    assert ours.origin == ref.GetOrigin() and ours.spacing == ref.GetSpacing(), what
    assert tuple(ours.direction.ravel()) == ref.GetDirection(), what
    assert dict(ours.metadata) == {k: ref.GetMetaData(k) for k in ref.GetMetaDataKeys()}, what


def pair_of(rng, pixel_type: gr.PixelType, dim: int = 2, components: int = 3,
            geometry=None):
    """Random values over the type's range (zeros included, NaN and inf for floats) as a
    gpuresample image and its SimpleITK twin, with a random geometry and metadata."""
    geometry = geometry or random_geometry(rng, dim)
    shape = geometry[0][::-1] + ((components,) if pixel_type.is_vector else ())
    if pixel_type.is_complex:
        values = (rng.normal(size=shape) + 1j * rng.normal(size=shape)) * 100
        values = values.astype(pixel_type.dtype)
    else:
        values = random_values(rng, shape, pixel_type.dtype)
    flat = values.reshape(-1)
    flat[:3] = 0
    if pixel_type.dtype.kind == "f":
        flat[3:6] = (np.nan, np.inf, -np.inf)
    rng.shuffle(flat)
    img, ref = make_pair(values, geometry, pixel_type.is_vector)
    img.metadata["0008|0060"] = "CT"
    ref.SetMetaData("0008|0060", "CT")          # SimpleITK's filters drop it
    return img, ref


@pytest.mark.parametrize("pixel_type", SCALAR_TYPES, ids=lambda p: p.name)
def test_scalar_operators_match_sitk(pixel_type):
    rng = np.random.default_rng(pixel_type.value)
    a, sa = pair_of(rng, pixel_type, dim=2 + pixel_type.value % 2)
    geometry = (a.size, a.origin, a.spacing, a.direction)
    b, sb = pair_of(rng, pixel_type, geometry=geometry)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for symbol, function in BINARY.items():
            assert_matches_sitk(run(function, a, b), run(function, sa, sb), f"a {symbol} b")
            for c in BIT_CONSTANTS if symbol in BITWISE else CONSTANTS:
                assert_matches_sitk(run(function, a, c), run(function, sa, c),
                                    f"a {symbol} {c!r}")
                if isinstance(c, np.generic):
                    continue    # numpy scalars on the left run numpy's ufuncs (see below)
                assert_matches_sitk(run(function, c, a), run(function, c, sa),
                                    f"{c!r} {symbol} a")
        for name, function in UNARY.items():
            assert_matches_sitk(run(function, a), run(function, sa), name)
    assert a.metadata == {"0008|0060": "CT"}          # inputs untouched
    np.testing.assert_array_equal(np.asarray(a), sitk.GetArrayViewFromImage(sa))


@pytest.mark.parametrize("pixel_type", [gr.PixelType.VECTOR_UINT8, gr.PixelType.VECTOR_INT16,
                                        gr.PixelType.VECTOR_FLOAT32, gr.PixelType.COMPLEX64,
                                        gr.PixelType.COMPLEX128], ids=lambda p: p.name)
def test_vector_and_complex_operators_match_sitk(pixel_type):
    # SimpleITK: vectors + - (and unary -, abs); complex + - * and unary -; others refused
    rng = np.random.default_rng(50 + pixel_type.value)
    a, sa = pair_of(rng, pixel_type, dim=3)
    b, sb = pair_of(rng, pixel_type, geometry=(a.size, a.origin, a.spacing, a.direction))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for symbol, function in BINARY.items():
            assert_matches_sitk(run(function, a, b), run(function, sa, sb), f"a {symbol} b")
            for c in (3, -2.5) if symbol not in BITWISE else (3,):
                assert_matches_sitk(run(function, a, c), run(function, sa, c),
                                    f"a {symbol} {c}")
                assert_matches_sitk(run(function, c, a), run(function, c, sa),
                                    f"{c} {symbol} a")
        for name, function in UNARY.items():
            assert_matches_sitk(run(function, a), run(function, sa), name)
    refused, match = ((operator.mul, r"'\*' \(Multiply in SimpleITK\) is not defined for")
                      if pixel_type.is_vector else
                      (operator.truediv, r"'/' \(DivideReal in SimpleITK\) is not defined for"))
    with pytest.raises(TypeError, match=match + f" {pixel_type.name} images"):
        refused(a, b)


def test_refusals_name_the_operator_and_type():
    for function, pixel_type, match in (
            (operator.neg, gr.PixelType.UINT8, r"'-' \(UnaryMinus.*UINT8.*signed integer"),
            (lambda a: a & a, gr.PixelType.FLOAT32, r"'&' \(And.*FLOAT32"),
            (operator.invert, gr.PixelType.FLOAT64, r"'~' \(BitwiseNot.*FLOAT64"),
            (lambda a: a > 1, gr.PixelType.COMPLEX64, r"'>' \(Greater.*COMPLEX64"),
            (abs, gr.PixelType.COMPLEX128, r"'abs' \(Abs.*COMPLEX128")):
        with pytest.raises(TypeError, match=match):
            function(gr.Image((3, 2), pixel_type))
        with pytest.raises(RuntimeError, match="not supported"):
            function(sitk.Image([3, 2], pixel_type.value))


def test_bitwise_constants_beyond_int32_wrap():
    # SimpleITK's & | ^ take a C int (it raises TypeError beyond int32); gpuresample takes
    # any integer and converts it like C: modulo 2^bits of the pixel type
    rng = np.random.default_rng(11)
    # (constant, a C int with the same low bits, which SimpleITK takes)
    for pixel_type, constant, same_bits in ((gr.PixelType.UINT8, 2 ** 33 + 261, 5),
                                            (gr.PixelType.INT16, 2 ** 40 - 3, -3),
                                            (gr.PixelType.UINT64, 2 ** 64 - 1, -1)):
        a, sa = pair_of(rng, pixel_type)
        with pytest.raises(TypeError):
            sa | constant
        assert_matches_sitk(a | constant, sa | same_bits, f"| {constant}")
        assert_matches_sitk(constant ^ a, same_bits ^ sa, f"{constant} ^")


def test_constants_of_other_kinds():
    img, ref = gr.Image((3, 2), "float32"), sitk.Image([3, 2], sitk.sitkFloat32)
    # SimpleITK tries float() on anything, so it would add "3" as 3.0; we take numbers only
    for bad in ("3", [1], None):
        with pytest.raises(TypeError, match="unsupported operand"):
            img + bad
    for bad in ([1], None):
        with pytest.raises(TypeError):
            ref + bad
    for bad in (np.ones((2, 3), np.float32), 1j):
        with pytest.raises(TypeError, match="numpy ufunc"):
            img + bad
        with pytest.raises(TypeError):
            ref + bad
    with pytest.raises(ValueError, match="integer constant"):
        gr.Image((3, 2), "uint8") & float("nan")
    assert (img == "x") is False and (ref == "x") is False   # Python's fallback, as SimpleITK


# ---------------------------------------------------------------- physical space
def _shifted(img: gr.Image, ref: sitk.Image, field: str, index: int, delta: float):
    """Copies of both with one origin / spacing / direction entry moved by ``delta``."""
    ours, theirs = img.copy(), sitk.Image(ref)
    if field == "direction":
        d = ours.direction.copy()
        d.flat[index] += delta
        ours.direction = d
        theirs.SetDirection(d.ravel().tolist())
        return ours, theirs
    values = list(getattr(ours, field))
    values[index] += delta
    setattr(ours, field, values)
    getattr(theirs, "Set" + field.capitalize())(values)
    return ours, theirs


@pytest.mark.parametrize("field", ["origin", "spacing", "direction"])
def test_physical_space_tolerance_matches_sitk(field):
    rng = np.random.default_rng(21)
    for dim in (2, 3):
        a, sa = pair_of(rng, gr.PixelType.FLOAT32, dim=dim)
        tol = 1e-6 if field == "direction" else 1e-6 * a.spacing[0]
        for index in range(dim * dim if field == "direction" else dim):
            for factor in (0.5, 0.999, 1.001, 3.0, -0.999, -1.001):
                b, sb = _shifted(a, sa, field, index, factor * tol)
                assert_matches_sitk(run(operator.add, a, b), run(operator.add, sa, sb),
                                    f"{field}[{index}] + {factor} tol")
                if abs(factor) > 1:
                    with pytest.raises(ValueError, match=f"same physical space.*{field}s"):
                        a + b


def test_tolerance_is_relative_to_the_first_images_x_spacing():
    def pair(origin, spacing):
        return make_pair(np.ones((3, 4), np.float32), ((4, 3), origin, spacing, np.eye(2)))

    # SEMANTICS §5: x spacing 2 allows 2e-6, x spacing 1 only 1e-6, whatever y's spacing is
    (a, sa), (b, sb) = pair((0, 0), (2.0, 1.0)), pair((1.9e-6, 0), (2.0, 1.0))
    (c, sc), (d, sd) = pair((0, 0), (1.0, 2.0)), pair((1.5e-6, 0), (1.0, 2.0))
    for first, second, sfirst, ssecond, what in ((a, b, sa, sb, "s_x=2"), (b, a, sb, sa, "s_x=2"),
                                                 (c, d, sc, sd, "s_x=1"), (d, c, sd, sc, "s_x=1")):
        assert_matches_sitk(run(operator.add, first, second),
                            run(operator.add, sfirst, ssecond), what)
    with pytest.raises(ValueError, match=r"along x \(0.0 vs 1.5e-06\).*tolerance 1e-06 "
                                         r"\(1e-06 x the first image's x spacing 1\)"):
        c + d


def test_set_tolerances_matches_sitks_global_defaults():
    a, sa = make_pair(np.ones((3, 4), np.float32), ((4, 3), (0, 0), (1.0, 1.0), np.eye(2)))
    b, sb = make_pair(np.ones((3, 4), np.float32), ((4, 3), (5e-4, 0), (1.0, 1.0),
                                                   [[1, 5e-4], [0, 1]]))
    assert gr.get_tolerances() == (1e-6, 1e-6)
    previous = gr.set_tolerances(coordinate=1e-3)
    sitk.ProcessObject.SetGlobalDefaultCoordinateTolerance(1e-3)
    try:
        assert previous == gr.Tolerances(1e-6, 1e-6)
        assert gr.get_tolerances() == gr.Tolerances(coordinate=1e-3, direction=1e-6)
        assert_matches_sitk(run(operator.add, a, b), run(operator.add, sa, sb), "direction")
        gr.set_tolerances(direction=1e-3)
        sitk.ProcessObject.SetGlobalDefaultDirectionTolerance(1e-3)
        assert_matches_sitk(run(operator.add, a, b), run(operator.add, sa, sb), "both")
    finally:
        gr.set_tolerances(*previous)
        sitk.ProcessObject.SetGlobalDefaultCoordinateTolerance(1e-6)
        sitk.ProcessObject.SetGlobalDefaultDirectionTolerance(1e-6)
    assert gr.get_tolerances() == (1e-6, 1e-6)
    for bad in (-1.0, float("nan"), "1e-6"):
        with pytest.raises(ValueError, match="tolerance must be a finite number"):
            gr.set_tolerances(coordinate=bad)
    assert gr.get_tolerances() == (1e-6, 1e-6)


def test_size_rules_match_sitk():
    rng = np.random.default_rng(31)
    geometry = random_geometry(rng, 3, size=(5, 4, 3))
    a, sa = pair_of(rng, gr.PixelType.INT16, geometry=geometry)
    larger, slarger = pair_of(rng, gr.PixelType.INT16, geometry=((7, 4, 5),) + geometry[1:])
    smaller, ssmaller = pair_of(rng, gr.PixelType.INT16, geometry=((6, 3, 3),) + geometry[1:])
    assert_matches_sitk(a - larger, sa - slarger, "second larger: its [0, N) block")
    assert_matches_sitk(run(operator.sub, larger, a), run(operator.sub, slarger, sa), "first")
    with pytest.raises(ValueError, match=r"smaller than the first \(size \(5, 4, 3\)\) along y"):
        a - smaller
    with pytest.raises(RuntimeError, match="outside the largest possible region"):
        sa - ssmaller


def test_pairs_must_match_in_type_dimension_components_and_device(fake_cupy):  # noqa: F811
    f32, ref = gr.Image((4, 3), "float32"), sitk.Image([4, 3], sitk.sitkFloat32)
    with pytest.raises(TypeError, match=r"same pixel type.*FLOAT32 and INT16.*gr.cast"):
        f32 + gr.Image((4, 3), "int16")
    with pytest.raises(RuntimeError, match="casting"):
        ref + sitk.Image([4, 3], sitk.sitkInt16)
    with pytest.raises(ValueError, match="different dimensions: 2-D and 3-D"):
        f32 + gr.Image((4, 3, 2), "float32")
    with pytest.raises(RuntimeError, match="dimension"):
        ref + sitk.Image([4, 3, 2], sitk.sitkFloat32)
    with pytest.raises(ValueError, match="3 and 2 components"):
        gr.Image((4, 3), "vector_uint8", 3) + gr.Image((4, 3), "vector_uint8", 2)
    with pytest.raises(ValueError, match=r"different devices \(cpu and cuda:0\)"):
        f32 + f32.to("cuda")


def test_4d_images_work_slice_by_slice_as_sitk_does_in_3d():
    # SimpleITK's filters stop at 3-D; each 3-D volume of a 4-D result matches them
    rng = np.random.default_rng(41)
    geometry = random_geometry(rng, 4, size=(5, 4, 3, 2))
    a, _ = pair_of(rng, gr.PixelType.UINT8, geometry=geometry)
    b, _ = pair_of(rng, gr.PixelType.UINT8, geometry=geometry)
    for symbol in ("+", "*", "//", ">=", "^"):
        got = BINARY[symbol](a, b)
        for t in range(2):
            want = BINARY[symbol](to_sitk(a[:, :, :, t]), to_sitk(b[:, :, :, t]))
            assert_matches_sitk(got[:, :, :, t], want, f"4-D {symbol} at t={t}")


def test_notebook_sum_with_origins_1e6_apart():
    img1, ref1 = gr.Image((128, 64), "uint8"), sitk.Image([128, 64], sitk.sitkUInt8)
    img2, ref2 = gr.Image((128, 64), "uint8"), sitk.Image([128, 64], sitk.sitkUInt8)
    img2.origin = (1e-6, 1e-6)
    ref2.SetOrigin((1e-6, 1e-6))
    for i in range(128):
        img1[i, 1], ref1[i, 1] = 5, 5
        img2[i, 1], ref2[i, 1] = 120, 120
        img2[i, 32], ref2[i, 32] = 60, 60
    assert_matches_sitk(img1 + img2, ref1 + ref2, "img1 + img2")
    assert_matches_sitk((img1 + img2) > 50, (ref1 + ref2) > 50, "img3 > 50")


# ---------------------------------------------------------------- equality and hashing
def test_equality_is_elementwise_so_images_are_unhashable():
    rng = np.random.default_rng(51)
    a, sa = pair_of(rng, gr.PixelType.INT8)
    assert_matches_sitk(a == a.copy(), sa == sitk.Image(sa), "a == copy")
    with pytest.raises(TypeError, match="unhashable"):
        {a: 1}
    with pytest.raises(TypeError, match="ambiguous"):
        if a == a:
            pass
    with pytest.raises(TypeError, match="not iterable"):
        list(a)
    assert not hasattr(gr.Image, "__len__")     # SimpleITK's len() is the pixel count
    plus = +a
    assert plus is not a and not np.shares_memory(plus._array, a._array)
    assert_matches_sitk(plus, +sa, "+a")


# ---------------------------------------------------------------- numpy ufuncs
def test_ufuncs_follow_numpy_and_keep_the_geometry():
    rng = np.random.default_rng(61)
    a, _ = pair_of(rng, gr.PixelType.FLOAT32, dim=3)
    b = gr.image_from_array(random_values(rng, a.size[::-1], np.float32))
    b.origin = tuple(o + 0.5e-6 * a.spacing[0] for o in a.origin)   # within the tolerance
    b.spacing, b.direction = a.spacing, a.direction
    u8 = gr.cast(gr.rescale_intensity(a), "uint8")
    arr_a, arr_b = np.asarray(a), np.asarray(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cases = [(np.sqrt(a), np.sqrt(arr_a)), (np.add(a, b), np.add(arr_a, arr_b)),
                 (np.maximum(u8, 3), np.maximum(np.asarray(u8), 3)),
                 (np.multiply(u8, 2.5), np.multiply(np.asarray(u8), 2.5)),
                 (np.greater(a, b), np.greater(arr_a, arr_b).astype(np.uint8)),
                 (np.asarray(a)[0] + a, arr_a[0] + arr_a),          # array on the left
                 (np.float64(2) * u8, np.float64(2) * np.asarray(u8)),
                 (np.sqrt(u8, dtype=np.float32), np.sqrt(np.asarray(u8), dtype=np.float32))]
    for got, want in cases:
        assert isinstance(got, gr.Image) and got.dtype == want.dtype
        np.testing.assert_array_equal(np.asarray(got), want)
        assert (got.origin, got.spacing) == (a.origin, a.spacing) and got.metadata == {}
        np.testing.assert_array_equal(got.direction, a.direction)
    frac, whole = np.modf(a)                         # several outputs
    np.testing.assert_array_equal(np.asarray(frac), np.modf(arr_a)[0])
    assert whole.origin == a.origin


def test_ufunc_out_and_reductions():
    rng = np.random.default_rng(62)
    a, _ = pair_of(rng, gr.PixelType.FLOAT64, dim=2)
    arr = np.asarray(a).copy()
    target = a.copy()
    assert np.add(a, 1.0, out=target) is target
    np.testing.assert_array_equal(np.asarray(target), arr + 1.0)
    plain = np.empty_like(arr)
    assert np.add(a, 1.0, out=plain) is plain
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for got, want in ((np.add.reduce(a, axis=0), np.add.reduce(arr, axis=0)),
                          (np.sum(a), np.sum(arr)), (np.nanmax(a), np.nanmax(arr)),
                          (np.maximum.accumulate(a, axis=1), np.maximum.accumulate(arr, axis=1)),
                          (np.subtract.outer(a, 1.0), np.subtract.outer(arr, 1.0))):
            assert not isinstance(got, gr.Image)
            np.testing.assert_array_equal(got, want)
    with pytest.raises(TypeError, match="elementwise calls only"):
        np.add.reduce(a, axis=0, out=gr.Image((a.size[0], 1), "float64"))
    expected = arr + 1.0
    np.add.at(target, ([0, 0], [1, 1]), 5.0)           # unbuffered, in place, numpy order
    np.add.at(expected, ([0, 0], [1, 1]), 5.0)
    np.testing.assert_array_equal(np.asarray(target), expected)


def test_ufunc_refusals():
    a = gr.Image((4, 3), "float32")
    other = gr.Image((4, 3), "float32")
    other.origin = (1.0, 0.0)
    with pytest.raises(ValueError, match="same physical space.*origins differ by 1 along x"):
        np.add(a, other)
    with pytest.raises(ValueError, match=r"one size: got \(4, 3\).*\(4, 4\)"):
        np.add(a, gr.Image((4, 4), "float32"))
    with pytest.raises(ValueError, match="no geometry"):
        np.add(a, np.zeros((2, 3, 4), np.float32))
    with pytest.raises(TypeError, match=r"float16 pixels.*dtype=np.float32"):
        np.sqrt(gr.Image((4, 3), "uint8"))
    with pytest.raises(TypeError, match="no image holds"):
        np.multiply(gr.Image((4, 3), "vector_float32", 2), 1j)


def test_gpu_images_compute_on_the_gpu(fake_cupy):  # noqa: F811
    rng = np.random.default_rng(71)
    host, _ = pair_of(rng, gr.PixelType.INT16, dim=3)
    other, _ = pair_of(rng, gr.PixelType.INT16, geometry=(host.size, host.origin,
                                                          host.spacing, host.direction))
    gpu, gpu_other = host.to("cuda"), other.to("cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for got, want in ((gpu + gpu_other, host + other), (gpu // 0, host // 0),
                          (gpu / gpu_other, host / other), (3 - gpu, 3 - host),
                          (gpu >= 2.5, host >= 2.5), (~gpu, ~host), (abs(gpu), abs(host)),
                          (np.sqrt(gpu, dtype=np.float32), np.sqrt(host, dtype=np.float32))):
            assert got.device == "cuda:0" and isinstance(got._array, FakeCupyArray)
            assert got.pixel_type is want.pixel_type and got.origin == want.origin
            np.testing.assert_array_equal(got._array.get(), np.asarray(want))
