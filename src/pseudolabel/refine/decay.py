"""Confidence decay (CW-BASS; Tarubinga et al. 2025, "CW-BASS: Confidence-Weighted
Boundary-Aware Learning for Semi-Supervised Semantic Segmentation").

CW-BASS multiplies each pseudo-label's confidence weight by a constant ``d = 0.9`` before the
loss (``c ← d·c``), to temper over-confident teachers. On loss weights that is a plain rescale of
``λ_u`` (docs/methods/refine.md) and is available exactly as ``CWBASS(decay=0.9)``. As a refiner it
must return probabilities, so here the removed confidence goes to the uniform distribution:
``p ← d·p + (1 − d)/K``. The arg-max is kept and every confidence becomes ``d·c + (1 − d)/K``,
so downstream weights ``c^γ`` (γ = 1) shrink by ≈ ``d`` as in the paper, while the rows stay on
the simplex. This is the same map as ``LabelSmoothing(alpha=1 − d)``; it is registered under its
paper's name so CW-BASS configurations read as published.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseRefiner
from pseudolabel.core.registry import register
from pseudolabel.ops.simplex import smooth_labels


@register("refine", "decay")
class ConfidenceDecay(BaseRefiner):
    """Shrink every confidence toward chance: ``p ← factor·p + (1 − factor)/K``.

    factor : the paper's decay factor (0.9); 1 leaves the probabilities unchanged.
    """

    def __init__(self, factor: float = 0.9):
        self.factor = factor

    def _refine(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        if not 0.0 <= self.factor <= 1.0:
            raise ValueError(f"factor must lie in [0, 1], got {self.factor}")
        return smooth_labels(p, 1.0 - self.factor)
