"""``noise_stability``: ask about the rows whose prediction changes most under input noise (NoiseAug).

The active-learning score of SSAL for video action detection (Singh et al. 2024, "Semi-Supervised
Active Learning for Video Action Detection", AAAI; shared/METHODS.md #3): the prediction change
under noise augmentation. Here: ``T`` draws of Gaussian noise with per-feature standard deviation
``sigma · std(feature)`` are added to each row, and the score is the mean total-variation distance
``½‖p(x) − p(x + ε)‖₁`` in [0, 1]. Needs the fitted model's ``predict_proba`` (context field).
Rows near a decision boundary, or where the model is brittle, change most.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.query import QueryContext
from pseudolabel.core.registry import register
from pseudolabel.ops.simplex import check_probs
from pseudolabel.query.base import BaseQuery

N_DRAWS = 8
"""Noise draws per row (the score's Monte-Carlo error shrinks as 1/√T; 8 keeps it under ~0.02 here)."""
SIGMA = 0.1
"""Noise scale as a fraction of each feature's standard deviation over the candidates."""


def prediction_change(predict_proba, X: np.ndarray, probs: np.ndarray, *, sigma: float = SIGMA,
                      n_draws: int = N_DRAWS, seed: int = 0) -> np.ndarray:
    """Mean ``½‖p(x) − p(x + ε)‖₁`` over ``n_draws`` noisy copies of every row."""
    X = np.asarray(X, dtype=np.float64)
    scale = sigma * X.std(axis=0)
    rng = np.random.default_rng(seed)
    total = np.zeros(len(X))
    for _ in range(n_draws):
        noisy = check_probs(predict_proba(X + rng.normal(size=X.shape) * scale), "predict_proba(noisy X)")
        total += 0.5 * np.abs(noisy - probs).sum(axis=1)
    return total / n_draws


@register("query", "noise_stability")
class NoiseStability(BaseQuery):
    """Score = mean prediction change under feature noise (needs ``predict_proba`` and ``features``)."""

    needs = ("features", "predict_proba")

    def __init__(self, sigma: float = SIGMA, n_draws: int = N_DRAWS, seed: int = 0, diversity: str = "dedup",
                 class_balance: bool = False):
        self.sigma = sigma
        self.n_draws = n_draws
        self.seed = seed
        self.diversity = diversity
        self.class_balance = class_balance

    def _scores(self, p: np.ndarray, ctx: QueryContext) -> np.ndarray:
        return prediction_change(ctx.predict_proba, ctx.features, p, sigma=self.sigma, n_draws=self.n_draws, seed=self.seed)
