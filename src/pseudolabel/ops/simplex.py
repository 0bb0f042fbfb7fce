"""Probability rows on the simplex: validation, normalisation, entropy, margin, class priors."""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def check_probs(probs, name: str = "probs", *, atol: float = 1e-3) -> np.ndarray:
    """Return ``probs`` as a float64 (n, K) array whose rows lie on the simplex, or raise."""
    arr = np.asarray(probs, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_classes); got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf; check the teacher's predict_proba output")
    if (arr < -atol).any():
        raise ValueError(f"{name} has negative entries; pass probabilities, not logits (use softmax)")
    if len(arr) and np.abs(arr.sum(axis=1) - 1.0).max() > atol:
        raise ValueError(f"{name} rows must sum to 1 (max deviation {np.abs(arr.sum(1) - 1).max():.3g})")
    return np.clip(arr, 0.0, None)


def normalize_rows(a: np.ndarray) -> np.ndarray:
    """Non-negative rows scaled to sum 1; rows that carry no mass (sum ≤ ``EPS``: all zero, or
    numerically nothing) become uniform. Rows of huge finite entries whose sum overflows are
    scaled by their largest entry first, so every finite input row lands on the simplex."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(over="ignore"):
        s = a.sum(axis=1, keepdims=True)
    over = np.isinf(s[:, 0]) & np.isfinite(a).all(axis=1) if a.ndim == 2 else np.zeros(0, dtype=bool)
    if over.any():
        a = a.copy()
        a[over] /= a[over].max(axis=1, keepdims=True)
        s[over] = a[over].sum(axis=1, keepdims=True)
    out = np.divide(a, s, out=np.full_like(a, 1.0 / a.shape[1]), where=s > EPS)
    return out


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy in nats, ``0 log 0 = 0``."""
    p = np.asarray(p, dtype=np.float64)
    return -(p * np.log(np.clip(p, EPS, None))).sum(axis=axis)


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.int64)
    out = np.zeros((len(y), n_classes))
    ok = y >= 0
    out[np.flatnonzero(ok), y[ok]] = 1.0
    return out


def class_prior(y: np.ndarray, n_classes: int, smoothing: float = 0.0) -> np.ndarray:
    """Class frequencies of encoded labels (``-1`` ignored), optionally add-``smoothing``."""
    y = np.asarray(y)
    counts = np.bincount(y[y >= 0], minlength=n_classes).astype(np.float64) + smoothing
    if counts.sum() <= 0:
        return np.full(n_classes, 1.0 / n_classes)
    return counts / counts.sum()


def normalized_entropy(probs: np.ndarray) -> np.ndarray:
    """``H(p) / log K`` in [0, 1]: 0 for a one-hot row, 1 for the uniform one."""
    p = np.asarray(probs, dtype=np.float64)
    k = p.shape[-1]
    return entropy(p) / np.log(k) if k > 1 else np.zeros(p.shape[:-1])


def margin(probs: np.ndarray) -> np.ndarray:
    """Top-2 margin ``p₍₁₎ − p₍₂₎`` in [0, 1] (Scheffer et al. 2001): large = confident. The one
    ``margin`` of the package; uncertainty-style scores use ``1 − margin``."""
    p = np.asarray(probs, dtype=np.float64)
    if p.shape[1] < 2:
        return np.ones(len(p))
    top2 = np.partition(p, p.shape[1] - 2, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def align_distribution(probs: np.ndarray, p_model: np.ndarray, target: np.ndarray | None = None, eps: float = 1e-6) -> np.ndarray:
    """Distribution alignment (ReMixMatch): ``normalize(p ⊙ (target + eps) / (p_model + eps))``;
    ``target=None`` is the ReMixMatch form ``p / p_model``."""
    num = 1.0 if target is None else np.asarray(target, dtype=np.float64) + eps
    return normalize_rows(np.asarray(probs, dtype=np.float64) * num / (np.asarray(p_model, dtype=np.float64) + eps))


def smooth_labels(probs: np.ndarray, alpha: float = 0.1, hard: bool = False) -> np.ndarray:
    """``(1 − α)·t + α/K`` with ``t = probs`` or ``one_hot(argmax probs)``."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    p = check_probs(probs)
    k = p.shape[1]
    t = one_hot(p.argmax(axis=1), k) if hard and len(p) else p
    return (1.0 - alpha) * t + alpha / k
