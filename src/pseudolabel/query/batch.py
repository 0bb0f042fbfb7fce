"""Reusable batch parts: from per-row scores to a batch a person can label without waste.

* :func:`dedup_order` – walk the ranking and defer any row whose cosine similarity to a row already
  taken exceeds ``threshold`` (exact and near duplicates never share a batch while distinct rows
  remain);
* :func:`kmeans_cells` – the best row of each of ``budget`` k-means cells, best cells first (so one
  dense uncertain cluster cannot fill the batch; the diversity step of the VIOLA reconstruction);
* :func:`class_balanced_order` – at most ``ceil(budget / K)`` rows per predicted class while other
  classes still have candidates;
* :func:`k_center_greedy` and :func:`kmeanspp_seeding` – the joint batch builders of core-set and
  BADGE.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances_argmin_min
from sklearn.preprocessing import normalize

DIVERSITY = ("none", "dedup", "kmeans")
DEDUP_THRESHOLD = 0.999
"""Cosine similarity above which two rows count as near-duplicates (the same row up to rounding,
a re-posted text, a copied table line)."""
KMEANS_N_INIT = 3
"""k-means restarts for the diversity cells (as in ``audit.query.select_queries`` before the split)."""


def top_order(scores: np.ndarray) -> np.ndarray:
    """Every row, highest score first; ties keep the row order (deterministic)."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


def dedup_order(order: np.ndarray, features: np.ndarray, budget: int, threshold: float = DEDUP_THRESHOLD) -> tuple[np.ndarray, int]:
    """``budget`` rows from ``order`` with no two more similar than ``threshold`` (cosine); deferred
    rows refill the batch only when too few distinct rows exist. Returns (rows, number deferred)."""
    Z = normalize(np.asarray(features, dtype=np.float64).reshape(len(features), -1))
    zero = ~np.any(Z != 0, axis=1)
    taken: list[int] = []
    deferred: list[int] = []
    for i in order:
        if len(taken) == budget:
            break
        if taken:
            sims = Z[taken] @ Z[i]
            same_zero = zero[i] and zero[taken].any()
            if sims.max() > threshold or same_zero:
                deferred.append(int(i))
                continue
        taken.append(int(i))
    n_deferred = len(deferred)
    taken += deferred[: budget - len(taken)]
    return np.asarray(taken, dtype=np.int64), n_deferred


def kmeans_cells(scores: np.ndarray, features: np.ndarray, budget: int, seed: int = 0,
                 candidates: np.ndarray | None = None) -> np.ndarray:
    """The best-scoring row of each of ``budget`` k-means cells of ``features``, best cells first."""
    scores = np.asarray(scores, dtype=np.float64)
    rows = np.arange(len(scores)) if candidates is None else np.asarray(candidates)
    n_cells = min(budget, len(rows))
    X = np.asarray(features, dtype=np.float64)[rows]
    cells = KMeans(n_clusters=n_cells, n_init=KMEANS_N_INIT, random_state=seed).fit_predict(X)
    s = scores[rows]
    order = np.lexsort((-s, cells))  # by cell, best score first
    first = order[np.r_[True, cells[order][1:] != cells[order][:-1]]]
    return rows[first[np.argsort(-s[first], kind="stable")]]


def class_balanced_order(order: np.ndarray, labels: np.ndarray, budget: int, n_classes: int) -> np.ndarray:
    """Reorder ``order`` so that the first ``budget`` rows hold at most ``ceil(budget / K)`` of each
    predicted class while other classes still have candidates (the rest follows in rank order)."""
    labels = np.asarray(labels)
    quota = math.ceil(budget / max(n_classes, 1))
    counts = np.zeros(max(n_classes, int(labels.max(initial=0)) + 1), dtype=np.int64)
    head, tail = [], []
    for i in order:
        c = labels[i]
        if counts[c] < quota:
            counts[c] += 1
            head.append(int(i))
        else:
            tail.append(int(i))
    return np.asarray(head + tail, dtype=np.int64)


