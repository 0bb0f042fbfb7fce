"""``pseudolabel fit DATA --target T --out DIR``: self-train on a table and write the run's artifacts."""

from __future__ import annotations

import json
import platform
import time
import warnings
from dataclasses import dataclass
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
from pseudolabel.cli.labels import use_store_labels
from pseudolabel.core.record import PseudoLabels
from pseudolabel.data.io import (
    InputError,
    LabeledTable,
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
    """Refuse an --out that is a file, or a non-empty folder unless --overwrite."""
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
    labels: Annotated[Path | None, typer.Option("--labels", help="Label store (SQLite, `pseudolabel review`/`labels`) whose human labels win over DATA's target; default: OUT/labels.db when it exists.")] = None,
) -> None:
    """Fit on DATA and write pseudo_labels.parquet, model.joblib, metrics.json and report.html to --out."""
    if impute not in ("none", "median"):
        fail(f"--impute must be 'none' or 'median', got {impute!r}")
    _check_out_dir(out, overwrite)
    t0 = time.perf_counter()
    inputs = _read_inputs(data, target, id_column, drop, impute, text)
    labels = use_store_labels(inputs, labels, out)
    model = _make_model(estimator, teacher=teacher, refine=refine, select=select, max_rounds=max_rounds, cv=cv, seed=seed)
    console.print(
        f"[bold]{data.name}[/]: {len(inputs.y):,} rows, {inputs.labeled.sum():,} labeled, {(~inputs.labeled).sum():,} unlabeled, "
        f"{inputs.X.shape[1]} features"
    )
    _fit_with_progress(model, inputs, max_rounds, threads)
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
        "labels": None if labels is None else str(labels),
    }
    summary, heldout = _write_run(out, data, model, inputs, config, query=query, t0=t0)
    _print_summary(out, model, summary, heldout)


@dataclass
class _Inputs:
    """DATA as the fit sees it: the split table, the encoded target and features, the encoder."""

    table: LabeledTable
    y: np.ndarray  # object array: a class label per row, None where unlabeled
    labeled: np.ndarray  # bool mask of the labeled rows
    encoder: TableEncoder
    X: np.ndarray


def _read_inputs(data: Path, target: str, id_column: str | None, drop: list[str] | None, impute: str,
                 text: list[str] | None) -> _Inputs:
    """Read DATA, split off target and ids, encode the features; bad input exits with its message."""
    try:
        frame = read_table(data)
        table = split_table(frame, target, id_column, drop)
        y = encode_target(table.target)
        encoder = TableEncoder(impute=impute, text_columns=list(text or []))
        X = encoder.fit(table.features).transform(table.features)
    except (InputError, ValueError, ImportError) as exc:
        fail(str(exc))
    return _Inputs(table, y, np.array([v is not None for v in y]), encoder, X)


def _make_model(estimator: str, *, teacher: str, refine: str, select: str, max_rounds: int, cv: int,
                seed: int) -> SelfTrainer:
    """The SelfTrainer the options describe (``--refine none``: no refiners)."""
    try:
        student = make_student(estimator)
    except (InputError, ValueError, ImportError) as exc:
        fail(str(exc))
    return SelfTrainer(
        student,
        teacher=teacher,
        refine=None if refine == "none" else refine,
        select=select,
        max_rounds=max_rounds,
        cv=cv,
        unlabeled=None,
        random_state=seed,
    )


def _fit_with_progress(model: SelfTrainer, inputs: _Inputs, max_rounds: int, threads: int) -> None:
    """Fit ``model`` under a progress bar advanced by each round; its UserWarnings are printed after."""
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
            model.fit(inputs.X, inputs.y)
        except ValueError as exc:
            fail(str(exc))
        progress.update(task, completed=max_rounds + 1)
    model.set_params(callback=None)
    for w in caught:
        if issubclass(w.category, UserWarning):
            err_console.print(f"[yellow]warning:[/] {w.message}")


