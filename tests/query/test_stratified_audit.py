"""The stratified precision estimate is unbiased and its interval covers (ops/stratified.py)."""

import numpy as np
import pytest

from pseudolabel.ops.stratified import (
    confidence_strata,
    stratified_order,
    stratified_proportion,
    wilson,
)


def test_known_answer_and_readiness():
    out = stratified_proportion({0: 100, 1: 300}, {0: 10, 1: 10}, {0: 10, 1: 5})
    assert out["ready"] and out["estimate"] == pytest.approx(0.25 * 1.0 + 0.75 * 0.5)
    assert out["low"] < out["estimate"] < out["high"]
    early = stratified_proportion({0: 100, 1: 300}, {0: 3}, {0: 3})
    assert not early["ready"] and "strata" in early["reason"]
    allright = stratified_proportion({0: 50, 1: 50}, {0: 20, 1: 20}, {0: 20, 1: 20})
    assert allright["estimate"] == 1.0 and allright["high"] == 1.0 and 0.85 < allright["low"] < 0.95  # not a point
    with pytest.raises(ValueError, match="impossible"):
        stratified_proportion({0: 5}, {0: 3}, {0: 4})
    assert wilson(0.5, 100, 1.96) == pytest.approx((0.4038, 0.5962), abs=1e-3)


def test_strata_and_order():
    s = confidence_strata(np.linspace(0, 1, 100), 4)
    assert np.bincount(s).tolist() == [25, 25, 25, 25] and s[0] == 0 and s[-1] == 3
    order = stratified_order(s, seed=1)
    assert sorted(order.tolist()) == list(range(100))
    assert np.bincount(s[order[:20]], minlength=4).tolist() == [5, 5, 5, 5]


def test_unbiased_with_nominal_coverage():
    # precision differs by stratum (low-confidence pseudo-labels are wrong more often); checking the
    # first 40 rows of the stratified order, over many draws: mean estimate = truth, ~95% coverage
    rng = np.random.default_rng(0)
    n = 2000
    conf = rng.uniform(0.5, 1.0, n)
    correct = rng.random(n) < conf  # truth: precision = mean(correct)
    truth = correct.mean()
    strata = confidence_strata(conf, 4)
    sizes = {h: int((strata == h).sum()) for h in range(4)}
    ests, covered = [], 0
    for seed in range(400):
        first = stratified_order(strata, seed)[:40]
        checked = {h: int((strata[first] == h).sum()) for h in range(4)}
        right = {h: int(correct[first][strata[first] == h].sum()) for h in range(4)}
        out = stratified_proportion(sizes, checked, right)
        assert out["ready"]
        ests.append(out["estimate"])
        covered += out["low"] <= truth <= out["high"]
    assert abs(np.mean(ests) - truth) < 0.01
    assert 0.90 <= covered / 400 <= 0.99
