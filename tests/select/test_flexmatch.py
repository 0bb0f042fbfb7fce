import numpy as np
import pytest

from pseudolabel.select import FlexMatch, flexmatch_thresholds


@pytest.mark.parametrize(
    "sigma,expected",
    [
        ((0, 0, 0), (0.0, 0.0, 0.0)),
        # unused = 1000 − 60 = 940 is the normaliser (USB counts the −1 entries); a reading without the warm-up would give 0.0526
        # used 950, the thresholds agree to 3 decimals: T ≈ (0.026, 0.0051, 0)
        ((50, 10, 0), (0.95 * (50 / 940) / (2 - 50 / 940), 0.95 * (10 / 940) / (2 - 10 / 940), 0.0)),
        ((400, 300, 250), (0.95, 0.95 * 0.75 / 1.25, 0.95 * 0.625 / 1.375)),
    ],
)
def test_known_thresholds(sigma, expected):
    # docs/methods/select.md, `flexmatch`, N = 1000, τ = 0.95
    np.testing.assert_allclose(flexmatch_thresholds(np.array(sigma), 1000, 0.95), expected, rtol=1e-9)


def test_thresholds_monotone_and_capped(rng):
    for _ in range(50):
        sigma = rng.integers(0, 300, size=4)
        t = flexmatch_thresholds(sigma, 1000, 0.9)
        assert (t <= 0.9 + 1e-12).all()
        bigger = sigma.copy()
        bigger[0] += 5
        assert flexmatch_thresholds(bigger, 1000, 0.9)[0] >= t[0] - 1e-12


def test_everything_passes_at_start_online():
    fm = FlexMatch(n_samples=100)
    p = np.full((4, 2), 0.5)
    fm.update(p, idx=np.arange(4))
    np.testing.assert_array_equal(fm(p), 1)


def test_online_memory_and_state_round_trip():
    fm = FlexMatch(threshold=0.9, n_samples=10)
    p = np.array([[0.95, 0.05], [0.97, 0.03], [0.2, 0.8]])
    fm.update(p, idx=np.array([0, 1, 2]))
    assert list(fm.selected_[:3]) == [0, 0, -1]
    # a later unconfident prediction does not erase the memory (USB semantics)
    fm.update(np.array([[0.6, 0.4]]), idx=np.array([0]))
    assert fm.selected_[0] == 0
    other = FlexMatch(threshold=0.9, n_samples=10)
    other.load_state_dict(fm.state_dict())
    q = np.array([[0.55, 0.45], [0.3, 0.7]])
    np.testing.assert_array_equal(other(q), fm(q))
    fm.selected_[5] = 1
    assert other.selected_[5] == -1  # state was deep-copied


def test_offline_pool_statistics():
    fm = FlexMatch(threshold=0.9)
    p = np.array([[0.95, 0.05]] * 3 + [[0.05, 0.95]] + [[0.6, 0.4]] * 6)
    fm.update(p, full_pool=True)
    # σ = (3, 1), unused = 6 → β = (0.5, 1/6)
    np.testing.assert_allclose(fm.beta_, [0.5, 1 / 6])
    np.testing.assert_allclose(fm.thresholds(), 0.9 * np.array([0.5 / 1.5, (1 / 6) / (2 - 1 / 6)]))


def test_online_without_indices_is_an_error():
    with pytest.raises(ValueError, match="idx"):
        FlexMatch(n_samples=5).update(np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="n_samples"):
        FlexMatch().update(np.full((2, 2), 0.5), idx=[0, 1])
