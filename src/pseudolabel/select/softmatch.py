"""SoftMatch truncated-Gaussian weights (Chen et al. 2023), as in USB's ``SoftMatchWeightingHook``.

``w_i = exp(−min(c_i − μ_t, 0)² / (2 σ²_t / n_σ²))``: samples at least as confident as the
running mean confidence ``μ_t`` get weight 1, less confident ones decay smoothly (std ``σ_t/n_σ``)
instead of being cut off, trading a little quality for much more quantity. ``μ, σ²`` are EMAs of
the batch mean / unbiased variance (init ``1/C`` and ``1``). Uniform alignment (``align=True``):
the weights use distribution-aligned probabilities while the pseudo-label stays the raw arg-max.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseSelector, ema, resolve_momentum
from pseudolabel.core.registry import register
from pseudolabel.ops.simplex import align_distribution


def softmatch_weight(conf: np.ndarray, mu, var, n_sigma: float = 2.0) -> np.ndarray:
    """Truncated Gaussian weight of confidences around the running mean ``mu`` (variance ``var``)."""
    diff = np.minimum(np.asarray(conf, dtype=np.float64) - mu, 0.0)
    return np.exp(-(diff**2) / (2.0 * np.asarray(var) / n_sigma**2))


@register("select", "softmatch")
class SoftMatch(BaseSelector):
    """Soft weights from a truncated Gaussian on confidence; state ``μ``, ``σ²`` (+ alignment).

    momentum : EMA momentum (USB 0.999 online); ``None`` = 0.999 on batches, pool statistics offline.
    n_sigma : width divisor (USB 2 ⇒ effective std σ/2). per_class : keep μ, σ² per predicted class.
    align : uniform distribution alignment for the weights (USB ``dist_align`` + ``dist_uniform``).
    """

    _state = ("mu_", "var_", "p_model_")

    def __init__(self, momentum: float | None = None, n_sigma: float = 2.0, per_class: bool = False, align: bool = True):
        self.momentum = momentum
        self.n_sigma = n_sigma
        self.per_class = per_class
        self.align = align

    def reset(self) -> None:
        k = self.n_classes_
        self.mu_ = np.full(k, 1.0 / k) if self.per_class else 1.0 / k
        self.var_ = np.ones(k) if self.per_class else 1.0
        self.p_model_ = None  # EMA of the mean prediction, for uniform alignment (USB's dist_align)

    def _confidence(self, p: np.ndarray) -> np.ndarray:
        if not self.align:
            return p.max(axis=1)
        p_model = self.p_model_ if self.p_model_ is not None else p.mean(axis=0)
        return align_distribution(p, p_model, np.full(p.shape[1], 1.0 / p.shape[1])).max(axis=1)

    def _update(self, p: np.ndarray, ctx: Context) -> None:
        if len(p) == 0:
            return
        m = resolve_momentum(self.momentum, ctx.full_pool)
        if self.align:  # USB initialises the alignment EMA with the first batch
            mean = p.mean(axis=0)
            self.p_model_ = mean if self.p_model_ is None else ema(self.p_model_, mean, m)
        conf = self._confidence(p)
        if self.per_class:
            k, pred = self.n_classes_, p.argmax(axis=1)
            mu, var = np.zeros(k), np.ones(k)  # USB: classes with < 2 samples in the batch pull toward (0, 1)
            counts = np.bincount(pred, minlength=k)
            sums = np.bincount(pred, weights=conf, minlength=k)
            sq = np.bincount(pred, weights=conf**2, minlength=k)
            ok = counts > 1
            mu[ok] = sums[ok] / counts[ok]
            var[ok] = (sq[ok] - counts[ok] * mu[ok] ** 2) / (counts[ok] - 1)
        else:
            mu, var = conf.mean(), conf.var(ddof=1) if len(conf) > 1 else 1.0
        self.mu_ = ema(self.mu_, mu, m)
        self.var_ = ema(self.var_, var, m)

    def _select(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        conf = self._confidence(p)
        if self.per_class:
            pred = p.argmax(axis=1)
            mu, var = self.mu_[pred], self.var_[pred]
        else:
            mu, var = self.mu_, self.var_
        self.info_ = {"softmatch_mu": np.broadcast_to(mu, conf.shape).copy()}
        return softmatch_weight(conf, mu, np.maximum(var, 1e-12), self.n_sigma)
