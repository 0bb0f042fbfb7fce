"""Known-answer tests for the benchmark metrics."""

import math

import numpy as np
import pytest

from pseudolabel.bench.metrics import (
    classification_scores,
    expected_calibration_error,
    mean_std,
    pl_scores,
    precision_at_coverage,
    summarize,
)


def test_pl_scores_counts_only_accepted_rows():
    y = np.array([0, 1, 2, 0, 1])
    label = np.array([0, 2, 2, -1, 1])
    acc = np.array([True, True, True, False, False])
    s = pl_scores(y, label, acc)
    assert s["pl_precision"] == pytest.approx(2 / 3)
    assert s["pl_coverage"] == pytest.approx(3 / 5)
    assert s["pl_accepted"] == 3


def test_pl_scores_nothing_accepted_is_nan_precision_zero_coverage():
    s = pl_scores(np.array([0, 1]), np.array([-1, -1]), np.zeros(2, dtype=bool))
    assert math.isnan(s["pl_precision"]) and s["pl_coverage"] == 0.0


def test_precision_at_coverage_ranks_by_confidence():
    # confidences 0.9, 0.8, 0.7, 0.6 → correct, wrong, correct, correct (in that order)
    probs = np.array([[0.6, 0.4], [0.3, 0.7], [0.1, 0.9], [0.2, 0.8]])
    y = np.array([0, 1, 1, 0])  # row 3 (conf 0.8) is wrong
    curve = precision_at_coverage(y, probs, grid=np.array([0.25, 0.5, 0.75, 1.0]))
    assert curve == pytest.approx([1.0, 0.5, 2 / 3, 0.75])


def test_ece_known_values():
    assert expected_calibration_error(np.ones(10), np.ones(10)) == pytest.approx(0.0)
    assert expected_calibration_error(np.full(10, 0.8), np.ones(10)) == pytest.approx(0.2)
    # two bins, each off by 0.3 in opposite directions: ECE adds absolute gaps
    conf = np.array([0.2, 0.2, 0.9, 0.9])
    correct = np.array([1, 0, 1, 0])  # bin 0.2: acc 0.5 (gap 0.3); bin 0.9: acc 0.5 (gap 0.4)
    assert expected_calibration_error(conf, correct) == pytest.approx(0.5 * 0.3 + 0.5 * 0.4)


def test_classification_scores_macro_f1_counts_missing_classes():
    s = classification_scores(np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0]), n_classes=3)
    assert s["accuracy"] == 0.5
    # class 0: P=0.5 R=1 → F1 2/3; class 1: 0; class 2: 0 → mean 2/9
    assert s["macro_f1"] == pytest.approx(2 / 9)


def test_mean_std_is_sample_std_and_ignores_nan():
    mu, sd, n = mean_std([1.0, 3.0, float("nan"), None])
    assert (mu, n) == (2.0, 2) and sd == pytest.approx(math.sqrt(2.0))
    assert mean_std([5.0]) == (5.0, 0.0, 1)


def test_summarize_groups_over_seeds_and_skips_failed_runs():
    runs = [
        {"dataset": "d", "budget": 4, "method": "m", "seed": s, "status": "ok",
         "metrics": {"accuracy": a, "pl_curve": [a, a]}}
        for s, a in enumerate([0.5, 0.7])
    ] + [{"dataset": "d", "budget": 4, "method": "m", "seed": 2, "status": "error", "error": "boom\nValueError: x", "metrics": {}}]
    (row,) = summarize(runs)
    assert row["n_runs"] == 3 and row["n_ok"] == 2
    assert row["accuracy"]["mean"] == pytest.approx(0.6) and row["accuracy"]["n"] == 2
    assert row["pl_curve"] == pytest.approx([0.6, 0.6])
    assert row["errors"] == ["ValueError: x"]
