"""pseudolabel.active (query context from a fitted model, BADGE's last layer of the neural learner)
and the active bench suite (budget grid, labels needed, one tiny end-to-end curve and report)."""

import json

import numpy as np
import pytest

from pseudolabel.active import choose, last_layer, query_context
from pseudolabel.bench.active import budgets, labels_needed, run_active, summarize


def _blobs(rng, n=120, k=3):
    centers = rng.normal(scale=4.0, size=(k, 4))
    y = np.arange(n) % k
    return centers[y] + rng.normal(size=(n, 4)), y


def test_query_context_of_a_fitted_model(rng):
    from sklearn.linear_model import LogisticRegression

    X, y = _blobs(rng)
    model = LogisticRegression().fit(X[:9], y[:9])
    cand, lab = np.arange(9, 120), np.arange(9)
    p, ctx = query_context(model, X, cand, lab, y[:9])
    assert p.shape == (111, 3) and ctx.features.shape == (111, 4) and ctx.labeled_features.shape == (9, 4)
    assert ctx.embedding is None and "input features" in ctx.extra["embedding_source"]
    rows, batch = choose("badge", model, X, cand, lab, 5, y_encoded=y[:9])
    assert len(set(rows)) == 5 and set(rows) <= set(cand) and "linear" in batch.info["embedding"]
    rows, _ = choose("typiclust", None, X, cand, lab, 4)  # cold start: no model
    assert len(set(rows)) == 4


def test_badge_uses_the_neural_learners_penultimate_features(rng):
    pytest.importorskip("torch", reason="the torch extra is not installed")
    from pseudolabel.learn.neural import ConsistencyClassifier

    X, y = _blobs(rng, 90)
    y_semi = np.where(np.arange(90) < 15, y, -1)
    clf = ConsistencyClassifier(batch_size=8, mu=2, hidden_sizes=(16,), max_epochs=1, steps_per_epoch=2, n_threads=1,
                                random_state=0).fit(X, y_semi)
    emb, source = last_layer(clf, X[15:])
    assert emb.shape == (75, 16) and "penultimate" in source
    rows, batch = choose("badge", clf, X, np.arange(15, 90), np.arange(15), 6)
    assert len(set(rows)) == 6 and "penultimate" in batch.info["embedding"]
    rows, batch = choose("coreset", clf, X, np.arange(15, 90), np.arange(15), 3)
    assert batch.info["space"] == "embedding"


def test_budget_grid_and_labels_needed():
    assert budgets(10, rounds=3) == [20, 26, 34, 44]
    assert budgets(2, rounds=4) == [4, 5, 7, 9, 11]
    assert labels_needed([10, 20, 40], [0.5, 0.7, 0.9], 0.8) == pytest.approx(30.0)
    assert labels_needed([10, 20], [0.9, 0.95], 0.8) == 10.0
    assert labels_needed([10, 20], [0.5, 0.6], 0.8) is None


def test_active_suite_end_to_end_on_digits(tmp_path):
    pytest.importorskip("skactiveml", reason="scikit-activeml (bench extra) is not installed")
    res = run_active(datasets=["digits"], strategies=["random_sampling", "entropy_sampling", "skal_entropy"], seeds=1,
                     out_dir=tmp_path, rounds=2, plots=False)
    curves = {c["strategy"]: c for c in res["curves"]}
    assert all(c["status"] == "ok" for c in curves.values()), [c.get("error") for c in curves.values()]
    assert [p["labels"] for p in curves["entropy_sampling"]["points"]] == [20, 26, 34]
    # same fitted learner, same deterministic strategy: scikit-activeml's entropy picks the same rows
    assert [p["accuracy"] for p in curves["skal_entropy"]["points"]] == [p["accuracy"] for p in curves["entropy_sampling"]["points"]]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["suite"] == "active" and "digits" in saved["summary"]
    assert "labels needed" in (tmp_path / "results.md").read_text()
    s = summarize(saved)["digits"]
    assert set(s["strategies"]) == {"random_sampling", "entropy_sampling", "skal_entropy"}


def test_report_rebuilds_from_results_json(tmp_path):
    from typer.testing import CliRunner

    from pseudolabel.cli import app

    res = {"suite": "active", "command": "pseudolabel bench --suite active", "date": "d", "protocol": {},
           "datasets": {"toy": {"n_train": 10, "n_test": 5, "n_classes": 2, "full_supervised_accuracy": 0.9,
                                "budgets": [4, 8]}},
           "curves": [{"dataset": "toy", "strategy": s, "seed": 0, "status": "ok",
                       "points": [{"labels": 4, "accuracy": 0.5}, {"labels": 8, "accuracy": a}]}
                      for s, a in [("random_sampling", 0.7), ("entropy_sampling", 0.9), ("skal_entropy", 0.9)]]}
    (tmp_path / "results.json").write_text(json.dumps(res))
    r = CliRunner().invoke(app, ["bench", "--report", str(tmp_path / "results.json"), "--no-plots"])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "results.md").read_text()
    assert "`entropy_sampling` (1 seeds) | 8 |" in md and "not reached" in md  # 0.855 reached at 7.55 labels


def test_verdict_with_a_random_baseline_that_never_reaches_the_target():
    from pseudolabel.bench.active import _verdict

    rows = {"random_sampling": {"labels_needed": None}, "badge": {"labels_needed": 182.0},
            "skal_entropy": {"labels_needed": 193.0}}
    v = _verdict(rows, 280.0)
    assert v["saving_is_lower_bound"] and v["saving_vs_random"] == pytest.approx(1 - 182 / 280) and v["meets_bar"]
    rows["skal_entropy"]["labels_needed"] = 150.0  # the anchor needs fewer: not met
    assert not _verdict(rows, 280.0)["meets_bar"]
    v = _verdict({"random_sampling": {"labels_needed": 43.0}, "noise_stability": {"labels_needed": 33.0},
                  "skal_entropy": {"labels_needed": 49.0}}, 93.0)
    assert v["saving_vs_random"] == pytest.approx(10 / 43) and not v["meets_bar"] and not v["saving_is_lower_bound"]
