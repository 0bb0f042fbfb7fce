"""``run_bench``: every method side by side on real data, with an honest protocol.

Protocol. For each dataset, labels-per-class budget and seed, ``sample_labels`` draws a stratified,
seeded labeled subset of the *train* split; the rest of the train split is the unlabeled pool.
Every method sees the same labeled rows and the same pool, and the same student classifier.
Scores are on the official test split (a fixed held-out split where there is none); nothing is
tuned or selected on it. The fully supervised ceiling is trained once per dataset on every train
label. Each run executes in its own worker process (forked from this one, which holds the
features), with one BLAS/OpenMP thread by default, so the wall time and the peak memory of a run
are its own; runs execute one at a time unless ``n_jobs`` > 1.

Outputs in ``out_dir``: ``results.json`` (every run plus machine, versions, threads, date and
command; rewritten after each dataset so a long run keeps partial results), ``results.md``
(mean ± std tables) and PNG plots.
"""

from __future__ import annotations

import ctypes
import gc
import json
import math
import multiprocessing as mp
import sys
import tempfile
import time
import traceback
from multiprocessing.connection import wait as wait_connections
from pathlib import Path

import numpy as np

from pseudolabel.bench import env
from pseudolabel.bench.dev import GROUPS, SEED_START
from pseudolabel.bench.features import Features, load_features
from pseudolabel.bench.job import FULL, run_job
from pseudolabel.bench.methods import METHODS, get_methods, missing
from pseudolabel.bench.metrics import summarize
from pseudolabel.data.datasets import ALL_DATASETS, DEV_CONFIRM, DEV_TUNE
from pseudolabel.ops.files import write_json

QUICK_METHODS = [
    "supervised",
    "fully_supervised",
    "sklearn_self_training",
    "sklearn_self_training_kbest",
    "sklearn_label_spreading",
    "pseudolabel",
    "pseudolabel_self",
    "pseudolabel_flexmatch",
    "pseudolabel_freematch",
    "pseudolabel_softmatch",
    "pseudolabel_topk",
    "pseudolabel_graph_flexmatch",
    "pseudolabel_graph_softmatch",
]

DEV_METHODS = [
    "supervised_tuned",
    "fully_supervised",
    "sklearn_self_training",
    "sklearn_label_spreading",
    "pseudolabel",
]
"""The development suite compares the default with the strong supervised floor and the two
scikit-learn anchors (the issue's bar: beat the best of the three per cell)."""

MATRIX_METHODS = [name for name, m in METHODS.items() if m.family == "matrix"]

SUITES: dict[str, dict] = {
    # seconds; runs inside the test suite so the harness cannot rot
    "smoke": {"datasets": ["digits"], "methods": ["supervised", "pseudolabel"], "seeds": 1, "labels_per_class": [4]},
    # < 15 minutes on 2 cores: two small vector sets and the smallest text set
    "quick": {"datasets": ["digits", "mnist1d", "trec"], "methods": QUICK_METHODS, "seeds": 3, "labels_per_class": [4, 10]},
    # every dataset, every available method; hours (run it niced, in the background)
    "standard": {"datasets": list(ALL_DATASETS), "methods": None, "seeds": 5, "labels_per_class": [1, 4, 10, 25]},
    # the development suite (docs: BENCHMARKS.md, "Development suite"): defaults are tuned on the tune
    # group with seeds 0-4 and reported, frozen, on the confirm group with fresh seeds 100-104
    "dev": {"datasets": [*DEV_TUNE, *DEV_CONFIRM], "methods": DEV_METHODS, "seeds": 5, "labels_per_class": [4, 10, 25],
            "seed_start": {**dict.fromkeys(DEV_TUNE, SEED_START["tune"]), **dict.fromkeys(DEV_CONFIRM, SEED_START["confirm"])}},
    # one suite per group (pseudolabel.bench.dev: GROUPS, SEED_START)
    **{f"dev-{group}": {"datasets": list(names), "methods": DEV_METHODS, "seeds": 5, "labels_per_class": [4, 10, 25],
                        "seed_start": dict.fromkeys(names, SEED_START[group])} for group, names in GROUPS},
    # query strategies against a simulated oracle: learning curves, labels to 95% of fully supervised
    # (pseudolabel.bench.active; --methods are query strategies, --labels-per-class the start)
    "active": {"runner": "active", "datasets": ["digits", "trec", "electricity"], "methods": None, "seeds": 5,
               "labels_per_class": [2]},
    # every teacher × selector combination (about an hour with --n-jobs 2)
    "matrix": {
        "datasets": ["digits", "mnist1d", "ag_news", "trec"],
        "methods": ["supervised", "sklearn_self_training", "sklearn_label_spreading", *MATRIX_METHODS],
        "seeds": 5,
        "labels_per_class": [10],
    },
}


