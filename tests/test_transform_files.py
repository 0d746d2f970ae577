"""ITK transform files (.tfm/.txt, .h5, .mat) and displacement-field images against
SimpleITK 2.5.7: files SimpleITK writes read to bit-identical points, files gpuresample
writes read back in SimpleITK to the same parameters (and are byte-identical where ITK's
output is deterministic), round trips, and clear errors for bad files."""

from __future__ import annotations

import os
import re
import struct
import zlib

import h5py
import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

import gpuresample as gr
from gpuresample.transform_files import TransformFileError, read_transform, write_transform
from gpuresample.transform_files import _read_format
from gpuresample.transform_files.itk_text import format_number
from gpuresample.transforms import (CompositeTransform, DisplacementFieldTransform,
                                    ScaleTransform, TranslationTransform, transform_from_sitk)

from helpers import random_geometry

FORMATS = (".tfm", ".txt", ".h5", ".mat")
TRIALS = 5


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng([20261201, zlib.crc32(name.encode())])


# ---------------------------------------------------------------------------------------
# random SimpleITK transforms of every kind, each with points where it is interesting
# ---------------------------------------------------------------------------------------

def _spread(rng, d, n=40, scale=60.0):
    pts = rng.uniform(-scale, scale, size=(n, d))
    pts[0] = 0.0
    return pts


def _grid_points(rng, size, origin, spacing, direction, n=60):
    """Points over a grid's extent and a little beyond (continuous index -1.5 .. N+0.5)."""
    d = len(size)
    cidx = rng.uniform(-1.5, np.asarray(size) + 0.5, size=(n, d))
    cidx[:d + 1] = np.round(cidx[:d + 1])        # pixel centres and edges too
    a = np.asarray(direction).reshape(d, d) * np.asarray(spacing)[None, :]
    return np.asarray(origin)[None, :] + cidx @ a.T


def _versor(rng):
    return rng.normal(size=4).tolist()


def _translation(rng, d):
    return sitk.TranslationTransform(d, rng.normal(0, 40, d).tolist()), _spread(rng, d)


def _scale(rng, d):
    t = sitk.ScaleTransform(d, rng.uniform(-3, 3, d).tolist())
    t.SetCenter(rng.normal(0, 20, d).tolist())
    return t, _spread(rng, d)


def _affine(rng, d):
    t = sitk.AffineTransform(rng.normal(size=d * d).tolist(), rng.normal(0, 40, d).tolist(),
                             rng.normal(0, 20, d).tolist())
    return t, _spread(rng, d)


def _euler(rng, d):
    if d == 2:
        t = sitk.Euler2DTransform(rng.normal(0, 20, 2).tolist(), rng.uniform(-7, 7),
                                  rng.normal(0, 40, 2).tolist())
    else:
        t = sitk.Euler3DTransform(rng.normal(0, 20, 3).tolist(), *rng.uniform(-7, 7, 3),
                                  rng.normal(0, 40, 3).tolist())
        t.SetComputeZYX(bool(rng.integers(2)))
    return t, _spread(rng, d)


def _euler3d_zyx(rng, d):
    t, pts = _euler(rng, 3)
    t.SetComputeZYX(True)
    return t, pts


def _similarity(rng, d):
    s, c, tr = rng.uniform(0.2, 4) * rng.choice((1, -1)), rng.normal(0, 20, d), rng.normal(0, 40, d)
    if d == 2:
        t = sitk.Similarity2DTransform(s, rng.uniform(-7, 7), tr.tolist(), c.tolist())
    else:
        t = sitk.Similarity3DTransform(s, _versor(rng), tr.tolist(), c.tolist())
    return t, _spread(rng, d)


def _versor_only(rng, d):
    return sitk.VersorTransform(_versor(rng), rng.normal(0, 20, 3).tolist()), _spread(rng, 3)


def _versor_rigid(rng, d):
    return (sitk.VersorRigid3DTransform(_versor(rng), rng.normal(0, 40, 3).tolist(),
                                        rng.normal(0, 20, 3).tolist()), _spread(rng, 3))


def _image_like(geometry):
    size, origin, spacing, direction = geometry
    img = sitk.Image([int(n) for n in size], sitk.sitkUInt8)
    img.SetOrigin(origin)
    img.SetSpacing(spacing)
    img.SetDirection(np.asarray(direction).ravel().tolist())
    return img


