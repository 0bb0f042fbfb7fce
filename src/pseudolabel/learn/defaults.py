"""Default student: standardised multinomial logistic regression.

Fast on 100,000 rows, well calibrated enough for thresholds to mean something, accepts
``sample_weight`` (soft pseudo-label weights), and was the best inductive student per second in
the digits / mnist1d comparisons (see BENCHMARKS.md).
"""

from __future__ import annotations

from sklearn.preprocessing import StandardScaler

from pseudolabel.ops.estimators import default_student  # noqa: F401 - public name, re-exported

AUTO_CANDIDATES: tuple[dict, ...] = (
    {"teacher": "graph", "refine": "calibrate,sinkhorn", "select": "gmm"},
    {"teacher": "self", "refine": "calibrate", "select": "freematch"},
    {"teacher": "prototype", "refine": "calibrate,sinkhorn", "select": "freematch"},
)
"""``SelfTrainer(teacher="auto")`` runs each configuration on the same held-out folds and keeps the
one with the best held-out accuracy (ties: the earlier one). Chosen from the teacher × selector
matrix (``pseudolabel bench --suite matrix``, BENCHMARKS.md): the kNN graph wins on digits,
mnist1d and AG News but loses 10–16 points on TREC, where class prototypes (4 labels per class)
and the student itself (10) win; within each teacher the selector with the best mean gain over
supervised-only is kept (graph: the GMM loss gate, which also beat keep-all in 7 of 8 grids;
self and prototype: FreeMatch)."""

TEACHER_DEFAULTS: dict[str, dict] = {c["teacher"]: {"refine": c["refine"], "select": c["select"]} for c in AUTO_CANDIDATES}
"""``refine="auto"`` / ``select="auto"`` for an explicitly named teacher."""

FALLBACK_DEFAULTS = {"refine": "calibrate,sinkhorn", "select": "threshold(threshold=0.0)"}
"""``refine="auto"`` / ``select="auto"`` for any other teacher."""


def _hgb():
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=0)


def _rf():
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=300, random_state=0, n_jobs=1)


def _knn():
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=7))


def _svc():
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    return make_pipeline(StandardScaler(), SVC(probability=True, random_state=0))


STUDENTS = {
    "logreg": default_student,
    "hgb": _hgb,
    "rf": _rf,
    "knn": _knn,
    "svc": _svc,
}
"""Students the CLI offers by name (``--estimator``)."""


def make_student(name: str):
    if name not in STUDENTS:
        raise ValueError(f"unknown estimator {name!r}; choose one of: {', '.join(STUDENTS)}")
    return STUDENTS[name]()
