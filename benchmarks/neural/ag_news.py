"""AG News, 10 labels per class: consistency training on MiniLM, two tracks.

* ``--track frozen``: MiniLM sentence embeddings (computed once, cached on disk) + an MLP student
  with vector views (noise, SCARF, feature dropout);
* ``--track finetune``: the MiniLM encoder itself is the student (mean pooling + linear head),
  trained end to end with text views that need no internet (token deletion, random swap, span
  deletion; the encoder's dropout is the noise of the weak view).

Labeled rows and the unlabeled pool come from the 10,001-row train subset (``sample_labels``),
the reported error is on the official 7,600-row test set, which training never sees.

    PYTHONPATH=src python benchmarks/neural/ag_news.py --track frozen --methods supervised flexmatch --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import Timer, command, cpu_seconds, record, threads_note  # noqa: E402

from pseudolabel.data.datasets import load_ag_news, sample_labels  # noqa: E402
from pseudolabel.learn.neural import ConsistencyClassifier  # noqa: E402

METHODS = {
    "supervised": dict(lambda_u=0.0),
    "supervised-all": dict(lambda_u=0.0, validation_fraction=0.0),
    "fully-supervised": dict(lambda_u=0.0, validation_fraction=0.0),  # every row of the 10k subset labeled: a ceiling
    "fixmatch": dict(select="threshold(threshold=0.95)"),
    "flexmatch": dict(select="flexmatch(threshold=0.95)"),
    "freematch": dict(select="freematch"),
    "softmatch": dict(select="softmatch"),
    "softmatch+simmatch": dict(select="softmatch", simmatch_weight=1.0),
    "flexmatch+da": dict(select="flexmatch(threshold=0.95)", refine="align"),
    "freematch+simmatch": dict(select="freematch", simmatch_weight=1.0),
    "flexmatch+simmatch": dict(select="flexmatch(threshold=0.95)", simmatch_weight=1.0),
    "flexmatch+shrinkmatch": dict(select="flexmatch(threshold=0.95)", shrink_weight=1.0),
    "flexmatch multihead": dict(select="flexmatch(threshold=0.95)", teacher="multihead"),
}

TRACKS = {
    "frozen": dict(text="frozen", batch_size=32, mu=7, teacher="ema", hidden_sizes=(256,), max_epochs=30),
    "finetune": dict(text="finetune", batch_size=8, mu=3, teacher="ema", ema_momentum=0.99, max_length=64, unsup_warmup=0.0,
                     steps_per_epoch=25),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--track", choices=sorted(TRACKS), default="frozen")
    ap.add_argument("--per-class", type=int, default=10)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--methods", nargs="+", default=["supervised", "flexmatch"], choices=sorted(METHODS))
    ap.add_argument("--epochs", type=int, default=None, help="override max_epochs")
    ap.add_argument("--steps", type=int, default=None, help="max optimiser steps")
    ap.add_argument("--cpu-budget", type=float, default=None,
                    help="stop after the epoch in which the process's CPU seconds (all threads) exceed this")
    ap.add_argument("--init", choices=["none", "frozen"], default="none",
                    help="finetune track: start from a frozen-track model of the same method (LP-FT)")
    ap.add_argument("--batch-size", type=int, default=None, help="override the track's labeled batch size")
    ap.add_argument("--wise", type=float, nargs="*", default=[],
                    help="also report the WiSE-FT interpolation (1-a)·start + a·fine-tuned for each a (finetune track with --init frozen)")
    ap.add_argument("--teacher", choices=["student", "ema", "start", "multihead"], default=None,
                    help="override the track's teacher (finetune: 'ema'; 'start' = the LP-FT start model, never updated)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--verbose", type=int, default=0)
    ap.add_argument("--test-fields", choices=["title+description", "description"], default="title+description",
                    help="text of the test rows (the train subset has descriptions only); the reported runs use title+description")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    d = load_ag_news(test_fields=args.test_fields)
    y_train = np.asarray(d.y_train)
    for seed in args.seeds:
        y = sample_labels(y_train, args.per_class, seed)
        for method in args.methods:
            y_fit = y_train if method == "fully-supervised" else y
            params = dict(TRACKS[args.track], n_threads=args.threads, random_state=seed, verbose=args.verbose, **METHODS[method])
            if args.epochs is not None:
                params["max_epochs"] = args.epochs
            if args.teacher is not None:
                params["teacher"] = args.teacher
            if args.batch_size is not None:
                params["batch_size"] = args.batch_size
            if args.steps is not None:
                params["max_steps"] = args.steps
                params.setdefault("max_epochs", None)
            if args.track == "finetune":  # budget: --steps (cosine schedule over them), --cpu-budget as a cap
                params["max_epochs"] = args.epochs
                if args.steps is None and args.epochs is None:
                    params["max_steps"] = 800
            with Timer() as t:
                name = method
                if args.track == "finetune" and args.init == "frozen":
                    frozen = ConsistencyClassifier(**dict(TRACKS["frozen"], n_threads=args.threads, random_state=seed,
                                                          **METHODS[method])).fit(d.X_train, y_fit)
                    params.update(init_from=frozen, hidden_sizes=TRACKS["frozen"]["hidden_sizes"])
                    name = f"{method} (LP-FT from frozen)"
                if args.teacher is not None:
                    name = f"{name}, {args.teacher} teacher"
                if args.cpu_budget is not None:
                    start = cpu_seconds()
                    params["callback"] = lambda est, entry, s0=start: cpu_seconds() - s0 >= args.cpu_budget
                clf = ConsistencyClassifier(**params)
                clf.fit(d.X_train, y_fit)
            variants = [(name, clf, t.cpu)]
            for a in args.wise:
                with Timer() as tw:
                    wise = clf.interpolated(a, d.X_train)
                variants.append((f"{name} + WiSE-FT α={a:g}", wise, t.cpu + tw.cpu))
            for vname, model, cpu in variants:
                err = float((model.predict(d.X_test) != d.y_test).mean())
                pl = model.pseudo_labels_
                acc = pl.accepted
                true = y_train[pl.index]
                entry = {
                    "dataset": "ag_news", "track": f"MiniLM {args.track}", "labels_per_class": "all" if method == "fully-supervised" else args.per_class,
                    "test_fields": args.test_fields,
                    "method": vname, "seed": seed, "error": err, "steps": clf.n_steps_, "epochs": clf.n_epochs_,
                    "best_epoch": clf.best_epoch_,
                    "heldout_accuracy": max((h["heldout_accuracy"] for h in clf.history_), default=None),
                    "pl_coverage": float(acc.mean()) if len(acc) else None,
                    "pl_precision": float((pl.label[acc] == true[acc]).mean()) if acc.any() else None,
                    "wall_seconds": t.wall, "cpu_seconds": cpu, "threads": threads_note(args.threads),
                    "command": command(), "history": clf.history_,
                    "params": {k: (v if k not in ("init_from", "callback") else repr(type(v).__name__))
                               for k, v in dict(params, wise_alpha=model.wise_alpha).items() if k != "verbose"},
                }
                record(entry)
                print(f"ag_news {args.track} seed {seed} {vname}: error {100 * err:.2f}%  best epoch {clf.best_epoch_}"
                      f"  wall {t.wall:.0f}s cpu {cpu:.0f}s", flush=True)

if __name__ == "__main__":
    main()
