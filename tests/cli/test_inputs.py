"""Why #5: no silent wrong output. Unseen categories are reported, '?' is missing (not a category),
metrics.json is strict JSON, rejected rows carry no label in every configuration; plus the
reading options (--na-values, --sep, --encoding)."""

import json

import numpy as np
import pandas as pd
import pytest


def _strict_json(path):
    def refuse(constant):
        raise AssertionError(f"{path.name} holds the non-JSON constant {constant}")

    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory, cli, make_blobs, fast):
    """Blobs with a categorical column that decides nothing; fitted once."""
    tmp = tmp_path_factory.mktemp("colour")
    df = make_blobs().drop(columns="truth")
    df["colour"] = np.where(np.arange(len(df)) % 2 == 0, "red", "blue")
    path = tmp / "data.csv"
    df.to_csv(path, index=False)
    out = tmp / "run"
    assert cli("fit", path, "--target", "y", "--out", out, *fast).code == 0
    return df, out


def test_unseen_categories_are_counted_per_column(colour_run, cli, tmp_path):
    df, out = colour_run
    new = df.head(10).copy()
    new.loc[[0, 1], "colour"] = "green"
    new.loc[[2], "colour"] = "mauve"
    new.loc[[3, 4, 5], "kind"] = "w"
    path = tmp_path / "new.csv"
    new.to_csv(path, index=False)
    res = cli("predict", out, path, "--out", tmp_path / "s.csv")
    assert res.code == 0, res
    assert "categories the model never saw" in res.text
    assert "'kind' 3 of 10 rows: 'w'" in res.text and "'colour' 3 of 10 rows: 'green', 'mauve'" in res.text
    assert "--strict" in res.text
    res = cli("predict", out, path, "--out", tmp_path / "strict.csv", "--strict")
    assert res.code == 2 and "'colour' 3 of 10 rows" in res.text and not (tmp_path / "strict.csv").exists()
    # the same rows without unseen values: no warning
    clean = tmp_path / "clean.csv"
    df.head(10).to_csv(clean, index=False)
    res = cli("predict", out, clean, "--out", tmp_path / "c.csv", "--strict")
    assert res.code == 0 and "never saw" not in res.text


@pytest.mark.parametrize("share", [0.08])
def test_question_marks_in_a_numeric_column_are_missing_values(make_blobs, cli, fast, tmp_path, share):
    df = make_blobs().drop(columns="truth")
    n_q = max(1, int(share * len(df)))
    df["a"] = df["a"].round(3).astype(object)
    df.loc[df.index[1 : 1 + n_q], "a"] = "?"
    path = tmp_path / "q.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "run"
    res = cli("fit", path, "--target", "y", "--out", out, *fast)
    assert res.code == 0, res
    metrics = _strict_json(out / "metrics.json")
    assert metrics["column_kinds"]["a"] == "numeric"  # not one-hot categories, not text
    assert metrics["column_kinds"]["kind"] == "categorical"
    assert cli("predict", out, path, "--out", tmp_path / "s.csv").code == 0


def test_na_values_add_missing_tokens(make_blobs, cli, fast, tmp_path):
    df = make_blobs().drop(columns="truth")
    df["a"] = df["a"].round(3).astype(object)
    df.loc[[1, 2], "a"] = "unknown"
    df["y"] = df["y"].astype(object).where(df["y"].notna(), "unknown")
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "run"
    res = cli("fit", path, "--target", "y", "--out", out, *fast)
    assert res.code == 2 and "everything is labeled" in res.text and "'unknown' (40)" in res.text and "--na-values" in res.text
    res = cli("fit", path, "--target", "y", "--out", out, "--na-values", "unknown", *fast)
    assert res.code == 0, res
    metrics = _strict_json(out / "metrics.json")
    assert metrics["labeled"] == 20 and metrics["column_kinds"]["a"] == "numeric"


