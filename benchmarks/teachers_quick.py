"""Quick comparison of the teachers: pseudo-label quality on digits with 4 labels per class.

For each teacher spec and seed: sample 4 labels per class from the digits training split (1,257
rows), call ``teacher.transduce(X, y)`` once (round 0, no self-training) and score the argmax on
the unlabeled pool: accuracy, mean confidence, expected calibration error (15 bins), and the
accuracy of the 50% most confident rows. LLP-BP is binary: it is scored on "digit ≥ 5" with
random bags of 8 and their true positive fractions. ``--text`` adds the zero-shot teacher (and
the others) on TREC-6 and AG News (MiniLM embeddings, cached on disk after the first run);
``--selftrain`` runs the full ``SelfTrainer`` with each teacher.

Run (one BLAS/faiss thread, as every figure in the report):

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/teachers_quick.py
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from pseudolabel.core.registry import make  # noqa: E402
from pseudolabel.data.datasets import load, sample_labels  # noqa: E402

SPECS = [
    "estimator",
    "graph",
    "ensemble",
    "ensemble(n_members=4)",
    "ensemble(resample='none', input_noise=0.3)",
    "prototype",
    "prototype(n_prototypes=3)",
    "prototype(center=False)",
    "erase",
    "erase(self_weight=0.2)",
    "erase(center=True)",
    "erase(n_steps=None)",
    "erase(n_steps=20)",
    "erase(temperature=0.1)",
    "simmatch",
    "simmatch(alpha=0.5)",
    "choice",
    "choice(teachers=['graph', 'prototype'])",
]


SELFTRAIN_SPECS = ["graph", "ensemble(random_state=0)", "prototype", "erase", "simmatch", "choice"]


def ece(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    conf = probs.max(axis=1)
    hit = probs.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    tot = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            tot += m.mean() * abs(hit[m].mean() - conf[m].mean())
    return float(tot)


def score(probs: np.ndarray, y: np.ndarray) -> dict:
    conf = probs.max(axis=1)
    top = conf >= np.median(conf)
    return {
        "acc": float((probs.argmax(axis=1) == y).mean()),
        "conf": float(conf.mean()),
        "ece": ece(probs, y),
        "acc_top50": float((probs[top].argmax(axis=1) == y[top]).mean()),
    }


def run_digits(specs, seeds, per_class):
    d = load("digits")
    X, ytrue = d.X_train.astype(np.float64), d.y_train
    rows = []
    for spec in specs:
        res = []
        for seed in seeds:
            y = sample_labels(ytrue, per_class, seed)
            teacher = make("teacher", spec)
            if hasattr(teacher, "random_state"):
                teacher.set_params(random_state=seed)
            t0 = time.perf_counter()
            P = teacher.transduce(X, y, None, n_classes=10)
            dt = time.perf_counter() - t0
            pool = y < 0
            res.append({**score(P[pool], ytrue[pool]), "sec": dt})
        rows.append((spec, res))
    return rows


def run_band(seeds, per_class):
    """The PS-TTL band refiner on the logistic-regression teacher's probabilities."""
    from pseudolabel.refine.prototype_band import PrototypeBand

    d = load("digits")
    X, ytrue = d.X_train.astype(np.float64), d.y_train
    rows = []
    for name, ref in [
        ("estimator (no refiner)", None),
        ("estimator + prototype_band", PrototypeBand()),
        ("estimator + prototype_band(center=True)", PrototypeBand(center=True)),
        ("estimator + prototype_band(tau_lo=0.0)", PrototypeBand(tau_lo=0.0)),
    ]:
        res = []
        for seed in seeds:
            y = sample_labels(ytrue, per_class, seed)
            pool = y < 0
            t0 = time.perf_counter()
            P = make("teacher", "estimator").transduce(X, y, None, n_classes=10)[pool]
            if ref is not None:
                ctx = {"features": X[pool], "labeled_features": X[~pool], "labeled_y": y[~pool]}
                ref.update(P, full_pool=True, **ctx)
                P = ref(P, **ctx)
            res.append({**score(P, ytrue[pool]), "sec": time.perf_counter() - t0})
        rows.append((name, res))
    return rows


def run_selftrain(specs, seeds, per_class):
    """Full SelfTrainer (library defaults otherwise) with each teacher: test-split accuracy."""
    from pseudolabel import SelfTrainer

    d = load("digits")
    X, ytrue = d.X_train.astype(np.float64), d.y_train
    rows = []
    for spec in specs:
        res = []
        for seed in seeds:
            y = sample_labels(ytrue, per_class, seed)
            t0 = time.perf_counter()
            st = SelfTrainer(teacher=spec, random_state=seed).fit(X, y)
            pl = st.pseudo_labels_
            acc_pl = pl.accepted & (pl.label == ytrue[pl.index])
            res.append({
                "acc": float((st.predict(d.X_test) == d.y_test).mean()),
                "coverage": float(pl.accepted.mean()),
                "precision": float(acc_pl.sum() / pl.accepted.sum()) if pl.accepted.any() else np.nan,
                "fallback": float(st.fallback_),
                "sec": time.perf_counter() - t0,
            })  # fmt: skip
        rows.append((spec, res))
    return rows


