"""Which unlabeled rows should a human label next: the report's and the CLI's entry point.

A thin layer over the registered query strategies of :mod:`pseudolabel.query` (kind ``"query"``),
kept for its callers (``pseudolabel fit`` writes ``label_next``; the report lists the rows):

* ``"uncertainty"`` – ``entropy_sampling`` (normalised entropy ``H(p)/log K``);
* ``"margin"`` – ``margin_sampling`` (``1 − (p₍₁₎ − p₍₂₎)``);
* ``"density"`` – ``density_weighted`` (information density, the VIOLA reconstruction);
* ``"ripu"`` – ``ripu`` (region impurity × uncertainty).

Any registered query name (``"badge"``, ``"typiclust"`` …) is accepted too. ``diversity=True``
spreads the batch over ``budget`` k-means cells (best row of each cell, best cells first).
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.registry import available, make
from pseudolabel.ops.simplex import check_probs, normalized_entropy
from pseudolabel.query.density import density
from pseudolabel.query.margin import margin_uncertainty as _margin_uncertainty
from pseudolabel.query.ripu import region_impurity

STRATEGIES = ("uncertainty", "margin", "density", "ripu")
LEGACY = {"uncertainty": "entropy_sampling", "margin": "margin_sampling", "density": "density_weighted", "ripu": "ripu"}

__all__ = ["STRATEGIES", "density", "margin_uncertainty", "query_scores", "region_impurity", "select_queries", "uncertainty"]


def uncertainty(probs: np.ndarray) -> np.ndarray:
    """Normalised entropy ``H(p)/log K``: 1 = knows nothing."""
    return normalized_entropy(check_probs(probs))


def margin_uncertainty(probs: np.ndarray) -> np.ndarray:
    """``1 − margin``: large when the top two classes are close."""
    return _margin_uncertainty(check_probs(probs))


def _strategy(strategy: str, **kwargs):
    name = LEGACY.get(strategy, strategy)
    if name not in available("query"):
        raise ValueError(f"strategy must be one of {STRATEGIES} or a registered query strategy "
                         f"({', '.join(available('query'))}), got {strategy!r}")
    obj = make("query", name)
    return obj.set_params(**{k: v for k, v in kwargs.items() if k in obj.get_params()})


def query_scores(probs, features=None, *, strategy: str = "density", beta: float = 1.0, n_neighbors: int = 10) -> np.ndarray:
    """Per-row score; higher = more useful to label."""
    q = _strategy(strategy, beta=beta, n_neighbors=n_neighbors)
    if "features" in q.needs and features is None:
        raise ValueError(f"strategy {strategy!r} needs features (the rows' feature vectors)")
    return q.scores(probs, features=features)


def select_queries(
    probs,
    features=None,
    budget: int = 20,
    *,
    strategy: str = "density",
    beta: float = 1.0,
    n_neighbors: int = 10,
    diversity: bool = True,
    random_state: int = 0,
) -> np.ndarray:
    """Indices of the ``budget`` rows to label next, best first."""
    q = _strategy(strategy, beta=beta, n_neighbors=n_neighbors)
    if "features" in q.needs and features is None:
        raise ValueError(f"strategy {strategy!r} needs features (the rows' feature vectors)")
    if not q.batch_aware:
        q.set_params(diversity="kmeans" if diversity and features is not None else "none")
    return q.query(probs, budget, features=features, random_state=random_state).indices
