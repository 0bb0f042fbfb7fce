"""Temperature scaling fitted on held-out labeled probabilities (Guo et al., 2017, "On
Calibration of Modern Neural Networks").

One parameter ``T``: ``p ← softmax(log p / T)``. It leaves the arg-max (the pseudo-label)
unchanged and only fixes over- or under-confidence, so selection thresholds and reported
confidences mean what they say. With few labels a single parameter is all the held-out data can
support (histogram binning or isotonic regression would overfit 40 labels).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from pseudolabel.core.ops import EPS, check_probs, softmax
from pseudolabel.core.protocols import BaseRefiner
from pseudolabel.core.registry import register


def fit_temperature(probs: np.ndarray, y: np.ndarray, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """Temperature minimising the negative log-likelihood of ``y`` under ``softmax(log p / T)``."""
    logp = np.log(np.clip(check_probs(probs), EPS, None))
    y = np.asarray(y, dtype=np.int64)
    if len(y) != len(logp):
        raise ValueError(f"y has {len(y)} entries but probs has {len(logp)} rows")
    if len(y) == 0:
        return 1.0

    def nll(log_t: float) -> float:
        z = logp / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))).mean())

    res = minimize_scalar(nll, bounds=np.log(bounds), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(res.x))


@register("refine", "calibrate")
class TemperatureScaling(BaseRefiner):
    """Scale log-probabilities by ``1/T``; ``T`` is fitted by ``fit(held_out_probs, held_out_y)``.

    Until fitted it is the identity (``T = 1``). ``bounds`` keeps ``T`` sane on tiny held-out sets.
    """

    _state = ("temperature_",)
    fit_requires_heldout = True  # in-sample probabilities would make it overconfident

    def __init__(self, bounds: tuple[float, float] = (0.05, 20.0)):
        self.bounds = bounds

    def reset(self) -> None:
        self.temperature_ = 1.0

    def fit(self, probs: np.ndarray, y: np.ndarray) -> TemperatureScaling:
        p = check_probs(probs)
        self._ensure_state(p.shape[1])
        self.temperature_ = fit_temperature(p, y, tuple(self.bounds))
        return self

    def __call__(self, probs: np.ndarray, **context) -> np.ndarray:
        p = check_probs(probs)
        self._ensure_state(p.shape[1])
        if len(p) == 0 or self.temperature_ == 1.0:
            return p
        return softmax(np.log(np.clip(p, EPS, None)) / self.temperature_, axis=1)


Calibrate = TemperatureScaling
