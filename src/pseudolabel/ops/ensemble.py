"""Agreement of ensemble members: mean prediction and disagreement measures over ``(M, n, K)``.

UPL-SFDA (Wu et al. 2023) labels with the mean prediction of perturbed copies and reads their
spread as uncertainty; BALD's mutual information (Houlsby et al. 2011) is the standard measure.
Shared by the ensemble teacher, the ensemble gate and the neural multi-head teacher.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.ops.simplex import entropy, normalized_entropy


def _check_members(member_probs) -> np.ndarray:
    P = np.asarray(member_probs, dtype=np.float64)
    if P.ndim != 3:
        raise ValueError(f"member_probs must have shape (n_members, n_samples, n_classes); got {P.shape}")
    return P


def mean_prediction(member_probs) -> np.ndarray:
    """``p̄ = mean_k p_k`` over the member axis: (M, n, K) → (n, K)."""
    return _check_members(member_probs).mean(axis=0)


def mean_entropy(member_probs) -> np.ndarray:
    """UPL-SFDA's ``L_ent = H(p̄)`` per sample: 0 exactly when every member is the same one-hot."""
    return entropy(mean_prediction(member_probs))


def mutual_information(member_probs) -> np.ndarray:
    """BALD mutual information ``H(p̄) − mean_k H(p_k)`` per sample, in nats, in [0, log M]."""
    P = _check_members(member_probs)
    return np.clip(entropy(P.mean(axis=0)) - entropy(P).mean(axis=0), 0.0, None)


def vote_disagreement(member_probs) -> np.ndarray:
    """``1 − (count of the most voted class) / M`` per sample (0 = unanimous)."""
    P = _check_members(member_probs)
    votes = P.argmax(axis=2)  # (M, n)
    counts = np.stack([(votes == c).sum(axis=0) for c in range(P.shape[2])], axis=1)
    return 1.0 - counts.max(axis=1) / P.shape[0]


def ensemble_uncertainty(member_probs: np.ndarray, measure: str = "mi") -> np.ndarray:
    """Per-sample disagreement of ``member_probs`` (M, n, K), scaled to [0, 1]."""
    m = np.asarray(member_probs, dtype=np.float64)
    if m.ndim != 3:
        raise ValueError(f"member_probs must have shape (n_members, n_samples, n_classes); got {m.shape}")
    n_members, _, k = m.shape
    mean = m.mean(axis=0)
    if measure == "mi":
        return np.clip(normalized_entropy(mean) - normalized_entropy(m).mean(axis=0), 0.0, 1.0)
    if measure == "variance":
        y = mean.argmax(axis=1)
        return 4.0 * m[:, np.arange(m.shape[1]), y].var(axis=0)
    if measure == "disagreement":
        votes = np.zeros((m.shape[1], k))
        for member in m:  # M is small; each step is vectorised over samples
            votes[np.arange(m.shape[1]), member.argmax(axis=1)] += 1
        return 1.0 - votes.max(axis=1) / n_members
    raise ValueError(f"measure must be 'mi', 'variance' or 'disagreement', got {measure!r}")
