"""elastix parameter files: every supported kind against a hand-derived SimpleITK twin.

The files are written here from elastix's documented format (entries as elastix writes
them, ``Direction`` / ``GridDirection`` column-major); the SimpleITK twin of each is built
from the same numbers by hand, and points must map bit for bit.
"""

from __future__ import annotations

import math
import os
import pathlib

import numpy as np
import pytest
import SimpleITK as sitk

import gpuresample as gr
from gpuresample.transform_files import TransformFileError, read_transform
from gpuresample.transform_files.elastix import (ElastixFileError, is_parameter_file, read,
                                                 read_parameter_map, read_with_grid)

from helpers import random_direction


# ---------------------------------------------------------------------------------------
# writing parameter files
# ---------------------------------------------------------------------------------------

def _value(v) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, (bool, np.bool_)):
        return '"true"' if v else '"false"'
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))


def write_map(path, entries: dict) -> str:
    """An elastix transform parameter file, with comments and blank lines as elastix's."""
    lines = ["// written by the gpuresample tests", ""]
    for name, values in entries.items():
        if not isinstance(values, (list, tuple, np.ndarray)):
            values = [values]
        lines.append(f"({name} " + " ".join(_value(v) for v in values) + ")")
    path = os.fspath(path)
    pathlib.Path(path).write_text("\n".join(lines) + "\n")
    return path


def column_major(m: np.ndarray) -> list[float]:
    return np.asarray(m, dtype=np.float64).T.reshape(-1).tolist()


def header(d: int, kind: str, params, initial: str = "NoInitialTransform",
           direction: np.ndarray | None = None, **extra) -> dict:
    entries = {
        "Transform": kind,
        "NumberOfParameters": len(params),
        "TransformParameters": list(params),
        "InitialTransformParametersFileName": initial,
        "HowToCombineTransforms": "Compose",
        "FixedImageDimension": d,
        "MovingImageDimension": d,
        "FixedInternalImagePixelType": "float",
        "MovingInternalImagePixelType": "float",
        "Size": [7, 9, 5][:d],
        "Index": [0] * d,
        "Spacing": [0.75, 1.25, 2.0][:d],
        "Origin": [-3.5, 2.25, 10.0][:d],
        "Direction": column_major(np.eye(d) if direction is None else direction),
        "UseDirectionCosines": True,
    }
    entries.update(extra)
    return entries


def random_points(rng, d: int, n: int = 200, scale: float = 20.0) -> np.ndarray:
    return rng.uniform(-scale, scale, size=(n, d))


def sitk_points(t: sitk.Transform, pts: np.ndarray) -> np.ndarray:
    return np.array([t.TransformPoint(tuple(float(v) for v in p)) for p in pts])


def assert_same_points(ours: gr.Transform, theirs: sitk.Transform, pts: np.ndarray) -> None:
    np.testing.assert_array_equal(ours.transform_points(pts), sitk_points(theirs, pts))


# ---------------------------------------------------------------------------------------
# one transform of each kind: (entries, SimpleITK twin)
# ---------------------------------------------------------------------------------------

def make_translation(rng, d):
    t = rng.normal(scale=5.0, size=d).tolist()
    return {"kind": "TranslationTransform", "params": t, "extra": {}}, \
        sitk.TranslationTransform(d, t)


def make_euler(rng, d, zyx=False):
    center = rng.normal(scale=4.0, size=d).tolist()
    if d == 2:
        params = [rng.uniform(-math.pi, math.pi)] + rng.normal(scale=3.0, size=2).tolist()
        twin = sitk.Euler2DTransform()
        extra = {"CenterOfRotationPoint": center}
    else:
        params = rng.uniform(-math.pi, math.pi, 3).tolist() + rng.normal(scale=3.0,
                                                                         size=3).tolist()
        twin = sitk.Euler3DTransform()
        twin.SetComputeZYX(zyx)
        extra = {"CenterOfRotationPoint": center, "ComputeZYX": zyx}
    twin.SetCenter(center)
    twin.SetParameters(params)
    return {"kind": "EulerTransform", "params": params, "extra": extra}, twin


