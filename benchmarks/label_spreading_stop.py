"""scikit-learn's LabelSpreading(kernel="knn") with its defaults stops before labels reach every row.

    PYTHONPATH=src python benchmarks/label_spreading_stop.py [--datasets trec,digits] [--budget 4]

For each dataset (the bench's features, seed 0): iterations run, pool rows left with no label
mass (they get the first class), pool precision and test accuracy, for the defaults
(alpha=0.2, max_iter=30, tol=1e-3) and for alpha=0.99, max_iter=1000.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from sklearn.semi_supervised import LabelSpreading

from pseudolabel.bench.features import load_features
from pseudolabel.data.datasets import sample_labels


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--datasets", default="trec,digits")
    p.add_argument("--budget", type=int, default=4)
    p.add_argument("--data-dir")
    a = p.parse_args()
    print("| dataset | settings | iterations | pool rows with no label mass | pool precision (%) | test accuracy (%) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in a.datasets.split(","):
        f = load_features(name, a.data_dir)
        y = sample_labels(f.y_train, a.budget, seed=0)
        pool = y < 0
        for label, kw in (("defaults", {}), ("alpha=0.99, max_iter=1000", {"alpha": 0.99, "max_iter": 1000})):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # 0/0 in scikit-learn's normalisation of empty rows
                m = LabelSpreading(kernel="knn", **kw).fit(f.X_train, y)
                acc = (m.predict(f.X_test) == f.y_test).mean() * 100
            D = m.label_distributions_[pool]
            empty = int((~np.isfinite(D).all(axis=1) | (np.nan_to_num(D).sum(axis=1) == 0)).sum())
            prec = (m.transduction_[pool] == f.y_train[pool]).mean() * 100
            print(f"| {name} | {label} | {m.n_iter_} | {empty} of {pool.sum()} | {prec:.1f} | {acc:.1f} |")


if __name__ == "__main__":
    main()
