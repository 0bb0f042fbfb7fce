"""scikit-learn estimators as students and teachers: weighted fits, class-column alignment, the
default student and how a user's ``estimator=`` argument becomes a fresh student."""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


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


def default_student() -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=1.0, max_iter=1000))])


def resolve_student(estimator=None, *, role: str = "estimator"):
    """A fresh, unfitted student: ``None`` → :func:`default_student`, else a clone of ``estimator``.

    The one place that turns a user's ``estimator=`` (or a teacher's) into a model to fit, so every
    learner and teacher refuses a classifier without ``predict_proba`` with the same message.
    """
    if estimator is None:
        return default_student()
    if not hasattr(estimator, "predict_proba"):
        raise TypeError(
            f"{role} {type(estimator).__name__} has no predict_proba; pass a probabilistic classifier "
            "(e.g. LogisticRegression, or SVC(probability=True))"
        )
    return clone(estimator)
