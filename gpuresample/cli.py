"""The ``gpuresample`` command (also ``python -m gpuresample``).

Subcommands: ``demo`` resamples a built-in phantom on the best device and prints the
throughput; ``bench`` runs the benchmark comparison (see benchmarks/ and the README).

Exit codes: 0 done, 1 failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

__all__ = ["main", "demo"]


def demo(size: int = 256, device: str | None = None, interpolator: str = "linear",
         precision: str = "exact", repeat: int = 5, out=sys.stdout) -> float:
    """Rotate a ``size``^3 float32 phantom with an Euler3D transform; return voxels/s."""
    import numpy as np

    import gpuresample as gr
    from gpuresample.backends import resolve_device
    from gpuresample.phantom import phantom

    img = phantom((size, size, size))
    centre = img.transform_continuous_index_to_physical_point([(size - 1) / 2.0] * 3)
    transform = gr.Euler3DTransform(centre, np.radians([10.0, 5.0, 20.0]), (2.0, -1.0, 0.5))
    chosen = resolve_device(device, data_on_gpu=False)
    print(f"gpuresample {gr.__version__} demo: {size}^3 float32 phantom, Euler3D rotation, "
          f"{interpolator}, precision {precision}", file=out)
    for name, state in gr.backends().items():
        print(f"  backend {name:9s} {state}", file=out)
    print(f"device: {chosen}", file=out)
    source = img.to("cuda") if chosen == "cuda" else img
    sync = _synchronizer(chosen)
    t0 = time.perf_counter()
    result = gr.resample(source, transform, interpolator, device=chosen, precision=precision)
    sync()
    first = time.perf_counter() - t0
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        result = gr.resample(source, transform, interpolator, device=chosen,
                             precision=precision)
        sync()
        times.append(time.perf_counter() - t0)
    best = statistics.median(times)
    rate = size ** 3 / best
    print(f"first call (compiles or loads cached kernels): {first:.3f} s", file=out)
    print(f"steady state: {best * 1e3:.1f} ms per volume (median of {len(times)}) = "
          f"{rate / 1e6:.1f} Mvox/s", file=out)
    print(f"output: size {result.size}, {result.pixel_type.description}, on {result.device}",
          file=out)
    return rate


def _synchronizer(device: str):
    if device != "cuda":
        return lambda: None
    import cupy
    return lambda: cupy.cuda.get_current_stream().synchronize()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpuresample", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="resample a phantom on the best device, print Mvox/s")
    p_demo.add_argument("--size", type=int, default=256, help="edge of the cube (default 256)")
    p_demo.add_argument("--device", default=None, help="cpu, cuda or cuda-host (default: best)")
    p_demo.add_argument("--interpolator", default="linear", choices=["linear", "nearest"])
    p_demo.add_argument("--precision", default="exact", choices=["exact", "fast"])
    p_demo.add_argument("--repeat", type=int, default=5)
    p_bench = sub.add_parser("bench", help="benchmark against SimpleITK, scipy and others",
                             add_help=False)
    p_bench.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            demo(args.size, args.device, args.interpolator, args.precision, args.repeat)
            return 0
        from gpuresample.bench import main as bench_main
        return bench_main(args.args)
    except (ValueError, RuntimeError, TypeError) as exc:
        print(f"gpuresample: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
