"""gpuresample.augment with PyTorch: tensors in give tensors out without copies, fork-started
DataLoader workers are safe and deterministic per worker seed, MONAI and TorchIO adapters.

torch (CPU build), MONAI and TorchIO are optional: each test says why it is skipped."""

from __future__ import annotations

import multiprocessing
import sys

import numpy as np
import pytest

import gpuresample.augment as ga
from gpuresample.augment.arrays import from_engine, to_engine

torch = pytest.importorskip("torch", reason="torch is not installed (pip install "
                            "'torch==2.13.0', the CPU build; see .ci/run)")


def _volume(seed=0, shape=(16, 14, 12)):
    rng = np.random.default_rng(seed)
    image = rng.random(shape, dtype=np.float32)
    label = (image > 0.6).astype(np.uint8) * 4 + (image < 0.2).astype(np.uint8)
    return image, label


AUG = [ga.RandomAffine(degrees=15, scales=0.1), ga.RandomElastic(num_control_points=5,
                                                                  max_displacement=2.0)]


def test_cpu_tensors_round_trip_without_copies():
    t = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    view, kind = to_engine(t)
    assert kind == "torch" and np.shares_memory(view, t.numpy())
    back = from_engine(view, kind)
    assert isinstance(back, torch.Tensor) and back.data_ptr() == t.data_ptr()
    with pytest.raises(TypeError, match="requires grad"):
        to_engine(t.clone().requires_grad_())


def test_torch_in_torch_out_same_voxels_as_numpy():
    image, label = _volume()
    sample = {"image": torch.from_numpy(image[None]), "label": torch.from_numpy(label[None])}
    out = ga.Compose(AUG, seed=1)(sample, device="cpu")
    ref = ga.Compose(AUG, seed=1)({"image": image[None], "label": label[None]}, device="cpu")
    assert isinstance(out["image"], torch.Tensor) and out["image"].device.type == "cpu"
    assert out["label"].dtype == torch.uint8
    np.testing.assert_array_equal(out["image"].numpy(), ref["image"])
    np.testing.assert_array_equal(out["label"].numpy(), ref["label"])
    # the input tensors are untouched
    np.testing.assert_array_equal(sample["image"].numpy()[0], image)


def test_torch_batch():
    image, label = _volume()
    batch = {"image": torch.from_numpy(np.stack([image[None]] * 3)),
             "label": torch.from_numpy(np.stack([label[None]] * 3))}
    aug = ga.Compose(AUG, seed=2)
    out = aug.batch(batch, device="cpu")
    assert out["image"].shape == (3, 1, *image.shape) and out["label"].dtype == torch.uint8
    assert len(aug.history) == 3
    assert not torch.equal(out["image"][0], out["image"][1])


class _Dataset(torch.utils.data.Dataset):
    def __init__(self):
        self.image, self.label = _volume(3, (12, 10, 8))
        self.augment = ga.Compose(AUG, device="cpu")

    def __len__(self):
        return 6

    def __getitem__(self, index):
        out = self.augment({"image": self.image[None], "label": self.label[None]})
        return out["image"], out["label"]


def _run_loader(seed):
    loader = torch.utils.data.DataLoader(
        _Dataset(), batch_size=1, num_workers=2, worker_init_fn=ga.worker_init_fn,
        multiprocessing_context=multiprocessing.get_context("fork"),
        generator=torch.Generator().manual_seed(seed))
    return [(im.numpy().copy(), lab.numpy().copy()) for im, lab in loader]


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method: Linux only")
def test_dataloader_fork_workers_are_deterministic_per_worker_seed():
    # the parent has used the CPU backend before forking (the case that kills GNU OpenMP)
    _Dataset().augment({"image": np.zeros((1, 8, 8, 8), np.float32)})
    first, second, other = _run_loader(7), _run_loader(7), _run_loader(8)
    assert len(first) == 6
    for (a, la), (b, lb) in zip(first, second):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)
    # workers draw differently from each other (item 0 from worker 0, item 1 from worker 1)
    assert not np.array_equal(first[0][0], first[1][0])
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, other))
    assert all(lab.dtype == np.uint8 for _, lab in first)


