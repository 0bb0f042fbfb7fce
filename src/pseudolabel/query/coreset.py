"""``coreset``: a batch that covers the data — greedy k-centre on the features.

Sener & Savarese 2018, "Active Learning for Convolutional Neural Networks: A Core-Set Approach"
(ICLR), the greedy 2-approximation (their Algorithm 1; Gonzalez 1985): each pick is the candidate
farthest from every labeled row and every row already picked. Uses the ``embedding`` (a network's
last-layer features) when given, else the ``features``. With labeled rows the batch is
deterministic and equals scikit-activeml's ``CoreSet``; with none, the first pick is the candidate
closest to the candidates' mean (the most central row), then k-centre greedy.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.query import QueryBatch, QueryContext
from pseudolabel.core.registry import register
from pseudolabel.query.base import BaseQuery
from pseudolabel.query.batch import k_center_greedy


@register("query", "coreset")
class CoreSet(BaseQuery):
    """Greedy k-centre batch; ``info["radius"]`` is the covering radius after each pick."""

    batch_aware = True
    cold_start = True

    def _query(self, p: np.ndarray, budget: int, ctx: QueryContext, seed: int) -> QueryBatch:
        X = ctx.embedding if ctx.embedding is not None else ctx.require("features", "coreset")
        X = np.asarray(X, dtype=np.float64)
        centers = ctx.labeled_features if ctx.embedding is None else ctx.extra.get("labeled_embedding")
        first = int(np.argmin(np.linalg.norm(X - X.mean(axis=0), axis=1)))
        picks, radii = k_center_greedy(X, centers, budget, first=first)
        return QueryBatch(picks, np.full(len(p), np.nan), {"radius": radii,
                                                          "space": "embedding" if ctx.embedding is not None else "features"})
