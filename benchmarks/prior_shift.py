"""How much of the development suite's gap is the class mix, and can it be estimated without labels?

The development suite draws "k labels per class", so on an imbalanced table the labeled rows are
balanced while the data (and the test split) are not. A model fitted on the labeled rows then
predicts as if the classes were balanced. Under label shift — p(x | y) the same, only the class
mix differing — the Bayes correction is to re-weight its probabilities by ``π_data / π_labeled``
(Saerens, Latinne & Decaestecker 2002). This script measures, per run of the development suite,
the supervised floor (``supervised_tuned``: the same features, labels, seed and model as the bench,
so ``--check`` can show it reproduces the recorded accuracy exactly) re-weighted to the pool's
class mix as given by:

- ``true``: the train split's real class mix — an oracle, the headroom a perfect estimate would give;
- ``em``: EM on the floor's pool probabilities (``resolve_prior("estimate")``, Saerens et al. 2002);
- ``means``: mean matching — the pool's feature mean is the mix of the class means, so the mix is
  the simplex point whose combination of the labeled class means is closest to it, in the pool's
  whitened principal components (Zhang et al. 2013, "Domain adaptation under target and
  conditional shift", with a linear kernel). It needs no classifier, so no calibration;
- ``means_bound``: the same, moved from the labeled mix toward the estimate only as far as the 10%
  quantile of 50 class-stratified bootstrap re-estimates supports (labels resampled within class);
- ``spreading``: the class shares scikit-learn's ``LabelSpreading(kernel="knn")`` (the bench's
  anchor) gives the unlabeled rows.

It prints, per development group, the mean gain over the floor, the worst (dataset, budget) cell
and the number of cells more than 1 point below it (means over seeds, points of accuracy). The
first confirm group runs at seeds 200–204 here, as in the extended tune group.

    python benchmarks/prior_shift.py                       # every group (about 10 minutes, 1 thread)
    python benchmarks/prior_shift.py --groups tune,confirm8 --check results/dev-tune-r5/results.json

Mean matching and its bootstrap are written here rather than taken from a library: none of
scikit-learn, SciPy or POT estimates class mixes; the simplex least squares is SciPy's ``nnls`` with
the sum-to-one row appended.
"""

from __future__ import annotations

import argparse
import warnings
from collections import defaultdict

import numpy as np
from scipy.optimize import nnls
from threadpoolctl import threadpool_limits

from pseudolabel.bench.dev import GROUPS, SEED_START
from pseudolabel.bench.features import load_features
from pseudolabel.bench.runner import load_results
from pseudolabel.data.datasets import sample_labels
from pseudolabel.ops.estimators import TunedLogisticRegression, expand_proba
from pseudolabel.ops.prior import resolve_prior
from pseudolabel.ops.simplex import align_distribution, class_prior

BUDGETS = (4, 10, 25)
SEEDS = 5
SEED_FROM = {**SEED_START, "confirm": 200}
"""Each group's first seed: the bench's, except the first confirm group's re-run at 200–204."""
ESTIMATES = ("true", "em", "means", "means_bound", "spreading")
N_BOOT = 50
BOUND_QUANTILE = 0.1
"""``means_bound`` moves toward the estimate as far as this quantile of the bootstrap supports."""
MAX_COMPONENTS = 100
"""Mean matching uses at most this many principal components of the pool…"""
MIN_VARIANCE_SHARE = 1e-3
"""…each explaining at least this share of its variance (the rest is noise in the class means)."""
POOL_SAMPLE = 20_000
"""Pool rows the pool's mean and components are taken on (at most)."""
SUM_WEIGHT = 1e3
"""Weight of the sum-to-one row in the simplex least squares."""