def _seeds(cfg: dict, dataset: str, n_seeds: int, seed_start: int | None) -> list[int]:
    """The seeds of ``dataset``: ``seed_start`` if given, else the suite's start for it (the dev
    suite gives the tune and confirm groups different seeds), then ``n_seeds`` consecutive ones."""
    start = seed_start if seed_start is not None else cfg.get("seed_start", {}).get(dataset, 0)
    return list(range(int(start), int(start) + n_seeds))


def run_bench(
    suite: str = "quick",
    datasets: list[str] | None = None,
    methods: list[str] | None = None,
    seeds: int | None = None,
    labels_per_class: list[int] | None = None,
    out_dir: str | Path = "results/bench",
    seed_start: int | None = None,
    data_dir: str | Path | None = None,
    console=None,
    *,
    threads: int = 1,
    n_jobs: int = 1,
    timeout: float | None = None,
    isolate: bool = True,
    plots: bool = True,
    cache: str | Path | None = None,
    command: str | None = None,
    update: bool = False,
    sizes: list[int] | None = None,
) -> dict:
    """Run a benchmark suite and write ``results.json``, ``results.md`` and plots into ``out_dir``.

    ``suite`` sets the defaults ("smoke", "quick", "standard"); ``datasets``, ``methods``,
    ``seeds`` (how many: seeds 0..n-1) and ``labels_per_class`` override them. ``threads`` is the
    BLAS/OpenMP/torch thread count of each run, ``n_jobs`` how many runs execute at once,
    ``timeout`` the seconds after which a run is killed (recorded as "timeout"). ``isolate=False``
    runs everything in this process (no per-run peak memory). ``cache`` is the feature cache
    folder (default ``$PSEUDOLABEL_CACHE`` or ``~/.cache/pseudolabel``). ``command`` is the
    command line recorded in the outputs (default: the equivalent ``pseudolabel bench`` call).
    ``update=True`` merges into the ``results.json`` already in ``out_dir``: runs of the same
    (dataset, budget, method, seed) are replaced, all others kept, and the update (command, date,
    code revision, runs replaced) is recorded beside the original command; every run keeps the
    revision that produced it. Returns the results dict that ``results.json`` holds.
    """
    from rich.console import Console

    console = console or Console()
    if suite == "speed":
        from pseudolabel.bench.speed import run_speed

        return run_speed(out_dir, repeats=int(seeds or 3), console=console, command=command)
    if suite == "scale":
        from pseudolabel.bench.scale import run_scale

        return run_scale(out_dir, datasets=datasets, methods=methods, sizes=sizes, threads=threads, timeout=timeout,
                         data_dir=data_dir, update=update, plots=plots, command=command, console=console)
    if sizes is not None:
        raise ValueError("--sizes is an option of --suite scale only")
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose one of: {', '.join(SUITES)}")
    cfg = SUITES[suite]
    if cfg.get("runner") == "active":
        from pseudolabel.bench.active import run_active

        if command is None:
            command = _command(suite, datasets, methods, seeds, labels_per_class, out_dir, data_dir, threads, n_jobs,
                               timeout, update, seed_start)
        return run_active(datasets=datasets, strategies=methods, seeds=seeds if seeds is not None else cfg["seeds"],
                          seed_start=seed_start or 0,
                          start_per_class=(labels_per_class or cfg["labels_per_class"])[0], out_dir=out_dir,
                          data_dir=data_dir, console=console, threads=threads, n_jobs=n_jobs, plots=plots, command=command)
    explicit_datasets = datasets is not None
    datasets = list(dict.fromkeys(datasets if datasets is not None else cfg["datasets"]))
    bad = [d for d in datasets if d not in ALL_DATASETS]
    if bad:
        raise ValueError(f"unknown dataset(s) {', '.join(map(repr, bad))}; known: {', '.join(ALL_DATASETS)}")
    chosen = get_methods(methods if methods is not None else cfg["methods"])
    n_seeds = int(seeds if seeds is not None else cfg["seeds"])
    budgets = sorted({int(b) for b in (labels_per_class if labels_per_class is not None else cfg["labels_per_class"])})
    if n_seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {n_seeds}")
    if not budgets or min(budgets) < 1:
        raise ValueError(f"labels_per_class must be positive integers, got {labels_per_class}")
    if threads < 1 or n_jobs < 1:
        raise ValueError(f"threads and n_jobs must be >= 1, got threads={threads}, n_jobs={n_jobs}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = None
    if update:
        if not (out_dir / "results.json").exists():
            raise ValueError(f"--update needs an earlier {out_dir / 'results.json'} to merge into; run without --update first")
        previous = load_results(out_dir / "results.json")

    skipped: list[dict] = []
    runnable = []
    for m in chosen:
        why = missing(m)
        if why:
            skipped.append({"method": m.name, "reason": "; ".join(why)})
            console.print(f"[yellow]skipping method {m.name}: {'; '.join(why)}[/yellow]", soft_wrap=True)
        else:
            runnable.append(m)
    if command is None:
        command = _command(suite, datasets if explicit_datasets else None, methods, seeds, labels_per_class, out_dir, data_dir,
                           threads, n_jobs, timeout, update, seed_start)
    results = {
        "suite": suite,
        "command": command,
        "argv": list(sys.argv),
        "date": env.now(),
        "machine": env.machine(),
        "versions": env.versions(),
        "git": env.git_revision(),
        "threads": {"per_run": threads, "n_jobs": n_jobs, "environment": env.thread_env(),
                    "embedding": "all cores (one-off, cached)"},
        "protocol": {
            "seeds": {name: _seeds(cfg, name, n_seeds, seed_start) for name in datasets},
            "labels_per_class": budgets,
            "student": "logistic regression (C=1, lbfgs, max_iter=1000) on standardised numeric columns, 0/1 columns "
                       "unscaled; the pseudolabel_* SelfTrainer configurations get estimator=None, as a user's "
                       "SelfTrainer() does (that student with C tuned on the labeled rows)",
            "timed": "fit + predict_proba on the test split, per run",
            "memory": "peak RSS of the run's worker process during fit + predict (VmHWM reset before fit); "
                      "fit_mb = peak minus RSS just before fit",
            "std": "sample standard deviation over seeds (ddof=1)",
        },
        "methods": {m.name: {"family": m.family, "description": m.description, "config": m.config} for m in runnable},
        "datasets": {},
        "runs": [],
        "skipped": skipped,
    }
    console.print(
        f"[bold]pseudolabel bench[/bold] suite={suite}: {len(datasets)} dataset(s) × budgets {budgets} × "
        f"{n_seeds} seed(s) × {len(runnable)} method(s); {threads} thread(s) per run, {n_jobs} run(s) at a time"
    )
    t_start = time.perf_counter()
    for name in datasets:
        t0 = time.perf_counter()
        try:
            feats = load_features(name, data_dir, cache=cache)
        except (FileNotFoundError, ImportError) as exc:
            if explicit_datasets:
                raise
            skipped.append({"dataset": name, "reason": str(exc)})
            console.print(f"[yellow]skipping dataset {name}: {exc}[/yellow]", soft_wrap=True)
            continue
        info = feats.info()
        info["load_seconds"] = round(time.perf_counter() - t0, 2)
        ok_budgets = [b for b in budgets if b < info["min_class_count"]]
        for b in sorted(set(budgets) - set(ok_budgets)):
            skipped.append({"dataset": name, "budget": b, "reason": f"smallest class has {info['min_class_count']} train rows"})
        info["labels_per_class"] = ok_budgets
        results["datasets"][name] = info
        console.print(f"[bold]{name}[/bold]: {info['n_train']} train / {info['n_test']} test rows, {info['n_classes']} classes, {feats.description} ({info['load_seconds']} s)", soft_wrap=True)
        jobs = []
        for m in runnable:
            if m.kind == "full":
                jobs.append({"dataset": name, "budget": FULL, "method": m.name, "seed": 0})
                continue
            for b in ok_budgets:
                for s in _seeds(cfg, name, n_seeds, seed_start):
                    jobs.append({"dataset": name, "budget": b, "method": m.name, "seed": s})
        jobs.sort(key=lambda j: (j["budget"] == FULL, j["budget"] if j["budget"] != FULL else 0, j["seed"]))
        for rec in _execute(jobs, feats, threads, n_jobs, timeout, isolate, console):
            results["runs"].append({**rec, "git": results["git"]})
        del feats
        gc.collect()
        _write_json(_merge(previous, results) if previous else results, out_dir / "results.json")
    results["total_seconds"] = elapsed = round(time.perf_counter() - t_start, 1)
    if previous:
        results = _merge(previous, results)
    results["summary"] = summarize(results["runs"])
    _write_json(results, out_dir / "results.json")

    from pseudolabel.bench.report import write_markdown, write_plots

    write_markdown(results, out_dir / "results.md")
    if plots and results["runs"]:
        results["plots"] = [str(p.name) for p in write_plots(results, out_dir)]
        _write_json(results, out_dir / "results.json")
    console.print(f"done in {elapsed:.0f} s → {out_dir / 'results.md'}")
    return results


def _merge(old: dict, new: dict) -> dict:
    """``old`` with ``new``'s runs replacing those of the same (dataset, budget, method, seed)."""
    key = lambda r: (r["dataset"], r["budget"], r["method"], r["seed"])  # noqa: E731
    fresh = {key(r) for r in new["runs"]}
    kept = [r for r in old["runs"] if key(r) not in fresh]
    merged = {**old, "runs": kept + new["runs"]}
    merged["methods"] = {**old.get("methods", {}), **new["methods"]}
    merged["datasets"] = {**old.get("datasets", {}), **new["datasets"]}
    merged["skipped"] = [s for s in old.get("skipped", []) if s not in new["skipped"]
                         and s.get("method") not in new["methods"]] + new["skipped"]
    update = {k: new.get(k) for k in ("command", "date", "git", "total_seconds", "threads")}
    update["runs_replaced"] = len(old["runs"]) - len(kept)
    update["runs_added"] = len(new["runs"])
    merged["updates"] = [*old.get("updates", []), update]
    merged.pop("summary", None)
    return merged


# ---------------------------------------------------------------------------- execution
def _execute(jobs: list[dict], feats: Features, threads: int, n_jobs: int, timeout, isolate: bool, console) -> list[dict]:
    if not isolate:
        out = []
        for i, job in enumerate(jobs, 1):
            try:
                rec = run_job(job, feats, threads=threads)
            except Exception as exc:  # a failing method must not stop the benchmark
                rec = {**job, "status": "error", "error": _format_exc(exc), "metrics": {}}
            out.append(rec)
            _progress(console, i, len(jobs), rec)
        return out

    method = _start_method()
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["pseudolabel.bench.job"])  # imported once, not once per run
    tmp = None
    source: Features | str = feats
    if method != "fork":  # children do not share memory with this process: hand them the features through a file
        tmp = tempfile.TemporaryDirectory(prefix="pseudolabel-bench-")
        path = Path(tmp.name) / "features.npz"
        np.savez(path, X_train=feats.X_train, y_train=feats.y_train, X_test=feats.X_test, y_test=feats.y_test,
                 classes=np.asarray(feats.classes), name=feats.name, description=feats.description)
        source = str(path)
    _release_memory()
    out: list[dict | None] = [None] * len(jobs)
    running: dict = {}  # connection -> (index, process, started)
    queue = list(enumerate(jobs))
    done = 0
    try:
        while queue or running:
            while queue and len(running) < n_jobs:
                i, job = queue.pop(0)
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(send, job, source, threads), daemon=True)
                proc.start()
                send.close()
                running[recv] = (i, proc, time.perf_counter())
            wait_for = None
            if timeout is not None:
                wait_for = max(0.0, min(st + timeout for _, _, st in running.values()) - time.perf_counter())
            ready = wait_connections(list(running), timeout=wait_for)
            for conn in ready:
                i, proc, _ = running.pop(conn)
                try:
                    rec = conn.recv()
                except EOFError:
                    proc.join()
                    rec = {**jobs[i], "status": "crashed", "error": f"worker exited with code {proc.exitcode} (killed? out of memory?)", "metrics": {}}
                conn.close()
                proc.join()
                out[i] = rec
                done += 1
                _progress(console, done, len(jobs), rec)
            if timeout is not None:
                now = time.perf_counter()
                for conn, (i, proc, st) in list(running.items()):
                    if now - st > timeout:
                        proc.kill()
                        proc.join()
                        conn.close()
                        running.pop(conn)
                        out[i] = {**jobs[i], "status": "timeout", "error": f"killed after {timeout:.0f} s", "metrics": {}}
                        done += 1
                        _progress(console, done, len(jobs), out[i])
    finally:
        for conn, (_, proc, _) in running.items():
            proc.kill()
            conn.close()
        if tmp is not None:
            tmp.cleanup()
    return [r for r in out if r is not None]