def _bspline(order):
    def make(rng, d):
        geometry = random_geometry(rng, d)
        t = sitk.BSplineTransformInitializer(_image_like(geometry),
                                             rng.integers(1, 4, d).tolist(), order)
        t.SetParameters(rng.normal(0, 3, t.GetNumberOfParameters()).tolist())
        return t, _grid_points(rng, *geometry)
    return make


def _field(rng, d):
    size, origin, spacing, direction = geometry = random_geometry(rng, d)
    img = sitk.GetImageFromArray(rng.normal(0, 2, tuple(size[::-1]) + (d,)), isVector=True)
    img.CopyInformation(_image_like(geometry))
    return sitk.DisplacementFieldTransform(img), _grid_points(rng, *geometry)


def _composite(rng, d):
    parts = [KINDS[k][0](rng, d) for k in ("affine", "bspline3", "euler", "field",
                                            "translation")]
    return (sitk.CompositeTransform([t for t, _ in parts]),
            np.concatenate([p for _, p in parts]))


def _nested(rng, d):
    inner, p1 = _composite(rng, d)
    outer_parts = [_scale(rng, d), (inner, p1), _bspline(2)(rng, d)]
    return (sitk.CompositeTransform([t for t, _ in outer_parts]),
            np.concatenate([p for _, p in outer_parts]))


KINDS = {   # name: (factory, dimensions)
    "translation": (_translation, (2, 3)), "scale": (_scale, (2, 3)),
    "affine": (_affine, (2, 3)), "euler": (_euler, (2, 3)),
    "euler3d_zyx": (_euler3d_zyx, (3,)), "similarity": (_similarity, (2, 3)),
    "versor": (_versor_only, (3,)), "versor_rigid": (_versor_rigid, (3,)),
    "bspline1": (_bspline(1), (2, 3)), "bspline2": (_bspline(2), (2, 3)),
    "bspline3": (_bspline(3), (2, 3)), "field": (_field, (2, 3)),
    "composite": (_composite, (2, 3)), "nested": (_nested, (2, 3)),
}
CASES = [(k, d) for k, (_, dims) in KINDS.items() for d in dims]
IDS = [f"{k}-{d}d" for k, d in CASES]
# ITK cannot write a nested composite ("Composite Transform can only be 1st transform")
SITK_CASES = [(k, d) for k, d in CASES if k != "nested"]
SITK_IDS = [f"{k}-{d}d" for k, d in SITK_CASES]


def _make(kind, d, trial):
    return KINDS[kind][0](_rng(f"{kind}{d}{trial}"), d)


def _sitk_points(t, pts):
    return np.array([t.TransformPoint(p) for p in pts.tolist()], dtype=np.float64)


def _sitk_leaves(t):
    """A SimpleITK transform's non-composite members in order (nested ones flattened)."""
    t = t.Downcast()
    if t.GetName() != "CompositeTransform":
        return [t]
    return [leaf for i in range(t.GetNumberOfTransforms())
            for leaf in _sitk_leaves(t.GetNthTransform(i))]


def _formats_for(kind):
    # a MATLAB file holds one transform (SimpleITK writes a composite's last member only)
    return [f for f in FORMATS if not (f == ".mat" and kind in ("composite", "nested"))]


# ---------------------------------------------------------------------------------------
# files SimpleITK wrote
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,d", SITK_CASES, ids=SITK_IDS)
def test_sitk_written_files_read_bit_identical(kind, d, tmp_path):
    for trial in range(TRIALS):
        st, pts = _make(kind, d, trial)
        for ext in _formats_for(kind):
            path = str(tmp_path / f"t{trial}{ext}")
            sitk.WriteTransform(st, path)
            ours = read_transform(path)
            theirs = sitk.ReadTransform(path)
            assert ours.dimension == d
            np.testing.assert_array_equal(ours.transform_points(pts), _sitk_points(theirs, pts),
                                          err_msg=f"{kind} {d}-D {ext}")
            assert [t.parameters for t in _leaves(ours)] == \
                [t.GetParameters() for t in _sitk_leaves(theirs)]
            assert [t.fixed_parameters for t in _leaves(ours)] == \
                [t.GetFixedParameters() for t in _sitk_leaves(theirs)]


