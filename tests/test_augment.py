"""gpuresample.augment: seeded draws recorded as concrete transforms, re-applicable with
gr.resample to the same voxels, invertible where the transform is; images and labels
together; batches in one launch; bad input refused."""

from __future__ import annotations

import doctest
import subprocess
import sys

import numpy as np
import pytest

import gpuresample as gr
import gpuresample.augment as ga
from gpuresample.augment import adapters, compose, draws, engine, random, sample, smoothing
from gpuresample.backends.cpu import CpuBackend
from gpuresample.backends.host import HostKernelBackend


def blobs(rng, shape, labels=(0, 3, 7, 200)):
    """A smooth float32 image and a uint8 label map of a few blobs on it."""
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    image = np.zeros(shape)
    for _ in range(4):
        centre = rng.uniform(-0.6, 0.6, size=len(shape))
        image += np.exp(-sum((g - c) ** 2 for g, c in zip(grids, centre)) / 0.1)
    label = np.digitize(image, [0.4, 0.8, 1.2]).astype(np.uint8)
    return image.astype(np.float32), np.asarray(labels, np.uint8)[label]


def sample_of(rng, dim=3, size=(20, 18, 16)):
    image, label = blobs(rng, size[:dim])
    return {"image": image[None], "label": label[None], "spacing": (1.2, 0.9, 1.5)[:dim],
            "origin": (3.0, -2.0, 1.0)[:dim], "direction": gr.Grid(size[:dim][::-1]).direction}


def as_image(array, s):
    img = gr.image_from_array(array)
    img.spacing, img.origin = s["spacing"], s["origin"]
    return img


ALL = [ga.RandomFlip(axes=(0, 1), flip_probability=0.7),
       ga.RandomAffine(degrees=20, scales=0.15, shear=0.05, translation=2.0),
       ga.RandomElastic(num_control_points=6, max_displacement=3.0),
       ga.RandomAnisotropy(axes=(0, 1), downsampling=(2, 3), p=0.8),
       ga.RandomElastic(mode="field", sigma=3.0, magnitude=(1.0, 3.0))]


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("precision", ["fast", "exact"])
def test_history_reapplies_to_the_same_voxels(backend, rng, dim, precision):
    s = sample_of(rng, dim)
    aug = ga.Compose(ALL, seed=5)
    out = aug(s, device=backend, precision=precision)
    names = [d.name for d in aug.history]
    assert "RandomAffine" in names and "RandomElastic" in names
    img, lab = as_image(s["image"][0], s), as_image(s["label"][0], s)
    again = ga.replay(img, aug.history, "linear", device=backend, precision=precision)
    np.testing.assert_array_equal(gr.array_from_image(again), out["image"][0])
    again = ga.replay(lab, aug.history, "label_linear", is_label=True, device=backend,
                      precision=precision)
    np.testing.assert_array_equal(gr.array_from_image(again), out["label"][0])
    # with no grid round trip, the history is one gr.resample through its composite
    spatial = [d for d in aug.history if d.is_spatial]
    aug2 = ga.Compose(ALL[:3], seed=5)
    out2 = aug2(s, device=backend, precision=precision)
    composite = gr.CompositeTransform([d.transform for d in aug2.history])
    direct = gr.resample(img, composite, "linear", reference=img, device=backend,
                         precision=precision)
    np.testing.assert_array_equal(gr.array_from_image(direct), out2["image"][0])
    assert spatial


def test_seeded_draws_are_reproducible_and_recorded(rng):
    s = sample_of(rng)
    first = ga.Compose(ALL, seed=11)
    a = first(s, device="cpu")
    b = ga.Compose(ALL, seed=11)(s, device="cpu")
    c = ga.Compose(ALL, seed=12)(s, device="cpu")
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["label"], b["label"])
    assert not np.array_equal(a["image"], c["image"])
    first.reseed(11)
    again = first(s, device="cpu")
    np.testing.assert_array_equal(a["image"], again["image"])
    for d in first.history:
        assert isinstance(d, ga.Draw) and d.params


