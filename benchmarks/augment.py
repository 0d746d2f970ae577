"""Per-sample time of random spatial augmentation: a 128^3 float32 image and its uint8
label map, gpuresample.augment against MONAI, TorchIO and SimpleITK doing the same.

Each peer draws its own random parameters per sample (the same ranges) and resamples the
image linearly and the label with nearest neighbour (gpuresample also with label_linear),
keeping the label's integer type; the time is the whole call per sample, median of
``--repeat`` calls after one warm-up. Peers that are not installed are skipped with a line.

    python -m benchmarks.augment                       # the table
    python -m benchmarks.augment --repeat 7 --record benchmarks/results/DATE-cpu-augment.md
    python -m benchmarks.augment --device cuda --batch 8    # on a GPU: a batch per launch

Ranges: rotation +-10 degrees about each axis, scaling +-10 %; elastic: a cubic B-spline
on 7 control points per axis, displacements up to 7.5 mm (TorchIO's defaults; SimpleITK
the same B-spline), MONAI's Rand3DElasticd with sigma 5-7 voxels, magnitude 50-100, and
gpuresample's field mode too (sigma 5-7 voxels on a half-resolution field).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from typing import Callable

import numpy as np

import gpuresample.augment as ga

DEGREES, SCALES, CONTROL_POINTS, MAX_DISPLACEMENT = 10.0, 0.1, 7, 7.5


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth float32 volume with texture and a uint8 label map of its blobs."""
    rng = np.random.default_rng(seed)
    axes = np.meshgrid(*[np.linspace(-1, 1, n, dtype=np.float32)] * 3, indexing="ij")
    image = np.zeros((n,) * 3, np.float32)
    for _ in range(6):
        c = rng.uniform(-0.6, 0.6, size=3)
        image += np.exp(-sum((a - ci) ** 2 for a, ci in zip(axes, c)) / 0.08)
    label = np.digitize(image, [0.3, 0.7, 1.1]).astype(np.uint8)
    image += 0.05 * rng.standard_normal(image.shape).astype(np.float32)
    return image, label


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _sync(device: str) -> None:
    if device == "cuda":
        import cupy
        cupy.cuda.Device().synchronize()


def ours(kind: str, image, label, label_interpolator: str, precision: str,
         mode: str = "bspline", device: str = "cpu", batch: int = 1):
    """One call per sample, or with ``batch`` > 1 one ``Compose.batch`` call per batch
    (on ``device="cuda"`` the data are CuPy arrays already on the GPU)."""
    t = (ga.RandomAffine(degrees=DEGREES, scales=SCALES) if kind == "affine" else
         ga.RandomElastic(mode, num_control_points=CONTROL_POINTS,
                          max_displacement=MAX_DISPLACEMENT, sigma=(5.0, 7.0)))
    aug = ga.Compose([t], seed=0, device=device, precision=precision,
                     label_interpolator=label_interpolator)
    image, label = image[None], label[None]
    if batch > 1:
        image, label = np.stack([image] * batch), np.stack([label] * batch)
    if device == "cuda":
        import cupy
        image, label = cupy.asarray(image), cupy.asarray(label)
    sample = {"image": image, "label": label}
    call = aug.batch if batch > 1 else aug

    def run():
        out = call(sample)
        _sync(device)
        return out
    return run


def sitk_peer(kind: str, image, label, device: str = "cpu", batch: int = 1):
    if device != "cpu":
        raise ImportError("SimpleITK runs on the CPU only")
    import SimpleITK as sitk

    img, lab = sitk.GetImageFromArray(image), sitk.GetImageFromArray(label)
    rng = np.random.default_rng(0)
    centre = img.TransformContinuousIndexToPhysicalPoint([(s - 1) / 2 for s in img.GetSize()])

    def affine():
        t = sitk.AffineTransform(3)
        t.SetCenter(centre)
        a = np.deg2rad(rng.uniform(-DEGREES, DEGREES, 3))
        r = sitk.Euler3DTransform(centre, *a).GetMatrix()
        m = np.asarray(r).reshape(3, 3) @ np.diag(rng.uniform(1 - SCALES, 1 + SCALES, 3))
        t.SetMatrix(m.ravel().tolist())
        return t

    def elastic():
        t = sitk.BSplineTransformInitializer(img, [CONTROL_POINTS - 3] * 3, 3)
        n = len(t.GetParameters())
        t.SetParameters(rng.uniform(-MAX_DISPLACEMENT, MAX_DISPLACEMENT, n).tolist())
        return t

    draw = affine if kind == "affine" else elastic

    def run():
        for _ in range(batch):
            t = draw()
            out = sitk.Resample(img, t, sitk.sitkLinear), sitk.Resample(
                lab, t, sitk.sitkNearestNeighbor)
        return [sitk.GetArrayViewFromImage(o) for o in out]
    return run


