"""The command line as a user runs it (subprocesses), against SimpleITK doing the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK")

from helpers import random_affine_transform, random_direction  # noqa: E402


def run(*args: str, check: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "gpuresample", *args], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "NUMBA_NUM_THREADS": "2"})
    if check is not None:
        assert proc.returncode == check, proc.stderr + proc.stdout
    return proc


def write_volume(path, rng, size=(13, 11, 9), pixel=sitk.sitkInt16):
    img = sitk.GetImageFromArray(rng.integers(-1000, 1000, size=size[::-1]).astype(np.int16))
    img = sitk.Cast(img, pixel)
    img.SetSpacing(tuple(rng.uniform(0.5, 2.0, size=3)))
    img.SetOrigin(tuple(rng.normal(scale=10, size=3)))
    img.SetDirection(random_direction(rng, 3).ravel().tolist())
    sitk.WriteImage(img, str(path))
    return img


def folder_of_volumes(tmp_path, rng, names, **volume):
    """An input folder ``in`` holding a volume per name, and an empty output folder ``out``."""
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    for name in names:
        write_volume(inputs / name, rng, **volume)
    return inputs, outputs


def assert_same_image(path, expected: sitk.Image):
    got = sitk.ReadImage(str(path))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(got),
                                  sitk.GetArrayFromImage(expected))
    np.testing.assert_allclose(got.GetOrigin(), expected.GetOrigin(), atol=1e-9)
    np.testing.assert_allclose(got.GetSpacing(), expected.GetSpacing(), atol=1e-12)
    np.testing.assert_allclose(got.GetDirection(), expected.GetDirection(), atol=1e-12)


@pytest.fixture
def rng():
    return np.random.default_rng(8)


def test_resample_onto_a_reference_through_transform_files(tmp_path, rng):
    moving = write_volume(tmp_path / "moving.mha", rng)
    fixed = write_volume(tmp_path / "fixed.mha", rng, size=(10, 12, 8), pixel=sitk.sitkUInt8)
    _, first = random_affine_transform(rng, 3)
    second = sitk.Euler3DTransform((1.0, 2.0, 3.0), 0.2, -0.1, 0.3, (2.0, 0.0, -1.0))
    sitk.WriteTransform(first, str(tmp_path / "first.tfm"))
    sitk.WriteTransform(second, str(tmp_path / "second.h5"))
    run("resample", str(tmp_path / "moving.mha"), str(tmp_path / "out.mha"),
        "--reference", str(tmp_path / "fixed.mha"), "-t", str(tmp_path / "first.tfm"),
        "-t", f"[{tmp_path / 'second.h5'},1]", "-i", "nearest", "--default-value", "-5",
        "-q")
    # the last transform given is applied first, as in ITK's CompositeTransform
    chain = sitk.CompositeTransform([first, second.GetInverse()])
    expected = sitk.Resample(moving, fixed, chain, sitk.sitkNearestNeighbor, -5.0)
    assert_same_image(tmp_path / "out.mha", expected)


def test_order_of_non_commuting_transforms_matters(tmp_path, rng):
    write_volume(tmp_path / "in.mha", rng)
    shift = sitk.TranslationTransform(3, (4.0, 0.0, 0.0))
    turn = sitk.Euler3DTransform((0.0, 0.0, 0.0), 0.0, 0.0, 0.5)
    sitk.WriteTransform(shift, str(tmp_path / "shift.tfm"))
    sitk.WriteTransform(turn, str(tmp_path / "turn.tfm"))
    for name, order in (("a.mha", ("shift", "turn")), ("b.mha", ("turn", "shift"))):
        args = [a for t in order for a in ("-t", str(tmp_path / f"{t}.tfm"))]
        run("resample", str(tmp_path / "in.mha"), str(tmp_path / name), *args, "-q")
    a = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "a.mha")))
    b = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "b.mha")))
    assert not np.array_equal(a, b)
    image = sitk.ReadImage(str(tmp_path / "in.mha"))
    expected = sitk.Resample(image, sitk.CompositeTransform([shift, turn]))
    assert_same_image(tmp_path / "a.mha", expected)


def test_spacing_keeps_the_extent_and_pixel_type_converts(tmp_path, rng):
    image = write_volume(tmp_path / "in.nii.gz", rng)
    run("resample", str(tmp_path / "in.nii.gz"), str(tmp_path / "out.nii.gz"),
        "--spacing", "1.5,1.5,1.5", "--pixel-type", "float32", "-q")
    out = sitk.ReadImage(str(tmp_path / "out.nii.gz"))
    assert out.GetPixelID() == sitk.sitkFloat32
    assert out.GetSpacing() == pytest.approx((1.5, 1.5, 1.5))
    expected = [max(1, round(n * s / 1.5)) for n, s in zip(image.GetSize(),
                                                           image.GetSpacing())]
    assert list(out.GetSize()) == expected


def test_a_folder_with_one_broken_file(tmp_path, rng):
    inputs, outputs = folder_of_volumes(tmp_path, rng, [f"scan{k}.mha" for k in range(3)])
    (inputs / "broken.mha").write_text("ObjectType = Image\nNDims = 3\nDimSize = 4 4\n")
    proc = run("resample", str(inputs / "*.mha"), str(outputs), "--spacing", "2,2,2", "-q",
               check=1)
    assert "broken.mha" in proc.stderr and "1 of 4 inputs failed" in proc.stderr
    assert sorted(os.listdir(outputs)) == ["scan0.mha", "scan1.mha", "scan2.mha"]
    for k in range(3):
        image = sitk.ReadImage(str(inputs / f"scan{k}.mha"))
        assert sitk.ReadImage(str(outputs / f"scan{k}.mha")).GetSpacing() == (2.0, 2.0, 2.0)
        assert image.GetPixelID() == sitk.sitkInt16


def test_existing_output_needs_overwrite(tmp_path, rng):
    write_volume(tmp_path / "in.mha", rng)
    (tmp_path / "out.mha").write_text("keep me")
    proc = run("resample", str(tmp_path / "in.mha"), str(tmp_path / "out.mha"), check=1)
    assert "--overwrite" in proc.stderr
    assert (tmp_path / "out.mha").read_text() == "keep me"
    run("resample", str(tmp_path / "in.mha"), str(tmp_path / "out.mha"), "--overwrite", "-q")
    assert sitk.ReadImage(str(tmp_path / "out.mha")).GetSize() == (13, 11, 9)


def test_usage_errors_exit_2_and_missing_files_exit_1(tmp_path, rng):
    assert run("resample", check=2).returncode == 2
    assert run("resample", "a", "b", "--interpolator", "cubic", check=2).returncode == 2
    proc = run("resample", str(tmp_path / "none.mha"), str(tmp_path / "out.mha"), check=1)
    assert "none.mha" in proc.stderr
    write_volume(tmp_path / "in.mha", rng)
    proc = run("resample", str(tmp_path / "in.mha"), str(tmp_path / "o.mha"), "-t",
               str(tmp_path / "missing.tfm"), check=1)
    assert "missing.tfm" in proc.stderr


def test_info_reports_geometry(tmp_path, rng):
    image = write_volume(tmp_path / "in.nrrd", rng)
    report = json.loads(run("info", str(tmp_path / "in.nrrd"), "--json").stdout)
    assert report["size"] == list(image.GetSize())
    np.testing.assert_allclose(report["spacing"], image.GetSpacing(), rtol=1e-12)
    np.testing.assert_allclose(report["direction"], image.GetDirection(), atol=1e-12)
    assert report["pixel_type"] == "INT16" and report["components"] == 1
    text = run("info", str(tmp_path / "in.nrrd")).stdout
    assert "16-bit signed integer" in text


def test_info_and_resample_of_a_dicom_folder(tmp_path, rng):
    import gpuresample as gr

    volume = gr.image_from_array(rng.integers(0, 2000, size=(4, 6, 5)).astype(np.int16))
    volume.spacing = (0.7, 0.8, 2.5)
    folder = tmp_path / "dicom"
    folder.mkdir()
    gr.write_dicom_series(volume, str(folder))
    report = json.loads(run("info", str(folder), "--json").stdout)
    assert len(report["series"]) == 1 and report["series"][0]["slices"] == 4
    assert report["size"] == [5, 6, 4]
    run("resample", str(folder), str(tmp_path / "ct.nii.gz"), "-q")
    files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder))
    # onto its own grid: positions are ITK's, not exactly integers, as in SimpleITK
    assert_same_image(tmp_path / "ct.nii.gz", sitk.Resample(sitk.ReadImage(files)))


def test_an_elastix_result_resamples_onto_its_fixed_grid(tmp_path, rng):
    moving = write_volume(tmp_path / "moving.nii.gz", rng)
    center, angles, shift = (1.0, -2.0, 0.5), (0.1, -0.2, 0.15), (3.0, 1.0, -2.0)
    (tmp_path / "TransformParameters.0.txt").write_text(f"""\
