"""Capacity-constrained assignment of samples to classes (GRIP, Menghini et al. 2023, "Enhancing
CLIP with CLIP"): each class keeps the ``k`` samples it is most confident about, no sample in two
classes. Shared by the ``topk`` and ``grip`` selectors.

With scores shared by both sides this is a capacity-constrained stable matching whose unique
solution equals the greedy "accept pairs in descending p_ic" rule; it is computed by deferred
acceptance in at most K vectorised rounds instead of a Python loop over N·K pairs.
"""

from __future__ import annotations

import numpy as np


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
