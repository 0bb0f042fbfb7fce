import numpy as np
import pytest

from pseudolabel.ops.prior import resolve_prior


def test_count_prior_is_the_share_of_rows_each_class_wins():
    probs = np.array([[0.6, 0.3, 0.1]] * 7 + [[0.2, 0.7, 0.1]] * 3)
    # class 2 wins no row: kept at the floor 0.1/K, then renormalised
    raw = np.array([0.7, 0.3, 0.1 / 3])
    assert np.allclose(resolve_prior("count", 3, probs=probs), raw / raw.sum())


def test_count_prior_needs_probabilities():
    with pytest.raises(ValueError, match="prior='count' needs the pool's probabilities"):
        resolve_prior("count", 2, probs=np.zeros((0, 2)))
