"""Any Dask scheduler runs a lazy resampling: threads, processes, a dask.distributed
LocalCluster of 2 workers; the graph carries plans and store references, not pixels."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import gpuresample as gr

from helpers import random_values

pytest.importorskip("dask.array", reason="the dask extra is not installed")
pytest.importorskip("zarr", reason="the zarr extra is not installed")


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    rng = np.random.default_rng(7)
    img = gr.image_from_array(random_values(rng, (24, 40, 48), np.uint16),
                              spacing=(0.8, 0.8, 1.6), origin=(3.0, -2.0, 1.0))
    path = str(tmp_path_factory.mktemp("zarr") / "in.ome.zarr")
    gr.write_image(img, path, chunks=16)
    t = gr.Euler3DTransform((20.0, 14.0, 20.0), (0.2, 0.1, -0.3))
    want = gr.array_from_image(gr.resample(img, t, spacing=(1.0, 1.0, 1.0), device="cpu"))
    return path, t, want, img


def _lazy(case):
    path, t, _, _ = case
    return gr.resample(gr.read_image(path), t, spacing=(1.0, 1.0, 1.0), device="cpu",
                       chunks=16)


def test_the_graph_holds_no_pixels(case):
    out = _lazy(case)
    graph = dict(out.data.__dask_graph__())
    largest = max(len(pickle.dumps(task)) for task in graph.values())
    # each task pickles to a few kB (the job, a block's corners, a store reference),
    # far less than the 92 kB of pixels
    assert largest < 16_000, f"a task pickles to {largest} bytes"
    assert len(graph) > 20


@pytest.mark.parametrize("scheduler", ["threads", "processes", "synchronous"])
def test_local_schedulers(case, scheduler):
    got = _lazy(case).compute(scheduler=scheduler, num_workers=2)
    np.testing.assert_array_equal(gr.array_from_image(got), case[2])


@pytest.mark.parametrize("processes", [True, False])
def test_a_distributed_local_cluster_of_two_workers(case, tmp_path, processes):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                                  dashboard_address=None, silence_logs=40) as cluster, \
            distributed.Client(cluster):
        got = _lazy(case).compute()
        np.testing.assert_array_equal(gr.array_from_image(got), case[2])
        path = str(tmp_path / "out.ome.zarr")
        gr.write_image(_lazy(case), path)          # workers write their blocks
    np.testing.assert_array_equal(gr.array_from_image(gr.read_image(path)), case[2])
