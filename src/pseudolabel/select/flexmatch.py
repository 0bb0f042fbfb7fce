"""FlexMatch curriculum pseudo-labeling (Zhang et al. 2021), as in USB's ``FlexMatchThresholdingHook``.

Per class, ``σ_c`` counts unlabeled samples whose latest confident (``c ≥ τ``) prediction is
``c``. The learning effect ``β_c = σ_c / max(max_c' σ_c', N − Σσ)`` (warm-up: the still-unused
samples count as one more class) maps to a class threshold ``T_c = τ · M(β_c)`` with the convex
``M(x) = x / (2 − x)``. Classes the model is still bad at get lower thresholds. As in USB, β is
only updated once something was selected, so at the very start every ``T_c = 0``.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseSelector
from pseudolabel.core.registry import register

MAPPINGS = {
    "convex": lambda x: x / (2.0 - x),
    "linear": lambda x: x,
    "concave": lambda x: np.log1p(x) / np.log(2.0),
}


def learning_effect(sigma: np.ndarray, n_samples: int, warmup: bool = True) -> np.ndarray:
    """``β_c = σ_c / max(max σ, N − Σσ)`` (warm-up) or ``σ_c / max σ``; zeros before any selection."""
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.sum() <= 0:
        return np.zeros_like(sigma)
    return sigma / (max(sigma.max(), n_samples - sigma.sum()) if warmup else sigma.max())


def flexmatch_thresholds(sigma: np.ndarray, n_samples: int, threshold: float, warmup: bool = True, mapping: str = "convex") -> np.ndarray:
    """Class thresholds ``T_c = τ · M(β_c)`` from the per-class counts ``σ_c``."""
    return threshold * MAPPINGS[mapping](learning_effect(sigma, n_samples, warmup))


@register("select", "flexmatch")
class FlexMatch(BaseSelector):
    """Class-adaptive thresholds; state: the latest confident class of every pool sample.

    threshold : τ (USB 0.95). n_samples : pool size, needed online (offline it is the pool).
    warmup : count unused samples in the normaliser (USB ``thresh_warmup=True``).
    """

    _state = ("selected_", "beta_")

    def __init__(self, threshold: float = 0.95, warmup: bool = True, mapping: str = "convex", n_samples: int | None = None):
        self.threshold = threshold
        self.warmup = warmup
        self.mapping = mapping
        self.n_samples = n_samples

    def reset(self) -> None:
        self.selected_ = None if self.n_samples is None else np.full(int(self.n_samples), -1, dtype=np.int64)
        self.beta_ = np.zeros(self.n_classes_)

    def _update(self, p: np.ndarray, ctx: Context) -> None:
        idx = ctx.idx
        if self.mapping not in MAPPINGS:
            raise ValueError(f"mapping must be one of {sorted(MAPPINGS)}, got {self.mapping!r}")
        conf, pred = p.max(axis=1), p.argmax(axis=1)
        confident = conf >= self.threshold
        if ctx.full_pool:
            self.selected_ = np.where(confident, pred, -1)
        elif idx is None:
            raise ValueError("FlexMatch.update needs idx= (pool indices of the batch rows) or full_pool=True")
        else:
            if self.selected_ is None:
                raise ValueError("FlexMatch used on mini-batches needs n_samples= (the size of the unlabeled pool)")
            idx = np.asarray(idx, dtype=np.int64)
            if len(idx) != len(p) or (len(idx) and (idx.min() < 0 or idx.max() >= len(self.selected_))):
                raise ValueError(f"idx must hold one pool index in [0, {len(self.selected_)}) per row of probs")
            self.selected_[idx[confident]] = pred[confident]
        sigma = np.bincount(self.selected_[self.selected_ >= 0], minlength=self.n_classes_)
        if sigma.sum() > 0:  # USB: β only moves once something has been selected
            self.beta_ = learning_effect(sigma, len(self.selected_), self.warmup)

    def thresholds(self) -> np.ndarray:
        return self.threshold * MAPPINGS[self.mapping](self.beta_)

    def _select(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        t = self.thresholds()[p.argmax(axis=1)]
        self.info_ = {"threshold": t}
        return (p.max(axis=1) >= t).astype(np.float64)
