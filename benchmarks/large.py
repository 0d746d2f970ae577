"""The large-volume case: a uint16 OME-Zarr volume (compressed chunks) rotated with an
Euler3D transform, linear, onto an axis-aligned grid of a new spacing and written to
OME-Zarr (uncompressed, each method writing through ``gr.write_image``); gpuresample
block by block (lazy) against gpuresample in memory and against dask-image's
``ndinterp.affine_transform`` doing the same work. Each method runs in its
own process, so its peak resident memory (``ru_maxrss``) is its own.

Run from the repository root::

    python -m benchmarks.large --size 384          # about a minute here
    python -m benchmarks.large --size 640          # DESIGN §8's target case
    python -m benchmarks.large --size 640 --field  # also through a displacement field
    python -m benchmarks.large --size 640 --repeat 5   # five rounds, medians and ratios

Throughput is output voxels per second of wall time, reading, decoding, resampling,
encoding and writing included (each process's start-up, imports and kernel loading are
not: about 1.5 s for gpuresample, less for dask-image; every method imports Dask's array
module, zarr and ``distributed`` before its clock starts); before each, the page cache's
dirty pages (the input just written, the last method's output) are flushed (``os.sync``),
so that no method pays for another's writes. The lazy run also reports how many input
chunks it decoded (each chunk is read by several blocks; see
``gpuresample.chunk_reader``). Peak RSS is sampled from
/proc/self/statm every 10 ms during that work (``ru_maxrss`` would include the driver's
memory, which a Linux child inherits at fork). dask-image's output is compared with gpuresample's (its
boundary rule is scipy's, not ITK's, so the comparison is over voxels whose input
neighbourhood lies inside the volume).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ANGLES = (0.1, 0.2, 0.3)


def make_input(path: str, size: int, spacing: float, chunk: int, seed: int = 7) -> None:
    """A smooth CT-like uint16 volume with noise, written chunk by chunk (compressed)."""
    import dask.array as da

    import gpuresample as gr

    def block(block_info=None):
        info = block_info[None]
        (z0, z1), (y0, y1), (x0, x1) = info["array-location"]
        z, y, x = np.ogrid[z0:z1, y0:y1, x0:x1]
        rng = np.random.default_rng([seed, z0, y0, x0])
        value = (20000 + 8000 * np.sin(x / 23.0) * np.cos(y / 31.0) + 6000 * np.sin(z / 17.0)
                 + rng.normal(scale=300.0, size=(z1 - z0, y1 - y0, x1 - x0)))
        return value.astype(np.uint16)

    array = da.map_blocks(block, chunks=((chunk,) * (size // chunk)
                                          + ((size % chunk,) if size % chunk else ()),) * 3,
                          dtype=np.uint16)
    image = gr.image_from_array(array, spacing=(spacing,) * 3)
    # compressed (Zstandard, Zarr's default codec), as the case describes; before
    # 2026-12-02 the input was written uncompressed (write_image's default), unlike this
    # docstring said
    gr.write_image(image, path, chunks=chunk, compress=True)


def geometry(size: int, spacing: float, out_spacing: float):
    """The transform (about the volume's centre) and the output size (same extent)."""
    import gpuresample as gr

    centre = ((size - 1) / 2 * spacing,) * 3
    transform = gr.Euler3DTransform(centre, ANGLES)
    out_size = max(1, int(round(size * spacing / out_spacing)))
    return transform, (out_size,) * 3


def _field(size: int, spacing: float):
    """A smooth displacement field of 1/8 the volume's resolution, up to 2 voxels."""
    import gpuresample as gr

    n = max(2, size // 8)
    rng = np.random.default_rng(3)
    z, y, x = np.meshgrid(*[np.linspace(0, 2 * np.pi, n)] * 3, indexing="ij")
    values = np.stack([np.sin(y + rng.uniform()), np.cos(z), np.sin(x)], axis=-1) * 2 * spacing
    field = gr.image_from_array(values.astype(np.float64), is_vector=True,
                                spacing=(size * spacing / (n - 1),) * 3)
    return gr.DisplacementFieldTransform(field)


class RssSampler:
    """Peak resident memory while the ``with`` block runs, sampled every 10 ms from
    /proc/self/statm (start-up and kernel loading before it are not counted)."""

    def __enter__(self):
        import threading

        self.peak, self._stop = 0, threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        with open("/proc/self/statm") as fh:
            self.peak = max(self.peak, int(fh.read().split()[1]) * self._page)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self._sample()

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


def _import_libraries() -> None:
    """What every method uses, imported before its clock starts (as dask-image's own
    import brings most of it in for that method): Dask's array module, zarr and, where
    installed, ``distributed`` (whose import Dask's scheduler lookup makes at the first
    compute: about 0.3 s here)."""
    import dask.array  # noqa: F401
    import zarr  # noqa: F401

    try:
        import distributed  # noqa: F401
    except ImportError:
        pass


def run_method(method: str, src: str, dst: str, size: int, spacing: float,
               out_spacing: float, chunk: int, field: bool) -> dict:
    import gpuresample as gr

    transform, out_size = geometry(size, spacing, out_spacing)
    if field:
        transform = gr.CompositeTransform([transform, _field(size, spacing)])
    grid = dict(size=out_size, spacing=(out_spacing,) * 3, origin=(0.0,) * 3)
    if method == "dask-image":
        from dask_image import ndinterp  # noqa: F401  (imported before the clock starts)
    else:   # load the cached kernels before the clock starts
        gr.resample(gr.image_from_array(np.zeros((4, 4, 4), np.uint16)), transform,
                    device="cpu")
    _import_libraries()
    sampler = RssSampler().__enter__()
    start = time.perf_counter()
    if method == "lazy":
        out = gr.resample(gr.read_image(src), transform, "linear", device="cpu",
                          chunks=chunk, **grid)
        gr.write_image(out, dst, chunks=chunk)
    elif method == "memory":
        img = gr.read_image(src, lazy=False)
        t0 = time.perf_counter()
        out = gr.resample(img, transform, "linear", device="cpu", **grid)
        resample_s = time.perf_counter() - t0
        gr.write_image(out, dst, chunks=chunk)
    elif method == "dask-image":
        import dask.array as da

        from gpuresample.geometry import Grid
        from gpuresample.plan import _fused_affine

        fused = _fused_affine(Grid((size,) * 3, spacing=(spacing,) * 3), Grid(**grid),
                              [transform])
        flip = np.eye(4)[[2, 1, 0, 3]]
        zyx = flip @ fused @ flip                     # numpy (z, y, x) index order
        src_array = da.from_zarr(os.path.join(src, "0"))
        out_array = ndinterp.affine_transform(src_array, zyx[:3, :3], zyx[:3, 3],
                                              output_shape=out_size[::-1], order=1,
                                              output_chunks=(chunk,) * 3)
        gr.write_image(gr.image_from_array(out_array, spacing=(out_spacing,) * 3), dst,
                       chunks=chunk)
    else:
        raise ValueError(method)
    seconds = time.perf_counter() - start
    sampler.__exit__()
    # sampled, not ru_maxrss: Linux children inherit the parent's maximum at fork
    result = {"method": method, "seconds": seconds, "voxels_out": int(np.prod(out_size)),
              "peak_rss_gib": sampler.peak / 2 ** 30}
    if method == "memory":
        result["resample_seconds"] = resample_s
    if method == "lazy":
        from gpuresample.chunk_reader import chunk_cache

        result["chunks_decoded"] = chunk_cache.decoded
    return result


def compare(ours: str, theirs: str, margin: int = 2) -> dict:
    """Largest difference where both outputs are inside the rotated volume, ``margin``
    voxels away from its faces (the boundary rules differ there: ITK replicates edge
    voxels in the half-voxel band, scipy blends with the constant 0)."""
    import zarr
    from scipy import ndimage

    a = np.asarray(zarr.open(os.path.join(ours, "0"), mode="r")[...]).astype(np.int32)
    b = np.asarray(zarr.open(os.path.join(theirs, "0"), mode="r")[...]).astype(np.int32)
    inside = ndimage.binary_erosion(a > 0, iterations=margin)
    diff = np.abs(a - b)[inside]
    return {"voxels_compared": int(inside.sum()),
            "max_abs_diff": int(diff.max()) if diff.size else 0,
            "differing_by_more_than_1": int((diff > 1).sum())}


def _child(args) -> dict:
    os.sync()    # the last run's (or the input's) dirty pages written out before this one
    cmd = [sys.executable, "-m", "benchmarks.large", "--child", args.method_name,
           "--size", str(args.size), "--spacing", str(args.spacing), "--out-spacing",
           str(args.out_spacing), "--chunk", str(args.chunk), "--src", args.src,
           "--dst", args.dst] + (["--field"] if args.field else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{args.method_name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=384, help="input edge (voxels)")
    parser.add_argument("--spacing", type=float, default=0.8)
    parser.add_argument("--out-spacing", type=float, default=1.0)
    parser.add_argument("--chunk", type=int, default=128)
    parser.add_argument("--field", action="store_true",
                        help="also resample through Euler3D o displacement field")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of every method, interleaved (medians reported)")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--src", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--dst", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = run_method(args.child, args.src, args.dst, args.size, args.spacing,
                            args.out_spacing, args.chunk, args.field)
        print(json.dumps(result))
        return 0
    work = args.workdir or tempfile.mkdtemp(prefix="gr-large-")
    try:
        src = os.path.join(work, "in.ome.zarr")
        t0 = time.perf_counter()
        make_input(src, args.size, args.spacing, args.chunk)
        gib = args.size ** 3 * 2 / 2 ** 30
        print(f"input: {args.size}^3 uint16 ({gib:.2f} GiB), spacing {args.spacing}, "
              f"chunks {args.chunk}^3, made in {time.perf_counter() - t0:.1f} s")
        cases = [("euler", False)] + ([("euler o field", True)] if args.field else [])
        try:
            import dask_image  # noqa: F401
            have_dask_image = True
        except ImportError:
            have_dask_image = False
        rows = []
        for label, field in cases:
            methods = ["lazy", "memory"] + (["dask-image"] if have_dask_image and not field
                                            else [])
            runs = {m: [] for m in methods}
            for round_ in range(args.repeat):      # methods interleaved, round by round
                for m in methods:
                    args.method_name, args.src, args.field = m, src, field
                    args.dst = os.path.join(work, f"out-{m}.ome.zarr")
                    runs[m].append(_child(args))
                if round_ == 0 and "dask-image" in runs:
                    print("dask-image vs gpuresample:", compare(
                        os.path.join(work, "out-lazy.ome.zarr"),
                        os.path.join(work, "out-dask-image.ome.zarr")))
            decoded = [r["chunks_decoded"] for r in runs["lazy"]]
            chunks = math.ceil(args.size / args.chunk) ** 3
            print(f"{label}, lazy: input chunks decoded {decoded} "
                  f"({np.median(decoded) / chunks:.2f} per chunk of {chunks}, median)")
            for m in methods:
                seconds = [r["seconds"] for r in runs[m]]
                only = [r["resample_seconds"] for r in runs[m] if "resample_seconds" in r]
                rows.append((label, m, seconds, runs[m][0]["voxels_out"],
                             max(r["peak_rss_gib"] for r in runs[m]),
                             float(np.median(only)) if only else None))
            for peer in ("dask-image", "memory"):
                if peer in runs:
                    ratios = [p["seconds"] / q["seconds"]
                              for p, q in zip(runs[peer], runs["lazy"])]
                    print(f"{label}: lazy against {peer}, round by round: "
                          + ", ".join(f"{v:.2f}x" for v in ratios)
                          + f" (median {np.median(ratios):.2f}x)")
            if not have_dask_image and not field:
                print("dask-image is not installed: its row is skipped")
            if field:
                print("dask-image has no displacement fields: no row for it")
        out_edge = int(round(args.size * args.spacing / args.out_spacing))
        print(f"\noutput {out_edge}^3 uint16, spacing {args.out_spacing}, written as "
              f"OME-Zarr chunks {args.chunk}^3; {args.repeat} round(s), medians\n")
        print("| case | method | wall s (median) | every run s | Mvox/s out | peak RSS GiB "
              "(largest) | resample only s |")
        print("|---|---|---|---|---|---|---|")
        for label, m, seconds, voxels, rss, only in rows:
            median = float(np.median(seconds))
            extra = f"{only:.2f}" if only is not None else ""
            every = " / ".join(f"{v:.2f}" for v in seconds)
            print(f"| {label} | {m} | {median:.2f} | {every} | {voxels / median / 1e6:.1f} | "
                  f"{rss:.2f} | {extra} |")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
