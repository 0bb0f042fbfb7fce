"""One benchmark run: (dataset, labels per class, method, seed) → metrics, seconds, peak memory.

Timed: ``fit`` plus ``predict_proba`` on the test rows. Not timed: drawing the labeled subset,
building the estimator and reading pseudo-labels back for scoring.
"""

from __future__ import annotations

import math
import sys
import time
import warnings

import numpy as np

from pseudolabel.bench import env
from pseudolabel.bench.features import Features
from pseudolabel.bench.methods import METHODS, STUDENTS, MethodContext
from pseudolabel.bench.metrics import (
    classification_scores,
    expected_calibration_error,
    pl_scores,
    precision_at_coverage,
)
from pseudolabel.data.datasets import sample_labels

FULL = "all"
"""``budget`` of runs that see every train label (the fully supervised ceiling)."""


def run_job(job: dict, feats: Features, *, threads: int = 1, student: str = "logreg") -> dict:
    """Run one job in this process and return its record (``status`` "ok"; exceptions propagate)."""
    from threadpoolctl import threadpool_limits

    method = METHODS[job["method"]]
    K = feats.n_classes
    if method.kind == "full":
        y_fit = feats.y_train.copy()
    else:
        y_fit = sample_labels(feats.y_train, int(job["budget"]), int(job["seed"]))
    lab = np.flatnonzero(y_fit >= 0)
    pool = np.flatnonzero(y_fit < 0)
    ctx = MethodContext(
        n_classes=K, n_labeled=len(lab), n_unlabeled=len(pool), seed=int(job["seed"]), student=STUDENTS[student]
    )
    est = method.build(ctx)
    X, Xte = feats.X_train, feats.X_test
    if method.kind in ("supervised", "full"):
        X_fit, y_fit_rows = X[lab], y_fit[lab]
    else:
        X_fit, y_fit_rows = X, y_fit

    _preload_thread_pools(method)
    load = env.load_average()
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(limits=threads):
        warnings.simplefilter("always")
        _limit_torch(threads)
        measured = env.reset_peak_rss()
        rss0 = env.rss_mb()
        t0 = time.perf_counter()
        est.fit(X_fit, y_fit_rows)
        t1 = time.perf_counter()
        proba = np.asarray(est.predict_proba(Xte))
        t2 = time.perf_counter()
        peak = env.peak_rss_mb()
        pred = np.asarray(est.classes_)[proba.argmax(axis=1)]
        metrics = classification_scores(feats.y_test, pred, K)
        metrics.update(_pool_metrics(est, method.kind, X, pool, feats.y_train[pool], K))

    metrics.update(
        seconds=t2 - t0,
        fit_seconds=t1 - t0,
        predict_seconds=t2 - t1,
        peak_mb=peak,
        fit_mb=max(peak - rss0, 0.0) if measured else math.nan,
    )
    extras = {}
    for attr in ("fallback_", "best_round_", "n_rounds_", "n_iter_"):
        if hasattr(est, attr):
            v = getattr(est, attr)
            extras[attr.rstrip("_")] = v.item() if isinstance(v, np.generic) else v
    guard = getattr(est, "guard_", None)
    if isinstance(guard, dict):  # the decision's numbers, so a results.json explains each choice
        extras["guard"] = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in guard.items()
                           if isinstance(v, int | float | str | bool | np.generic | type(None))}
    config = getattr(est, "config_", None)
    if isinstance(config, dict) and config:
        extras["config"] = {k: v if isinstance(v, int | float | str | bool | type(None)) else str(v) for k, v in config.items()}
    if "fallback" in extras:
        metrics["fallback"] = float(bool(extras["fallback"]))
    msgs = sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0][:160]}" for w in caught})
    return {**job, "status": "ok", "metrics": metrics, "extras": extras, "warnings": msgs[:5], "date": env.now(),
            "load_average": load}


def _preload_thread_pools(method) -> None:
    """Import the libraries that bring their own thread pools (faiss's OpenMP, torch) *before*
    ``threadpool_limits``: it only limits pools that are loaded when it is entered."""
    import importlib.util

    names = ["faiss"] + (["torch"] if "module:torch" in method.requires else [])
    for name in names:
        if name not in sys.modules and importlib.util.find_spec(name) is not None:
            __import__(name)


def _limit_torch(threads: int) -> None:
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def _pool_metrics(est, kind: str, X: np.ndarray, pool: np.ndarray, y_pool: np.ndarray, K: int) -> dict:
    """Pseudo-label precision / coverage / calibration and the precision–coverage curve on the pool."""
    nan = {"pl_precision": math.nan, "pl_coverage": math.nan, "pl_accepted": 0, "pl_ece": math.nan,
           "pool_accuracy": math.nan, "pl_curve": None}
    if kind == "full" or len(pool) == 0:
        return nan
    out = dict(nan)
    rec = getattr(est, "pseudo_labels_", None)
    if rec is not None and hasattr(rec, "weight") and hasattr(rec, "index"):
        # pseudolabel's record: rows by position in X; accepted = weight > 0 and a class label
        pos = np.searchsorted(pool, rec.index)
        if len(rec.index) != len(pool) or not np.array_equal(pool[np.clip(pos, 0, len(pool) - 1)], rec.index):
            raise RuntimeError("pseudo_labels_.index does not cover the unlabeled pool")
        classes = np.asarray(rec.classes_)
        label = np.full(len(pool), -1, dtype=np.int64)
        accepted = np.zeros(len(pool), dtype=bool)
        probs = np.zeros((len(pool), K))
        ok = (np.asarray(rec.weight) > 0) & (np.asarray(rec.label) >= 0)
        label[pos[ok]] = classes[np.asarray(rec.label)[ok]]
        accepted[pos] = ok
        probs[np.ix_(pos, classes.astype(int))] = np.asarray(rec.probs, dtype=np.float64)
        conf = np.zeros(len(pool))
        conf[pos] = np.asarray(rec.confidence, dtype=np.float64)
        out.update(pl_scores(y_pool, label, accepted))
        out["pl_ece"] = expected_calibration_error(conf[accepted], label[accepted] == y_pool[accepted])
    elif hasattr(est, "label_distributions_"):  # LabelSpreading / LabelPropagation: every row labeled
        probs = np.nan_to_num(np.asarray(est.label_distributions_)[pool], nan=0.0)
        label = np.asarray(est.transduction_)[pool]
        out.update(pl_scores(y_pool, label, np.ones(len(pool), dtype=bool)))
        out["pl_ece"] = expected_calibration_error(probs.max(axis=1), label == y_pool)
    elif hasattr(est, "transduction_"):  # SelfTrainingClassifier: -1 = never pseudo-labeled
        label = np.asarray(est.transduction_)[pool]
        out.update(pl_scores(y_pool, label, label != -1))
        probs = _proba(est, X[pool], K)  # the final model's confidence (for the curve only)
    else:  # supervised-only: makes no pseudo-labels, but its confidences still rank the pool
        probs = _proba(est, X[pool], K)
    out["pool_accuracy"] = float((probs.argmax(axis=1) == y_pool).mean())
    out["pl_curve"] = precision_at_coverage(y_pool, probs)
    return out


def _proba(est, X: np.ndarray, K: int) -> np.ndarray:
    p = np.asarray(est.predict_proba(X), dtype=np.float64)
    full = np.zeros((len(X), K))
    full[:, np.asarray(est.classes_).astype(int)] = p
    return full
