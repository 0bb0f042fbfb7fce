"""Progressive partial optimal transport (P²OT; Zhang et al. 2024, "P²OT: Progressive Partial
Optimal Transport for Deep Imbalanced Clustering", and SP²OT, its semantic-regularised version).

Only a fraction ``ρ`` of the pool's mass is transported to the real classes; the rest goes to a
virtual *reject* column of zero cost, and the class marginal is only softly (KL) constrained, so
imbalanced classes are tolerated. Rows that keep most of their mass are the cheapest, i.e. the
most confident, so one plan labels, balances and selects::

    C = [−log p | 0]                          (N × K+1; the last column is the reject column)
    Q = exp(−C/ε),  a = 1/N,  b* = [ρ·π, 1−ρ],  φ = γ/(γ+ε)
    repeat: u = a / (Q v);  v = b* / (Qᵀ u);  v[:K] = v[:K]^φ         (reject column stays exact)
    plan = N · diag(u) Q diag(v);  P = plan[:, :K];  mass_i = Σ_k P_ik ∈ [0, 1]

``ρ`` grows over training, ``ρ(t) = ρ₀ + (ρ_max − ρ₀)·exp(−5 (1 − t/T)²)`` (the paper's sigmoid
ramp; ``"linear"`` also offered), so early rounds label only the most confident samples.

The plan is computed by :func:`pseudolabel.ops.ot.partial_sinkhorn` (why it is written here and
not taken from POT is said there).
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseRefiner
from pseudolabel.core.registry import register
from pseudolabel.ops.ot import partial_sinkhorn, resolve_rho
from pseudolabel.ops.prior import resolve_prior
from pseudolabel.ops.simplex import check_probs, normalize_rows


@register("refine", "partial_ot")
class PartialOT(BaseRefiner):
    """Imbalance-aware Sinkhorn: P²OT plan as refined probabilities.

    rho : transported fraction in (0, 1], or ``"ramp"`` (``rho0 → rho_max`` over the rounds).
    prior : class marginal of the transported mass: ``"uniform"`` (P²OT), ``"labeled"``,
        ``"estimate"`` (EM prior of the pool, Saerens et al. 2002) or K numbers.
    epsilon, gamma : entropic regularisation (0.1) and KL weight of the class marginal (1).
    fill : what a row's untransported mass becomes. ``"uniform"`` (default) spreads it evenly, so
        ``probs = P + (1 − mass)/K``: a row's confidence can't exceed ``mass + (1 − mass)/K`` and
        any confidence selector keeps roughly the cheapest ``ρ`` fraction; ``"renormalize"``
        returns ``P / mass`` (the class distribution if labeled; read the weights from ``mass_``
        in a hand-written loop). ``select="partial_ot_select"`` runs the same plan as a selector.
    total_steps : length of the ramp in ``update`` calls when no round counter is in the context.

    After each call ``mass_`` and ``info_["ot_mass"]`` hold the row masses, ``rho_`` the fraction.
    """

    _state = ("n_updates_", "fit_y_")

    def __init__(
        self,
        rho="ramp",
        prior="uniform",
        epsilon: float = 0.1,
        gamma: float = 1.0,
        fill: str = "uniform",
        rho0: float = 0.1,
        rho_max: float = 1.0,
        ramp: str = "sigmoid",
        total_steps: int | None = None,
        tol: float = 1e-6,
        max_iter: int = 1000,
    ):
        self.rho = rho
        self.prior = prior
        self.epsilon = epsilon
        self.gamma = gamma
        self.fill = fill
        self.rho0 = rho0
        self.rho_max = rho_max
        self.ramp = ramp
        self.total_steps = total_steps
        self.tol = tol
        self.max_iter = max_iter

    def reset(self) -> None:
        self.n_updates_ = 0
        self.fit_y_ = None

    def fit(self, probs: np.ndarray, y: np.ndarray) -> PartialOT:
        self._ensure_state(check_probs(probs).shape[1])
        self.fit_y_ = np.asarray(y, dtype=np.int64).copy()
        return self

    def _update(self, p: np.ndarray, ctx: Context) -> None:
        self.n_updates_ += 1

    def _refine(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        if self.fill not in ("uniform", "renormalize"):
            raise ValueError(f"fill must be 'uniform' or 'renormalize', got {self.fill!r}")
        self.rho_ = resolve_rho(
            self.rho, rho0=self.rho0, rho_max=self.rho_max, ramp=self.ramp, round=ctx.round, max_rounds=ctx.max_rounds,
            n_updates=self.n_updates_, total_steps=self.total_steps, owner=type(self).__name__,
        )
        labeled_y = ctx.labeled_y if ctx.labeled_y is not None else self.fit_y_
        prior = resolve_prior(self.prior, p.shape[1], probs=p, labeled_y=labeled_y, owner=type(self).__name__)
        P = partial_sinkhorn(p, self.rho_, prior, epsilon=self.epsilon, gamma=self.gamma, tol=self.tol, max_iter=self.max_iter)
        mass = P.sum(axis=1)
        self.mass_ = mass
        self.info_ = {"ot_mass": mass}
        if self.fill == "renormalize":
            return normalize_rows(P)
        return P + (1.0 - mass[:, None]) / p.shape[1]
