"""The label store: append-only history, versions, undo, conflicts, imports and exports."""

import json
import sqlite3

import pandas as pd
import pytest

from pseudolabel.store import (
    LabelStore,
    StoreError,
    UnknownClass,
    VersionConflict,
    export_table,
    export_tasks,
    import_table,
    import_tasks,
)


@pytest.fixture
def store(tmp_path):
    return LabelStore(tmp_path / "labels.db", classes=["cat", "dog"], target="animal")


def test_history_is_append_only_and_keeps_every_value(store):
    store.set_label("r1", "cat", user="ann", expected_version=0, strategy="entropy_sampling", suggestion="dog", confidence=0.6)
    store.set_label("r1", "dog", user="bob", expected_version=1, action="correct")
    h = store.history("r1")
    assert [(e["label"], e["previous"], e["version"], e["user"]) for e in h] == [("cat", None, 1, "ann"), ("dog", "cat", 2, "bob")]
    assert h[0]["strategy"] == "entropy_sampling" and h[0]["suggestion"] == "dog" and h[0]["confidence"] == 0.6
    assert h[0]["ts"] < h[1]["ts"]
    assert store.labels() == {"r1": "dog"} and store.version("r1") == 2
    con = sqlite3.connect(store.path)
    for sql in ("DELETE FROM events", "UPDATE events SET label = 'cat'"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute(sql)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    assert len(store.history()) == 2 and store.integrity() == "ok"


def test_stale_version_is_refused_and_names_the_winner(store):
    store.set_label("r1", "cat", user="ann", expected_version=0)
    with pytest.raises(VersionConflict, match="ann set it to 'cat'") as info:
        store.set_label("r1", "dog", user="bob", expected_version=0)
    assert info.value.current["user"] == "ann"
    assert store.labels() == {"r1": "cat"} and len(store.history()) == 1


def test_bad_writes_write_nothing(store):
    with pytest.raises(UnknownClass, match="the classes are: cat, dog"):
        store.set_label("r1", "cow", user="ann")
    with pytest.raises(StoreError):
        store.set_label("", "cat", user="ann")
    with pytest.raises(StoreError):
        store.set_label("r1", "cat", user=" ")
    from pseudolabel.store import Label

    with pytest.raises(UnknownClass):  # one bad item in a batch: none of the batch is written
        store.write([Label("r1", "cat"), Label("r2", "cow")], user="ann")
    assert store.history() == []


def test_undo_restores_the_previous_value_as_a_new_event(store):
    store.set_label("r1", "cat", user="ann")
    store.set_label("r1", "dog", user="ann", expected_version=1)
    ev = store.undo(user="ann")
    assert ev["label"] == "cat" and ev["action"] == "undo" and store.labels() == {"r1": "cat"}
    assert len(store.history("r1")) == 3
    store.set_label("r2", "dog", user="ann")
    store.set_label("r2", "cat", user="bob", expected_version=1)
    with pytest.raises(VersionConflict):  # bob changed it since: ann's undo would overwrite him
        store.undo(user="ann")
    with pytest.raises(StoreError, match="no label to undo"):
        store.undo(user="carol")


def test_classes_may_grow_but_not_change(tmp_path, store):
    LabelStore(store.path, classes=["cat", "dog", "cow"])
    with pytest.raises(StoreError, match="holds labels for the classes"):
        LabelStore(store.path, classes=["x", "y"])
    with pytest.raises(StoreError, match="directory"):
        LabelStore(tmp_path)


def test_import_and_export_tables(tmp_path, store):
    src = tmp_path / "t.csv"
    pd.DataFrame({"id": ["a", "b", "c"], "animal": ["cat", None, "dog"]}).to_csv(src, index=False)
    assert import_table(store, src, "animal", "id") == 2
    assert import_table(store, src, "animal", "id") == 0  # unchanged labels are skipped
    assert store.labels() == {"a": "cat", "c": "dog"}
    for suffix in ("csv", "parquet"):
        out = tmp_path / f"labels.{suffix}"
        assert export_table(store, out) == 2
        frame = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
        assert sorted(frame["label"]) == ["cat", "dog"] and set(frame["action"]) == {"import"}
    store.set_label("a", "dog", user="ann", expected_version=1)
    assert export_table(store, tmp_path / "h.csv", history=True) == 3
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"id": ["a", "z"], "animal": ["dog", "horse"]}).to_csv(bad, index=False)
    with pytest.raises(UnknownClass):
        import_table(store, bad, "animal", "id")
    assert store.labels() == {"a": "dog", "c": "dog"}


def test_label_studio_round_trip(tmp_path, store):
    frame = pd.DataFrame({"text": ["a purring thing", "a barking thing"], "legs": [4, 4]})
    store.set_label("1", "dog", user="ann")
    path = tmp_path / "tasks.json"
    assert export_tasks(path, frame, [0, 1], classes=["cat", "dog"], suggestions=["cat", "cat"], scores=[0.9, 0.55],
                        store=store, run="run-1", text_columns=["text"]) == 2
    tasks = json.loads(path.read_text())
    assert tasks[0]["data"]["row_id"] == "0" and tasks[0]["data"]["text"] == "a purring thing"
    pred = tasks[1]["predictions"][0]
    assert pred["score"] == 0.55 and pred["model_version"] == "run-1" and pred["result"][0]["value"]["choices"] == ["cat"]
    assert tasks[1]["annotations"][0]["result"][0]["value"]["choices"] == ["dog"]
    assert '<Choice value="cat"/>' in (tmp_path / "label_config.xml").read_text()
    # an annotator in Label Studio labels task 1 (row 0), cancels one, and relabels row 1
    tasks[0]["annotations"] = [
        {"completed_by": {"email": "eve@x"}, "created_at": "2026-01-01T00:00:00", "was_cancelled": False,
         "result": [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["cat"]}}]},
        {"completed_by": 3, "created_at": "2026-01-02T00:00:00", "was_cancelled": True,
         "result": [{"type": "choices", "value": {"choices": ["dog"]}}]},
    ]
    path.write_text(json.dumps(tasks))
    assert import_tasks(store, path) == 1  # row 1 unchanged (dog), row 0 new
    assert store.labels() == {"0": "cat", "1": "dog"}
    assert store.current("0")["user"] == "labelstudio:eve@x" and store.current("0")["source"] == "labelstudio"
    mini = tmp_path / "min.json"
    mini.write_text(json.dumps([{"row_id": "0", "label": "dog"}, {"row_id": "1", "label": "cow"}]))
    with pytest.raises(UnknownClass):
        import_tasks(store, mini)
    assert store.labels() == {"0": "cat", "1": "dog"}  # nothing written
    mini.write_text(json.dumps([{"row_id": "0", "label": "dog"}]))
    assert import_tasks(store, mini) == 1 and store.labels()["0"] == "dog"
