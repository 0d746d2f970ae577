"""Arrays in and out of the augmentation engine without copies: numpy, CuPy, torch.

The engine works on numpy (host backends) or CuPy (``cuda``) arrays. A torch tensor on the
CPU is viewed as numpy (``Tensor.numpy()``, shared memory); a CUDA tensor as CuPy through
DLPack; results go back the same way (``torch.from_numpy`` / ``torch.from_dlpack``), so
torch in gives torch out on the same device, CuPy in gives CuPy out, numpy in numpy out.
torch and CuPy are imported only when such an array is met.

Example
-------
>>> import numpy as np
>>> a = np.zeros((2, 3), np.float32)
>>> view, kind = to_engine(a)
>>> view is a, kind
(True, 'numpy')
>>> from_engine(view, kind) is a
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["array_kind", "to_engine", "from_engine", "is_array"]


def array_kind(x: Any) -> str | None:
    """"numpy", "cupy", "torch" or "torch-cuda" for an array this engine takes, else None."""
    module = type(x).__module__.split(".")[0]
    if isinstance(x, np.ndarray):
        return "numpy"
    if module == "cupy":
        return "cupy"
    if module == "torch" or (module == "monai" and hasattr(x, "as_tensor")):
        return "torch-cuda" if x.device.type == "cuda" else "torch"
    return None


def is_array(x: Any) -> bool:
    return array_kind(x) is not None


def to_engine(x: Any) -> tuple[Any, str]:
    """``x`` as a numpy or CuPy array sharing its memory, and its kind (for the way back).

    Raises
    ------
    TypeError
        for anything but a numpy array, a CuPy array or a torch tensor (MONAI's
        MetaTensor included); for a tensor that requires grad.
    """
    kind = array_kind(x)
    if kind is None:
        raise TypeError(f"expected a numpy array, a CuPy array or a torch tensor, got "
                        f"{type(x).__name__}")
    if kind in ("numpy", "cupy"):
        return x, kind
    tensor = x.as_tensor() if hasattr(x, "as_tensor") else x   # MetaTensor -> plain view
    if tensor.requires_grad:
        raise TypeError("a tensor that requires grad cannot be augmented in place of its "
                        "data; pass tensor.detach()")
    if kind == "torch":
        return tensor.numpy(), kind
    import cupy
    return cupy.from_dlpack(tensor), kind


def from_engine(array: Any, kind: str) -> Any:
    """``array`` (numpy or CuPy) as ``kind``, sharing its memory where the devices agree."""
    on_gpu = type(array).__module__.split(".")[0] == "cupy"
    if kind == "numpy":
        return array.get() if on_gpu else array
    if kind == "cupy":
        if on_gpu:
            return array
        import cupy
        return cupy.asarray(array)
    import torch
    if on_gpu:
        return torch.from_dlpack(array)
    # torch.from_numpy shares the buffer; it cannot share a read-only one
    tensor = torch.from_numpy(array if array.flags.writeable else array.copy())
    return tensor.cuda() if kind == "torch-cuda" else tensor
