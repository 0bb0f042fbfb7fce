"""``pseudolabel bench --suite active``: a simulated oracle — which query strategy saves human labels?

Protocol (fixed before any result was looked at; BENCHMARKS.md, "Human in the loop"):

* **Pool and test rows.** The pool is the train split, capped at ``POOL_CAP`` rows (a fixed seeded
  subset, the same for every strategy and seed); the test split is capped at ``TEST_CAP`` rows the
  same way. Nothing is tuned on the test rows.
* **Start.** ``start_per_class`` labels per class (default 2), a stratified seeded draw from the
  pool — the same rows for every strategy of a seed.
* **Rounds.** The label budget grows geometrically, ``b_i = round(b_0 · GROWTH^i)`` for
  ``ROUNDS`` rounds (b_0 = start_per_class × K): each round the learner is refitted on the labels
  so far (with pseudo-labeling on the rest of the pool), scored on the test rows, and the strategy
  chooses the next ``b_{i+1} − b_i`` pool rows, whose hidden labels are revealed.
* **Learner.** ``SelfTrainer(teacher="self", refine="calibrate", select="freematch")`` with the
  bench's logistic-regression student: one of the three configurations the default ``auto``
  chooses between, run alone because ``auto`` fits all three (3× the CPU) in every one of the
  thousands of refits. ``random_supervised`` is the same student without pseudo-labels, random queries.
* **Anchor.** scikit-activeml's strategies choose rows from the *same* fitted learner each round
  (its ``predict_proba`` wrapped as a scikit-activeml classifier, ``fit_clf=False``), so the only
  difference is the choice of rows.
* **Target.** Fully supervised accuracy = the same student trained on every pool row; "labels
  needed" = the first budget at which the mean curve over seeds reaches 95 % of it, linearly
  interpolated between budgets (``None`` = not reached within the rounds).
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import sys
import tempfile
import time
import traceback
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from pseudolabel.bench import env
from pseudolabel.bench.features import Features, load_features
from pseudolabel.ops.files import write_json

DATASETS = ("digits", "trec", "electricity")
"""An image-like vector set, a text set (MiniLM embeddings) and a tabular set. electricity, not
letter or mushroom: mushroom is a near-separable sanity check (its data README), and letter's 26
classes make the K-scaled budget grid 13× longer than electricity's for the CPU this runs on."""
OURS = ("random_sampling", "entropy_sampling", "margin_sampling", "least_confidence", "density_weighted", "ripu",
        "noise_stability", "coreset", "badge", "typiclust")
ANCHOR = ("skal_entropy", "skal_margin", "skal_least_confident", "skal_coreset", "skal_badge", "skal_typiclust")
BASELINES = ("random_supervised",)
STRATEGIES = OURS + ANCHOR + BASELINES
POOL_CAP = 2000
TEST_CAP = 3000
ROUNDS = 12
GROWTH = 1.3
START_PER_CLASS = 2
TARGET = 0.95
LEARNER = {"teacher": "self", "refine": "calibrate", "select": "freematch"}
SUITE = {"datasets": list(DATASETS), "methods": list(STRATEGIES), "seeds": 5, "labels_per_class": [START_PER_CLASS]}


def budgets(n_classes: int, start_per_class: int = START_PER_CLASS, rounds: int = ROUNDS, growth: float = GROWTH,
            pool: int | None = None) -> list[int]:
    """The label counts at which the learner is fitted: b_0 = start × K, then ×growth per round."""
    b0 = start_per_class * n_classes
    out = [b0]
    for i in range(1, rounds + 1):
        out.append(max(out[-1] + 1, int(round(b0 * growth**i))))
    return [b for b in out if pool is None or b <= pool]


def labels_needed(counts, accuracy, target: float) -> float | None:
    """First label count at which ``accuracy`` reaches ``target`` (linear interpolation between
    points); None if it never does."""
    counts, accuracy = np.asarray(counts, float), np.asarray(accuracy, float)
    for i, a in enumerate(accuracy):
        if a >= target:
            if i == 0:
                return float(counts[0])
            a0, c0 = accuracy[i - 1], counts[i - 1]
            return float(c0 + (target - a0) / (a - a0) * (counts[i] - c0))
    return None


