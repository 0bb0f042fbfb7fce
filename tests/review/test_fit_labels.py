"""``fit`` reads human labels from the store (--labels or OUT/labels.db); ``pseudolabel labels``."""

import json

import pandas as pd
from typer.testing import CliRunner

from pseudolabel.cli import app
from pseudolabel.store import LabelStore, row_key


def _records(run):
    return pd.read_parquet(run / "pseudo_labels.parquet").set_index("id")


def test_store_labels_win_over_table_and_pseudo_labels(run_dir, helpers, tmp_path):
    data = run_dir.parent / "digits.csv"
    table = pd.read_csv(data)
    unlabeled = table.loc[table["digit"].isna(), "row"].tolist()
    labeled = table.loc[table["digit"].notna(), "row"].tolist()
    store = LabelStore(tmp_path / "s.db", classes=[str(c) for c in range(10)])
    before = _records(run_dir)
    wrong = str((int(before.loc[unlabeled[0], "label"]) + 1) % 10)  # disagree with the pseudo-label
    store.set_label(unlabeled[0], wrong, user="ann")
    store.set_label(labeled[0], "9", user="ann")  # overrides the table's value
    store.set_label("not-a-row", "1", user="ann")
    out = helpers.fit_run(data, tmp_path / "run2", "--labels", str(tmp_path / "s.db"))
    rec = _records(out)
    assert rec.loc[unlabeled[0], "source"] == "human" and row_key(rec.loc[unlabeled[0], "label"]) == wrong
    assert row_key(rec.loc[labeled[0], "label"]) == "9"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["labeled"] == len(labeled) + 1 and metrics["options"]["labels"] == str(tmp_path / "s.db")


def test_run_directory_default_store(run_dir, helpers):
    data = run_dir.parent / "digits.csv"
    table = pd.read_csv(data)
    row = table.loc[table["digit"].isna(), "row"].iloc[3]
    LabelStore(run_dir / "labels.db", classes=[str(c) for c in range(10)]).set_label(row, "4", user="ann")
    out = helpers.fit_run(data, run_dir, "--overwrite")
    assert _records(out).loc[row, "source"] == "human"


def test_labels_cli_import_export_status(run_dir, tmp_path):
    src = tmp_path / "more.csv"
    pd.DataFrame({"row": ["r100", "r101"], "digit": [3, None]}).to_csv(src, index=False)
    r = CliRunner().invoke(app, ["labels", "import", str(run_dir), str(src), "--user", "bulk"])
    assert r.exit_code == 0 and "imported 1" in r.output, r.output
    r = CliRunner().invoke(app, ["labels", "export", str(run_dir), str(tmp_path / "out.parquet")])
    assert r.exit_code == 0, r.output
    assert pd.read_parquet(tmp_path / "out.parquet").set_index("row_id").loc["r100", "label"] == "3"
    r = CliRunner().invoke(app, ["labels", "export", str(run_dir), str(tmp_path / "tasks.json")])
    assert r.exit_code == 0, r.output
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    assert len(tasks) == 240 and all(0 <= t["predictions"][0]["score"] <= 1 for t in tasks)
    r = CliRunner().invoke(app, ["labels", "status", str(run_dir)])
    assert r.exit_code == 0 and "labeled rows" in r.output and "audited" in r.output, r.output
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"row": ["r1"], "digit": [42]}).to_csv(bad, index=False)
    r = CliRunner().invoke(app, ["labels", "import", str(run_dir), str(bad)])
    assert r.exit_code == 2 and "unknown class" in " ".join(r.output.split())
    r = CliRunner().invoke(app, ["fit", str(run_dir.parent / "digits.csv"), "--target", "digit", "--id", "row", "--out", str(tmp_path / "x"), "--labels", str(tmp_path / "nope.db")])
    assert r.exit_code == 2 and "no such label store" in " ".join(r.output.split())
