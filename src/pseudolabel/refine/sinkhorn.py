"""Sinkhorn–Knopp balancing of soft assignments to a class prior (SwAV, SeLa, RoNID).

Solves ``max_Q <Q, S> + ε H(Q)`` subject to rows summing to ``1/N`` and columns to ``π``; the
solution is ``Q = diag(u) exp(S/ε) diag(v)`` and ``N·Q`` is returned so each row is a probability
vector. Two modes, because the papers need both (METHODS.md §2.6): a fixed number of alternating
row/column scalings (SwAV's fast online mode, 3 iterations, marginals only approximate) and a
tolerance mode that stops once both marginals are within ``tol`` (exact offline mode, needed for
imbalanced π).

Written here rather than calling POT because it sits on the per-batch hot path, needs the
row-normalised ``N·Q`` output and a fixed-iteration mode, and the tolerance mode uses a faster
solver: every row of ``N·Q`` is ``softmax(S_i/ε + w)`` for one K-vector ``w`` (``w = log v``), so
the exact plan is the minimiser of the convex K-dimensional dual
``g(w) = mean_i logsumexp(S_i/ε + w) − π·w``. Newton's method on ``g`` converges in a handful of
O(N·K²) steps, where alternating scaling needed ~800 sweeps on 100,000 near-one-hot rows (2.5 s
vs 0.05 s). The tests check it against ``ot.sinkhorn``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from pseudolabel.core.ops import EPS, check_probs, class_prior
from pseudolabel.core.protocols import BaseRefiner
from pseudolabel.core.registry import register


def sinkhorn(
    scores: np.ndarray,
    prior: np.ndarray | None = None,
    *,
    epsilon: float = 0.05,
    n_iter: int | None = None,
    tol: float = 1e-6,
    max_iter: int = 10_000,
    return_n_iter: bool = False,
):
    """Balanced soft assignment ``N·Q`` (rows on the simplex, column means = ``prior``).

    Parameters
    ----------
    scores : (N, C) affinities ``S`` (logits, log-probabilities or cosine similarities).
    prior : (C,) class marginal π (defaults to uniform); must be positive and is renormalised.
    epsilon : entropic regularisation ε; smaller means harder assignments.
    n_iter : run exactly this many row/column scaling rounds (fast mode); ``None`` = tolerance mode.
    tol : tolerance mode stops when ``max_i |N·rowsum_i − 1| < tol`` (columns are exact after each
        round because the column update comes last).
    """
    S = np.asarray(scores, dtype=np.float64)
    if S.ndim != 2:
        raise ValueError(f"scores must be 2-D (n_samples, n_classes); got shape {S.shape}")
    if not np.isfinite(S).all():
        raise ValueError("scores contain NaN or inf")
    n, c = S.shape
    pi = np.full(c, 1.0 / c) if prior is None else np.asarray(prior, dtype=np.float64)
    if pi.shape != (c,) or (pi <= 0).any():
        raise ValueError(f"prior must be {c} positive numbers (one per class); got {prior!r}")
    if epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    pi = pi / pi.sum()
    log_k = S / epsilon
    log_k -= log_k.max(axis=1, keepdims=True)  # row shifts leave Q unchanged; keeps exp() in range
    if n_iter is None:
        q, it = _newton_dual(log_k, pi, tol, max_iter)
        if q is not None:
            return (q, it) if return_n_iter else q
        n_iter_eff, check = max_iter, True  # Newton stalled (extreme ε): alternate scalings instead
    else:
        n_iter_eff, check = n_iter, False
    if log_k.min() > -700.0:  # nothing underflows: scale in the exp domain (matrix-vector products)
        q, it = _scale_exp(np.exp(log_k), pi, check, tol, n_iter_eff)
    else:  # very small ε: stay in the log domain (logsumexp), slower but never underflows
        q, it = _scale_log(log_k, pi, check, tol, n_iter_eff)
    return (q, it) if return_n_iter else q


def _newton_dual(log_k: np.ndarray, pi: np.ndarray, tol: float, max_iter: int):
    """Rows ``softmax(log_k + w)``; Newton + backtracking on the convex dual until columns match π.

    Returns ``(None, it)`` if it has not converged after ``min(max_iter, 100)`` steps.
    """
    n, k = log_k.shape
    w = np.zeros(k)

    def rows(w):
        z = log_k + w
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        return e / s, (np.log(s[:, 0]) + (log_k + w).max(axis=1)).mean() - pi @ w

    q, g = rows(w)
    for it in range(1, min(max_iter, 100) + 1):
        grad = q.mean(axis=0) - pi
        if np.abs(grad).max() < tol:
            return q * (1.0 / q.sum(axis=1, keepdims=True)), it
        hess = np.diag(q.mean(axis=0)) - (q.T @ q) / n
        step = np.linalg.lstsq(hess + 1e-12 * np.eye(k), -grad, rcond=None)[0]
        step -= step.mean()  # w is defined up to a constant shift
        t = 1.0
        while True:  # Armijo backtracking keeps every step a descent step on g
            q_new, g_new = rows(w + t * step)
            if g_new <= g + 1e-4 * t * (grad @ step) or t < 1e-8:
                break
            t *= 0.5
        if t < 1e-8:
            return None, it
        w, q, g = w + t * step, q_new, g_new
    return None, it


def _scale_exp(kernel: np.ndarray, pi: np.ndarray, check: bool, tol: float, limit: int):
    n = len(kernel)
    u, v = np.ones(n), np.ones(len(pi))
    it = 0
    for it in range(1, limit + 1):  # noqa: B007 - the count is returned
        u = (1.0 / n) / np.maximum(kernel @ v, 1e-300)
        v = pi / np.maximum(kernel.T @ u, 1e-300)
        if check and np.abs(n * u * (kernel @ v) - 1.0).max() < tol:
            break
    return n * u[:, None] * kernel * v[None, :], it


def _scale_log(log_k: np.ndarray, pi: np.ndarray, check: bool, tol: float, limit: int):
    n = len(log_k)
    log_r, log_c = np.log(1.0 / n), np.log(pi)
    u, v = np.zeros(n), np.zeros(len(pi))
    it = 0
    for it in range(1, limit + 1):  # noqa: B007 - the count is returned
        u = log_r - logsumexp(log_k + v[None, :], axis=1)
        v = log_c - logsumexp(log_k + u[:, None], axis=0)
        if check and np.abs(np.exp(logsumexp(log_k + v[None, :], axis=1) + u + np.log(n)) - 1.0).max() < tol:
            break
    return np.exp(log_k + u[:, None] + v[None, :]) * n, it


@register("refine", "sinkhorn")
class SinkhornBalance(BaseRefiner):
    """Rebalance teacher probabilities so the pool's class marginal matches a prior.

    Uses ``S = log p`` and ``ε = 1`` by default, so ``Q_ik ∝ p_ik v_k``: a prior-shift correction
    that keeps each sample's odds between classes and only moves mass across classes (Sinkhorn
    with scores ``log p``; SeLa / SwAV use smaller ε on logits to also sharpen).

    prior : ``"labeled"`` (class frequencies of the labels passed to ``fit``), ``"uniform"`` or
        an array of K positive numbers.
    """

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

    def _target(self, k: int) -> np.ndarray:
        if isinstance(self.prior, str):
            if self.prior == "uniform":
                return np.full(k, 1.0 / k)
            if self.prior == "labeled":
                if getattr(self, "prior_", None) is None:
                    raise ValueError(
                        "SinkhornBalance(prior='labeled') needs fit(probs, y) on labeled rows first, "
                        "or pass prior='uniform' / an array"
                    )
                return self.prior_
            raise ValueError(f"prior must be 'labeled', 'uniform' or an array; got {self.prior!r}")
        pi = np.asarray(self.prior, dtype=np.float64)
        if pi.shape != (k,):
            raise ValueError(f"prior has {pi.size} entries but the probabilities have {k} classes")
        return pi

    def __call__(self, probs: np.ndarray, **context) -> np.ndarray:
        p = check_probs(probs)
        self._ensure_state(p.shape[1])
        if len(p) == 0:
            return p
        scores = np.log(np.clip(p, EPS, None))
        return sinkhorn(
            scores, self._target(p.shape[1]), epsilon=self.epsilon, n_iter=self.n_iter, tol=self.tol, max_iter=self.max_iter
        )
