"""Moving labels in and out of the store: the user's table, CSV/Parquet exports, and the labels a
fit uses (human labels from the store win over the table's target column and over pseudo-labels)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from pseudolabel.data.io import InputError, read_table, write_table
from pseudolabel.store.sqlite import Label, LabelStore, StoreError, row_key

STORE_NAME = "labels.db"
"""The store's file name inside a run directory (``pseudolabel review RUN_DIR`` and ``fit --out RUN_DIR``)."""


def default_store(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / STORE_NAME


def import_table(store: LabelStore, path: str | os.PathLike, target: str, id_column: str | None = None, *,
                 user: str = "import") -> int:
    """Every non-empty ``target`` cell of a CSV/TSV/Parquet table becomes a human label (action
    ``import``), in one transaction; rows whose label is unchanged are skipped. Returns the number written."""
    frame = read_table(path, "--from")
    if target not in frame.columns:
        raise InputError(f"--target {target!r} is not a column of {path}; columns are: {list(frame.columns)}")
    if id_column is not None and id_column not in frame.columns:
        raise InputError(f"--id {id_column!r} is not a column of {path}; columns are: {list(frame.columns)}")
    ids = frame[id_column].to_numpy() if id_column else np.arange(len(frame))
    if pd.Series(ids).duplicated().any():
        raise InputError(f"--id column {id_column!r} has duplicate values; ids must be unique")
    values = frame[target]
    items = []
    for rid, v in zip(ids, values, strict=True):
        if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
            continue
        items.append(Label(row_key(rid), row_key(v), action="import"))
    return len(store.write(items, user=user, source="import", skip_unchanged=True))


def export_table(store: LabelStore, path: str | os.PathLike, *, history: bool = False) -> int:
    """The current human labels (or, with ``history``, every event) as CSV/TSV/Parquet."""
    rows = store.history() if history else [e for e in store.current().values() if e["label"] is not None]
    cols = ["seq", "row_id", "label", "previous", "version", "action", "user", "ts", "strategy", "suggestion",
            "confidence", "run", "source"]
    write_table(pd.DataFrame(rows, columns=cols), path)
    return len(rows)


def to_values(labels: dict[str, str], known_values) -> dict[str, object]:
    """Store labels (text) as the target column's values: the same value when the column has it
    (``"3"`` → ``3`` for an integer column), else an int/float parse for a numeric column, else the text."""
    lookup = {row_key(v): v for v in known_values if v is not None and not (isinstance(v, float) and np.isnan(v))}
    numeric = bool(lookup) and all(isinstance(v, int | float | np.integer | np.floating) for v in lookup.values())
    out = {}
    for rid, text in labels.items():
        if text in lookup:
            out[rid] = lookup[text]
        elif numeric:
            try:
                num = float(text)
                out[rid] = int(num) if num.is_integer() else num
            except ValueError:
                out[rid] = text
        else:
            out[rid] = text
    return out


def apply_store_labels(store_path: str | os.PathLike, ids: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, dict]:
    """``y`` (object array, None = unlabeled) with the store's human labels laid over it.

    Human labels from the store win over the table's target cell; ids in the store that are not
    rows of the table are counted (``unknown_ids``), not an error. Returns (new y, a summary)."""
    path = Path(store_path)
    if not path.is_file():
        raise InputError(f"--labels {path}: no such label store (a SQLite file written by `pseudolabel review` or "
                         "`pseudolabel labels import`)")
    try:
        labels = LabelStore(path).labels()
    except (StoreError, Exception) as exc:  # sqlite3.DatabaseError: not a store
        raise InputError(f"--labels {path}: cannot read the label store: {exc}") from exc
    keys = [row_key(i) for i in ids]
    pos = {k: i for i, k in enumerate(keys)}
    values = to_values(labels, [v for v in y if v is not None])
    out = np.array(y, dtype=object, copy=True)
    added = changed = 0
    unknown = []
    for rid, v in values.items():
        i = pos.get(rid)
        if i is None:
            unknown.append(rid)
            continue
        if out[i] is None:
            added += 1
        elif row_key(out[i]) != row_key(v):
            changed += 1
        out[i] = v
    summary = {"store": str(path), "labels": len(labels), "added": added, "overrode_table": changed,
               "unknown_ids": len(unknown), "unknown_examples": unknown[:5]}
    return out, summary