def test_labels_keep_type_and_values(backend, rng):
    s = sample_of(rng)
    for interpolator in ("label_linear", "nearest"):
        out = ga.Compose(ALL, seed=3, label_interpolator=interpolator)(s, device=backend)
        assert out["label"].dtype == np.uint8 and out["image"].dtype == np.float32
        assert set(np.unique(out["label"])) <= set(np.unique(s["label"])) | {0}
        assert len(np.unique(out["label"])) >= 3
        # anisotropy leaves labels alone; the image is blurred, the labels not
        assert out["label"].shape == s["label"].shape


def test_inputs_are_not_modified_and_other_keys_pass(rng):
    s = sample_of(rng)
    s["name"] = "case-1"
    s["mask"] = (s["label"] > 0).astype(np.int16)
    before = {k: np.copy(v) for k, v in s.items() if isinstance(v, np.ndarray)}
    out = ga.Compose(ALL, seed=2)(s, device="cpu")
    for k, v in before.items():
        np.testing.assert_array_equal(s[k], v)
    assert out["name"] == "case-1" and list(out) == list(s)
    assert out["mask"].dtype == np.int16          # "mask" is a label key by default
    assert set(np.unique(out["mask"])) <= {0, 1}


def test_affine_and_flip_round_trip(backend, rng):
    s = sample_of(rng, 3, size=(24, 24, 24))
    aug = ga.Compose([ga.RandomFlip(axes=(0, 1, 2), flip_probability=1.0),
                      ga.RandomAffine(degrees=15, scales=0.1, shear=0.05, translation=1.5)],
                     seed=4)
    aug(s, device=backend)
    transform = gr.CompositeTransform([d.transform for d in aug.history])
    inverse = transform.inverse()
    points = rng.uniform(-10, 10, size=(50, 3))
    np.testing.assert_allclose(inverse.transform_points(transform.transform_points(points)),
                               points, atol=1e-9)
    # per draw too
    for d in aug.history:
        np.testing.assert_allclose(d.inverse().transform_points(
            d.transform.transform_points(points)), points, atol=1e-9)
    z, y, x = np.meshgrid(*[np.arange(24.0)] * 3, indexing="ij")
    smooth = (np.cos(x / 3.0) * np.cos(y / 4.0) * np.cos(z / 5.0)).astype(np.float32)
    img = as_image(smooth, s)
    there = gr.resample(img, transform, "linear", device=backend)
    back = gr.array_from_image(gr.resample(there, inverse, "linear", device=backend))
    inner = (slice(8, 16),) * 3
    np.testing.assert_allclose(back[inner], smooth[inner], atol=0.06)   # two lerps
    assert np.abs(gr.array_from_image(there)[inner] - smooth[inner]).max() > 0.3


def test_flip_of_an_axis_aligned_image_is_the_array_flip(backend, rng):
    image, label = blobs(rng, (6, 7, 8))
    s = {"image": image[None], "label": label[None], "spacing": (0.5, 2.0, 1.0)}
    flip = ga.RandomFlip(axes=(0, 2), flip_probability=1.0)
    out = flip(s, device=backend, precision="exact", image_interpolator="nearest")
    np.testing.assert_array_equal(out["image"][0], image[::-1, :, ::-1])
    np.testing.assert_array_equal(out["label"][0], label[::-1, :, ::-1])


def test_random_affine_draws_within_ranges(rng):
    grid = gr.Grid((10, 12, 14), spacing=(1.0, 2.0, 0.5))
    t = ga.RandomAffine(degrees=(5, 10), scales=(0.8, 0.9), shear=0.1, translation=(1, 2),
                        isotropic=True)
    for _ in range(20):
        d = t.draw(grid, rng)[0]
        assert np.all((np.rad2deg(d.params["angles"]) >= 5) & (np.rad2deg(d.params["angles"]) <= 10))
        assert np.all(d.params["scales"] == d.params["scales"][0])
        assert 0.8 <= d.params["scales"][0] <= 0.9
        assert np.all(np.abs(d.params["shears"]) <= 0.1)
        assert np.all((d.params["translation"] >= 1) & (d.params["translation"] <= 2))
        # the centre goes to centre + translation
        np.testing.assert_allclose(d.transform.transform_point(tuple(ga.image_center(grid))),
                                   ga.image_center(grid) + d.params["translation"])
    never = ga.RandomAffine(p=0.0)
    assert never.draw(grid, rng) == []


