"""``entropy_sampling``: ask about the rows whose predictive distribution has the most entropy.

Uncertainty sampling with Shannon entropy as the measure (Settles 2009, "Active Learning
Literature Survey", eq. 2.3; Holub, Perona & Burl 2008). The score is the normalised entropy
``H(p)/log K`` in [0, 1] (1 = the model knows nothing); the ranking equals scikit-activeml's
``UncertaintySampling(method="entropy")``.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.query import QueryContext
from pseudolabel.core.registry import register
from pseudolabel.ops.simplex import normalized_entropy
from pseudolabel.query.base import BaseQuery


@register("query", "entropy_sampling")
class EntropySampling(BaseQuery):
    """Score = ``H(p)/log K``."""

    def __init__(self, diversity: str = "dedup", class_balance: bool = False):
        self.diversity = diversity
        self.class_balance = class_balance

    def _scores(self, p: np.ndarray, ctx: QueryContext) -> np.ndarray:
        return normalized_entropy(p)
