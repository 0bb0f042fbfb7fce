"""Active learning on top of pseudo-labels: the glue between a fitted model and the query
strategies (:mod:`pseudolabel.query`).

* :func:`query_context` – the :class:`~pseudolabel.core.query.QueryContext` of a fitted model
  (features, labeled rows, ``predict_proba`` for perturbation strategies, the last-layer embedding
  for BADGE / core-set when the model is the neural learner);
* :func:`last_layer` – that embedding, with a clear statement of what it is for other models;
* :func:`choose` – one query round: the pool rows to label next under a named strategy.
"""

from pseudolabel.active.embeddings import last_layer
from pseudolabel.active.loop import choose, query_context

__all__ = ["choose", "last_layer", "query_context"]
