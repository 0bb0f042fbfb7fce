"""``pseudolabel fit DATA --target T --out DIR``: self-train on a table and write the run's artifacts."""

from __future__ import annotations

import json
import platform
import time
import warnings
from pathlib import Path
from typing import Annotated

import joblib
import numpy as np
import pandas as pd
import typer
from rich.table import Table

from pseudolabel import __version__
from pseudolabel.audit.query import select_queries
from pseudolabel.audit.report import heldout_metrics, write_report
from pseudolabel.cli._common import (
    console,
    err_console,
    fail,
    json_default,
    limit_threads,
    progress_bar,
)
from pseudolabel.core.record import PseudoLabels
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

ARTIFACTS = ("pseudo_labels.parquet", "model.joblib", "metrics.json", "report.html")


def _check_out_dir(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        fail(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        present = [a for a in ARTIFACTS if (out / a).exists()]
        what = f"a previous run ({', '.join(present)})" if present else "files"
        if not overwrite:
            fail(f"--out {out} already holds {what}; choose a new directory or pass --overwrite")


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
    if impute not in ("none", "median"):
        fail(f"--impute must be 'none' or 'median', got {impute!r}")
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
        fail(str(exc))
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
        progress_bar(transient=False) as progress,
        limit_threads(threads),
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
            fail(str(exc))
        progress.update(task, completed=max_rounds + 1)
    model.set_params(callback=None)
    for w in caught:
        if issubclass(w.category, UserWarning):
            err_console.print(f"[yellow]warning:[/] {w.message}")

    human_rows = np.flatnonzero(labeled)
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
        with limit_threads(threads):
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
        tmp.write_text(json.dumps(metrics, indent=2, default=json_default), encoding="utf-8")
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
