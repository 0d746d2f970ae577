"""The cpu backend called from several threads at once (Dask's threaded scheduler) and in a
child forked after use (PyTorch DataLoader workers): no crash, the same voxels."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import gpuresample as gr


def _work():
    img = gr.image_from_array(np.random.default_rng(3).random((21, 19, 17)).astype(np.float32))
    return img, gr.Euler3DTransform((8.0, 9.0, 10.0), (0.1, 0.2, 0.3))


def test_threads_calling_at_once_get_the_same_voxels():
    img, t = _work()
    expected = np.asarray(gr.resample(img, t, device="cpu"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: np.asarray(gr.resample(img, t, device="cpu")),
                                range(16)))
    for got in results:
        np.testing.assert_array_equal(got, expected)


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                    reason="needs os.fork (Linux)")
def test_a_child_forked_after_use_resamples():
    import numba

    img, t = _work()
    expected = np.asarray(gr.resample(img, t, device="cpu"))   # the parallel layer is up
    assert numba.threading_layer() != "omp"   # GNU OpenMP kills children forked after use
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: resample, report the voxels' checksum, leave at once
        try:
            got = np.asarray(gr.resample(img, t, device="cpu"))
            os.write(write, b"ok" if np.array_equal(got, expected) else b"differ")
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    message = os.read(read, 16)
    os.close(read)
    assert status == 0 and message == b"ok", (status, message)


def test_the_layer_chosen_is_tbb_where_it_installs_else_the_one_named():
    import numba

    gr.resample(*_work(), device="cpu")
    named = os.environ.get("NUMBA_THREADING_LAYER")
    from importlib import metadata

    try:
        metadata.version("tbb")   # the wheel (a shared library, no Python package)
        default = "tbb"
    except metadata.PackageNotFoundError:
        default = "workqueue"
    assert numba.threading_layer() == (named or default)


@pytest.mark.skipif(os.environ.get("NUMBA_THREADING_LAYER") is not None,
                    reason="this run already names a threading layer")
def test_without_tbb_the_workqueue_layer_survives_threads_and_forks():
    """The fallback where tbb does not load: the tests above in a child process that runs
    numba's ``workqueue`` layer (calls serialised by the backend's lock)."""
    import subprocess

    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           __file__, "-k", "not workqueue_layer_survives"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "3 passed" in done.stdout, done.stdout[-3000:]
