"""What the ``cuda`` and ``cuda-host`` backends share: the kernel's argument struct and the
launch configuration, built once from a plan.

Example
-------
>>> import numpy as np
>>> grid, block = launch_shape((300, 20, 5), batch=2)
>>> grid, block
((3, 100, 2), (128, 1, 1))
"""

from __future__ import annotations

import numpy as np

from ..plan import ResamplePlan
from .kernel_source import ARGS_DTYPE

__all__ = ["resample_args", "kernel_of", "launch_shape", "BLOCK_X", "MAX_GRID_Y"]

BLOCK_X = 128          # threads along x: consecutive output voxels, coalesced writes
MAX_GRID_Y = 65535     # CUDA's limit on gridDim.y; the kernel strides over further rows


def resample_args(plan: ResamplePlan, in_batch_stride: int) -> np.ndarray:
    """The ``ResampleArgs`` struct of ``plan`` as a numpy record (same bytes on both sides)."""
    args = np.zeros((), dtype=ARGS_DTYPE)
    args["out_size"] = plan.out_size
    args["in_size"] = plan.in_size
    args["components"] = plan.components
    args["rows"] = plan.rows
    args["batch"] = plan.batch
    args["in_batch_stride"] = in_batch_stride
    args["n_stages"] = plan.n_stages
    args["out_origin"], args["out_matrix"] = plan.grids[0, :3], plan.grids[0, 3:12]
    args["in_origin"], args["in_matrix"] = plan.grids[1, :3], plan.grids[1, 3:12]
    args["out_offset"], args["row_length"] = plan.out_offset, plan.row_length
    args["in_offset"] = plan.in_offset
    return args


def kernel_of(plan: ResamplePlan) -> str:
    """Which kernel executes ``plan``: ``resample_rows`` or ``resample_points``."""
    return "resample_points" if plan.n_stages else "resample_rows"


def launch_shape(out_size, batch: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Grid and block of either kernel for an output of ``out_size`` (x, y, z)."""
    if batch > 65535:
        raise ValueError(f"a batch holds at most 65535 items, got {batch}")
    nx = int(out_size[0])
    rows = int(out_size[1]) * int(out_size[2])
    grid = ((nx + BLOCK_X - 1) // BLOCK_X, min(rows, MAX_GRID_Y), int(batch))
    return grid, (BLOCK_X, 1, 1)
