"""pytest-benchmark cases: gpuresample and SimpleITK on the runner's workloads.

Run with ``python -m pytest benchmarks/ --benchmark-group-by=param:case`` (not part of the
test suite: ``python -m pytest`` collects ``tests/`` only). ``GPURESAMPLE_BENCH_SIZE``
sets the cube edge (default 128; the runner's default is 256). Each case also checks that
the two outputs agree, so a timing is never taken of two different computations.

The comparison table with ratios, peers and GPU bandwidth is ``python -m benchmarks``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from gpuresample.bench import CASE_NAMES, CASES, build_ours, build_workload, compare

pytest.importorskip("pytest_benchmark")

SIZE = int(os.environ.get("GPURESAMPLE_BENCH_SIZE", "128"))
_BY_NAME = {c.name: c for c in CASES}


@pytest.fixture(scope="module", params=CASE_NAMES)
def workload(request):
    return build_workload(_BY_NAME[request.param], SIZE, max(2, int(round(SIZE ** 1.5))))


@pytest.mark.parametrize("precision", ["exact", "fast"])
def test_gpuresample_cpu(benchmark, workload, precision):
    prepared = build_ours(workload, "cpu", precision)
    prepared.call()    # compile or load the cached kernel outside the timing
    result = benchmark(prepared.call)
    assert prepared.fetch(result).shape == workload.out_shape


def test_simpleitk(benchmark, workload):
    pytest.importorskip("SimpleITK")
    from gpuresample.bench import PEERS

    spec = next(p for p in PEERS if p.key == "sitk")
    prepared = spec.build(workload)
    result = benchmark(prepared.call)
    ours = build_ours(workload, "cpu", "exact")
    agreement = compare(ours.fetch(ours.call()), prepared.fetch(result), None,
                        workload.value_range)
    assert agreement["ok"], agreement
    assert np.isfinite(agreement["max_abs_diff"])
