"""SimMatch's label-memory maths (Zheng et al. 2022, "SimMatch: Semi-supervised Learning with
Similarity Matching"): aggregation (instance → class), unfolding (class → instance) and the mixed
class target. Shared by the offline SimMatch teacher and the neural trainer's SimMatch term.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.ops.simplex import normalize_rows


def aggregate(q, bank_labels, n_classes: int) -> np.ndarray:
    """``agg_c = Σ_{j: y_j = c} q_j``: instance weights (n, m) → class probabilities (n, K)."""
    q = np.asarray(q, dtype=np.float64)
    labels = np.asarray(bank_labels, dtype=np.int64)
    if q.shape[1] != len(labels):
        raise ValueError(f"q has {q.shape[1]} bank columns but bank_labels has {len(labels)} entries")
    onehot = np.zeros((len(labels), n_classes))
    onehot[np.arange(len(labels)), labels] = 1.0
    return q @ onehot


def unfold(q, probs, bank_labels) -> np.ndarray:
    """``q̂_j ∝ q_j p[y_j]``: class probabilities (n, K) spread back over the bank items (n, m)."""
    q = np.asarray(q, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    q_hat = q * p[:, np.asarray(bank_labels, dtype=np.int64)]
    return normalize_rows(q_hat)


def simmatch_targets(probs, agg, alpha: float = 0.9) -> np.ndarray:
    """``p̂ = α p + (1 − α) agg`` (α = 1 gives the plain FixMatch target ``p``)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    return alpha * np.asarray(probs, dtype=np.float64) + (1.0 - alpha) * np.asarray(agg, dtype=np.float64)
