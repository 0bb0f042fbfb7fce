import numpy as np
import pytest
from sklearn.base import clone

from pseudolabel.refine import (
    PartialOT,
    estimate_prior,
    partial_plan_rows,
    partial_sinkhorn,
    resolve_prior,
    rho_schedule,
    sinkhorn,
)
from pseudolabel.select import PartialOTSelect


@pytest.fixture
def dirichlet400():
    # docs/methods/refine.md, `partial_ot`: N = 400, K = 5, Dirichlet(0.3) probabilities
    return np.random.default_rng(0).dirichlet(np.full(5, 0.3), size=400)


@pytest.mark.parametrize("rho", [0.1, 0.5, 1.0])
def test_total_mass_is_rho_n_and_rows_lie_in_unit_interval(dirichlet400, rho):
    P = partial_sinkhorn(dirichlet400, rho)
    mass = P.sum(axis=1)
    assert P.sum() == pytest.approx(rho * 400, rel=1e-4)
    assert mass.min() >= 0.0 and mass.max() <= 1.0 + 1e-12


def test_row_mass_tracks_confidence(dirichlet400):
    conf = dirichlet400.max(axis=1)
    r01 = np.corrcoef(partial_sinkhorn(dirichlet400, 0.1).sum(1), conf)[0, 1]
    r05 = np.corrcoef(partial_sinkhorn(dirichlet400, 0.5).sum(1), conf)[0, 1]
    # docs/methods/refine.md, `partial_ot`: r = 0.85 at ρ = 0.1 and 0.95 at ρ = 0.5
    assert r01 > 0.8 and r05 > 0.9


def test_rho_one_exact_marginal_is_balanced_sinkhorn(dirichlet400):
    P = partial_sinkhorn(dirichlet400, 1.0, gamma=np.inf, tol=1e-10, max_iter=10_000)
    S = sinkhorn(np.log(np.clip(dirichlet400, 1e-12, None)), None, epsilon=0.1, tol=1e-10)
    np.testing.assert_allclose(P, S, atol=1e-6)


def test_relaxed_marginal_is_only_approximately_uniform(dirichlet400):
    col = partial_sinkhorn(dirichlet400, 1.0, gamma=1.0).mean(axis=0)
    assert np.all((col > 0.17) & (col < 0.23))  # METHODS: 0.188–0.215, not exactly 0.2
    assert np.abs(col - 0.2).max() > 1e-3


def test_log_domain_agrees_with_exp_domain(dirichlet400):
    from pseudolabel.ops import ot as partial_ot

    log_q = np.hstack([np.log(np.clip(dirichlet400, 1e-12, None)) / 0.1, np.zeros((400, 1))])
    target = np.append(0.5 * np.full(5, 0.2), 0.5)
    exp_plan, exp_v = partial_ot._partial_scale_exp(np.exp(log_q), target, 1 / 1.1, 1e-9, 5000)
    log_plan, log_v = partial_ot._partial_scale_log(log_q, target, 1 / 1.1, 1e-9, 5000)
    np.testing.assert_allclose(exp_plan, log_plan, atol=1e-9)
    # ε = 0.02 underflows p^{1/ε} (log p/ε < −700): the log domain takes over, finite and exact
    tiny = partial_sinkhorn(dirichlet400, 0.5, epsilon=0.02)
    assert np.isfinite(tiny).all() and tiny.sum() == pytest.approx(200, rel=1e-3)


def test_new_rows_with_potentials_reproduce_the_plan(dirichlet400):
    P, v = partial_sinkhorn(dirichlet400, 0.4, return_potentials=True)
    np.testing.assert_allclose(partial_plan_rows(dirichlet400, v), P, atol=1e-10)


def test_rho_schedule_sigmoid_and_linear():
    assert rho_schedule(0, 10) == pytest.approx(0.1 + 0.9 * np.exp(-5))
    assert rho_schedule(10, 10) == pytest.approx(1.0)
    assert rho_schedule(5, 10, kind="linear") == pytest.approx(0.55)
    vals = [rho_schedule(t, 10) for t in range(11)]
    assert np.all(np.diff(vals) > 0)
    with pytest.raises(ValueError, match="ramp"):
        rho_schedule(1, 2, kind="cosine")


