"""Backend ``cuda-host``: the CUDA kernel sources compiled for the CPU through a shim.

This is how the kernels' arithmetic is tested on machines without a GPU (CI has none):
each instantiation (input type, output type, interpolator, precision) is compiled on first
use into a small shared library by the system C++ compiler with ``-ffp-contract=off`` (the
GPU build uses ``--fmad=false``), cached on disk by a hash of source and options, and run
with the same grid the GPU launch uses (blocks split over host threads, a block's threads
in order). It is a test vehicle, not a fast path.

Example
-------
>>> from gpuresample.backends.host import HostKernelBackend
>>> HostKernelBackend.unavailable_reason() is None   # a C++ compiler is installed
True
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from ..plan import ResamplePlan
from .kernel_source import C_TYPES, kernel_name, kernel_sources, kernels_dir
from .launch import kernel_of, launch_shape, resample_args

__all__ = ["HostKernelBackend", "cache_dir"]

_OPTIONS = ("-std=c++17", "-O2", "-ffp-contract=off", "-fno-fast-math", "-fPIC", "-shared",
            "-pthread")

_LAUNCHER = """\
#include "host_shim.h"
#include "resample.cu"
#include <thread>
#include <vector>

typedef {tin} TIn;
typedef {tout} TOut;

extern "C" int gr_launch(const void* in, void* out, const double* row_ends,
                         const void* defaults, const long long* stage_i,
                         const double* stage_f, const double* stage_data, const void* args,
                         unsigned gx, unsigned gy, unsigned gz, unsigned bx, int n_threads) {{
  const ResampleArgs a = *static_cast<const ResampleArgs*>(args);
  const long long total = (long long)gx * gy * gz;
  auto work = [&](long long first) {{
    gridDim = {{gx, gy, gz}};
    blockDim = {{bx, 1, 1}};
    for (long long b = first; b < total; b += n_threads) {{
      blockIdx = {{(unsigned)(b % gx), (unsigned)((b / gx) % gy), (unsigned)(b / ((long long)gx * gy))}};
      for (unsigned t = 0; t < bx; ++t) {{
        threadIdx = {{t, 0, 0}};
        {kernel}(static_cast<const TIn*>(in), static_cast<TOut*>(out), row_ends,
                 static_cast<const TOut*>(defaults), stage_i, stage_f, stage_data, a);
      }}
    }}
  }};
  std::vector<std::thread> pool;
  for (int w = 1; w < n_threads; ++w) pool.emplace_back(work, (long long)w);
  work(0);
  for (auto& th : pool) th.join();
  return 0;
}}
"""


def cache_dir() -> Path:
    """Where compiled host kernels are kept: ``$GPURESAMPLE_CACHE`` or ``~/.cache/gpuresample``."""
    root = os.environ.get("GPURESAMPLE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gpuresample")
    return Path(root) / "host-kernels"


def _compiler() -> str | None:
    return shutil.which(os.environ.get("CXX", "c++")) or shutil.which("g++")


class HostKernelBackend:
    """Runs ``kernels/resample.cu`` on the CPU; arrays are numpy."""

    name = "cuda-host"
    _libraries: dict[str, ctypes.CDLL] = {}
    _lock = threading.Lock()

    @staticmethod
    def unavailable_reason() -> str | None:
        if _compiler() is None:
            return "no C++ compiler found (set CXX or install g++)"
        return None

    @staticmethod
    def xp():
        return np

    def _library(self, plan: ResamplePlan) -> ctypes.CDLL:
        kernel = kernel_name(kernel_of(plan), plan.in_dtype, plan.out_dtype,
                             plan.interpolator, plan.precision)
        source = _LAUNCHER.format(tin=C_TYPES[plan.in_dtype.name],
                                  tout=C_TYPES[plan.out_dtype.name], kernel=kernel)
        with self._lock:
            if kernel in self._libraries:
                return self._libraries[kernel]
            compiler = _compiler()
            if compiler is None:
                raise RuntimeError(self.unavailable_reason())
            digest = hashlib.sha256("\0".join(
                [source, kernel_sources(), compiler, *_OPTIONS]).encode()).hexdigest()[:24]
            target = cache_dir() / f"resample-{digest}.so"
            if not target.is_file():
                self._build(compiler, source, target)
            lib = ctypes.CDLL(str(target))
            lib.gr_launch.restype = ctypes.c_int
            lib.gr_launch.argtypes = [ctypes.c_void_p] * 8 + [ctypes.c_uint] * 4 + [ctypes.c_int]
            self._libraries[kernel] = lib
            return lib

    @staticmethod
    def _build(compiler: str, source: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            src = Path(tmp) / "launcher.cpp"
            src.write_text(source)
            out = Path(tmp) / "kernel.so"
            proc = subprocess.run([compiler, *_OPTIONS, "-I", str(kernels_dir()), str(src),
                                   "-o", str(out)], capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"compiling the host kernel failed:\n{proc.stderr[-4000:]}")
            os.replace(out, target)   # atomic: concurrent builders never see half a file

    def execute(self, plan: ResamplePlan, source: np.ndarray, out: np.ndarray,
                in_batch_stride: int = 0) -> None:
        """Resample ``source`` (contiguous, [batch?, z, y, x, c]) into ``out`` per ``plan``."""
        lib = self._library(plan)
        args = resample_args(plan, in_batch_stride)
        row_ends = np.ascontiguousarray(plan.row_ends, dtype=np.float64)
        defaults = np.ascontiguousarray(plan.default_values)
        (gx, gy, gz), (bx, _, _) = launch_shape(plan.out_size, plan.batch)
        threads = max(1, min(os.cpu_count() or 1, gx * gy * gz))
        stage_i = np.ascontiguousarray(plan.stage_i, dtype=np.int64)
        stage_f = np.ascontiguousarray(plan.stage_f, dtype=np.float64)
        stage_data = np.ascontiguousarray(plan.stage_data, dtype=np.float64)
        lib.gr_launch(source.ctypes.data, out.ctypes.data, row_ends.ctypes.data,
                      defaults.ctypes.data, stage_i.ctypes.data, stage_f.ctypes.data,
                      stage_data.ctypes.data, args.ctypes.data, gx, gy, gz, bx, threads)
