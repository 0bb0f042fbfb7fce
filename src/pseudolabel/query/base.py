"""`BaseQuery`: the base class of every query strategy (the contract is in :mod:`pseudolabel.core.query`)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from pseudolabel.core.query import QueryBatch, QueryContext
from pseudolabel.ops.simplex import check_probs
from pseudolabel.query.batch import DEDUP_THRESHOLD, DIVERSITY, rank_batch


class BaseQuery(BaseEstimator):
    """A query strategy.

    Ranking strategies implement ``_scores(p, ctx)`` and inherit the batch parts:
    ``diversity`` is ``"none"``, ``"dedup"`` (a row whose cosine similarity to a row already in the
    batch exceeds ``dedup_threshold`` waits until no other row is left: no near-duplicates in one
    batch) or ``"kmeans"`` (dedup, then the best row of each of ``budget`` k-means cells, best cells
    first); ``class_balance=True`` caps every predicted class at ``ceil(budget / K)`` rows while other
    classes still have candidates. Batch-aware strategies (core-set, BADGE, TypiClust) override
    ``_query(p, budget, ctx, seed)``. ``needs`` lists the context fields a strategy requires.
    """

    needs: ClassVar[tuple[str, ...]] = ()
    batch_aware: ClassVar[bool] = False
    cold_start: ClassVar[bool] = False
    """True when the strategy works before any label or model exists (features only)."""

    diversity: str = "dedup"
    dedup_threshold: float = DEDUP_THRESHOLD
    class_balance: bool = False

    def scores(self, probs, context: QueryContext | dict | None = None, /, **kwargs) -> np.ndarray:
        """One score per candidate row; higher = more useful to ask a person about."""
        p, ctx = self._prepare(probs, context, kwargs)
        if len(p) == 0:
            return np.zeros(0)
        s = np.asarray(self._scores(p, ctx), dtype=np.float64)
        if s.shape != (len(p),) or np.isnan(s).any():
            raise RuntimeError(f"{type(self).__name__} returned scores of shape {s.shape} (or NaN) for {len(p)} rows")
        return s

    def query(self, probs, budget: int, context: QueryContext | dict | None = None, /, *, random_state: int = 0,
              **kwargs) -> QueryBatch:
        """The ``budget`` candidate rows to ask about (positions into ``probs``), best first."""
        p, ctx = self._prepare(probs, context, kwargs)
        budget = int(min(max(int(budget), 0), len(p)))
        if budget == 0:
            return QueryBatch(np.zeros(0, dtype=np.int64), np.full(len(p), np.nan), {"strategy": self._name()})
        out = self._query(p, budget, ctx, int(random_state))
        if len(out) != budget or out.indices.min() < 0 or out.indices.max() >= len(p):
            raise RuntimeError(f"{type(self).__name__} returned {len(out)} rows for a budget of {budget} of {len(p)}")
        out.info.setdefault("strategy", self._name())
        return out

    # ---------------------------------------------------------------- for subclasses
    def _prepare(self, probs, context, kwargs) -> tuple[np.ndarray, QueryContext]:
        p = check_probs(probs, "probs")
        ctx = QueryContext.build(context, **kwargs)
        for name in self.needs:
            ctx.require(name, self._name())
        for name in ("features", "embedding", "given", "student_probs", "strata"):
            value = getattr(ctx, name)
            if value is not None and len(value) != len(p):
                raise ValueError(f"{self._name()}: context {name!r} has {len(value)} rows but probs has {len(p)}")
        if getattr(self, "diversity", "none") not in DIVERSITY:
            raise ValueError(f"diversity must be one of {DIVERSITY}, got {self.diversity!r}")
        return p, ctx

    def _name(self) -> str:
        return getattr(type(self), "_registry_name", type(self).__name__)

    def _scores(self, p: np.ndarray, ctx: QueryContext) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} builds its batch jointly; call query()")

    def _query(self, p: np.ndarray, budget: int, ctx: QueryContext, seed: int) -> QueryBatch:
        scores = self._scores(p, ctx)
        idx, info = rank_batch(scores, budget, features=ctx.features, labels=p.argmax(axis=1),
                               n_classes=p.shape[1], diversity=self.diversity,
                               dedup_threshold=self.dedup_threshold, class_balance=self.class_balance, seed=seed)
        return QueryBatch(idx, scores, info)
