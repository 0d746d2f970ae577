"""Array-library helpers: numpy or CuPy, DLPack producers, device names.

CuPy is optional and imported only when an array already lives on the GPU or a GPU is asked
for, so ``import gpuresample`` never touches CUDA. Which library an array belongs to is told
from its type's module, which needs no import.

Example
-------
>>> import numpy as np
>>> is_cupy_array(np.zeros(3)), device_of(np.zeros(3)), parse_device("cuda:1")
(False, 'cpu', ('cuda', 1))
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["CUPY_HINT", "import_cupy", "is_cupy_array", "import_dask", "is_dask_array",
           "namespace", "device_of", "parse_device", "to_device", "asarray"]

CUPY_HINT = ("pip install gpuresample[cuda12] (CUDA 12.x) or gpuresample[cuda13] (CUDA 13.x), "
             "whichever matches your driver")

# DLPack device types (dlpack.h)
_DL_HOST = (1, 3)        # kDLCPU, kDLCUDAHost (pinned host memory): numpy reads these
_DL_CUDA = (2, 13)       # kDLCUDA, kDLCUDAManaged


def import_cupy() -> ModuleType:
    """Import CuPy, or raise ImportError naming the extra that installs it."""
    try:
        import cupy
    except ImportError as exc:
        raise ImportError(f"CuPy is needed for GPU images: {CUPY_HINT}") from exc
    return cupy


def is_cupy_array(obj: Any) -> bool:
    """True if ``obj`` is a CuPy array (decided without importing CuPy)."""
    return type(obj).__module__.partition(".")[0] == "cupy"


def import_dask() -> ModuleType:
    """Import ``dask.array``, or raise ImportError naming the extra that installs it."""
    try:
        import dask.array
    except ImportError as exc:
        raise ImportError("lazy images and block-wise resampling need Dask: "
                          "pip install 'gpuresample[dask]'") from exc
    return dask.array


def is_dask_array(obj: Any) -> bool:
    """True if ``obj`` is a ``dask.array.Array`` (decided without importing Dask)."""
    cls = type(obj)
    return cls.__name__ == "Array" and cls.__module__.partition(".")[0] == "dask"


def namespace(array: Any) -> ModuleType:
    """The array module (numpy or cupy) that ``array`` belongs to."""
    return import_cupy() if is_cupy_array(array) else np


def device_of(array: Any) -> str:
    """``"cpu"`` for host arrays, ``"cuda:N"`` for CuPy arrays on GPU N."""
    return f"cuda:{array.device.id}" if is_cupy_array(array) else "cpu"


def parse_device(device: str) -> tuple[str, int | None]:
    """``"cpu"`` -> ("cpu", None); ``"cuda"`` -> ("cuda", None); ``"cuda:N"`` -> ("cuda", N)."""
    if isinstance(device, str):
        name, _, index = device.strip().lower().partition(":")
        if name == "cpu" and not index:
            return "cpu", None
        if name == "cuda" and not index:
            return "cuda", None
        if name == "cuda" and index.isdigit():
            return "cuda", int(index)
    raise ValueError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'")


def to_device(array: Any, device: str) -> Any:
    """``array`` (numpy or CuPy, C-contiguous) on ``device``; the array itself if it is there.

    ``"cuda"`` means any GPU: an array already on one stays; a host array goes to the
    current CuPy device.
    """
    kind, index = parse_device(device)
    on_gpu = is_cupy_array(array)
    if kind == "cpu":
        return np.ascontiguousarray(array.get()) if on_gpu else array
    if on_gpu and (index is None or array.device.id == index):
        return array
    cupy = import_cupy()
    with cupy.cuda.Device(index) if index is not None else cupy.cuda.Device():
        # copy() allocates on the current device, so it also moves GPU -> GPU
        return array.copy(order="C") if on_gpu else cupy.asarray(array)


def asarray(obj: Any, *, copy: bool) -> Any:
    """``obj`` as a numpy or CuPy array, without copying where possible.

    numpy and CuPy arrays are returned as they are; DLPack producers (torch tensors, JAX
    arrays, ...) are imported without a copy onto the host (numpy) or the GPU (CuPy);
    objects with only ``__cuda_array_interface__`` go to CuPy; anything else goes through
    ``numpy.asarray``, which for ``copy=False`` raises ValueError where it would copy.
    """
    if is_cupy_array(obj):
        return obj
    if isinstance(obj, np.ndarray):
        return np.asarray(obj)   # a subclass (memmap, ...) as a plain ndarray view
    if hasattr(obj, "__dlpack__") and hasattr(obj, "__dlpack_device__"):
        device_type = int(obj.__dlpack_device__()[0])
        if device_type in _DL_HOST:
            return np.from_dlpack(obj)
        if device_type in _DL_CUDA:
            return import_cupy().from_dlpack(obj)
        raise TypeError(f"arrays on DLPack device type {device_type} are not supported "
                        "(only host and CUDA memory)")
    if hasattr(obj, "__cuda_array_interface__"):
        return import_cupy().asarray(obj)
    try:
        return np.asarray(obj, copy=None if copy else False)
    except ValueError as exc:
        if copy:
            raise
        raise ValueError(f"a {type(obj).__name__} cannot be wrapped without a copy; "
                         "pass copy=True") from exc
