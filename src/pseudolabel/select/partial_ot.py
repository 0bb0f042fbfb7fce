"""P²OT as a selector: the row mass of the progressive partial transport plan is the weight.

In P²OT (Zhang et al. 2024) the loss on sample ``i`` is ``CE(z_i, P_i)`` with un-normalised soft
targets, so its implicit weight is the row mass ``Σ_k P_ik ∈ [0, 1]``; only about the cheapest
``ρ`` fraction of the pool carries mass. This selector returns that mass as the weight and the
plan's arg-max as the label (the plan can move a sample to a class other than its arg-max when
the class marginal pushes it). The plan itself is :func:`pseudolabel.ops.ot.partial_sinkhorn`;
the refiner ``partial_ot`` uses the same plan to refine probabilities.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseSelector
from pseudolabel.core.registry import register
from pseudolabel.core.selection import Selection
from pseudolabel.ops.ot import partial_sinkhorn, resolve_rho
from pseudolabel.ops.prior import resolve_prior


@register("select", "partial_ot_select", aliases=("partial_ot",))
class PartialOTSelect(BaseSelector):
    """Weight = P²OT row mass; label = arg-max of the plan row.

    rho : transported fraction in (0, 1] or ``"ramp"`` (``rho0 → rho_max``, sigmoid, over the
        self-training rounds, or over ``total_steps`` updates online).
    prior : ``"uniform"``, ``"labeled"``, ``"estimate"`` (EM, Saerens et al. 2002) or K numbers.
    epsilon, gamma : entropic regularisation (0.1) and KL weight on the class marginal (1).
    hard : weight ``1[mass ≥ 0.5]`` instead of the mass itself.
    min_mass : masses below this count as 0 (rejected), so coverage counts only samples that
        the plan really transports (with small ``ρ`` most rows keep a few thousandths).
    """

    _state = ("n_updates_",)

    def __init__(
        self,
        rho="ramp",
        prior="uniform",
        epsilon: float = 0.1,
        gamma: float = 1.0,
        hard: bool = False,
        min_mass: float = 0.01,
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
        self.hard = hard
        self.min_mass = min_mass
        self.rho0 = rho0
        self.rho_max = rho_max
        self.ramp = ramp
        self.total_steps = total_steps
        self.tol = tol
        self.max_iter = max_iter

    def reset(self) -> None:
        self.n_updates_ = 0

    def _update(self, p: np.ndarray, ctx: Context) -> None:
        self.n_updates_ += 1

    def _select(self, p: np.ndarray, ctx: Context) -> Selection:
        self.rho_ = resolve_rho(
            self.rho, rho0=self.rho0, rho_max=self.rho_max, ramp=self.ramp, round=ctx.round, max_rounds=ctx.max_rounds,
            n_updates=self.n_updates_, total_steps=self.total_steps, owner=type(self).__name__,
        )
        prior = resolve_prior(self.prior, p.shape[1], probs=p, labeled_y=ctx.labeled_y, owner=type(self).__name__)
        P = partial_sinkhorn(p, self.rho_, prior, epsilon=self.epsilon, gamma=self.gamma, tol=self.tol, max_iter=self.max_iter)
        mass = np.clip(P.sum(axis=1), 0.0, 1.0)
        w = (mass >= 0.5).astype(np.float64) if self.hard else np.where(mass >= self.min_mass, mass, 0.0)
        return Selection(w, P.argmax(axis=1), {"ot_mass": mass, "rho": np.full(len(p), self.rho_)})
