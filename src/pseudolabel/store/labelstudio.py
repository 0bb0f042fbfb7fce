"""Label Studio's JSON task format, both ways, so users can move to a full annotation tool and back.

Export: one task per row — ``data`` holds the row's columns, a ``text`` field (the text column, or
``column: value`` lines for a table) and ``row_id``; ``predictions`` holds the model's suggestion as
a ``choices`` result with its ``score`` (confidence) and ``model_version`` (the run); rows with a
human label in the store carry it as an ``annotation``. A labeling config (``label_config.xml``)
matching the ``from_name``/``to_name`` is written beside the JSON.

Import: Label Studio's JSON export (tasks with ``annotations``: the latest annotation that is not
cancelled and has a ``choices`` result wins; its ``completed_by`` becomes the user) or its
JSON-MIN export (one flat object per task with ``row_id`` and the choices field). Unknown classes
or rows without ``row_id`` abort the whole import: nothing is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd

from pseudolabel.ops.files import atomic_path
from pseudolabel.store.sqlite import Label, LabelStore, StoreError, row_key

FROM_NAME = "label"
TO_NAME = "text"


def _jsonable(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def row_text(row: pd.Series, text_columns: list[str]) -> str:
    """What the annotator reads: the text column(s), else ``column: value`` lines."""
    if text_columns:
        return "\n\n".join(str(row[c]) for c in text_columns if c in row.index)
    return "\n".join(f"{k}: {v}" for k, v in row.items())


def export_tasks(path: str | os.PathLike, frame: pd.DataFrame, ids, *, classes, suggestions=None, scores=None,
                 store: LabelStore | None = None, run: str = "pseudolabel", text_columns=()) -> int:
    """Write Label Studio tasks for the rows of ``frame`` (features only) to ``path`` (+ the config)."""
    ids = [row_key(i) for i in ids]
    human = store.current() if store is not None else {}
    tasks = []
    for n, (rid, (_, row)) in enumerate(zip(ids, frame.iterrows(), strict=True), start=1):
        data = {str(k): _jsonable(v) for k, v in row.items()}
        data.update(row_id=rid, text=row_text(row, list(text_columns)))
        task = {"id": n, "data": data}
        if suggestions is not None:
            task["predictions"] = [{"model_version": run, "score": None if scores is None else float(scores[n - 1]),
                                    "result": [_choice(str(suggestions[n - 1]))]}]
        ev = human.get(rid)
        if ev is not None and ev["label"] is not None:
            task["annotations"] = [{"completed_by": ev["user"], "created_at": ev["ts"], "was_cancelled": False,
                                    "result": [_choice(ev["label"])]}]
        tasks.append(task)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(tasks, indent=1), encoding="utf-8")
    with atomic_path(path.with_name("label_config.xml")) as tmp:
        tmp.write_text(label_config(classes), encoding="utf-8")
    return len(tasks)


def _choice(label: str) -> dict:
    return {"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices", "value": {"choices": [label]}}


def label_config(classes) -> str:
    choices = "\n".join(f"    <Choice value={quoteattr(str(c))}/>" for c in classes)
    return (f'<View>\n  <Text name="{TO_NAME}" value="$text"/>\n  <Choices name="{FROM_NAME}" toName="{TO_NAME}" '
            f'choice="single" showInline="true">\n{choices}\n  </Choices>\n</View>\n')


def _annotation_label(task: dict) -> tuple[str | None, str | None, str | None]:
    """(label, user, time) of the task's latest usable annotation."""
    best = None
    for ann in task.get("annotations") or []:
        if ann.get("was_cancelled"):
            continue
        for res in ann.get("result") or []:
            choices = (res.get("value") or {}).get("choices")
            if res.get("type") == "choices" and choices:
                when = str(ann.get("updated_at") or ann.get("created_at") or "")
                if best is None or when >= best[2]:
                    user = ann.get("completed_by")
                    if isinstance(user, dict):
                        user = user.get("email") or user.get("id")
                    best = (str(choices[0]), None if user is None else f"labelstudio:{user}", when)
    return best if best is not None else (None, None, None)


def import_tasks(store: LabelStore, path: str | os.PathLike, *, user: str = "labelstudio", field: str = FROM_NAME) -> int:
    """Read a Label Studio JSON / JSON-MIN export into the store (one transaction). Returns labels written."""
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise StoreError(f"{path}: not a Label Studio JSON export: {exc}") from exc
    if not isinstance(tasks, list):
        raise StoreError(f"{path}: a Label Studio export is a JSON list of tasks")
    items: list[Label] = []
    for n, task in enumerate(tasks, start=1):
        if not isinstance(task, dict):
            raise StoreError(f"{path}: task {n} is not an object")
        data = task.get("data") if isinstance(task.get("data"), dict) else task
        if "row_id" not in data:
            raise StoreError(f"{path}: task {n} has no data.row_id (export the tasks with `pseudolabel labels export "
                             "--format labelstudio` so each keeps its row id)")
        if "annotations" in task:
            label, who, _ = _annotation_label(task)
        else:  # JSON-MIN: the choices field sits on the task itself
            value = task.get(field)
            label = None if value in (None, "", []) else str(value[0] if isinstance(value, list) else value)
            who = None
        if label is not None:
            items.append(Label(row_key(data["row_id"]), label, action="import", user=who))
    # one transaction; every item is validated (classes, ids) before anything is written
    return len(store.write(items, user=user, source="labelstudio", skip_unchanged=True))
