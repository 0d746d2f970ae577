"""Backend ``cuda``: CuPy ``RawModule`` over ``kernels/resample.cu``, compiled by NVRTC.

One instantiation (input type, output type, interpolator, precision) is compiled when first
used and kept for the process (CuPy also caches the binary on disk). Exact mode is compiled
with ``--fmad=false`` so no multiply-add is fused, as the host shim's ``-ffp-contract=off``;
fast mode is too, so ``cuda`` and ``cuda-host`` agree bit for bit in both modes. Launches go
on CuPy's current stream (which follows torch's when the caller sets it).

CuPy is imported here only, on first use: ``import gpuresample`` makes no CUDA call.
"""

from __future__ import annotations

import threading

import numpy as np

from ..plan import ResamplePlan
from .kernel_source import kernel_name, kernels_dir, read_source
from .launch import kernel_of, launch_shape, resample_args

__all__ = ["CudaBackend", "NVRTC_OPTIONS"]

NVRTC_OPTIONS = ("--std=c++17", "--fmad=false")


def _import_cupy():
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install raising anything else
        raise RuntimeError("the cuda backend needs CuPy: pip install 'gpuresample[cuda12]' "
                           f"or 'gpuresample[cuda13]' ({type(exc).__name__}: {exc})") from exc
    return cupy


class CudaBackend:
    """Runs resampling plans on the current CUDA device; arrays are CuPy."""

    name = "cuda"
    _modules: dict[str, object] = {}
    _lock = threading.Lock()

    @staticmethod
    def unavailable_reason() -> str | None:
        """None when a GPU is usable; otherwise why not (never raises)."""
        try:
            cupy = _import_cupy()
            count = cupy.cuda.runtime.getDeviceCount()
            if count < 1:
                return "CuPy found no CUDA device"
            cupy.cuda.Device(0).compute_capability  # touches the driver
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    @staticmethod
    def xp():
        return _import_cupy()

    def _kernel(self, plan: ResamplePlan):
        cupy = _import_cupy()
        name = kernel_name(kernel_of(plan), plan.in_dtype, plan.out_dtype, plan.interpolator,
                           plan.precision)
        key = f"{cupy.cuda.Device().id}:{name}"
        with self._lock:
            if key not in self._modules:
                module = cupy.RawModule(code=read_source("resample.cu"),
                                        options=(*NVRTC_OPTIONS, f"-I{kernels_dir()}"),
                                        name_expressions=[name])
                self._modules[key] = module.get_function(name)
            return self._modules[key]

    def execute(self, plan: ResamplePlan, source, out, in_batch_stride: int = 0) -> None:
        """Resample ``source`` (CuPy, contiguous) into ``out`` (CuPy) per ``plan``."""
        cupy = _import_cupy()
        kernel = self._kernel(plan)
        row_ends = cupy.asarray(plan.row_ends, dtype=np.float64)
        defaults = cupy.asarray(plan.default_values)
        stage_i = cupy.asarray(plan.stage_i, dtype=np.int64)
        stage_f = cupy.asarray(plan.stage_f, dtype=np.float64)
        stage_data = cupy.asarray(plan.stage_data, dtype=np.float64)
        args = resample_args(plan, in_batch_stride)
        grid, block = launch_shape(plan.out_size, plan.batch)
        kernel(grid, block, (source, out, row_ends, defaults, stage_i, stage_f, stage_data,
                             args[()]))
