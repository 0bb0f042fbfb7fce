"""How right are the pseudo-labels? Calibration and precision/coverage measures.

Computed on rows whose true label is known but was hidden from the pipeline (SelfTrainer's
held-out folds), so they estimate the quality of the pseudo-labels on the real unlabeled pool.
"""

from __future__ import annotations

import numpy as np


def reliability(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> dict[str, np.ndarray]:
    """Equal-width confidence bins: mean confidence, accuracy and count per bin."""
    conf = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(conf, edges[1:-1]), 0, n_bins - 1)
    count = np.bincount(bins, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(bins, weights=conf, minlength=n_bins) / count
        acc = np.bincount(bins, weights=correct, minlength=n_bins) / count
    return {"edges": edges, "confidence": mean_conf, "accuracy": acc, "count": count}


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> float:
    """ECE (Naeini et al. 2015): count-weighted mean |accuracy − confidence| over bins."""
    r = reliability(confidence, correct, n_bins)
    ok = r["count"] > 0
    if not ok.any():
        return float("nan")
    return float((r["count"][ok] * np.abs(r["accuracy"][ok] - r["confidence"][ok])).sum() / r["count"].sum())


def accuracy_coverage(confidence: np.ndarray, correct: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy of the most confident fraction q of samples, for every q (selective prediction)."""
    conf = np.asarray(confidence, dtype=np.float64)
    order = np.argsort(-conf, kind="stable")
    hits = np.asarray(correct, dtype=np.float64)[order]
    n = np.arange(1, len(hits) + 1)
    return {"coverage": n / max(len(hits), 1), "accuracy": np.cumsum(hits) / n, "threshold": conf[order]}


def pseudo_label_quality(label: np.ndarray, weight: np.ndarray, confidence: np.ndarray, y_true: np.ndarray, n_classes: int) -> dict:
    """Precision / coverage / calibration of accepted pseudo-labels against known labels."""
    label = np.asarray(label)
    y_true = np.asarray(y_true)
    accepted = (label >= 0) & (np.asarray(weight) > 0)
    correct = label == y_true
    out = {
        "n": int(len(label)),
        "coverage": float(accepted.mean()) if len(label) else float("nan"),
        "precision": float(correct[accepted].mean()) if accepted.any() else float("nan"),
        "weighted_precision": float((np.asarray(weight) * correct).sum() / max(np.asarray(weight).sum(), 1e-12)),
        "mean_confidence": float(np.asarray(confidence)[accepted].mean()) if accepted.any() else float("nan"),
        "ece": expected_calibration_error(np.asarray(confidence)[accepted], correct[accepted]) if accepted.any() else float("nan"),
    }
    per_class = []
    for c in range(n_classes):
        sel = accepted & (label == c)
        per_class.append(float(correct[sel].mean()) if sel.any() else float("nan"))
    out["per_class_precision"] = per_class
    return out
