"""AG News, 10 labels per class: scikit-learn baselines on the frozen track's MiniLM embeddings.

Same protocol as ``ag_news.py --track frozen`` (the reported rows): the same cached embeddings
(``embed_frozen``, all-MiniLM-L6-v2, unit rows), the same labeled draws
(``sample_labels(y_train, 10, seed)`` on the 10,001-row train subset, seeds 0-4), the same test
rows (official 7,600-row test split, title + description). Unlike the neural track nothing is held
out for model selection: every baseline uses all 10 labels per class and scikit-learn defaults.

* ``supervised LR``: ``pseudolabel.ops.estimators.default_student()`` on the 40 labeled rows;
* ``SelfTrainingClassifier``: scikit-learn's ``SelfTrainingClassifier(default_student())``
  (defaults: threshold 0.75, at most 10 iterations) on the whole pool;
* ``LabelSpreading (knn)``: scikit-learn's ``LabelSpreading(kernel="knn")`` (defaults: 7
  neighbours, alpha 0.2, at most 30 iterations) on the raw embeddings of the whole pool; the
  records also give the share of pool and test rows the spreading left without a label;
* ``fully supervised LR``: ``default_student()`` on all 10,001 pool rows with their true labels
  (no random draw is involved: one fit, recorded once).

Each fit is one record in ``docs/results/neural.json`` (track "MiniLM frozen, scikit-learn
baselines"; ``common.py`` keeps them out of the main table and quotes mean ± sample std over seeds
in the notes of ``docs/results/neural.md``). Time is fit + predicting the test set; embedding the
texts is excluded (cached on disk after the first run, see the frozen track).

    PYTHONPATH=src python benchmarks/neural/ag_news_baselines.py --seeds 0 1 2 3 4 --threads 1
"""

from __future__ import annotations

import argparse
import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import BASELINE_TRACK, Timer, command, record, threads_note  # noqa: E402
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from pseudolabel.data.datasets import load_ag_news, sample_labels  # noqa: E402
from pseudolabel.learn.neural.text import embed_frozen  # noqa: E402
from pseudolabel.ops.estimators import default_student  # noqa: E402

TEST_FIELDS = "title+description"  # the test text of the frozen track's reported rows
PER_CLASS = 10


def fit_predict(method: str, E: np.ndarray, y: np.ndarray, E_test: np.ndarray):
    """Fit one baseline on the pool embeddings ``E`` with labels ``y`` (-1 = unlabeled); test predictions and notes."""
    info: dict = {}
    if method in ("supervised LR", "fully supervised LR"):
        lab = y >= 0
        model = default_student().fit(E[lab], y[lab])
        info["n_train_labels"] = int(lab.sum())
    elif method == "SelfTrainingClassifier":
        model = SelfTrainingClassifier(default_student()).fit(E, y)
        info.update(n_train_labels=int((y >= 0).sum()), n_iter=int(model.n_iter_),
                    termination=str(model.termination_condition_),
                    n_pseudo_labeled=int((model.labeled_iter_ > 0).sum()))
    elif method == "LabelSpreading (knn)":
        model = LabelSpreading(kernel="knn").fit(E, y)
        # rows the spreading never reached keep an all-zero distribution; a test row whose 7 neighbours
        # are all such rows gets NaN probabilities, and scikit-learn's predict (argmax) gives it the first class
        proba = model.predict_proba(E_test)
        info.update(n_train_labels=int((y >= 0).sum()), n_iter=int(model.n_iter_),
                    pool_rows_without_label=float((model.label_distributions_.sum(axis=1) == 0).mean()),
                    test_rows_without_label=float(np.isnan(proba).any(axis=1).mean()))
        return model.classes_[np.argmax(proba, axis=1)], info  # what LabelSpreading.predict computes
    else:
        raise ValueError(method)
    return model.predict(E_test), info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (embedding, if not cached) and BLAS threads (threadpoolctl)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    d = load_ag_news(test_fields=TEST_FIELDS)
    y_train, y_test = np.asarray(d.y_train), np.asarray(d.y_test)
    with Timer() as te:
        E, E_test = embed_frozen(d.X_train), embed_frozen(d.X_test)  # the frozen track's embeddings and cache
    print(f"embeddings {E.shape} / {E_test.shape}: {te.wall:.0f} s wall, {te.cpu:.0f} CPU-s (cached after the first run)", flush=True)
    threads = threads_note(args.threads) + f", threadpoolctl BLAS limit {args.threads}"
    jobs = [(seed, m, sample_labels(y_train, PER_CLASS, seed))
            for seed in args.seeds for m in ("supervised LR", "SelfTrainingClassifier", "LabelSpreading (knn)")]
    jobs.append((None, "fully supervised LR", y_train))
    with threadpool_limits(args.threads):
        for seed, method, y in jobs:
            with warnings.catch_warnings(record=True) as caught, Timer() as t:
                warnings.simplefilter("always")
                pred, info = fit_predict(method, E, y, E_test)
            err = float((pred != y_test).mean())
            entry = {
                "dataset": "ag_news", "track": BASELINE_TRACK, "test_fields": TEST_FIELDS,
                "labels_per_class": "all" if seed is None else PER_CLASS, "method": method, "seed": seed,
                "error": err, "wall_seconds": t.wall, "cpu_seconds": t.cpu, "threads": threads, "command": command(),
                "warnings": sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught}),
                **info,
            }
            record(entry)
            print(f"ag_news baselines seed {seed} {method}: error {100 * err:.2f}%  wall {t.wall:.1f}s cpu {t.cpu:.1f}s"
                  + "".join(f"  {k} {v}" for k, v in info.items()) + "".join(f"\n  {w}" for w in entry["warnings"]), flush=True)


if __name__ == "__main__":
    main()
