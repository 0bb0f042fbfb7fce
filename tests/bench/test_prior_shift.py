"""benchmarks/prior_shift.py: class-mix estimates and the re-weighting they drive, on known answers."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "prior_shift.py"


@pytest.fixture(scope="module")
def ps():
    spec = importlib.util.spec_from_file_location("prior_shift", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shifted(rng, n_pool=20_000, per_class=200, mix=(0.8, 0.2)):
    """Two Gaussian classes in 5-d, 3 units apart along the first axis: balanced labels, a pool at ``mix``."""
    centres = np.array([[0.0] * 5, [3.0] + [0.0] * 4])
    y_pool = (rng.random(n_pool) < mix[1]).astype(int)
    y_lab = np.repeat([0, 1], per_class)
    return (centres[y_lab] + rng.normal(size=(len(y_lab), 5)), y_lab,
            centres[y_pool] + rng.normal(size=(n_pool, 5)), y_pool)


def test_simplex_least_squares_recovers_an_exact_mixture(ps):
    A = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    pi = np.array([0.5, 0.3, 0.2])
    assert ps.simplex_lstsq(A, A @ pi) == pytest.approx(pi, abs=1e-6)
    # a target outside the hull lands on the simplex, not beyond it
    out = ps.simplex_lstsq(A, np.array([5.0, -5.0, 0.0]))
    assert out.min() >= 0 and out.sum() == pytest.approx(1.0)


def test_mean_matching_finds_the_pools_mix_from_balanced_labels(ps):
    rng = np.random.default_rng(0)
    X_lab, y_lab, X_pool, _ = _shifted(rng)
    mu, W = ps.whitener(X_pool)
    pi, boot = ps.mean_matching((X_lab - mu) @ W, y_lab, ((X_pool - mu) @ W).mean(axis=0), 2, rng)
    assert pi == pytest.approx([0.8, 0.2], abs=0.05)
    assert boot.shape == (ps.N_BOOT, 2) and np.allclose(boot.sum(axis=1), 1)
    assert boot[:, 0].std() < 0.05  # 200 labels per class pin the class means down


def test_bounded_shift_moves_only_as_far_as_the_bootstrap_agrees(ps):
    base, pi = np.array([0.5, 0.5]), np.array([0.8, 0.2])
    assert ps.bounded_shift(pi, np.tile(pi, (50, 1)), base) == pytest.approx(pi)  # every re-estimate agrees
    spread = np.column_stack([np.linspace(0.2, 0.8, 50), np.linspace(0.8, 0.2, 50)])  # centred on base
    assert ps.bounded_shift(pi, spread, base) == pytest.approx(base)
    half = np.column_stack([np.linspace(0.6, 0.8, 50), np.linspace(0.4, 0.2, 50)])
    moved = ps.bounded_shift(pi, half, base)
    assert 0.5 < moved[0] < 0.8 and moved.sum() == pytest.approx(1.0)
    assert ps.bounded_shift(base, half, base) == pytest.approx(base)  # no estimated shift, no move


def test_reweighting_to_the_true_mix_is_the_bayes_correction(ps):
    # balanced-label posteriors on an 80/20 pool: the re-weighted rule x1 > 1.5 + ln(4)/3 beats x1 > 1.5
    rng = np.random.default_rng(1)
    _, _, X, y = _shifted(rng, mix=(0.8, 0.2))
    logit = 3.0 * X[:, 0] - 4.5  # log p(x|1)/p(x|0) for unit-variance classes at 0 and 3
    probs = np.column_stack([1 / (1 + np.exp(logit)), 1 / (1 + np.exp(-logit))])
    base = np.array([0.5, 0.5])
    plain = ps.reweighted_accuracy(probs, y, base, base)
    fixed = ps.reweighted_accuracy(probs, y, np.array([0.8, 0.2]), base)
    assert plain == pytest.approx(float(((X[:, 0] > 1.5) == y).mean()))
    assert fixed == pytest.approx(float(((X[:, 0] > 1.5 + np.log(4) / 3) == y).mean()))
    assert fixed > plain + 0.01


def test_summary_reports_the_worst_cell_and_the_cells_below_one_point(ps):
    acc = lambda floor, **gains: {"floor": floor, **{e: floor + gains.get(e, 0.0) for e in ps.ESTIMATES}}  # noqa: E731
    rows = [("tune", "digits", 4, acc(0.5, true=0.10, em=-0.03)), ("tune", "digits", 4, acc(0.5, true=0.10, em=0.0)),
            ("tune", "letter", 10, acc(0.6, true=0.02, em=0.04))]
    lines = ps.summarise(rows)
    em = next(line for line in lines if line.startswith("| tune | 2 | em |"))
    assert em == "| tune | 2 | em | +1.25 | -1.5 (digits / 4) | 1 |"  # digits/4: mean of −3 and 0
    true = next(line for line in lines if line.startswith("| all | 2 | true |"))
    assert "+6.00" in true and "+2.0 (letter / 10)" in true
