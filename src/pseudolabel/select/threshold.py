"""Fixed confidence threshold (Lee 2013 "Pseudo-Label"; FixMatch, Sohn et al. 2020): ``w = 1[c ≥ τ]``."""

from __future__ import annotations

import numpy as np

from pseudolabel.core.ops import check_probs
from pseudolabel.core.protocols import BaseSelector
from pseudolabel.core.registry import register


@register("select", "threshold")
class FixedThreshold(BaseSelector):
    """Keep a pseudo-label when its confidence reaches ``threshold`` (FixMatch default 0.95).

    ``threshold=0`` keeps everything (plain self-training on every prediction).
    """

    def __init__(self, threshold: float = 0.95):
        self.threshold = threshold

    def __call__(self, probs: np.ndarray, **context) -> np.ndarray:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {self.threshold}")
        p = check_probs(probs)
        self._ensure_state(p.shape[1])
        conf = p.max(axis=1) if len(p) else np.zeros(0)
        self.info_ = {"threshold": np.full(len(p), float(self.threshold))}
        return (conf >= self.threshold).astype(np.float64)
