"""``pseudolabel predict RUN_DIR DATA --out TABLE``: score new rows with the model of a previous run.

Before anything is read: ``--out`` must not be DATA or inside RUN_DIR, must not exist unless
``--overwrite``, and its folder must be writable. The run must be complete and unmodified
(``run.json``, :func:`pseudolabel.cli.rundir.verify_run`). Categories the model never saw are
counted per column and reported (``--strict``: refused).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.markup import escape

from pseudolabel.cli._common import (
    DEBUG_HELP,
    cli_terms,
    collect_warnings,
    console,
    fail,
    listed,
    note,
    warn,
)
from pseudolabel.cli.fit import explain
from pseudolabel.cli.rundir import load_bundle, prepare_out_file, remove_created, verify_run
from pseudolabel.data.io import (
    InputError,
    Table,
    cell_missing,
    load_table,
    missing_tokens,
    table_kind,
    typed_ids,
    write_table,
)


def predict(
    run_dir: Annotated[Path, typer.Argument(help="Folder written by `pseudolabel fit`.")],
    data: Annotated[Path, typer.Argument(help="CSV, TSV or Parquet table with the training columns.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output table (.csv, .tsv or .parquet); never an input.")],
    overwrite: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
    strict: Annotated[bool, typer.Option(help="Refuse DATA with categories the model never saw (default: warn with counts).")] = False,
    na_values: Annotated[list[str] | None, typer.Option("--na-values", help="Extra cell text meaning 'missing' (besides the run's).")] = None,
    sep: Annotated[str | None, typer.Option(help="CSV delimiter (default: sniffed among , tab ; |).")] = None,
    decimal: Annotated[str, typer.Option(help="Decimal mark of numbers in a CSV/TSV ('.' or ',').")] = ".",
    encoding: Annotated[str | None, typer.Option(help="Text encoding of a CSV/TSV (default UTF-8, BOM allowed).")] = None,
    threads: Annotated[int, typer.Option(help="BLAS threads.")] = 1,
    debug: Annotated[bool, typer.Option("--debug", help=DEBUG_HELP)] = False,
) -> None:
    """Score DATA with the model of a previous run: id, label, confidence and one p_<class> per class."""
    table_kind(out, "--out")
    if threads < 1:
        fail(f"--threads must be >= 1, got {threads}")
    created = prepare_out_file(out, inputs=[data], folders=[run_dir], overwrite=overwrite)
    done = False
    try:
        manifest = verify_run(run_dir)
        bundle = load_bundle(run_dir, manifest)
        result = score(bundle, data, na_values=listed(na_values), sep=sep, decimal=decimal, encoding=encoding,
                       strict=strict, threads=threads)
        write_table(result, out)
        done = True
    finally:
        if not done:
            remove_created(created)
    console.print(f"wrote {len(result):,} predictions to {escape(str(out))}", highlight=False)


def score(bundle: dict, data: Path, *, na_values: list[str], sep: str | None, encoding: str | None, strict: bool,
          threads: int, decimal: str = ".") -> pd.DataFrame:
    """The predictions table for DATA (README, "Output files")."""
    model, codec = bundle["model"], bundle["codec"]
    columns, id_col, target = bundle["columns"], bundle["id_column"], bundle["target"]
    extra_tokens = [t for t in na_values if t not in missing_tokens(bundle.get("na_values", []))]
    tokens = missing_tokens([*bundle.get("na_values", []), *na_values])
    table = load_table(data, "DATA", sep=sep, encoding=encoding, na_values=[*bundle.get("na_values", []), *na_values],
                       text_columns=[id_col] if id_col else [], decimal=decimal)
    frame = table.frame
    if len(frame) == 0:
        fail("DATA has a header but no rows; there is nothing to predict")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        fail(f"DATA lacks column(s) {missing} that the model was trained with; expected columns: {columns}")
    ignored = [c for c in frame.columns if c not in columns and c not in (id_col, target)]
    if ignored:
        note(f"ignoring column(s) not used at fit time: {ignored[:10]}{' …' if len(ignored) > 10 else ''}")
    if id_col and id_col in frame.columns:
        ids_s = frame[id_col]
        if ids_s.isna().any():
            fail(f"the id column {id_col!r} is empty at {table.where(ids_s.isna().to_numpy())}; every row needs an id")
        ids = typed_ids(ids_s.to_numpy(), table)
    else:
        if id_col:
            note(f"DATA has no id column {id_col!r}: the id of each prediction is its row position (from 0)")
        ids = np.arange(len(frame))
    features = frame[columns]
    if extra_tokens:
        features = _blank(features, extra_tokens)
    model.set_params(threads=threads)
    with collect_warnings() as caught:
        try:
            proba = model.predict_proba(features)
        except ValueError as exc:
            raise InputError(explain(str(exc), features, table, tokens, "predict")) from None
    for message in caught.messages():
        warn(cli_terms(message, "predict"))
    _check_unseen(model, features, table, strict)
    classes = codec.user_values(model.classes_)
    pred = proba.argmax(axis=1)
    result = pd.DataFrame({"id": ids, "label": codec.column(pred, model.classes_), "confidence": proba.max(axis=1)})
    for j, c in enumerate(classes):
        result[f"p_{c}"] = proba[:, j]
    return result


def _blank(features: pd.DataFrame, tokens: list[str]) -> pd.DataFrame:
    """Cells equal to one of ``tokens`` (spaces stripped) become missing (a copy; DATA is not changed)."""
    out = features.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):
            miss = cell_missing(out[col], tokens) & out[col].notna().to_numpy()
            if miss.any():
                out[col] = out[col].astype(object).where(~miss, None)
    return out


def _check_unseen(model, features: pd.DataFrame, table: Table, strict: bool) -> None:
    """Categories not seen at fit time: a warning with counts per column, or an error (``--strict``)."""
    encoder = getattr(model, "encoder_", None)
    counts = {c: int(k) for c, k in (getattr(encoder, "unseen_counts_", None) or {}).items() if k}
    if not counts:
        return
    n = len(features)
    parts = []
    for col, k in sorted(counts.items(), key=lambda kv: -kv[1]):
        seen = {str(v) for v in (encoder.categories_.get(col) or []) if v is not None}
        vals = features[col].dropna().astype(str).str.strip()
        examples = [v for v in pd.unique(vals[~vals.isin(seen)])[:3]]
        shown = f": {', '.join(repr(v) for v in examples)}" if examples else ""
        parts.append(f"{col!r} {k:,} of {n:,} rows{shown}")
    message = ("DATA has categories the model never saw at fit time (" + "; ".join(parts) + "); those rows get no "
               "feature for that column, so their predictions rest on the other columns")
    if strict:
        fail(message + "; fix the categories or drop --strict to score them anyway")
    warn(message + " (pass --strict to refuse such rows)")
