"""Class prototypes and cosine scores to them (PS-TTL's soft labels, SimpleShot's nearest mean).

``p_ik = softmax_k( max_j cos(f_i, μ_kj) / T )`` where ``μ_kj`` are the prototypes of class k: the
(weighted) class mean, or k-means centres of the class's rows when a class is multi-modal. Shared
by the prototype, ERASE, SimMatch and zero-shot teachers and the prototype-band refiner.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from pseudolabel.ops.simplex import softmax


def unit_rows(A: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    A = np.asarray(A, dtype=np.float64)
    n = np.linalg.norm(A, axis=1, keepdims=True)
    return np.divide(A, n, out=np.zeros_like(A), where=n > 0)


def prototype_scores(features, prototypes, labels, n_classes: int, temperature: float) -> np.ndarray:
    """``softmax_k( max_{j: labels_j = k} cos(f, μ_j) / T )``; classes without a prototype get 0."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    cos = unit_rows(features) @ unit_rows(prototypes).T  # (n, P)
    logits = np.full((len(cos), n_classes), -np.inf)
    labels = np.asarray(labels, dtype=np.int64)
    for k in np.unique(labels):  # loop over classes; the max over a class's prototypes is vectorised
        logits[:, k] = cos[:, labels == k].max(axis=1) / temperature
    return softmax(logits, axis=1)


def class_prototypes(
    X: np.ndarray, y: np.ndarray, weight: np.ndarray | None, n_classes: int, n_prototypes: int = 1, random_state=None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-class prototypes ``(P, d)`` and their class labels ``(P,)``.

    One prototype = the weighted class mean. Several = weighted k-means centres (at most one per
    row of the class) on the unit-normalised rows, so the centres follow the cosine geometry.
    """
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
    protos, labels = [], []
    for k in range(n_classes):
        rows = np.flatnonzero((y == k) & (w > 0))
        if len(rows) == 0:
            continue
        m = min(int(n_prototypes), len(rows))
        if m <= 1:
            protos.append(np.average(X[rows], axis=0, weights=w[rows])[None])
        else:
            km = KMeans(n_clusters=m, n_init=3, random_state=random_state)
            km.fit(unit_rows(X[rows]), sample_weight=w[rows])
            protos.append(km.cluster_centers_)
        labels.append(np.full(len(protos[-1]), k))
    if not protos:
        raise ValueError("no class has a labeled row with positive weight; cannot build prototypes")
    return np.vstack(protos), np.concatenate(labels)