def make_similarity(rng, d):
    center = rng.normal(scale=4.0, size=d).tolist()
    if d == 2:
        params = [rng.uniform(0.5, 2.0), rng.uniform(-math.pi, math.pi)] \
            + rng.normal(scale=3.0, size=2).tolist()
        twin = sitk.Similarity2DTransform()
    else:
        axis = rng.normal(size=3)
        versor = (axis / np.linalg.norm(axis) * math.sin(rng.uniform(0, 1.5))).tolist()
        params = versor + rng.normal(scale=3.0, size=3).tolist() + [rng.uniform(0.5, 2.0)]
        twin = sitk.Similarity3DTransform()
    twin.SetCenter(center)
    twin.SetParameters(params)
    return {"kind": "SimilarityTransform", "params": params,
            "extra": {"CenterOfRotationPoint": center}}, twin


def make_affine(rng, d):
    center = rng.normal(scale=4.0, size=d).tolist()
    matrix = np.eye(d) + rng.normal(scale=0.3, size=(d, d))
    params = matrix.reshape(-1).tolist() + rng.normal(scale=3.0, size=d).tolist()
    twin = sitk.AffineTransform(d)
    twin.SetCenter(center)
    twin.SetParameters(params)
    return {"kind": "AffineTransform", "params": params,
            "extra": {"CenterOfRotationPoint": center}}, twin


def make_bspline(rng, d, order=3, kind="BSplineTransform"):
    size = rng.integers(order + 2, order + 5, size=d).tolist()
    spacing = rng.uniform(1.5, 4.0, size=d).tolist()
    origin = rng.normal(scale=3.0, size=d).tolist()
    direction = random_direction(rng, d)           # oblique, sometimes a reflection
    params = rng.normal(scale=1.5, size=d * math.prod(size)).tolist()
    twin = sitk.BSplineTransform(d, order)
    twin.SetFixedParameters([float(g) for g in size] + origin + spacing
                            + direction.reshape(-1).tolist())    # ITK: row-major
    twin.SetParameters(params)
    extra = {"GridSize": size, "GridIndex": [0] * d, "GridSpacing": spacing,
             "GridOrigin": origin, "GridDirection": column_major(direction),
             "BSplineTransformSplineOrder": order, "UseCyclicTransform": False}
    return {"kind": kind, "params": params, "extra": extra}, twin


def bspline_points(rng, twin: sitk.BSplineTransform, d: int, n: int = 300) -> np.ndarray:
    """Points over the transform domain and a quarter grid spacing beyond it (most
    inside, some outside), through the control grid's own geometry."""
    fixed = twin.GetFixedParameters()
    size = np.array(fixed[:d])
    origin = np.array(fixed[d:2 * d])
    spacing = np.array(fixed[2 * d:3 * d])
    direction = np.array(fixed[3 * d:]).reshape(d, d)
    low = (twin.GetOrder() - 1) / 2.0              # the domain in grid indices
    idx = rng.uniform(low - 0.25, size - 1 - low + 0.25, size=(n, d))
    return origin + (idx * spacing) @ direction.T


def write_kind(path, d, spec, **kw) -> str:
    return write_map(path, header(d, spec["kind"], spec["params"], **kw, **spec["extra"]))


# ---------------------------------------------------------------------------------------
# every kind, 2-D and 3-D
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("make", [make_translation, make_euler, make_similarity, make_affine])
def test_linear_kinds_match_simpleitk(tmp_path, rng, d, make):
    for trial in range(3):
        spec, twin = make(rng, d)
        path = write_kind(tmp_path / f"TransformParameters.{trial}.txt", d, spec)
        t = read(path)
        assert t.dimension == d and t.is_linear
        assert_same_points(t, twin, random_points(rng, d))


def test_euler_3d_compute_zyx(tmp_path, rng):
    spec, twin = make_euler(rng, 3, zyx=True)
    t = read(write_kind(tmp_path / "t.txt", 3, spec))
    assert t.compute_zyx
    assert_same_points(t, twin, random_points(rng, 3))
    plain, _ = make_euler(rng, 3, zyx=False)
    assert not read(write_kind(tmp_path / "u.txt", 3, plain)).compute_zyx


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("kind", ["BSplineTransform", "RecursiveBSplineTransform"])
def test_bspline_matches_simpleitk(tmp_path, rng, d, order, kind):
    spec, twin = make_bspline(rng, d, order, kind)
    t = read(write_kind(tmp_path / "TransformParameters.0.txt", d, spec))
    assert isinstance(t, gr.BSplineTransform) and t.order == order
    assert t.fixed_parameters == tuple(twin.GetFixedParameters())
    pts = bspline_points(rng, twin, d)
    ours = t.transform_points(pts)
    inside = (ours != pts).any(axis=1)
    assert 0.25 < inside.mean() < 1.0      # most points inside the domain, some not
    np.testing.assert_array_equal(ours, sitk_points(twin, pts))