def torchio_peer(kind: str, image, label, device: str = "cpu", batch: int = 1):
    if device != "cpu":
        raise ImportError("TorchIO resamples on the CPU only")
    import torch
    import torchio as tio

    subject = tio.Subject(image=tio.ScalarImage(tensor=torch.from_numpy(image[None])),
                          label=tio.LabelMap(tensor=torch.from_numpy(label[None])))
    t = (tio.RandomAffine(degrees=DEGREES, scales=SCALES) if kind == "affine" else
         tio.RandomElasticDeformation(num_control_points=CONTROL_POINTS,
                                      max_displacement=MAX_DISPLACEMENT))
    return lambda: [t(subject) for _ in range(batch)]


def monai_peer(kind: str, image, label, device: str = "cpu", batch: int = 1):
    import torch
    from monai.transforms import Rand3DElasticd, RandAffined

    dev = torch.device(device)
    sample = {"image": torch.from_numpy(image[None]).to(dev),
              "label": torch.from_numpy(label[None]).to(dev)}
    keys, modes = ("image", "label"), ("bilinear", "nearest")
    if kind == "affine":
        t = RandAffined(keys, prob=1.0, rotate_range=[np.deg2rad(DEGREES)] * 3,
                        scale_range=[SCALES] * 3, mode=modes, padding_mode="zeros",
                        device=dev)
    else:
        t = Rand3DElasticd(keys, sigma_range=(5, 7), magnitude_range=(50, 100), prob=1.0,
                           mode=modes, padding_mode="zeros", device=dev)
    t.set_random_state(0)

    def run():
        for _ in range(batch):      # MONAI's array transforms take one sample at a time
            out = t(sample)
            # MONAI resamples labels in float: back to the label's type, as others keep it
            pair = out["image"], out["label"].to(torch.uint8)
        if device == "cuda":
            torch.cuda.synchronize()
        return pair
    return run


PEERS = {"SimpleITK": sitk_peer, "TorchIO": torchio_peer, "MONAI": monai_peer}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where gpuresample (and MONAI) run; SimpleITK and TorchIO are "
                        "CPU-only and skipped on cuda")
    parser.add_argument("--batch", type=int, default=1,
                        help="samples per call: gpuresample augments them as one batch (one "
                        "launch per key), the peers one after another; times are per sample")
    parser.add_argument("--record", help="also write the table to this markdown file")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    per = dict(device=args.device, batch=args.batch)
    image, label = data(args.size)
    lines = ["| transform | method | ms per sample | its time / ours (fast, label nearest) |",
             "|---|---|---|---|"]
    for kind in ("affine", "elastic"):
        rows: list[tuple[str, float]] = []
        for precision in ("fast", "exact"):
            for li in ("nearest", "label_linear"):
                name = f"gpuresample {precision}, label {li}"
                rows.append((name, timed(ours(kind, image, label, li, precision, **per),
                                         args.repeat) / args.batch))
                print(f"{kind}: {name}: {rows[-1][1] * 1e3:.1f} ms", file=sys.stderr)
        if kind == "elastic":     # MONAI's kind of deformation: a smoothed random field
            for li in ("nearest", "label_linear"):
                name = f"gpuresample fast, field mode, label {li}"
                rows.append((name, timed(ours(kind, image, label, li, "fast", "field", **per),
                                         args.repeat) / args.batch))
                print(f"{kind}: {name}: {rows[-1][1] * 1e3:.1f} ms", file=sys.stderr)
        best = rows[0][1]
        for peer in args.peers.split(","):
            try:
                fn = PEERS[peer](kind, image, label, **per)
            except ImportError as exc:
                print(f"{kind}: {peer} skipped: {exc}", file=sys.stderr)
                lines.append(f"| {kind} | {peer} | skipped ({exc}) | |")
                continue
            rows.append((peer, timed(fn, args.repeat) / args.batch))
            print(f"{kind}: {peer}: {rows[-1][1] * 1e3:.1f} ms", file=sys.stderr)
        for name, seconds in rows:
            lines.append(f"| {kind} | {name} | {seconds * 1e3:.1f} | {seconds / best:.2f}x |")
    header = (f"{args.size}^3 float32 image + uint8 label, per sample, median of "
              f"{args.repeat}; device {args.device}, batch {args.batch}; "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores")
    table = "\n".join([header, "", *lines])
    print(table)
    if args.record:
        with open(args.record, "w") as fh:
            fh.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
