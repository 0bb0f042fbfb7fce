"""`pseudolabel demo`: digits with 4 labels per class, five methods side by side, 5 seeds.

Protocol: per seed, a stratified 70/30 train/test split of scikit-learn's digits (1,797 rows);
4 labels per class drawn from the training part (the rest is the unlabeled pool); every method
fits on the same rows and is scored on the same untouched test part. One BLAS thread per process
(threadpoolctl), the fastest setting for fits this small on 2 cores.
"""

from __future__ import annotations

import platform
import time
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from threadpoolctl import threadpool_limits

from pseudolabel.data.datasets import load_digits_split, sample_labels
from pseudolabel.learn.self_training import SelfTrainer
from pseudolabel.ops.estimators import default_student
from pseudolabel.ops.metrics import mean_std


def _supervised(X, y, seed):
    lab = y >= 0
    return default_student().fit(X[lab], y[lab])


METHODS: dict[str, Callable] = {
    "supervised only": _supervised,
    "sklearn SelfTrainingClassifier": lambda X, y, seed: SelfTrainingClassifier(default_student()).fit(X, y),
    "sklearn LabelSpreading (knn)": lambda X, y, seed: LabelSpreading(kernel="knn").fit(X, y),
    "pseudolabel SelfTrainer()": lambda X, y, seed: SelfTrainer(random_state=seed).fit(X, y),
}
CEILING = "fully supervised (all labels)"


def run_demo(seeds: int = 5, per_class: int = 4, progress: Callable[[str], None] | None = None) -> dict:
    """Run every method on every seed; returns per-method accuracy mean/std and mean seconds."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in [*METHODS, CEILING]}
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(seeds):
            data = load_digits_split(seed=seed)
            y_semi = sample_labels(data.y_train, per_class, seed)
            for name, fit in METHODS.items():
                t0 = time.perf_counter()
                model = fit(data.X_train, y_semi, seed)
                acc = float((model.predict(data.X_test) == data.y_test).mean())
                runs[name].append((acc, time.perf_counter() - t0))
                if progress:
                    progress(name)
            t0 = time.perf_counter()
            full = default_student().fit(data.X_train, data.y_train)
            runs[CEILING].append((float((full.predict(data.X_test) == data.y_test).mean()), time.perf_counter() - t0))
            if progress:
                progress(CEILING)
    rows = []
    for name, values in runs.items():
        acc = np.array([v[0] for v in values])
        sec = np.array([v[1] for v in values])
        rows.append(
            {
                "method": name,
                "accuracy_mean": mean_std(acc)[0],
                "accuracy_std": mean_std(acc)[1],  # ddof=1, as every figure in the benchmark
                "seconds_mean": float(sec.mean()),
                "accuracies": acc.round(6).tolist(),
            }
        )
    return {
        "dataset": "digits (sklearn), stratified 70/30 split per seed",
        "labels_per_class": per_class,
        "seeds": seeds,
        "threads": "threadpoolctl BLAS limit 1",
        "machine": f"{platform.machine()}, {_cpu_count()} CPU(s), Python {platform.python_version()}",
        "methods": rows,
    }


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
