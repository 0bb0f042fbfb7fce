"""``typiclust``: the cold-start strategy — the most typical row of each large uncovered cluster.

Hacohen, Dekel & Weinshall 2022, "Active Learning on a Budget: Opposite Strategies Suit High and
Low Budgets" (ICML). With few or no labels, typical rows help more than uncertain ones: cluster
all rows (labeled and candidates) into ``|L| + B`` k-means clusters (at most ``MAX_CLUSTERS``),
then repeatedly take the largest cluster holding no labeled or picked row and pick its most
typical candidate, typicality = 1 / mean Euclidean distance to its ``k`` nearest rows in the
cluster. Needs no model and no label. With the same clustering it equals scikit-activeml's
``TypiClust`` (the test passes identical k-means settings).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import NearestNeighbors

from pseudolabel.core.query import QueryBatch, QueryContext
from pseudolabel.core.registry import register
from pseudolabel.query.base import BaseQuery

K_NEIGHBORS = 20
"""Neighbours of the typicality estimate (the paper's K = 20)."""
MAX_CLUSTERS = 500
"""Cap on the number of clusters (the authors' code caps it at 500 for large budgets)."""
EPS = 1e-7


def typicality(X: np.ndarray, k: int) -> np.ndarray:
    """1 / mean distance to the ``k`` nearest other rows (the row itself counts as distance 0,
    as in the authors' and scikit-activeml's code); a lone row gets 1."""
    if len(X) == 1:
        return np.ones(1)
    k = min(len(X) - 1, k)
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return 1.0 / ((dist.sum(axis=1) + EPS) / k)


@register("query", "typiclust")
class TypiClust(BaseQuery):
    """Most typical row of each largest uncovered k-means cluster."""

    batch_aware = True
    cold_start = True

    def __init__(self, k: int = K_NEIGHBORS, max_clusters: int = MAX_CLUSTERS, n_init="auto"):
        self.k = k
        self.max_clusters = max_clusters
        self.n_init = n_init

    def _query(self, p: np.ndarray, budget: int, ctx: QueryContext, seed: int) -> QueryBatch:
        Xc = np.asarray(ctx.require("features", "typiclust"), dtype=np.float64)
        Xl = ctx.labeled_features
        Xl = np.zeros((0, Xc.shape[1])) if Xl is None else np.asarray(Xl, dtype=np.float64)
        X = np.vstack([Xc, Xl])
        n_clusters = int(min(len(Xl) + budget, self.max_clusters, len(X)))
        with warnings.catch_warnings():  # duplicate rows give fewer distinct clusters: handled below
            warnings.simplefilter("ignore", ConvergenceWarning)
            cells = KMeans(n_clusters=n_clusters, random_state=seed, n_init=self.n_init).fit_predict(X)
        sizes = np.bincount(cells, minlength=n_clusters).astype(np.float64)
        sizes[np.unique(cells[len(Xc):])] = 0  # clusters that already hold a label
        cand_cells = cells[: len(Xc)]
        picks: list[int] = []
        scores = np.full(len(Xc), np.nan)
        for _ in range(budget):
            free = np.setdiff1d(np.arange(len(Xc)), picks)
            if sizes.max() > 0:
                c = int(np.argmax(sizes))
                members = np.flatnonzero(cells == c)
                typ = typicality(X[members], self.k)
                cand = members < len(Xc)
                rows, t = members[cand], typ[cand]
                sizes[c] = 0
                if len(rows) == 0:
                    continue
            else:  # every cluster covered: the most typical remaining candidate overall
                rows, t = free, typicality(Xc, self.k)[free]
            i = int(rows[np.argmax(t)])
            scores[rows] = t
            picks.append(i)
        if len(picks) < budget:  # clusters of labeled rows only: fill with the most typical others
            rest = np.setdiff1d(np.arange(len(Xc)), picks)
            t = typicality(Xc, self.k)[rest]
            picks += rest[np.argsort(-t, kind="stable")][: budget - len(picks)].tolist()
        return QueryBatch(np.asarray(picks), scores, {"n_clusters": n_clusters, "cluster": cand_cells[picks]})
