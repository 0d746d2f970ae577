"""The folder case of the command line: many oblique int16 NIfTI volumes resampled onto a
reference through a .tfm transform, ``gpuresample resample`` against a plain SimpleITK loop
(ReadImage, ReadTransform, Resample, WriteImage) doing the same, wall time of each in one
run, and where gpuresample's time goes (decode, resample, encode).

Run from the repository root::

    python -m benchmarks.folder --count 50 --size 128

Both write ``.nii.gz`` (gzip level 6 for SimpleITK; gpuresample's NIfTI writer's own).

gpuresample is timed as an installed package starts: its bytecode compiled (pip does that
on install; this checkout may run with PYTHONDONTWRITEBYTECODE) and numba's kernel cache
filled by an earlier run (the warm-up on one file, whose time is printed too: the first
run after installing or changing the kernels compiles the kernel, several seconds).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def make_inputs(folder: str, count: int, size: int, seed: int = 20261201) -> tuple[str, str]:
    """``count`` random oblique int16 volumes, a reference and a transform in ``folder``."""
    import SimpleITK as sitk

    from gpuresample.phantom import phantom

    rng = np.random.default_rng(seed)
    inputs = os.path.join(folder, "in")
    os.makedirs(inputs)
    # CT-like content: a phantom in Hounsfield-like units with scanner noise
    body = np.asarray(phantom((size,) * 3), dtype=np.float64) * 1000.0 - 1000.0
    centre = np.full(3, (size - 1) / 2.0)
    for k in range(count):
        array = (body + rng.normal(scale=20.0, size=body.shape)).astype(np.int16)
        image = sitk.GetImageFromArray(array)
        spacing = rng.uniform(0.8, 1.2, size=3)
        q, r = np.linalg.qr(np.eye(3) + rng.normal(scale=0.1, size=(3, 3)))
        q = q * np.sign(np.diag(r))[None, :]
        image.SetSpacing(tuple(spacing))
        image.SetDirection(q.ravel().tolist())
        # oblique about the volume's centre, which stays at the physical origin
        image.SetOrigin(tuple(-(q * spacing[None, :]) @ centre))
        sitk.WriteImage(image, os.path.join(inputs, f"scan{k:03d}.nii.gz"))
    reference = sitk.Image([size] * 3, sitk.sitkUInt8)
    reference.SetSpacing((1.0, 1.0, 1.0))
    reference.SetOrigin(tuple(-centre))
    ref_path = os.path.join(folder, "reference.nii.gz")
    sitk.WriteImage(reference, ref_path)
    tfm = os.path.join(folder, "t.tfm")
    sitk.WriteTransform(sitk.Euler3DTransform((0.0, 0.0, 0.0), 0.1, 0.05, -0.08,
                                              (2.0, -1.0, 0.5)), tfm)
    return ref_path, tfm


def run_simpleitk(inputs: list[str], out: str, ref_path: str, tfm: str,
                  threads: int = 1) -> float:
    """The plain SimpleITK loop, over ``threads`` Python threads; wall seconds."""
    from concurrent.futures import ThreadPoolExecutor

    import SimpleITK as sitk

    t0 = time.perf_counter()
    reference = sitk.ReadImage(ref_path)
    transform = sitk.ReadTransform(tfm)

    def one(path: str) -> None:
        image = sitk.ReadImage(path)
        result = sitk.Resample(image, reference, transform, sitk.sitkLinear, 0.0,
                               image.GetPixelID())
        sitk.WriteImage(result, os.path.join(out, os.path.basename(path)), True)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, inputs))
    return time.perf_counter() - t0


def run_cli(pattern: str, out: str, ref_path: str, tfm: str, jobs: int) -> float:
    """``gpuresample resample`` on the folder, in a fresh process; wall seconds."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gpuresample", "resample", pattern, out,
                    "--reference", ref_path, "-t", tfm, "--pixel-type", "int16",
                    "-j", str(jobs), "-q"], check=True)
    return time.perf_counter() - t0


def warm_up(path: str, out: str, ref_path: str, tfm: str) -> float:
    """Bytecode compiled and one file through the command (filling numba's cache if it is
    cold); the command's wall seconds."""
    import compileall

    import gpuresample

    compileall.compile_dir(os.path.dirname(gpuresample.__file__), quiet=1)
    return run_cli(path, out, ref_path, tfm, 1)


def breakdown(path: str, ref_path: str, tfm: str, out: str) -> dict[str, float]:
    """Seconds of decode, resample and encode of one file, in this process (warm)."""
    import gpuresample as gr
    from gpuresample.transform_files import read_transform

    reference, transform = gr.read_image(ref_path), read_transform(tfm)
    image = gr.read_image(path)
    gr.resample(image, transform, reference=reference, output_pixel_type="int16")
    t0 = time.perf_counter()
    image = gr.read_image(path)
    t1 = time.perf_counter()
    result = gr.resample(image, transform, reference=reference, output_pixel_type="int16")
    t2 = time.perf_counter()
    gr.write_image(result, os.path.join(out, "one.nii.gz"))
    t3 = time.perf_counter()
    return {"decode": t1 - t0, "resample": t2 - t1, "encode": t3 - t2}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.folder",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        ref_path, tfm = make_inputs(folder, args.count, args.size)
        inputs = sorted(os.path.join(folder, "in", n) for n in os.listdir(
            os.path.join(folder, "in")))
        outs = [os.path.join(folder, name) for name in ("out_sitk", "out_cli", "out_one",
                                                         "out_sitk2", "out_warm")]
        for o in outs:
            os.makedirs(o)
        sitk_s = run_simpleitk(inputs, outs[0], ref_path, tfm)
        sitk2_s = run_simpleitk(inputs, outs[3], ref_path, tfm, threads=args.jobs)
        warm_s = warm_up(inputs[0], os.path.join(outs[4], "one.nii.gz"), ref_path, tfm)
        cli_s = run_cli(os.path.join(folder, "in", "*.nii.gz"), outs[1], ref_path, tfm,
                        args.jobs)
        parts = breakdown(inputs[0], ref_path, tfm, outs[2])
        sizes = [sum(os.path.getsize(os.path.join(o, n)) for n in os.listdir(o))
                 for o in outs[:2]]
    print(f"{args.count} x {args.size}^3 int16 .nii.gz onto a reference through a .tfm")
    best = min(sitk_s, sitk2_s)
    print(f"SimpleITK loop: sequential {sitk_s:.2f} s, over {args.jobs} threads "
          f"{sitk2_s:.2f} s")
    print(f"gpuresample resample (-j {args.jobs}, new process): {cli_s:.2f} s "
          f"= {best / cli_s:.2f}x the best SimpleITK loop")
    print(f"warm-up (one file, new process): {warm_s:.2f} s")
    print(f"output bytes: gpuresample {sizes[1]} vs SimpleITK {sizes[0]} "
          f"({sizes[1] / sizes[0]:.2f}x)")
    print("one file in a warm process: " + ", ".join(f"{k} {v * 1e3:.0f} ms"
                                                      for k, v in parts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
