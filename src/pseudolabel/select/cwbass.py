"""Confidence-weighted pseudo-labels with a dynamic threshold (CW-BASS; Tarubinga et al. 2025,
"CW-BASS: Confidence-Weighted Boundary-Aware Learning for Semi-Supervised Semantic
Segmentation", IJCNN).

Each kept pseudo-label is weighted by its confidence raised to ``γ``, ``w_i = c_i^γ`` (γ = 0 is
plain masking), and kept when ``c_i > τ``. The paper's dynamic threshold is

    τ_dyn = clip( τ_base / (1 + exp(−β (mean_i c_i − 0.5))), 0.3, 0.8 )     τ_base 0.6, β 0.5

but with these defaults ``τ_dyn`` lies in [0.300, 0.337] for *any* mean confidence in [0, 1]
(mean 0 → 0.2627 → clipped to 0.3; mean 1 → 0.3373): the "dynamic" threshold is a constant 0.3
(docs/methods/select.md, `cwbass`; the authors' v2 code notes the collapse). The fix used here, as in their v2,
is a FreeMatch-style self-adaptive floor: ``τ = max(τ_dyn, clip(s · τ_t, 0.3, 0.8))`` with
``τ_t`` the EMA of the mean confidence (init 1/K; the pool mean offline) and ``s = 0.95``.
``floor=None`` gives the paper's original rule. ``decay`` multiplies the weights by the
paper's confidence-decay factor (``c ← 0.9 c`` when enabled; off by default as in the paper).
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseSelector, ema, resolve_momentum
from pseudolabel.core.registry import register


def cwbass_threshold(mean_conf, base: float = 0.6, beta: float = 0.5, lo: float = 0.3, hi: float = 0.8):
    """The paper's dynamic threshold ``clip(base · sigmoid(β (mean − 0.5)), lo, hi)``."""
    raw = base / (1.0 + np.exp(-beta * (np.asarray(mean_conf, dtype=np.float64) - 0.5)))
    return np.clip(raw, lo, hi)


@register("select", "cwbass")
class CWBASS(BaseSelector):
    """``w = decay · c^γ · 1[c > τ]`` with the CW-BASS threshold and a self-adaptive floor.

    gamma : confidence exponent (1). base_threshold, beta, min_threshold, max_threshold : the
        paper's dynamic threshold (0.6, 0.5, 0.3, 0.8). floor : ``"freematch"`` (default, the
        fix) or ``None`` (original). floor_scale : ``s`` (0.95). momentum : EMA of the floor
        (``None`` = 0.999 online, pool mean offline). decay : weight factor (1 = off; paper 0.9).
    """

    _state = ("tau_",)

    def __init__(
        self,
        gamma: float = 1.0,
        base_threshold: float = 0.6,
        beta: float = 0.5,
        min_threshold: float = 0.3,
        max_threshold: float = 0.8,
        floor: str | None = "freematch",
        floor_scale: float = 0.95,
        momentum: float | None = None,
        decay: float = 1.0,
    ):
        self.gamma = gamma
        self.base_threshold = base_threshold
        self.beta = beta
        self.min_threshold = min_threshold
        self.max_threshold = max_threshold
        self.floor = floor
        self.floor_scale = floor_scale
        self.momentum = momentum
        self.decay = decay

    def reset(self) -> None:
        self.tau_ = 1.0 / self.n_classes_

    def _update(self, p: np.ndarray, ctx: Context) -> None:
        if len(p):
            self.tau_ = float(ema(self.tau_, p.max(axis=1).mean(), resolve_momentum(self.momentum, ctx.full_pool)))

    def threshold_for(self, conf: np.ndarray) -> float:
        """Threshold for a batch/pool with confidences ``conf``."""
        tau = float(cwbass_threshold(conf.mean() if len(conf) else 0.0, self.base_threshold, self.beta, self.min_threshold, self.max_threshold))
        if self.floor is None:
            return tau
        if self.floor != "freematch":
            raise ValueError(f"floor must be 'freematch' or None, got {self.floor!r}")
        return max(tau, float(np.clip(self.floor_scale * self.tau_, self.min_threshold, self.max_threshold)))

    def _select(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        if not 0.0 <= self.decay <= 1.0:
            raise ValueError(f"decay must lie in [0, 1], got {self.decay}")
        c = p.max(axis=1)
        tau = self.threshold_for(c)
        self.info_ = {"threshold": np.full(len(p), tau)}
        return np.where(c > tau, self.decay * c**self.gamma, 0.0)
