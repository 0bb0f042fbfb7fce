"""``pseudolabel predict RUN_DIR DATA --out TABLE``: score new rows with the model of a previous run.

Two routes, one model:

- **streaming** (``--engine`` or ``--shard`` given, or DATA is a folder or a glob of Parquet files;
  ``--engine local`` streams a single large file): :func:`pseudolabel.distributed.label_dataset`
  reads and writes record batches, so memory is bounded by ``--batch-rows`` and one row group, not
  by the data; ``--engine ray`` runs it on Ray Data, ``--shard i/N`` scores one of N slices (any
  scheduler can run the shards; docs/distributed.md). Output: id, label, confidence, weight,
  source, model_version, p_<class>, plus ``OUT.manifest.json`` (or one manifest per shard).
- **in memory** (one CSV, TSV or Parquet file without those options): the table is read whole;
  output id, label (in the target column's own dtype), confidence, p_<class>.

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
from pseudolabel.cli.rundir import (
    _inside,
    load_bundle,
    prepare_out_file,
    remove_created,
    verify_run,
)
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
from pseudolabel.distributed.local import BATCH_ROWS


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
    threads: Annotated[int, typer.Option(help="BLAS threads (per Ray actor with --engine ray).")] = 1,
    engine: Annotated[str | None, typer.Option(help="Stream Parquet DATA in record batches: local (this process) or ray (Ray Data; pip install pseudolabel[ray]). Default: local for a folder or glob; one file is read whole unless this is given.")] = None,
    address: Annotated[str | None, typer.Option(help="Ray cluster address for --engine ray ('auto': the cluster this node is in; default: start a local instance).")] = None,
    shard: Annotated[str | None, typer.Option(help="Score only slice i of N of DATA's row groups, e.g. 0/8 (--out is then a folder shared by all shards).")] = None,
    batch_rows: Annotated[int, typer.Option(help="Rows per record batch when streaming (memory bound).")] = BATCH_ROWS,
    progress: Annotated[bool, typer.Option(help="Progress bar with rows/s when streaming.")] = True,
    debug: Annotated[bool, typer.Option("--debug", help=DEBUG_HELP)] = False,
) -> None:
    """Score DATA with the model of a previous run: id, label, confidence and one p_<class> per class
    (streamed in record batches for Parquet DATA; --engine ray, --shard i/N)."""
    if threads < 1:
        fail(f"--threads must be >= 1, got {threads}")
    if address and engine != "ray":
        fail("--address is for --engine ray; add --engine ray or drop --address")
    if streaming_route(data, out, engine, shard):
        stream(run_dir, data, out, engine=engine or "local", address=address, shard=shard, batch_rows=batch_rows,
               threads=threads, progress=progress, overwrite=overwrite, strict=strict, na_values=listed(na_values))
        return
    table_kind(out, "--out")
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


def streaming_route(data: Path, out: Path, engine: str | None, shard: str | None) -> bool:
    """True when DATA is read in record batches (see the module doc): asked for with ``--engine`` or
    ``--shard``, or DATA is a folder or a glob of Parquet files. One Parquet file without those
    options is read whole, so its output keeps the label column's own dtype (nullable integers,
    categories) and gets the unseen-category checks; ``--engine local`` streams it."""
    if engine is not None or shard is not None:
        return True
    return any(ch in str(data) for ch in "*?[") or data.is_dir()


def stream(run_dir: Path, data: Path, out: Path, *, engine: str, address: str | None, shard: str | None,
           batch_rows: int, threads: int, progress: bool, overwrite: bool, strict: bool, na_values: list[str]) -> None:
    """The streaming route: checks, then :func:`pseudolabel.distributed.predict_command`."""
    from pseudolabel.distributed import ENGINES, predict_command
    from pseudolabel.distributed.sink import is_file_sink
    from pseudolabel.distributed.source import parse_shard, resolve_files

    if engine not in ENGINES:
        fail(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if address and engine != "ray":
        fail("--address is for --engine ray; add --engine ray or drop --address")
    if strict or na_values:
        fail("--strict and --na-values apply to the in-memory route; score one file whole without --engine/--shard, "
             "or clean the categories and missing values before streaming")
    if batch_rows < 1:
        fail(f"--batch-rows must be >= 1, got {batch_rows}")
    try:
        parsed = parse_shard(shard)
        files = resolve_files(str(data))
    except (ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    if is_file_sink(out, parsed, engine):
        prepare_out_file(out, inputs=[Path(f) for f in files], folders=[run_dir], overwrite=overwrite)
    else:
        if out.suffix.lower() in (".csv", ".tsv", ".txt"):
            fail(f"--out {out}: --engine ray and --shard write a folder of Parquet files; give a folder name")
        if out.is_file():
            fail(f"--out {out} is a file; --engine ray and --shard write a folder, give a folder name")
        if _inside(out, run_dir):
            fail(f"--out {out} is inside {run_dir}, an input of this command; choose a folder outside it")
        manifest = out / f"part-{parsed[0]:05d}-of-{parsed[1]:05d}.manifest.json"
        if manifest.exists() and not overwrite:
            fail(f"--out {out} already holds shard {parsed[0]}/{parsed[1]} ({manifest.name}); pass --overwrite to "
                 "score it again")
    verify_run(run_dir)
    try:
        result = predict_command(run_dir, files, out, engine=engine, address=address, shard=shard,
                                 batch_rows=batch_rows, threads=threads, progress=progress)
    except ImportError as exc:
        fail(f"--engine {engine} needs Ray: pip install 'pseudolabel[ray]' ({exc})")
    rate = result.get("rows_per_second")
    console.print(f"wrote {result['rows']:,} predictions to {escape(str(out))} ({engine} engine, "
                  f"{result['seconds']:.1f} s{f', {rate * 60:,.0f} rows/min' if rate else ''})", highlight=False)


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