def test_elastic_draws(rng):
    grid = gr.Grid((30, 20, 10), spacing=(1.0, 1.5, 3.0))
    d = ga.RandomElastic(num_control_points=(7, 6, 5), max_displacement=(4.0, 2.0, 1.0),
                         locked_borders=1).draw(grid, rng)[0]
    c = d.params["coefficients"]
    assert d.transform.grid_size == (7, 6, 5)
    assert np.all(c[:, 0] == 0) and np.all(c[:, -1] == 0) and np.all(c[:, :, :, 0] == 0)
    for j, m in enumerate((4.0, 2.0, 1.0)):
        assert 0 < np.abs(c[j]).max() <= m
    with pytest.raises(ValueError, match="has no inverse"):
        d.inverse()
    f = ga.RandomElastic(mode="field", sigma=(2, 3), magnitude=(1, 2), field_spacing=2).draw(
        grid, rng)[0]
    assert np.isclose(np.abs(f.params["field"]).max(), f.params["magnitude"])
    assert 1 <= f.params["magnitude"] <= 2
    # the field covers the image
    assert f.transform.field_size[0] * 2 - 2 >= grid.size[0] - 1


def test_anisotropy_draw_and_labels_untouched(rng):
    image, label = blobs(rng, (16, 16, 16))
    t = ga.RandomAnisotropy(axes=2, downsampling=4.0)
    out = t({"image": image[None], "label": label[None]}, device="cpu")
    d = t.history[0]
    assert d.params == {"axis": 2, "factor": 4.0} and d.coarse.size == (16, 16, 4)
    np.testing.assert_array_equal(out["label"][0], label)
    assert not np.array_equal(out["image"][0], image)
    with pytest.raises(ValueError, match="no inverse"):
        d.inverse()


def _count_launches(monkeypatch, backend):
    cls = {"cpu": CpuBackend, "cuda-host": HostKernelBackend}[backend]
    calls = []
    original = cls.execute

    def counting(self, plan, *args, **kwargs):
        calls.append(plan.batch)
        return original(self, plan, *args, **kwargs)

    monkeypatch.setattr(cls, "execute", counting)
    return calls


@pytest.mark.parametrize("dim", [2, 3])
def test_batch_is_one_launch_per_key_and_path(backend, rng, dim, monkeypatch):
    if backend == "cuda":
        pytest.skip("launch counting is written for the host backends")
    items = [sample_of(rng, dim) for _ in range(3)]
    batch = {"image": np.stack([np.concatenate([s["image"], s["image"] * 2]) for s in items]),
             "label": np.stack([s["label"] for s in items]),
             "spacing": items[0]["spacing"]}
    aug = ga.Compose([ga.RandomAffine(degrees=20), ga.RandomElastic(num_control_points=5)],
                     seed=9)
    calls = _count_launches(monkeypatch, backend)
    out = aug.batch(batch, device=backend)
    assert calls == [6, 3]            # image (3 items x 2 channels), label: one launch each
    assert out["image"].shape == batch["image"].shape and out["label"].dtype == np.uint8
    assert len(aug.history) == 3
    for b, history in enumerate(aug.history):
        for c in range(2):
            img = gr.image_from_array(batch["image"][b, c])
            img.spacing = batch["spacing"]
            one = ga.replay(img, history, device=backend)
            np.testing.assert_array_equal(gr.array_from_image(one), out["image"][b, c])
    assert not np.array_equal(out["image"][0], out["image"][1])


def test_image_and_plain_array_in_give_the_same_out(rng):
    image, _ = blobs(rng, (12, 10, 8))
    img = gr.image_from_array(image)
    img.spacing = (2.0, 1.0, 0.5)
    out = ga.RandomAffine(degrees=10).reseed(1)(img, device="cpu")
    assert isinstance(out, gr.Image) and out.spacing == img.spacing
    arr = ga.RandomAffine(degrees=10).reseed(1)(image, spacing=(2.0, 1.0, 0.5), device="cpu")
    assert isinstance(arr, np.ndarray) and arr.shape == image.shape
    np.testing.assert_array_equal(gr.array_from_image(out), arr)