def _leaves(t):
    if not isinstance(t, CompositeTransform):
        return [t]
    return [leaf for m in t.transforms for leaf in _leaves(m)]


@pytest.mark.parametrize("kind,d", CASES, ids=IDS)
def test_written_files_read_back_in_sitk(kind, d, tmp_path):
    for trial in range(TRIALS):
        st, pts = _make(kind, d, trial)
        ours = transform_from_sitk(st)
        want = _leaves(ours)
        for ext in _formats_for(kind):
            path = str(tmp_path / f"ours{trial}{ext}")
            write_transform(ours, path)
            theirs = sitk.ReadTransform(path)
            got = _sitk_leaves(theirs)
            assert [t.GetName() for t in got] == [t.itk_class_name for t in want]
            assert [t.GetParameters() for t in got] == [t.parameters for t in want]
            assert [t.GetFixedParameters() for t in got] == [t.fixed_parameters for t in want]
            # our round trip: the same parameters, and the points SimpleITK's reading gives
            # (a versor's scalar part is not in the file: both recompute it)
            back = read_transform(path)
            assert [t.parameters for t in _leaves(back)] == [t.parameters for t in want]
            assert [t.fixed_parameters for t in _leaves(back)] == \
                [t.fixed_parameters for t in want]
            np.testing.assert_array_equal(back.transform_points(pts), _sitk_points(theirs, pts))
            if kind not in ("versor", "versor_rigid") and (kind, d) != ("similarity", 3):
                np.testing.assert_array_equal(back.transform_points(pts),
                                              ours.transform_points(pts))


@pytest.mark.parametrize("kind,d", SITK_CASES, ids=SITK_IDS)
def test_text_and_matlab_files_byte_identical_to_sitk(kind, d, tmp_path):
    st, _ = _make(kind, d, 0)
    ours = transform_from_sitk(st)
    for ext in _formats_for(kind):
        if ext in (".txt", ".h5"):
            continue      # .txt is .tfm; HDF5 files: see test_hdf5_layout_matches_sitk
        sitk.WriteTransform(st, str(tmp_path / f"sitk{ext}"))
        write_transform(ours, tmp_path / f"ours{ext}")
        assert (tmp_path / f"ours{ext}").read_bytes() == (tmp_path / f"sitk{ext}").read_bytes()


def test_hdf5_layout_matches_sitk(tmp_path):
    st, _ = _composite(_rng("h5layout"), 3)
    sitk.WriteTransform(st, str(tmp_path / "sitk.h5"))
    write_transform(transform_from_sitk(st), tmp_path / "ours.h5")

    def content(path):
        out = {}
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, obj: out.__setitem__(
                name, (obj.dtype.str, obj.shape, obj[()].tolist())
                if isinstance(obj, h5py.Dataset) else "group"))
        return out

    theirs, ours = content(tmp_path / "sitk.h5"), content(tmp_path / "ours.h5")
    for version in ("ITKVersion", "HDFVersion", "OSName", "OSVersion"):
        assert theirs.pop(version)[:2] == ours.pop(version)[:2]
    assert ours == theirs


