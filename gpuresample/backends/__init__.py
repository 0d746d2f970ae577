"""The backends that execute resampling plans, and which of them can run here.

``cpu`` (numba), ``cuda`` (CuPy over kernels/*.cu) and ``cuda-host`` (the same kernel
sources compiled for the CPU, the test vehicle of the CUDA arithmetic). Probing happens on
first use, never at import; :func:`backends` says what is usable and why not.

Example
-------
>>> from gpuresample.backends import backends
>>> backends()["cpu"]
'available'
"""

from __future__ import annotations

import threading

__all__ = ["backends", "get_backend", "resolve_device", "cuda_available"]

_instances: dict = {}
_reasons: dict[str, str | None] = {}
_lock = threading.Lock()


def _classes():
    from .cpu import CpuBackend
    from .cuda import CudaBackend
    from .host import HostKernelBackend
    return {"cpu": CpuBackend, "cuda-host": HostKernelBackend, "cuda": CudaBackend}


def _reason(name: str) -> str | None:
    with _lock:
        if name not in _reasons:
            _reasons[name] = _classes()[name].unavailable_reason()
        return _reasons[name]


def backends() -> dict[str, str]:
    """Each backend's state: ``"available"`` or ``"unavailable: <why>"`` (probes on first call)."""
    return {name: "available" if _reason(name) is None else f"unavailable: {_reason(name)}"
            for name in _classes()}


def cuda_available() -> bool:
    """True when the ``cuda`` backend can run (CuPy imports and sees a device)."""
    return _reason("cuda") is None


def get_backend(name: str):
    """The backend object called ``name``; ``RuntimeError`` saying why if it cannot run here."""
    classes = _classes()
    if name not in classes:
        raise ValueError(f"unknown device {name!r}; use one of {', '.join(classes)}")
    why = _reason(name)
    if why is not None:
        raise RuntimeError(f"backend {name!r} is not usable here: {why}")
    with _lock:
        if name not in _instances:
            _instances[name] = classes[name]()
        return _instances[name]


def resolve_device(device: str | None, data_on_gpu: bool) -> str:
    """Backend name for a ``device=`` argument: None means where the data is, else the best.

    ``"cuda:N"`` selects the ``cuda`` backend (the device number is handled by CuPy).
    """
    if device is None:
        if data_on_gpu:
            return "cuda"
        return "cuda" if cuda_available() else "cpu"
    name = str(device)
    if name.startswith("cuda:"):
        name = "cuda"
    if name not in ("cpu", "cuda", "cuda-host"):
        raise ValueError(f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:N' or "
                         "'cuda-host' (the CUDA kernels run on the CPU, for testing)")
    return name
