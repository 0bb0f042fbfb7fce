"""SimMatch teacher: model probabilities corrected by a vote of the labeled memory.

Zheng et al. 2022, "SimMatch: Semi-supervised Learning with Similarity Matching". With an
embedding ``e`` of a sample and a memory bank of L2-normalised embeddings ``b_j`` of labeled
samples with labels ``y_j``::

    q_j   = softmax_j( eᵀ b_j / T )                 instance similarity to the bank
    agg_c = Σ_{j: y_j = c} q_j                      aggregation: instance → class space
    p̂     = α p + (1 − α) agg                       the class pseudo-label
    q̂_j   = q_j p[y_j] / Σ_j' q_j' p[y_j']          unfolding: class → instance space

Defaults (USB CIFAR): T = 0.1, α = 0.9. The functions are plain NumPy over a batch × bank
matrix so a neural loop can reuse them; :class:`SimMatchTeacher` is the offline form for frozen
features (METHODS §2.9): ``p`` from any classifier fitted on the labeled rows, the bank = the
labeled rows themselves, and the vote restricted to each row's ``n_neighbors`` most similar bank
items (the rest carry weight ``e^{(cos − 1)/T}`` ≈ 0 at T = 0.1) so a 100,000-row pool stays cheap.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from pseudolabel.core.registry import register
from pseudolabel.ops.knn import knn_search, prepare
from pseudolabel.ops.prototypes import unit_rows
from pseudolabel.ops.simmatch import aggregate, simmatch_targets, unfold  # noqa: F401 - aggregate/unfold re-exported
from pseudolabel.ops.simplex import normalize_rows, softmax
from pseudolabel.teachers.estimator import EstimatorTeacher


def instance_similarity(embeddings, bank, temperature: float = 0.1, bank_weight=None) -> np.ndarray:
    """``q = softmax_j(cos(e, b_j) / T)`` over the bank, (n, m); ``bank_weight`` multiplies ``e^{…}``."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logits = unit_rows(embeddings) @ unit_rows(bank).T / temperature
    if bank_weight is not None:
        with np.errstate(divide="ignore"):
            logits = logits + np.log(np.asarray(bank_weight, dtype=np.float64))[None, :]
    return softmax(logits, axis=1)


def knn_aggregate(
    embeddings,
    bank,
    bank_labels,
    n_classes: int,
    *,
    temperature: float = 0.1,
    n_neighbors: int | None = 256,
    bank_weight=None,
    self_index=None,
    backend: str = "auto",
) -> np.ndarray:
    """:func:`aggregate` ∘ :func:`instance_similarity` over each row's ``n_neighbors`` nearest bank items.

    ``self_index[i]`` is the bank position of row ``i`` (``-1`` if it is not in the bank); that
    item is left out of row ``i``'s vote (leave-one-out). Rows with no bank item left get uniform.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    E = prepare(embeddings, "cosine")
    B = prepare(bank, "cosine")
    labels = np.asarray(bank_labels, dtype=np.int64)
    m = len(B)
    k = m if n_neighbors is None else min(int(n_neighbors) + (self_index is not None), m)
    dist2, idx = knn_search(B, E, k, backend=backend)
    logits = (1.0 - dist2.astype(np.float64) / 2.0) / temperature  # unit vectors: cos = 1 − d²/2
    if bank_weight is not None:
        with np.errstate(divide="ignore"):
            logits = logits + np.log(np.asarray(bank_weight, dtype=np.float64))[idx]
    if self_index is not None:
        logits = np.where(idx == np.asarray(self_index)[:, None], -np.inf, logits)
    logits = np.where(idx < 0, -np.inf, logits)  # faiss pads missing neighbours with -1
    top = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - np.where(np.isfinite(top), top, 0.0))
    n = len(E)
    flat = (np.arange(n)[:, None] * n_classes + labels[np.maximum(idx, 0)]).ravel()
    agg = np.bincount(flat, weights=e.ravel(), minlength=n * n_classes)
    return normalize_rows(agg.reshape(n, n_classes))


@register("teacher", "simmatch")
class SimMatchTeacher(BaseEstimator):
    """SimMatch's labeled-memory correction as a teacher for frozen features (offline form).

    estimator : classifier giving ``p`` (cloned, fitted on the labeled rows); ``None`` = the
        default student (standardised logistic regression).
    alpha : weight of the classifier in ``p̂ = α p + (1 − α) agg`` (SimMatch: 0.9).
    temperature : T of the instance softmax over cosines (SimMatch: 0.1).
    n_neighbors : bank items each row votes over (``None`` = the whole bank).
    center : subtract the mean of all rows before the cosines.
    backend : kNN backend (``ops.knn.BACKENDS``: ``"auto"`` = exact below 50,000 rows, blocked IVF above).

    The bank holds every row with ``y >= 0`` and positive weight, each counted with its weight
    (in ``SelfTrainer`` rounds after the first, the student's pseudo-labels join with their
    confidence); a bank row never votes for itself.
    """

    def __init__(
        self,
        estimator=None,
        alpha: float = 0.9,
        temperature: float = 0.1,
        n_neighbors: int | None = 256,
        center: bool = True,
        backend: str = "auto",
    ):
        self.estimator = estimator
        self.alpha = alpha
        self.temperature = temperature
        self.n_neighbors = n_neighbors
        self.center = center
        self.backend = backend

    def fit(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> SimMatchTeacher:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        if X.ndim != 2 or len(y) != len(X):
            raise ValueError(f"X must be 2-D with one row per label; got X {X.shape}, y {y.shape}")
        if not 0.0 <= float(self.alpha) <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {self.alpha}")
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.model_ = EstimatorTeacher(self.estimator).fit(X, y, w, n_classes=n_classes)
        self.n_classes_ = self.model_.n_classes_
        bank = np.flatnonzero((y >= 0) & (w > 0))
        self.mean_ = X.mean(axis=0) if self.center else np.zeros(X.shape[1])
        self.bank_ = X[bank] - self.mean_
        self.bank_labels_ = y[bank]
        self.bank_weight_ = w[bank]
        self.bank_rows_ = bank
        return self

    def _vote(self, X, self_index=None) -> np.ndarray:
        return knn_aggregate(
            X - self.mean_,
            self.bank_,
            self.bank_labels_,
            self.n_classes_,
            temperature=float(self.temperature),
            n_neighbors=self.n_neighbors,
            bank_weight=self.bank_weight_,
            self_index=self_index,
            backend=self.backend,
        )

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "bank_")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.mean_):
            raise ValueError(f"X must have {len(self.mean_)} features, got shape {X.shape}")
        return simmatch_targets(self.model_.predict_proba(X), self._vote(X), float(self.alpha))

    def transduce(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> np.ndarray:
        """Fit, then ``p̂`` for every row of ``X`` with each bank row's own vote left out."""
        self.fit(X, y, sample_weight, n_classes=n_classes)
        X = np.asarray(X, dtype=np.float64)
        pos = np.full(len(X), -1, dtype=np.int64)
        pos[self.bank_rows_] = np.arange(len(self.bank_rows_))
        self.agg_ = self._vote(X, self_index=pos)
        return simmatch_targets(self.model_.predict_proba(X), self.agg_, float(self.alpha))
