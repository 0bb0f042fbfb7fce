"""ERASE teacher: label propagation of labels blended with similarity to class means.

Chen et al. 2024, "ERASE: Error-Resilient Representation Learning on Graphs for Label Noise
Tolerance". Two stages, on a graph over all rows (here a symmetric kNN graph on the features):

1. **Pre-correction** of the given labels: ``Y ← (1 − α) A' Y + α Y`` for ``T`` steps, where
   ``A'`` is the graph restricted to labeled–labeled edges; a label that disagrees with its
   labeled neighbours is replaced by ``argmax Y``.
2. **Semantic + structural labels**: with class means ``μ_c`` of the labeled rows,
   ``Y_sem = softmax( (β Y + (1 − β) |cos(x, μ)|) / temperature )`` for every row, then the same
   propagation ``Y_sem ← (1 − α) A Y_sem + α Y_sem`` (``T`` steps, or to convergence).

**The α convention**: ``self_weight`` is ERASE's α, the weight of a node's *own* label. It is the
opposite of scikit-learn's ``LabelSpreading.alpha`` and of ``GraphTeacher.alpha`` (the weight of
what neighbours say): ``self_weight = 1 − alpha``. Run to convergence, the propagation is Zhou et
al.'s label spreading ``F = α (I − (1 − α) S)⁻¹ Y₀``, solved here with ``graph.spread_labels``.

``A`` follows the ERASE code (``A D⁻¹``, column-normalised) for a finite number of steps and the
symmetric ``D^{-1/2} A D^{-1/2}`` of ``GraphTeacher`` for the converged solve. ERASE's defaults
(run.sh) are α 0.5–0.7 (0.6 on Cora/CiteSeer/PubMed), β 0.6–0.7, T 2–5; ``temperature = 1`` is
the paper's plain softmax; they are the defaults here.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from pseudolabel.core.registry import register
from pseudolabel.ops.hashing import fingerprint
from pseudolabel.ops.knn import knn_graph, knn_search, normalized_adjacency, prepare
from pseudolabel.ops.propagation import spread_labels
from pseudolabel.ops.prototypes import unit_rows
from pseudolabel.ops.simplex import normalize_rows, softmax


def column_normalized(W: sp.spmatrix) -> sp.csr_matrix:
    """``W D⁻¹`` (ERASE's ``normalize_adj_row``); isolated nodes keep zero columns."""
    deg = np.asarray(W.sum(axis=0)).ravel()
    inv = np.divide(1.0, deg, out=np.zeros_like(deg, dtype=np.float64), where=deg > 0)
    return (sp.csr_matrix(W) @ sp.diags(inv)).tocsr()


def row_normalized(W: sp.spmatrix) -> sp.csr_matrix:
    """``D⁻¹ W`` (row-stochastic: each node averages its neighbours)."""
    deg = np.asarray(W.sum(axis=1)).ravel()
    inv = np.divide(1.0, deg, out=np.zeros_like(deg, dtype=np.float64), where=deg > 0)
    return (sp.diags(inv) @ sp.csr_matrix(W)).tocsr()


def _check_self_weight(self_weight: float, *, closed: bool = False) -> float:
    a = float(self_weight)
    lo_ok = a > 0 if closed else a >= 0
    if not (lo_ok and a <= 1):
        rng = "(0, 1]" if closed else "[0, 1]"
        raise ValueError(f"self_weight (ERASE's alpha) must lie in {rng}, got {self_weight}")
    return a


def propagate(S: sp.spmatrix, Y: np.ndarray, self_weight: float, n_steps: int) -> np.ndarray:
    """``n_steps`` of ``Y ← (1 − α) S Y + α Y`` (ERASE; α = ``self_weight``; α = 1 returns ``Y``)."""
    a = _check_self_weight(self_weight)
    Y = np.array(Y, dtype=np.float64)
    for _ in range(int(n_steps)):
        Y = (1.0 - a) * (S @ Y) + a * Y
    return Y


def propagate_closed_form(S: sp.spmatrix, Y0: np.ndarray, self_weight: float) -> np.ndarray:
    """Fixed point of :func:`propagate`: ``F = α (I − (1 − α) S)⁻¹ Y₀``.

    Symmetric ``S`` (e.g. ``D^{-1/2} W D^{-1/2}``) is solved by conjugate gradients
    (``spread_labels``); any other ``S`` with spectral radius ≤ 1 by a sparse LU factorisation.
    """
    a = _check_self_weight(self_weight, closed=True)
    S = sp.csr_matrix(S)
    Y0 = np.asarray(Y0, dtype=np.float64)
    if a == 1.0:
        return Y0.copy()
    if S.nnz == 0 or abs(S - S.T).max() <= 1e-12:
        return spread_labels(S, Y0, alpha=1.0 - a, tol=1e-10)
    A = (sp.identity(S.shape[0], format="csc") - (1.0 - a) * S).tocsc()
    return splu(A).solve(a * Y0)


def precorrect_labels(W: sp.spmatrix, y: np.ndarray, weight=None, self_weight: float = 0.6, n_steps: int = 5) -> np.ndarray:
    """ERASE's pre-correction of given labels over labeled–labeled edges of the graph ``W``.

    ``y`` holds class indices (``-1`` unlabeled). Returns corrected labels (``-1`` kept where
    unlabeled); a labeled row without labeled neighbours keeps its label.
    """
    y = np.asarray(y, dtype=np.int64)
    lab = y >= 0
    if not lab.any():
        return y.copy()
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
    mask = sp.diags(lab.astype(np.float64))
    A1 = column_normalized(mask @ sp.csr_matrix(W) @ mask)
    k = int(y.max()) + 1
    Y = np.zeros((len(y), k))
    Y[np.flatnonzero(lab), y[lab]] = w[lab]
    Y = propagate(A1, Y, self_weight, n_steps)
    out = y.copy()
    out[lab] = Y[lab].argmax(axis=1)
    return out


def semantic_labels(Z: np.ndarray, Y: np.ndarray, means: np.ndarray, beta: float, temperature: float = 1.0) -> np.ndarray:
    """``softmax( (β Y + (1 − β) |cos(Z, μ)|) / temperature )`` (ERASE's ``compute_sematic_labels``)."""
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must lie in [0, 1], got {beta}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    cos = np.abs(unit_rows(Z) @ unit_rows(means).T)
    return softmax((beta * Y + (1.0 - beta) * cos) / temperature, axis=1)


@register("teacher", "erase")
class EraseTeacher(BaseEstimator):
    """ERASE label propagation with class-mean semantic labels on a kNN graph (transductive).

    n_neighbors : k of the symmetric kNN graph (METHODS §2.10: k ≈ 10, cosine).
    metric : ``"cosine"`` or ``"euclidean"`` for the neighbour search.
    self_weight : ERASE's α, the weight of a node's own label in each step (``1 − alpha`` of
        scikit-learn's LabelSpreading); default 0.6 (ERASE). 0.2 and the converged solve were
        within ±0.03 of it on digits, TREC-6 and AG News (``benchmarks/teachers_quick.py``).
    beta : weight of the given labels against the class-mean cosine in ``Y_sem`` (0.6).
    n_steps : propagation steps T; ``None`` = run to convergence (closed form).
    precorrect : run the pre-correction of the given labels first.
    precorrect_steps : T of the pre-correction.
    temperature : softmax temperature of ``Y_sem`` (1 = ERASE).
    center : subtract the mean of all rows before cosines and the graph (off, as in ERASE; it
        lowered accuracy on all three benchmark sets).
    backend : kNN backend (``ops.knn.BACKENDS``: ``"auto"`` = exact below 50,000 rows, blocked IVF above).

    ``transduce`` returns row-normalised propagated labels; ``corrected_labels_`` holds the
    labels after pre-correction. ``predict_proba(X_new)`` is a vote of the new rows'
    ``n_neighbors`` nearest training rows.
    """

    def __init__(
        self,
        n_neighbors: int = 10,
        metric: str = "cosine",
        self_weight: float = 0.6,
        beta: float = 0.6,
        n_steps: int | None = 5,
        precorrect: bool = True,
        precorrect_steps: int = 5,
        temperature: float = 1.0,
        center: bool = False,
        backend: str = "auto",
    ):
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.self_weight = self_weight
        self.beta = beta
        self.n_steps = n_steps
        self.precorrect = precorrect
        self.precorrect_steps = precorrect_steps
        self.temperature = temperature
        self.center = center
        self.backend = backend

    def _graph(self, X: np.ndarray) -> sp.csr_matrix:
        key = (fingerprint(X), self.n_neighbors, self.metric, bool(self.center), self.backend)
        if getattr(self, "_graph_key", None) != key:
            self.mean_ = X.mean(axis=0) if self.center else np.zeros(X.shape[1])
            self.Z_ = prepare(X - self.mean_, self.metric)
            self.W_ = knn_graph(self.Z_, self.n_neighbors, metric="euclidean", weights="connectivity", backend=self.backend)
            self._graph_key = key
        return self.W_

    def fit(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> EraseTeacher:
        self.transduce(X, y, sample_weight, n_classes=n_classes)
        return self

    def transduce(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        if X.ndim != 2 or len(y) != len(X):
            raise ValueError(f"X must be 2-D with one row per label; got X {X.shape}, y {y.shape}")
        lab = np.flatnonzero(y >= 0)
        if len(lab) == 0:
            raise ValueError("the ERASE teacher got no labeled rows (every y is -1)")
        K = int(n_classes if n_classes is not None else y.max() + 1)
        self.n_classes_ = K
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        W = self._graph(X)
        y_fix = precorrect_labels(W, y, w, self.self_weight, self.precorrect_steps) if self.precorrect else y.copy()
        self.corrected_labels_ = y_fix
        Zc = X - self.mean_
        Y = np.zeros((len(y), K))
        Y[lab, y_fix[lab]] = w[lab]
        means = np.zeros((K, X.shape[1]))
        for c in range(K):  # weighted class means (loop over classes)
            rows = lab[(y_fix[lab] == c) & (w[lab] > 0)]
            if len(rows):
                means[c] = np.average(Zc[rows], axis=0, weights=w[rows])
        Y_sem = semantic_labels(Zc, Y, means, self.beta, self.temperature)
        if self.n_steps is None:
            F = propagate_closed_form(normalized_adjacency(W), Y_sem, self.self_weight)
        else:
            F = propagate(column_normalized(W), Y_sem, self.self_weight, self.n_steps)
        self.F_ = np.clip(F, 0.0, None)
        self.transduction_proba_ = normalize_rows(self.F_)
        return self.transduction_proba_

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "transduction_proba_")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.mean_):
            raise ValueError(f"X must have {len(self.mean_)} features, got shape {X.shape}")
        Q = prepare(X - self.mean_, self.metric)
        _, idx = knn_search(self.Z_, Q, self.n_neighbors, backend=self.backend)
        return normalize_rows(self.transduction_proba_[idx].sum(axis=1))

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_graph_key", None)  # rebuilt if this object is fitted again
        state.pop("W_", None)
        return state
