"""Why #1: every label type works, and labels come back in the user's type in every output."""

import numpy as np
import pandas as pd
import pytest


def _frame(make_blobs, labels):
    """Blobs with the target replaced by ``labels[class]`` on labeled rows (None elsewhere)."""
    df = make_blobs().drop(columns="kind")
    truth = df.pop("truth").to_numpy()
    lab = df.pop("y").notna().to_numpy()
    return df, truth, lab, [labels[t] if m else None for t, m in zip(truth, lab, strict=True)]


CASES = {
    # name: (how the table is written, labels per class, expected label dtype in outputs, values back)
    "csv ints 0-2": ("csv", lambda v: pd.array(v, dtype="Int64"), [0, 1, 2], "Int64"),
    "csv floats 1.0": ("csv", lambda v: pd.array(v, dtype="float64"), [1.0, 2.0, 3.0], "Int64"),  # read as 1, 2, 3
    "csv booleans": ("csv", lambda v: pd.array(v, dtype="boolean"), [True, False, True], "boolean"),
    "parquet Int64": ("parquet", lambda v: pd.array(v, dtype="Int64"), [0, 1, 2], "Int64"),
    "parquet floats": ("parquet", lambda v: pd.array(v, dtype="float64"), [1.0, 2.0, 3.0], "float64"),
    "parquet strings 1/2": ("parquet", lambda v: pd.array(v, dtype="string"), ["1", "2", "3"], "string"),
    "parquet category": ("parquet", lambda v: pd.Categorical(v, categories=["lo", "mid", "hi", "unused"]), ["lo", "mid", "hi"], "category"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_label_types_round_trip(name, make_blobs, cli, fast, tmp_path):
    fmt, build, labels, dtype = CASES[name]
    df, truth, lab, y = _frame(make_blobs, labels)
    if name == "csv booleans":  # two classes only
        keep = truth < 2
        df, truth, lab, y = df[keep].reset_index(drop=True), truth[keep], lab[keep], [v for v, k in zip(y, keep, strict=True) if k]
    df["label"] = build(y)
    path = tmp_path / f"data.{fmt}"
    df.to_csv(path, index=False) if fmt == "csv" else df.to_parquet(path)
    out = tmp_path / "run"
    res = cli("fit", path, "--target", "label", "--out", out, *fast)
    assert res.code == 0, res
    pl = pd.read_parquet(out / "pseudo_labels.parquet")
    human = pl[pl.status == "human"]
    expected = [v for v in y if v is not None]
    assert human["label"].tolist() == expected  # the user's values, in file order
    assert human.index.tolist() == np.flatnonzero(lab).tolist()
    if dtype is not None:
        assert str(pl["label"].dtype) == dtype and str(pl["prediction"].dtype) == dtype
    if dtype == "category":
        assert list(pl["label"].dtype.categories) == ["lo", "mid", "hi", "unused"]
    assert set(pl["prediction"]) <= set(labels)
    scored = tmp_path / "scored.parquet"
    assert cli("predict", out, path, "--out", scored).code == 0
    back = pd.read_parquet(scored)
    if dtype is not None:
        assert str(back["label"].dtype) == dtype
    assert set(back["label"]) <= set(labels)
    names = [int(v) for v in labels] if name == "csv floats 1.0" else labels
    assert {f"p_{v}" for v in names} <= set(back.columns)
    assert (back["label"].to_numpy()[lab] == np.asarray(expected, dtype=object)).mean() > 0.9


def test_csv_predictions_write_labels_as_they_were_written(make_blobs, cli, fast, tmp_path):
    df, _, _, y = _frame(make_blobs, [1, 2, 3])
    df["label"] = pd.array(y, dtype="float64")  # a CSV with blanks: 1.0, 2.0, 3.0
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    assert "1.0" in path.read_text()
    assert cli("fit", path, "--target", "label", "--out", tmp_path / "run", *fast).code == 0
    assert cli("predict", tmp_path / "run", path, "--out", tmp_path / "s.csv").code == 0
    labels = [line.split(",")[1] for line in (tmp_path / "s.csv").read_text().splitlines()[1:]]
    assert set(labels) <= {"1", "2", "3"}  # integers, not 1.0


@pytest.mark.parametrize(
    "fmt,values,message",
    [
        ("csv", ["1", "01", "2"], "'1' (lines"),
        ("csv", ["1", "1.0", "01"], "'01' (line"),
        ("parquet", ["1", "1.0", "2"], "'1.0' (row"),
    ],
)
def test_one_number_spelled_two_ways_is_refused_naming_the_clash(make_blobs, cli, fast, tmp_path, fmt, values, message):
    df, truth, lab, _ = _frame(make_blobs, [0, 1, 2])
    df["label"] = [values[t] if m else None for t, m in zip(truth, lab, strict=True)]
    df["label"] = df["label"].astype(object)
    path = tmp_path / f"data.{fmt}"
    if fmt == "csv":
        df.to_csv(path, index=False, quoting=1)  # quoted, so that 01 stays 01
    else:
        df.to_parquet(path)
    res = cli("fit", path, "--target", "label", "--out", tmp_path / "run", *fast)
    assert res.code == 2 and "spells the same number in different ways" in res.text and message in res.text, res
    assert not (tmp_path / "run").exists()
