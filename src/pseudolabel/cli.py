"""Command line: ``pseudolabel fit | predict | demo | bench | methods`` (a thin layer over the API)."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Few labels + many unlabeled rows -> a trained model and pseudo-labels you can trust.",
)
console = Console()
err_console = Console(stderr=True)

ARTIFACTS = ("pseudo_labels.parquet", "model.joblib", "metrics.json", "report.html")


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _threads(n: int | None):
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n if n and n > 0 else 1)


def _check_out_dir(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        _fail(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        present = [a for a in ARTIFACTS if (out / a).exists()]
        what = f"a previous run ({', '.join(present)})" if present else "files"
        if not overwrite:
            _fail(f"--out {out} already holds {what}; choose a new directory or pass --overwrite")


@app.command()
def fit(
    data: Annotated[Path, typer.Argument(help="CSV, TSV or Parquet table; rows with an empty target are unlabeled.")],
    target: Annotated[str, typer.Option("--target", "-t", help="Target (label) column.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory for the run.")],
    id_column: Annotated[str | None, typer.Option("--id", help="Row id column (default: row number).")] = None,
    teacher: Annotated[str, typer.Option(help="Teacher: auto, graph, self, or a registered name/spec.")] = "auto",
    refine: Annotated[str, typer.Option(help="Refiners in order, comma separated (e.g. 'calibrate,sinkhorn'); 'none' for none.")] = "auto",
    select: Annotated[str, typer.Option(help="Selector name/spec, e.g. 'flexmatch(threshold=0.9)'.")] = "auto",
    estimator: Annotated[str, typer.Option(help="Student: logreg, hgb, rf, knn or svc.")] = "logreg",
    max_rounds: Annotated[int, typer.Option(help="Self-training rounds.")] = 5,
    cv: Annotated[int, typer.Option(help="Held-out folds of the labels (0 disables).")] = 3,
    drop: Annotated[list[str] | None, typer.Option("--drop", help="Column to ignore (repeatable).")] = None,
    text: Annotated[list[str] | None, typer.Option("--text", help="Free-text column to embed with MiniLM (repeatable; text extra).")] = None,
    impute: Annotated[str, typer.Option(help="Missing numbers: 'none' (error) or 'median'.")] = "none",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    query: Annotated[int, typer.Option(help="Suggest this many rows to label next (report + metrics.json).")] = 20,
    threads: Annotated[int, typer.Option(help="BLAS threads (1 is fastest for small fits).")] = 1,
    overwrite: Annotated[bool, typer.Option(help="Replace the artifacts of a previous run in --out.")] = False,
) -> None:
    """Fit on DATA and write pseudo_labels.parquet, model.joblib, metrics.json and report.html to --out."""
    import joblib

    from pseudolabel import __version__
    from pseudolabel.audit.report import heldout_metrics, write_report
    from pseudolabel.data.io import (
        InputError,
        TableEncoder,
        atomic_path,
        encode_target,
        read_table,
        split_table,
    )
    from pseudolabel.learn.defaults import make_student
    from pseudolabel.learn.self_training import SelfTrainer

    if impute not in ("none", "median"):
        _fail(f"--impute must be 'none' or 'median', got {impute!r}")
    _check_out_dir(out, overwrite)
    t0 = time.perf_counter()
    try:
        frame = read_table(data)
        table = split_table(frame, target, id_column, drop)
        y = encode_target(table.target)
        encoder = TableEncoder(impute=impute, text_columns=list(text or []))
        X = encoder.fit(table.features).transform(table.features)
        student = make_student(estimator)
    except (InputError, ValueError, ImportError) as exc:
        _fail(str(exc))
    model = SelfTrainer(
        student,
        teacher=teacher,
        refine=None if refine == "none" else refine,
        select=select,
        max_rounds=max_rounds,
        cv=cv,
        unlabeled=None,
        random_state=seed,
    )
    labeled = np.array([v is not None for v in y])
    console.print(
        f"[bold]{data.name}[/]: {len(y):,} rows, {labeled.sum():,} labeled, {(~labeled).sum():,} unlabeled, "
        f"{X.shape[1]} features"
    )
    with (
        Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=False) as progress,
        _threads(threads),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        task = progress.add_task("self-training", total=max_rounds + 1)

        def on_round(entry: dict) -> None:
            acc = entry.get("heldout_accuracy", float("nan"))
            progress.update(task, advance=1, description=f"round {entry['round']}: {entry['selected']:,} accepted, held-out acc {acc:.3f}")

        model.set_params(callback=on_round)
        try:
            model.fit(X, y)
        except ValueError as exc:
            _fail(str(exc))
        progress.update(task, completed=max_rounds + 1)
    model.set_params(callback=None)
    for w in caught:
        if issubclass(w.category, UserWarning):
            err_console.print(f"[yellow]warning:[/] {w.message}")

    from pseudolabel.core.record import PseudoLabels

    human_rows = np.flatnonzero(labeled)
    import pandas as pd

    human_codes = pd.Index(model.classes_).get_indexer(y[human_rows])
    human = PseudoLabels.from_human(human_codes, model.classes_, index=human_rows)
    record = PseudoLabels.concat([human, model.pseudo_labels_])
    out.mkdir(parents=True, exist_ok=True)
    record.to_parquet(out / "pseudo_labels.parquet", ids=table.ids)
    bundle = {
        "model": model,
        "encoder": encoder,
        "target": target,
        "id_column": id_column,
        "classes": model.classes_,
        "version": __version__,
    }
    with atomic_path(out / "model.joblib") as tmp:
        joblib.dump(bundle, tmp)
    pl = model.pseudo_labels_
    queries = None
    if query > 0 and len(pl) > query:
        from pseudolabel.audit.query import select_queries

        with _threads(threads):
            queries = select_queries(pl.probs, X[pl.index], budget=query, random_state=seed)
    ho = heldout_metrics(model)
    config = {
        "data": str(data),
        "target": target,
        "id": id_column,
        "teacher": teacher,
        "refine": refine,
        "select": select,
        "estimator": estimator,
        "max_rounds": max_rounds,
        "cv": cv,
        "seed": seed,
        "threads": threads,
    }
    summary = record[record.source != "human"].summary()
    metrics = {
        "rows": int(len(y)),
        "labeled": int(labeled.sum()),
        "unlabeled": int((~labeled).sum()),
        "classes": [str(c) for c in model.classes_],
        "features": int(X.shape[1]),
        "pseudo_labels": summary,
        "heldout": ho,
        "best_round": int(model.best_round_),
        "fallback_to_supervised": bool(model.fallback_),
        "history": model.history_,
        "label_next": [] if queries is None else table.ids[pl.index[queries]].tolist(),
        "config": config,
        "seconds": time.perf_counter() - t0,
        "version": __version__,
        "python": platform.python_version(),
    }
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(metrics, indent=2, default=_json_default), encoding="utf-8")
    write_report(model, out / "report.html", title=f"pseudolabel: {data.name}", data_name=f"target {target!r}", ids=table.ids, y_labeled=y[labeled], config=config, queries=queries)

    t = Table(title="run summary", show_header=False)
    t.add_row("accepted pseudo-labels", f"{summary['accepted']:,} / {summary['n']:,} ({summary['coverage']:.1%})")
    if ho:
        t.add_row("est. pseudo-label precision (held-out)", f"{ho['precision']:.1%}")
        t.add_row("ECE (held-out)", f"{ho['ece']:.3f}")
    t.add_row("chosen round", str(model.best_round_))
    t.add_row("fallback to supervised", str(model.fallback_))
    t.add_row("outputs", ", ".join(str(out / a) for a in ARTIFACTS))
    console.print(t)


def _json_default(obj):
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


@app.command()
def predict(
    run_dir: Annotated[Path, typer.Argument(help="Directory written by `pseudolabel fit`.")],
    data: Annotated[Path, typer.Argument(help="CSV, TSV or Parquet table with the training columns.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output table (.csv, .tsv or .parquet).")],
    threads: Annotated[int, typer.Option(help="BLAS threads.")] = 1,
) -> None:
    """Score DATA with the model of a previous run: id, label, confidence and one p_<class> per class."""
    import joblib
    import pandas as pd

    from pseudolabel.data.io import InputError, read_table, write_table

    model_path = run_dir / "model.joblib"
    if not model_path.exists():
        _fail(f"{model_path} not found: RUN_DIR must be the --out directory of `pseudolabel fit`")
    bundle = joblib.load(model_path)
    try:
        frame = read_table(data)
        id_col = bundle["id_column"]
        ids = frame[id_col].to_numpy() if id_col and id_col in frame.columns else np.arange(len(frame))
        features = frame.drop(columns=[c for c in (bundle["target"], id_col) if c and c in frame.columns])
        extra = [c for c in features.columns if c not in bundle["encoder"].columns_]
        if extra:
            err_console.print(f"[yellow]note:[/] ignoring column(s) not seen at fit time: {extra}")
        X = bundle["encoder"].transform(features, what="DATA")
        with _threads(threads):
            proba = bundle["model"].predict_proba(X)
        classes = bundle["classes"]
        result = pd.DataFrame({"id": ids, "label": classes[proba.argmax(axis=1)], "confidence": proba.max(axis=1)})
        for j, c in enumerate(classes):
            result[f"p_{c}"] = proba[:, j]
        write_table(result, out)
    except (InputError, ValueError) as exc:
        _fail(str(exc))
    console.print(f"wrote {len(result):,} predictions to {out}")


@app.command()
def demo(
    seeds: Annotated[int, typer.Option(help="Seeds (splits and label draws).")] = 5,
    labels_per_class: Annotated[int, typer.Option(help="Labels per class.")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Digits, 4 labels per class: supervised-only, scikit-learn's two methods, pseudolabel, fully supervised."""
    from pseudolabel.bench.demo import CEILING, METHODS, run_demo

    total = seeds * (len(METHODS) + 1)
    if as_json:
        result = run_demo(seeds, labels_per_class)
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("running", total=total)
        result = run_demo(seeds, labels_per_class, progress=lambda name: progress.update(task, advance=1, description=name))
    table = Table(title=f"digits, {labels_per_class} labels per class, {seeds} seeds (test accuracy on a held-out 30%)")
    table.add_column("method")
    table.add_column("accuracy", justify="right")
    table.add_column("seconds / fit", justify="right")
    best = max(r["accuracy_mean"] for r in result["methods"] if r["method"] != CEILING)
    for r in result["methods"]:
        style = "bold green" if r["accuracy_mean"] == best else ("dim" if r["method"] == CEILING else "")
        table.add_row(r["method"], f"{r['accuracy_mean']:.4f} ± {r['accuracy_std']:.4f}", f"{r['seconds_mean']:.2f}", style=style)
    console.print(table)
    console.print(f"[dim]{result['machine']}; {result['threads']}[/]")


