"""The bench's method table: names, requirements, and every available method on a small problem."""

import json
import math

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from pseudolabel.bench.features import Features
from pseudolabel.bench.job import FULL, run_job
from pseudolabel.bench.methods import (
    METHODS,
    PSEUDOLABEL_CONFIGS,
    BenchMethod,
    get_methods,
    missing,
)


def test_unknown_method_lists_known_names():
    with pytest.raises(ValueError, match="unknown bench method.*'nope'.*known: supervised"):
        get_methods(["supervised", "nope"])


def test_get_methods_keeps_order_and_drops_duplicates():
    assert [m.name for m in get_methods(["pseudolabel", "supervised", "pseudolabel"])] == ["pseudolabel", "supervised"]


def test_every_pseudolabel_config_is_a_method_with_component_requirements():
    for name, (_, kwargs) in PSEUDOLABEL_CONFIGS.items():
        m = METHODS[name]
        assert m.family == "pseudolabel" and m.config == kwargs
    assert METHODS["pseudolabel_graph_softmatch"].requires == (
        "teacher:graph", "refine:calibrate", "refine:sinkhorn", "select:softmatch"
    )


def test_missing_reports_unregistered_components_and_modules():
    fake = BenchMethod("x", "pseudolabel", "", lambda ctx: None,
                       requires=("teacher:no_such_teacher", "module:no_such_module_xyz", "select:threshold"))
    why = missing(fake)
    assert len(why) == 2
    assert "teacher 'no_such_teacher' is not registered" in why[0]
    assert "module 'no_such_module_xyz' is not installed" in why[1]
    assert missing(METHODS["pseudolabel"]) == []


@pytest.fixture(scope="module")
def blobs():
    centers = [[0.0, 0.0], [12.0, 0.0], [0.0, 12.0]]  # 12 standard deviations apart
    X, y = make_blobs(n_samples=360, centers=centers, cluster_std=1.0, random_state=0)
    Xte, yte = make_blobs(n_samples=90, centers=centers, cluster_std=1.0, random_state=1)
    return Features("blobs", X, y, Xte, yte, ["a", "b", "c"], "test blobs")


@pytest.mark.parametrize("name", [n for n, m in METHODS.items() if not missing(m)])
def test_every_available_method_runs_and_reports(name, blobs):
    method = METHODS[name]
    budget = FULL if method.kind == "full" else 4
    rec = run_job({"dataset": "blobs", "budget": budget, "method": name, "seed": 0}, blobs)
    m = rec["metrics"]
    assert rec["status"] == "ok"
    assert 0.0 <= m["accuracy"] <= 1.0 and 0.0 <= m["macro_f1"] <= 1.0
    assert m["seconds"] >= m["fit_seconds"] > 0
    assert m["peak_mb"] > 0
    if method.kind == "full":
        assert math.isnan(m["pl_coverage"]) and m["pl_curve"] is None
    elif method.kind == "supervised":
        assert math.isnan(m["pl_coverage"]) and len(m["pl_curve"]) == 20
    else:
        assert 0.0 <= m["pl_coverage"] <= 1.0
        assert 0.0 <= m["pool_accuracy"] <= 1.0
        if m["pl_accepted"]:
            assert 0.0 <= m["pl_precision"] <= 1.0
    if method.family == "pseudolabel":
        assert m["fallback"] in (0.0, 1.0)
    if name == "pseudolabel":  # the default's decision is recorded with its numbers
        guard = rec["extras"]["guard"]
        assert guard["n_heldout"] > 0 and guard["z"] == 0.5
        assert guard["heldout_wins"] - guard["heldout_losses"] == round(guard["gain"] * guard["n_heldout"])
        json.dumps(rec["extras"], allow_nan=False)


def test_well_separated_blobs_known_answers(blobs):
    # three blobs 12 std apart: the ceiling is perfect; exact label spreading on a kNN graph with a
    # keep-all selector labels every pool row, all of them correctly
    full = run_job({"dataset": "blobs", "budget": FULL, "method": "fully_supervised", "seed": 0}, blobs)
    assert full["metrics"]["accuracy"] == 1.0
    pl = run_job({"dataset": "blobs", "budget": 2, "method": "m_graph_all", "seed": 1}, blobs)["metrics"]
    assert pl["pl_coverage"] == 1.0 and pl["pl_precision"] == 1.0 and pl["accuracy"] == 1.0
    assert pl["pl_accepted"] == len(blobs.y_train) - 6 and pl["pool_accuracy"] == 1.0
    # the default: supervised and self-training are both perfect on the held-out labels, so nothing
    # shows the unlabeled rows help and the supervised floor is kept (perfect as well)
    default = run_job({"dataset": "blobs", "budget": 2, "method": "pseudolabel", "seed": 1}, blobs)
    assert default["metrics"]["accuracy"] == 1.0 and default["metrics"]["pool_accuracy"] == 1.0
    # LabelSpreading labels every pool row (coverage 1 whatever its precision)
    ls = run_job({"dataset": "blobs", "budget": 2, "method": "sklearn_label_spreading", "seed": 1}, blobs)["metrics"]
    assert ls["pl_coverage"] == 1.0 and ls["pl_accepted"] == len(blobs.y_train) - 6


def test_same_labeled_rows_for_every_method(blobs, monkeypatch):
    """Every method of one (budget, seed) sees the same labeled subset."""
    seen = []
    import pseudolabel.bench.job as job

    real = job.sample_labels

    def spy(y, per_class, seed):
        out = real(y, per_class, seed)
        seen.append(np.flatnonzero(out >= 0))
        return out

    monkeypatch.setattr(job, "sample_labels", spy)
    for name in ("supervised", "sklearn_self_training", "pseudolabel_self"):
        run_job({"dataset": "blobs", "budget": 3, "method": name, "seed": 5}, blobs)
    assert all(np.array_equal(seen[0], s) for s in seen[1:]) and len(seen[0]) == 9


def test_neural_method_builds_the_consistency_trainer():
    pytest.importorskip("torch")
    from pseudolabel.bench.methods import METHODS, MethodContext, logistic_student
    from pseudolabel.learn.neural import ConsistencyClassifier

    est = METHODS["neural"].build(MethodContext(3, 6, 100, 0, logistic_student))
    assert isinstance(est, ConsistencyClassifier) and est.random_state == 0 and est.n_threads == 1
    # (it runs end to end in test_every_available_method_runs_and_reports[neural])
