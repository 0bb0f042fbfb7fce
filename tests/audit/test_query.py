import numpy as np
import pytest

from pseudolabel.audit.query import density, query_scores, region_impurity, select_queries


def test_isolated_max_entropy_point_ranks_below_dense_uncertain_point(rng):
    # docs/methods/query.md (a)
    dense = rng.normal(size=(60, 5)) * 0.05 + np.array([1, 0, 0, 0, 0])
    isolated = np.array([[0, 0, 0, 0, -1.0]])
    X = np.vstack([dense, isolated])
    probs = np.full((61, 2), [0.99, 0.01])
    probs[0] = [0.6, 0.4]  # dense row, slightly less than maximal entropy
    probs[60] = [0.5, 0.5]  # isolated row, maximal entropy
    s = query_scores(probs, X, strategy="density", n_neighbors=5)
    assert s[0] > s[60]
    assert query_scores(probs, strategy="uncertainty")[60] > query_scores(probs, strategy="uncertainty")[0]


def test_budget_three_on_three_clusters_picks_one_each(rng):
    # docs/methods/query.md (b)
    centers = np.array([[0, 0], [20, 0], [0, 20]])
    X = np.vstack([c + rng.normal(size=(40, 2)) for c in centers])
    probs = np.full((120, 3), 1 / 3) + rng.normal(size=(120, 3)) * 1e-3
    probs = np.abs(probs) / np.abs(probs).sum(axis=1, keepdims=True)
    picked = select_queries(probs, X, budget=3)
    assert sorted(picked // 40) == [0, 1, 2]
    greedy = select_queries(probs, X, budget=3, diversity=False)
    assert len(greedy) == 3 and len(set(greedy)) == 3


def test_ripu_impurity_zero_when_homogeneous_and_one_when_uniform():
    # docs/methods/query.md (c): k divisible by C
    X = np.arange(12, dtype=float)[:, None]
    pure = np.tile([0.9, 0.1], (12, 1))
    imp, _ = region_impurity(pure, X, n_neighbors=3)
    np.testing.assert_allclose(imp, 0.0)
    alternating = np.array([[0.9, 0.1], [0.1, 0.9]] * 6)
    imp2, _ = region_impurity(alternating, X, n_neighbors=3)  # region = row + 3 neighbours: 2 of each
    assert np.isclose(imp2[5], 1.0)


def test_density_in_unit_interval_and_errors(rng):
    d = density(rng.normal(size=(50, 4)))
    assert ((d >= 0) & (d <= 1)).all()
    with pytest.raises(ValueError, match="features"):
        query_scores(np.full((3, 2), 0.5), strategy="density")
    with pytest.raises(ValueError, match="strategy"):
        query_scores(np.full((3, 2), 0.5), strategy="nope")