def rank_batch(scores: np.ndarray, budget: int, *, features: np.ndarray | None, labels: np.ndarray,
               n_classes: int, diversity: str = "dedup", dedup_threshold: float = DEDUP_THRESHOLD,
               class_balance: bool = False, seed: int = 0) -> tuple[np.ndarray, dict]:
    """A batch from per-row scores with the optional diversity and class-balance parts."""
    if diversity not in DIVERSITY:
        raise ValueError(f"diversity must be one of {DIVERSITY}, got {diversity!r}")
    order = top_order(scores)
    info: dict = {"diversity": diversity if features is not None else "none", "class_balance": bool(class_balance)}
    if class_balance:
        order = class_balanced_order(order, labels, budget, n_classes)
    if features is None or diversity == "none" or budget == 1:
        return order[:budget], info
    if diversity == "kmeans":
        with warnings.catch_warnings():  # duplicates give fewer distinct cells: topped up below
            warnings.simplefilter("ignore", ConvergenceWarning)
            picked = kmeans_cells(scores, features, budget, seed)
        if len(picked) < budget:
            rest = np.setdiff1d(order, picked, assume_unique=True)
            rest = rest[np.argsort(np.argsort(order)[rest], kind="stable")] if len(rest) else rest
            picked = np.concatenate([picked, rest[: budget - len(picked)]])
        if class_balance:  # keep the quota: cells in class-balanced rank order
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            picked = picked[np.argsort(rank[picked], kind="stable")]
        info["n_deferred_duplicates"] = 0
        return picked, info
    picked, n_deferred = dedup_order(order, features, budget, dedup_threshold)
    info["n_deferred_duplicates"] = n_deferred
    return picked, info


def k_center_greedy(X: np.ndarray, centers: np.ndarray | None, budget: int, first: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-centre (Gonzalez 1985; the core-set step of Sener & Savarese 2018): repeatedly take
    the row farthest (Euclidean) from every centre so far. ``centers`` are the already labeled
    points (may be empty; then ``first`` starts the batch). Returns (rows, the distance of each
    pick to its nearest centre when it was picked)."""
    X = np.asarray(X, dtype=np.float64)
    dist = np.full(len(X), np.inf)
    if centers is not None and len(centers):
        _, dist = pairwise_distances_argmin_min(X, np.asarray(centers, dtype=np.float64))
    picks, radii = [], []
    for _ in range(budget):
        if np.isinf(dist).all():
            i = 0 if first is None else int(first)
        else:
            d = dist.copy()
            d[picks] = -np.inf
            i = int(np.argmax(d))
        picks.append(i)
        radii.append(float(dist[i]))
        dist = np.minimum(dist, np.linalg.norm(X - X[i], axis=1))
    return np.asarray(picks, dtype=np.int64), np.asarray(radii)


def kmeanspp_seeding(G: np.ndarray, budget: int, seed: int = 0) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii 2007) as BADGE uses it: the first row is the one
    with the largest norm, each next one is drawn with probability ∝ its squared distance to the
    nearest row drawn so far (``numpy.random.RandomState(seed)``, one ``choice`` per draw)."""
    G = np.asarray(G, dtype=np.float64)
    rs = np.random.RandomState(seed)
    picks: list[int] = []
    d2 = np.sum(G**2, axis=1)
    for i in range(budget):
        if i > 0:
            _, dist = pairwise_distances_argmin_min(G, G[[picks[-1]]])
            d2 = np.minimum(d2, dist**2)
        total = d2.sum()
        if i == 0 and total > 0:
            picks.append(int(np.argmax(d2)))
            continue
        if total == 0:  # every row coincides with a pick: uniform over the rest
            d2 = np.full(len(G), np.inf)
            p = np.ones(len(G))
            p[picks] = 0
        else:
            p = d2.copy()
        p = p / p.sum()
        picks.append(int(rs.choice(len(p), 1, replace=False, p=p)[0]))
    return np.asarray(picks, dtype=np.int64)
