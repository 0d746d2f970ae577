"""Shared fixtures: the backend parametrisation every resampling test runs under."""

from __future__ import annotations

import numpy as np
import pytest

from gpuresample.backends import backends
from gpuresample.capabilities import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """Each backend: ``cpu``, ``cuda-host`` (kernel sources on the CPU), ``cuda`` (a GPU).

    A backend that cannot run here is skipped with the reason (e.g. no GPU).
    """
    state = backends()[request.param]
    if state != "available":
        pytest.skip(f"backend {request.param} {state}")
    return request.param


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261124)
