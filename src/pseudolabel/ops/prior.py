"""Class priors for balancing: given, from the labels, or estimated on the unlabeled pool.

``estimate_prior`` is the EM prior-shift estimator of Saerens, Latinne & Decaestecker (2002),
"Adjusting the Outputs of a Classifier to New a Priori Probabilities": a classifier trained under
prior ``π_train`` outputs ``p_i``; under a new prior ``π`` the posteriors become
``p_i ⊙ π/π_train`` (renormalised) and ``π`` is their mean. Iterating the two steps is EM on the
mixture weights and converges to the maximum-likelihood prior of the pool. With few labels the
labeled class frequencies are a noisy guess; the pool has thousands of rows, so the estimate
matters most exactly when the classes are imbalanced.

Pitfall: EM is only as good as the posteriors' calibration. Under-confident (flat) posteriors,
e.g. raw label-spreading scores, make it overshoot — it pumps one class and drives rare ones to
zero (seen on imbalanced digits). Calibrate first (``refine="calibrate,..."``); as a guard,
``resolve_prior(..., "estimate")`` keeps every class at least ``0.1/K``.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.ops.simplex import EPS, check_probs, class_prior

PRIOR_NAMES = ("uniform", "labeled", "estimate", "count")


def estimate_prior(
    probs: np.ndarray,
    train_prior: np.ndarray | None = None,
    *,
    tol: float = 1e-8,
    max_iter: int = 1000,
    floor: float = 1e-6,
) -> np.ndarray:
    """EM estimate of the pool's class prior (Saerens et al. 2002).

    probs : (n, K) posteriors of a model trained under ``train_prior`` (default uniform).
    floor : lower bound on every class share, so a class the pool seems to lack stays reachable.
    """
    p = check_probs(probs)
    n, k = p.shape
    if n == 0:
        raise ValueError("estimate_prior needs at least one row of probabilities")
    base = np.full(k, 1.0 / k) if train_prior is None else np.asarray(train_prior, dtype=np.float64)
    if base.shape != (k,) or (base <= 0).any():
        raise ValueError(f"train_prior must be {k} positive numbers, got {train_prior!r}")
    base = base / base.sum()
    pi = base.copy()
    for _ in range(max_iter):
        post = p * (pi / base)
        post /= np.maximum(post.sum(axis=1, keepdims=True), EPS)
        new = np.maximum(post.mean(axis=0), floor)
        new /= new.sum()
        done = np.abs(new - pi).max() < tol
        pi = new
        if done:
            break
    return pi


def resolve_prior(
    prior,
    n_classes: int,
    *,
    probs: np.ndarray | None = None,
    labeled_y: np.ndarray | None = None,
    owner: str = "prior",
) -> np.ndarray:
    """Turn a ``prior`` spec into K positive numbers summing to 1.

    ``"uniform"``; ``"labeled"`` (add-one smoothed class frequencies of ``labeled_y``);
    ``"estimate"`` (EM on ``probs``, starting from — and correcting for — the labeled frequencies
    when ``labeled_y`` is known, else uniform; each class kept at ≥ 0.1/K); ``"count"`` (the
    share of ``probs``' rows whose most likely class it is — "classify and count", Forman 2008:
    biased toward the labeled mix when the classifier errs, so it moves less than EM and never
    overshoots; each class kept at ≥ 0.1/K); or K non-negative numbers.
    """
    k = int(n_classes)
    if isinstance(prior, str):
        if prior == "uniform":
            return np.full(k, 1.0 / k)
        if prior == "labeled":
            if labeled_y is None:
                raise ValueError(
                    f"{owner}: prior='labeled' needs the labels (context key 'labeled_y' or fit(probs, y)); "
                    "pass prior='uniform', 'estimate' or an array instead"
                )
            return class_prior(labeled_y, k, smoothing=1.0)
        if prior == "estimate":
            if probs is None or len(probs) == 0:
                raise ValueError(f"{owner}: prior='estimate' needs the pool's probabilities")
            base = None if labeled_y is None else class_prior(labeled_y, k, smoothing=1.0)
            return estimate_prior(probs, base, floor=0.1 / k)
        if prior == "count":
            if probs is None or len(probs) == 0:
                raise ValueError(f"{owner}: prior='count' needs the pool's probabilities")
            shares = np.bincount(check_probs(probs).argmax(axis=1), minlength=k) / len(probs)
            shares = np.maximum(shares, 0.1 / k)
            return shares / shares.sum()
        raise ValueError(f"{owner}: prior must be one of {PRIOR_NAMES} or an array; got {prior!r}")
    pi = np.asarray(prior, dtype=np.float64)
    if pi.shape != (k,) or (pi < 0).any() or pi.sum() <= 0:
        raise ValueError(f"{owner}: prior must be {k} non-negative numbers (one per class); got {prior!r}")
    pi = np.maximum(pi / pi.sum(), 1e-12)
    return pi / pi.sum()
