"""``pseudolabel labels import | export | status``: the label store from the command line, and the
one call ``pseudolabel fit`` makes into it (:func:`use_store_labels`).

TARGET is a run directory (the store is ``RUN_DIR/labels.db`` unless ``--store`` says otherwise)
or a store file itself (``*.db``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from pseudolabel.cli._common import command, console, err_console, fail
from pseudolabel.data.io import InputError
from pseudolabel.store import (
    LabelStore,
    StoreError,
    apply_store_labels,
    default_store,
    export_table,
    export_tasks,
    import_table,
    import_tasks,
)

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="The label store: import labels from a table or Label Studio, export them, show their status.")


def store_labels_over(split, labels: Path | None, out: Path):
    """``fit``: the target column with the store's human labels laid over it (``--labels``, else
    ``OUT/labels.db`` when it exists) and the store used (None: none). Human labels win over the
    table and, as labels, over every pseudo-label."""
    path = labels if labels is not None else default_store(out)
    if labels is None and not path.is_file():
        return split.target, None
    target = split.target
    y = target.astype(object).where(target.notna(), None).to_numpy()
    y, summary = apply_store_labels(path, split.ids, y)  # an InputError names the store and the fix
    note = (f"label store {path}: {summary['labels']} human label(s), {summary['added']} added to DATA's, "
            f"{summary['overrode_table']} replacing its target value")
    if summary["unknown_ids"]:
        note += f"; {summary['unknown_ids']} name rows not in DATA (e.g. {', '.join(summary['unknown_examples'])})"
    err_console.print(f"[cyan]note:[/] {note}")
    return pd.Series(y, index=target.index, name=target.name, dtype=object), path


def keep_label_store(old_run: Path, new_run: Path) -> None:
    """Copy the label store of the run being replaced into the new run folder before it goes live
    (SQLite's online backup: a consistent copy even while a review server writes to it)."""
    import sqlite3

    src = default_store(old_run)
    if not src.is_file() or default_store(new_run).exists():
        return
    with sqlite3.connect(src) as a, sqlite3.connect(default_store(new_run)) as b:
        a.backup(b)

def _store_for(target: Path, store: Path | None, create: bool = False) -> tuple[LabelStore, Path | None]:
    """(the store, the run directory if TARGET is one)."""
    run = target if target.is_dir() else None
    path = store or (default_store(target) if run is not None else target)
    if not create and not path.is_file():
        fail(f"no label store at {path}; label rows with `pseudolabel review` or `pseudolabel labels import` first")
    classes = target_name = None
    if run is not None and (run / "model.joblib").is_file():
        import joblib

        bundle = joblib.load(run / "model.joblib")
        classes = [str(c) for c in bundle["codec"].user_values(bundle["model"].classes_)]
        target_name = bundle["target"]
    try:
        return LabelStore(path, classes=classes, target=target_name), run
    except StoreError as exc:
        fail(str(exc))


@app.command("import")
@command
def import_labels(
    target: Annotated[Path, typer.Argument(help="Run directory (store RUN_DIR/labels.db) or a store file (.db).")],
    source: Annotated[Path, typer.Argument(help="CSV/TSV/Parquet table with a target column, or a Label Studio JSON / JSON-MIN export.")],
    column: Annotated[str | None, typer.Option("--target", "-t", help="Label column of a table (default: the run's target).")] = None,
    id_column: Annotated[str | None, typer.Option("--id", help="Row id column of a table (default: the run's, else the row number).")] = None,
    store: Annotated[Path | None, typer.Option(help="Label store file (default: RUN_DIR/labels.db).")] = None,
    user: Annotated[str, typer.Option(help="Who gave these labels (recorded with each).")] = "import",
) -> None:
    """Add labels to the store (one transaction: all or nothing; unchanged labels are skipped)."""
    if not source.is_file():
        fail(f"{source}: file not found")
    st, run = _store_for(target, store, create=True)
    try:
        if source.suffix.lower() == ".json":
            n = import_tasks(st, source, user=user)
        else:
            meta = st.meta()
            col = column or meta.get("target")
            if col is None:
                fail("pass --target: the label column of the table")
            if id_column is None and run is not None and (run / "model.joblib").is_file():
                import joblib

                id_column = joblib.load(run / "model.joblib").get("id_column")
            n = import_table(st, source, col, id_column, user=user)
    except (InputError, StoreError) as exc:
        fail(str(exc))
    console.print(f"imported {n} label(s) into {st.path}")


@app.command("export")
@command
def export_labels(
    target: Annotated[Path, typer.Argument(help="Run directory or store file.")],
    out: Annotated[Path, typer.Argument(help="Output: .csv/.tsv/.parquet (the labels) or .json (Label Studio tasks; needs a run directory).")],
    store: Annotated[Path | None, typer.Option(help="Label store file (default: RUN_DIR/labels.db).")] = None,
    history: Annotated[bool, typer.Option(help="Every event (who, when, previous value), not just the current labels.")] = False,
    data: Annotated[Path | None, typer.Option(help="The run's data file, if it moved since the fit.")] = None,
) -> None:
    """Write the store's labels as a table, or the run's rows as Label Studio tasks with the model's
    suggestion and score (predictions) and the human labels (annotations)."""
    st, run = _store_for(target, store, create=out.suffix.lower() == ".json")
    try:
        if out.suffix.lower() == ".json":
            if run is None:
                fail("Label Studio tasks need the run directory (row content and the model's suggestions)")
            from pseudolabel.review.run import RunView, latest_run

            view = RunView.load(latest_run(run), data)
            best = view.probs.argmax(axis=1)
            n = export_tasks(out, view.frame, view.ids, classes=view.classes,
                             suggestions=[view.classes[j] for j in best], scores=view.probs.max(axis=1), store=st,
                             run=str(view.path), text_columns=view.text_columns)
            console.print(f"wrote {n} Label Studio task(s) to {out} and the labeling config to {out.with_name('label_config.xml')}")
            return
        n = export_table(st, out, history=history)
    except (InputError, StoreError) as exc:
        fail(str(exc))
    console.print(f"wrote {n} {'event' if history else 'label'}(s) to {out}")


@app.command("status")
@command
def status(
    target: Annotated[Path, typer.Argument(help="Run directory or store file.")],
    store: Annotated[Path | None, typer.Option(help="Label store file (default: RUN_DIR/labels.db).")] = None,
    data: Annotated[Path | None, typer.Option(help="The run's data file, if it moved since the fit.")] = None,
) -> None:
    """Labels in the store (by action and user) and, for a run, the audited precision of its pseudo-labels."""
    st, run = _store_for(target, store)
    counts = st.count()
    t = Table(title=f"label store {st.path}", show_header=False)
    t.add_row("labeled rows", str(counts["labeled_rows"]))
    t.add_row("events (history)", str(counts["events"]))
    for action, n in sorted(counts["by_action"].items()):
        t.add_row(f"  current labels by {action}", str(n))
    users: dict[str, int] = {}
    for e in st.current().values():
        if e["label"] is not None:
            users[e["user"]] = users.get(e["user"], 0) + 1
    for u, n in sorted(users.items()):
        t.add_row(f"  by {u}", str(n))
    if run is not None:
        from pseudolabel.review.audit import audit_estimate
        from pseudolabel.review.run import RunView, latest_run

        try:
            est = audit_estimate(st, RunView.load(latest_run(run), data))
        except InputError as exc:
            fail(str(exc))
        t.add_row("audited pseudo-label precision", est["text"])
    console.print(t)