(Transform "EulerTransform")
(NumberOfParameters 6)
(TransformParameters {' '.join(map(str, angles + shift))})
(InitialTransformParametersFileName "NoInitialTransform")
(HowToCombineTransforms "Compose")
(FixedImageDimension 3)
(MovingImageDimension 3)
(Size 12 10 8)
(Index 0 0 0)
(Spacing 1.5 1.25 2.0)
(Origin -4.0 -3.0 -2.0)
(Direction 1 0 0 0 1 0 0 0 1)
(UseDirectionCosines "true")
(CenterOfRotationPoint {' '.join(map(str, center))})
(ComputeZYX "false")
(ResampleInterpolator "FinalBSplineInterpolator")
(FinalBSplineInterpolationOrder 3)
(DefaultPixelValue 0)
""")
    proc = run("resample", str(tmp_path / "moving.nii.gz"), str(tmp_path / "out.nii.gz"),
               "-t", str(tmp_path / "TransformParameters.0.txt"), "-q")
    assert "B-spline of order 3" in proc.stderr      # transformix's interpolator is said
    euler = sitk.Euler3DTransform(center, *angles, shift)
    expected = sitk.Resample(moving, (12, 10, 8), euler, sitk.sitkLinear, (-4.0, -3.0, -2.0),
                             (1.5, 1.25, 2.0), (1, 0, 0, 0, 1, 0, 0, 0, 1), 0.0)
    assert_same_image(tmp_path / "out.nii.gz", expected)


def test_resample_label_map_with_label_linear(tmp_path, rng):
    labels = sitk.GetImageFromArray(rng.integers(0, 4, size=(9, 11, 13)).astype(np.uint8) * 3)
    labels.SetSpacing((0.8, 1.1, 1.7))
    sitk.WriteImage(labels, str(tmp_path / "seg.mha"))
    _, transform = random_affine_transform(rng, 3)
    sitk.WriteTransform(transform, str(tmp_path / "t.tfm"))
    run("resample", str(tmp_path / "seg.mha"), str(tmp_path / "out.mha"), "-t",
        str(tmp_path / "t.tfm"), "-i", "label_linear", "-q")
    assert_same_image(tmp_path / "out.mha",
                      sitk.Resample(labels, transform, sitk.sitkLabelLinear, 0.0))


def test_ctrl_c_leaves_only_whole_outputs(tmp_path, rng):
    # SIGINT once the first output exists: the command stops with exit 1 ("Aborted!"),
    # every output present reads back whole, and no temporary file is left behind. The
    # child gets SIGINT's default action back: a shell that starts the tests in the
    # background leaves SIGINT ignored, and Python keeps an ignored SIGINT ignored.
    import signal
    import time

    inputs, out = folder_of_volumes(tmp_path, rng, [f"v{k:02d}.nii.gz" for k in range(60)],
                                    size=(48, 40, 36))
    proc = subprocess.Popen([sys.executable, "-m", "gpuresample", "resample",
                             str(inputs / "*.nii.gz"), str(out), "--spacing", "0.3,0.3,0.3",
                             "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NUMBA_NUM_THREADS": "2"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while not any(n.endswith(".nii.gz") and not n.startswith(".") for n in os.listdir(out)):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=300)
    written = sorted(os.listdir(out))
    assert proc.returncode == 1 and "Aborted" in stderr, (proc.returncode, stderr)
    assert 0 < len(written) < 60 and not [n for n in written if n.startswith(".")]
    import gpuresample as gr
    for name in written:
        expected = gr.resample(gr.read_image(str(inputs / name)), spacing=(0.3, 0.3, 0.3),
                               device="cpu")
        np.testing.assert_array_equal(gr.array_from_image(gr.read_image(str(out / name))),
                                      gr.array_from_image(expected))
