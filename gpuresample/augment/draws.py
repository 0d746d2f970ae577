"""What one random transform drew: its parameters and the concrete gpuresample operation.

A :class:`Draw` is either spatial (``transform``: a gpuresample Transform mapping OUTPUT
points to INPUT points, applied with :func:`gpuresample.resample` onto the input's own
grid) or a grid round trip (``coarse``: the image goes onto that grid with nearest
neighbour and back onto its own grid, RandomAnisotropy). Re-applying a draw with
:func:`gpuresample.resample` gives the voxels the augmentation gave (tested).

Example
-------
>>> import numpy as np, gpuresample as gr
>>> d = Draw("RandomFlip", {"axes": (0,)}, gr.AffineTransform(-np.eye(2)))
>>> d.is_spatial, d.params["axes"]
(True, (0,))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..geometry import Grid
from ..transforms import Transform

__all__ = ["Draw"]


@dataclass(frozen=True)
class Draw:
    """One random transform's outcome.

    Attributes
    ----------
    name : the random transform's class name ("RandomAffine", ...).
    params : the drawn parameters (angles in radians, scales, shears, translations in mm,
        flipped axes, control-point displacements, ...), plain Python / numpy values.
    transform : the spatial transform (output -> input points), or None for a grid round
        trip.
    coarse : RandomAnisotropy's intermediate grid, or None.
    applies_to_labels : False for draws that only degrade intensities (RandomAnisotropy).
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    transform: Transform | None = None
    coarse: Grid | None = None
    applies_to_labels: bool = True

    @property
    def is_spatial(self) -> bool:
        return self.transform is not None

    def inverse(self) -> Transform:
        """The inverse spatial transform (``ValueError`` where there is none, as for a
        B-spline or a grid round trip)."""
        if self.transform is None:
            raise ValueError(f"{self.name} loses information (a grid round trip): it has no "
                             "inverse")
        return self.transform.inverse()
