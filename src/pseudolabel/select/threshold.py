"""Fixed confidence threshold (Lee 2013 "Pseudo-Label"; FixMatch, Sohn et al. 2020): ``w = 1[c ≥ τ]``."""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseSelector
from pseudolabel.core.registry import register


@register("select", "threshold")
class FixedThreshold(BaseSelector):
    """Keep a pseudo-label when its confidence reaches ``threshold`` (FixMatch default 0.95).

    ``threshold=0`` keeps everything (plain self-training on every prediction).
    """

    reads = ()

    def __init__(self, threshold: float = 0.95):
        self.threshold = threshold

    def _select(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {self.threshold}")
        self.info_ = {"threshold": np.full(len(p), float(self.threshold))}
        return (p.max(axis=1) >= self.threshold).astype(np.float64)