def test_bspline_grid_index_moves_the_grid(tmp_path, rng):
    spec, twin = make_bspline(rng, 2, 3)
    spec["extra"]["GridIndex"] = [2, -1]
    fixed = list(twin.GetFixedParameters())
    coefficient_image = sitk.Image([int(g) for g in fixed[:2]], sitk.sitkFloat64)
    coefficient_image.SetOrigin(fixed[2:4])
    coefficient_image.SetSpacing(fixed[4:6])
    coefficient_image.SetDirection(fixed[6:])
    fixed[2:4] = coefficient_image.TransformIndexToPhysicalPoint((2, -1))
    twin.SetFixedParameters(fixed)
    twin.SetParameters(spec["params"])
    t = read(write_kind(tmp_path / "t.txt", 2, spec))
    assert t.fixed_parameters == tuple(fixed)
    assert_same_points(t, twin, bspline_points(rng, twin, 2))


def test_itk_transform_parameters(tmp_path, rng):
    """Maps written by itk-elastix for an ITK transform carry ITK's own parameters."""
    _, twin = make_euler(rng, 3, zyx=True)
    entries = {"Transform": "EulerTransform", "FixedImageDimension": 3,
               "ITKTransformParameters": list(twin.GetParameters()),
               "ITKTransformFixedParameters": list(twin.GetFixedParameters()),
               "ITKTransformType": "double"}
    t = read(write_map(tmp_path / "t.txt", entries))
    assert_same_points(t, twin, random_points(rng, 3))


# ---------------------------------------------------------------------------------------
# chains of initial transforms
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [2, 3])
def test_chain_of_three_files(tmp_path, rng, monkeypatch, d):
    """t2 (B-spline) -> t1 (affine, relative name) -> t0 (Euler, absolute name)."""
    sub = tmp_path / "registration"
    sub.mkdir()
    monkeypatch.chdir(tmp_path)      # relative names are not in the working folder
    s0, w0 = make_euler(rng, d)
    s1, w1 = make_affine(rng, d)
    s2, w2 = make_bspline(rng, d, 3)
    p0 = write_kind(sub / "TransformParameters.0.txt", d, s0)
    write_kind(sub / "TransformParameters.1.txt", d, s1, initial=os.path.abspath(p0))
    p2 = write_kind(sub / "TransformParameters.2.txt", d, s2,
                    initial="TransformParameters.1.txt")
    t = read(p2)
    assert isinstance(t, gr.CompositeTransform) and len(t.transforms) == 3
    twin = sitk.CompositeTransform([w2, w1, w0])        # w0 applied first
    pts = np.concatenate([bspline_points(rng, w2, d), random_points(rng, d)])
    assert_same_points(t, twin, pts)
    # and the order matters: the other order gives other points
    assert not np.array_equal(t.transform_points(pts),
                              sitk_points(sitk.CompositeTransform([w0, w1, w2]), pts))


def test_chain_relative_name_prefers_working_folder(tmp_path, rng, monkeypatch):
    here, there = tmp_path / "cwd", tmp_path / "results"
    here.mkdir()
    there.mkdir()
    s_cwd, w_cwd = make_translation(rng, 2)
    s_beside, w_beside = make_translation(rng, 2)
    write_kind(here / "init.txt", 2, s_cwd)
    write_kind(there / "init.txt", 2, s_beside)
    s_top, w_top = make_euler(rng, 2)
    top = write_kind(there / "top.txt", 2, s_top, initial="init.txt")
    pts = random_points(rng, 2)
    monkeypatch.chdir(here)
    assert_same_points(read(top), sitk.CompositeTransform([w_top, w_cwd]), pts)
    monkeypatch.chdir(tmp_path)
    assert_same_points(read(top), sitk.CompositeTransform([w_top, w_beside]), pts)


