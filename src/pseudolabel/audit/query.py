"""Which unlabeled rows should a human label next (active learning on top of pseudo-labels).

* ``"uncertainty"`` – normalised entropy ``H(p)/log K``; ``"margin"`` – ``1 − (p₍₁₎ − p₍₂₎)``.
* ``"density"`` – information density (Settles & Craven 2008; the reading of VIOLA's
  density-uncertainty selection): ``u_i · d_i^β`` with ``d_i`` the mean cosine
  similarity to the ``k`` nearest rows, so isolated outliers (which pure uncertainty sampling
  loves) rank below uncertain rows in dense regions.
* ``"ripu"`` – region impurity × uncertainty (RIPU, Xie et al. 2022) with the kNN neighbourhood
  as the region: entropy of the neighbours' predicted labels times their mean entropy.

``diversity=True`` spreads the batch: rows are grouped into ``budget`` k-means cells and the best
row of each cell is taken (best cells first), so one dense uncertain cluster cannot fill the batch.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import normalize

from pseudolabel.ops.knn import knn_search, prepare
from pseudolabel.ops.simplex import check_probs, entropy, margin, normalized_entropy

STRATEGIES = ("uncertainty", "margin", "density", "ripu")


def uncertainty(probs: np.ndarray) -> np.ndarray:
    """Normalised entropy ``H(p)/log K``: 1 = knows nothing."""
    return normalized_entropy(check_probs(probs))


def margin_uncertainty(probs: np.ndarray) -> np.ndarray:
    """``1 − margin``: large when the top two classes are close (the margin itself is
    :func:`pseudolabel.ops.simplex.margin`, large = confident)."""
    p = check_probs(probs)
    return 1.0 - margin(p) if p.shape[1] > 1 else np.zeros(len(p))


def density(features: np.ndarray, n_neighbors: int = 10) -> np.ndarray:
    """Mean cosine similarity of each row to its ``n_neighbors`` nearest rows, clipped to [0, 1]."""
    Z = prepare(features, "cosine")
    _, idx = knn_search(Z, None, min(n_neighbors, len(Z) - 1))
    sims = np.einsum("nd,nkd->nk", normalize(Z), normalize(Z)[idx])
    return np.clip(sims.mean(axis=1), 0.0, 1.0)


def region_impurity(probs: np.ndarray, features: np.ndarray, n_neighbors: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """RIPU terms per row: entropy of the neighbours' arg-max histogram and their mean entropy (both / log K)."""
    p = check_probs(probs)
    k = p.shape[1]
    _, idx = knn_search(prepare(features, "euclidean"), None, min(n_neighbors, len(p) - 1))
    hood = np.concatenate([np.arange(len(p))[:, None], idx], axis=1)  # the region includes the row itself
    labels = p.argmax(axis=1)[hood]
    hist = np.stack([(labels == c).mean(axis=1) for c in range(k)], axis=1)
    impurity = entropy(hist, axis=1) / np.log(k)
    unc = (entropy(p, axis=1) / np.log(k))[hood].mean(axis=1)
    return impurity, unc


def query_scores(probs, features=None, *, strategy: str = "density", beta: float = 1.0, n_neighbors: int = 10) -> np.ndarray:
    """Per-row score; higher = more useful to label."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if strategy in ("density", "ripu") and features is None:
        raise ValueError(f"strategy {strategy!r} needs features (the rows' feature vectors)")
    if strategy == "uncertainty":
        return uncertainty(probs)
    if strategy == "margin":
        return margin_uncertainty(probs)
    if strategy == "density":
        return uncertainty(probs) * density(features, n_neighbors) ** beta
    impurity, unc = region_impurity(probs, features, n_neighbors)
    return impurity * unc


def select_queries(
    probs,
    features=None,
    budget: int = 20,
    *,
    strategy: str = "density",
    beta: float = 1.0,
    n_neighbors: int = 10,
    diversity: bool = True,
    random_state: int = 0,
) -> np.ndarray:
    """Indices of the ``budget`` rows to label next, best first."""
    scores = query_scores(probs, features, strategy=strategy, beta=beta, n_neighbors=n_neighbors)
    budget = int(min(budget, len(scores)))
    if budget <= 0:
        return np.zeros(0, dtype=np.int64)
    if not diversity or features is None or budget == 1:
        return np.argsort(-scores, kind="stable")[:budget]
    cells = KMeans(n_clusters=budget, n_init=3, random_state=random_state).fit_predict(np.asarray(features, dtype=np.float64))
    order = np.lexsort((-scores, cells))  # by cell, best score first
    first = order[np.r_[True, cells[order][1:] != cells[order][:-1]]]  # the best row of each cell
    return first[np.argsort(-scores[first], kind="stable")]
