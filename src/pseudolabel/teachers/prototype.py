"""Prototype teacher: cosine similarity to class prototypes, softmax with a temperature.

``p_ik = softmax_k( max_j cos(f_i, μ_kj) / T )`` where ``μ_kj`` are the prototypes of class k:
the (weighted) class mean, or ``n_prototypes`` k-means centres of the class's rows when a class
is multi-modal. The PS-TTL temperature is T = 0.1 (Gao et al. 2024, "PS-TTL: Prototype-based
Soft-labels and Test-Time Learning for Few-shot Object Detection"), where the soft labels rescue
middle-confidence detections; the same rule as a standalone teacher is a nearest-class-mean
classifier with calibrated-looking probabilities.

``center=True`` subtracts the mean of all rows seen in ``fit`` (labeled and unlabeled) before
the cosine, as SimpleShot's "CL2N" (Wang et al. 2019, "SimpleShot: Revisiting Nearest-Neighbor
Classification for Few-Shot Learning"): raw features that are all non-negative (pixels, ReLU
activations, counts) otherwise have cosines near 1 for every class.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from pseudolabel.core.registry import register
from pseudolabel.ops.batching import BATCH_ROWS, batched_rows, iter_batches
from pseudolabel.ops.prototypes import class_prototypes, prototype_scores


@register("teacher", "prototype")
class PrototypeTeacher(BaseEstimator):
    """Nearest-prototype teacher with a softmax over cosine similarities.

    n_prototypes : prototypes per class (1 = class mean; more = k-means within the class).
    temperature : softmax temperature T on cosines (PS-TTL: 0.1).
    center : subtract the mean of all rows given to ``fit`` before the cosine.
    random_state : seed of the within-class k-means.
    batch_rows : ``predict_proba`` scores at most this many rows at a time (the cosine matrix to
        the prototypes is one batch × prototypes, whatever the size of the pool); :meth:`iter_proba`
        scores a stream of batches without holding the pool.

    Rows with ``y == -1`` only contribute to the centering mean; ``sample_weight`` weights the
    class means (in ``SelfTrainer``, pseudo-label seeds count with their confidence).
    """

    def __init__(self, n_prototypes: int = 1, temperature: float = 0.1, center: bool = True, random_state=None,
                 batch_rows: int = BATCH_ROWS):
        self.n_prototypes = n_prototypes
        self.temperature = temperature
        self.center = center
        self.random_state = random_state
        self.batch_rows = batch_rows

    def fit(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> PrototypeTeacher:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        if X.ndim != 2 or len(y) != len(X):
            raise ValueError(f"X must be 2-D with one row per label; got X {X.shape}, y {y.shape}")
        if int(self.n_prototypes) < 1:
            raise ValueError(f"n_prototypes must be at least 1, got {self.n_prototypes}")
        if not (y >= 0).any():
            raise ValueError("the prototype teacher got no labeled rows (every y is -1)")
        self.n_classes_ = int(n_classes if n_classes is not None else y.max() + 1)
        self.mean_ = X.mean(axis=0) if self.center else np.zeros(X.shape[1])
        self.prototypes_, self.prototype_labels_ = class_prototypes(
            X - self.mean_, y, sample_weight, self.n_classes_, self.n_prototypes, self.random_state
        )
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "prototypes_")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != len(self.mean_):
            raise ValueError(f"X must have {len(self.mean_)} features, got shape {X.shape}")
        return batched_rows(self._proba, X, self.batch_rows)

    def iter_proba(self, batches):
        """Probabilities of each batch of a stream (e.g. record batches of a Parquet pool)."""
        check_is_fitted(self, "prototypes_")
        return iter_batches(self.predict_proba, batches)

    def _proba(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)  # one batch at a time: the float64 copy stays small
        return prototype_scores(X - self.mean_, self.prototypes_, self.prototype_labels_, self.n_classes_, float(self.temperature))

    def transduce(self, X, y=None, sample_weight=None, *, n_classes: int | None = None) -> np.ndarray:
        """``fit`` then ``predict_proba`` on the same rows."""
        return self.fit(X, y, sample_weight, n_classes=n_classes).predict_proba(X)