def test_numbers_written_as_itk_writes_them(tmp_path):
    rng = _rng("numbers")
    values = np.concatenate([
        rng.normal(size=60) * 10.0 ** rng.integers(-40, 40, 60),
        np.frombuffer(rng.bytes(8 * 90), dtype=np.float64),
        [5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1e-7, 1e-6, 1.5e-6, 1e15,
         1e16, 1e20, 1e21, 9.999999999999999e20, -0.0, 0.1 + 0.2, 2.0 ** 53 + 2]])
    values = values[np.isfinite(values)]
    values = values[:len(values) // 3 * 3]
    path = str(tmp_path / "n.tfm")
    for chunk in values.reshape(-1, 3).tolist():
        sitk.WriteTransform(sitk.TranslationTransform(3, chunk), path)
        line = open(path).read().splitlines()[3]
        assert line == "Parameters: " + " ".join(format_number(v) for v in chunk)
        assert read_transform(path).parameters == tuple(v + 0.0 for v in chunk)


def test_composite_layout_and_order(tmp_path):
    t = CompositeTransform([TranslationTransform((10.0, 0.0)),
                            CompositeTransform([ScaleTransform((2.0, 3.0))])])
    write_transform(t, tmp_path / "c.tfm")
    assert (tmp_path / "c.tfm").read_text() == (
        "#Insight Transform File V1.0\n#Transform 0\nTransform: CompositeTransform_double_2_2\n"
        "#Transform 1\nTransform: TranslationTransform_double_2_2\nParameters: 10 0\n"
        "FixedParameters: \n#Transform 2\nTransform: ScaleTransform_double_2_2\n"
        "Parameters: 2 3\nFixedParameters: 0 0\n")
    back = read_transform(tmp_path / "c.tfm")
    assert back.transform_point((1.0, 1.0)) == (12.0, 3.0)   # the last added applies first


@pytest.mark.parametrize("ext", (".tfm", ".h5"))
def test_empty_composite_and_identity(ext, tmp_path):
    for d in (2, 3):
        for st in (sitk.CompositeTransform(d), sitk.Transform(d, sitk.sitkIdentity)):
            path = str(tmp_path / f"e{d}{ext}")
            sitk.WriteTransform(st, path)
            ours = read_transform(path)
            assert ours.dimension == d and ours.parameters == ()
            assert ours.transform_point((1.5,) * d) == (1.5,) * d
            write_transform(ours, tmp_path / f"back{ext}")
            assert sitk.ReadTransform(str(tmp_path / f"back{ext}")).GetName() == st.GetName()


# ---------------------------------------------------------------------------------------
# other class names and precisions ITK reads
# ---------------------------------------------------------------------------------------

def _tfm(path, name, params, fixed):
    path.write_text(f"#Insight Transform File V1.0\n#Transform 0\nTransform: {name}\n"
                    f"Parameters: {' '.join(map(repr, params))}\n"
                    f"FixedParameters: {' '.join(map(repr, fixed))}\n")
    return str(path)


@pytest.mark.parametrize("name,params,fixed", [
    ("MatrixOffsetTransformBase_double_3_3", np.r_[np.eye(3).ravel() + 0.1, 1, 2, 3], [4, 5, 6]),
    ("MatrixOffsetTransformBase_double_2_2", [1.1, 0.2, -0.3, 0.9, 1, 2], [0.5, 0.25]),
    ("Rigid2DTransform_double_2_2", [0.3, 1.0, 2.0], [0.5, 0.25]),
    ("ScaleLogarithmicTransform_double_3_3", [0.1, -0.2, 0.3], [1.0, 2.0, 3.0]),
    ("AffineTransform_float_2_2", [1.1, 0.2, -0.3, 0.9, 1 / 3, 2], [0.5, 0.25]),
    ("Euler3DTransform_float_3_3", [0.1, 0.2, 0.3, 1, 2, 3], [1.0, 2.0, 3.0, 1.0]),
    ("Euler3DTransform_double_3_3", [0.1, 0.2, 0.3, 1, 2, 3], [1.0, 2.0, 3.0]),
    ("BSplineTransform_float_2_2_1", np.linspace(-1, 1, 18), [3, 3, -0.5, -0.5, 1, 1, 1, 0, 0, 1]),
    ("DisplacementFieldTransform_float_2_2", np.linspace(-1, 1, 12), [3, 2, 0, 0, 1, 1, 1, 0, 0, 1]),
])
def test_other_itk_class_names(name, params, fixed, tmp_path):
    path = _tfm(tmp_path / "x.tfm", name, [float(v) for v in params], [float(v) for v in fixed])
    d = int(name.split("_")[2])
    pts = _spread(_rng(name), d, scale=3.0)
    np.testing.assert_array_equal(read_transform(path).transform_points(pts),
                                  _sitk_points(sitk.ReadTransform(path), pts))


def test_float32_hdf5_and_matlab_files_as_ants_writes_them(tmp_path):
    rng = _rng("ants")
    params = rng.normal(size=12).astype(np.float32) + np.eye(3, 4).ravel()[:12].astype(np.float32)
    fixed = rng.normal(size=3).astype(np.float32)
    pts = _spread(rng, 3)
    # .mat: float32 (type 10), little- and big-endian
    for order, code in (("<", 10), (">", 1010)):
        path = str(tmp_path / f"ants{code}.mat")
        with open(path, "wb") as f:
            for var, values in (("AffineTransform_float_3_3", params), ("fixed", fixed)):
                label = var.encode() + b"\0"
                f.write(struct.pack(order + "5i", code, values.size, 1, 0, len(label)) + label
                        + values.astype(order + "f4").tobytes())
        np.testing.assert_array_equal(read_transform(path).transform_points(pts),
                                      _sitk_points(sitk.ReadTransform(path), pts))
    # .h5: a composite of float32 members (antsRegistration's composite files)
    path = str(tmp_path / "ants.h5")
    field = rng.normal(size=(4, 5, 6, 3)).astype(np.float32)
    with h5py.File(path, "w") as f:
        g = f.create_group("TransformGroup")
        for i, (name, p, fp) in enumerate([
                ("CompositeTransform_float_3_3", None, None),
                ("AffineTransform_float_3_3", params, fixed),
                ("DisplacementFieldTransform_float_3_3", field.ravel(),
                 np.r_[6, 5, 4, -2, -3, -4, 1.5, 1, 2, np.eye(3).ravel()].astype(np.float64))]):
            m = g.create_group(str(i))
            m.create_dataset("TransformType", data=[name], dtype=h5py.string_dtype("ascii"))
            if p is not None:
                m.create_dataset("TransformFixedParameters", data=fp)
                m.create_dataset("TransformParameters", data=p)
    pts = np.concatenate([pts, _grid_points(rng, (6, 5, 4), (-2, -3, -4), (1.5, 1, 2),
                                            np.eye(3))])
    np.testing.assert_array_equal(read_transform(path).transform_points(pts),
                                  _sitk_points(sitk.ReadTransform(path), pts))


# ---------------------------------------------------------------------------------------
# displacement fields stored as images
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", (2, 3))
@pytest.mark.parametrize("ext", (".nii.gz", ".nrrd", ".mha"))
def test_field_images(d, ext, tmp_path):
    st, pts = _field(_rng(f"fieldimg{d}{ext}"), d)
    sitk.WriteImage(st.GetDisplacementField(), str(tmp_path / f"sitk{ext}"))
    path = str(tmp_path / f"sitk{ext}")
    theirs = sitk.DisplacementFieldTransform(sitk.Cast(sitk.ReadImage(path),
                                                       sitk.sitkVectorFloat64))
    ours = read_transform(path)
    assert isinstance(ours, DisplacementFieldTransform)
    np.testing.assert_array_equal(ours.transform_points(pts), _sitk_points(theirs, pts))
    # written by us: SimpleITK reads what it reads from its own file of the same field
    # (NIfTI and NRRD geometry does not survive a second round trip exactly, in ITK either)
    write_transform(ours, tmp_path / f"ours{ext}")
    sitk.WriteImage(theirs.GetDisplacementField(), str(tmp_path / f"again{ext}"))
    img = sitk.ReadImage(str(tmp_path / f"ours{ext}"))
    assert img.GetPixelID() == sitk.sitkVectorFloat64
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), ours.field)
    back = sitk.DisplacementFieldTransform(img)
    again = sitk.DisplacementFieldTransform(sitk.ReadImage(str(tmp_path / f"again{ext}")))
    assert back.GetFixedParameters() == again.GetFixedParameters()
    np.testing.assert_array_equal(_sitk_points(back, pts), _sitk_points(again, pts))


