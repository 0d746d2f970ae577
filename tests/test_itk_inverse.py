"""``itk_matrix_inverse`` against SimpleITK, bit for bit.

Oracles: an image with origin 0 maps the unit vector e_j to column j of its
physical-point-to-index matrix ``P = inverse(D·diag(spacing))`` exactly, and
``AffineTransform.GetInverse()`` exposes ``itk::Matrix::GetInverse()`` of a general matrix
(including the signs of zero entries).
"""

from __future__ import annotations

import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK")

from gpuresample.itk_inverse import itk_matrix_inverse  # noqa: E402

N_CASES = 1000  # per (dimension, kind); 6000 image cases and 2000 transform cases in all


def sitk_P(spacing: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """ITK's physical-point-to-index matrix of an image, read back column by column."""
    d = len(spacing)
    im = sitk.Image([2] * d, sitk.sitkUInt8)
    im.SetSpacing([float(s) for s in spacing])
    im.SetDirection(np.asarray(direction, dtype=np.float64).ravel().tolist())
    eye = np.eye(d)
    return np.array([im.TransformPhysicalPointToContinuousIndex(tuple(eye[j]))
                     for j in range(d)]).T


def sitk_affine_inverse(matrix: np.ndarray) -> np.ndarray:
    d = matrix.shape[0]
    tr = sitk.AffineTransform(matrix.ravel().tolist(), (0.0,) * d)
    return np.array(tr.GetInverse().GetMatrix()).reshape(d, d)


def random_spacing(rng: np.random.Generator, d: int) -> np.ndarray:
    return 10.0 ** rng.uniform(-3.0, 3.0, size=d)


def random_rotation(rng: np.random.Generator, d: int) -> np.ndarray:
    """Orthonormal, with reflections (QR of a normal matrix, sign-fixed by diag(R))."""
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))[None, :]


def random_general(rng: np.random.Generator, d: int) -> np.ndarray:
    """Non-orthonormal, non-singular (rejects near-singular draws)."""
    while True:
        m = rng.normal(size=(d, d))
        if abs(np.linalg.det(m)) > 1e-3:
            return m


def random_permutation(rng: np.random.Generator, d: int) -> np.ndarray:
    """Identity, axis permutations and axis flips (exact zeros off the pattern)."""
    return np.eye(d)[rng.permutation(d)] * rng.choice([-1.0, 1.0], size=d)[None, :]


DIRECTIONS = {
    "rotation": random_rotation,
    "general": random_general,
    "permutation": random_permutation,
}


def assert_bit_exact(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_array_equal(actual, expected)
    np.testing.assert_array_equal(actual.view(np.uint64), expected.view(np.uint64))


@pytest.mark.parametrize("kind", sorted(DIRECTIONS))
@pytest.mark.parametrize("dim", [2, 3])
def test_matches_image_physical_to_index(dim: int, kind: str) -> None:
    rng = np.random.default_rng([dim, sorted(DIRECTIONS).index(kind), 20261124])
    make = DIRECTIONS[kind]
    failures = []
    for _ in range(N_CASES):
        direction = make(rng, dim)
        spacing = random_spacing(rng, dim)
        A = direction * spacing[None, :]  # what ITK builds: one product per entry
        expected = sitk_P(spacing, direction)
        actual = itk_matrix_inverse(A)
        # The image oracle sums P[i,k]·e_j[k] from +0, so it cannot show the sign of a zero.
        actual = np.where(actual == 0.0, 0.0, actual)
        if not np.array_equal(actual.view(np.uint64), expected.view(np.uint64)):
            failures.append((spacing, direction, actual, expected))
    if failures:
        spacing, direction, actual, expected = failures[0]
        assert_bit_exact(actual, expected)  # show the first mismatch in full
    assert not failures, f"{len(failures)}/{N_CASES} cases differ"


def test_identity_and_axis_aligned() -> None:
    for dim in (2, 3):
        eye = np.eye(dim)
        assert_bit_exact(itk_matrix_inverse(eye), eye)
        spacing = np.array([0.3, 7.0, 1e-3][:dim])
        expected = sitk_P(spacing, eye)
        np.testing.assert_array_equal(itk_matrix_inverse(eye * spacing[None, :]), expected)


@pytest.mark.parametrize("dim", [2, 3])
def test_matches_affine_transform_inverse(dim: int) -> None:
    """General matrices via ``AffineTransform.GetInverse()``, signs of zeros included."""
    rng = np.random.default_rng([dim, 7])
    makers = list(DIRECTIONS.values())
    for i in range(N_CASES):
        A = makers[i % len(makers)](rng, dim) * random_spacing(rng, dim)[None, :]
        assert_bit_exact(itk_matrix_inverse(A), sitk_affine_inverse(A))


def test_differs_from_numpy_somewhere() -> None:
    """Guard that the oracle comparison is meaningful: LU inversion is not bit-exact."""
    rng = np.random.default_rng(3)
    differs = 0
    for _ in range(50):
        A = random_general(rng, 3) * random_spacing(rng, 3)[None, :]
        differs += not np.array_equal(np.linalg.inv(A), sitk_affine_inverse(A))
    assert differs > 0


def test_one_by_one() -> None:
    for x in (2.0, -0.3, 1e-3, 7.5e2):
        assert_bit_exact(itk_matrix_inverse(np.array([[x]])), np.array([[1.0 / x]]))


def test_singular_raises() -> None:
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(ValueError, match="singular"):
        itk_matrix_inverse(singular)
    with pytest.raises(RuntimeError):  # ITK refuses too
        sitk_affine_inverse(singular)
    with pytest.raises(ValueError, match="singular"):
        itk_matrix_inverse(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]))
    # Invertible in exact arithmetic, but the determinant underflows to 0: ITK refuses.
    tiny = np.eye(2) * 1e-200
    with pytest.raises(ValueError, match="singular"):
        itk_matrix_inverse(tiny)
    with pytest.raises(RuntimeError):
        sitk_affine_inverse(tiny)


def test_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        itk_matrix_inverse(np.ones((2, 3)))
    with pytest.raises(ValueError):
        itk_matrix_inverse(np.eye(5))
