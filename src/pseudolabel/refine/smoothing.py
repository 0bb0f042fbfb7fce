"""Label smoothing of pseudo-labels (Szegedy et al. 2016, "Rethinking the Inception
Architecture"; Müller et al. 2019, "When Does Label Smoothing Help?").

``p ← (1 − α)·t + α/K`` with ``t`` the teacher's probabilities (``hard=False``) or the one-hot
of its arg-max (``hard=True``, the classic form). It caps every target at ``1 − α + α/K``, so a
student trained on soft targets is never pushed toward infinite logits by a pseudo-label that
may be wrong. The arg-max is unchanged.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseRefiner
from pseudolabel.core.registry import register
from pseudolabel.ops.simplex import smooth_labels


@register("refine", "smooth")
class LabelSmoothing(BaseRefiner):
    """Mix pseudo-labels with the uniform distribution.

    alpha : smoothing mass (0.1, Szegedy et al.). hard : smooth the one-hot arg-max (classic
        label smoothing, for soft-target neural training) instead of the probabilities. With
        ``hard=True`` every confidence becomes ``1 − α + α/K``, so put it after any
        confidence-based choice (e.g. in a neural loop) rather than before a threshold selector.
    """

    def __init__(self, alpha: float = 0.1, hard: bool = False):
        self.alpha = alpha
        self.hard = hard

    def _refine(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        return smooth_labels(p, self.alpha, self.hard)