@pytest.mark.parametrize("d", (2, 3))
def test_ants_warp_layout(d, tmp_path):
    """ANTs' NIfTI warps: dim[0] = 5, dim[4] = 1, dim[5] = D, intent 1007 (vector), float32
    LPS displacements read as stored, as SimpleITK reads them."""
    rng = _rng(f"ants{d}")
    shape = (5, 4, 3)[:d] + (1,) * (3 - d) + (1, d)
    affine = np.array([[-2.0, 0.1, 0, 10], [0.05, -1.5, 0, 20], [0, 0, 3, -5], [0, 0, 0, 1]])
    img = nib.Nifti1Image(rng.normal(size=shape).astype(np.float32), affine)
    img.header.set_intent("vector")
    img.header.set_qform(affine, 1)
    img.header.set_sform(affine, 1)
    path = str(tmp_path / "warp.nii.gz")
    nib.save(img, path)
    theirs = sitk.DisplacementFieldTransform(sitk.Cast(sitk.ReadImage(path),
                                                       sitk.sitkVectorFloat64))
    ours = read_transform(path)
    field = sitk.ReadImage(path)
    pts = _grid_points(rng, field.GetSize(), field.GetOrigin(), field.GetSpacing(),
                       field.GetDirection())
    np.testing.assert_array_equal(ours.transform_points(pts), _sitk_points(theirs, pts))
    assert ours.fixed_parameters == theirs.GetFixedParameters()


