"""The query contract: which rows a person should label (or check) next.

A query strategy maps the model's probabilities on the candidate rows, plus a
:class:`QueryContext` (features, the labeled rows, the model), to

* ``scores(probs, context)`` – one number per candidate, higher = ask about it first, for
  strategies that rank rows one by one (entropy, margin, density, RIPU, noise stability ...);
* ``query(probs, budget, context)`` – a :class:`QueryBatch`: the chosen row positions, best first.
  Ranking strategies take the top of their scores, optionally through the reusable batch parts
  (``diversity``: no near-duplicates and one row per k-means cell; ``class_balance``: a quota per
  predicted class); batch-aware strategies (core-set, BADGE, TypiClust) build the batch jointly.

Strategies are registered components (``@register("query", "entropy_sampling")``) so that the
CLI, the review app and the benchmark can name them. Like a selector, a strategy that needs a
context field calls :meth:`QueryContext.require`, which names the field and how to provide it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

QUERY_FIELDS_HELP = {
    "features": "(n, d) feature vectors of the candidate rows",
    "labeled_features": "(m, d) feature vectors of the rows that already have a human label",
    "labeled_y": "(m,) encoded labels of those rows",
    "predict_proba": "a callable X -> (n, K) probabilities (the fitted model), for perturbation-based strategies",
    "embedding": "(n, e) last-layer representation of the candidates (the network's penultimate features; "
                 "for a linear model, its input features)",
    "given": "(n,) class index each candidate is currently labeled with (its pseudo-label)",
    "student_probs": "(n, K) a second model's probabilities on the same rows (teacher-student disagreement)",
    "strata": "(n,) stratum of each candidate (audit sampling)",
}


@dataclass(frozen=True)
class QueryContext:
    """Side information for one query (see the module docstring); ``None`` = not available."""

    features: np.ndarray | None = None
    labeled_features: np.ndarray | None = None
    labeled_y: np.ndarray | None = None
    predict_proba: Callable[[np.ndarray], np.ndarray] | None = None
    embedding: np.ndarray | None = None
    given: np.ndarray | None = None
    student_probs: np.ndarray | None = None
    strata: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, context: QueryContext | dict | None = None, /, **kwargs) -> QueryContext:
        """A context from another one, a dict, keywords or a mix (keywords win; unknown keys go to ``extra``)."""
        base = {} if context is None else (context.as_dict() if isinstance(context, QueryContext) else dict(context))
        merged = {**base, **{k: v for k, v in kwargs.items() if v is not None}}
        known = {f.name for f in fields(cls)} - {"extra"}
        extra = {**base.get("extra", {}), **{k: v for k, v in merged.items() if k not in known and k != "extra"}}
        return cls(**{k: v for k, v in merged.items() if k in known}, extra=extra)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def require(self, name: str, owner: str):
        value = getattr(self, name, None) if name in QUERY_FIELDS_HELP else self.extra.get(name)
        if value is None:
            raise ValueError(f"query strategy {owner!r} needs {name!r} ({QUERY_FIELDS_HELP.get(name, 'a context value')}); "
                             f"pass {name}=... to scores()/query()")
        return value

    def replace(self, **changes) -> QueryContext:
        return replace(self, **changes)


@dataclass
class QueryBatch:
    """The rows a strategy asks about: ``indices`` (positions among the candidates, best first),
    every candidate's ``scores`` (NaN where a batch-aware strategy has no per-row score) and
    diagnostics in ``info``."""

    indices: np.ndarray
    scores: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.indices = np.asarray(self.indices, dtype=np.int64).reshape(-1)
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if len(np.unique(self.indices)) != len(self.indices):
            raise RuntimeError("a query batch must not hold a row twice")

    def __len__(self) -> int:
        return len(self.indices)
