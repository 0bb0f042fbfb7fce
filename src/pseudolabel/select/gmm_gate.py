"""Dynamic loss gate: a two-component GMM on per-sample losses (DLG-LC; Han et al. 2022,
"Self-Supervised Speaker Verification Using Dynamic Loss-Gate and Label Correction").

Pseudo-labels the student finds easy to fit are usually right, and wrong ones stand out by a
large loss. Instead of a hand-set loss cut (the fixed gates ``[1, 3, 3, 5, 6]`` of its
predecessor LGL), a 2-component 1-D Gaussian mixture is fitted to the min-max normalised losses
of the current round; the component with the smaller mean is "reliable" and a sample is kept
when its posterior of that component exceeds 0.5 (the weighted-density crossing; DivideMix
uses the same rule and the same ``GaussianMixture(2, reg_covar=5e-4, tol=1e-2)`` settings).

Offline, the loss is the student's cross-entropy on the teacher's pseudo-label,
``ℓ_i = −log q_i[ŷ_i]`` with ``q`` = context ``student_probs`` and ``ŷ = argmax p``. In round 0 no
student exists yet; the rule then uses the teacher's own cross-entropy ``−log p_i[ŷ_i]``
(= ``−log c_i``), so the gate separates confident from unconfident pseudo-labels.

A 2-GMM always finds two components, even when every pseudo-label is fine (then it would cut
the pool in half); so when the high-loss component's mean loss is below ``min_noisy_loss``
(ours: ``log 2`` — on average the student still gives those pseudo-labels more than half its
probability) nothing is gated.

The raw GMM posterior is not monotone in the loss when the two variances differ (the narrow
component loses *both* tails), which would call the lowest losses unreliable; the posterior is
therefore set to 1 below the reliable mean and made non-increasing above it.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from pseudolabel.core.ops import EPS, check_probs
from pseudolabel.core.protocols import BaseSelector
from pseudolabel.core.registry import register


def pseudo_label_loss(probs: np.ndarray, student_probs: np.ndarray | None = None) -> np.ndarray:
    """Per-sample CE ``−log q_i[argmax p_i]``; ``q = student_probs`` or, without one, ``p`` itself."""
    p = check_probs(probs)
    q = p if student_probs is None else check_probs(student_probs, "student_probs")
    if q.shape != p.shape:
        raise ValueError(f"student_probs has shape {q.shape} but probs has {p.shape}; pass the student's probabilities on the same rows")
    if len(p) == 0:
        return np.zeros(0)
    return -np.log(np.clip(q[np.arange(len(p)), p.argmax(axis=1)], EPS, None))


def loss_gate(
    losses: np.ndarray,
    *,
    reg_covar: float = 5e-4,
    tol: float = 1e-2,
    max_iter: int = 200,
    random_state=0,
    min_noisy_loss: float = float(np.log(2.0)),
    return_model: bool = False,
):
    """Posterior of the low-loss component of a 2-GMM on min-max normalised ``losses``.

    Returns ``post`` (n,) in [0, 1], non-increasing in the loss; with ``return_model`` also the
    fitted mixture, the min-max range ``(lo, hi)`` and the index of the reliable component.
    Fewer than 4 distinct losses leave nothing to separate, and a high-loss component whose
    mean (in raw loss units) is below ``min_noisy_loss`` is not unreliable: every sample then
    gets posterior 1.
    """
    x = np.asarray(losses, dtype=np.float64).ravel()
    if not np.isfinite(x).all():
        raise ValueError("losses contain NaN or inf")
    lo, hi = (float(x.min()), float(x.max())) if len(x) else (0.0, 0.0)
    if len(np.unique(x)) < 4 or hi - lo < 1e-12:
        post = np.ones(len(x))
        return (post, None, (lo, hi), 0) if return_model else post
    z = ((x - lo) / (hi - lo))[:, None]
    gmm = GaussianMixture(2, reg_covar=reg_covar, tol=tol, max_iter=max_iter, random_state=random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(z)
    means = gmm.means_.ravel()
    clean = int(np.argmin(means))
    if lo + (hi - lo) * means.max() < min_noisy_loss:
        post = np.ones(len(x))
        return (post, gmm, (lo, hi), clean) if return_model else post
    raw = gmm.predict_proba(z)[:, clean]
    raw = np.where(z[:, 0] <= gmm.means_.ravel()[clean], 1.0, raw)
    order = np.argsort(x, kind="stable")
    post = np.empty_like(raw)
    post[order] = np.minimum.accumulate(raw[order])
    return (post, gmm, (lo, hi), clean) if return_model else post


@register("select", "gmm")
class GMMGate(BaseSelector):
    """Keep pseudo-labels whose loss falls in the low-loss GMM component (DLG).

    threshold : posterior cut (0.5, the density crossing). soft : use the posterior itself as
        the weight instead of the 0/1 gate. min_noisy_loss : no gating when the high-loss
        component's mean loss is below this (log 2). reg_covar, tol, max_iter : ``GaussianMixture``
        settings (DivideMix defaults). random_state : seed of the mixture's initialisation.

    Context: ``student_probs`` (round 0 / ``None``: the teacher's own CE, see module doc).
    Pair with ``refine="label_correction"`` for the full DLG-LC (corrected rows then pass).
    """

    def __init__(
        self,
        threshold: float = 0.5,
        soft: bool = False,
        min_noisy_loss: float = float(np.log(2.0)),
        reg_covar: float = 5e-4,
        tol: float = 1e-2,
        max_iter: int = 200,
        random_state=0,
    ):
        self.threshold = threshold
        self.soft = soft
        self.min_noisy_loss = min_noisy_loss
        self.reg_covar = reg_covar
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def __call__(self, probs: np.ndarray, *, student_probs=None, **context) -> np.ndarray:
        p = check_probs(probs)
        self._ensure_state(p.shape[1])
        loss = pseudo_label_loss(p, student_probs)
        post = loss_gate(
            loss,
            reg_covar=self.reg_covar,
            tol=self.tol,
            max_iter=self.max_iter,
            random_state=self.random_state,
            min_noisy_loss=self.min_noisy_loss,
        )
        self.info_ = {"clean_posterior": post, "pl_loss": loss}
        return post if self.soft else (post > self.threshold).astype(np.float64)
