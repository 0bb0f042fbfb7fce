"""``likely_wrong``: the pseudo-labels most likely wrong, for a person to check first.

In the spirit of confident learning's label-issue ranking (Northcutt, Jiang & Chuang 2021,
"Confident Learning: Estimating Uncertainty in Dataset Labels", JAIR; its ``self_confidence`` and
``normalized_margin`` label-quality scores — our own implementation, no code from cleanlab). The
row's *given* label is its pseudo-label (context ``given``; the arg-max of ``probs`` when absent);
its quality is judged by a second opinion, ``student_probs`` (teacher–student disagreement: the
student that was trained on the pseudo-labels, or out-of-sample probabilities), else by ``probs``:

* ``self_confidence``: quality = ``q[given]``;
* ``normalized_margin``: quality = ``q[given] − max_{k≠given} q[k]`` (in [−1, 1]).

Score = 1 − quality (``normalized_margin``: (1 − quality)/2), higher = more likely wrong.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.query import QueryContext
from pseudolabel.core.registry import register
from pseudolabel.ops.simplex import check_probs
from pseudolabel.query.base import BaseQuery

METHODS = ("self_confidence", "normalized_margin")


def label_quality(q: np.ndarray, given: np.ndarray, method: str = "self_confidence") -> np.ndarray:
    """Quality of each given label under the probabilities ``q`` (higher = more likely right)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    given = np.asarray(given, dtype=np.int64)
    rows = np.arange(len(q))
    own = q[rows, given]
    if method == "self_confidence":
        return own
    other = q.copy()
    other[rows, given] = -np.inf
    return own - other.max(axis=1)


@register("query", "likely_wrong")
class LikelyWrong(BaseQuery):
    """Score = how likely the given (pseudo-)label is wrong."""

    def __init__(self, method: str = "self_confidence", diversity: str = "none", class_balance: bool = False):
        self.method = method
        self.diversity = diversity
        self.class_balance = class_balance

    def _scores(self, p: np.ndarray, ctx: QueryContext) -> np.ndarray:
        given = p.argmax(axis=1) if ctx.given is None else np.asarray(ctx.given, dtype=np.int64)
        if given.min(initial=0) < 0 or given.max(initial=0) >= p.shape[1]:
            raise ValueError("likely_wrong: 'given' must hold class indices of the candidates' pseudo-labels")
        q = p if ctx.student_probs is None else check_probs(ctx.student_probs, "student_probs")
        quality = label_quality(q, given, self.method)
        return 1.0 - quality if self.method == "self_confidence" else (1.0 - quality) / 2.0
