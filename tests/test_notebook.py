"""docs/images_and_resampling.md cannot rot: its python blocks run in order in one namespace,
every printed output must equal the text block under it, and each section's results are
compared with SimpleITK 2.5.7 doing the notebook's step."""

from __future__ import annotations

import contextlib
import io
import os
import re

import numpy as np
import pytest
import SimpleITK as sitk

import gpuresample as gr

PAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                    "images_and_resampling.md")


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of every fenced block, in order."""
    return re.findall(r"^```(\w+)\n(.*?)^```", text, re.S | re.M)


@pytest.fixture(scope="module")
def page():
    """The page's namespace after running it, and (printed, shown) text pairs."""
    namespace: dict = {}
    shown: list[tuple[str, str]] = []
    printed = None
    for i, (language, code) in enumerate(code_blocks(open(PAGE, encoding="utf-8").read())):
        if language == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"{PAGE}:block{i}", "exec"), namespace)
            printed = out.getvalue()
        elif language == "text":
            assert printed is not None, f"text block {i} does not follow a python block"
            shown.append((printed, code))
            printed = None
    return namespace, shown


def shown_after(page, marker: str) -> str:
    """The text block shown for the python block whose output contains ``marker``."""
    return next(want for got, want in page[1] if marker in want)


def sitk_logo(ns) -> sitk.Image:
    return sitk.GetImageFromArray(ns["logo_array"], isVector=True)


def assert_same_image(ours: gr.Image, ref: sitk.Image) -> None:
    assert ours.pixel_type.value == ref.GetPixelID() and ours.size == ref.GetSize()
    assert ours.number_of_components == ref.GetNumberOfComponentsPerPixel()
    assert ours.origin == ref.GetOrigin() and ours.spacing == ref.GetSpacing()
    assert tuple(ours.direction.ravel()) == ref.GetDirection()
    want = sitk.GetArrayFromImage(ref)
    np.testing.assert_array_equal(gr.array_view_from_image(ours).reshape(want.shape), want)


def test_every_printed_output_is_the_one_shown(page):
    assert len(page[1]) >= 12
    for printed, shown in page[1]:
        assert printed == shown


def sitk_pixel_id_name(pixel_type: gr.PixelType) -> str:
    """SimpleITK's name of a pixel type: VECTOR_UINT8 -> sitkVectorUInt8, COMPLEX64 ->
    sitkComplexFloat32."""
    name = pixel_type.name.replace("COMPLEX64", "COMPLEX32").replace("COMPLEX128", "COMPLEX64")
    for ours, theirs in (("VECTOR_", "Vector"), ("COMPLEX", "ComplexFloat"), ("UINT", "UInt"),
                         ("INT", "Int"), ("FLOAT", "Float")):
        name = name.replace(ours, theirs)
    return "sitk" + name


def test_pixel_types_are_sitks(page):
    for pixel_type in gr.PixelType:
        assert pixel_type.value == getattr(sitk, sitk_pixel_id_name(pixel_type))
        assert pixel_type.description == sitk.GetPixelIDValueAsString(pixel_type.value)
    assert page[0]["pixel_type"] is gr.PixelType.VECTOR_FLOAT32


def test_creation_attributes_and_pixel_access(page):
    ns = page[0]
    ref3d = sitk.Image(256, 128, 64, sitk.sitkInt16)
    before = "\n".join(["Before modification:", f"origin: {ref3d.GetOrigin()}",
                        f"size: {ref3d.GetSize()}", f"spacing: {ref3d.GetSpacing()}",
                        f"direction: {ref3d.GetDirection()}",
                        f"pixel type: {ref3d.GetPixelIDTypeAsString()}",
                        f"number of pixel components: {ref3d.GetNumberOfComponentsPerPixel()}"])
    ref3d.SetOrigin((78.0, 76.0, 77.0))
    ref3d.SetSpacing([0.5, 0.5, 3.0])
    after = f"After modification:\norigin: {ref3d.GetOrigin()}\nspacing: {ref3d.GetSpacing()}\n"
    assert shown_after(page, "Before modification") == before + "\n\n" + after
    values = [ref3d.GetPixel(0, 0, 0)]
    ref3d.SetPixel(0, 0, 0, 1)
    values += [ref3d.GetPixel(0, 0, 0), ref3d[0, 0, 1]]
    ref3d[0, 0, 1] = 2
    values.append(ref3d[0, 0, 1])
    assert shown_after(page, "0\n1\n0\n2") == "".join(f"{v}\n" for v in values)
    assert_same_image(ns["image_3D"], ref3d)
    assert_same_image(ns["image_2D"], sitk.Image(64, 64, sitk.sitkFloat32))
    assert_same_image(ns["image_RGB"], sitk.Image([128, 64], sitk.sitkVectorUInt8, 3))
    assert_same_image(ns["logo"], sitk_logo(ns))


def test_slicing_the_logo(page):
    ns, ref = page[0], sitk_logo(page[0])
    assert_same_image(ns["logo_subsampled"], ref[::2, ::2])
    assert_same_image(ns["simple"], ref[0:115, :])
    assert_same_image(ns["simple_flipped"], ref[115:0:-1, :])
    ref3d = sitk.Image(256, 128, 64, sitk.sitkInt16)
    assert ns["image_3D"][:, :, 10].size == ref3d[:, :, 10].GetSize()