def _child(conn, job: dict, source, threads: int) -> None:
    """Worker body: one run, its record sent back through ``conn`` (errors included)."""
    try:
        feats = source if isinstance(source, Features) else _load_npz(source)
        rec = run_job(job, feats, threads=threads)
    except BaseException as exc:  # noqa: BLE001 - report everything, the parent decides
        rec = {**job, "status": "error", "error": _format_exc(exc), "metrics": {}}
    conn.send(rec)
    conn.close()


def _load_npz(path: str) -> Features:
    with np.load(path, allow_pickle=False) as z:
        return Features(str(z["name"]), z["X_train"], z["y_train"], z["X_test"], z["y_test"],
                        [str(c) for c in z["classes"]], str(z["description"]))


def _start_method() -> str:
    """``forkserver`` on Linux, else ``spawn``.

    Plain ``fork`` deadlocks once this process has started OpenMP threads (faiss's kNN search,
    torch): the child inherits the pool's locks but not its threads. A fork server is a fresh
    interpreter that never ran any of that, so forking from it is safe and still cheap."""
    if sys.platform.startswith("linux") and "forkserver" in mp.get_all_start_methods():
        return "forkserver"
    return "spawn"


def _release_memory() -> None:
    # hand freed heap back to the OS so a forked worker's peak-RSS baseline is what is really in use
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _format_exc(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:]


