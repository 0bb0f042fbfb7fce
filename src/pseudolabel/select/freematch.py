"""FreeMatch self-adaptive thresholding (Wang et al. 2023), as in USB's ``FreeMatchThresholingHook``.

A global threshold ``τ_t`` tracks the model's mean confidence (EMA), and a class-wise factor
``p̃_c / max p̃`` (MaxNorm of the EMA class-probability vector) lowers it for classes the model
predicts less: ``mask = 1[c ≥ τ_t · p̃[ŷ] / max p̃]``. Init ``τ_0 = 1/C``, ``p̃ = h̃ = uniform``,
so early thresholds are low and rise as the model grows confident. ``h̃`` (EMA of the arg-max
histogram) is kept for the self-adaptive fairness loss of neural training (see ``fairness_loss``).
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseSelector, ema, resolve_momentum
from pseudolabel.core.registry import register
from pseudolabel.ops.simplex import EPS


@register("select", "freematch")
class FreeMatch(BaseSelector):
    """Self-adaptive global × class-wise threshold; state ``τ``, ``p̃``, ``h̃``.

    momentum : EMA momentum (USB 0.999 online); ``None`` = 0.999 on batches, pool statistics offline.
    use_quantile : track the ``quantile`` of the batch confidences instead of their mean.
    """

    _state = ("tau_", "p_tilde_", "h_tilde_")

    def __init__(self, momentum: float | None = None, use_quantile: bool = False, quantile: float = 0.8, clip_thresh: bool = False):
        self.momentum = momentum
        self.use_quantile = use_quantile
        self.quantile = quantile
        self.clip_thresh = clip_thresh

    def reset(self) -> None:
        k = self.n_classes_
        self.tau_ = 1.0 / k
        self.p_tilde_ = np.full(k, 1.0 / k)
        self.h_tilde_ = np.full(k, 1.0 / k)

    def _update(self, p: np.ndarray, ctx: Context) -> None:
        if len(p) == 0:
            return
        m = resolve_momentum(self.momentum, ctx.full_pool)
        conf = p.max(axis=1)
        level = np.quantile(conf, self.quantile) if self.use_quantile else conf.mean()
        self.tau_ = float(ema(self.tau_, level, m))
        if self.clip_thresh:
            self.tau_ = float(np.clip(self.tau_, 0.0, 0.95))
        self.p_tilde_ = ema(self.p_tilde_, p.mean(axis=0), m)
        hist = np.bincount(p.argmax(axis=1), minlength=self.n_classes_) / len(p)
        self.h_tilde_ = ema(self.h_tilde_, hist, m)

    def thresholds(self) -> np.ndarray:
        """Per-class thresholds ``τ_t · p̃_c / max p̃``."""
        return self.tau_ * self.p_tilde_ / self.p_tilde_.max()

    def _select(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        t = self.thresholds()[p.argmax(axis=1)]
        self.info_ = {"threshold": t}
        return (p.max(axis=1) >= t).astype(np.float64)


def fairness_loss(student_probs_strong: np.ndarray, mask: np.ndarray, p_tilde: np.ndarray, h_tilde: np.ndarray) -> float:
    """FreeMatch's self-adaptive fairness term ``Σ_c a_c log b_c`` on the masked strong-view probs.

    ``a = SumNorm(p̃ / h̃)``, ``b = SumNorm(p̄ / h̄)`` with ``p̄``/``h̄`` the mean prediction and the
    arg-max histogram of the masked samples. It is *minus* a cross-entropy: minimising it pushes
    the average prediction toward diversity (USB issue #182). Returns 0 when nothing is masked.
    """
    q = np.asarray(student_probs_strong, dtype=np.float64)[np.asarray(mask) > 0]
    if len(q) == 0:
        return 0.0
    k = q.shape[1]
    p_bar = q.mean(axis=0)
    h_bar = np.bincount(q.argmax(axis=1), minlength=k) / len(q)

    def sum_norm(num, den):
        r = np.divide(num, den, out=np.zeros(k), where=den > 0)
        return r / max(r.sum(), EPS)

    a, b = sum_norm(p_tilde, h_tilde), sum_norm(p_bar, h_bar)
    return float((a * np.log(np.clip(b, EPS, None))).sum())
