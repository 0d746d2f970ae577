"""Lazy reading (MetaImage, NIfTI: memory-mapped; Zarr) and OME-Zarr 0.4/0.5 files:
geometry from the file without reading pixels, the same pixels as the eager readers,
multiscale pyramids keeping pixel centres, and what other tools (ome-zarr-py) read."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import gpuresample as gr
from gpuresample.io.common import ImageFileError

from helpers import random_direction, random_values

pytest.importorskip("dask.array", reason="the dask extra is not installed")
zarr = pytest.importorskip("zarr", reason="the zarr extra is not installed")


def _image(rng, shape=(5, 6, 7), dtype=np.int16, vector=False):
    values = random_values(rng, shape + ((3,) if vector else ()), dtype)
    img = gr.image_from_array(values, is_vector=vector)
    d = img.dimension
    img.origin = tuple(rng.normal(size=d) * 10)
    img.spacing = tuple(rng.uniform(0.3, 2.0, d))
    img.direction = random_direction(rng, d)
    return img


def _same(a: gr.Image, b: gr.Image, pixels=True):
    assert a.size == b.size and a.pixel_type == b.pixel_type
    np.testing.assert_allclose(a.origin, b.origin, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.spacing, b.spacing, rtol=1e-15)
    np.testing.assert_allclose(a.direction, b.direction, rtol=0, atol=1e-15)
    if pixels:
        np.testing.assert_array_equal(gr.array_from_image(a), gr.array_from_image(b))


@pytest.mark.parametrize("name", ["a.mha", "a.mhd", "a.nii"])
def test_lazy_read_equals_the_eager_read_and_reads_late(tmp_path, rng, name):
    img = _image(rng)
    path = str(tmp_path / name)
    gr.write_image(img, path)
    lazy = gr.read_image(path, lazy=True, chunks=(2, 3, 4))
    eager = gr.read_image(path)
    assert lazy.is_lazy and not eager.is_lazy
    assert lazy.data.chunks[0] == (2, 2, 1)
    _same(lazy, eager)
    assert lazy.metadata == eager.metadata
    # the pixels are read when computed, not before: change them in the file
    raw = path[:-4] + ".raw" if name.endswith(".mhd") else path
    size = os.path.getsize(raw)
    with open(raw, "r+b") as fh:
        fh.seek(size - 2)
        fh.write(np.int16(1234).tobytes())
    assert gr.array_from_image(lazy)[-1, -1, -1] == 1234


def test_lazy_nifti_applies_the_rescale_as_the_eager_reader(tmp_path, rng):
    nib = pytest.importorskip("nibabel")
    values = random_values(rng, (7, 6, 5), np.int16)
    nimg = nib.Nifti1Image(values, np.diag([0.5, 0.7, 1.1, 1.0]))
    nimg.header.set_slope_inter(0.37, -12.5)
    path = str(tmp_path / "scaled.nii")
    nib.save(nimg, path)
    lazy, eager = gr.read_image(path, lazy=True), gr.read_image(path)
    assert lazy.pixel_type == eager.pixel_type == gr.PixelType.FLOAT32
    _same(lazy, eager)


def test_lazy_read_refusals(tmp_path, rng):
    img = _image(rng)
    for name, words in [("c.mha", "uncompressed binary"), ("c.nii.gz", "uncompressed .nii"),
                        ("c.nrrd", "cannot be read lazily")]:
        path = str(tmp_path / name)
        gr.write_image(img, path, compress=True)
        with pytest.raises(ValueError, match=words):
            gr.read_image(path, lazy=True)
    vec = str(tmp_path / "v.nii")
    gr.write_image(_image(rng, vector=True), vec)
    with pytest.raises(ValueError, match="scalar and RGB"):
        gr.read_image(vec, lazy=True)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
@pytest.mark.parametrize("vector", [False, True])
def test_ome_zarr_round_trip(tmp_path, rng, version, vector):
    img = _image(rng, vector=vector, dtype=np.uint16)
    path = str(tmp_path / "a.ome.zarr")
    gr.write_image(img, path, version=version, chunks=(2, 4, 4), unit="micrometer")
    back = gr.read_image(path)
    assert back.is_lazy
    _same(back, img)
    assert back.metadata["ome-zarr:unit"] == "micrometer"
    store = zarr.open(path, mode="r")
    assert store["0"].chunks == ((3,) if vector else ()) + (2, 4, 4)
    ms = (store.attrs["multiscales"] if version == "0.4"
          else store.attrs["ome"]["multiscales"])
    assert [a["name"] for a in ms[0]["axes"]] == (["c"] if vector else []) + ["z", "y", "x"]
    assert gr.read_image(path, lazy=False).is_lazy is False


@pytest.mark.parametrize("version", ["0.4", "0.5"])
@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_ome_zarr_layout_and_chunks_of_fill_left_out(tmp_path, rng, version, dtype):
    """Chunk keys with "/" (0.4: Zarr v2, whose own default is "."), the axes' names as
    dimension_names (0.5); a chunk all of the fill value (0) is not stored, one with a
    single other value is; -0.0 counts as the fill (as Zarr's own test has it)."""
    values = random_values(rng, (6, 8, 8), dtype)
    values[values == 0] = 1
    values[:3, :4] = 0                          # chunk (0, 0, *): all fill
    values[3:, 4:] = 0
    values[5, 7, 7] = 2                         # chunk (1, 1, 1): one voxel not fill
    if dtype == np.float32:
        values[:3, 4:, :4] = -0.0               # chunk (0, 1, 0): fill as Zarr counts it
    img = gr.image_from_array(values)
    path = str(tmp_path / "c.ome.zarr")
    gr.write_image(img, path, version=version, chunks=(3, 4, 4), compress=False)
    level = os.path.join(path, "0")
    files = {os.path.relpath(os.path.join(root, f), level)
             for root, _, names in os.walk(level) for f in names}
    if version == "0.4":
        assert json.load(open(os.path.join(level, ".zarray")))["dimension_separator"] == "/"
        keys = {f for f in files if not f.startswith(".")}
    else:
        meta = json.load(open(os.path.join(level, "zarr.json")))
        assert meta["dimension_names"] == ["z", "y", "x"]
        keys = {f[2:] for f in files if f.startswith("c" + os.sep)}
    stored = {tuple(int(v) for v in k.split(os.sep)) for k in keys}
    fill = {(0, 0, 0), (0, 0, 1), (1, 1, 0)} | ({(0, 1, 0)} if dtype == np.float32 else set())
    assert stored == {c for c in np.ndindex(2, 2, 2)} - fill
    back = np.asarray(gr.array_from_image(gr.read_image(path)))
    np.testing.assert_array_equal(back, np.where(values == 0, 0, values))


def test_all_fill_test_of_the_writer():
    from gpuresample.io.omezarr import _all_fill

    assert _all_fill(np.zeros((2, 3), np.int8), 0) and not _all_fill(np.eye(2, dtype=bool), 0)
    assert _all_fill(np.full(4, 7, np.uint32), 7) and not _all_fill(np.arange(4), 7)
    assert _all_fill(np.full(3, np.nan, np.float64), np.nan)
    assert not _all_fill(np.array([np.nan, 0.0]), np.nan)
    assert not _all_fill(np.array([np.nan]), 0.0) and not _all_fill(np.zeros(2), None)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_what_other_tools_see(tmp_path, rng, version):
    """ome-zarr-py reads the scale and translation as our spacing and origin (z, y, x);
    the direction is gpuresample's own attribute."""
    reader = pytest.importorskip("ome_zarr.reader")
    io_utils = pytest.importorskip("ome_zarr.io")
    img = _image(rng, dtype=np.uint8)
    path = str(tmp_path / "b.ome.zarr")
    gr.write_image(img, path, version=version, levels=2)
    nodes = list(reader.Reader(io_utils.parse_url(path))())
    transforms = nodes[0].metadata["coordinateTransformations"]
    scale = [t for t in transforms[0] if t["type"] == "scale"][0]["scale"]
    shift = [t for t in transforms[0] if t["type"] == "translation"][0]["translation"]
    np.testing.assert_allclose(scale, img.spacing[::-1])
    np.testing.assert_allclose(shift, img.origin[::-1])
    assert len(nodes[0].data) == 2
    np.testing.assert_array_equal(np.asarray(nodes[0].data[0]), gr.array_from_image(img))
    attrs = zarr.open(path, mode="r").attrs
    assert np.allclose(np.reshape(attrs["gpuresample"]["direction"], (3, 3)), img.direction)


@pytest.mark.parametrize("dim", [2, 3])
def test_pyramid_keeps_pixel_centres(tmp_path, rng, dim):
    shape = (8, 10, 12)[3 - dim:]
    img = _image(rng, shape=shape, dtype=np.float64)
    path = str(tmp_path / "p.ome.zarr")
    gr.write_image(img, path, levels=3)
    for k in range(3):
        level = gr.read_image(path, level=k)
        f = 2 ** k
        np.testing.assert_allclose(level.spacing, np.asarray(img.spacing) * f, rtol=1e-15)
        # the first voxel's centre is the centre of the first f^D voxels of level 0
        want = img.transform_continuous_index_to_physical_point([(f - 1) / 2] * dim)
        np.testing.assert_allclose(level.origin, want, atol=1e-12)
        assert level.size == tuple(n // f for n in img.size)
    level1 = gr.array_from_image(gr.read_image(path, level=1))
    base = gr.array_from_image(img)
    means = base.reshape(*[n for s in level1.shape for n in (s, 2)]).mean(
        axis=tuple(range(1, 2 * dim, 2)))
    np.testing.assert_allclose(level1, means, rtol=1e-12, atol=1e-9)
    with pytest.raises(ValueError, match="level 3 does not exist"):
        gr.read_image(path, level=3)


def test_plain_zarr_array_with_caller_geometry(tmp_path, rng):
    values = random_values(rng, (4, 5, 6), np.float32)
    path = str(tmp_path / "plain.zarr")
    zarr.create_array(path, data=values, chunks=(2, 5, 6))
    img = gr.read_image(path, spacing=(0.5, 0.6, 0.7), origin=(1.0, 2.0, 3.0))
    assert img.is_lazy and img.spacing == (0.5, 0.6, 0.7) and img.origin == (1.0, 2.0, 3.0)
    np.testing.assert_array_equal(gr.array_from_image(img), values)
    direct = gr.image_from_array(__import__("dask.array").array.from_zarr(path),
                                 spacing=(0.5, 0.6, 0.7))
    assert direct.is_lazy and direct.size == (6, 5, 4)


def test_ome_zarr_refusals(tmp_path, rng):
    img = _image(rng)
    with pytest.raises(ValueError, match="version must be"):
        gr.write_image(img, str(tmp_path / "a.ome.zarr"), version="0.3")
    with pytest.raises(ValueError, match="unknown OME-Zarr spatial unit"):
        gr.write_image(img, str(tmp_path / "a.ome.zarr"), unit="parsecs")
    with pytest.raises(ValueError, match="levels must be"):
        gr.write_image(img, str(tmp_path / "a.ome.zarr"), levels=0)
    complex_img = gr.image_from_array(np.zeros((3, 4), np.complex64))
    with pytest.raises(ValueError, match="complex"):
        gr.write_image(complex_img, str(tmp_path / "c.ome.zarr"))
    other = tmp_path / "notes.zarr"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a Zarr store"):
        gr.write_image(img, str(other))
    assert (other / "keep.txt").read_text() == "mine"
    path = str(tmp_path / "g.ome.zarr")
    gr.write_image(img, path)
    with pytest.raises(ValueError, match="carries its geometry"):
        gr.read_image(path, spacing=(1.0, 1.0, 1.0))
    group = tmp_path / "empty.zarr"
    zarr.open_group(str(group), mode="w")
    with pytest.raises(ImageFileError, match="without OME-Zarr multiscales"):
        gr.read_image(str(group))


def test_lazy_read_resample_write_end_to_end(tmp_path, rng):
    """OME-Zarr in, lazy resampling, OME-Zarr out: equal to the in-memory resampling."""
    img = _image(rng, shape=(20, 24, 28), dtype=np.uint16)
    src = str(tmp_path / "in.ome.zarr")
    gr.write_image(img, src, chunks=8)
    lazy = gr.read_image(src)
    centre = img.transform_continuous_index_to_physical_point([13.5, 11.5, 9.5])
    t = gr.Euler3DTransform(centre, (0.3, -0.2, 0.25))
    out = gr.resample(lazy, t, spacing=(0.9, 0.9, 0.9), device="cpu", chunks=10)
    dst = str(tmp_path / "out.ome.zarr")
    gr.write_image(out, dst, progress=True)
    back = gr.read_image(dst)
    want = gr.resample(img, t, spacing=(0.9, 0.9, 0.9), device="cpu")
    _same(back, want)
    assert zarr.open(dst, mode="r")["0"].chunks == (10, 10, 10)
    meta = json.loads((tmp_path / "out.ome.zarr" / ".zattrs").read_text())
    assert meta["multiscales"][0]["version"] == "0.4"


def test_cli_resamples_ome_zarr_block_by_block(tmp_path, rng):
    import subprocess
    import sys

    img = _image(rng, shape=(12, 14, 16), dtype=np.int16)
    src, dst = str(tmp_path / "in.ome.zarr"), str(tmp_path / "out.ome.zarr")
    gr.write_image(img, src, chunks=8)
    tfm = str(tmp_path / "t.tfm")
    centre = img.transform_continuous_index_to_physical_point([7.5, 6.5, 5.5])
    t = gr.Euler3DTransform(centre, (0.1, 0.2, -0.3))
    gr.write_transform(t, tfm)
    proc = subprocess.run([sys.executable, "-m", "gpuresample", "resample", src, dst,
                           "--spacing", "1,1,1", "-t", tfm, "--device", "cpu", "--chunks",
                           "5", "--compress"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    want = gr.resample(img, gr.read_transform(tfm), spacing=(1.0, 1.0, 1.0), device="cpu")
    _same(gr.read_image(dst), want)
    assert zarr.open(dst, mode="r")["0"].chunks == (5, 5, 5)


def test_lazy_read_with_a_pixel_type_casts_per_chunk(tmp_path, rng):
    img = _image(rng, dtype=np.float32)
    path = str(tmp_path / "f.mha")
    gr.write_image(img, path)
    lazy = gr.read_image(path, gr.PixelType.INT16, lazy=True)
    eager = gr.read_image(path, gr.PixelType.INT16)
    assert lazy.is_lazy and lazy.pixel_type == gr.PixelType.INT16
    _same(lazy, eager)


@pytest.mark.parametrize("ext", [".mha", ".nii"])
def test_a_lazy_series_of_files(tmp_path, rng, ext):
    slices = []
    for k in range(4):
        img = _image(rng, shape=(6, 7), dtype=np.int16)
        img.direction, img.spacing = np.eye(2), (0.5, 0.7)
        img.origin = (1.0, 2.0 + 0.0 * k)
        path = str(tmp_path / f"s{k}{ext}")
        gr.write_image(img, path)
        slices.append(path)
    lazy = gr.read_image(slices, lazy=True)
    eager = gr.read_image(slices)
    assert lazy.is_lazy and lazy.size == (7, 6, 4)
    _same(lazy, eager)
    with pytest.raises(ValueError, match="cannot be read lazily"):
        gr.write_image(eager[:, :, 0], str(tmp_path / "x.nrrd"))
        gr.read_image([str(tmp_path / "x.nrrd")], lazy=True)
