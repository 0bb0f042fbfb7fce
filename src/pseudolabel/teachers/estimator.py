"""Any scikit-learn classifier as a teacher: fit on the labeled rows, predict every row."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from pseudolabel.core.protocols import TeacherMixin
from pseudolabel.core.registry import register
from pseudolabel.ops.batching import BATCH_ROWS, batched_rows, iter_batches
from pseudolabel.ops.estimators import expand_proba, fit_weighted, resolve_student


@register("teacher", "estimator")
class EstimatorTeacher(TeacherMixin, BaseEstimator):
    """Wrap a scikit-learn classifier with ``predict_proba``; rows with ``y == -1`` are ignored.

    estimator : the classifier (cloned on every fit); ``None`` = standardised logistic regression.
    batch_rows : ``predict_proba`` scores at most this many rows at a time (the estimator's
        temporaries — a standardised copy, tree traversals — stay one batch large, whatever the
        size of the pool); :meth:`iter_proba` scores a stream of batches without holding the pool.
    """

    def __init__(self, estimator=None, batch_rows: int = BATCH_ROWS):
        self.estimator = estimator
        self.batch_rows = batch_rows

    def _make(self):
        return resolve_student(self.estimator, role="teacher estimator")

    def fit(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> EstimatorTeacher:
        y = np.asarray(y)
        lab = y >= 0
        if not lab.any():
            raise ValueError("the teacher got no labeled rows (every y is -1)")
        self.n_classes_ = int(n_classes if n_classes is not None else y.max() + 1)
        self.estimator_ = self._make()
        w = None if sample_weight is None else np.asarray(sample_weight)[lab]
        fit_weighted(self.estimator_, X[lab] if not hasattr(X, "iloc") else X.iloc[np.flatnonzero(lab)], y[lab], w)
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return batched_rows(self._proba, X, self.batch_rows)

    def iter_proba(self, batches):
        """Probabilities of each batch of a stream (e.g. record batches of a Parquet pool)."""
        check_is_fitted(self, "estimator_")
        return iter_batches(self.predict_proba, batches)

    def _proba(self, X) -> np.ndarray:
        return expand_proba(self.estimator_.predict_proba(X), self.estimator_.classes_, self.n_classes_)
