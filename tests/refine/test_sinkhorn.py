import numpy as np
import pytest

from pseudolabel.refine import SinkhornBalance, sinkhorn


def test_known_answer_imbalanced_prior_exact_marginals(rng):
    # docs/methods/refine.md, `sinkhorn`: N=500, C=4, logits 3·N(0,1), π=(.5,.3,.15,.05), ε=0.05
    S = 3 * rng.normal(size=(500, 4))
    pi = np.array([0.5, 0.3, 0.15, 0.05])
    Q, it = sinkhorn(S, pi, epsilon=0.05, tol=1e-8, return_n_iter=True)
    assert np.abs(Q.sum(axis=1) - 1).max() < 1e-6
    assert np.abs(Q.mean(axis=0) - pi).max() < 1e-6
    assert it > 3  # it genuinely iterated to the tolerance


def test_newton_and_alternating_scaling_agree(rng):
    P = rng.dirichlet(np.full(6, 0.1), size=2000)  # near one-hot rows: slow for plain scaling
    pi = np.array([0.3, 0.2, 0.2, 0.1, 0.1, 0.1])
    Q, it = sinkhorn(np.log(P + 1e-12), pi, epsilon=1.0, tol=1e-10, return_n_iter=True)
    assert it < 30
    slow = sinkhorn(np.log(P + 1e-12), pi, epsilon=1.0, n_iter=5000)
    np.testing.assert_allclose(Q, slow, atol=1e-6)


def test_fixed_iterations_are_only_approximate(rng):
    # SwAV's 3 iterations leave the marginals visibly off (the pitfall docs/methods/refine.md warns about)
    S = 0.3 * rng.normal(size=(256, 10)) / 0.05
    Q = sinkhorn(S, None, epsilon=1.0, n_iter=3)
    assert np.abs(Q.mean(axis=0) - 0.1).max() < 1e-12  # columns exact after the last column step
    assert np.abs(Q.sum(axis=1) - 1).max() > 1e-3  # rows are not


def test_zero_scores_give_prior_rows():
    pi = np.array([0.6, 0.3, 0.1])
    Q = sinkhorn(np.zeros((7, 3)), pi, epsilon=0.5, tol=1e-12)
    np.testing.assert_allclose(Q, np.tile(pi, (7, 1)), atol=1e-11)


def test_row_shift_invariance_and_permutation(rng):
    S = rng.normal(size=(50, 5))
    pi = rng.dirichlet(np.ones(5))
    Q = sinkhorn(S, pi, epsilon=0.3, tol=1e-10)
    shifted = S + rng.normal(size=(50, 1)) * 10
    np.testing.assert_allclose(sinkhorn(shifted, pi, epsilon=0.3, tol=1e-10), Q, atol=1e-8)
    perm = rng.permutation(5)
    np.testing.assert_allclose(sinkhorn(S[:, perm], pi[perm], epsilon=0.3, tol=1e-10), Q[:, perm], atol=1e-8)


def test_small_epsilon_gives_hard_assignment_via_log_domain(rng):
    S = np.eye(3)[[1, 0, 2, 1, 0, 2]] + 0.1 * rng.normal(size=(6, 3))
    Q = sinkhorn(S, None, epsilon=1e-3)
    np.testing.assert_allclose(Q, np.eye(3)[[1, 0, 2, 1, 0, 2]], atol=1e-6)


def test_matches_pot(rng):
    ot = pytest.importorskip("ot")
    S = rng.normal(size=(40, 4))
    pi = np.array([0.4, 0.3, 0.2, 0.1])
    Q = sinkhorn(S, pi, epsilon=0.2, tol=1e-12)
    G = ot.sinkhorn(np.full(40, 1 / 40), pi, -S, 0.2, method="sinkhorn_log", stopThr=1e-14, numItermax=100000)
    np.testing.assert_allclose(Q, 40 * G, atol=1e-7)


def test_bad_prior_is_named():
    with pytest.raises(ValueError, match="prior"):
        sinkhorn(np.zeros((3, 2)), [1.0, 0.0])


def test_refiner_balances_to_labeled_prior(rng):
    probs = rng.dirichlet(np.ones(3), size=300)
    probs[:, 0] += 1.0
    probs /= probs.sum(axis=1, keepdims=True)
    ref = SinkhornBalance(prior="labeled").fit(probs[:30], np.array([0, 1, 2] * 10))
    out = ref(probs)
    np.testing.assert_allclose(out.sum(axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(out.mean(axis=0), [1 / 3] * 3, atol=1e-6)
    # ε = 1 on log p only rescales columns: the odds between two classes change by a per-column factor
    ratio = (out[:, 1] / out[:, 2]) / (probs[:, 1] / probs[:, 2])
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-6)


def test_refiner_labeled_prior_needs_fit():
    with pytest.raises(ValueError, match="fit"):
        SinkhornBalance()(np.full((4, 2), 0.5))
