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

The scaling loop is written here (not POT's ``ot.unbalanced``) because P²OT relaxes only the
class side and keeps the reject column exact, which POT's solvers do not express; the loop is
the authors' fixed point restated (METHODS.md §2.7), vectorised over samples.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from pseudolabel.core.ops import EPS, check_probs, normalize_rows
from pseudolabel.core.protocols import BaseRefiner
from pseudolabel.core.registry import register
from pseudolabel.refine.prior import resolve_prior


def partial_sinkhorn(
    probs: np.ndarray,
    rho: float,
    prior: np.ndarray | None = None,
    *,
    epsilon: float = 0.1,
    gamma: float = 1.0,
    tol: float = 1e-6,
    max_iter: int = 1000,
    return_potentials: bool = False,
):
    """P²OT plan of ``probs`` with transported fraction ``rho``.

    Returns ``P`` (N, K): the real-class part of ``N ×`` the plan. Each full plan row sums to 1,
    so a row's mass ``P.sum(1)`` lies in [0, 1] and the total mass is ``ρ·N``; ``P / mass`` is
    the sample's class distribution if it is labeled. With ``return_potentials`` also returns
    ``v`` (K+1,), the column scalings, so new rows can be placed by :func:`partial_plan_rows`.

    gamma : KL weight on the class marginal; ``np.inf`` makes it exact (balanced Sinkhorn when
        ``rho == 1``), small values let the class sizes follow the data.
    """
    p = check_probs(probs)
    n, k = p.shape
    if not 0.0 < rho <= 1.0:
        raise ValueError(f"rho (transported fraction) must lie in (0, 1], got {rho}")
    if epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0 (np.inf for an exact class marginal), got {gamma}")
    pi = np.full(k, 1.0 / k) if prior is None else np.asarray(prior, dtype=np.float64)
    if pi.shape != (k,) or (pi <= 0).any():
        raise ValueError(f"prior must be {k} positive numbers, got {prior!r}")
    pi = pi / pi.sum()
    if n == 0:
        out = np.zeros((0, k))
        return (out, np.ones(k + 1)) if return_potentials else out
    phi = 1.0 if np.isinf(gamma) else gamma / (gamma + epsilon)
    target = np.append(rho * pi, 1.0 - rho)
    log_q = np.hstack([np.log(np.clip(p, EPS, None)) / epsilon, np.zeros((n, 1))])
    if log_q.min() > -700.0:
        plan, v = _scale_exp(np.exp(log_q), target, phi, tol, max_iter)
    else:  # very small ε: log domain never underflows
        plan, v = _scale_log(log_q, target, phi, tol, max_iter)
    P = plan[:, :k]
    return (P, v) if return_potentials else P


def _finish(plan: np.ndarray) -> np.ndarray:
    # one last row scaling: every sample's full row (real + reject) sums to exactly 1
    return plan / np.maximum(plan.sum(axis=1, keepdims=True), 1e-300)


def _scale_exp(Q: np.ndarray, target: np.ndarray, phi: float, tol: float, max_iter: int):
    n, k1 = Q.shape
    v = np.full(k1, 1.0 / k1)
    for _ in range(max_iter):
        u = (1.0 / n) / np.maximum(Q @ v, 1e-300)
        new = target / np.maximum(Q.T @ u, 1e-300)
        new[:-1] = new[:-1] ** phi
        done = np.linalg.norm(new - v) < tol
        v = new
        if done:
            break
    return _finish(Q * v[None, :]), v


def _scale_log(log_q: np.ndarray, target: np.ndarray, phi: float, tol: float, max_iter: int):
    n, k1 = log_q.shape
    with np.errstate(divide="ignore"):
        log_t = np.log(target)
    log_v = np.full(k1, -np.log(k1))
    for _ in range(max_iter):
        log_u = -np.log(n) - logsumexp(log_q + log_v[None, :], axis=1)
        new = log_t - logsumexp(log_q + log_u[:, None], axis=0)
        new[:-1] *= phi
        done = np.linalg.norm(np.exp(new) - np.exp(log_v)) < tol
        log_v = new
        if done:
            break
    log_plan = log_q + log_v[None, :]
    plan = np.exp(log_plan - logsumexp(log_plan, axis=1, keepdims=True))
    return plan, np.exp(log_v)


def partial_plan_rows(probs: np.ndarray, potentials: np.ndarray, *, epsilon: float = 0.1) -> np.ndarray:
    """Place new rows with fitted column scalings ``v``: row ∝ ``[p^{1/ε}, 1] ⊙ v``, real part."""
    p = check_probs(probs)
    log_q = np.hstack([np.log(np.clip(p, EPS, None)) / epsilon, np.zeros((len(p), 1))])
    with np.errstate(divide="ignore"):
        log_plan = log_q + np.log(np.asarray(potentials, dtype=np.float64))[None, :]
    plan = np.exp(log_plan - logsumexp(log_plan, axis=1, keepdims=True))
    return plan[:, :-1]


def rho_schedule(t: float, total: float, rho0: float = 0.1, rho_max: float = 1.0, kind: str = "sigmoid") -> float:
    """Transported fraction at step ``t`` of ``total``: P²OT's sigmoid ramp-up or a linear one."""
    if total <= 0:
        return float(rho_max)
    x = float(np.clip(t / total, 0.0, 1.0))
    if kind == "sigmoid":
        return float(rho0 + (rho_max - rho0) * np.exp(-5.0 * (1.0 - x) ** 2))
    if kind == "linear":
        return float(rho0 + (rho_max - rho0) * x)
    raise ValueError(f"ramp must be 'sigmoid' or 'linear', got {kind!r}")


class _RhoMixin:
    """ρ from a float, or from the ramp: offline ``round``/``max_rounds`` of the context,
    online the number of ``update`` calls so far out of ``total_steps``."""

    def _current_rho(self, context: dict) -> float:
        if not isinstance(self.rho, str):
            rho = float(self.rho)
        elif self.rho == "ramp":
            r, total = context.get("round"), context.get("max_rounds")
            if r is None or total is None:
                if self.total_steps is None:
                    raise ValueError(
                        f"{type(self).__name__}(rho='ramp') needs the context keys 'round' and 'max_rounds' "
                        "(SelfTrainer passes them) or total_steps= for a mini-batch loop; or pass a float rho"
                    )
                r, total = max(self.n_updates_ - 1, 0), self.total_steps
            rho = rho_schedule(r, total, self.rho0, self.rho_max, self.ramp)
        else:
            raise ValueError(f"rho must be a number in (0, 1] or 'ramp', got {self.rho!r}")
        if not 0.0 < rho <= 1.0:
            raise ValueError(f"rho must lie in (0, 1], got {rho}")
        return rho

    def _prior(self, p: np.ndarray, context: dict) -> np.ndarray:
        labeled_y = context.get("labeled_y")
        if labeled_y is None:
            labeled_y = getattr(self, "fit_y_", None)
        return resolve_prior(self.prior, p.shape[1], probs=p, labeled_y=labeled_y, owner=type(self).__name__)


@register("refine", "partial_ot")
class PartialOT(_RhoMixin, BaseRefiner):
    """Imbalance-aware Sinkhorn: P²OT plan as refined probabilities.

    rho : transported fraction in (0, 1], or ``"ramp"`` (``rho0 → rho_max`` over the rounds).
    prior : class marginal of the transported mass: ``"uniform"`` (P²OT), ``"labeled"``,
        ``"estimate"`` (EM prior of the pool, Saerens et al. 2002) or K numbers.
    epsilon, gamma : entropic regularisation (0.1) and KL weight of the class marginal (1).
    fill : what a row's untransported mass becomes. ``"uniform"`` (default) spreads it evenly, so
        ``probs = P + (1 − mass)/K``: a row's confidence can't exceed ``mass + (1 − mass)/K`` and
        any confidence selector keeps roughly the cheapest ``ρ`` fraction; ``"renormalize"``
        returns ``P / mass`` (the class distribution if labeled; read the weights from ``mass_``
        in a hand-written loop). ``select="partial_ot"`` runs the same plan as a selector.
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

    def update(self, probs: np.ndarray, *, idx=None, full_pool: bool = False, **context) -> None:
        self._ensure_state(check_probs(probs).shape[1])
        self.n_updates_ += 1

    def __call__(self, probs: np.ndarray, **context) -> np.ndarray:
        p = check_probs(probs)
        self._ensure_state(p.shape[1])
        if self.fill not in ("uniform", "renormalize"):
            raise ValueError(f"fill must be 'uniform' or 'renormalize', got {self.fill!r}")
        self.rho_ = self._current_rho(context)
        if len(p) == 0:
            self.mass_ = np.zeros(0)
            self.info_ = {"ot_mass": self.mass_}
            return p
        P = partial_sinkhorn(
            p, self.rho_, self._prior(p, context), epsilon=self.epsilon, gamma=self.gamma, tol=self.tol, max_iter=self.max_iter
        )
        mass = P.sum(axis=1)
        self.mass_ = mass
        self.info_ = {"ot_mass": mass}
        if self.fill == "renormalize":
            return normalize_rows(P)
        return P + (1.0 - mass[:, None]) / p.shape[1]