def test_monai_metatensor_adapter():
    monai = pytest.importorskip("monai", reason="MONAI is not installed (optional)")
    from monai.data import MetaTensor

    image, label = _volume(4)
    # MONAI layout (C, i, j, k): our [z, y, x] arrays transposed; an anisotropic RAS affine
    affine = torch.tensor([[-1.5, 0, 0, 10.0], [0, -1.0, 0, 20.0], [0, 0, 2.0, -5.0],
                           [0, 0, 0, 1.0]], dtype=torch.float64)
    ijk = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(2, 1, 0)[None]))  # noqa: E731
    data = {"image": MetaTensor(ijk(image), affine=affine),
            "label": MetaTensor(ijk(label), affine=affine), "id": 5}
    t = ga.MonaiDictAdapter(ga.Compose(AUG, seed=3), keys=("image", "label"),
                            label_keys=("label",), device="cpu")
    out = t(data)
    assert isinstance(out["image"], MetaTensor) and out["id"] == 5
    assert torch.equal(out["image"].affine, affine) and out["label"].dtype == torch.uint8
    # the same as augmenting our view with the LPS geometry of the affine
    origin, spacing, direction = ga.geometry_from_ras(affine.numpy())
    assert np.allclose(spacing, (1.5, 1.0, 2.0)) and np.allclose(origin, (-10.0, -20.0, -5.0))
    ref = ga.Compose(AUG, seed=3)({"image": image[None], "label": label[None],
                                   "spacing": spacing, "origin": origin,
                                   "direction": direction}, device="cpu")
    np.testing.assert_array_equal(out["image"].as_tensor().numpy()[0].transpose(2, 1, 0),
                                  ref["image"][0])
    np.testing.assert_array_equal(out["label"].as_tensor().numpy()[0].transpose(2, 1, 0),
                                  ref["label"][0])
    assert np.allclose(ga.ras_from_geometry(origin, spacing, direction), affine.numpy())
    del monai


def test_torchio_subject_adapter():
    tio = pytest.importorskip("torchio", reason="TorchIO is not installed (optional)")
    image, label = _volume(5)
    affine = np.diag([1.2, 0.8, 2.0, 1.0])
    ijk = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(2, 1, 0)[None]))  # noqa: E731
    subject = tio.Subject(t1=tio.ScalarImage(tensor=ijk(image), affine=affine),
                          seg=tio.LabelMap(tensor=ijk(label.astype(np.int16)), affine=affine),
                          age=40)
    aug = ga.Compose(AUG, seed=6)
    out = ga.augment_subject(aug, subject, device="cpu")
    assert isinstance(out["seg"], tio.LabelMap) and out["age"] == 40
    assert np.allclose(out["t1"].affine, affine) and out["seg"].data.dtype == torch.int16
    labels = set(np.unique(out["seg"].data.numpy()))
    assert labels <= {0, 1, 4} and len(labels) == 3
    origin, spacing, direction = ga.geometry_from_ras(affine)
    ref = ga.Compose(AUG, seed=6)({"t1": image[None], "spacing": spacing, "origin": origin,
                                   "direction": direction}, device="cpu")
    np.testing.assert_array_equal(out["t1"].data.numpy()[0].transpose(2, 1, 0), ref["t1"][0])


def test_adapters_map_axes_as_the_tensor_layout():
    """Our axis 0 (x) is the first spatial axis (i) of a MONAI / TorchIO tensor."""
    monai = pytest.importorskip("monai", reason="MONAI is not installed (optional)")
    from monai.data import MetaTensor

    data = torch.from_numpy(np.random.default_rng(0).random((1, 6, 5, 4), dtype=np.float32))
    affine = torch.diag(torch.tensor([0.7, 1.3, 2.0, 1.0], dtype=torch.float64))
    for axis in range(3):
        flip = ga.MonaiDictAdapter(ga.RandomFlip(axes=axis, flip_probability=1.0),
                                   keys=("image",), device="cpu",
                                   image_interpolator="nearest", precision="exact")
        out = flip({"image": MetaTensor(data, affine=affine)})["image"].as_tensor()
        torch.testing.assert_close(out, torch.flip(data, dims=[axis + 1]), rtol=0, atol=0)
    del monai