def test_em_prior_recovers_a_shifted_prior():
    # 1-D Gaussians N(±1, 1): under a uniform training prior the posterior is sigmoid(2x)
    rng = np.random.default_rng(1)
    y = rng.random(20_000) < 0.8
    x = np.where(y, 1.0, -1.0) + rng.normal(size=len(y))
    p1 = 1.0 / (1.0 + np.exp(-2 * x))
    pi = estimate_prior(np.column_stack([1 - p1, p1]))
    assert pi[1] == pytest.approx(0.8, abs=0.02)
    # pool mean equal to the training prior is a fixed point
    p = np.array([[0.7, 0.3], [0.3, 0.7]])
    np.testing.assert_allclose(estimate_prior(p), [0.5, 0.5], atol=1e-12)


def test_resolve_prior_variants_and_errors():
    np.testing.assert_allclose(resolve_prior("uniform", 4), 0.25)
    np.testing.assert_allclose(resolve_prior("labeled", 3, labeled_y=np.array([0, 0, 1])), [3 / 6, 2 / 6, 1 / 6])
    np.testing.assert_allclose(resolve_prior([2, 1, 1], 3), [0.5, 0.25, 0.25])
    with pytest.raises(ValueError, match="labeled_y"):
        resolve_prior("labeled", 3)
    with pytest.raises(ValueError, match="prior must be"):
        resolve_prior("balanced", 3)


def test_partial_ot_refiner_uniform_fill_and_ramp(dirichlet400):
    ref = PartialOT()
    ref.update(dirichlet400, idx=np.arange(400), full_pool=True)
    out = ref(dirichlet400, round=0, max_rounds=5)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-9)
    assert ref.rho_ == pytest.approx(rho_schedule(0, 5))
    # a row's confidence is bounded by its mass + the uniform share of the rest
    assert np.all(out.max(axis=1) <= ref.mass_ + (1 - ref.mass_) / 5 + 1e-9)
    late = ref(dirichlet400, round=5, max_rounds=5)
    assert ref.rho_ == pytest.approx(1.0)
    assert late.max(axis=1).mean() > out.max(axis=1).mean()
    renorm = PartialOT(rho=0.3, fill="renormalize")(dirichlet400)
    np.testing.assert_allclose(renorm.sum(axis=1), 1.0, atol=1e-9)


def test_ramp_online_needs_total_steps(dirichlet400):
    with pytest.raises(ValueError, match="total_steps"):
        PartialOT()(dirichlet400)
    ref = PartialOT(total_steps=4)
    for _ in range(5):
        ref.update(dirichlet400[:50], idx=np.arange(50))
    ref(dirichlet400[:50])
    assert ref.rho_ == pytest.approx(1.0)
    state = ref.state_dict()
    fresh = clone(ref)
    fresh.load_state_dict(state)
    assert fresh.n_updates_ == 5


def test_partial_ot_selector_weights_are_row_masses(dirichlet400):
    sel = PartialOTSelect(rho=0.3, min_mass=0.0)
    selection = sel.select(dirichlet400)
    P = partial_sinkhorn(dirichlet400, 0.3)
    np.testing.assert_allclose(selection.weights, P.sum(axis=1))
    np.testing.assert_array_equal(selection.labels, P.argmax(axis=1))
    hard = PartialOTSelect(rho=0.3, hard=True)(dirichlet400)
    assert set(np.unique(hard)) <= {0.0, 1.0}
    lab = PartialOTSelect(rho=1.0, prior="labeled", gamma=np.inf, min_mass=0.0)
    lab(dirichlet400, labeled_y=np.array([0] * 6 + [1, 2, 3, 4]))
    col = partial_sinkhorn(dirichlet400, 1.0, np.array([7, 2, 2, 2, 2]) / 15, gamma=np.inf).mean(0)
    np.testing.assert_allclose(col, [7 / 15] + [2 / 15] * 4, atol=1e-5)
