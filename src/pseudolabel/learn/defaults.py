"""Default student: standardised multinomial logistic regression.

Fast on 100,000 rows, well calibrated enough for thresholds to mean something, accepts
``sample_weight`` (soft pseudo-label weights), and was the best inductive student per second in
the digits / mnist1d comparisons (see BENCHMARKS.md).
"""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def default_student() -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=1.0, max_iter=1000))])


DEFAULTS = {
    "teacher": "graph",
    "refine": "calibrate,sinkhorn",
    "select": "threshold(threshold=0.0)",
}
"""What ``SelfTrainer(teacher="auto", refine="auto", select="auto")`` resolves to."""
