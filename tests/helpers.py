"""Random geometries and SimpleITK twins of gpuresample objects, for the oracle tests."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

import gpuresample as gr


def random_direction(rng: np.random.Generator, d: int) -> np.ndarray:
    """A random orthonormal matrix; reflections (det -1) as often as rotations."""
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))[None, :]


def random_geometry(rng: np.random.Generator, d: int, size=None):
    """(size, origin, spacing, direction): odd sizes, anisotropic spacing, oblique axes."""
    if size is None:
        size = tuple(int(n) for n in rng.integers(3, 14, size=d) | 1)
    origin = tuple(rng.normal(scale=5.0, size=d).tolist())
    spacing = tuple(rng.uniform(0.4, 2.5, size=d).tolist())
    return size, origin, spacing, random_direction(rng, d)


def make_pair(array: np.ndarray, geometry, is_vector: bool = False):
    """The same image as a gpuresample Image and a SimpleITK Image."""
    size, origin, spacing, direction = geometry
    img = gr.image_from_array(array, is_vector=is_vector)
    img.origin, img.spacing, img.direction = origin, spacing, direction
    s = sitk.GetImageFromArray(array, isVector=is_vector)
    s.SetOrigin(origin)
    s.SetSpacing(spacing)
    s.SetDirection(np.asarray(direction).ravel().tolist())
    return img, s


def random_values(rng: np.random.Generator, shape, dtype) -> np.ndarray:
    """Values spread over most of ``dtype``'s range (floats: +-1000)."""
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return (rng.normal(size=shape) * 1000).astype(dt)
    info = np.iinfo(dt)
    lo, hi = max(info.min, -2**62), min(info.max, 2**62)
    return rng.integers(lo, hi, size=shape, dtype=np.int64 if dt.kind == "i" or hi < 2**62
                        else np.uint64).astype(dt)


def random_affine_transform(rng: np.random.Generator, d: int):
    """A random AffineTransform (and its SimpleITK twin) near the identity."""
    m = np.eye(d) + rng.normal(scale=0.15, size=(d, d))
    t = rng.normal(scale=1.0, size=d)
    c = rng.normal(scale=2.0, size=d)
    return (gr.AffineTransform(m, t, c),
            sitk.AffineTransform(m.ravel().tolist(), t.tolist(), c.tolist()))


SITK_INTERPOLATORS = {"linear": sitk.sitkLinear, "nearest": sitk.sitkNearestNeighbor}


def sitk_pixel_id(pixel_type: gr.PixelType) -> int:
    return int(pixel_type.value)   # gpuresample's enum values are SimpleITK's ids


def assert_same(ours: gr.Image, ref: sitk.Image, interpolator: str = "nearest"):
    """Same grid and pixel type, and bit-identical values (exact mode), any interpolator."""
    assert ours.size == ref.GetSize()
    np.testing.assert_array_equal(ours.origin, ref.GetOrigin())
    np.testing.assert_array_equal(ours.spacing, ref.GetSpacing())
    np.testing.assert_array_equal(ours.direction.ravel(), ref.GetDirection())
    expected = sitk.GetArrayFromImage(ref)
    got = gr.array_from_image(ours.to("cpu"))
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected, err_msg=f"{interpolator} differs")
