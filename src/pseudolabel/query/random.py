"""``random_sampling``: a uniformly random batch — the baseline every strategy must beat.

Passive learning as the active-learning literature's control (e.g. Settles 2009, "Active Learning
Literature Survey", §6). Scores are i.i.d. uniform draws from ``random_state``, so the batch is a
seeded simple random sample of the candidates.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.query import QueryBatch, QueryContext
from pseudolabel.core.registry import register
from pseudolabel.query.base import BaseQuery


@register("query", "random_sampling")
class RandomSampling(BaseQuery):
    """Every candidate equally likely; ``query`` draws without replacement (seeded)."""

    cold_start = True

    def __init__(self, diversity: str = "none", class_balance: bool = False):
        self.diversity = diversity
        self.class_balance = class_balance

    def _scores(self, p: np.ndarray, ctx: QueryContext) -> np.ndarray:
        return np.random.default_rng(0).random(len(p))

    def _query(self, p: np.ndarray, budget: int, ctx: QueryContext, seed: int) -> QueryBatch:
        rng = np.random.default_rng(seed)
        idx = rng.choice(len(p), size=budget, replace=False)
        return QueryBatch(idx, np.full(len(p), np.nan), {"seed": seed})