def test_bad_input_is_refused(rng):
    s = sample_of(rng)
    with pytest.raises(ValueError, match="p must be a probability"):
        ga.RandomAffine(p=1.5)
    with pytest.raises(ValueError, match="scales must stay positive"):
        ga.RandomAffine(scales=(0.0, 1.0))
    with pytest.raises(ValueError, match="low <= high"):
        ga.RandomAffine(degrees=(10, 5))
    with pytest.raises(ValueError, match="num_control_points"):
        ga.RandomElastic(num_control_points=3)
    with pytest.raises(ValueError, match="mode must be"):
        ga.RandomElastic(mode="spline")
    with pytest.raises(ValueError, match="leaves no free control point"):
        ga.RandomElastic(num_control_points=4, locked_borders=2)(s, device="cpu")
    with pytest.raises(ValueError, match="not an axis of a 2-D image"):
        ga.RandomFlip(axes=2, flip_probability=1)(np.zeros((1, 5, 5), np.float32))
    with pytest.raises(TypeError, match="unknown augmentation option"):
        ga.Compose([], interpolatr="linear")
    with pytest.raises(ValueError, match="label_interpolator"):
        ga.Compose([], label_interpolator="linear")
    with pytest.raises(TypeError, match="Compose member 0"):
        ga.Compose([gr.AffineTransform(np.eye(2))])
    with pytest.raises(TypeError, match="cannot augment a list"):
        ga.RandomAffine()([1, 2, 3])
    bad = dict(s, label=s["label"][..., :-1])
    with pytest.raises(ValueError, match="spatial shape"):
        ga.RandomAffine()(bad, device="cpu")
    with pytest.raises(ValueError, match=r"is not \(C, \[z,\] y, x\)"):
        ga.RandomAffine()(np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="holds no image"):
        ga.RandomAffine()({"spacing": (1.0, 1.0)})


@pytest.mark.parametrize("module", [ga, adapters, compose, draws, engine, random, sample,
                                    smoothing])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_augment_benchmark_runs(tmp_path, capsys):
    pytest.importorskip("SimpleITK")
    from benchmarks import augment as bench

    record = tmp_path / "r.md"
    assert bench.main(["--size", "12", "--repeat", "1", "--peers", "SimpleITK",
                       "--batch", "2", "--record", str(record)]) == 0
    table = record.read_text()
    for kind in ("affine", "elastic"):
        assert f"| {kind} | SimpleITK |" in table
        assert f"| {kind} | gpuresample fast, label label_linear |" in table
    assert "batch 2" in table and table in capsys.readouterr().out


def test_import_touches_neither_torch_nor_cuda():
    code = ("import sys, gpuresample, gpuresample.augment; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'cupy', 'monai', "
            "'torchio')]; print(bad); assert not bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_plain_array_batch_and_probabilities(rng):
    image, _ = blobs(rng, (10, 9, 8))
    batch = np.stack([np.stack([image, image + 1])] * 4)          # (B, C, z, y, x)
    aug = ga.Compose([ga.RandomAffine(degrees=20, p=0.5)], seed=1)
    out = aug.batch(batch, spacing=(1.0, 1.0, 2.0), device="cpu")
    assert isinstance(out, np.ndarray) and out.shape == batch.shape
    applied = [bool(h) for h in aug.history]
    for b, h in enumerate(aug.history):
        if not h:       # not drawn: the item is the input, resampled through nothing
            np.testing.assert_array_equal(out[b], batch[b])
    # probabilities: p of the transform and of the Compose multiply
    grid = gr.Grid((10, 9, 8))
    g = np.random.default_rng(3)
    nested = ga.Compose([ga.RandomFlip(axes=0, flip_probability=1.0, p=0.5)], p=0.4)
    hits = sum(bool(nested.draw(grid, g)) for _ in range(2000))
    assert abs(hits / 2000 - 0.2) < 0.03
    assert len(applied) == 4


def test_nothing_drawn_returns_a_copy(rng):
    image, _ = blobs(rng, (6, 7, 8))
    x = image[None]
    out = ga.RandomAffine(p=0.0)(x, device="cpu")
    np.testing.assert_array_equal(out, x)
    assert not np.shares_memory(out, x)
