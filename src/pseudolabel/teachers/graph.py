"""kNN-graph label spreading (Zhou et al. 2004, "Learning with Local and Global Consistency").

``F = (1 − α)(I − α S)⁻¹ Y₀`` with ``S = D^{-1/2} W D^{-1/2}`` on a sparse symmetric kNN graph;
``Y₀`` holds one-hot seeds scaled by their weight (human labels 1, pseudo-label seeds their
confidence). Solved exactly with conjugate gradients (``I − αS`` is symmetric positive definite)
instead of a fixed number of sweeps, so the answer does not depend on an iteration cap.
scikit-learn's ``LabelSpreading`` builds a dense n×n kernel (rbf) or recomputes neighbours in
pure Python loops; this one handles 10^6 rows in about a minute and a half on two cores: the kNN
graph comes from ``ops.knn`` (exact below 50,000 rows, the blocked IVF search above, within a
fraction of a point of the exact graph's accuracy) and the K classes are solved together by block
conjugate gradients (``ops.propagation``); measurements in BENCHMARKS.md "Scale".

**What it needs in memory** (it cannot score a pool batch by batch: spreading couples every row
with its neighbours): the rows' features as float32 (4·n·d bytes), the kNN lists and the
symmetric normalised adjacency (≈ 2·n·k entries), and six n × K float64 blocks during the solve
(n × m·K for m seedings spread together by :meth:`GraphTeacher.transduce_many`); the measured peaks
are in BENCHMARKS.md "Scale" (``pseudolabel bench --suite scale``). Going past one machine needs a
sharded kNN graph (docs/distributed.md).

Here ``alpha`` follows scikit-learn: the weight of what neighbours say (ERASE's α is the
opposite, the weight of a node's own label).

**Rows no seed reaches** — a connected component of the graph without a labeled row, or a row so
far from the rest that its edge weights underflow to 0 — carry no mass after spreading. They get
the **uniform distribution** (the graph knows nothing about them; confidence and entropy gates
reject them), never NaN: scikit-learn's ``LabelPropagation`` divides such all-zero rows by their
zero sum, and the NaN rows then arg-max to class 0. ``predict_proba`` does the same for a new row
whose neighbours carry no mass. Beware that a keep-everything selector (``threshold=0``) still
labels a uniform row with its arg-max; in ``SelfTrainer`` this only happens in round 0, since
from round 1 on every pool row is a seed (weighted by the student's confidence).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import reverse_cuthill_mckee
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from pseudolabel.core.registry import register
from pseudolabel.ops.hashing import fingerprint
from pseudolabel.ops.knn import (
    feature_scale,
    knn_graph,
    knn_search,
    normalized_adjacency,
    prepare,
    scaled_float32,
)
from pseudolabel.ops.propagation import spread_labels
from pseudolabel.ops.simplex import normalize_rows

SOLVE_BLOCK_BYTES = 256 * 2**20
"""Seedings spread together per block solve: as many as fit n × K float64 columns in 256 MB (all
six of ``SelfTrainer``'s chains up to ~5·10^5 rows with 10 classes, three at a time at 10^6). The
solver holds about six such blocks, so this caps its memory near 1.5 GB whatever the row count."""


@register("teacher", "graph")
class GraphTeacher(BaseEstimator):
    """Label spreading on a kNN graph over labeled + unlabeled rows (transductive teacher).

    n_neighbors : k of the kNN graph (7: best on digits and mnist1d among 5–20; small k keeps
        classes apart when labels are few). metric : ``"euclidean"`` or ``"cosine"``.
    weights : edge weights, ``"self-tuning"`` (local-scale Gaussian) or ``"connectivity"``.
    alpha : propagation strength in [0, 1) (scikit-learn convention; 0 = seeds only).
    scale : feature scaling before distances (``"auto"``, ``"standard"``, ``"none"``).
    backend : kNN backend (``ops.knn.BACKENDS``; ``"auto"``: exact below 50,000 rows — faiss, else
        scikit-learn — and the approximate blocked IVF search above).

    ``transduce(X, y, w)`` returns the propagated probabilities of the rows of ``X`` (uniform for
    rows no seed reaches, see the module docstring); ``predict_proba(X_new)`` extends them to new
    rows by a vote of their ``n_neighbors`` nearest training rows (as scikit-learn's
    ``LabelSpreading.predict_proba`` does with its kernel). Values far beyond float32's range
    are handled by a global rescaling in :func:`~pseudolabel.ops.knn.feature_scale`.
    """

    def __init__(
        self,
        n_neighbors: int = 7,
        metric: str = "euclidean",
        weights: str = "self-tuning",
        alpha: float = 0.99,
        scale="auto",
        backend: str = "auto",
    ):
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.weights = weights
        self.alpha = alpha
        self.scale = scale
        self.backend = backend

    def _graph(self, X: np.ndarray):
        key = (fingerprint(X), self.n_neighbors, self.metric, self.weights, str(self.scale), self.backend)
        if getattr(self, "_graph_key", None) != key:
            self.scale_ = feature_scale(X, self.scale)
            self.Z_ = prepare(scaled_float32(X, self.scale_), self.metric)
            # Z_ is already unit-normalised for cosine, so plain L2 search on it ranks by cosine
            W = knn_graph(self.Z_, self.n_neighbors, metric="euclidean", weights=self.weights, backend=self.backend)
            S = normalized_adjacency(W).tocsr()
            # rows renumbered by reverse Cuthill–McKee: neighbours get nearby numbers, so each sparse
            # product reads the iterate almost sequentially instead of jumping across a 10^6-row
            # array (benchmarks/profile_self_trainer.py times the products)
            self.order_ = reverse_cuthill_mckee(S, symmetric_mode=True).astype(np.int64)
            self.S_ = S[self.order_][:, self.order_].tocsr()
            self._graph_key = key
        return self.S_

    def fit(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> GraphTeacher:
        self.transduce(X, y, sample_weight, n_classes=n_classes)
        return self

    def transduce(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> np.ndarray:
        y = np.asarray(y, dtype=np.int64)
        K = int(n_classes if n_classes is not None else max(y.max(initial=-1) + 1, 1))
        return self.transduce_many(X, [y], [sample_weight], n_classes=K)[0]

    def transduce_many(self, X, ys, sample_weights, *, n_classes: int) -> list[np.ndarray]:
        """Several seedings of the same rows spread together: ``SelfTrainer``'s main chain and its
        cross-fitting chains share the graph and differ only in their seeds, so their columns share
        every sparse product (one block solve per group of seedings that fits
        :data:`SOLVE_BLOCK_BYTES`). Columns are independent CG runs, so each result equals its own
        :meth:`transduce`. The teacher keeps the state of the first seeding (``F_``,
        ``transduction_proba_``)."""
        X = np.asarray(X)
        K = int(n_classes)
        ys = [np.asarray(y, dtype=np.int64) for y in ys]
        sample_weights = list(sample_weights)
        if len(ys) != len(sample_weights):
            raise ValueError(f"{len(ys)} seedings but {len(sample_weights)} weight vectors")
        for y in ys:  # every seeding checked before the graph is built
            if len(y) != len(X):
                raise ValueError(f"y has {len(y)} entries but X has {len(X)} rows")
            if not (y >= 0).any():
                raise ValueError("the graph teacher got no labeled rows (every y is -1)")
        S = self._graph(X)
        position = np.empty_like(self.order_)
        position[self.order_] = np.arange(len(self.order_))  # row i of X is row position[i] of S
        per_solve = max(1, SOLVE_BLOCK_BYTES // (8 * max(len(X), 1) * max(K, 1)))
        parts = []
        for start in range(0, len(ys), per_solve):
            group = range(start, min(start + per_solve, len(ys)))
            # the seeds are written straight into the graph's row order: no stacked copy
            Y0 = np.zeros((len(X), len(group) * K))
            for j, i in enumerate(group):
                y = ys[i]
                lab = np.flatnonzero(y >= 0)
                w = sample_weights[i]
                Y0[position[lab], j * K + y[lab]] = 1.0 if w is None else np.asarray(w, dtype=np.float64)[lab]
            F = spread_labels(S, Y0, self.alpha)
            del Y0
            parts += [F[position, j * K:(j + 1) * K] for j in range(len(group))]
            del F
        self.n_classes_ = K
        self.F_ = parts[0]
        self.transduction_proba_ = normalize_rows(self.F_)
        return [self.transduction_proba_] + [normalize_rows(p) for p in parts[1:]]

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "transduction_proba_")
        Q = prepare(np.asarray(X, dtype=np.float64) / self.scale_, self.metric)
        if Q.shape[1] != self.Z_.shape[1]:
            raise ValueError(f"X has {Q.shape[1]} features, the graph was built on {self.Z_.shape[1]}")
        _, idx = knn_search(self.Z_, Q, self.n_neighbors, backend=self.backend)
        return normalize_rows(self.F_[idx].sum(axis=1))

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_graph_key", None)  # the graph is rebuilt if this object is fitted again
        state.pop("S_", None)
        state.pop("order_", None)
        return state
