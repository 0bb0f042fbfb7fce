"""Stratified random sampling and the unbiased stratified estimate of a proportion, with a
confidence interval.

Used to audit accepted pseudo-labels: strata are confidence bands (and/or classes); a simple
random sample is drawn within each stratum in a random order; once a person has checked the
first rows of that order, the precision of *all* accepted pseudo-labels is estimated as
``p̂ = Σ_h W_h p̂_h`` (``W_h = N_h / N``), unbiased because each stratum's checked rows are a
simple random sample of it (Cochran 1977, "Sampling Techniques", §5.3). Its variance is
``Σ_h W_h² (1 − n_h/N_h) s_h²/n_h`` with ``s_h² = n_h/(n_h − 1)·p̂_h(1 − p̂_h)`` (§5.4). The
interval is Wilson's score interval on the effective sample size ``n* = p̂(1 − p̂)/var`` (Kish's
design effect; Korn & Graubard 1998, "Confidence Intervals for Proportions with Small Expected
Number of Positive Counts Estimated from Survey Data"), which stays inside [0, 1] and does not
collapse to a point when every checked label was right; ``n* = n`` when the variance is 0.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

CONFIDENCE = 0.95
MIN_PER_STRATUM = 2
"""Checked rows each stratum needs before the estimate is reported (one gives no variance)."""


def confidence_strata(confidence: np.ndarray, n_strata: int = 4) -> np.ndarray:
    """Stratum of each row: its confidence quantile band (0 = least confident), ``n_strata`` bands
    of (almost) equal size; ties share a band."""
    c = np.asarray(confidence, dtype=np.float64)
    if len(c) == 0:
        return np.zeros(0, dtype=np.int64)
    n_strata = max(1, min(int(n_strata), len(c)))
    ranks = np.argsort(np.argsort(c, kind="stable"), kind="stable")
    return (ranks * n_strata // len(c)).astype(np.int64)


def stratified_order(strata: np.ndarray, seed: int = 0) -> np.ndarray:
    """A checking order of all rows: a random permutation within each stratum, interleaved so that
    any prefix is close to proportional allocation (row ``j`` of stratum ``h`` sits at
    ``(j + u) / N_h``, ``u`` uniform)."""
    strata = np.asarray(strata)
    rng = np.random.default_rng(seed)
    key = np.empty(len(strata))
    for h in np.unique(strata):
        rows = np.flatnonzero(strata == h)
        perm = rng.permutation(rows)
        key[perm] = (np.arange(len(perm)) + rng.random()) / len(perm)
    return np.argsort(key, kind="stable")


def stratified_proportion(sizes: dict, checked: dict, correct: dict, confidence: float = CONFIDENCE,
                          min_per_stratum: int = MIN_PER_STRATUM) -> dict:
    """Estimate the proportion over all strata from per-stratum checks.

    sizes : stratum → N_h (rows in the stratum); checked : stratum → n_h; correct : stratum → x_h.
    Returns ``estimate``, ``se``, ``low``, ``high``, ``n_checked``, ``n_eff`` and ``ready`` (False,
    with ``reason``, while some stratum has fewer than ``min_per_stratum`` checks: then the
    estimate is over the checked strata only and not unbiased for the whole).
    """
    N = float(sum(sizes.values()))
    if N <= 0:
        return {"ready": False, "reason": "no accepted pseudo-labels", "n_checked": 0}
    n_total = int(sum(checked.get(h, 0) for h in sizes))
    short = [h for h in sizes if checked.get(h, 0) < min(min_per_stratum, sizes[h])]
    est, var = 0.0, 0.0
    covered = [h for h in sizes if checked.get(h, 0) > 0]
    W_cov = sum(sizes[h] for h in covered) / N
    for h in covered:
        n_h, N_h, x_h = checked[h], sizes[h], correct.get(h, 0)
        if x_h > n_h or n_h > N_h:
            raise ValueError(f"stratum {h}: {x_h} correct of {n_h} checked of {N_h} rows is impossible")
        W = N_h / N / (W_cov if short else 1.0)
        p_h = x_h / n_h
        est += W * p_h
        if n_h > 1:
            s2 = n_h / (n_h - 1) * p_h * (1 - p_h)
            var += W**2 * (1 - n_h / N_h) * s2 / n_h
    out = {"n_checked": n_total, "n_strata": len(sizes), "confidence": confidence}
    if not covered:
        return {**out, "ready": False, "reason": "no pseudo-label checked yet"}
    z = norm.ppf(0.5 + confidence / 2)
    n_eff = n_total if var <= 0 else min(est * (1 - est) / var, float(n_total)) if 0 < est < 1 else n_total
    n_eff = max(n_eff, 1e-9)
    low, high = wilson(est, n_eff, z)
    out.update(estimate=est, se=math.sqrt(var), low=low, high=high, n_eff=n_eff, ready=not short)
    if short:
        out["reason"] = f"{len(short)} of {len(sizes)} strata have fewer than {min_per_stratum} checked rows"
    return out


def wilson(p: float, n: float, z: float) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` observed on (effective) sample size ``n``."""
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