def test_field_writing_warns_about_what_is_lost(tmp_path):
    st, _ = _field(_rng("lost"), 2)
    t = transform_from_sitk(st)
    nearest = DisplacementFieldTransform(t.field_image(), "nearest")
    for ext in (".nii", ".tfm", ".h5"):
        with pytest.warns(UserWarning, match="nearest-neighbour interpolator is not written"):
            write_transform(nearest, tmp_path / f"n{ext}")
    with pytest.raises(ValueError, match=r"an image file holds a single displacement field"):
        write_transform(TranslationTransform((1.0, 2.0)), tmp_path / "t.nii.gz")
    assert not (tmp_path / "t.nii.gz").exists()


# ---------------------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------------------

def test_dispatch(tmp_path):
    itk = _tfm(tmp_path / "a.txt", "TranslationTransform_double_2_2", [1.0, 2.0], [])
    assert _read_format(itk) == "itk-text"
    headerless = tmp_path / "b.txt"
    headerless.write_text("Transform: TranslationTransform_double_2_2\nParameters: 1 2\n"
                          "FixedParameters:\n")
    assert _read_format(str(headerless)) == "itk-text"
    assert read_transform(headerless).offset == (1.0, 2.0)       # ITK needs no header
    (tmp_path / "TransformParameters.0.txt").write_text("#Insight Transform File V1.0\n")
    assert _read_format(str(tmp_path / "TransformParameters.0.txt")) == "elastix"
    (tmp_path / "reg.txt").write_text('// elastix\n(Transform "TranslationTransform")\n')
    assert _read_format(str(tmp_path / "reg.txt")) == "elastix"
    (tmp_path / "reg.param").write_text('(Transform "TranslationTransform")\n')
    assert _read_format(str(tmp_path / "reg.param")) == "elastix"
    copy = tmp_path / "itk.transform"
    copy.write_text(open(itk).read())
    assert read_transform(copy).offset == (1.0, 2.0)
    renamed = tmp_path / "itk.h5"
    renamed.write_text(open(itk).read())
    assert read_transform(renamed, format="itk-text").offset == (1.0, 2.0)
    for ext, kind in ((".h5", "hdf5"), (".HDF5", "hdf5"), (".mat", "matlab"),
                      (".nii", "field"), (".nii.gz", "field"), (".nhdr", "field"),
                      (".mhd", "field")):
        (tmp_path / f"f{ext}").write_bytes(b"x")
        assert _read_format(str(tmp_path / f"f{ext}")) == kind
    with pytest.raises(ValueError, match="TransformParameters.*elastix parameter files"):
        write_transform(TranslationTransform((1.0, 2.0)), tmp_path / "TransformParameters.1.txt")
    with pytest.raises(ValueError, match=r"cannot tell the transform format of .*x\.json"):
        write_transform(TranslationTransform((1.0, 2.0)), tmp_path / "x.json")
    with pytest.raises(ValueError, match="unknown transform file format 'xml'"):
        read_transform(itk, format="xml")
    with pytest.raises(FileNotFoundError, match="no such transform file"):
        read_transform(tmp_path / "missing.tfm")
    with pytest.raises(IsADirectoryError):
        read_transform(tmp_path)


# ---------------------------------------------------------------------------------------
# bad files
# ---------------------------------------------------------------------------------------

def _raises(path, problem):
    return pytest.raises(TransformFileError, match=re.escape(str(path)) + ".*" + problem)


