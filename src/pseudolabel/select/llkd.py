"""Teacher confidence × student information need (LLKD; Li et al. 2024, "Learning with Less:
Knowledge Distillation from Large Language Models via Unlabeled Data", arXiv 2411.08028).

LLKD keeps the samples a (large) teacher is confident about *and* the student is still unsure
about: those are both likely correct and informative. Two class-wise dynamic thresholds follow
the global training status and each class's progress. The paper's exact thresholds were not
available; this is the reconstruction of docs/methods/select.md, `llkd` (FreeMatch-style global × MaxNorm)::

    c_i = max p_i (teacher),  u_i = H(q_i)/log K (student),  ŷ_i = argmax p_i
    τ_T(y) = mean(c) · MaxNorm_y(mean_{ŷ=y} c)        τ_S(y) = mean(u) · MaxNorm_y(mean_{ŷ=y} u)
    keep_i = 1[c_i ≥ τ_T(ŷ_i)] · 1[u_i ≥ τ_S(ŷ_i)]
    w_i    = keep_i · c_i·u_i / max_{kept}(c·u)

The means are EMAs online (momentum 0.999) and the pool's own statistics offline. The paper
normalises weights by their *mean* over kept samples; here by the *max*, to honour the [0, 1]
weight contract — ratios between samples are the same, only the overall scale (``λ_u``) differs.
Without a student yet (context ``student_probs=None``, SelfTrainer's round 0) the student is
taken as knowing nothing, ``u ≡ 1``, and the selection reduces to the teacher threshold.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseSelector, ema, resolve_momentum
from pseudolabel.core.registry import register
from pseudolabel.ops.simplex import EPS, check_probs, normalized_entropy


def _student_uncertainty(p: np.ndarray, ctx: Context) -> np.ndarray:
    """Normalised entropy of the student on the rows; 1 (knows nothing) before a student exists."""
    q = ctx.student_probs
    if q is None:
        return np.ones(len(p))
    q = check_probs(q, "student_probs")
    if q.shape != p.shape:
        raise ValueError(f"student_probs has shape {q.shape} but probs has {p.shape}")
    return normalized_entropy(q)


def _class_means(values: np.ndarray, pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(pred, minlength=k)
    sums = np.bincount(pred, weights=values, minlength=k)
    return np.divide(sums, counts, out=np.zeros(k), where=counts > 0), counts > 0


@register("select", "llkd")
class LLKD(BaseSelector):
    """Keep teacher-confident, student-uncertain samples; weight ∝ confidence × uncertainty.

    momentum : EMA momentum of the threshold statistics (``None`` = 0.999 online, pool offline).
    Context: ``student_probs`` (required key; ``None`` = no student yet).
    """

    _state = ("conf_mean_", "conf_class_", "unc_mean_", "unc_class_")

    def __init__(self, momentum: float | None = None):
        self.momentum = momentum

    def reset(self) -> None:
        self.conf_mean_ = None
        self.conf_class_ = None
        self.unc_mean_ = None
        self.unc_class_ = None

    def _fold(self, old_mean, old_class, values, pred, m):
        k = self.n_classes_
        mean = float(values.mean())
        cls, seen = _class_means(values, pred, k)
        if old_mean is None:
            return mean, np.where(seen, cls, mean)
        new_class = old_class.copy()
        new_class[seen] = ema(old_class[seen], cls[seen], m)
        return float(ema(old_mean, mean, m)), new_class

    def _update(self, p: np.ndarray, ctx: Context) -> None:
        u = _student_uncertainty(p, ctx)
        if len(p) == 0:
            return
        m = resolve_momentum(self.momentum, ctx.full_pool)
        pred = p.argmax(axis=1)
        self.conf_mean_, self.conf_class_ = self._fold(self.conf_mean_, self.conf_class_, p.max(axis=1), pred, m)
        self.unc_mean_, self.unc_class_ = self._fold(self.unc_mean_, self.unc_class_, u, pred, m)

    def thresholds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-class teacher-confidence and student-uncertainty thresholds ``(τ_T, τ_S)``."""
        if self.conf_mean_ is None:
            raise ValueError("LLKD has no statistics yet: call update(probs, student_probs=...) first")
        tau_t = self.conf_mean_ * self.conf_class_ / max(self.conf_class_.max(), EPS)
        tau_s = self.unc_mean_ * self.unc_class_ / max(self.unc_class_.max(), EPS)
        return tau_t, tau_s

    def _select(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        u = _student_uncertainty(p, ctx)
        if self.conf_mean_ is None:  # no update yet: use this batch's own statistics
            self._update(p, ctx.replace(full_pool=True))
        c, pred = p.max(axis=1), p.argmax(axis=1)
        tau_t, tau_s = self.thresholds()
        keep = (c >= tau_t[pred]) & (u >= tau_s[pred])
        score = np.where(keep, c * u, 0.0)
        top = score.max()
        w = score / top if top > 0 else np.zeros(len(p))
        self.info_ = {"teacher_threshold": tau_t[pred], "student_threshold": tau_s[pred], "student_uncertainty": u}
        return w
