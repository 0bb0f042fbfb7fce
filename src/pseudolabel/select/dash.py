"""Dynamic loss threshold (Dash; Xu et al. 2021, "Dash: Semi-Supervised Learning with Dynamic
Thresholding", ICML).

Dash keeps an unlabeled sample when the loss on its own pseudo-label is small, and makes the
cut stricter as training goes on::

    ℓ_i  = −log max_k p_ik                       (cross-entropy of p_i on its arg-max)
    ρ_t  = C · γ^{−(t−1)} · ρ̂                    (t = 1, 2, ...)
    w_i  = 1[ℓ_i < ρ_t]                          (equivalently max p_i > exp(−ρ_t))

``ρ̂`` is the loss level at the start: the paper takes the mean loss of the labeled data after the
warm-up. Here it is, in this order, the ``rho_hat`` argument; the mean cross-entropy
``−log p[y]`` of the labeled rows when the context carries their probabilities (``labeled_probs``
with ``labeled_y``); otherwise the mean ``ℓ`` of the rows of the first ``update`` (the teacher's
own loss level: at ``t = 1`` about the more confident part of the pool passes; ``SelfTrainer``
does not pass ``labeled_probs``, so there it is the pool's loss in round 0). ``C`` slightly
above 1 lets everything at the initial loss level through at first; ``γ > 1`` shrinks the
threshold geometrically.

The clock ``t``: offline (``full_pool``, a self-training round) ``t = round + 1`` from the
context; online ``t`` counts the ``update`` calls (``update_every`` calls per step — the paper
and USB advance it every few epochs, not every mini-batch; with ``update_every=1`` the threshold
falls by ``γ`` per batch). USB's implementation adds a floor ``ρ_min``; ``rho_min=0`` (the default)
is the paper's rule.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseSelector
from pseudolabel.core.registry import register
from pseudolabel.core.selection import Selection
from pseudolabel.ops.simplex import EPS, check_probs

DASH_C = 1.0001
"""Initial margin ``C`` on the loss level (Xu et al. 2021, experimental setup)."""
DASH_GAMMA = 1.27
"""Decay base ``γ`` of the threshold schedule (Xu et al. 2021, experimental setup)."""


def pseudo_label_ce(p: np.ndarray) -> np.ndarray:
    """``−log max_k p_ik``: each row's cross-entropy on its own arg-max."""
    return -np.log(np.clip(np.asarray(p, dtype=np.float64).max(axis=1), EPS, None))


def dash_threshold(t: int, rho_hat: float, C: float = DASH_C, gamma: float = DASH_GAMMA, rho_min: float = 0.0) -> float:
    """``ρ_t = max(C · γ^{−(t−1)} · ρ̂, ρ_min)`` for ``t = 1, 2, ...``."""
    if t < 1:
        raise ValueError(f"t counts from 1, got {t}")
    return float(max(C * gamma ** (-(t - 1)) * rho_hat, rho_min))


@register("select", "dash")
class Dash(BaseSelector):
    """Keep pseudo-labels whose loss ``−log max p`` is below a shrinking threshold ``ρ_t``.

    C, gamma : the schedule ``ρ_t = C · γ^{−(t−1)} · ρ̂`` (paper: 1.0001, 1.27).
    rho_hat : the initial loss level ``ρ̂``; ``None`` = from the labeled rows' loss
        (context ``labeled_probs`` + ``labeled_y``) or the first ``update``'s mean loss.
    rho_min : floor of the threshold (0: none, as in the paper).
    update_every : online, ``update`` calls per step of ``t`` (1: every call).

    Context: ``round`` offline; optional ``labeled_probs`` (n_labeled, K) with ``labeled_y``.
    ``info``: ``pl_loss`` (ℓ per row) and ``rho`` (the threshold used).
    """

    _state = ("rho_hat_", "n_updates_")

    def __init__(
        self,
        C: float = DASH_C,
        gamma: float = DASH_GAMMA,
        rho_hat: float | None = None,
        rho_min: float = 0.0,
        update_every: int = 1,
    ):
        self.C = C
        self.gamma = gamma
        self.rho_hat = rho_hat
        self.rho_min = rho_min
        self.update_every = update_every

    def reset(self) -> None:
        self.rho_hat_ = None
        self.n_updates_ = 0

    def _initial_level(self, p: np.ndarray, ctx: Context) -> float | None:
        """``ρ̂``: the argument, the labeled rows' mean CE, or the mean ``ℓ`` of these rows."""
        if self.rho_hat is not None:
            if not float(self.rho_hat) > 0:
                raise ValueError(f"rho_hat must be > 0, got {self.rho_hat}")
            return float(self.rho_hat)
        lab_p, lab_y = ctx.get("labeled_probs"), ctx.labeled_y
        if lab_p is not None and lab_y is not None:
            lab_p = check_probs(lab_p, "labeled_probs")
            lab_y = np.asarray(lab_y, dtype=np.int64)
            if len(lab_p) != len(lab_y):
                raise ValueError(f"labeled_probs has {len(lab_p)} rows but labeled_y has {len(lab_y)}")
            if len(lab_y):
                return float(-np.log(np.clip(lab_p[np.arange(len(lab_y)), lab_y], EPS, None)).mean())
        return float(pseudo_label_ce(p).mean()) if len(p) else None

    def _update(self, p: np.ndarray, ctx: Context) -> None:
        if self.C <= 0 or self.gamma <= 0:
            raise ValueError(f"C and gamma must be > 0, got C={self.C}, gamma={self.gamma}")
        if self.rho_hat_ is None:
            self.rho_hat_ = self._initial_level(p, ctx)  # stays None after an empty first batch
        self.n_updates_ += 1

    def step(self, ctx: Context) -> int:
        """``t`` for this call: the round offline, the number of update calls online."""
        if ctx.full_pool and ctx.round is not None:
            return int(ctx.round) + 1
        every = int(self.update_every)
        if every < 1:
            raise ValueError(f"update_every must be >= 1, got {self.update_every}")
        return 1 + (max(self.n_updates_, 1) - 1) // every

    def _select(self, p: np.ndarray, ctx: Context) -> Selection:
        rho_hat = self.rho_hat_ if self.rho_hat_ is not None else self._initial_level(p, ctx)
        rho = dash_threshold(self.step(ctx), rho_hat, self.C, self.gamma, self.rho_min)
        loss = pseudo_label_ce(p)
        keep = loss < rho
        return Selection(keep.astype(np.float64), p.argmax(axis=1), {"pl_loss": loss, "rho": np.full(len(p), rho)})
