"""``density_weighted``: uncertain rows in dense regions first (information density; VIOLA).

Information density (Settles & Craven 2008, "An Analysis of Active Learning Strategies for
Sequence Labeling Tasks", eq. 9): ``score_i = u_i · d_i^β`` with ``u_i = H(p_i)/log K`` and
``d_i`` the mean cosine similarity of row ``i`` to its ``k`` nearest rows (clipped to [0, 1]).
This is the reconstruction of VIOLA's density-uncertainty selection (shared/METHODS.md §2.20):
isolated outliers, which pure uncertainty sampling loves, rank below uncertain rows in dense
regions; the batch is spread by the k-means cells of :mod:`pseudolabel.query.batch`.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import normalize

from pseudolabel.core.query import QueryContext
from pseudolabel.core.registry import register
from pseudolabel.ops.knn import knn_search, prepare
from pseudolabel.ops.simplex import normalized_entropy
from pseudolabel.query.base import BaseQuery

N_NEIGHBORS = 10
"""Neighbourhood size of the density term (shared/METHODS.md §2.20: k ≈ 10–20)."""
BETA = 1.0
"""Exponent of the density term (Settles & Craven 2008 use β = 1)."""


def density(features: np.ndarray, n_neighbors: int = N_NEIGHBORS) -> np.ndarray:
    """Mean cosine similarity of each row to its ``n_neighbors`` nearest rows, clipped to [0, 1]."""
    Z = prepare(features, "cosine")
    if len(Z) < 2:
        return np.ones(len(Z))
    _, idx = knn_search(Z, None, min(n_neighbors, len(Z) - 1))
    U = normalize(Z)
    sims = np.einsum("nd,nkd->nk", U, U[idx])
    return np.clip(sims.mean(axis=1), 0.0, 1.0)


@register("query", "density_weighted")
class DensityWeighted(BaseQuery):
    """Score = ``H(p)/log K · density^β``; k-means cells spread the batch by default."""

    needs = ("features",)

    def __init__(self, beta: float = BETA, n_neighbors: int = N_NEIGHBORS, diversity: str = "kmeans",
                 class_balance: bool = False):
        self.beta = beta
        self.n_neighbors = n_neighbors
        self.diversity = diversity
        self.class_balance = class_balance

    def _scores(self, p: np.ndarray, ctx: QueryContext) -> np.ndarray:
        return normalized_entropy(p) * density(ctx.features, self.n_neighbors) ** self.beta
