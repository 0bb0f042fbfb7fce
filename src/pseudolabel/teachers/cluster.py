"""Clustering teacher for (almost) no labels: k-means → balanced or partial OT assignment →
clusters mapped to classes by the few labels (Hungarian matching).

1. **Clusters.** k-means on the (scaled) features, seeded with the labeled class means when
   every class has a label (seeded k-means, Basu et al. 2002), else k-means++.
2. **Scores.** ``S_ij = −‖x_i − μ_j‖² / s`` with ``s`` the mean squared distance of a row to its
   nearest centre, so ``S`` is unit-free and one ``epsilon`` works across datasets.
3. **Assignment.** ``balance="sela"``: Sinkhorn–Knopp to the prior (SeLa; Asano et al. 2020,
   "Self-labelling via simultaneous clustering and representation learning") — every cluster
   gets its share, which prevents the degenerate solution of k-means collapsing classes;
   ``"p2ot"``: progressive partial OT (P²OT; Zhang et al. 2024) — only a fraction ``ρ`` of the mass
   is assigned, the class marginal is KL-relaxed so imbalanced clusters survive, and the
   untransported mass is spread uniformly so unsure rows get low confidence;
   ``None``: ``softmax(S/ε)``.
4. **Clusters → classes.** The (weighted) soft counts of labeled rows per (cluster, class) are
   matched one-to-one by the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``);
   with more clusters than classes the remaining clusters take their majority class (or, with
   no labeled member, the class of the nearest matched centre).

``mode="clusters"`` (or ``"auto"`` with no labels at all) skips step 4 and returns cluster
memberships: the columns are cluster ids ``0..n_clusters−1`` and ``classes_`` is
``arange(n_clusters)`` — ids carry no class meaning until someone names them.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.utils.validation import check_is_fitted

from pseudolabel.core.registry import register
from pseudolabel.ops.knn import feature_scale
from pseudolabel.ops.ot import partial_plan_rows, partial_sinkhorn, sinkhorn
from pseudolabel.ops.prior import resolve_prior
from pseudolabel.ops.simplex import EPS, normalize_rows, softmax


def match_clusters(counts: np.ndarray, centers: np.ndarray | None = None) -> np.ndarray:
    """Map clusters (rows of ``counts``) to classes (columns) maximising the matched count.

    One-to-one Hungarian matching first; clusters left over (more clusters than classes) take
    the class with the largest count, or without any count the class of the nearest matched
    centre (needs ``centers``). Returns ``cluster_to_class`` (n_clusters,).
    """
    counts = np.asarray(counts, dtype=np.float64)
    n_clusters, n_classes = counts.shape
    if n_clusters < n_classes:
        raise ValueError(f"need at least as many clusters as classes; got {n_clusters} < {n_classes}")
    rows, cols = linear_sum_assignment(-counts)
    mapping = np.full(n_clusters, -1, dtype=np.int64)
    mapping[rows] = cols
    rest = np.flatnonzero(mapping < 0)
    if len(rest):
        has = counts[rest].sum(axis=1) > 0
        mapping[rest[has]] = counts[rest[has]].argmax(axis=1)
        empty = rest[~has]
        if len(empty):
            if centers is None:
                raise ValueError("clusters without labeled members need centers= to borrow a class")
            known = np.flatnonzero(mapping >= 0)
            d = ((centers[empty, None, :] - centers[None, known, :]) ** 2).sum(axis=2)
            mapping[empty] = mapping[known[d.argmin(axis=1)]]
    return mapping


@register("teacher", "cluster")
class ClusterTeacher(BaseEstimator):
    """k-means + SeLa/P²OT assignment + Hungarian cluster→class map (transductive teacher).

    n_clusters : clusters (``None`` = number of classes). balance : ``"sela"``, ``"p2ot"`` or
        ``None``. epsilon : sharpness of the assignment on the unit-free distance scores (0.3:
        best calibrated of 0.05/0.1/0.3 on digits, same accuracy; SeLa's 0.04 is for logits).
    prior : class/cluster marginal, ``"uniform"``, ``"labeled"``, ``"estimate"`` or numbers
        (with more clusters than classes only ``"uniform"`` or numbers per cluster).
    rho, gamma : P²OT's transported fraction and marginal KL weight.
    mode : ``"auto"`` (map to classes when labels exist, else cluster ids), ``"classes"`` or
        ``"clusters"``. scale : feature scaling (as the graph teacher). n_init, random_state :
        k-means restarts (only used without a labeled seed) and seed.
    """

    def __init__(
        self,
        n_clusters: int | None = None,
        balance: str | None = "sela",
        epsilon: float = 0.3,
        prior="uniform",
        rho: float = 1.0,
        gamma: float = 1.0,
        mode: str = "auto",
        scale="auto",
        n_init: int = 4,
        random_state=0,
    ):
        self.n_clusters = n_clusters
        self.balance = balance
        self.epsilon = epsilon
        self.prior = prior
        self.rho = rho
        self.gamma = gamma
        self.mode = mode
        self.scale = scale
        self.n_init = n_init
        self.random_state = random_state

    # ------------------------------------------------------------------ pieces
    def _assign(self, S: np.ndarray, labeled_y) -> np.ndarray:
        k = S.shape[1]
        if self.balance is None:
            return softmax(S / self.epsilon, axis=1)
        base = softmax(S, axis=1)
        pi = resolve_prior(self.prior, k, probs=base, labeled_y=labeled_y, owner="ClusterTeacher")
        if self.balance == "sela":
            Q = sinkhorn(S, pi, epsilon=self.epsilon)
            # column scalings v (up to a constant) from the two-way decomposition of log Q − S/ε
            M = np.log(np.clip(Q, 1e-300, None)) - S / self.epsilon
            self.log_v_ = (M - M.mean(axis=1, keepdims=True)).mean(axis=0)
            return Q
        if self.balance == "p2ot":
            # P²OT's cost −log softmax(S) gives the kernel softmax(S)^{1/ε} ∝ exp(S/ε) per row,
            # the same sharpness as SeLa's for one ε
            P, v = partial_sinkhorn(base, self.rho, pi, epsilon=self.epsilon, gamma=self.gamma, return_potentials=True)
            self.potentials_ = v
            mass = P.sum(axis=1)
            self.mass_ = mass
            return P + (1.0 - mass[:, None]) / k
        raise ValueError(f"balance must be 'sela', 'p2ot' or None; got {self.balance!r}")

    # ------------------------------------------------------------------ API
    def fit(self, X, y=None, sample_weight=None, *, n_classes: int | None = None) -> ClusterTeacher:
        self.transduce(X, y, sample_weight, n_classes=n_classes)
        return self

    def transduce(self, X, y=None, sample_weight=None, *, n_classes: int | None = None) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {X.shape}")
        n = len(X)
        y = np.full(n, -1, dtype=np.int64) if y is None else np.asarray(y, dtype=np.int64)
        if len(y) != n:
            raise ValueError(f"y has {len(y)} entries but X has {n} rows")
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        lab = np.flatnonzero(y >= 0)
        if self.mode not in ("auto", "classes", "clusters"):
            raise ValueError(f"mode must be 'auto', 'classes' or 'clusters'; got {self.mode!r}")
        as_clusters = self.mode == "clusters" or (self.mode == "auto" and len(lab) == 0)
        if not as_clusters and len(lab) == 0:
            raise ValueError("ClusterTeacher(mode='classes') got no labeled rows; label some rows or use mode='clusters'")
        K = int(n_classes) if n_classes is not None else (int(y.max()) + 1 if len(lab) else None)
        n_clusters = self.n_clusters if self.n_clusters is not None else K
        if n_clusters is None:
            raise ValueError("with no labels pass n_clusters= (or n_classes=) to say how many clusters to find")
        if not as_clusters and n_clusters < K:
            raise ValueError(f"n_clusters={n_clusters} is smaller than the {K} classes")
        if n_clusters > n:
            raise ValueError(f"n_clusters={n_clusters} exceeds the {n} rows")
        if self.epsilon <= 0:
            raise ValueError(f"epsilon must be > 0, got {self.epsilon}")

        self.scale_ = feature_scale(X, self.scale)
        Z = X / self.scale_
        seeded = not as_clusters and n_clusters == K and len(np.unique(y[lab])) == K
        if seeded:  # labeled class means (weighted) as initial centres
            init = np.stack([np.average(Z[lab][y[lab] == c], axis=0, weights=w[lab][y[lab] == c] + EPS) for c in range(K)])
            km = KMeans(n_clusters, init=init, n_init=1, random_state=self.random_state)
        else:
            km = KMeans(n_clusters, n_init=self.n_init, random_state=self.random_state)
        km.fit(Z)
        self.centers_ = km.cluster_centers_
        d2 = -self._scores_raw(Z)
        self.score_scale_ = max(float(d2.min(axis=1).mean()), EPS)
        S = -d2 / self.score_scale_
        prior_y = None if as_clusters or n_clusters != K else y[lab]
        Q = self._assign(S, prior_y)
        self.n_clusters_ = n_clusters
        self.cluster_proba_ = Q
        if as_clusters:
            self.cluster_to_class_ = np.arange(n_clusters)
            self.n_classes_ = n_clusters
            self.classes_ = np.arange(n_clusters)
            self.transduction_proba_ = Q
            return Q
        counts = np.zeros((n_clusters, K))
        np.add.at(counts.T, y[lab], (Q[lab] * w[lab, None]))
        self.cluster_to_class_ = match_clusters(counts, self.centers_)
        self.n_classes_ = K
        self.classes_ = np.arange(K)
        self.transduction_proba_ = self._to_classes(Q)
        return self.transduction_proba_

    def _scores_raw(self, Z: np.ndarray) -> np.ndarray:
        d2 = (Z**2).sum(axis=1)[:, None] - 2.0 * Z @ self.centers_.T + (self.centers_**2).sum(axis=1)[None, :]
        return -np.maximum(d2, 0.0)

    def _to_classes(self, Q: np.ndarray) -> np.ndarray:
        out = np.zeros((len(Q), self.n_classes_))
        for j, c in enumerate(self.cluster_to_class_):  # loop over clusters, vectorised over rows
            out[:, c] += Q[:, j]
        return out

    def predict_proba(self, X) -> np.ndarray:
        """New rows: distance scores with the fitted column scalings, mapped to classes."""
        check_is_fitted(self, "centers_")
        Z = np.asarray(X, dtype=np.float64) / self.scale_
        if Z.shape[1] != self.centers_.shape[1]:
            raise ValueError(f"X has {Z.shape[1]} features, the teacher was fitted on {self.centers_.shape[1]}")
        S = self._scores_raw(Z) / self.score_scale_
        if self.balance == "sela":
            logits = S / self.epsilon + self.log_v_[None, :]
            Q = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
        elif self.balance == "p2ot":
            P = partial_plan_rows(softmax(S, axis=1), self.potentials_, epsilon=self.epsilon)
            Q = P + (1.0 - P.sum(axis=1, keepdims=True)) / P.shape[1]
        else:
            Q = softmax(S / self.epsilon, axis=1)
        Q = normalize_rows(Q)
        return self._to_classes(Q)
