"""MNIST, 10 or 25 labels per class, small CNN on 2 CPU threads: consistency training vs supervised.

The whole 60k train split is the pool (labels hidden except ``per_class`` per class); the official
10k test split is only used for the reported error. The budget is a fixed number of optimiser
steps chosen to stay near 10 CPU-minutes per SSL run on this machine (CPU time is measured and
reported); the supervised baseline gets the same steps on the labeled rows only.

    PYTHONPATH=src nice -n 10 python benchmarks/neural/mnist.py --per-class 10 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
from common import Timer, command, record, threads_note  # noqa: E402

from pseudolabel.data.datasets import load, sample_labels  # noqa: E402
from pseudolabel.learn.neural import ConsistencyClassifier  # noqa: E402

METHODS = {
    "supervised": dict(lambda_u=0.0),
    "supervised-all": dict(lambda_u=0.0, validation_fraction=0.0),
    "fixmatch": dict(select="threshold(threshold=0.95)"),
    "flexmatch": dict(select="flexmatch(threshold=0.95)"),
    "freematch": dict(select="freematch"),
    "softmatch": dict(select="softmatch", refine=None),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-class", type=int, nargs="+", default=[10, 25])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--methods", nargs="+", default=["flexmatch", "supervised"], choices=sorted(METHODS))
    ap.add_argument("--steps", type=int, default=1600)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--verbose", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    d = load("mnist")
    for lpc in args.per_class:
        for seed in args.seeds:
            y = sample_labels(d.y_train, lpc, seed)
            for method in args.methods:
                params = dict(image_shape=(1, 28, 28), cnn_width=16, batch_size=32, mu=4, teacher="ema",
                              max_steps=args.steps, steps_per_epoch=100, n_threads=args.threads,
                              random_state=seed, verbose=args.verbose, **METHODS[method])
                clf = ConsistencyClassifier(**params)
                with Timer() as t:
                    clf.fit(d.X_train, y)
                err = float((clf.predict(d.X_test) != d.y_test).mean())
                pl = clf.pseudo_labels_
                true = d.y_train[pl.index]
                acc = pl.accepted
                entry = {
                    "dataset": "mnist", "track": "small CNN", "labels_per_class": lpc, "method": method, "seed": seed,
                    "error": err, "steps": clf.n_steps_, "epochs": clf.n_epochs_, "best_epoch": clf.best_epoch_,
                    "heldout_accuracy": max((h["heldout_accuracy"] for h in clf.history_), default=None),
                    "pl_coverage": float(acc.mean()), "pl_precision": float((pl.label[acc] == true[acc]).mean()) if acc.any() else None,
                    "wall_seconds": t.wall, "cpu_seconds": t.cpu, "threads": threads_note(args.threads),
                    "command": command(), "params": {k: v for k, v in params.items() if k != "verbose"},
                    "history": clf.history_,
                }
                record(entry)
                print(f"mnist {lpc}/class seed {seed} {method}: error {100 * err:.2f}%  wall {t.wall:.0f}s cpu {t.cpu:.0f}s", flush=True)


if __name__ == "__main__":
    main()
