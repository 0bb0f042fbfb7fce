"""``least_confidence``: ask about the rows whose most likely class is least likely.

Least-confidence uncertainty sampling (Lewis & Gale 1994, "A Sequential Algorithm for Training
Text Classifiers"; Culotta & McCallum 2005). Score = ``1 − max_k p_k``; the ranking equals
scikit-activeml's ``UncertaintySampling(method="least_confident")``.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.query import QueryContext
from pseudolabel.core.registry import register
from pseudolabel.query.base import BaseQuery


@register("query", "least_confidence")
class LeastConfidence(BaseQuery):
    """Score = ``1 − max p``."""

    def __init__(self, diversity: str = "dedup", class_balance: bool = False):
        self.diversity = diversity
        self.class_balance = class_balance

    def _scores(self, p: np.ndarray, ctx: QueryContext) -> np.ndarray:
        return 1.0 - p.max(axis=1)
