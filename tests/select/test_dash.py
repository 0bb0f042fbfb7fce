import numpy as np
import pytest

from pseudolabel.core import Context, make
from pseudolabel.select import Dash
from pseudolabel.select.dash import DASH_C, DASH_GAMMA, dash_threshold, pseudo_label_ce

# docs/methods/select.md, `dash`: four rows, K = 2, paper constants C = 1.0001, γ = 1.27
P = np.array([[0.9, 0.1], [0.6, 0.4], [0.75, 0.25], [0.5, 0.5]])
LOSS = np.array([0.1053605157, 0.5108256238, 0.2876820725, 0.6931471806])  # −ln 0.9, −ln 0.6, −ln 0.75, −ln 0.5
RHO_HAT = 0.3992538481  # mean of LOSS
RHO = {1: 0.3992937735, 2: 0.3144045461, 3: 0.2475626347}  # 1.0001 · 1.27^−(t−1) · ρ̂


def test_paper_constants_and_schedule():
    assert (DASH_C, DASH_GAMMA) == (1.0001, 1.27)
    np.testing.assert_allclose(pseudo_label_ce(P), LOSS, rtol=1e-9)
    for t, rho in RHO.items():
        assert dash_threshold(t, RHO_HAT) == pytest.approx(rho, rel=1e-9)
    assert dash_threshold(3, 1.0, rho_min=0.9) == 0.9
    with pytest.raises(ValueError, match="from 1"):
        dash_threshold(0, 1.0)


def test_known_answer_offline_rounds_shrink_the_threshold():
    # ρ̂ from the first update's mean loss (no labeled probabilities in the context);
    # round r is t = r + 1:  ρ₁ = 0.39929 keeps rows 0, 2 (ℓ = 0.105, 0.288);
    # ρ₂ = 0.31440 still keeps both; ρ₃ = 0.24756 keeps only row 0
    dash = make("select", "dash")
    expected = {0: [1, 0, 1, 0], 1: [1, 0, 1, 0], 2: [1, 0, 0, 0]}
    for r, weights in expected.items():
        dash.update(P, full_pool=True, round=r, max_rounds=2)
        sel = dash.select(P, full_pool=True, round=r, max_rounds=2)
        np.testing.assert_array_equal(sel.weights, weights)
        np.testing.assert_array_equal(sel.labels, [0, 0, 0, 0])
        np.testing.assert_allclose(sel.info["rho"], RHO[r + 1], rtol=1e-9)
        np.testing.assert_allclose(sel.info["pl_loss"], LOSS, rtol=1e-9)
    assert dash.rho_hat_ == pytest.approx(RHO_HAT, rel=1e-9)


def test_known_answer_level_from_labeled_rows():
    # labeled rows p = (0.9, 0.1) with y = 0 and (0.2, 0.8) with y = 1: ℓ = 0.10536, 0.22314,
    # ρ̂ = 0.16425, ρ₁ = 0.16427 → only row 0 (ℓ = 0.105) passes
    ctx = {"full_pool": True, "round": 0, "labeled_probs": np.array([[0.9, 0.1], [0.2, 0.8]]), "labeled_y": np.array([0, 1])}
    dash = Dash()
    dash.update(P, ctx)
    assert dash.rho_hat_ == pytest.approx(0.1642520335, rel=1e-9)
    np.testing.assert_array_equal(dash(P, ctx), [1, 0, 0, 0])


def test_known_answer_explicit_level_and_floor():
    # ρ̂ = 0.3: ρ₁ = 0.30003 keeps rows 0 and 2, ρ₃ = 0.18602 only row 0, unless the floor 0.29 holds it
    dash = Dash(rho_hat=0.3)
    dash.update(P, full_pool=True, round=0)
    np.testing.assert_array_equal(dash(P, full_pool=True, round=0), [1, 0, 1, 0])
    np.testing.assert_array_equal(dash(P, full_pool=True, round=2), [1, 0, 0, 0])
    floored = Dash(rho_hat=0.3, rho_min=0.29)
    floored.update(P, full_pool=True, round=2)
    np.testing.assert_array_equal(floored(P, full_pool=True, round=2), [1, 0, 1, 0])


def test_online_clock_counts_update_calls():
    # mini-batches (no full_pool): t = number of update calls; ρ̂ from the first batch (= P)
    dash = Dash()
    for step, rows in enumerate(([0, 1, 2, 3], [1, 3], [0, 2]), start=1):
        dash.update(P[rows], idx=np.array(rows))
        assert dash.step(Context(idx=np.array(rows))) == step
    np.testing.assert_allclose(dash.select(P, idx=np.arange(4)).info["rho"], RHO[3], rtol=1e-9)
    np.testing.assert_array_equal(dash(P, idx=np.arange(4)), [1, 0, 0, 0])
    slow = Dash(update_every=2)  # three calls are step 2
    for rows in ([0, 1, 2, 3], [1, 3], [0, 2]):
        slow.update(P[rows], idx=np.array(rows))
    np.testing.assert_array_equal(slow(P, idx=np.arange(4)), [1, 0, 1, 0])


def test_state_round_trip_and_empty_first_batch():
    dash = Dash()
    dash.update(np.zeros((0, 2)), idx=np.zeros(0, dtype=int))  # nothing to estimate ρ̂ from yet
    assert dash.rho_hat_ is None
    dash.update(P, idx=np.arange(4))
    assert dash.rho_hat_ == pytest.approx(RHO_HAT, rel=1e-9)
    resumed = Dash()
    resumed.load_state_dict(dash.state_dict())
    np.testing.assert_array_equal(resumed(P, idx=np.arange(4)), dash(P, idx=np.arange(4)))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="rho_hat"):
        Dash(rho_hat=0.0).update(P, full_pool=True)
    with pytest.raises(ValueError, match="update_every"):
        Dash(update_every=0).select(P, idx=np.arange(4))
