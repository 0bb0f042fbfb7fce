"""Quality measures shared by the audit, the learners and the benchmark."""

from __future__ import annotations

import math

import numpy as np

from pseudolabel.ops.calibration import expected_calibration_error


def mean_std(values) -> tuple[float, float, int]:
    """Mean and sample standard deviation (``ddof=1``; 0 for one value) of the finite values.

    Every "mean ± std over seeds" in the package (demo, benchmark, docs) is this one.
    """
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if len(v) == 0:
        return math.nan, math.nan, 0
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0, len(v)


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
