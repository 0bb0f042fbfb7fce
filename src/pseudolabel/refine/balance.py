"""Sinkhorn–Knopp balancing of soft assignments to a class prior (SwAV, SeLa, RoNID).

Solves ``max_Q <Q, S> + ε H(Q)`` subject to rows summing to ``1/N`` and columns to ``π``; the
solution is ``Q = diag(u) exp(S/ε) diag(v)`` and ``N·Q`` is returned so each row is a probability
vector. The solver is :func:`pseudolabel.ops.ot.sinkhorn` (fixed-iteration and tolerance modes;
why it is not POT's is said there).
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseRefiner
from pseudolabel.core.registry import register
from pseudolabel.ops.ot import sinkhorn
from pseudolabel.ops.simplex import EPS, check_probs, class_prior


@register("refine", "sinkhorn")
class SinkhornBalance(BaseRefiner):
    """Rebalance teacher probabilities so the pool's class marginal matches a prior.

    Uses ``S = log p`` and ``ε = 1`` by default, so ``Q_ik ∝ p_ik v_k``: a prior-shift correction
    that keeps each sample's odds between classes and only moves mass across classes (Sinkhorn
    with scores ``log p``; SeLa / SwAV use smaller ε on logits to also sharpen).

    prior : ``"labeled"`` (class frequencies of the labels passed to ``fit``), ``"uniform"`` or
        an array of K positive numbers.
    """

    reads = ("labeled_y",)

    _state = ("prior_",)

    def __init__(
        self,
        prior="labeled",
        epsilon: float = 1.0,
        n_iter: int | None = None,
        tol: float = 1e-6,
        max_iter: int = 10_000,
    ):
        self.prior = prior
        self.epsilon = epsilon
        self.n_iter = n_iter
        self.tol = tol
        self.max_iter = max_iter

    def reset(self) -> None:
        self.prior_ = None

    def fit(self, probs: np.ndarray, y: np.ndarray) -> SinkhornBalance:
        """Learn the ``"labeled"`` prior from held-out (or any) labeled rows' classes."""
        k = check_probs(probs).shape[1]
        self._ensure_state(k)
        if isinstance(self.prior, str) and self.prior == "labeled":
            # add-one smoothing keeps classes that happen to be absent from the labels reachable
            self.prior_ = class_prior(y, k, smoothing=1.0)
        return self

    def _target(self, k: int, ctx: Context) -> np.ndarray:
        if isinstance(self.prior, str):
            if self.prior == "uniform":
                return np.full(k, 1.0 / k)
            if self.prior == "labeled":
                if getattr(self, "prior_", None) is None:
                    if ctx.labeled_y is None:
                        raise ValueError(
                            "SinkhornBalance(prior='labeled') needs fit(probs, y) on labeled rows first (or the "
                            "context field labeled_y), or pass prior='uniform' / an array"
                        )
                    return class_prior(ctx.labeled_y, k, smoothing=1.0)
                return self.prior_
            raise ValueError(f"prior must be 'labeled', 'uniform' or an array; got {self.prior!r}")
        pi = np.asarray(self.prior, dtype=np.float64)
        if pi.shape != (k,):
            raise ValueError(f"prior has {pi.size} entries but the probabilities have {k} classes")
        return pi

    def _refine(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        scores = np.log(np.clip(p, EPS, None))
        return sinkhorn(
            scores, self._target(p.shape[1], ctx), epsilon=self.epsilon, n_iter=self.n_iter, tol=self.tol, max_iter=self.max_iter
        )
