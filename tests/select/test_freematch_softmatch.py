import numpy as np
import pytest

from pseudolabel.select import FreeMatch, SoftMatch, fairness_loss, softmatch_weight


def test_freematch_tau_closed_form():
    # constant batches with mean confidence μ̄: τ_n = μ̄ + (1/C − μ̄) m^n
    m, C = 0.9, 4
    fm = FreeMatch(momentum=m)
    batch = np.array([[0.7, 0.1, 0.1, 0.1], [0.5, 0.3, 0.1, 0.1]])
    mu = batch.max(axis=1).mean()
    for n in range(1, 30):
        fm.update(batch)
        assert fm.tau_ == pytest.approx(mu + (1 / C - mu) * m**n, abs=1e-12)


def test_freematch_classwise_thresholds():
    fm = FreeMatch(momentum=0.0)
    p = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.1, 0.6, 0.3]])
    fm.update(p, full_pool=True)
    t = fm.thresholds()
    assert t[np.argmax(fm.p_tilde_)] == pytest.approx(fm.tau_)
    np.testing.assert_allclose(t, fm.tau_ * fm.p_tilde_ / fm.p_tilde_.max())
    uniform = FreeMatch()
    uniform.update(np.full((3, 3), 1 / 3), full_pool=True)
    np.testing.assert_allclose(uniform.thresholds(), uniform.tau_)


def test_freematch_mask_monotone_in_confidence(rng):
    fm = FreeMatch(momentum=0.0)
    fm.update(rng.dirichlet(np.ones(3), size=100), full_pool=True)
    c = np.linspace(0.34, 1.0, 50)
    p = np.stack([c, (1 - c) / 2, (1 - c) / 2], axis=1)
    w = fm(p)
    assert (np.diff(w) >= 0).all()


def test_freematch_offline_uses_pool_statistics(rng):
    p = rng.dirichlet(np.ones(5), size=500)
    fm = FreeMatch()
    fm.update(p, full_pool=True)
    assert fm.tau_ == pytest.approx(p.max(axis=1).mean())
    np.testing.assert_allclose(fm.p_tilde_, p.mean(axis=0))


def test_fairness_loss_prefers_diverse_predictions():
    p_tilde = h_tilde = np.full(3, 1 / 3)
    collapsed = np.array([[0.9, 0.05, 0.05]] * 6)
    diverse = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]] * 2)
    mask = np.ones(6)
    assert fairness_loss(diverse, mask, p_tilde, h_tilde) > fairness_loss(collapsed, mask, p_tilde, h_tilde)
    assert fairness_loss(diverse, np.zeros(6), p_tilde, h_tilde) == 0.0


def test_softmatch_known_weights():
    # docs/methods/select.md, `softmatch`: μ = 0.7, σ² = 0.04
    w = softmatch_weight(np.array([0.9, 0.7, 0.6, 0.5, 0.3]), 0.7, 0.04, 2.0)
    np.testing.assert_allclose(w, [1, 1, 0.6065307, 0.1353353, 3.3546e-4], rtol=1e-4)


def test_softmatch_weights_in_unit_interval_and_state(rng):
    sm = SoftMatch(momentum=0.99)
    for _ in range(5):
        sm.update(rng.dirichlet(np.ones(4), size=64))
    w = sm(rng.dirichlet(np.ones(4), size=64))
    assert ((w > 0) & (w <= 1)).all()
    other = SoftMatch(momentum=0.99)
    other.load_state_dict(sm.state_dict())
    x = rng.dirichlet(np.ones(4), size=8)
    np.testing.assert_allclose(other(x), sm(x))


def test_softmatch_init_and_ema():
    sm = SoftMatch(momentum=0.5, align=False)
    p = np.array([[0.8, 0.2], [0.6, 0.4]])
    sm.update(p)
    assert sm.mu_ == pytest.approx(0.5 * 0.5 + 0.5 * 0.7)
    assert sm.var_ == pytest.approx(0.5 * 1.0 + 0.5 * np.var([0.8, 0.6], ddof=1))