def test_new_initial_entry_name_wins(tmp_path, rng):
    """elastix 5.2 spells it InitialTransformParameterFileName; that one is preferred."""
    s_a, w_a = make_translation(rng, 3)
    s_b, _ = make_translation(rng, 3)
    write_kind(tmp_path / "a.txt", 3, s_a)
    write_kind(tmp_path / "b.txt", 3, s_b)
    s_top, w_top = make_affine(rng, 3)
    top = write_kind(tmp_path / "top.txt", 3, s_top, initial=str(tmp_path / "b.txt"),
                     InitialTransformParameterFileName=str(tmp_path / "a.txt"))
    assert_same_points(read(top), sitk.CompositeTransform([w_top, w_a]),
                       random_points(rng, 3))


def test_chain_of_composite_is_flat(tmp_path, rng):
    specs = [make_translation(rng, 2) for _ in range(3)]
    p = write_kind(tmp_path / "t0.txt", 2, specs[0][0])
    p = write_kind(tmp_path / "t1.txt", 2, specs[1][0], initial=p)
    t = read(write_kind(tmp_path / "t2.txt", 2, specs[2][0], initial=p))
    assert [type(m).__name__ for m in t.transforms] == ["TranslationTransform"] * 3
    assert [m.offset for m in t.transforms] == [tuple(s[0]["params"]) for s in specs[::-1]]


# ---------------------------------------------------------------------------------------
# the output grid and the resampling settings
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [2, 3])
def test_grid_and_settings(tmp_path, rng, d):
    direction = random_direction(rng, d)
    spec, _ = make_euler(rng, d)
    index = [3, -2, 1][:d]
    path = write_kind(tmp_path / "t.txt", d, spec, direction=direction, Index=index,
                      ResampleInterpolator="FinalBSplineInterpolator",
                      FinalBSplineInterpolationOrder=1, DefaultPixelValue=-1024,
                      ResultImagePixelType="unsigned short", ResultImageFormat="nii.gz",
                      CompressResultImage=True)
    t, grid, settings = read_with_grid(path)
    assert isinstance(t, gr.Euler3DTransform if d == 3 else gr.Euler2DTransform)
    ref = sitk.Image([7, 9, 5][:d], sitk.sitkUInt8)
    ref.SetSpacing([0.75, 1.25, 2.0][:d])
    ref.SetOrigin([-3.5, 2.25, 10.0][:d])
    ref.SetDirection(direction.reshape(-1).tolist())
    assert grid.size == ref.GetSize() and grid.spacing == ref.GetSpacing()
    assert grid.direction.reshape(-1).tolist() == list(ref.GetDirection())
    assert grid.origin == ref.TransformIndexToPhysicalPoint(index)    # the region's start
    assert settings == {"interpolator": "bspline", "bspline_order": 1,
                        "default_value": -1024.0, "pixel_type": gr.PixelType.UINT16,
                        "internal_pixel_type": gr.PixelType.FLOAT32,
                        "result_image_format": "nii.gz", "compress": True,
                        "use_direction_cosines": True}


def test_settings_defaults_and_interpolators(tmp_path, rng):
    spec, _ = make_translation(rng, 2)
    entries = header(2, spec["kind"], spec["params"])
    del entries["Direction"], entries["Index"], entries["UseDirectionCosines"]
    _, grid, settings = read_with_grid(write_map(tmp_path / "t.txt", entries))
    assert grid.origin == (-3.5, 2.25) and grid.direction.tolist() == [[1, 0], [0, 1]]
    assert (settings["interpolator"], settings["bspline_order"], settings["default_value"],
            settings["pixel_type"], settings["result_image_format"]) == \
        ("bspline", 3, 0.0, gr.PixelType.INT16, "mhd")
    for name, expected in [("FinalLinearInterpolator", "linear"),
                           ("FinalNearestNeighborInterpolator", "nearest")]:
        entries["ResampleInterpolator"] = name
        _, _, settings = read_with_grid(write_map(tmp_path / "t.txt", entries))
        assert settings["interpolator"] == expected