def test_image_operations(page):
    ns = page[0]
    img1 = sitk.Image((128, 64), sitk.sitkUInt8)
    for i in range(128):
        img1[i, 1] = 5
    img2 = sitk.Image(img1.GetSize(), sitk.sitkUInt8)
    img2.SetOrigin([0.000001, 0.000001])
    for i in range(128):
        img2[i, 1] = 120
        img2[i, 64 // 2] = 60
    img3 = img1 + img2
    assert_same_image(ns["img1"], img1)
    assert_same_image(ns["img2"], img2)
    assert_same_image(ns["img3"], img3)
    assert_same_image(ns["thresholded_image"], img3 > 50)
    far = sitk.Image(img2)
    far.SetOrigin((1e-5, 0.0))
    with pytest.raises(RuntimeError, match="same physical space"):
        img1 + far
    moved = ns["img2"].copy()
    moved.origin = (1e-5, 0.0)
    with pytest.raises(ValueError, match="same physical space.*origins differ by 1e-05"):
        ns["img1"] + moved


def test_numpy_shapes(page):
    ns = page[0]
    ref3d, ref_rgb = sitk.Image(256, 128, 64, sitk.sitkInt16), sitk.Image([128, 64],
                                                                          sitk.sitkVectorUInt8, 3)
    lines = [ref3d.GetSize(), sitk.GetArrayFromImage(ref3d).shape, ref_rgb.GetSize(),
             sitk.GetArrayFromImage(ref_rgb).shape]
    assert shown_after(page, "(64, 128, 256)") == "".join(f"{v}\n" for v in lines)
    view = sitk.GetArrayViewFromImage(sitk_logo(ns))
    assert ns["nda_view"].shape == view.shape and ns["nda_view"].flags.writeable == \
        view.flags.writeable
    nda = ns["nda"]
    lines = [sitk.GetImageFromArray(nda).GetSize(),
             sitk.GetImageFromArray(nda, isVector=True).GetSize()]
    assert shown_after(page, "(3, 20, 10)") == "".join(f"{v}\n" for v in lines)
    assert_same_image(ns["img"], sitk.GetImageFromArray(nda, isVector=True))


def test_rescale_and_cast(page):
    ns = page[0]
    volume = sitk.GetImageFromArray(gr.array_from_image(ns["volume"]))
    assert_same_image(ns["as_bytes"], sitk.Cast(sitk.RescaleIntensity(volume), sitk.sitkUInt8))


def test_resampling_and_the_all_black_image(page):
    ns, logo = page[0], sitk_logo(page[0])
    center = logo.TransformContinuousIndexToPhysicalPoint((np.array(logo.GetSize()) / 2.0).tolist())
    assert ns["center"] == center
    for tx, ty, theta in ((20.0, -10.0, np.pi / 8), (-128.0, 64.0, -np.pi / 4)):
        euler2d = sitk.Euler2DTransform(center, theta, (tx, ty))
        assert_same_image(ns["resample_display"](ns["logo"], tx, ty, theta),
                          sitk.Resample(logo, euler2d))
    move_right = sitk.TranslationTransform(2, (300.0, 0.0))
    assert_same_image(ns["all_black"], sitk.Resample(logo, move_right))
    assert not sitk.GetArrayViewFromImage(sitk.Resample(logo, move_right)).any()
    assert_same_image(ns["moved"], sitk.Resample(logo, [540, 80], move_right.GetInverse(),
                                                 sitk.sitkLinear, (0.0, 0.0), (1.0, 1.0),
                                                 (1.0, 0.0, 0.0, 1.0)))


def test_defining_the_resampling_grid(page):
    ns, logo = page[0], sitk_logo(page[0])
    center = logo.TransformContinuousIndexToPhysicalPoint((np.array(logo.GetSize()) / 2.0).tolist())
    euler2d = sitk.Euler2DTransform(center, 0.0, (64.0, 32.0))
    # the notebook's cell 19, in SimpleITK
    w, h = logo.GetWidth(), logo.GetHeight()
    corners = [logo.TransformIndexToPhysicalPoint(p) for p in ((0, 0), (w, 0), (w, h), (0, h))]
    mapped = [euler2d.GetInverse().TransformPoint(p) for p in corners]
    min_x, min_y = min(mapped)[0], min(mapped, key=lambda p: p[1])[1]
    max_x, max_y = max(mapped)[0], max(mapped, key=lambda p: p[1])[1]
    spacing = logo.GetSpacing()
    size = [int((max_x - min_x) / spacing[0]), int((max_y - min_y) / spacing[1])]
    assert ns["output_origin"] == (min_x, min_y) and list(ns["output_size"]) == size
    ref = sitk.Resample(logo, size, euler2d, sitk.sitkLinear, [min_x, min_y],
                        logo.GetSpacing(), [1.0, 0.0, 0.0, 1.0])
    assert_same_image(ns["resampled_image"], ref)

    rotated = sitk.Euler2DTransform(center, 0.79, (64.0, 32.0))
    grid = ns["grid"]
    reference = sitk.Image(list(grid.size), sitk.sitkUInt8)
    reference.SetOrigin(grid.origin)
    reference.SetSpacing(grid.spacing)
    reference.SetDirection(grid.direction.ravel().tolist())
    assert_same_image(ns["whole"], sitk.Resample(logo, reference, rotated))
    # the grid holds every pixel face SimpleITK's inverse maps, with less than a voxel spare
    faces = [logo.TransformContinuousIndexToPhysicalPoint(p)
             for p in ((-0.5, -0.5), (w - 0.5, -0.5), (w - 0.5, h - 0.5), (-0.5, h - 0.5))]
    inside = np.array([reference.TransformPhysicalPointToContinuousIndex(
        rotated.GetInverse().TransformPoint(p)) for p in faces])
    low, high = inside.min(axis=0), inside.max(axis=0)
    assert np.all(low >= -0.5 - 1e-9) and np.all(high <= np.array(grid.size) - 0.5 + 1e-9)
    assert np.all(high - low > np.array(grid.size) - 1)
