"""Which candidates should ``SelfTrainer(teacher="auto")`` choose from? Two vs three, same folds.

    PYTHONPATH=src OPENBLAS_NUM_THREADS=1 python benchmarks/auto_candidates.py --datasets trec,digits,ag_news

Runs the bench protocol (stratified seeded labels from the train split, the test split only for
scoring, logistic-regression student, one BLAS thread) for each candidate set and prints one JSON
line per run (accuracy, the chosen candidate, whether the guard fell back, seconds) and a summary.

This is the measurement behind adding the prototype candidate, so its graph candidate keeps every
pseudo-label (the default's selector at the time); the shipped default's graph candidate uses the
GMM loss gate, chosen afterwards from the matrix suite (``pseudolabel.learn.defaults.AUTO_CANDIDATES``).
"""

from __future__ import annotations

import argparse
import collections
import json
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from pseudolabel import SelfTrainer
from pseudolabel.bench.features import load_features
from pseudolabel.bench.methods import logistic_student
from pseudolabel.data.datasets import sample_labels

TWO = [
    {"teacher": "graph", "refine": "calibrate,sinkhorn", "select": "threshold(threshold=0.0)"},
    {"teacher": "self", "refine": "calibrate", "select": "freematch"},
]
VARIANTS = {
    "graph+self": TWO,
    "graph+self+prototype(freematch)": [*TWO, {"teacher": "prototype", "refine": "calibrate,sinkhorn", "select": "freematch"}],
    "graph+self+prototype(softmatch)": [*TWO, {"teacher": "prototype", "refine": "calibrate,sinkhorn", "select": "softmatch"}],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="trec,digits,ag_news,mnist1d")
    ap.add_argument("--labels-per-class", default="4,10")
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    for ds in args.datasets.split(","):
        feats = load_features(ds)
        for b in (int(v) for v in args.labels_per_class.split(",")):
            for seed in range(args.seeds):
                y = sample_labels(feats.y_train, b, seed)
                for name, cands in VARIANTS.items():
                    t0 = time.perf_counter()
                    with threadpool_limits(1):
                        model = SelfTrainer(logistic_student(), candidates=cands, random_state=seed).fit(feats.X_train, y)
                        acc = float((model.predict(feats.X_test) == feats.y_test).mean())
                    rows.append({"dataset": ds, "labels_per_class": b, "seed": seed, "candidates": name, "accuracy": acc,
                                 "chosen": model.config_["teacher"], "fallback": bool(model.fallback_),
                                 "seconds": round(time.perf_counter() - t0, 2)})
                    print(json.dumps(rows[-1]), flush=True)
    groups = collections.defaultdict(list)
    for r in rows:
        groups[(r["dataset"], r["labels_per_class"], r["candidates"])].append(r)
    print("\n| dataset | labels/class | candidates | accuracy % | chosen | fallbacks |\n| --- | --- | --- | --- | --- | --- |")
    for (ds, b, name), rs in groups.items():
        chosen = collections.Counter(r["chosen"] for r in rs)
        print(f"| {ds} | {b} | {name} | {100 * np.mean([r['accuracy'] for r in rs]):.1f} | "
              f"{', '.join(f'{k} {v}' for k, v in chosen.items())} | {sum(r['fallback'] for r in rs)}/{len(rs)} |")


if __name__ == "__main__":
    main()
