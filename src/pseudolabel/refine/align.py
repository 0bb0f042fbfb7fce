"""Distribution alignment (ReMixMatch; USB's ``DistAlignEMAHook`` / queue hook).

``p̂_i = normalize(p_i ⊙ (π_target + 1e−6) / (p̄_model + 1e−6))``: scale every class by how much
the teacher over- or under-predicts it on unlabeled data relative to a target marginal. One step
equals one column scaling of Sinkhorn (see ``sinkhorn.py``); repeated to convergence it *is*
Sinkhorn. ``p̄_model`` is an EMA of batch means (USB: momentum 0.999, initialised with the first
batch) or the mean of a FIFO queue of the last ``queue_length`` batch means (ShrinkMatch /
SimMatch 32, IOMatch 128). Offline (``full_pool=True``) it is the pool mean.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseRefiner, ema, resolve_momentum
from pseudolabel.core.registry import register
from pseudolabel.ops.simplex import align_distribution, check_probs, class_prior


@register("refine", "align")
class DistributionAlignment(BaseRefiner):
    """Align the teacher's class marginal on unlabeled data with a target.

    target : ``"uniform"``, ``"labeled"`` (class frequencies of the labels given to ``fit``),
        ``None`` (ReMixMatch form ``p / p̄_model`` without a target) or an array of K numbers.
    momentum : EMA momentum for ``p̄_model``; ``None`` = 0.999 online, pool mean offline.
    queue_length : use the mean of the last L batch means instead of an EMA.
    """

    _state = ("p_model_", "queue_", "prior_", "n_updates_")

    def __init__(self, target="uniform", momentum: float | None = None, queue_length: int | None = None, eps: float = 1e-6):
        self.target = target
        self.momentum = momentum
        self.queue_length = queue_length
        self.eps = eps

    def reset(self) -> None:
        self.p_model_ = None
        self.queue_ = []
        self.prior_ = None
        self.n_updates_ = 0

    def fit(self, probs: np.ndarray, y: np.ndarray) -> DistributionAlignment:
        k = check_probs(probs).shape[1]
        self._ensure_state(k)
        self.prior_ = class_prior(y, k, smoothing=1.0)
        return self

    def _update(self, p: np.ndarray, ctx: Context) -> None:
        if len(p) == 0:
            return
        mean = p.mean(axis=0)
        if self.queue_length is not None:
            self.queue_ = [mean] if ctx.full_pool else [*self.queue_, mean][-int(self.queue_length) :]
            self.p_model_ = np.mean(self.queue_, axis=0)
        elif self.p_model_ is None:
            self.p_model_ = mean  # USB initialises the EMA with the first batch
        else:
            self.p_model_ = ema(self.p_model_, mean, resolve_momentum(self.momentum, ctx.full_pool))
        self.n_updates_ += 1

    def target_distribution(self, k: int) -> np.ndarray | None:
        if self.target is None:
            return None
        if isinstance(self.target, str):
            if self.target == "uniform":
                return np.full(k, 1.0 / k)
            if self.target == "labeled":
                if getattr(self, "prior_", None) is None:
                    raise ValueError("DistributionAlignment(target='labeled') needs fit(probs, y) on labeled rows first")
                return self.prior_
            raise ValueError(f"target must be 'uniform', 'labeled', None or an array; got {self.target!r}")
        t = np.asarray(self.target, dtype=np.float64)
        if t.shape != (k,) or (t < 0).any():
            raise ValueError(f"target must be {k} non-negative numbers, got {self.target!r}")
        return t / t.sum()

    def _refine(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        """Align ``p``; without any ``update`` yet, aligns the batch to its own mean."""
        p_model = self.p_model_ if self.p_model_ is not None else p.mean(axis=0)
        return align_distribution(p, p_model, self.target_distribution(p.shape[1]), self.eps)
