"""Label spreading at scale: pseudolabel's GraphTeacher vs scikit-learn's LabelSpreading.

    python benchmarks/graph_scale.py [--sizes 10000 30000 100000] [--threads 2]

Synthetic data: 64-d float rows from 50 Gaussian clusters mapped to 10 classes, 10 labels per
class. Reports wall time of fit + transductive labels and their accuracy. scikit-learn's rbf
kernel builds a dense n×n matrix (80 GB at 100,000 rows), so only its knn kernel is run beyond
10,000 rows. Thread settings are printed with the results.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from threadpoolctl import threadpool_limits


def make(n: int, seed: int = 0, d: int = 64, k: int = 10):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(50, d)) * 2.5
    comp = rng.integers(0, 50, n)
    y = comp % k
    X = (centers[comp] + rng.normal(size=(n, d))).astype(np.float64)
    ys = np.full(n, -1)
    for c in range(k):
        ys[rng.choice(np.flatnonzero(y == c), 10, replace=False)] = c
    return X, ys, y


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-sklearn-above", type=int, default=100_000)
    args = ap.parse_args()
    from sklearn.semi_supervised import LabelSpreading

    from pseudolabel.teachers import GraphTeacher

    rows = []
    with threadpool_limits(limits=args.threads):
        for n in args.sizes:
            X, ys, y = make(n)
            unl = ys < 0
            t0 = time.perf_counter()
            P = GraphTeacher().transduce(X, ys, n_classes=10)
            t_ours = time.perf_counter() - t0
            rows.append({"n": n, "method": "pseudolabel GraphTeacher (k=7)", "seconds": t_ours, "accuracy": float((P.argmax(1)[unl] == y[unl]).mean())})
            print(rows[-1], flush=True)
            if n <= args.skip_sklearn_above:
                t0 = time.perf_counter()
                ls = LabelSpreading(kernel="knn", n_neighbors=7, max_iter=100).fit(X, ys)
                t_sk = time.perf_counter() - t0
                rows.append({"n": n, "method": "sklearn LabelSpreading(knn, k=7)", "seconds": t_sk, "accuracy": float((ls.transduction_[unl] == y[unl]).mean())})
                print(rows[-1], flush=True)
    print(json.dumps({"threads": args.threads, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