def _csv(values: list[str] | None) -> list[str] | None:
    """Repeatable and comma-separated options alike: ``--datasets a,b --datasets c``."""
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


@app.command()
def bench(
    suite: Annotated[str, typer.Option(help="smoke, quick (< 15 min), standard (hours) or matrix (teacher × selector).")] = "quick",
    datasets: Annotated[list[str] | None, typer.Option("--datasets", help="Datasets, comma separated or repeated.")] = None,
    methods: Annotated[list[str] | None, typer.Option("--methods", help="Methods, comma separated or repeated (see --list).")] = None,
    seeds: Annotated[int | None, typer.Option(help="Seeds per configuration (0..n-1).")] = None,
    labels_per_class: Annotated[list[str] | None, typer.Option("--labels-per-class", help="Label budgets, e.g. 1,4,10,25.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Results folder.")] = Path("results/bench"),
    data_dir: Annotated[Path | None, typer.Option(help="Folder with mnist/, ag_news/, sentence_cls/.")] = None,
    threads: Annotated[int, typer.Option(help="BLAS/OpenMP/torch threads per run.")] = 1,
    n_jobs: Annotated[int, typer.Option(help="Runs at a time (1 gives clean timings).")] = 1,
    timeout: Annotated[float | None, typer.Option(help="Kill a run after this many seconds.")] = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNG plots.")] = False,
    update: Annotated[bool, typer.Option("--update", help="Merge into the results.json already in --out (same runs replaced).")] = False,
    list_only: Annotated[bool, typer.Option("--list", help="List methods and suites, then exit.")] = False,
) -> None:
    """Run methods side by side on the benchmark datasets; writes results.json, results.md and plots to --out."""
    if list_only:
        from pseudolabel.bench.methods import METHODS, missing
        from pseudolabel.bench.runner import SUITES

        table = Table(title="methods")
        for col in ("name", "family", "description"):
            table.add_column(col)
        for name, m in METHODS.items():
            why = missing(m)
            table.add_row(name, m.family, m.description + (f" [unavailable: {'; '.join(why)}]" if why else ""))
        console.print(table)
        for name, cfg in SUITES.items():
            console.print(f"suite [bold]{name}[/]: {cfg}")
        return
    from pseudolabel.bench.runner import run_bench

    try:
        budgets = _csv(labels_per_class)
        run_bench(
            suite=suite,
            datasets=_csv(datasets),
            methods=_csv(methods),
            seeds=seeds,
            labels_per_class=[int(b) for b in budgets] if budgets else None,
            out_dir=out,
            data_dir=data_dir,
            console=console,
            threads=threads,
            n_jobs=n_jobs,
            timeout=timeout,
            plots=not no_plots,
            update=update,
        )
    except (ValueError, FileNotFoundError, ImportError) as exc:
        _fail(str(exc))


@app.command("methods")
def list_methods() -> None:
    """List the teachers, refiners and selectors usable by name (--teacher, --refine, --select)."""
    from pseudolabel.core.registry import available

    for kind in ("teacher", "refine", "select"):
        table = Table(title=kind)
        table.add_column("name")
        table.add_column("class")
        table.add_column("summary")
        for name, cls in available(kind).items():
            doc = (cls.__doc__ or "").strip().splitlines()
            table.add_row(name, cls.__name__, doc[0] if doc else "")
        console.print(table)


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    app()


if __name__ == "__main__":
    main()