def _write_run(out: Path, data: Path, model: SelfTrainer, inputs: _Inputs, config: dict, *, query: int,
               t0: float) -> tuple[dict, dict]:
    """Write the four ARTIFACTS to ``out``; returns the pseudo-label summary and held-out metrics."""
    record = _full_record(model, inputs)
    out.mkdir(parents=True, exist_ok=True)
    record.to_parquet(out / "pseudo_labels.parquet", ids=inputs.table.ids)
    bundle = {
        "model": model,
        "encoder": inputs.encoder,
        "target": config["target"],
        "id_column": config["id"],
        "classes": model.classes_,
        "version": __version__,
    }
    with atomic_path(out / "model.joblib") as tmp:
        joblib.dump(bundle, tmp)
    queries = _label_next(model, inputs.X, query, threads=config["threads"], seed=config["seed"])
    heldout = heldout_metrics(model)
    summary = record[record.source != "human"].summary()
    metrics = _metrics(model, inputs, summary, heldout, queries, config, seconds=time.perf_counter() - t0)
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(metrics, indent=2, default=json_default), encoding="utf-8")
    write_report(model, out / "report.html", title=f"pseudolabel: {data.name}", data_name=f"target {config['target']!r}",
                 ids=inputs.table.ids, y_labeled=inputs.y[inputs.labeled], config=config, queries=queries)
    return summary, heldout


def _full_record(model: SelfTrainer, inputs: _Inputs) -> PseudoLabels:
    """Every row's label: the human ones as given, then the model's pseudo-labels."""
    human_rows = np.flatnonzero(inputs.labeled)
    human_codes = pd.Index(model.classes_).get_indexer(inputs.y[human_rows])
    human = PseudoLabels.from_human(human_codes, model.classes_, index=human_rows)
    return PseudoLabels.concat([human, model.pseudo_labels_])


def _label_next(model: SelfTrainer, X: np.ndarray, query: int, *, threads: int, seed: int) -> np.ndarray | None:
    """Positions (within the pseudo-labeled rows) of the ``query`` rows worth labeling next, if any."""
    pl = model.pseudo_labels_
    if not (query > 0 and len(pl) > query):
        return None
    with limit_threads(threads):
        return select_queries(pl.probs, X[pl.index], budget=query, random_state=seed)


def _metrics(model: SelfTrainer, inputs: _Inputs, summary: dict, heldout: dict, queries: np.ndarray | None,
             config: dict, *, seconds: float) -> dict:
    """The content of metrics.json."""
    pl = model.pseudo_labels_
    return {
        "rows": int(len(inputs.y)),
        "labeled": int(inputs.labeled.sum()),
        "unlabeled": int((~inputs.labeled).sum()),
        "classes": [str(c) for c in model.classes_],
        "features": int(inputs.X.shape[1]),
        "pseudo_labels": summary,
        "heldout": heldout,
        "best_round": int(model.best_round_),
        "fallback_to_supervised": bool(model.fallback_),
        "history": model.history_,
        "label_next": [] if queries is None else inputs.table.ids[pl.index[queries]].tolist(),
        "config": config,
        "seconds": seconds,
        "version": __version__,
        "python": platform.python_version(),
    }


def _print_summary(out: Path, model: SelfTrainer, summary: dict, heldout: dict) -> None:
    """The closing table: accepted pseudo-labels, held-out precision and ECE, chosen round, outputs."""
    t = Table(title="run summary", show_header=False)
    t.add_row("accepted pseudo-labels", f"{summary['accepted']:,} / {summary['n']:,} ({summary['coverage']:.1%})")
    if heldout:
        t.add_row("est. pseudo-label precision (held-out)", f"{heldout['precision']:.1%}")
        t.add_row("ECE (held-out)", f"{heldout['ece']:.3f}")
    t.add_row("chosen round", str(model.best_round_))
    t.add_row("fallback to supervised", str(model.fallback_))
    t.add_row("outputs", ", ".join(str(out / a) for a in ARTIFACTS))
    console.print(t)