def test_top_file_gives_the_grid(tmp_path, rng):
    s0, _ = make_translation(rng, 2)
    p0 = write_kind(tmp_path / "t0.txt", 2, s0, Size=[100, 100], Spacing=[9.0, 9.0])
    s1, _ = make_translation(rng, 2)
    _, grid, _ = read_with_grid(write_kind(tmp_path / "t1.txt", 2, s1, initial=p0))
    assert grid.size == (7, 9) and grid.spacing == (0.75, 1.25)


def test_use_direction_cosines_false(tmp_path, rng):
    spec, _ = make_translation(rng, 3)
    ok = write_kind(tmp_path / "ok.txt", 3, spec, UseDirectionCosines=False)
    assert read_with_grid(ok)[2]["use_direction_cosines"] is False
    bad = write_kind(tmp_path / "bad.txt", 3, spec, UseDirectionCosines=False,
                     direction=random_direction(rng, 3))
    with pytest.raises(ElastixFileError, match="UseDirectionCosines"):
        read_with_grid(bad)


def test_resample_with_the_file(tmp_path, rng):
    """The transform is used as is: output (fixed) points to input (moving) points."""
    spec, twin = make_similarity(rng, 2)
    path = write_kind(tmp_path / "t.txt", 2, spec, FinalBSplineInterpolationOrder=1)
    t, grid, settings = read_with_grid(path)
    moving = rng.uniform(0, 100, size=(12, 10)).astype(np.float32)
    img = gr.image_from_array(moving)
    ours = gr.resample(img, t, "linear", size=grid.size, origin=grid.origin,
                       spacing=grid.spacing, direction=grid.direction, device="cpu")
    ref = sitk.Image(list(grid.size), sitk.sitkFloat32)
    ref.SetOrigin(grid.origin)
    ref.SetSpacing(grid.spacing)
    theirs = sitk.Resample(sitk.GetImageFromArray(moving), ref, twin, sitk.sitkLinear)
    np.testing.assert_array_equal(np.asarray(ours), sitk.GetArrayFromImage(theirs))


# ---------------------------------------------------------------------------------------
# the parser
# ---------------------------------------------------------------------------------------

