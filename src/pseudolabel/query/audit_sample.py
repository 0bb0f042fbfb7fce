"""``audit_sample``: a stratified random sample of the accepted pseudo-labels, for an unbiased
precision estimate.

Not a strategy that looks for informative rows: it draws the rows a person checks so that the
share found correct estimates the precision of *all* accepted pseudo-labels without bias
(stratified random sampling, Cochran 1977 §5; the estimator and its interval are
:func:`pseudolabel.ops.stratified.stratified_proportion`). Strata are the context's ``strata``
when given, else ``N_STRATA`` confidence bands; the order interleaves the strata so that every
prefix of the queue is close to proportional allocation.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.query import QueryBatch, QueryContext
from pseudolabel.core.registry import register
from pseudolabel.ops.stratified import confidence_strata, stratified_order
from pseudolabel.query.base import BaseQuery

N_STRATA = 4
"""Confidence bands (quartiles): precision differs most across confidence, so stratifying on it
gives the smallest variance for a given number of checks."""


@register("query", "audit_sample")
class AuditSample(BaseQuery):
    """Seeded stratified random order of the candidates (pass only accepted pseudo-labels)."""

    batch_aware = True
    cold_start = True

    def __init__(self, n_strata: int = N_STRATA):
        self.n_strata = n_strata

    def strata(self, p: np.ndarray, ctx: QueryContext | None = None) -> np.ndarray:
        if ctx is not None and ctx.strata is not None:
            return np.asarray(ctx.strata, dtype=np.int64)
        return confidence_strata(np.asarray(p).max(axis=1), self.n_strata)

    def _query(self, p: np.ndarray, budget: int, ctx: QueryContext, seed: int) -> QueryBatch:
        strata = self.strata(p, ctx)
        order = stratified_order(strata, seed)[:budget]
        return QueryBatch(order, np.full(len(p), np.nan), {"strata": strata, "seed": seed})
