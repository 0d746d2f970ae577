"""Where the CUDA kernel sources live, and how one instantiation of them is named.

The sources in ``kernels/`` are compiled by NVRTC for the GPU (backend ``cuda``) and by the
system C++ compiler through ``host_shim.h`` (backend ``cuda-host``); both use the names and
argument layout defined here, so one launcher serves both.

Example
-------
>>> kernel_name("resample_rows", "float32", "uint8", "linear", "exact")
'resample_rows<float, unsigned char, 1, double>'
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["kernels_dir", "kernel_name", "read_source", "kernel_sources", "ARGS_DTYPE",
           "C_TYPES", "INTERPOLATOR_CODES", "PRECISION_TYPES", "MAX_STAGES", "STAGE_INTS",
           "STAGE_REALS", "STAGE_KINDS"]

# numpy component dtype -> C type used in the template arguments
C_TYPES = {
    "int8": "signed char", "uint8": "unsigned char", "int16": "short",
    "uint16": "unsigned short", "int32": "int", "uint32": "unsigned int",
    "int64": "long long", "uint64": "unsigned long long", "float32": "float",
    "float64": "double",
}
INTERPOLATOR_CODES = {"nearest": 0, "linear": 1, "label_linear": 2}
PRECISION_TYPES = {"exact": "double", "fast": "float"}

# The bytes of ``struct ResampleArgs`` (kernels/common.cuh): eight-byte fields only.
ARGS_DTYPE = np.dtype([
    ("out_size", "<i8", (3,)), ("in_size", "<i8", (3,)), ("components", "<i8"),
    ("rows", "<i8"), ("batch", "<i8"), ("in_batch_stride", "<i8"), ("n_stages", "<i8"),
    ("out_origin", "<f8", (3,)), ("out_matrix", "<f8", (9,)),
    ("in_origin", "<f8", (3,)), ("in_matrix", "<f8", (9,)),
    ("out_offset", "<i8", (3,)), ("row_length", "<i8"), ("in_offset", "<i8", (3,)),
])
# Stage records (kernels/common.cuh): GR_MAX_STAGES per batch item
MAX_STAGES, STAGE_INTS, STAGE_REALS = 8, 8, 12
STAGE_KINDS = {"affine": 0, "bspline": 1, "field": 2, "scale": 3}


def kernels_dir() -> Path:
    """The folder holding ``*.cu``/``*.cuh``: inside the installed package, else the checkout's."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "kernels", here.parent / "kernels"):
        if (candidate / "resample.cu").is_file():
            return candidate
    raise FileNotFoundError(f"gpuresample's CUDA kernel sources were not found beside {here}; "
                            "reinstall the package")


def read_source(name: str = "resample.cu") -> str:
    """Text of one kernel source file (used to hash the build and for NVRTC)."""
    return (kernels_dir() / name).read_text()


def kernel_sources() -> str:
    """All kernel sources concatenated, for hashing a build (any change rebuilds)."""
    return "\0".join(read_source(p.name) for p in sorted(kernels_dir().glob("*.cu*"))
                     if p.suffix in (".cu", ".cuh")) + "\0" + read_source("host_shim.h")


def kernel_name(kernel: str, in_dtype, out_dtype, interpolator: str, precision: str) -> str:
    """C++ name of one template instantiation of ``kernel``."""
    return (f"{kernel}<{C_TYPES[np.dtype(in_dtype).name]}, {C_TYPES[np.dtype(out_dtype).name]}, "
            f"{INTERPOLATOR_CODES[interpolator]}, {PRECISION_TYPES[precision]}>")
