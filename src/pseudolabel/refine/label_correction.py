"""Label correction for gated-out pseudo-labels (DLG-LC; Han et al. 2022, "Self-Supervised
Speaker Verification Using Dynamic Loss-Gate and Label Correction").

The dynamic loss gate (:mod:`pseudolabel.select.gmm_gate`) splits pseudo-labels into reliable
and unreliable by a 2-GMM on the student's loss ``−log q_i[ŷ_i]``. Label correction replaces each
unreliable pseudo-label by the student's own prediction when the student is confident about it
(``max q_i ≥ threshold``; 0.5 is our default, the paper's value was not available); the others
are left as they are, so the gate rejects them afterwards. Used before ``select="gmm"`` the
corrected rows carry the student's label, their loss is low and they pass the gate: together
that is DLG-LC. Round 0 (no ``student_probs`` yet) corrects nothing.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseRefiner
from pseudolabel.core.registry import register
from pseudolabel.ops.loss_gate import GMM_REG_COVAR, loss_gate, pseudo_label_loss
from pseudolabel.ops.simplex import check_probs


@register("refine", "label_correction")
class LabelCorrection(BaseRefiner):
    """Replace gated-out pseudo-labels by the student's confident predictions.

    threshold : minimum student confidence for a correction (ours: 0.5). gate : posterior cut of
    the loss gate (0.5). min_noisy_loss, reg_covar, random_state : as in
    :func:`~pseudolabel.ops.loss_gate.loss_gate`.

    Context: ``student_probs`` (``None`` → identity). ``info_`` holds ``clean_posterior`` and
    ``corrected`` (bool) for the audit; ``n_corrected_`` counts the last call's corrections.
    """

    def __init__(
        self,
        threshold: float = 0.5,
        gate: float = 0.5,
        min_noisy_loss: float = float(np.log(2.0)),
        reg_covar: float = GMM_REG_COVAR,
        random_state=0,
    ):
        self.threshold = threshold
        self.gate = gate
        self.min_noisy_loss = min_noisy_loss
        self.reg_covar = reg_covar
        self.random_state = random_state

    def _refine(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        student_probs = ctx.student_probs
        if student_probs is None:
            self.info_ = {"clean_posterior": np.ones(len(p)), "corrected": np.zeros(len(p), dtype=bool)}
            self.n_corrected_ = 0
            return p
        q = check_probs(student_probs, "student_probs")
        post = loss_gate(
            pseudo_label_loss(p, q), reg_covar=self.reg_covar, random_state=self.random_state, min_noisy_loss=self.min_noisy_loss
        )
        fix = (post <= self.gate) & (q.max(axis=1) >= self.threshold)
        out = p.copy()
        out[fix] = q[fix]
        self.info_ = {"clean_posterior": post, "corrected": fix}
        self.n_corrected_ = int(fix.sum())
        return out
