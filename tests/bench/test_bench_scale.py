"""The scale suite's harness on tiny sizes (the real run is `pseudolabel bench --suite scale`)."""

import json

import numpy as np
import pytest

from pseudolabel.bench.scale import check_bars, make_clusters, run_scale


def test_make_clusters_is_seeded_and_labels_ten_per_class():
    X, ys, y = make_clusters(3000, 20)
    X2, ys2, _ = make_clusters(3000, 20)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(ys, ys2)
    assert X.dtype == np.float32 and X.shape == (3000, 20)
    assert np.bincount(ys[ys >= 0]).tolist() == [10] * 10
    assert (ys[ys >= 0] == y[ys >= 0]).all()


def test_scale_suite_runs_children_and_writes_results(tmp_path, monkeypatch):
    monkeypatch.setenv("PSEUDOLABEL_SCALE_WORK", str(tmp_path / "work"))
    out = tmp_path / "out"
    res = run_scale(out, datasets=["synthetic20", "predict"], methods=["graph", "graph_exact", "predict_local"],
                    sizes=[2000], threads=1, timeout=300, command="test")
    runs = {(r["dataset"], r["method"]): r for r in res["runs"]}
    assert set(runs) == {("synthetic20", "graph"), ("synthetic20", "graph_exact"), ("predict", "predict_local")}
    assert all(r["status"] == "ok" for r in runs.values()), runs
    g = runs[("synthetic20", "graph")]
    assert g["knn_backend"] == "exact" and g["recall_at_7"] is None  # below the approximate threshold
    assert g["accuracy"] == runs[("synthetic20", "graph_exact")]["accuracy"] > 0.8
    assert g["peak_mb"] >= g["data_mb"] > 0 and g["cpu_seconds"] > 0
    p = runs[("predict", "predict_local")]
    assert p["rows"] == p["n"] == 20_000 and p["student_only"] and p["rows_per_minute"] > 0
    saved = json.loads((out / "scale.json").read_text())
    assert saved["runs"] == json.loads(json.dumps(res["runs"], default=str))
    md = (out / "scale.md").read_text()
    assert "predict_local" in md and "## Bars" in md
    assert (out / "scale_time_vs_rows.png").stat().st_size > 0
    # a second call with update=True merges: same keys replaced, others kept
    run_scale(out, datasets=["synthetic20"], methods=["graph"], sizes=[1500], threads=1, timeout=300, update=True,
              plots=False)
    assert len(json.loads((out / "scale.json").read_text())["runs"]) == 4


def test_bars_are_judged_from_the_runs():
    ok = {"status": "ok", "load_before": 1.0}
    runs = [{"dataset": "synthetic20", "n": 200_000, "method": "graph", "seconds": 8.0, **ok},
            {"dataset": "synthetic64", "n": 1_000_000, "method": "graph", "seconds": 130.0, "peak_mb": 2000, **ok},
            {"dataset": "mnist", "n": 200_000, "method": "graph", "accuracy": 0.90, "knn_backend": "ivf", **ok},
            {"dataset": "mnist", "n": 200_000, "method": "graph_exact", "accuracy": 0.915, **ok},
            {"dataset": "predict", "n": 10**7, "method": "predict_local", "rows_per_minute": 2e6, "peak_mb": 500, **ok}]
    lines = check_bars({"runs": runs})
    assert any("200,000 × 20: 8.0 s" in x and "met" in x and "NOT" not in x for x in lines)
    assert any("1,000,000 × 64: 130.0 s" in x and "NOT met" in x for x in lines)
    assert any("+1.50 points behind" in x and "NOT met" in x for x in lines)
    assert any(x.startswith("predict_local") and "NOT" not in x for x in lines)


def test_self_trainer_growth_from_100k_is_judged():
    ok = {"status": "ok", "dataset": "synthetic64", "method": "self_trainer"}
    runs = [{"n": 100_000, "seconds": 20.0, **ok}, {"n": 300_000, "seconds": 66.0, **ok},
            {"n": 1_000_000, "seconds": 400.0, **ok}]
    lines = check_bars({"runs": runs})
    (three,) = [x for x in lines if "→ 300,000" in x]
    assert "time × 3.3 for rows × 3" in three and "met" in three and "NOT" not in three
    (million,) = [x for x in lines if "→ 1,000,000" in x]
    assert "time × 20.0 for rows × 10" in million and "NOT met" in million


@pytest.mark.parametrize("bad", [{"datasets": ["cifar"]}, {"methods": ["magic"]}])
def test_unknown_names_are_refused(tmp_path, bad):
    with pytest.raises(ValueError, match="unknown scale"):
        run_scale(tmp_path, **bad)