def test_bad_text_files(tmp_path):
    good = str(tmp_path / "good.tfm")
    sitk.WriteTransform(sitk.Euler2DTransform((1, 2), 0.3, (4, 5)), good)
    text = open(good).read()
    cases = {
        "unknown.tfm": (text.replace("Euler2DTransform", "FooTransform"),
                        "unknown transform class 'FooTransform_double_2_2'"),
        "noname.tfm": (text.replace("Euler2DTransform_double_2_2", "Euler2DTransform"),
                       "unknown transform class"),
        "unsupported.tfm": (text.replace("Euler2DTransform_double_2_2",
                                         "QuaternionRigidTransform_double_3_3"),
                            "QuaternionRigidTransform_double_3_3 transforms are not supported"),
        "count.tfm": (text.replace("Parameters: 0.3 4 5", "Parameters: 0.3 4"),
                      r"Euler2DTransform takes 3 parameters, got 2"),
        "fixedcount.tfm": (text.replace("FixedParameters: 1 2", "FixedParameters: 1 2 3"),
                           r"takes 2 fixed parameters, got 3"),
        "truncated.tfm": (text[:text.index("FixedParameters")],
                          "no FixedParameters line: the file is truncated"),
        "cut.tfm": (text[:text.index("Euler2DTransform") + 9], "unknown transform class"),
        "empty.tfm": ("", "the file is empty"),
        "blank.txt": ("\n  \n", "the file is empty"),
        "header.tfm": ("#Insight Transform File V1.0\n#Transform 0\n", "holds no transform"),
        "prose.txt": ("#Insight Transform File V1.0\nthese are not the transforms\n",
                      "line 2: not an ITK transform file"),
        "word.tfm": (text.replace("0.3 4 5", "0.3 four 5"), "line 4: Parameters holds 'four', "
                     "which is not a number"),
        "nan.tfm": (text.replace("0.3 4 5", "0.3 nan 5"), "'nan', which is not a number"),
        "inf.tfm": (text.replace("0.3 4 5", "0.3 1e400 5"), "non-finite"),
        "twice.tfm": (text + "Parameters: 1 2 3\n", "a second Parameters line"),
        "early.tfm": ("Parameters: 1 2\n" + text, "Parameters before any 'Transform:' line"),
        "dims.tfm": (text.replace("_2_2", "_2_3"), "maps 2-D points to 3-D ones"),
        "4d.tfm": (text.replace("_2_2", "_4_4"), "is 4-D"),
        "nested.tfm": ("#Insight Transform File V1.0\nTransform: CompositeTransform_double_2_2\n"
                       "Transform: CompositeTransform_double_2_2\n" + text,
                       "transform 1 is a CompositeTransform; a composite may only be the first"),
        "mixed.tfm": ("Transform: CompositeTransform_double_3_3\n" + text,
                      r"transform 1 \(Euler2DTransform_double_2_2\) is 2-D inside a 3-D"),
        "binary.tfm": ("\0\x01\x02garbage", "binary data, not text"),
    }
    for name, (content, problem) in cases.items():
        path = tmp_path / name
        path.write_bytes(content.encode("latin-1"))
        with _raises(path, problem):
            read_transform(path)


def test_several_transforms_without_composite_use_the_first(tmp_path):
    path = tmp_path / "two.tfm"
    path.write_text("#Insight Transform File V1.0\n"
                    "Transform: TranslationTransform_double_2_2\nParameters: 1 0\nFixedParameters:\n"
                    "Transform: ScaleTransform_double_2_2\nParameters: 2 2\nFixedParameters: 0 0\n")
    with pytest.warns(UserWarning, match="only the first is used"):
        ours = read_transform(path)
    assert ours.transform_point((1.0, 1.0)) == sitk.ReadTransform(str(path)).TransformPoint((1, 1))


