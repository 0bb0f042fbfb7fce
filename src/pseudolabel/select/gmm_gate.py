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

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseSelector
from pseudolabel.core.registry import register
from pseudolabel.ops.loss_gate import GMM_REG_COVAR, GMM_TOL, loss_gate, pseudo_label_loss


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

    reads = ("student_probs",)

    def __init__(
        self,
        threshold: float = 0.5,
        soft: bool = False,
        min_noisy_loss: float = float(np.log(2.0)),
        reg_covar: float = GMM_REG_COVAR,
        tol: float = GMM_TOL,
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

    def _select(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        loss = pseudo_label_loss(p, ctx.student_probs)
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
