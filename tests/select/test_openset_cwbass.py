import numpy as np
import pytest

from pseudolabel.core.record import UNKNOWN
from pseudolabel.select import CWBASS, OpenSetGate, OVAHeads, cwbass_threshold, open_set_targets


def test_open_set_targets_sum_to_one_and_limits(rng):
    # docs/methods/select.md, `openset` (a), (b)
    p = rng.dirichlet(np.ones(4), size=50)
    r = rng.random((50, 4))
    q = open_set_targets(p, r)
    np.testing.assert_allclose(q.sum(axis=1), 1.0)
    np.testing.assert_allclose(open_set_targets(p, np.zeros_like(p)), np.tile([0, 0, 0, 0, 1.0], (50, 1)))
    np.testing.assert_allclose(open_set_targets(p, np.ones_like(p))[:, :4], p)
    with pytest.raises(ValueError, match="ova_probs"):
        open_set_targets(p, r[:, :3])


def test_outlier_is_unknown_and_excluded():
    # docs/methods/select.md, `openset` (c): all r_neg = 0.9 ⇒ q_{K+1} = 0.9 ⇒ UNKNOWN with weight 0
    p = np.array([[0.97, 0.02, 0.01], [0.97, 0.02, 0.01], [0.5, 0.3, 0.2]])
    r = np.array([[0.1, 0.1, 0.1], [0.95, 0.2, 0.2], [0.9, 0.9, 0.9]])
    sel = OpenSetGate(threshold=0.95)
    selection = sel.select(p, ova_probs=r)
    np.testing.assert_array_equal(selection.weights, [0, 1, 0])
    np.testing.assert_array_equal(selection.labels, [UNKNOWN, 0, 0])
    np.testing.assert_allclose(sel.info_["outlier_score"][0], 0.9)


def test_ova_heads_flag_an_unseen_cluster():
    # three labeled blobs; the pool adds a fourth blob far from all of them
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [6, 0], [0, 6]], dtype=float)
    X_lab = np.vstack([c + rng.normal(scale=0.5, size=(5, 2)) for c in centers])
    y_lab = np.repeat(np.arange(3), 5)
    X_in = np.vstack([c + rng.normal(scale=0.5, size=(20, 2)) for c in centers])
    X_out = np.array([-6.0, -6.0]) + rng.normal(scale=0.5, size=(20, 2))
    X = np.vstack([X_in, X_out])
    heads = OVAHeads().fit(X_lab, y_lab, 3, X)
    r = heads.predict_proba(X)
    # closed-set p: a softmax over negative distances puts the outliers on class 0 confidently
    d = ((X[:, None, :] - centers[None]) ** 2).sum(-1)
    p = np.exp(-(d - d.min(1, keepdims=True)))
    p /= p.sum(1, keepdims=True)
    sel = OpenSetGate(threshold=0.0)
    selection = sel.select(p, features=X, labeled_features=X_lab, labeled_y=y_lab)
    w, label = selection.weights, selection.labels
    np.testing.assert_allclose(sel.info_["outlier_score"], open_set_targets(p, r)[:, -1])
    assert (label[60:] == UNKNOWN).mean() >= 0.9
    assert (label[:60] >= 0).mean() >= 0.9 and w[:60].mean() >= 0.9
    # linear heads extrapolate: the blob behind class 0 passes as class 0
    lin = OpenSetGate(threshold=0.0, kernel="linear")
    assert (lin.select(p, features=X, labeled_features=X_lab, labeled_y=y_lab).labels[60:] == UNKNOWN).mean() <= 0.1
    with pytest.raises(ValueError, match="labeled_features"):
        OpenSetGate()(p)


def test_cwbass_dynamic_threshold_is_nearly_constant():
    # docs/methods/select.md, `cwbass`: with the defaults τ_dyn ∈ [0.300, 0.337] for any mean confidence
    taus = cwbass_threshold(np.linspace(0, 1, 101))
    assert taus.min() == pytest.approx(0.3) and taus.max() == pytest.approx(0.3373, abs=1e-4)
    assert cwbass_threshold(0.0) == pytest.approx(0.3)  # raw 0.2627, clipped
    assert 0.6 / (1 + np.exp(0.25)) == pytest.approx(0.2627, abs=1e-4)


def test_cwbass_gamma_zero_is_masked_ce_and_weights_are_c_gamma():
    p = np.array([[0.9, 0.1], [0.6, 0.4], [0.55, 0.45]])
    orig = CWBASS(floor=None)
    np.testing.assert_allclose(orig(p), [0.9, 0.6, 0.55])  # all above 0.3, weight c^1
    np.testing.assert_array_equal(CWBASS(gamma=0, floor=None)(p), [1, 1, 1])
    np.testing.assert_allclose(CWBASS(gamma=2, floor=None, decay=0.9)(p), 0.9 * p.max(1) ** 2)


def test_cwbass_floor_rises_with_confidence():
    p = np.array([[0.99, 0.01]] * 8 + [[0.6, 0.4], [0.55, 0.45]])
    sel = CWBASS()
    sel.update(p, full_pool=True)  # floor = 0.95 · mean c = 0.95 · 0.907 ≈ 0.862 → clipped 0.8
    w = sel(p)
    assert sel.info_["threshold"][0] == pytest.approx(0.8)
    np.testing.assert_array_equal(w > 0, [True] * 8 + [False, False])
    fresh = CWBASS()
    fresh.load_state_dict(sel.state_dict())
    np.testing.assert_array_equal(fresh(p), w)
