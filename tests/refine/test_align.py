import numpy as np
import pytest

from pseudolabel.refine import DistributionAlignment


def test_identity_when_model_mean_equals_target(rng):
    p = rng.dirichlet(np.ones(4), size=200)
    da = DistributionAlignment(target=p.mean(axis=0))
    da.update(p, full_pool=True)
    np.testing.assert_allclose(da(p), p, atol=1e-5)


def test_moves_pool_mean_toward_target_and_rows_sum_to_one():
    rng = np.random.default_rng(1)
    a = rng.beta(7, 3, size=1000)
    p = np.stack([a, 1 - a], axis=1)  # pool mean ≈ (0.7, 0.3)
    da = DistributionAlignment(target="uniform")
    da.update(p, full_pool=True)
    out = da(p)
    np.testing.assert_allclose(out.sum(axis=1), 1, atol=1e-12)
    before, after = abs(p.mean(0)[0] - 0.5), abs(out.mean(0)[0] - 0.5)
    assert after < before
    # repeated alignment (= Sinkhorn column scaling) reaches the target
    q = p
    for _ in range(200):
        da.update(q, full_pool=True)
        q = da(q)
    np.testing.assert_allclose(q.mean(axis=0), [0.5, 0.5], atol=1e-4)


def test_online_ema_initialised_with_first_batch_then_momentum():
    da = DistributionAlignment(target="uniform", momentum=0.9)
    b1 = np.array([[0.8, 0.2], [0.6, 0.4]])
    b2 = np.array([[0.2, 0.8], [0.2, 0.8]])
    da.update(b1)
    np.testing.assert_allclose(da.p_model_, [0.7, 0.3])
    da.update(b2)
    np.testing.assert_allclose(da.p_model_, 0.9 * np.array([0.7, 0.3]) + 0.1 * np.array([0.2, 0.8]))


def test_queue_mean_and_state_round_trip():
    da = DistributionAlignment(queue_length=2)
    batches = [np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])]
    for b in batches:
        da.update(b)
    np.testing.assert_allclose(da.p_model_, [0.25, 0.75])  # mean of the last two batch means
    clone = DistributionAlignment(queue_length=2)
    clone.load_state_dict(da.state_dict())
    x = np.array([[0.3, 0.7]])
    np.testing.assert_allclose(clone(x), da(x))


def test_labeled_target_needs_fit():
    with pytest.raises(ValueError, match="fit"):
        DistributionAlignment(target="labeled")(np.full((2, 2), 0.5))
