import numpy as np

from pseudolabel.audit import (
    accuracy_coverage,
    expected_calibration_error,
    pseudo_label_quality,
    reliability,
)


def test_perfectly_calibrated_bins_have_zero_ece():
    conf = np.array([0.25] * 4 + [0.75] * 4)
    correct = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    assert expected_calibration_error(conf, correct, n_bins=4) == 0.0


def test_overconfidence_is_measured():
    conf = np.full(10, 0.95)
    correct = np.array([1] * 5 + [0] * 5)
    assert abs(expected_calibration_error(conf, correct) - 0.45) < 1e-12
    r = reliability(conf, correct)
    assert r["count"].sum() == 10 and r["count"][14] == 10  # 15 bins (Guo et al. 2017): 0.95 ∈ (14/15, 1]
    assert reliability(conf, correct, n_bins=10)["count"][9] == 10


def test_accuracy_coverage_is_ordered_by_confidence():
    conf = np.array([0.9, 0.1, 0.8, 0.2])
    correct = np.array([1, 0, 1, 1])
    curve = accuracy_coverage(conf, correct)
    np.testing.assert_allclose(curve["accuracy"], [1, 1, 1, 0.75])
    np.testing.assert_allclose(curve["coverage"], [0.25, 0.5, 0.75, 1])


def test_pseudo_label_quality():
    q = pseudo_label_quality(np.array([0, 1, -1, 1]), np.array([1, 1, 0, 0.5]), np.array([0.9, 0.8, 0.3, 0.6]), np.array([0, 0, 1, 1]), 2)
    assert q["coverage"] == 0.75
    assert abs(q["precision"] - 2 / 3) < 1e-12
    assert q["per_class_precision"] == [1.0, 0.5]
