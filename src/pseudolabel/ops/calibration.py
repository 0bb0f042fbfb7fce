"""Calibration maths: temperature fitting, reliability bins, one expected calibration error.

There is one ECE in this package (the audit, the report and the benchmark all call this one):
equal-width confidence bins ``((b−1)/B, b/B]`` (a confidence of exactly 0 falls in the first bin),
``ECE = Σ_b (n_b / n) · |accuracy_b − mean confidence_b|`` (Naeini et al. 2015), with ``B = 15``
bins as in Guo et al. 2017, "On Calibration of Modern Neural Networks".
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from pseudolabel.ops.simplex import EPS, check_probs

ECE_BINS = 15
"""Guo et al. 2017 report ECE with 15 equal-width bins; every ECE in the package uses it."""
TEMPERATURE_BOUNDS = (0.05, 20.0)
"""Search range of the temperature: wide enough for raw label-spreading scores (T ≈ 0.1) and
over-confident students (T ≈ 5), narrow enough that 10 held-out labels cannot push it to 0 or ∞."""


def confidence_bins(confidence: np.ndarray, n_bins: int = ECE_BINS) -> np.ndarray:
    """Bin index in ``[0, n_bins)`` of each confidence: bin ``b`` holds ``(b/B, (b+1)/B]``."""
    conf = np.asarray(confidence, dtype=np.float64)
    return np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)


def reliability(confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS) -> dict[str, np.ndarray]:
    """Equal-width confidence bins: edges, mean confidence, accuracy and count per bin (NaN when empty)."""
    conf = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    bins = confidence_bins(conf, n_bins)
    count = np.bincount(bins, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(bins, weights=conf, minlength=n_bins) / count
        acc = np.bincount(bins, weights=correct, minlength=n_bins) / count
    return {"edges": np.linspace(0.0, 1.0, n_bins + 1), "confidence": mean_conf, "accuracy": acc, "count": count}


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """ECE (Naeini et al. 2015): count-weighted mean ``|accuracy − confidence|`` over bins; NaN when empty."""
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


def fit_temperature(probs: np.ndarray, y: np.ndarray, bounds: tuple[float, float] = TEMPERATURE_BOUNDS) -> float:
    """Temperature minimising the negative log-likelihood of ``y`` under ``softmax(log p / T)``."""
    logp = np.log(np.clip(check_probs(probs), EPS, None))
    y = np.asarray(y, dtype=np.int64)
    if len(y) != len(logp):
        raise ValueError(f"y has {len(y)} entries but probs has {len(logp)} rows")
    if len(y) == 0:
        return 1.0

    def nll(log_t: float) -> float:
        z = logp / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))).mean())

    res = minimize_scalar(nll, bounds=np.log(bounds), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(res.x))
