"""Class-balanced top-k per class (GRIP, Menghini et al. 2023, "Enhancing CLIP with CLIP").

Each class keeps the ``k`` samples it is most confident about; a sample that does not make its
arg-max class's list is offered to its next most likely class, and no sample ever lands in two
classes (the authors' greedy pass lacks that guarantee; METHODS.md §2.1). With scores shared by
both sides this is a capacity-constrained stable matching, whose unique solution equals the
greedy "accept pairs in descending p_ic" rule; it is computed below by deferred acceptance in at
most K vectorised rounds instead of a Python loop over N·K pairs.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.ops import check_probs
from pseudolabel.core.protocols import BaseSelector
from pseudolabel.core.registry import register


def topk_per_class(probs: np.ndarray, k: int | np.ndarray) -> np.ndarray:
    """Assign at most ``k`` (scalar or per class) samples to each class; returns class or -1."""
    p = np.asarray(probs, dtype=np.float64)
    n, n_classes = p.shape
    cap = np.broadcast_to(np.asarray(k, dtype=np.int64), (n_classes,)).copy()
    if (cap < 0).any():
        raise ValueError(f"k must be >= 0, got {k}")
    order = np.argsort(-p, axis=1, kind="stable")  # each sample's classes, best first
    next_choice = np.zeros(n, dtype=np.int64)
    held = np.full(n, -1, dtype=np.int64)
    free = np.arange(n)
    for _ in range(n_classes):
        free = free[next_choice[free] < n_classes]
        if len(free) == 0:
            break
        proposal = order[free, next_choice[free]]
        next_choice[free] += 1
        cand = np.concatenate([np.flatnonzero(held >= 0), free])
        cls = np.concatenate([held[held >= 0], proposal])
        score = p[cand, cls]
        srt = np.lexsort((-score, cls))  # by class, best score first
        cand, cls = cand[srt], cls[srt]
        start = np.searchsorted(cls, np.arange(n_classes))
        rank = np.arange(len(cls)) - start[cls]
        keep = rank < cap[cls]
        held[:] = -1
        held[cand[keep]] = cls[keep]
        free = cand[~keep]
    return held


@register("select", "topk")
class TopKPerClass(BaseSelector):
    """Keep the ``k`` most confident samples of every class (weight 1), one class per sample.

    k : int = samples per class; float in (0, 1] = that fraction of ``n / K`` per class
        (``1.0`` labels everything, balanced).
    """

    def __init__(self, k: int | float = 0.5):
        self.k = k

    def per_class(self, n: int, n_classes: int) -> int:
        if isinstance(self.k, float | np.floating):
            if not 0.0 < self.k <= 1.0:
                raise ValueError(f"fractional k must lie in (0, 1], got {self.k}; pass an int for a count")
            return int(np.ceil(self.k * n / n_classes))
        if int(self.k) < 0:
            raise ValueError(f"k must be >= 0, got {self.k}")
        return int(self.k)

    def __call__(self, probs: np.ndarray, **context) -> np.ndarray:
        p = check_probs(probs)
        self._ensure_state(p.shape[1])
        assigned = topk_per_class(p, self.per_class(len(p), p.shape[1]))
        # the class a sample lands in may be its 2nd or 3rd choice: it is the label, not argmax(p)
        self.info_ = {"label": assigned}
        return (assigned >= 0).astype(np.float64)