def run_llp(seeds, bag_size=8):
    from pseudolabel.teachers.llp import LLPTeacher

    d = load("digits")
    X, ytrue = d.X_train.astype(np.float64), (d.y_train >= 5).astype(np.int64)
    rows = []
    for spec, kw in [
        ("llp (cardinality)", {}),
        ("llp(bag_factor='pairwise')", {"bag_factor": "pairwise"}),
        ("llp(length_scale=1.0)", {"length_scale": 1.0}),
        ("llp(lambda_smooth=0)", {"lambda_smooth": 0.0}),
    ]:
        res = []
        for seed in seeds:
            rng = np.random.default_rng(seed)
            n = len(X) - len(X) % bag_size
            perm = rng.permutation(len(X))[:n]
            bags = np.full(len(X), -1)
            bags[perm] = np.arange(n) // bag_size
            frac = np.zeros(len(X))
            inside = bags >= 0
            frac[inside] = (np.bincount(bags[inside], weights=ytrue[inside]) / bag_size)[bags[inside]]
            t0 = time.perf_counter()
            P = LLPTeacher(**kw).transduce(X, bags=bags, proportions=frac)
            dt = time.perf_counter() - t0
            res.append({**score(P[inside], ytrue[inside]), "sec": dt})
        rows.append((spec, res))
    return rows


TEXT_NAMES = {
    # descriptive class names for the zero-shot teacher (the raw labels are codes)
    "ABBR": "abbreviation or acronym",
    "DESC": "description or definition",
    "ENTY": "entity or thing",
    "HUM": "person or human",
    "LOC": "location or place",
    "NUM": "number, date or quantity",
    "Sci/Tech": "science and technology",
}


def run_text(specs, seeds, per_class):
    from pseudolabel.data.embed import embed_texts

    rows = []
    for name, split in (("trec", "train"), ("ag_news", "test")):
        d = load(name)
        texts, y_true = (d.X_train, d.y_train) if split == "train" else (d.X_test, d.y_test)
        E = embed_texts(texts)
        classes = [TEXT_NAMES.get(c, c) for c in d.classes]
        for T in (0.01, 0.05, 0.1):
            teacher = make("teacher", f"zeroshot(temperature={T})").set_params(class_names=classes)
            t0 = time.perf_counter()
            P = teacher.transduce(E, np.full(len(E), -1), n_classes=len(classes))
            rows.append((f"zeroshot(temperature={T}) {name}", [{**score(P, y_true), "sec": time.perf_counter() - t0}]))
        for spec in specs:
            res = []
            for seed in seeds:
                y = sample_labels(y_true, per_class, seed)
                teacher = make("teacher", spec)
                if hasattr(teacher, "random_state"):
                    teacher.set_params(random_state=seed)
                t0 = time.perf_counter()
                P = teacher.transduce(E, y, None, n_classes=len(classes))
                pool = y < 0
                res.append({**score(P[pool], y_true[pool]), "sec": time.perf_counter() - t0})
            rows.append((f"{spec} {name}", res))
    return rows


PL_COLS = [("acc", "acc"), ("conf", "conf"), ("ece", "ECE"), ("acc_top50", "acc@top50"), ("sec", "sec")]
ST_COLS = [("acc", "test acc"), ("coverage", "coverage"), ("precision", "PL prec"), ("fallback", "fallback"), ("sec", "sec")]


def report(rows, cols=PL_COLS):
    """Mean over seeds (± std for the first column)."""
    head = "".join(f" {h:>10s}" for _, h in cols[1:])
    print(f"{'teacher':50s} {cols[0][1]:>15s}{head}")
    for spec, res in rows:
        first = np.array([r[cols[0][0]] for r in res])
        rest = "".join(f" {np.nanmean([r[k] for r in res]):10.3f}" for k, _ in cols[1:])
        print(f"{spec:50s} {first.mean():7.3f} ± {first.std():.3f}{rest}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--per-class", type=int, default=4)
    ap.add_argument("--specs", nargs="+", default=None, help="teacher specs (default: the built-in list)")
    ap.add_argument("--text", action="store_true", help="also run the teachers on TREC-6 and AG News embeddings")
    ap.add_argument("--selftrain", action="store_true", help="also run SelfTrainer with each teacher (slower)")
    args = ap.parse_args()
    try:
        import faiss

        faiss.omp_set_num_threads(1)
    except ImportError:
        pass
    with threadpool_limits(1):
        print(f"digits, {args.per_class} labels/class, seeds {args.seeds}; scores on the unlabeled pool (1 thread)")
        report(run_digits(args.specs or SPECS, args.seeds, args.per_class))
        print("\nPS-TTL band refiner on the estimator teacher (digits, same pools)")
        report(run_band(args.seeds, args.per_class))
        print("\nLLP-BP on digits (digit >= 5), random bags of 8 with true proportions; scores on all bagged rows")
        report(run_llp(args.seeds))
        if args.selftrain:
            print("\nSelfTrainer(teacher=...) with library defaults otherwise, digits: accuracy on the test split,")
            print("coverage and precision of the final pseudo-labels, share of runs that fell back to supervised")
            report(run_selftrain(args.specs or SELFTRAIN_SPECS, args.seeds, args.per_class), ST_COLS)
        if args.text:
            print("\nText (MiniLM embeddings): TREC-6 train split (5,452) and AG News test split (7,600);")
            print(f"zero-shot scored on all rows, the others with {args.per_class} labels/class on the pool")
            report(run_text(args.specs or SPECS, args.seeds, args.per_class))


if __name__ == "__main__":
    main()