# ---------------------------------------------------------------------------- one curve
def _learner(seed: int, pseudo: bool):
    from pseudolabel.learn.self_training import SelfTrainer
    from pseudolabel.ops.estimators import default_student

    if not pseudo:
        return default_student()
    return SelfTrainer(default_student(), random_state=seed, **LEARNER)


class _Fitted:
    """A fitted learner seen by scikit-activeml as one of its classifiers (``fit_clf=False``)."""

    def __new__(cls, model, n_classes: int):
        from skactiveml.base import SkactivemlClassifier

        class Fitted(SkactivemlClassifier):
            def __init__(self, model=None, classes=None, missing_label=-1):
                super().__init__(classes=classes, missing_label=missing_label)
                self.model = model

            def fit(self, X, y, sample_weight=None):  # pragma: no cover - never refitted here
                return self

            def predict_proba(self, X):
                return _expand(self.model, self.model.predict_proba(X), len(self.classes))

        obj = Fitted(model, np.arange(n_classes))
        obj.classes_ = np.arange(n_classes)
        return obj


def _expand(model, probs: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities over all K classes (a model that saw fewer classes gets zeros for the others)."""
    classes = np.asarray(getattr(model, "classes_", np.arange(probs.shape[1])), dtype=np.int64)
    if probs.shape[1] == n_classes and np.array_equal(classes, np.arange(n_classes)):
        return probs
    out = np.zeros((len(probs), n_classes))
    out[:, classes] = probs
    return out


def _anchor_query(name: str, model, X: np.ndarray, y_pool: np.ndarray, labeled: np.ndarray, n: int, n_classes: int,
                  seed: int) -> np.ndarray:
    from skactiveml.pool import Badge, CoreSet, TypiClust, UncertaintySampling

    y = np.full(len(X), -1)
    y[labeled] = y_pool[labeled]
    clf = _Fitted(model, n_classes)
    kind = name.removeprefix("skal_")
    if kind in ("entropy", "margin", "least_confident"):
        method = {"margin": "margin_sampling"}.get(kind, kind)
        return np.asarray(UncertaintySampling(method=method, missing_label=-1, random_state=seed)
                          .query(X, y, clf, fit_clf=False, batch_size=n))
    if kind == "badge":
        return np.asarray(Badge(missing_label=-1, random_state=seed).query(X, y, clf, fit_clf=False, batch_size=n))
    if kind == "coreset":
        return np.asarray(CoreSet(missing_label=-1, random_state=seed).query(X, y, batch_size=n))
    if kind == "typiclust":
        return np.asarray(TypiClust(missing_label=-1, random_state=seed).query(X, y, batch_size=n))
    raise ValueError(f"unknown anchor strategy {name!r}")


def run_curve(feats: Features, strategy: str, seed: int, *, start_per_class: int = START_PER_CLASS,
              rounds: int = ROUNDS) -> dict:
    """One learning curve: accuracy on the test rows after each round of labels."""
    from pseudolabel.active.loop import choose
    from pseudolabel.core.registry import make
    from pseudolabel.data.datasets import sample_labels

    X, y = feats.X_train, feats.y_train
    K = feats.n_classes
    grid = budgets(K, start_per_class, rounds, pool=len(y))
    labeled = np.flatnonzero(sample_labels(y, start_per_class, seed) >= 0)
    pseudo = strategy != "random_supervised"
    points = []
    t_start = time.perf_counter()
    for i, b in enumerate(grid):
        assert len(labeled) == b, (len(labeled), b)
        y_fit = np.full(len(y), -1)
        y_fit[labeled] = y[labeled]
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = _learner(seed, pseudo)
            model.fit(X if pseudo else X[labeled], y_fit if pseudo else y[labeled])
            acc = float((np.asarray(model.predict(feats.X_test)) == feats.y_test).mean())
        fit_s = time.perf_counter() - t0
        point = {"labels": int(b), "accuracy": acc, "fit_seconds": round(fit_s, 3)}
        if i + 1 < len(grid):
            n_new = grid[i + 1] - b
            cand = np.setdiff1d(np.arange(len(y)), labeled)
            t1 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if strategy in ("random_sampling", "random_supervised"):  # the same draws for both
                    uniform = np.full((len(cand), K), 1.0 / K)
                    new = cand[make("query", "random_sampling").query(uniform, n_new, random_state=seed * 1000 + i).indices]
                elif strategy.startswith("skal_"):
                    new = _anchor_query(strategy, model, X, y, labeled, n_new, K, seed * 1000 + i)
                else:
                    probs = _expand(model, model.predict_proba(X[cand]), K)
                    new, _ = choose(strategy, model, X, cand, labeled, n_new, y_encoded=y[labeled], probs=probs,
                                    random_state=seed * 1000 + i)
            point["query_seconds"] = round(time.perf_counter() - t1, 3)
            new = np.asarray(new, dtype=np.int64)
            if len(np.intersect1d(new, labeled)) or len(np.unique(new)) != n_new:
                raise RuntimeError(f"{strategy} returned labeled or repeated rows")
            labeled = np.sort(np.concatenate([labeled, new]))
        points.append(point)
    return {"dataset": feats.name, "strategy": strategy, "seed": seed, "status": "ok", "points": points,
            "seconds": round(time.perf_counter() - t_start, 2)}


# ---------------------------------------------------------------------------- the suite
def _capped(feats: Features) -> Features:
    """The pool and test rows of the protocol: fixed seeded subsets of at most POOL_CAP / TEST_CAP rows."""
    rng = np.random.default_rng(0)
    tr = np.sort(rng.choice(len(feats.y_train), POOL_CAP, replace=False)) if len(feats.y_train) > POOL_CAP else slice(None)
    te = np.sort(rng.choice(len(feats.y_test), TEST_CAP, replace=False)) if len(feats.y_test) > TEST_CAP else slice(None)
    return Features(feats.name, feats.X_train[tr], feats.y_train[tr], feats.X_test[te], feats.y_test[te], feats.classes,
                    feats.description, dict(feats.meta), feats.binary_mask)


_CACHE: dict[str, Features] = {}


def _child(path: str, strategy: str, seed: int, start_per_class: int, rounds: int, threads: int) -> dict:
    from threadpoolctl import threadpool_limits

    if path not in _CACHE:
        with np.load(path, allow_pickle=False) as z:
            _CACHE[path] = Features(str(z["name"]), z["X_train"], z["y_train"], z["X_test"], z["y_test"],
                                    [str(c) for c in z["classes"]], str(z["description"]))
    try:
        with threadpool_limits(threads):
            return run_curve(_CACHE[path], strategy, seed, start_per_class=start_per_class, rounds=rounds)
    except Exception as exc:  # noqa: BLE001 - one failing strategy must not stop the suite
        return {"dataset": _CACHE[path].name, "strategy": strategy, "seed": seed, "status": "error",
                "error": "".join(traceback.format_exception(exc))[-3000:], "points": []}


def full_supervised(feats: Features) -> float:
    from pseudolabel.ops.estimators import default_student

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = default_student().fit(feats.X_train, feats.y_train)
    return float((model.predict(feats.X_test) == feats.y_test).mean())


def run_active(datasets=None, strategies=None, seeds: int = 5, seed_start: int = 0, start_per_class: int = START_PER_CLASS,
               out_dir: str | Path = "results/active", data_dir=None, console=None, *, threads: int = 1, n_jobs: int = 1,
               rounds: int = ROUNDS, plots: bool = True, command: str | None = None) -> dict:
    """Run the active suite and write ``results.json``, ``results.md`` and learning-curve plots to ``out_dir``."""
    from rich.console import Console

    console = console or Console()
    datasets = list(datasets or DATASETS)
    strategies = list(strategies or STRATEGIES)
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown active strategies {unknown}; choose from: {', '.join(STRATEGIES)}")
    if any(s.startswith("skal_") for s in strategies):
        try:
            import skactiveml  # noqa: F401
        except ImportError as exc:
            raise ImportError("the anchor strategies (skal_*) need scikit-activeml: pip install 'pseudolabel[bench]'") from exc
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed_list = list(range(int(seed_start), int(seed_start) + int(seeds)))
    results = {
        "suite": "active",
        # the CLI passes its equivalent command line (bench.runner builds it); a Python call records itself
        "command": command or (f"run_active(datasets={datasets}, strategies={strategies}, seeds={seeds}, seed_start={seed_start}, "
                               f"start_per_class={start_per_class}, rounds={rounds}, out_dir={str(out_dir)!r})"),
        "argv": list(sys.argv),
        "date": env.now(),
        "machine": env.machine(),
        "versions": {**env.versions(), "scikit-activeml": _version("scikit-activeml")},
        "git": env.git_revision(),
        "protocol": {"pool_cap": POOL_CAP, "test_cap": TEST_CAP, "rounds": rounds, "growth": GROWTH,
                     "start_per_class": start_per_class, "target": TARGET, "learner": LEARNER, "seeds": seed_list,
                     "student": "logistic regression (bench default student)"},
        "datasets": {},
        "curves": [],
    }
    t_start = time.perf_counter()
    ctx = mp.get_context("forkserver" if sys.platform.startswith("linux") else "spawn")
    for name in datasets:
        feats = _capped(load_features(name, data_dir))
        full = full_supervised(feats)
        results["datasets"][name] = {**feats.info(), "full_supervised_accuracy": full,
                                     "budgets": budgets(feats.n_classes, start_per_class, rounds, pool=len(feats.y_train))}
        console.print(f"[bold]{name}[/bold]: pool {len(feats.y_train)}, test {len(feats.y_test)}, {feats.n_classes} classes; "
                      f"fully supervised {full:.1%}, target {TARGET:.0%} of it", highlight=False)
        with tempfile.TemporaryDirectory(prefix="pseudolabel-active-") as tmp:
            path = str(Path(tmp) / "features.npz")
            np.savez(path, X_train=feats.X_train, y_train=feats.y_train, X_test=feats.X_test, y_test=feats.y_test,
                     classes=np.asarray(feats.classes), name=feats.name, description=feats.description)
            jobs = [(s, seed) for seed in seed_list for s in strategies]
            with ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as pool:
                futures = {pool.submit(_child, path, s, seed, start_per_class, rounds, threads): (s, seed) for s, seed in jobs}
                for i, fut in enumerate(as_completed(futures), 1):
                    rec = fut.result()
                    results["curves"].append(rec)
                    last = rec["points"][-1]["accuracy"] if rec["points"] else float("nan")
                    status = "ok" if rec["status"] == "ok" else f"[red]{rec['status']}[/red] {rec.get('error', '').strip().splitlines()[-1:]}"
                    console.print(f"[{i}/{len(jobs)}] {name} seed {rec['seed']} {rec['strategy']:<22} {status} "
                                  f"final acc {last:.1%} ({rec.get('seconds', 0):.0f} s)", highlight=False, soft_wrap=True)
        results["summary"] = summarize(results)
        _write_json(results, out_dir / "results.json")
    results["total_seconds"] = round(time.perf_counter() - t_start, 1)
    results["summary"] = summarize(results)
    _write_json(results, out_dir / "results.json")
    write_markdown(results, out_dir / "results.md")
    if plots:
        results["plots"] = write_plots(results, out_dir)
        _write_json(results, out_dir / "results.json")
    console.print(f"done in {results['total_seconds']:.0f} s → {out_dir / 'results.md'}")
    return results


def _version(pkg: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(pkg)
    except PackageNotFoundError:
        return None


# ---------------------------------------------------------------------------- summary and report
def mean_curve(results: dict, dataset: str, strategy: str) -> tuple[list[int], list[float], list[float], int]:
    """(label counts, mean accuracy, sample std, seeds) over the seeds whose curve completed."""
    curves = [c for c in results["curves"] if c["dataset"] == dataset and c["strategy"] == strategy and c["status"] == "ok"]
    if not curves:
        return [], [], [], 0
    counts = [p["labels"] for p in curves[0]["points"]]
    acc = np.array([[p["accuracy"] for p in c["points"]] for c in curves if len(c["points"]) == len(counts)])
    std = acc.std(axis=0, ddof=1) if len(acc) > 1 else np.zeros(len(counts))
    return counts, acc.mean(axis=0).tolist(), std.tolist(), len(acc)


def summarize(results: dict) -> dict:
    """Per dataset: each strategy's labels needed (mean curve; and per seed), and the bar's verdict."""
    out = {}
    for name, info in results["datasets"].items():
        target = TARGET * info["full_supervised_accuracy"]
        rows = {}
        for s in dict.fromkeys(c["strategy"] for c in results["curves"] if c["dataset"] == name):
            counts, mean, std, n = mean_curve(results, name, s)
            if not n:
                continue
            per_seed = [labels_needed([p["labels"] for p in c["points"]], [p["accuracy"] for p in c["points"]], target)
                        for c in results["curves"] if c["dataset"] == name and c["strategy"] == s and c["status"] == "ok"]
            rows[s] = {"labels_needed": labels_needed(counts, mean, target), "seeds": n, "final_accuracy": mean[-1],
                       "per_seed": per_seed}
        grid = info.get("budgets") or [max(p["labels"] for c in results["curves"] if c["dataset"] == name for p in c["points"])]
        out[name] = {"target_accuracy": target, "strategies": rows, **_verdict(rows, float(max(grid)))}
    return out


def _best(rows: dict, names) -> tuple[str | None, float]:
    cand = [(r["labels_needed"], s) for s, r in rows.items() if s in names and r["labels_needed"] is not None]
    if not cand:
        return None, math.inf
    n, s = min(cand)
    return s, n


def _verdict(rows: dict, max_labels: float | None = None) -> dict:
    """The bar on one dataset. When random sampling never reaches the target within the grid, it
    needs more than ``max_labels``: the saving is then a lower bound, ``1 − best / max_labels``."""
    ours = [s for s in OURS if s != "random_sampling"]
    best, n_best = _best(rows, ours)
    _, n_random = _best(rows, ["random_sampling"])
    anchor, n_anchor = _best(rows, ANCHOR)
    lower_bound = not math.isfinite(n_random) and max_labels is not None
    if not math.isfinite(n_best):
        saving = None
    elif math.isfinite(n_random):
        saving = 1 - n_best / n_random
    else:
        saving = 1 - n_best / max_labels if lower_bound else None
    return {"best": best, "best_labels": n_best if math.isfinite(n_best) else None,
            "random_labels": n_random if math.isfinite(n_random) else None,
            "random_exceeds": max_labels if lower_bound else None, "saving_is_lower_bound": bool(lower_bound),
            "anchor_best": anchor, "anchor_labels": n_anchor if math.isfinite(n_anchor) else None,
            "saving_vs_random": saving,
            "meets_bar": bool(saving is not None and saving >= 0.30 and n_best <= n_anchor)}


def _random_text(v: dict) -> str:
    if v["random_labels"] is not None:
        return f"{v['random_labels']:.0f}"
    return f"more than {v['random_exceeds']:.0f} (not reached)" if v["random_exceeds"] else "not reached"


def _fmt_pct(x) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def _fmt_n(n) -> str:
    return "not reached" if n is None else f"{n:.0f}"


def write_markdown(results: dict, path: Path) -> None:
    s = results.get("summary") or summarize(results)
    lines = [f"# Active suite: labels needed to reach {TARGET:.0%} of fully supervised accuracy", "",
             f"Command: `{results['command']}`  ", f"Date: {results['date']}, git {results.get('git')}, "
             f"{results.get('total_seconds', 0):.0f} s", "",
             f"Protocol: {json.dumps(results['protocol'])}", ""]
    met = sum(v["meets_bar"] for v in s.values())
    lines += [f"Bar (best strategy with pseudo-labeling needs ≥30% fewer labels than random sampling with the same "
              f"learner, and no more than scikit-activeml's best): met on {met} of {len(s)} datasets.", ""]
    lines += _overview(s)
    for name, v in s.items():
        info = results["datasets"][name]
        lines += [f"## {name}", "", f"Pool {info['n_train']} rows, test {info['n_test']}, {info['n_classes']} classes; "
                  f"fully supervised {info['full_supervised_accuracy']:.1%} → target {v['target_accuracy']:.1%}. "
                  f"Best: `{v['best']}` {_fmt_n(v['best_labels'])} labels vs random {_random_text(v)} "
                  f"(saving {'at least ' if v['saving_is_lower_bound'] else ''}{_fmt_pct(v['saving_vs_random'])}); "
                  f"scikit-activeml best `{v['anchor_best']}` {_fmt_n(v['anchor_labels'])}. "
                  f"Bar {'met' if v['meets_bar'] else 'not met'}.", ""]
        counts = info["budgets"]
        lines.append("| strategy | labels needed | " + " | ".join(str(c) for c in counts) + " |")
        lines.append("|---|---:|" + "---:|" * len(counts))
        order = sorted(v["strategies"].items(), key=lambda kv: (kv[1]["labels_needed"] is None, kv[1]["labels_needed"] or 0))
        for strat, r in order:
            _, mean, std, n = mean_curve(results, name, strat)
            cells = " | ".join(f"{m:.1%}" for m in mean)
            lines.append(f"| `{strat}` ({n} seeds) | {_fmt_n(r['labels_needed'])} | {cells} |")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def _overview(s: dict) -> list[str]:
    """Labels needed per strategy (rows) and dataset (columns), with the saving against random."""
    names = list(s)
    strategies = list(dict.fromkeys(k for v in s.values() for k in v["strategies"]))
    order = [x for x in STRATEGIES if x in strategies] + [x for x in strategies if x not in STRATEGIES]
    lines = ["## Labels needed to reach the target (mean curve over seeds; in brackets: change against `random_sampling`)", "",
             "| strategy | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for strat in order:
        cells = []
        for name in names:
            r = s[name]["strategies"].get(strat)
            rnd = s[name]["random_labels"]
            bound = s[name].get("random_exceeds")
            if r is None:
                cells.append("–")
            elif r["labels_needed"] is None:
                cells.append("not reached" if bound is None or strat != "random_sampling" else f"> {bound:.0f}")
            else:
                if strat == "random_sampling" or not (rnd or bound):
                    saving = ""
                elif rnd:
                    saving = f" ({r['labels_needed'] / rnd - 1:+.0%})"
                else:  # random needs more than the grid's last count: the change is below this bound
                    saving = f" (< {r['labels_needed'] / bound - 1:+.0%})"
                cells.append(f"{r['labels_needed']:.0f}{saving}")
        lines.append(f"| `{strat}` | " + " | ".join(cells) + " |")
    lines.append("| **bar met** | " + " | ".join("yes" if s[n]["meets_bar"] else "no" for n in names) + " |")
    return [*lines, ""]


def write_plots(results: dict, out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    for name, info in results["datasets"].items():
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for strat in dict.fromkeys(c["strategy"] for c in results["curves"] if c["dataset"] == name):
            counts, mean, _, n = mean_curve(results, name, strat)
            if n:
                style = "--" if strat.startswith("skal_") else (":" if strat == "random_supervised" else "-")
                ax.plot(counts, mean, style, label=strat, lw=2 if strat == "random_sampling" else 1)
        ax.axhline(TARGET * info["full_supervised_accuracy"], color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("human labels")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"{name}: learning curves (mean over seeds); line = {TARGET:.0%} of fully supervised")
        ax.legend(fontsize=6, ncol=2)
        fig.tight_layout()
        file = f"active_{name}.png"
        fig.savefig(out_dir / file, dpi=110)
        plt.close(fig)
        names.append(file)
    return names


def _write_json(results: dict, path: Path) -> None:
    write_json(results, path)


