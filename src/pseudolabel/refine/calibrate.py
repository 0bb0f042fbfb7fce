"""Temperature scaling fitted on held-out labeled probabilities (Guo et al., 2017, "On
Calibration of Modern Neural Networks").

One parameter ``T``: ``p ← softmax(log p / T)``. It leaves the arg-max (the pseudo-label)
unchanged and only fixes over- or under-confidence, so selection thresholds and reported
confidences mean what they say. With few labels a single parameter is all the held-out data can
support (histogram binning or isotonic regression would overfit 40 labels).
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseRefiner
from pseudolabel.core.registry import register
from pseudolabel.ops.calibration import TEMPERATURE_BOUNDS, fit_temperature
from pseudolabel.ops.simplex import EPS, check_probs, softmax


@register("refine", "calibrate")
class TemperatureScaling(BaseRefiner):
    """Scale log-probabilities by ``1/T``; ``T`` is fitted by ``fit(held_out_probs, held_out_y)``.

    Until fitted it is the identity (``T = 1``). ``bounds`` keeps ``T`` sane on tiny held-out sets.
    """

    reads = ()

    _state = ("temperature_",)
    fit_requires_heldout = True  # in-sample probabilities would make it overconfident

    def __init__(self, bounds: tuple[float, float] = TEMPERATURE_BOUNDS):
        self.bounds = bounds

    def reset(self) -> None:
        self.temperature_ = 1.0

    def fit(self, probs: np.ndarray, y: np.ndarray) -> TemperatureScaling:
        p = check_probs(probs)
        self._ensure_state(p.shape[1])
        self.temperature_ = fit_temperature(p, y, tuple(self.bounds))
        return self

    def _refine(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        if self.temperature_ == 1.0:
            return p
        return softmax(np.log(np.clip(p, EPS, None)) / self.temperature_, axis=1)


Calibrate = TemperatureScaling
