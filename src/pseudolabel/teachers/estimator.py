"""Any scikit-learn classifier as a teacher: fit on the labeled rows, predict every row."""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from pseudolabel.core.protocols import TeacherMixin
from pseudolabel.core.registry import register


def accepts_sample_weight(estimator) -> bool:
    """Whether ``fit`` takes ``sample_weight`` (for a Pipeline: its final step)."""
    target = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    if target is None or target == "passthrough":
        return False
    try:
        return "sample_weight" in inspect.signature(target.fit).parameters
    except (TypeError, ValueError):  # pragma: no cover - exotic callables
        return False


def fit_weighted(estimator, X, y, sample_weight=None):
    """``estimator.fit(X, y)`` passing ``sample_weight`` where the estimator (or pipeline) takes it."""
    if sample_weight is None or not accepts_sample_weight(estimator):
        return estimator.fit(X, y)
    if isinstance(estimator, Pipeline):
        return estimator.fit(X, y, **{f"{estimator.steps[-1][0]}__sample_weight": sample_weight})
    return estimator.fit(X, y, sample_weight=sample_weight)


def expand_proba(probs: np.ndarray, present: np.ndarray, n_classes: int) -> np.ndarray:
    """Place the columns of classes ``present`` (encoded ints) into an (n, n_classes) matrix."""
    out = np.zeros((len(probs), n_classes))
    out[:, np.asarray(present, dtype=np.int64)] = probs
    return out


@register("teacher", "estimator")
class EstimatorTeacher(TeacherMixin, BaseEstimator):
    """Wrap a scikit-learn classifier with ``predict_proba``; rows with ``y == -1`` are ignored.

    estimator : the classifier (cloned on every fit); ``None`` = standardised logistic regression.
    """

    def __init__(self, estimator=None):
        self.estimator = estimator

    def _make(self):
        if self.estimator is None:
            from pseudolabel.learn.defaults import default_student

            return default_student()
        if not hasattr(self.estimator, "predict_proba"):
            raise TypeError(
                f"teacher estimator {type(self.estimator).__name__} has no predict_proba; "
                "use a probabilistic classifier (e.g. LogisticRegression, or SVC(probability=True))"
            )
        return clone(self.estimator)

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
        return expand_proba(self.estimator_.predict_proba(X), self.estimator_.classes_, self.n_classes_)
