"""Benchmark metrics: test accuracy / macro-F1, pseudo-label quality on the pool, aggregation over seeds.

Pseudo-label *precision* is the share of accepted pseudo-labels that equal the hidden true label
of their pool row; *coverage* is the share of pool rows that received an accepted pseudo-label.
The precision–coverage curve ranks every pool row by the method's confidence in its argmax class
and reports the precision of the most confident fraction c, for c on :data:`COVERAGE_GRID`: what a
user would get by thresholding that method's confidences.
"""

from __future__ import annotations

import math

import numpy as np

from pseudolabel.ops.calibration import expected_calibration_error  # noqa: F401 - the one ECE, re-exported
from pseudolabel.ops.metrics import mean_std  # noqa: F401 - re-exported

COVERAGE_GRID = np.round(np.linspace(0.05, 1.0, 20), 2)


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict:
    """Accuracy and macro-F1 (every class counts, absent predictions score 0)."""
    from sklearn.metrics import f1_score

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return {
        "accuracy": float((y_true == y_pred).mean()),
        "macro_f1": float(f1_score(y_true, y_pred, labels=np.arange(n_classes), average="macro", zero_division=0)),
    }


def pl_scores(y_true: np.ndarray, label: np.ndarray, accepted: np.ndarray) -> dict:
    """Precision and coverage of the accepted pseudo-labels ``label[accepted]`` against ``y_true``."""
    y_true, label, accepted = np.asarray(y_true), np.asarray(label), np.asarray(accepted, dtype=bool)
    n_acc = int(accepted.sum())
    return {
        "pl_precision": float((label[accepted] == y_true[accepted]).mean()) if n_acc else math.nan,
        "pl_coverage": n_acc / len(y_true) if len(y_true) else math.nan,
        "pl_accepted": n_acc,
    }


def precision_at_coverage(y_true: np.ndarray, probs: np.ndarray, grid: np.ndarray = COVERAGE_GRID) -> list[float]:
    """Precision of the argmax label over the ``c·n`` most confident rows, for each ``c`` in ``grid``."""
    probs = np.asarray(probs, dtype=np.float64)
    n = len(probs)
    if n == 0:
        return [math.nan] * len(grid)
    order = np.argsort(-probs.max(axis=1), kind="stable")
    correct = (probs.argmax(axis=1) == np.asarray(y_true))[order]
    cum = np.cumsum(correct)
    counts = np.clip(np.ceil(np.asarray(grid) * n).astype(int), 1, n)
    return [float(v) for v in cum[counts - 1] / counts]


SUMMARY_METRICS = (
    "accuracy",
    "macro_f1",
    "pl_precision",
    "pl_coverage",
    "pl_ece",
    "pool_accuracy",
    "seconds",
    "peak_mb",
    "fit_mb",
    "fallback",
)


def summarize(runs: list[dict]) -> list[dict]:
    """One row per (dataset, budget, method): mean/std/n of each metric over the successful seeds."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["dataset"], r["budget"], r["method"]), []).append(r)
    rows = []
    for (dataset, budget, method), rs in groups.items():
        ok = [r for r in rs if r["status"] == "ok"]
        row = {"dataset": dataset, "budget": budget, "method": method, "n_runs": len(rs), "n_ok": len(ok)}
        for m in SUMMARY_METRICS:
            vals = [r["metrics"].get(m) for r in ok]
            vals = [float(v) for v in vals if v is not None]
            mu, sd, n = mean_std(vals)
            row[m] = {"mean": mu, "std": sd, "n": n}
        curves = [[math.nan if x is None else x for x in r["metrics"]["pl_curve"]] for r in ok if r["metrics"].get("pl_curve")]
        row["pl_curve"] = np.nanmean(np.asarray(curves, dtype=np.float64), axis=0).tolist() if curves else None
        row["errors"] = sorted({r.get("error", "").splitlines()[-1][:200] for r in rs if r["status"] != "ok" and r.get("error")})
        rows.append(row)
    return rows
