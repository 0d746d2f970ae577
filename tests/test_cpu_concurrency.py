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
