"""The CUDA kernels compile for the GPUs we target, without spills (checked with nvcc).

Runs where ``nvcc`` is installed (CI has it, with no GPU); each architecture gets one
translation unit holding a representative set of the instantiations the backend uses,
compiled with the same options as at run time (``--fmad=false``).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from gpuresample.backends.cuda import NVRTC_OPTIONS
from gpuresample.backends.kernel_source import kernel_name, kernels_dir

INSTANTIATIONS = [
    (np.float32, np.float32, "linear", "exact"),
    (np.float32, np.float32, "linear", "fast"),
    (np.float32, np.float32, "nearest", "exact"),
    (np.uint8, np.uint8, "linear", "exact"),
    (np.int16, np.float32, "nearest", "fast"),
    (np.float64, np.uint64, "linear", "exact"),
    (np.uint64, np.int64, "linear", "exact"),
    (np.int8, np.float64, "linear", "fast"),
]

nvcc = shutil.which("nvcc")
pytestmark = pytest.mark.skipif(nvcc is None, reason="nvcc is not installed")


KERNELS = ("resample_rows", "resample_points")


def _translation_unit() -> str:
    lines = ['#include "resample.cu"']
    for kernel in KERNELS:
        for tin, tout, interp, precision in INSTANTIATIONS:
            name = kernel_name(kernel, tin, tout, interp, precision)
            targs = name[name.index("<"):]
            cin, cout = targs[1:-1].split(", ")[:2]
            lines.append(f"template __global__ void {kernel}{targs}(const {cin}*, {cout}*, "
                         f"const double*, const {cout}*, const long long*, const double*, "
                         "const double*, ResampleArgs);")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_kernels_compile_without_spills(arch, tmp_path):
    source = tmp_path / "instances.cu"
    source.write_text(_translation_unit())
    options = [o.replace("--std=", "-std=") for o in NVRTC_OPTIONS]
    proc = subprocess.run([nvcc, *options, f"-arch={arch}", "-I", str(kernels_dir()),
                           "-Xptxas", "-v", "-c", str(source), "-o", str(tmp_path / "k.o")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = proc.stderr + proc.stdout
    functions = re.findall(r"Compiling entry function '([^']+)'", report)
    assert len(functions) == len(KERNELS) * len(INSTANTIATIONS), report
    spills = re.findall(r"(\d+) bytes spill stores, (\d+) bytes spill loads", report)
    assert spills and all(s == ("0", "0") for s in spills), report
    registers = [int(r) for r in re.findall(r"Used (\d+) registers", report)]
    assert registers and max(registers) <= 128, report