@pytest.mark.parametrize("sep,suffix", [(";", "csv"), ("\t", "csv")])
def test_delimiters_are_sniffed(make_blobs, cli, fast, tmp_path, sep, suffix):
    df = make_blobs().drop(columns="truth")
    path = tmp_path / f"d.{suffix}"
    df.to_csv(path, index=False, sep=sep, decimal="," if sep == ";" else ".")
    out = tmp_path / "run"
    extra = ["--decimal", ","] if sep == ";" else []
    res = cli("fit", path, "--target", "y", "--out", out, *extra, *fast, "--max-rounds", "0")
    assert res.code == 0, res
    assert _strict_json(out / "run.json")["data"]["sep"] == sep


def test_encoding_option(make_blobs, cli, fast, tmp_path):
    df = make_blobs().drop(columns="truth")
    df["kind"] = df["kind"].map({"x": "café", "y": "thé", "z": "eau"})
    path = tmp_path / "latin.csv"
    df.to_csv(path, index=False, encoding="latin-1")
    res = cli("fit", path, "--target", "y", "--out", tmp_path / "run", *fast)
    assert res.code == 2 and "not valid UTF-8" in res.text and "--encoding" in res.text and "at line 3" in res.text
    res = cli("fit", path, "--target", "y", "--out", tmp_path / "run", "--encoding", "latin-1", *fast, "--max-rounds", "0")
    assert res.code == 0, res
    res = cli("predict", tmp_path / "run", path, "--out", tmp_path / "s.csv")
    assert res.code == 2 and "--encoding" in res.text
    assert cli("predict", tmp_path / "run", path, "--out", tmp_path / "s.csv", "--encoding", "latin-1").code == 0


def test_fallback_run_is_strict_json_and_rejected_rows_carry_no_label(fallback_run):
    path, out, res = fallback_run
    metrics = _strict_json(out / "metrics.json")
    assert metrics["fallback_to_supervised"] is True and metrics["pseudo_labels"]["accepted"] == 0
    assert metrics["pseudo_labels"]["mean_confidence"] is None  # undefined: null, not NaN
    assert "NaN" not in (out / "metrics.json").read_text() and "NaN" not in (out / "run.json").read_text()
    pl = pd.read_parquet(out / "pseudo_labels.parquet")
    rejected = pl[pl.status != "human"]
    assert (rejected.status == "rejected").all() and rejected["label"].isna().all()
    assert rejected["prediction"].notna().all() and set(rejected["prediction"]) <= {"no", "yes"}
    assert (rejected["source"] == "supervised").all() and (rejected.weight == 0).all()


def test_rejected_rows_carry_no_label_when_self_training_is_kept(make_blobs, cli, fast, tmp_path):
    df = make_blobs().drop(columns="truth")
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "run"
    res = cli("fit", path, "--target", "y", "--out", out, "--teacher", "self", "--select", "topk(k=3)", "--no-fallback", *fast)
    assert res.code == 0, res
    assert not _strict_json(out / "metrics.json")["fallback_to_supervised"]
    pl = pd.read_parquet(out / "pseudo_labels.parquet")
    rejected, accepted = pl[pl.status == "rejected"], pl[pl.status == "accepted"]
    assert len(rejected) and len(accepted)  # the threshold splits the pool
    assert rejected["label"].isna().all() and (rejected.weight == 0).all() and rejected["prediction"].notna().all()
    assert accepted["label"].notna().all() and (accepted.weight > 0).all()
    assert str(pl["label"].dtype) == "Int64"


def test_a_mostly_numeric_column_says_why_it_is_not_numbers(make_blobs, cli, fast, tmp_path):
    df = make_blobs().drop(columns="truth")
    path = tmp_path / "eu.csv"
    df.to_csv(path, index=False, sep=";", decimal=",")
    res = cli("fit", path, "--target", "y", "--out", tmp_path / "run", *fast)
    assert res.code == 2 and "decimal comma" in res.text and "--decimal ," in res.text, res
    df["a"] = df["a"].round(2).astype(object)
    df.loc[5, "a"] = "12a"
    path = tmp_path / "typo.csv"
    df.to_csv(path, index=False)
    res = cli("fit", path, "--target", "y", "--out", tmp_path / "run", *fast)
    assert res.code == 2 and "all but 1 of its values are numbers ('12a' at line 7" in res.text, res
    assert "--na-values" in res.text and not (tmp_path / "run").exists()