def test_parser_reads_elastix_syntax(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text('// header\n\n(Transform\t"EulerTransform")  // trailing comment\n'
                    '   (Size 3   4)   \n(ResultImagePixelType "unsigned char")\r\n'
                    '(Empty "")\n(Path "my dir/a b.txt")\n')
    assert read_parameter_map(path) == {
        "Transform": ["EulerTransform"], "Size": ["3", "4"],
        "ResultImagePixelType": ["unsigned char"], "Empty": [],
        "Path": ["my dir/a b.txt"]}


@pytest.mark.parametrize("line, problem", [
    ("Size 3 4", "between brackets"),
    ("(Size 3 4", "between brackets"),
    ("(Size)", "a name and at least one value"),
    ('(Transform "EulerTransform)', "odd number of quotes"),
    ("(Si.ze 3)", "invalid parameter name"),
    ("(Si*ze 3)", "invalid parameter name"),      # elastix's "&-+" is a range
    ("(Size 3)\n(Size 4)", "given more than once"),
])
def test_unparsable_lines(tmp_path, line, problem):
    path = tmp_path / "bad.txt"
    path.write_text('(Transform "TranslationTransform")\n' + line + "\n")
    with pytest.raises(ElastixFileError, match=rf"bad\.txt, line \d: .*{problem}"):
        read(path)


def test_not_a_text_file(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"(Size 3)\0\0\1")
    with pytest.raises(ElastixFileError, match="not a text file"):
        read(path)


# ---------------------------------------------------------------------------------------
# bad files
# ---------------------------------------------------------------------------------------

def test_unknown_transform_name(tmp_path):
    path = write_map(tmp_path / "t.txt", header(3, "AffineDTITransform", [0.0] * 12,
                                                CenterOfRotationPoint=[0, 0, 0]))
    with pytest.raises(ElastixFileError,
                       match=r"t\.txt: gpuresample does not support elastix transform "
                             r"'AffineDTITransform'; supported: TranslationTransform"):
        read(path)


@pytest.mark.parametrize("kind, n, d", [("EulerTransform", 5, 3), ("EulerTransform", 6, 2),
                                        ("SimilarityTransform", 6, 3),
                                        ("AffineTransform", 9, 3),
                                        ("TranslationTransform", 3, 2)])
def test_wrong_parameter_count(tmp_path, kind, n, d):
    path = write_map(tmp_path / "t.txt", header(d, kind, [0.1] * n,
                                                CenterOfRotationPoint=[0.0] * d))
    with pytest.raises(ElastixFileError, match=rf"a {d}-D {kind} takes \d+ parameters, "
                                               rf"got {n}"):
        read(path)


def test_wrong_bspline_parameter_count(tmp_path, rng):
    spec, _ = make_bspline(rng, 2)
    spec["params"] = spec["params"][:-1]
    with pytest.raises(ElastixFileError, match="a 2-D BSplineTransform takes"):
        read(write_kind(tmp_path / "t.txt", 2, spec))


def test_number_of_parameters_mismatch(tmp_path):
    entries = header(2, "TranslationTransform", [1.0, 2.0])
    entries["NumberOfParameters"] = 3
    with pytest.raises(ElastixFileError, match="NumberOfParameters is 3 but "
                                               "TransformParameters has 2 values"):
        read(write_map(tmp_path / "t.txt", entries))


def test_missing_initial_file(tmp_path, rng):
    s0, _ = make_translation(rng, 2)
    p1 = write_kind(tmp_path / "t1.txt", 2, s0, initial="gone.txt")
    p2 = write_kind(tmp_path / "t2.txt", 2, s0, initial=p1)
    with pytest.raises(ElastixFileError,
                       match=r"t1\.txt names the initial transform 'gone\.txt', which does "
                             r"not exist .*chain: .*t2\.txt -> .*t1\.txt -> gone\.txt"):
        read(p2)


def test_cycles(tmp_path, rng):
    s, _ = make_translation(rng, 2)
    a = write_kind(tmp_path / "a.txt", 2, s, initial="b.txt")
    write_kind(tmp_path / "b.txt", 2, s, initial="a.txt")
    with pytest.raises(ElastixFileError, match=r"cycle: .*a\.txt -> .*b\.txt -> .*a\.txt"):
        read(a)
    own = write_kind(tmp_path / "own.txt", 2, s, initial="own.txt")
    with pytest.raises(ElastixFileError, match=r"cycle: .*own\.txt -> .*own\.txt"):
        read(own)


def test_refused_features(tmp_path, rng):
    s, _ = make_translation(rng, 2)
    p0 = write_kind(tmp_path / "t0.txt", 2, s)
    cases = [
        (header(2, "TranslationTransform", [0, 0], initial=p0,
                HowToCombineTransforms="Add"), "HowToCombineTransforms 'Add'"),
        (header(2, "EulerTransform", [0, 0, 0], CenterOfRotation=[1, 2]),
         "voxel index"),
        (header(2, "EulerTransform", [0, 0, 0]), r"\(CenterOfRotationPoint ...\) is missing"),
        (header(2, "TranslationTransform", [0, 0], initial="0"), "in-memory"),
        (header(2, "TranslationTransform", ["t.dat"],
                UseBinaryFormatForTransformationParameters=True), "binary"),
        (header(3, "EulerTransform", [0.0] * 6, CenterOfRotationPoint=[0, 0, 0],
                ComputeZYX="yes"), 'ComputeZYX must be "true" or "false"'),
        (header(2, "TranslationTransform", [0, 0], FixedImageDimension=4,
                MovingImageDimension=4), "must be 2 or 3"),
        (header(2, "TranslationTransform", [0, 0], MovingImageDimension=3),
         "FixedImageDimension 2 and MovingImageDimension 3 differ"),
        (header(2, "TranslationTransform", ["one", 2]), "'one' is not a number"),
        (header(2, "TranslationTransform", [1, "nan"]), "'nan' is not a finite number"),
        (header(2, "SimilarityTransform", [1.0, 0.0, 0.0, 0.0],
                CenterOfRotationPoint=[0, 0, 0]), "CenterOfRotationPoint must have 2"),
    ]
    for i, (entries, message) in enumerate(cases):
        with pytest.raises(ElastixFileError, match=message):
            read(write_map(tmp_path / f"case{i}.txt", entries))
    spec, _ = make_bspline(rng, 2)
    spec["extra"]["UseCyclicTransform"] = True
    with pytest.raises(ElastixFileError, match="cyclic"):
        read(write_kind(tmp_path / "cyclic.txt", 2, spec))
    spec["extra"].update(UseCyclicTransform=False, BSplineTransformSplineOrder=4)
    with pytest.raises(ElastixFileError, match="BSplineTransformSplineOrder must be 1, 2"):
        read(write_kind(tmp_path / "order.txt", 2, spec))
    missing = header(2, "TranslationTransform", [0, 0])
    del missing["Transform"]
    with pytest.raises(ElastixFileError, match=r"\(Transform ...\) is missing"):
        read(write_map(tmp_path / "notransform.txt", missing))


def test_chain_dimension_mismatch(tmp_path, rng):
    s3, _ = make_translation(rng, 3)
    p0 = write_kind(tmp_path / "t0.txt", 3, s3)
    s2, _ = make_translation(rng, 2)
    with pytest.raises(ElastixFileError, match=r"t0\.txt: this initial transform is 3-D, "
                                               r"but .*t1\.txt is 2-D"):
        read(write_kind(tmp_path / "t1.txt", 2, s2, initial=p0))


def test_bad_grid(tmp_path, rng):
    spec, _ = make_translation(rng, 2)
    path = write_kind(tmp_path / "t.txt", 2, spec, Spacing=[1.0, -1.0])
    read(path)                      # the transform itself is fine
    with pytest.raises(ElastixFileError, match="output grid: spacing must be positive"):
        read_with_grid(path)
    path = write_kind(tmp_path / "s.txt", 2, spec, Size=[3.5, 2])
    with pytest.raises(ElastixFileError, match="Size must be integers, got 3.5 2"):
        read_with_grid(path)
    path = write_kind(tmp_path / "u.txt", 2, spec, ResultImagePixelType="rgb")
    with pytest.raises(ElastixFileError, match="ResultImagePixelType 'rgb'"):
        read_with_grid(path)


def test_errors_are_transform_file_errors(tmp_path):
    path = write_map(tmp_path / "t.txt", header(2, "SplineKernelTransform", [0.0]))
    with pytest.raises(TransformFileError, match="SplineKernelTransform"):
        read_transform(path)        # the package's dispatcher finds elastix by content


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.txt does not exist"):
        read(tmp_path / "nothere.txt")


def test_file_is_not_modified(tmp_path, rng):
    spec, _ = make_bspline(rng, 3)
    path = write_kind(tmp_path / "t.txt", 3, spec)
    before = pathlib.Path(path).read_bytes()
    read_with_grid(path)
    assert pathlib.Path(path).read_bytes() == before


def test_transform_file_entry(tmp_path, rng, monkeypatch):
    """(Transform "File"): an ITK transform file, relative to the parameter file's folder,
    read by the package's dispatcher."""
    _, twin = make_affine(rng, 3)
    sitk.WriteTransform(twin, str(tmp_path / "affine.tfm"))
    s0, w0 = make_translation(rng, 3)
    p0 = write_kind(tmp_path / "t0.txt", 3, s0)
    monkeypatch.chdir(os.path.dirname(tmp_path))
    entries = {"Transform": "File", "TransformFileName": "affine.tfm",
               "FixedImageDimension": 3, "InitialTransformParameterFileName": p0}
    t = read(write_map(tmp_path / "t.txt", entries))
    assert_same_points(t, sitk.CompositeTransform([twin, w0]), random_points(rng, 3))
    entries["TransformFileName"] = "t0.txt"
    with pytest.raises(ElastixFileError, match="names an elastix parameter file"):
        read(write_map(tmp_path / "u.txt", entries))
    entries["TransformFileName"] = "nothere.tfm"
    with pytest.raises(ElastixFileError, match=r"nothere\.tfm.* does not exist"):
        read(write_map(tmp_path / "v.txt", entries))


def test_is_parameter_file(tmp_path, rng):
    spec, twin = make_affine(rng, 2)
    assert is_parameter_file(write_kind(tmp_path / "t.txt", 2, spec))
    sitk.WriteTransform(twin, str(tmp_path / "a.tfm"))
    assert not is_parameter_file(tmp_path / "a.tfm")
