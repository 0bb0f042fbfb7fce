"""``ripu``: region impurity × prediction uncertainty (RIPU).

Xie et al. 2022, "Towards Fewer Annotations: Active Learning via Region Impurity and Prediction
Uncertainty for Domain Adaptive Semantic Segmentation" (CVPR; code BIT-DA/RIPU,
``core/active/floating_region.py``). The paper's region is a pixel window; for classification the
region of row ``i`` is ``i`` and its ``k`` nearest rows (shared/METHODS.md §2.20):
impurity = entropy of the region's arg-max histogram / log K, uncertainty = the region's mean
entropy / log K, score = impurity × uncertainty.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.query import QueryContext
from pseudolabel.core.registry import register
from pseudolabel.ops.knn import knn_search, prepare
from pseudolabel.ops.simplex import check_probs, entropy
from pseudolabel.query.base import BaseQuery

N_NEIGHBORS = 10
"""Region size besides the row itself (the classification reading of RIPU's window, k ≈ 10–20)."""


def region_impurity(probs: np.ndarray, features: np.ndarray, n_neighbors: int = N_NEIGHBORS) -> tuple[np.ndarray, np.ndarray]:
    """RIPU terms per row: entropy of the region's arg-max histogram and its mean entropy (both / log K)."""
    p = check_probs(probs)
    k = p.shape[1]
    if k < 2 or len(p) < 2:
        return np.zeros(len(p)), np.zeros(len(p))
    _, idx = knn_search(prepare(features, "euclidean"), None, min(n_neighbors, len(p) - 1))
    hood = np.concatenate([np.arange(len(p))[:, None], idx], axis=1)  # the region includes the row itself
    labels = p.argmax(axis=1)[hood]
    hist = np.stack([(labels == c).mean(axis=1) for c in range(k)], axis=1)
    impurity = entropy(hist, axis=1) / np.log(k)
    unc = (entropy(p, axis=1) / np.log(k))[hood].mean(axis=1)
    return impurity, unc


@register("query", "ripu")
class RIPU(BaseQuery):
    """Score = region impurity × region uncertainty."""

    needs = ("features",)

    def __init__(self, n_neighbors: int = N_NEIGHBORS, diversity: str = "dedup", class_balance: bool = False):
        self.n_neighbors = n_neighbors
        self.diversity = diversity
        self.class_balance = class_balance

    def _scores(self, p: np.ndarray, ctx: QueryContext) -> np.ndarray:
        impurity, unc = region_impurity(p, ctx.features, self.n_neighbors)
        return impurity * unc