def simplex_lstsq(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The point ``π`` of the simplex minimising ``‖A π − b‖`` (non-negative least squares with the
    sum-to-one constraint as a heavily weighted extra row)."""
    k = A.shape[1]
    x, _ = nnls(np.vstack([A, SUM_WEIGHT * np.ones((1, k))]), np.concatenate([b, [SUM_WEIGHT]]), maxiter=50 * k)
    return x / x.sum()


def whitener(X_pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and map to the pool's whitened leading principal components."""
    mu = X_pool.mean(axis=0)
    _, s, vt = np.linalg.svd(X_pool - mu, full_matrices=False)
    var = s**2 / len(X_pool)
    keep = np.flatnonzero(var > MIN_VARIANCE_SHARE * var.sum())[:MAX_COMPONENTS]
    return mu, vt[keep].T / np.sqrt(var[keep])


def class_means(Z: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """(components, K) matrix of per-class means (a class without rows gets the zero vector)."""
    onehot = np.eye(k)[y]
    return (Z.T @ onehot) / np.maximum(onehot.sum(axis=0), 1)


def mean_matching(Z_lab: np.ndarray, y_lab: np.ndarray, z_pool: np.ndarray, k: int,
                  rng: np.random.Generator, n_boot: int = N_BOOT) -> tuple[np.ndarray, np.ndarray]:
    """The mix whose class means best reproduce the pool's mean, and ``n_boot`` re-estimates with
    the labeled rows resampled within each class."""
    pi = simplex_lstsq(class_means(Z_lab, y_lab, k), z_pool)
    by_class = [np.flatnonzero(y_lab == c) for c in range(k)]
    boot = np.empty((n_boot, k))
    for b in range(n_boot):
        rows = np.concatenate([rng.choice(r, len(r)) for r in by_class])
        boot[b] = simplex_lstsq(class_means(Z_lab[rows], y_lab[rows], k), z_pool)
    return pi, boot


def bounded_shift(pi: np.ndarray, boot: np.ndarray, base: np.ndarray, quantile: float = BOUND_QUANTILE) -> np.ndarray:
    """``base + λ (π − base)`` with ``λ`` the ``quantile`` of the bootstrap's shift along the same
    direction, as a share of the estimate's (clipped to [0, 1]): no move unless most re-estimates agree."""
    d = pi - base
    norm = np.linalg.norm(d)
    if norm < 1e-12:
        return base.copy()
    lam = float(np.clip(np.quantile((boot - base) @ (d / norm), quantile) / norm, 0.0, 1.0))
    return base + lam * d


def reweighted_accuracy(probs: np.ndarray, y: np.ndarray, pi: np.ndarray, base: np.ndarray) -> float:
    """Accuracy of ``probs`` (fitted under class mix ``base``) re-weighted to mix ``pi``."""
    return float((align_distribution(probs, base, pi).argmax(axis=1) == y).mean())


def _full(model, X: np.ndarray, k: int) -> np.ndarray:
    return expand_proba(model.predict_proba(X), model.classes_, k)


def run(f, budget: int, seed: int) -> dict[str, float]:
    """The floor's test accuracy (``floor``) and with each estimate of the pool's mix, one run on
    the bench features ``f`` (``load_features``)."""
    from sklearn.semi_supervised import LabelSpreading

    k = f.n_classes
    y_fit = sample_labels(f.y_train, budget, seed)
    lab, pool = np.flatnonzero(y_fit >= 0), np.flatnonzero(y_fit < 0)
    X_lab, y_lab = f.X_train[lab], y_fit[lab]
    rng = np.random.default_rng(seed)
    floor = TunedLogisticRegression(random_state=seed).fit(X_lab, y_lab)
    test = _full(floor, f.X_test, k)
    sample = f.X_train[rng.choice(pool, min(len(pool), POOL_SAMPLE), replace=False)]
    base = class_prior(y_lab, k, smoothing=1.0)
    mu, W = whitener(sample)
    pi_means, boot = mean_matching((X_lab - mu) @ W, y_lab, ((sample - mu) @ W).mean(axis=0), k, rng)
    with warnings.catch_warnings():  # rows the kNN graph cannot reach get 0/0 scores; left out below
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = LabelSpreading(kernel="knn").fit(f.X_train, y_fit).label_distributions_[pool]
    spread = spread[np.isfinite(spread).all(axis=1) & (spread.sum(axis=1) > 0)]
    mixes = {
        "true": np.bincount(f.y_train, minlength=k) / len(f.y_train),
        "em": resolve_prior("estimate", k, probs=_full(floor, sample, k), labeled_y=y_lab),
        "means": pi_means,
        "means_bound": bounded_shift(pi_means, boot, base),
        "spreading": spread.mean(axis=0) if len(spread) else base,
    }
    out = {"floor": float((test.argmax(axis=1) == f.y_test).mean())}
    out.update({e: reweighted_accuracy(test, f.y_test, mixes[e], base) for e in ESTIMATES})
    return out


def summarise(rows: list[tuple[str, str, int, dict]]) -> list[str]:
    """Markdown tables: per group (and over all), each estimate's gain over the floor."""
    by_cell: dict[tuple, list[dict]] = defaultdict(list)
    for group, name, budget, acc in rows:
        by_cell[(group, name, budget)].append(acc)
    groups = [g for g, _ in GROUPS if any(c[0] == g for c in by_cell)]
    lines = ["| group | cells | estimate | mean gain over the floor | worst cell | cells < −1 |", "|---|---|---|---|---|---|"]
    for group in [*groups, "all"]:
        cells = {c: v for c, v in by_cell.items() if group in ("all", c[0])}
        for e in ESTIMATES:
            gain = {c: 100 * float(np.mean([a[e] - a["floor"] for a in v])) for c, v in cells.items()}
            worst = min(gain, key=gain.get)
            lines.append(f"| {group} | {len(cells)} | {e} | {np.mean(list(gain.values())):+.2f} | "
                         f"{gain[worst]:+.1f} ({worst[1]} / {worst[2]}) | {sum(g < -1 for g in gain.values())} |")
    return lines


def check(rows: list[tuple[str, str, int, dict]], seeds: list[tuple], paths: list[str]) -> str:
    """How far the floor here is from ``supervised_tuned`` in the given bench results (same runs)."""
    recorded = {(r["dataset"], r["budget"], r["seed"]): r["metrics"]["accuracy"]
                for p in paths for r in load_results(p)["runs"]
                if r.get("method") == "supervised_tuned" and r.get("status") == "ok"}
    diffs = [abs(acc["floor"] - recorded[key]) for (_, _, _, acc), key in zip(rows, seeds, strict=True) if key in recorded]
    return f"floor vs recorded supervised_tuned: {len(diffs)} runs matched, max |difference| {max(diffs, default=0):.2e}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", default=",".join(g for g, _ in GROUPS), help="comma-separated development groups")
    ap.add_argument("--datasets", default=None, help="only these datasets (comma-separated)")
    ap.add_argument("--check", nargs="*", default=[], help="bench results.json files holding supervised_tuned runs")
    args = ap.parse_args(argv)
    wanted = args.groups.split(",")
    unknown = sorted(set(wanted) - {g for g, _ in GROUPS})
    if unknown:
        ap.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(g for g, _ in GROUPS)}")
    only = set(args.datasets.split(",")) if args.datasets else None
    rows, keys = [], []
    with threadpool_limits(limits=1):
        for group, names in GROUPS:
            if group not in wanted:
                continue
            for name in names:
                if only and name not in only:
                    continue
                f = load_features(name)
                for budget in BUDGETS:
                    for seed in range(SEED_FROM[group], SEED_FROM[group] + SEEDS):
                        rows.append((group, name, budget, run(f, budget, seed)))
                        keys.append((name, budget, seed))
                share = np.bincount(f.y_train).max() / len(f.y_train)
                print(f"{group} {name}: done (largest class {100 * share:.0f}% of the train split)", flush=True)
    print("\n".join(["", "Threads: 1 BLAS thread (threadpoolctl).", "", *summarise(rows)]))
    if args.check:
        print("\n" + check(rows, keys, args.check))


if __name__ == "__main__":
    main()
