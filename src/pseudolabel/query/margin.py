"""``margin_sampling``: ask about the rows whose two most likely classes are closest.

Margin sampling (Scheffer, Decomain & Wrobel 2001, "Active Hidden Markov Models for Information
Extraction"). Score = ``1 − (p₍₁₎ − p₍₂₎)`` with the margin of :func:`pseudolabel.ops.simplex.margin`
(large = confident); the ranking equals scikit-activeml's ``UncertaintySampling(method="margin_sampling")``.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.query import QueryContext
from pseudolabel.core.registry import register
from pseudolabel.ops.simplex import margin
from pseudolabel.query.base import BaseQuery


def margin_uncertainty(p: np.ndarray) -> np.ndarray:
    """``1 − (p₍₁₎ − p₍₂₎)``; 0 for a single class."""
    return 1.0 - margin(p) if p.shape[1] > 1 else np.zeros(len(p))


@register("query", "margin_sampling")
class MarginSampling(BaseQuery):
    """Score = ``1 − margin``."""

    def __init__(self, diversity: str = "dedup", class_balance: bool = False):
        self.diversity = diversity
        self.class_balance = class_balance

    def _scores(self, p: np.ndarray, ctx: QueryContext) -> np.ndarray:
        return margin_uncertainty(p)
