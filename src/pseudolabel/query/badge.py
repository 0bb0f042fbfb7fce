"""``badge``: Batch Active learning by Diverse Gradient Embeddings.

Ash et al. 2020, "Deep Batch Active Learning by Diverse, Uncertain Gradient Lower Bounds" (ICLR).
Each candidate's gradient embedding is the gradient of the cross-entropy loss, at the model's own
hard prediction ``ŷ``, with respect to the last layer's weights: ``g = (p − e_ŷ) ⊗ h`` with ``h``
the last layer's input. The batch is the k-means++ seeding of the ``g`` (largest norm first, then
D²-sampling), which is uncertain (large ‖g‖) and diverse (spread) at once.

``h`` comes from the context: ``embedding`` (the neural learner's penultimate features; see
:func:`pseudolabel.active.embeddings.last_layer`), else the ``features`` — for a linear
softmax model (the default logistic-regression student) the features *are* the last layer's
input, so the embedding is exact; for any other model it is the stated approximation and
``info["embedding"]`` says which was used. With the same ``random_state`` the batch equals
scikit-activeml's ``Badge``.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.query import QueryBatch, QueryContext
from pseudolabel.core.registry import register
from pseudolabel.ops.simplex import one_hot
from pseudolabel.query.base import BaseQuery
from pseudolabel.query.batch import kmeanspp_seeding


def gradient_embedding(p: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``(p − e_ŷ) ⊗ h`` flattened: (n, K·d)."""
    y_hat = p.argmax(axis=1)
    factor = p - one_hot(y_hat, p.shape[1])
    return (factor[:, :, None] * np.asarray(h, dtype=np.float64)[:, None, :]).reshape(len(p), -1)


@register("query", "badge")
class Badge(BaseQuery):
    """k-means++ seeding of the gradient embeddings."""

    batch_aware = True

    def _query(self, p: np.ndarray, budget: int, ctx: QueryContext, seed: int) -> QueryBatch:
        if ctx.embedding is not None:
            h, source = ctx.embedding, ctx.extra.get("embedding_source", "last-layer embedding")
        else:
            h = ctx.require("features", "badge")
            source = "input features (exact for a linear softmax model, an approximation otherwise)"
        G = gradient_embedding(p, h)
        picks = kmeanspp_seeding(G, budget, seed)
        return QueryBatch(picks, np.sum(G**2, axis=1), {"embedding": source})