def _progress(console, i: int, n: int, rec: dict) -> None:
    budget = "all" if rec["budget"] == FULL else f"{rec['budget']}/class"
    head = f"[{i}/{n}] {rec['dataset']} {budget} seed {rec['seed']} {rec['method']:<28}"
    if rec["status"] != "ok":
        last = (rec.get("error") or "").strip().splitlines()[-1:] or [""]
        console.print(f"{head} [red]{rec['status']}[/red]: {last[0][:160]}", highlight=False, soft_wrap=True)
        return
    m = rec["metrics"]
    pl = "" if math.isnan(m.get("pl_precision", math.nan)) else f"  PL {m['pl_precision']:.1%} @ {m['pl_coverage']:.0%}"
    mem = "" if math.isnan(m.get("fit_mb", math.nan)) else f"  +{m['fit_mb']:.0f} MB"
    console.print(f"{head} acc {m['accuracy']:.1%}{pl}  {m['seconds']:.1f} s{mem}", highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------- outputs
def _command(suite, datasets, methods, seeds, labels_per_class, out_dir, data_dir, threads=1, n_jobs=1, timeout=None,
             update=False, seed_start=None) -> str:
    """The Python call that reproduces a run started from Python (``pseudolabel bench`` passes its
    own command line as ``command=``, rebuilt from the one flag definition in ``bench.command``)."""
    args = {"suite": suite, "datasets": datasets, "methods": methods, "seeds": seeds, "seed_start": seed_start,
            "labels_per_class": labels_per_class, "out_dir": str(out_dir), "data_dir": None if data_dir is None else str(data_dir),
            "threads": threads, "n_jobs": n_jobs, "timeout": timeout, "update": update or None}
    return "run_bench(" + ", ".join(f"{k}={v!r}" for k, v in args.items() if v is not None) + ")"


def _write_json(results: dict, path: Path) -> None:
    write_json(results, path)


def load_results(path: str | Path) -> dict:
    """Read a ``results.json`` back (nulls stay None)."""
    return json.loads(Path(path).read_text())


__all__ = ["METHODS", "SUITES", "load_results", "run_bench"]
