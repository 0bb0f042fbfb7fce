import numpy as np
import pytest
from sklearn.base import clone

from pseudolabel.select import GRIP, LLKD, grip_k, topk_per_class


def test_grip_schedule_grows_and_covers_everything():
    # docs/methods/select.md, `topk` (c): N divisible by 10·C ⇒ after round 10 all N samples are labeled
    p = np.random.default_rng(0).dirichlet(np.ones(3), size=300)
    sel = GRIP(n_steps=10)
    sizes, seen = [], []
    for r in range(10):
        selection = sel.select(p, round=r)
        w, label = selection.weights, selection.resolved_labels()
        assert np.all(np.bincount(label[label >= 0], minlength=3) == sel.k_)  # balanced
        sizes.append(int(w.sum()))
        seen.append(label)
    assert sizes == [30 * (r + 1) for r in range(10)]
    assert (seen[-1] >= 0).all()
    assert grip_k(0, 300, 3, 10) == 10 and grip_k(9, 300, 3, 10) == 100


def test_grip_uses_topk_assignment_and_max_rounds():
    p = np.random.default_rng(1).dirichlet(np.ones(4), size=200)
    sel = GRIP()
    selection = sel.select(p, round=1, max_rounds=3)  # n_steps = 4 ⇒ k = 2·⌊(200/4)/4⌋ = 24
    assert sel.k_ == 24
    np.testing.assert_array_equal(selection.resolved_labels(), topk_per_class(p, 24))
    assert (sel.select(p, round=3, max_rounds=3).resolved_labels() >= 0).all()


def test_grip_online_counts_updates():
    p = np.random.default_rng(2).dirichlet(np.ones(2), size=40)
    sel = GRIP(n_steps=4)
    sel.update(p)
    sel(p)
    assert sel.k_ == 5
    sel.update(p)
    sel(p)
    assert sel.k_ == 10
    fresh = clone(sel)
    fresh.load_state_dict(sel.state_dict())
    fresh(p)
    assert fresh.k_ == 10


def _llkd_case():
    # class 0 rows: teacher confidences and student uncertainties known by construction
    c = np.array([0.95, 0.9, 0.6, 0.55, 0.97, 0.92])
    p = np.column_stack([c, 1 - c])
    u = np.array([0.9, 0.2, 0.95, 0.1, 0.6, 0.8])  # wanted normalised student entropies
    # build student probs with those entropies (binary: solve H(q)/log 2 = u)
    from scipy.optimize import brentq

    q1 = np.array([brentq(lambda t, v=v: -(t * np.log(t) + (1 - t) * np.log(1 - t)) / np.log(2) - v, 1e-9, 0.5) for v in u])
    return p, np.column_stack([1 - q1, q1]), u


def test_llkd_teacher_below_threshold_gets_zero_weight():
    p, q, u = _llkd_case()
    sel = LLKD()
    sel.update(p, full_pool=True, student_probs=q)
    w = sel(p, student_probs=q)
    tau_t, tau_s = sel.thresholds()
    assert tau_t[0] == pytest.approx(p[:, 0].mean())  # one class ⇒ MaxNorm = 1
    assert tau_s[0] == pytest.approx(u.mean(), abs=1e-6)
    low_conf = p.max(1) < tau_t[0]
    assert np.all(w[low_conf] == 0)  # (a) regardless of how unsure the student is (row 2: u = .95)
    assert w[2] == 0 and u[2] == u.max()
    kept = w > 0
    np.testing.assert_array_equal(kept, [True, False, False, False, True, True])
    # (b) among kept rows, weight ∝ c·u, max = 1
    np.testing.assert_allclose(w[kept], (p.max(1) * u)[kept] / (p.max(1) * u)[kept].max(), rtol=1e-5)


def test_llkd_certain_student_selects_nothing():
    p, _, _ = _llkd_case()
    q = np.column_stack([np.ones(6), np.zeros(6)])  # (c) student certain everywhere
    sel = LLKD()
    sel.update(p, full_pool=True, student_probs=q)
    assert sel(p, student_probs=q).sum() == 0


def test_llkd_round_zero_without_a_student():
    p, _, _ = _llkd_case()
    w = LLKD()(p, student_probs=None)  # no student yet: u ≡ 1, teacher threshold only
    np.testing.assert_array_equal(w > 0, p.max(1) >= p.max(1).mean())
    np.testing.assert_array_equal(LLKD()(p), w)  # an absent field means the same: no student
    with pytest.raises(ValueError, match="student_probs has shape"):
        LLKD()(p, student_probs=np.full((2, p.shape[1]), 1 / p.shape[1]))


def test_llkd_classwise_thresholds_protect_a_rare_class():
    # class 1 is predicted with lower confidence; a global threshold would drop all of it
    p = np.array([[0.95, 0.05]] * 8 + [[0.3, 0.7], [0.35, 0.65]])
    q = np.full((10, 2), 0.5)
    sel = LLKD()
    sel.update(p, full_pool=True, student_probs=q)
    w = sel(p, student_probs=q)
    assert w[8] > 0  # 0.7 ≥ mean(c)·(0.675/0.95) ≈ 0.63
