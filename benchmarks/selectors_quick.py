"""Quick comparison of selectors, refiners and teachers inside SelfTrainer on digits.

    PYTHONPATH=src python benchmarks/selectors_quick.py                 # all three suites
    PYTHONPATH=src python benchmarks/selectors_quick.py --suite openset --seeds 0 1 2

Suites (scikit-learn digits, 1257 train / 540 test rows, ``per_class`` labels per class, the
other train rows unlabeled; every number is a mean over ``--seeds``):

* ``standard`` — every selector (default refiners ``calibrate,sinkhorn``), every new refiner
  (with ``threshold(threshold=0.5)``) and the cluster teacher: test accuracy, pseudo-label
  precision (accepted rows whose label is right) and coverage (accepted / pool), fit seconds.
* ``imbalanced`` — the unlabeled pool is subsampled so class c keeps ``0.7^c`` of its rows
  (largest/smallest ≈ 25); compares balancing refiners (uniform Sinkhorn, partial OT with the
  EM-estimated prior, no balancing).
* ``openset`` — only classes 0–5 are labeled, the pool also holds 6–9: AUROC of the open-set
  outlier score ``q_{K+1}`` (RBF vs linear one-vs-all heads, and ``1 − max p`` as baseline),
  the share of novel / known pool rows marked UNKNOWN, the precision of accepted labels and
  the coverage of known-class rows.

Runs single-threaded (BLAS/OpenMP limited to 1 thread with threadpoolctl); seconds are wall
time on whatever machine runs it.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

import pseudolabel.teachers.cluster  # noqa: F401  (registers "cluster")
from pseudolabel.core.record import UNKNOWN
from pseudolabel.data.datasets import load, sample_labels
from pseudolabel.learn.self_training import SelfTrainer
from pseudolabel.select.openset import OVAHeads, open_set_targets


class BaggedTeacher(BaseEstimator):
    """Ensemble teacher for the ``ensemble`` gate: logistic regressions on bootstrap resamples
    of the seed labels; exposes ``members_proba_`` (M, n, K)."""

    def __init__(self, n_members: int = 8, random_state: int = 0):
        self.n_members = n_members
        self.random_state = random_state

    def transduce(self, X, y, sample_weight=None, *, n_classes=None):
        rng = np.random.default_rng(self.random_state)
        lab = np.flatnonzero(y >= 0)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
        self.n_classes_ = n_classes
        self.models_ = []
        for _ in range(self.n_members):
            rows = rng.choice(lab, size=len(lab), replace=True)
            self.models_.append(LogisticRegression(max_iter=1000).fit(X[rows] / 16.0, y[rows], sample_weight=w[rows]))
        self.members_proba_ = self._members(X)
        return self.members_proba_.mean(axis=0)

    def _members(self, X):
        out = np.zeros((len(self.models_), len(X), self.n_classes_))
        for m, clf in enumerate(self.models_):
            out[m][:, clf.classes_] = clf.predict_proba(X / 16.0)
        return out

    def predict_proba(self, X):
        return self._members(X).mean(axis=0)


STANDARD = [
    ("default (auto)", {}),
    ("select threshold(0.95)", {"select": "threshold(threshold=0.95)"}),
    ("select flexmatch", {"select": "flexmatch"}),
    ("select freematch", {"select": "freematch"}),
    ("select softmatch", {"select": "softmatch"}),
    ("select topk(0.5)", {"select": "topk"}),
    ("select entropy(0.5)", {"select": "entropy"}),
    ("select entropy(0.3)", {"select": "entropy(threshold=0.3)"}),
    ("select margin(0.5)", {"select": "margin"}),
    ("select gmm", {"select": "gmm"}),
    ("select grip", {"select": "grip"}),
    ("select llkd", {"select": "llkd"}),
    ("select openset", {"select": "openset"}),
    ("select openset(0.5)", {"select": "openset(threshold=0.5)"}),
    ("select cwbass", {"select": "cwbass"}),
    ("select cwbass(floor=None)", {"select": "cwbass(floor=None)"}),
    ("select partial_ot", {"select": "partial_ot"}),
    ("select partial_ot(hard)", {"select": "partial_ot(hard=True)"}),
    ("ensemble teacher + threshold(0.5)", {"teacher": "bagged", "refine": "calibrate", "select": "threshold(threshold=0.5)", "teacher_weight": 0.0}),
    ("ensemble teacher + ensemble(mi)", {"teacher": "bagged", "refine": "calibrate", "select": "ensemble(measure='mi', threshold=0.01)", "teacher_weight": 0.0}),
    ("ensemble teacher + ensemble(disagree)", {"teacher": "bagged", "refine": "calibrate", "select": "ensemble(measure='disagreement', threshold=0.0)", "teacher_weight": 0.0}),
    ("refine calibrate | thr0.5", {"refine": "calibrate", "select": "threshold(threshold=0.5)"}),
    ("refine calibrate,temporal | thr0.5", {"refine": "calibrate,temporal", "select": "threshold(threshold=0.5)"}),
    ("refine calibrate,smooth | thr0.5", {"refine": "calibrate,smooth", "select": "threshold(threshold=0.5)"}),
    ("refine calibrate,decay | thr0.5", {"refine": "calibrate,decay", "select": "threshold(threshold=0.5)"}),
    ("refine calibrate,label_correction | thr0.5", {"refine": "calibrate,label_correction", "select": "threshold(threshold=0.5)"}),
    ("refine calibrate,label_correction | gmm", {"refine": "calibrate,label_correction", "select": "gmm"}),
    ("refine calibrate,partial_ot | thr0.5", {"refine": "calibrate,partial_ot", "select": "threshold(threshold=0.5)"}),
    ("refine calibrate,sinkhorn,temporal | thr0", {"refine": "calibrate,sinkhorn,temporal", "select": "threshold(threshold=0.0)"}),
    ("teacher cluster | default", {"teacher": "cluster"}),
    ("teacher cluster(p2ot) | default", {"teacher": "cluster(balance='p2ot', rho=1.0)"}),
    ("teacher cluster | label_correction,gmm", {"teacher": "cluster", "refine": "calibrate,label_correction", "select": "gmm"}),
]

IMBALANCED = [
    ("no balancing (calibrate)", {"refine": "calibrate", "select": "threshold(threshold=0.0)"}),
    ("sinkhorn labeled prior (default)", {}),
    ("align uniform", {"refine": "calibrate,align", "select": "threshold(threshold=0.0)"}),
    ("partial_ot(rho=1, prior=estimate)", {"refine": "calibrate,partial_ot(rho=1.0, prior='estimate')", "select": "threshold(threshold=0.0)"}),
    ("partial_ot(ramp, prior=estimate)", {"refine": "calibrate", "select": "partial_ot(prior='estimate')"}),
    ("partial_ot(ramp, uniform)", {"refine": "calibrate", "select": "partial_ot"}),
    ("exact prior=estimate (partial_ot rho=1, gamma=1e9)", {"refine": "calibrate,partial_ot(rho=1.0, prior='estimate', gamma=1e9)", "select": "threshold(threshold=0.0)"}),
]


def _make(kw: dict, seed: int) -> SelfTrainer:
    kw = dict(kw)
    if kw.get("teacher") == "bagged":
        kw["teacher"] = BaggedTeacher(random_state=seed)
    return SelfTrainer(random_state=seed, **kw)


def _pl_stats(model, y_pool_true):
    pl = model.pseudo_labels_
    acc = pl.accepted
    prec = float((pl.label[acc] == y_pool_true[acc]).mean()) if acc.any() else float("nan")
    return prec, float(acc.mean())


def run_suite(configs, make_data, seeds):
    rows = []
    for name, kw in configs:
        res = []
        for seed in seeds:
            X, y_obs, y_true, X_test, y_test = make_data(seed)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = _make(kw, seed).fit(X, y_obs)
            sec = time.perf_counter() - t0
            prec, cov = _pl_stats(model, y_true[model.pseudo_labels_.index])
            res.append((model.score(X_test, y_test), prec, cov, sec, model.fallback_))
        a = np.array([r[:4] for r in res], dtype=float)
        fb = sum(r[4] for r in res)
        with warnings.catch_warnings():  # PL precision is NaN when a run accepted nothing
            warnings.simplefilter("ignore", RuntimeWarning)
            rows.append((name, *np.nanmean(a, axis=0), a[:, 0].std(), fb))
        print(f"{name:48s} acc {rows[-1][1]:.4f} ±{rows[-1][5]:.4f}  PL prec {rows[-1][2]:.4f}  cov {rows[-1][3]:.3f}  "
              f"{rows[-1][4]:5.2f}s  fallback {fb}/{len(seeds)}", flush=True)
    return rows


def standard_data(per_class):
    ds = load("digits")

    def make(seed):
        y_obs = sample_labels(ds.y_train, per_class, seed)
        return ds.X_train, y_obs, ds.y_train, ds.X_test, ds.y_test

    return make


def imbalanced_data(per_class, ratio=0.7):
    ds = load("digits")

    def make(seed):
        rng = np.random.default_rng(1000 + seed)
        y_obs = sample_labels(ds.y_train, per_class, seed)
        keep = y_obs >= 0
        for c in range(10):
            pool_c = np.flatnonzero((ds.y_train == c) & (y_obs < 0))
            n_keep = int(round(len(pool_c) * ratio**c))
            keep[rng.choice(pool_c, size=n_keep, replace=False)] = True
        idx = np.flatnonzero(keep)
        return ds.X_train[idx], y_obs[idx], ds.y_train[idx], ds.X_test, ds.y_test

    return make


def run_openset(per_class, seeds, known=6):
    ds = load("digits")
    X, y = ds.X_train, ds.y_train
    out = {"auroc_rbf": [], "auroc_linear": [], "auroc_maxp": [], "unk_novel": [], "unk_known": [], "prec_accepted": [], "cov_known": []}
    for seed in seeds:
        y_obs = sample_labels(y, per_class, seed)
        y_obs = np.where(y_obs < known, y_obs, -1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = SelfTrainer(select="openset(threshold=0.5)", random_state=seed).fit(X, y_obs)
        pl = model.pseudo_labels_
        y_pool = y[pl.index]
        novel = y_pool >= known
        lab = np.flatnonzero(y_obs >= 0)
        p = pl.probs.astype(np.float64)
        p /= p.sum(1, keepdims=True)
        for kernel in ("rbf", "linear"):
            r = OVAHeads(kernel=kernel).fit(X[lab], y_obs[lab], known, X[pl.index]).predict_proba(X[pl.index])
            out[f"auroc_{kernel}"].append(roc_auc_score(novel, open_set_targets(p, r)[:, -1]))
        out["auroc_maxp"].append(roc_auc_score(novel, 1 - p.max(1)))
        unk = pl.label == UNKNOWN
        out["unk_novel"].append(unk[novel].mean())
        out["unk_known"].append(unk[~novel].mean())
        acc = pl.accepted & ~novel
        out["prec_accepted"].append((pl.label[pl.accepted] == y_pool[pl.accepted]).mean())
        out["cov_known"].append(acc.sum() / (~novel).sum())
    print(f"open set (classes 0–{known - 1} labeled, {per_class}/class; pool holds all 10; select openset(threshold=0.5)):")
    for k, v in out.items():
        print(f"  {k:14s} {np.mean(v):.4f}  (seeds: {', '.join(f'{x:.3f}' for x in v)})")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", choices=["standard", "imbalanced", "openset", "all"], default="all")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--per-class", type=int, default=4)
    ap.add_argument("--only", default=None, help="run only configs whose name contains this text")
    args = ap.parse_args()
    print(f"digits, {args.per_class} labels/class, seeds {args.seeds}; BLAS/OpenMP threads = 1 (threadpoolctl)")
    pick = (lambda cfgs: [c for c in cfgs if args.only in c[0]]) if args.only else (lambda cfgs: cfgs)
    with threadpool_limits(limits=1):
        if args.suite in ("standard", "all"):
            print("\n== standard ==")
            run_suite(pick(STANDARD), standard_data(args.per_class), args.seeds)
        if args.suite in ("imbalanced", "all"):
            print("\n== imbalanced pool (class c keeps 0.7^c of its unlabeled rows) ==")
            run_suite(pick(IMBALANCED), imbalanced_data(args.per_class), args.seeds)
        if args.suite in ("openset", "all"):
            print("\n== open set ==")
            run_openset(args.per_class, args.seeds)


if __name__ == "__main__":
    main()
