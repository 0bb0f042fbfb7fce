"""Default vector views vs Gaussian noise alone on low-dimensional data (a check, not a tuning run).

The default strong view for vectors (SCARF 0.3 + noise 0.1 + feature dropout 0.1) replaces or
drops whole features, which could be too strong when there are only 2–5 of them. This compares it
with noise-only views on overlapping Gaussian blobs (2 labels per class, all rows scored; the
all-labels logistic-regression accuracy is the ceiling) and on iris / wine (3 labels per class,
unlabeled rows scored). 300 steps, one thread, seeds 0–2 (blobs) / 0–4 (iris, wine).

    PYTHONPATH=src python benchmarks/neural/low_dim_views.py
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_iris, load_wine, make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from pseudolabel.learn.neural import ConsistencyClassifier
from pseudolabel.learn.neural.augment import GaussianNoise

VIEWS = {"default": ("auto", "auto"), "noise only": (GaussianNoise(0.05), GaussianNoise(0.1))}


def fit_score(X, y_partial, y, score_rows, weak, strong, seed) -> float:
    clf = ConsistencyClassifier(weak=weak, strong=strong, max_steps=300, random_state=seed, n_threads=1, verbose=0)
    clf.fit(X, y_partial)
    return float((clf.predict(X[score_rows]) == y[score_rows]).mean())


def label(y, per_class, rng) -> np.ndarray:
    y_partial = np.full_like(y, -1)
    for c in np.unique(y):
        y_partial[rng.choice(np.flatnonzero(y == c), per_class, replace=False)] = c
    return y_partial


def main() -> None:
    torch.set_num_threads(1)
    for d, std in ((2, 1.5), (3, 2.5), (5, 2.5), (8, 2.5)):
        data = [make_blobs(1000, n_features=d, centers=4, cluster_std=std, random_state=s) for s in range(3)]
        ceiling = [LogisticRegression(max_iter=1000).fit(X, y).score(X, y) for X, y in data]
        print(f"blobs d={d} std={std}: all-labels logistic regression {np.round(ceiling, 3)}")
        for name, (weak, strong) in VIEWS.items():
            accs = [fit_score(X.astype(np.float32), label(y, 2, np.random.default_rng(s)), y, slice(None), weak, strong, s)
                    for s, (X, y) in enumerate(data)]
            print(f"  {name:10s} {np.round(accs, 3)} mean {np.mean(accs):.3f}", flush=True)
    for loader in (load_iris, load_wine):
        X, y = loader(return_X_y=True)
        X = StandardScaler().fit_transform(X).astype(np.float32)
        print(f"{loader.__name__[5:]} ({X.shape[1]} features)")
        for name, (weak, strong) in VIEWS.items():
            accs = []
            for s in range(5):
                y_partial = label(y, 3, np.random.default_rng(s))
                accs.append(fit_score(X, y_partial, y, y_partial < 0, weak, strong, s))
            print(f"  {name:10s} {np.round(accs, 3)} mean {np.mean(accs):.3f}", flush=True)


if __name__ == "__main__":
    main()
