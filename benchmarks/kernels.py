"""Median time of single ``gr.resample`` calls on the cpu backend, for A/B comparisons of
kernel or threading changes in one process per variant (no peers, no ratios).

    python -m benchmarks.kernels                      # 256^3 Euler3D linear, three input types
    python -m benchmarks.kernels --size 128 --cases uint8-nearest
    NUMBA_THREADING_LAYER=workqueue python -m benchmarks.kernels   # the other threading layer
    PYTHONPATH=<other checkout> python -m benchmarks.kernels        # another version's kernels

Each case resamples a random volume through ``Euler3DTransform(centre, (0.1, 0.2, 0.3),
(1.5, -2.0, 0.75))`` onto its own grid (float32 output for linear, the input's type for
nearest); the first call (compiling or loading the kernel) is not timed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

CASES = {"float32-linear": (np.float32, "linear"), "uint8-linear": (np.uint8, "linear"),
         "int16-linear": (np.int16, "linear"), "uint8-nearest": (np.uint8, "nearest")}


def volume(n: int, dtype) -> np.ndarray:
    base = np.random.default_rng(0).random((n, n, n), dtype=np.float32)
    if dtype == np.uint8:
        return (base * 255).astype(np.uint8)
    if dtype == np.int16:
        return (base * 2000 - 1000).astype(np.int16)
    return base


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--cases", default="float32-linear,uint8-linear,int16-linear",
                        help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    import numba

    import gpuresample as gr

    for name in args.cases.split(","):
        dtype, interpolator = CASES[name]
        img = gr.image_from_array(volume(args.size, dtype))
        centre = img.transform_continuous_index_to_physical_point([(args.size - 1) / 2] * 3)
        t = gr.Euler3DTransform(centre, (0.1, 0.2, 0.3), (1.5, -2.0, 0.75))
        out_type = gr.PixelType.FLOAT32 if interpolator == "linear" else None

        def call():
            return gr.resample(img, t, interpolator, output_pixel_type=out_type,
                               device="cpu")

        call()
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        print(f"{name:16s} {args.size}^3  {statistics.median(times) * 1e3:8.1f} ms "
              f"(median of {args.repeat}; threading layer {numba.threading_layer()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
