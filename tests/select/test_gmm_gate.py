import numpy as np
import pytest

from pseudolabel.select import GMMGate, loss_gate, pseudo_label_loss


def test_known_answer_two_loss_groups():
    # docs/methods/select.md, `gmm`: 800 losses ~ N(0.2, 0.05) and 200 ~ N(2.0, 0.3)
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0.2, 0.05, 800), rng.normal(2.0, 0.3, 200)])
    post, gmm, (lo, hi), clean = loss_gate(x, return_model=True)
    assert (post[:800] > 0.5).mean() >= 0.98
    assert (post[800:] > 0.5).mean() <= 0.02
    means = np.sort(gmm.means_.ravel() * (hi - lo) + lo)
    np.testing.assert_allclose(means, [0.2, 2.0], atol=0.05)
    np.testing.assert_allclose(np.sort(gmm.weights_), [0.2, 0.8], atol=0.01)
    grid = np.linspace(0, 3, 3001)
    g_post, *_ = loss_gate(np.concatenate([x, grid]), return_model=True)
    gate = grid[np.argmax(g_post[len(x):] <= 0.5)]
    assert 0.35 < gate < 1.2


def test_posterior_is_monotone_and_one_below_clean_mean():
    rng = np.random.default_rng(3)
    # narrow clean component, wide noisy one: the raw posterior would drop at the far left
    x = np.concatenate([rng.normal(1.0, 0.02, 500), rng.normal(2.5, 0.8, 200), [0.0]])
    post = loss_gate(x)
    order = np.argsort(x)
    assert np.all(np.diff(post[order]) <= 1e-12)
    assert post[-1] == 1.0  # the smallest loss is the most reliable


def test_nothing_to_separate_keeps_everything():
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(loss_gate(np.full(10, 0.3)), 1.0)
    np.testing.assert_array_equal(loss_gate(rng.uniform(0.01, 0.16, 200)), 1.0)  # all losses small


def test_loss_uses_student_or_teacher():
    p = np.array([[0.9, 0.1], [0.3, 0.7]])
    q = np.array([[0.5, 0.5], [0.9, 0.1]])
    np.testing.assert_allclose(pseudo_label_loss(p), -np.log([0.9, 0.7]))
    np.testing.assert_allclose(pseudo_label_loss(p, q), -np.log([0.5, 0.1]))
    with pytest.raises(ValueError, match="student_probs"):
        pseudo_label_loss(p, q[:1])


def test_selector_soft_and_hard_and_round_zero():
    rng = np.random.default_rng(1)
    good = np.tile([0.95, 0.05], (90, 1))
    bad = np.tile([0.55, 0.45], (10, 1))
    p = np.vstack([good, bad])
    student = np.vstack([np.column_stack([u := rng.uniform(0.9, 0.99, 90), 1 - u]), np.tile([0.02, 0.98], (10, 1))])
    gate = GMMGate()
    w = gate(p, student_probs=student)
    np.testing.assert_array_equal(w, np.r_[np.ones(90), np.zeros(10)])
    assert set(gate.info_) == {"clean_posterior", "pl_loss"}
    soft = GMMGate(soft=True)(p, student_probs=student)
    assert np.all((soft >= 0) & (soft <= 1)) and soft[:90].min() > soft[90:].max()
    # round 0: the teacher's own CE −log c; the unconfident rows form the noisy component
    c = np.r_[rng.uniform(0.97, 0.999, 90), rng.uniform(0.36, 0.4, 10)]
    p0 = np.column_stack([c, (1 - c) * 0.6, (1 - c) * 0.4])
    w0 = GMMGate()(p0, student_probs=None)
    np.testing.assert_array_equal(w0, np.r_[np.ones(90), np.zeros(10)])