def test_bad_hdf5_files(tmp_path):
    good = str(tmp_path / "good.h5")
    sitk.WriteTransform(sitk.CompositeTransform([sitk.AffineTransform(3),
                                                 sitk.TranslationTransform(3, (1, 2, 3))]), good)
    data = open(good, "rb").read()
    for name, cut in (("half.h5", len(data) // 2), ("head.h5", 100), ("tail.h5", len(data) - 8)):
        (tmp_path / name).write_bytes(data[:cut])
        with _raises(tmp_path / name, "truncated or damaged"):
            read_transform(tmp_path / name)
    (tmp_path / "empty.h5").write_bytes(b"")
    with _raises(tmp_path / "empty.h5", "the file is empty"):
        read_transform(tmp_path / "empty.h5")
    (tmp_path / "text.h5").write_text("#Insight Transform File V1.0\n")
    with _raises(tmp_path / "text.h5", "not a readable HDF5 file"):
        read_transform(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("image", data=np.zeros(4))
    with _raises(tmp_path / "other.h5", r"not an ITK transform file \(no /TransformGroup"):
        read_transform(tmp_path / "other.h5")

    def doctored(name, edit):
        path = tmp_path / name
        path.write_bytes(data)
        with h5py.File(path, "r+") as f:
            edit(f)
        return path

    def rename(f):
        f["TransformGroup/1/TransformType"][0] = "FooTransform_double_3_3"

    def drop(f):
        del f["TransformGroup/2/TransformParameters"]

    def short(f):
        del f["TransformGroup/1/TransformParameters"]
        f["TransformGroup/1"].create_dataset("TransformParameters", data=np.zeros(11))

    def ints(f):
        del f["TransformGroup/2/TransformParameters"]
        f["TransformGroup/2"].create_dataset("TransformParameters", data=np.zeros(3, int))

    def gap(f):
        f["TransformGroup"].move("2", "5")

    for name, edit, problem in (
            ("unknown.h5", rename, "unknown transform class 'FooTransform_double_3_3'"),
            ("missing.h5", drop, "/TransformGroup/2 has no TransformParameters dataset"),
            ("count.h5", short, "AffineTransform takes 12 parameters, got 11"),
            ("ints.h5", ints, "must be a 1-D float32 or float64 dataset"),
            ("gap.h5", gap, "no group /TransformGroup/2")):
        with _raises(doctored(name, edit), problem):
            read_transform(tmp_path / name)


def test_bad_matlab_files(tmp_path):
    good = str(tmp_path / "good.mat")
    sitk.WriteTransform(sitk.AffineTransform(3), good)
    data = open(good, "rb").read()
    cases = {
        "empty.mat": (b"", "the file is empty"),
        "header.mat": (data[:12], r"variable 0 \(byte 0\): truncated header"),
        "values.mat": (data[:60], "variable 0 .*truncated: the header declares"),
        "nofixed.mat": (data[:data.index(b"fixed") - 20], "no fixed parameters after it"),
        "text.mat": (b"#Insight Transform File V1.0\n" * 3, "not a MAT v4 file"),
        "v5.mat": (b"MATLAB 5.0 MAT-file" + bytes(200), "not a MAT v4 file"),
        "matrix.mat": (struct.pack("<5i", 0, 2, 2, 0, 2) + b"a\0" + bytes(32),
                       "a 2x2 matrix; ITK transform files hold column vectors only"),
        "unknown.mat": (data.replace(b"AffineTransform", b"FooTransform\0\0\0"),
                        "unknown transform class 'FooTransform"),
    }
    for name, (content, problem) in cases.items():
        (tmp_path / name).write_bytes(content)
        with _raises(tmp_path / name, problem):
            read_transform(tmp_path / name)
    composite = transform_from_sitk(_composite(_rng("matc"), 2)[0])
    with pytest.raises(ValueError, match="a MATLAB transform file holds one transform"):
        write_transform(composite, tmp_path / "c.mat")
    assert not (tmp_path / "c.mat").exists()


def test_bad_field_images(tmp_path):
    scalar = gr.image_from_array(np.zeros((4, 5), np.float32))
    gr.write_image(scalar, tmp_path / "scalar.nii")
    with _raises(tmp_path / "scalar.nii", "not a displacement field: a 2-D field holds 2 float"):
        read_transform(tmp_path / "scalar.nii")
    three = gr.image_from_array(np.zeros((4, 5, 3)), is_vector=True)
    gr.write_image(three, tmp_path / "three.mha")
    with _raises(tmp_path / "three.mha", "with 3 component"):
        read_transform(tmp_path / "three.mha")
    (tmp_path / "cut.nii.gz").write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(TransformFileError, match="cut.nii.gz"):
        read_transform(tmp_path / "cut.nii.gz")


def test_inputs_are_not_modified_and_failures_leave_no_file(tmp_path):
    st, _ = _composite(_rng("keep"), 3)
    t = transform_from_sitk(st)
    before = [m.parameters for m in t.transforms]
    write_transform(t, tmp_path / "c.h5")
    assert [m.parameters for m in t.transforms] == before
    with pytest.raises(TypeError, match="takes a gpuresample Transform"):
        write_transform(st, tmp_path / "s.tfm")
    assert sorted(os.listdir(tmp_path)) == ["c.h5"]
