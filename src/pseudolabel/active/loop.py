"""One query round on a fitted model: the context the strategies need, and the rows they choose."""

from __future__ import annotations

import numpy as np

from pseudolabel.active.embeddings import last_layer
from pseudolabel.core.query import QueryBatch, QueryContext
from pseudolabel.core.registry import make


def query_context(model, X: np.ndarray, candidates: np.ndarray, labeled: np.ndarray, y_encoded: np.ndarray | None = None,
                  *, probs: np.ndarray | None = None, embed: bool = True) -> tuple[np.ndarray, QueryContext]:
    """Probabilities of the ``candidates`` rows of ``X`` and their :class:`QueryContext`.

    model : a fitted classifier (``predict_proba``), or None before any model exists (cold start:
        uniform probabilities, no ``predict_proba``).
    candidates, labeled : row positions in ``X``; y_encoded : the labeled rows' class indices.
    """
    X = np.asarray(X)
    candidates = np.asarray(candidates, dtype=np.int64)
    labeled = np.asarray(labeled, dtype=np.int64)
    if probs is None:
        if model is None:
            n_classes = 2 if y_encoded is None or len(y_encoded) == 0 else int(np.max(y_encoded)) + 1
            probs = np.full((len(candidates), n_classes), 1.0 / n_classes)
        else:
            probs = model.predict_proba(X[candidates])
    embedding, source = (last_layer(model, X[candidates]) if embed and model is not None else (None, "none"))
    extra = {"embedding_source": source}
    if embedding is not None and len(labeled):
        extra["labeled_embedding"] = last_layer(model, X[labeled])[0]
    ctx = QueryContext(
        features=X[candidates],
        labeled_features=X[labeled] if len(labeled) else None,
        labeled_y=None if y_encoded is None else np.asarray(y_encoded),
        predict_proba=None if model is None else model.predict_proba,
        embedding=embedding,
        given=np.asarray(probs).argmax(axis=1),
        extra=extra,
    )
    return np.asarray(probs, dtype=np.float64), ctx


def choose(strategy, model, X: np.ndarray, candidates: np.ndarray, labeled: np.ndarray, budget: int, *,
           y_encoded: np.ndarray | None = None, probs: np.ndarray | None = None, random_state: int = 0) -> tuple[np.ndarray, QueryBatch]:
    """The ``budget`` rows of ``X`` (positions, best first) that ``strategy`` (a name/spec or object)
    asks about next, and the strategy's batch (positions within ``candidates``, scores, info)."""
    q = make("query", strategy)
    p, ctx = query_context(model, X, candidates, labeled, y_encoded, probs=probs)
    batch = q.query(p, budget, ctx, random_state=random_state)
    return np.asarray(candidates)[batch.indices], batch
