"""Per-sample teacher choice (FedLabel): label each row with its most confident teacher.

Cho et al. 2023, "Local or Global: Selective Knowledge Assimilation for Federated Learning with
Limited Labels" (FedLabel): with a local and a global model, each unlabeled sample is labeled by
whichever model is the more "expert" on it, i.e. the more confident one; where both agree their
agreement is extra evidence. Here any number (≥ 2) of teachers compete per row::

    t*_i = argmax_t score_t(p_ti)     score = max_k p_tik ("confidence") or −H(p_ti) ("entropy")
    p_i  = p_{t*_i, i}

``agreement_`` marks rows where every teacher's argmax is the same; ``require_agreement=True``
turns disagreeing rows into uniform probabilities (so every selector rejects them — FedLabel's
"consistency only where they agree"). ``members_proba_`` stacks the teachers' probabilities
(T, n, K) so disagreement-based selectors can use them as ``member_probs``.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from pseudolabel.core.registry import make, register
from pseudolabel.ops.simplex import entropy

CRITERIA = ("confidence", "entropy")


def choose(member_probs, criterion: str = "confidence") -> tuple[np.ndarray, np.ndarray]:
    """Per row, the probabilities of the best-scoring teacher and its index: ((n, K), (n,)).

    Ties go to the earlier teacher.
    """
    P = np.asarray(member_probs, dtype=np.float64)
    if P.ndim != 3 or P.shape[0] < 1:
        raise ValueError(f"member_probs must have shape (n_teachers, n_samples, n_classes); got {P.shape}")
    if criterion == "confidence":
        score = P.max(axis=2)
    elif criterion == "entropy":
        score = -entropy(P, axis=2)
    else:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    best = score.argmax(axis=0)
    return P[best, np.arange(P.shape[1])], best


def agreement(member_probs) -> np.ndarray:
    """True where every teacher predicts the same class."""
    votes = np.asarray(member_probs).argmax(axis=2)
    return (votes == votes[0]).all(axis=0)


def _fresh(teacher):
    if isinstance(teacher, str):
        return make("teacher", teacher)
    if isinstance(teacher, BaseEstimator):
        return clone(teacher)
    if hasattr(teacher, "transduce"):
        return copy.deepcopy(teacher)
    if hasattr(teacher, "predict_proba"):
        from pseudolabel.teachers.estimator import EstimatorTeacher

        return EstimatorTeacher(teacher)
    raise TypeError(f"each teacher must be a name, a Teacher or a classifier with predict_proba; got {teacher!r}")


@register("teacher", "choice")
class TeacherChoice(BaseEstimator):
    """Per-row choice among several teachers by confidence (FedLabel).

    teachers : names/specs, Teacher objects or classifiers (at least 2); default: the graph
        teacher (transductive, local structure) and the logistic-regression estimator (global).
    criterion : ``"confidence"`` (max probability, FedLabel) or ``"entropy"``.
    require_agreement : give rows where the teachers' argmaxes differ uniform probabilities.
    """

    def __init__(self, teachers=("graph", "estimator"), criterion: str = "confidence", require_agreement: bool = False):
        self.teachers = teachers
        self.criterion = criterion
        self.require_agreement = require_agreement

    def _combine(self, P: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        probs, chosen = choose(P, self.criterion)
        agree = agreement(P)
        if self.require_agreement:
            probs = np.where(agree[:, None], probs, 1.0 / P.shape[2])
        return probs, chosen, agree

    def fit(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> TeacherChoice:
        self.transduce(X, y, sample_weight, n_classes=n_classes)
        return self

    def transduce(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> np.ndarray:
        if self.criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {CRITERIA}, got {self.criterion!r}")
        specs = [self.teachers] if isinstance(self.teachers, str) else list(self.teachers)
        if len(specs) < 2:
            raise ValueError(f"TeacherChoice needs at least 2 teachers, got {len(specs)}")
        y = np.asarray(y, dtype=np.int64)
        K = int(n_classes if n_classes is not None else y.max() + 1)
        self.teachers_ = [_fresh(t) for t in specs]
        P = np.stack([np.asarray(t.transduce(X, y, sample_weight, n_classes=K), dtype=np.float64) for t in self.teachers_])
        self.n_classes_ = K
        self.members_proba_ = P.astype(np.float32)
        probs, self.chosen_, self.agreement_ = self._combine(P)
        return probs

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "teachers_")
        P = np.stack([np.asarray(t.predict_proba(X), dtype=np.float64) for t in self.teachers_])
        return self._combine(P)[0]
