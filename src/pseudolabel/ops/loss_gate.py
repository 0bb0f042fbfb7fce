"""Dynamic loss gate: the posterior of the low-loss component of a two-component GMM on per-sample
losses (DLG-LC; Han et al. 2022, "Self-Supervised Speaker Verification Using Dynamic Loss-Gate and
Label Correction"). Shared by the ``gmm`` selector and the ``label_correction`` refiner; the
rules (min-max normalisation, ``min_noisy_loss``, monotone posterior) are explained in
:mod:`pseudolabel.select.gmm_gate`.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from pseudolabel.ops.simplex import EPS, check_probs

GMM_REG_COVAR = 5e-4
"""DivideMix's (Li et al. 2020) ``GaussianMixture(2, reg_covar=5e-4, tol=1e-2)``, reused by DLG-LC."""
GMM_TOL = 1e-2
"""See ``GMM_REG_COVAR``."""


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
    reg_covar: float = GMM_REG_COVAR,
    tol: float = GMM_TOL,
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
        # fitted on the sorted losses: the k-means initialisation draws rows by position, so the
        # gate would otherwise depend on the order of the rows, not only on their losses
        gmm.fit(np.sort(z, axis=0))
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
