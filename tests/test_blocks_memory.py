"""Out of memory in a block: split and retry, then the host, with a warning; the result is
still bit-identical to the whole resampling. The GPU's out-of-memory error is injected
(this machine may have no GPU): the backends' execute raises it."""

from __future__ import annotations

import numpy as np
import pytest

import gpuresample as gr
from gpuresample import blocks
from gpuresample.backends import get_backend
from gpuresample.blocks import BlockFallbackWarning, estimate_block_bytes, is_out_of_memory
from gpuresample.plan import make_plan
from gpuresample.geometry import Grid

from helpers import random_values

pytest.importorskip("dask.array", reason="the dask extra is not installed")


class OutOfMemoryError(Exception):
    """Stands in for cupy.cuda.memory.OutOfMemoryError (same name and module)."""


OutOfMemoryError.__module__ = "cupy.cuda.memory"


def _case(rng):
    img = gr.image_from_array(random_values(rng, (9, 10, 11), np.int16))
    img.spacing = (0.9, 1.1, 1.3)
    t = gr.Euler3DTransform((5.0, 5.0, 5.0), (0.2, -0.3, 0.4))
    return img, t


def _failing(monkeypatch, backend_name, fail_when):
    """Make ``backend_name``'s execute raise the fake CuPy OOM when ``fail_when(plan)``;
    returns the list of block sizes launched successfully."""
    backend = get_backend(backend_name)
    real = type(backend).execute
    launched = []

    def execute(self, plan, source, out, stride=0):
        if fail_when(plan):
            raise OutOfMemoryError("out of memory allocating 1 GiB")
        launched.append(plan.out_size)
        return real(self, plan, source, out, stride)

    monkeypatch.setattr(type(backend), "execute", execute)
    return launched


def test_oom_type_is_recognised_without_cupy():
    assert is_out_of_memory(OutOfMemoryError("x")) and is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("out of memory"))


def test_a_block_that_runs_out_of_memory_is_split(monkeypatch, rng):
    img, t = _case(rng)
    whole = gr.array_from_image(gr.resample(img, t, device="cuda-host"))
    launched = _failing(monkeypatch, "cuda-host", lambda p: np.prod(p.out_size) > 200)
    with warnings_as_errors():
        got = gr.resample(img, t, device="cuda-host", chunks=(11, 10, 9)).compute(
            scheduler="synchronous")
    np.testing.assert_array_equal(gr.array_from_image(got), whole)
    assert launched and max(np.prod(s) for s in launched) <= 200


def test_then_the_host_with_a_warning(monkeypatch, rng):
    img, t = _case(rng)
    whole = gr.array_from_image(gr.resample(img, t, device="cpu"))
    _failing(monkeypatch, "cuda-host", lambda p: True)
    lazy = gr.resample(img, t, device="cuda-host", chunks=(11, 10, 5))
    with pytest.warns(BlockFallbackWarning, match="runs on the host"):
        got = lazy.compute(scheduler="synchronous")
    np.testing.assert_array_equal(gr.array_from_image(got), whole)


def test_the_host_running_out_raises_a_clear_memory_error(monkeypatch, rng):
    img, t = _case(rng)
    _failing(monkeypatch, "cpu", lambda p: True)
    with pytest.raises(MemoryError, match="use smaller chunks"):
        gr.resample(img, t, device="cpu", chunks=4).compute(scheduler="synchronous")


def test_other_errors_are_not_swallowed(monkeypatch, rng):
    img, t = _case(rng)
    backend = get_backend("cpu")

    def broken(self, *args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(type(backend), "execute", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        gr.resample(img, t, device="cpu", chunks=4).compute(scheduler="synchronous")


def test_memory_estimate_and_the_check_before_a_gpu_launch():
    plan = make_plan(Grid((64, 32, 8)), Grid((64, 32, 8)), [], "linear", np.uint16,
                     np.float32, 1, 0.0)
    src = np.zeros((8, 32, 64), np.uint16)
    need = estimate_block_bytes(plan, src.nbytes)
    assert need >= src.nbytes + 64 * 32 * 8 * 4 + plan.row_ends.nbytes
    out = np.empty((1, 8, 32, 64, 1), np.float32)
    blocks._check_device_memory(plan, src, out, "cuda", free_memory=lambda: 2 * need)
    with pytest.raises(MemoryError, match="GPU memory"):
        blocks._check_device_memory(plan, src, out, "cuda", free_memory=lambda: need)
    blocks._check_device_memory(plan, src, out, "cpu", free_memory=lambda: 0)  # host: no check


class warnings_as_errors:
    """No fallback warning may be raised while splitting suffices."""

    def __enter__(self):
        import warnings
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error", BlockFallbackWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)
