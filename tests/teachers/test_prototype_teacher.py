import numpy as np
import pytest

from pseudolabel.core.registry import make
from pseudolabel.ops.prototypes import class_prototypes, prototype_scores
from pseudolabel.refine.prototype_band import HIGH, LOW, MIDDLE, PrototypeBand, confidence_band
from pseudolabel.teachers.prototype import PrototypeTeacher


def test_feature_on_a_prototype_with_orthogonal_others():
    K = 4
    protos = np.eye(K)
    s = prototype_scores(protos[[2]] * 3.0, protos, np.arange(K), K, temperature=0.1)
    expected = np.exp(10) / (np.exp(10) + (K - 1))
    np.testing.assert_allclose(s[0, 2], expected, rtol=1e-12)
    np.testing.assert_allclose(s.sum(), 1.0)


def test_two_opposite_prototypes_give_a_monotone_score():
    u = np.array([0.6, 0.8])
    v = np.array([-0.8, 0.6])  # orthogonal to u
    protos = np.stack([u, -u])
    t = np.linspace(-3, 3, 41)
    feats = t[:, None] * u + 0.7 * v
    s = prototype_scores(feats, protos, [0, 1], 2, temperature=0.1)[:, 0]
    assert (np.diff(s) > 0).all()
    np.testing.assert_allclose(s[20], 0.5)  # fᵀu = 0 sits between the prototypes


def test_teacher_recovers_class_means_and_several_prototypes_per_class():
    rng = np.random.default_rng(0)
    # class 0 has two modes (+x and -x), class 1 sits on +y: one mean per class fails on class 0
    X0 = np.vstack([rng.normal([5, 0], 0.3, (50, 2)), rng.normal([-5, 0], 0.3, (50, 2))])
    X1 = rng.normal([0, 5], 0.3, (100, 2))
    X = np.vstack([X0, X1])
    y = np.repeat([0, 1], 100)
    one = PrototypeTeacher(n_prototypes=1, center=False).fit(X, y)
    two = PrototypeTeacher(n_prototypes=2, center=False, random_state=0).fit(X, y)
    assert one.prototypes_.shape == (2, 2) and two.prototypes_.shape == (4, 2)
    acc_one = (one.predict_proba(X).argmax(1) == y).mean()
    acc_two = (two.predict_proba(X).argmax(1) == y).mean()
    assert acc_two == 1.0 and acc_one < 0.8


def test_weighted_class_means_and_centering():
    X = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 1.0], [10.0, 10.0]])
    y = np.array([0, 0, 1, -1])
    P, lab = class_prototypes(X, y, np.array([1.0, 3.0, 1.0, 1.0]), 2)
    np.testing.assert_allclose(P, [[2.5, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(lab, [0, 1])
    t = PrototypeTeacher(center=True).fit(X, y)
    np.testing.assert_allclose(t.mean_, X.mean(axis=0))  # unlabeled rows count in the mean
    p = t.transduce(X, y)
    assert p.shape == (4, 2) and np.allclose(p.sum(1), 1)


def test_teacher_errors_and_registry():
    with pytest.raises(ValueError, match="no labeled rows"):
        PrototypeTeacher().fit(np.ones((3, 2)), np.full(3, -1))
    t = PrototypeTeacher().fit(np.eye(3), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="3 features"):
        t.predict_proba(np.ones((2, 5)))
    assert isinstance(make("teacher", "prototype(n_prototypes=2)"), PrototypeTeacher)


# ------------------------------------------------------------------------ PS-TTL band refiner
def test_band_partition_is_exhaustive_and_disjoint(rng):
    c = np.concatenate([rng.uniform(0, 1, 1000), [0.5, 0.9, 0.0, 1.0]])
    band = confidence_band(c, 0.5, 0.9)
    assert set(np.unique(band)) <= {LOW, MIDDLE, HIGH}
    np.testing.assert_array_equal(band == LOW, c <= 0.5)
    np.testing.assert_array_equal(band == MIDDLE, (c > 0.5) & (c <= 0.9))
    np.testing.assert_array_equal(band == HIGH, c > 0.9)
    with pytest.raises(ValueError, match="tau_lo"):
        confidence_band(c, 0.9, 0.5)


def _band_case():
    lf = np.eye(3)  # one labeled feature per class, orthogonal
    ly = np.arange(3)
    probs = np.array([[0.95, 0.03, 0.02], [0.6, 0.3, 0.1], [0.4, 0.35, 0.25]])
    feats = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
    return probs, feats, lf, ly


def test_band_refiner_replaces_only_the_middle_band():
    probs, feats, lf, ly = _band_case()
    ref = PrototypeBand(use_confident=False)
    ref.update(probs, full_pool=True, features=feats, labeled_features=lf, labeled_y=ly)
    out = ref(probs, features=feats)
    np.testing.assert_array_equal(ref.info_["band"], [HIGH, MIDDLE, LOW])
    np.testing.assert_allclose(out[[0, 2]], probs[[0, 2]])  # high and low bands untouched
    expected = np.exp(10) / (np.exp(10) + 2)
    np.testing.assert_allclose(out[1], [(1 - expected) / 2, expected, (1 - expected) / 2])


def test_confident_pool_rows_join_the_prototypes_offline():
    probs, feats, lf, ly = _band_case()
    ref = PrototypeBand(use_confident=True)
    ref.update(probs, full_pool=True, features=feats, labeled_features=lf, labeled_y=ly)
    np.testing.assert_allclose(ref.prototypes_[0], [1.0, 0.0, 0.0])  # mean of e0 and the confident row e0
    np.testing.assert_allclose(ref.prototypes_[1], [0.0, 1.0, 0.0])


def test_online_queues_are_fifo_and_prototypes_use_ema():
    ref = PrototypeBand(queue_length=2, momentum=0.5, use_confident=False)
    p = np.array([[0.5, 0.5]])
    f = np.zeros((1, 2))
    ref.update(p, features=f, labeled_features=np.array([[1.0, 0.0], [0.0, 1.0]]), labeled_y=np.array([0, 1]))
    np.testing.assert_allclose(ref.prototypes_, np.eye(2))
    ref.update(p, features=f, labeled_features=np.array([[3.0, 0.0], [5.0, 0.0]]), labeled_y=np.array([0, 0]))
    # queue of class 0 keeps the last 2 rows (3,0),(5,0): mean (4,0); EMA 0.5 with (1,0) -> (2.5,0)
    np.testing.assert_allclose(ref.queues_[0], [[3.0, 0.0], [5.0, 0.0]])
    np.testing.assert_allclose(ref.prototypes_[0], [2.5, 0.0])
    np.testing.assert_allclose(ref.prototypes_[1], [0.0, 1.0])  # unseen this step: unchanged
    clone = PrototypeBand(queue_length=2, momentum=0.5, use_confident=False)
    clone.load_state_dict(ref.state_dict())
    x = np.array([[0.6, 0.4]])
    np.testing.assert_allclose(clone(x, features=np.array([[1.0, 1.0]])), ref(x, features=np.array([[1.0, 1.0]])))


def test_band_refiner_needs_features():
    probs, feats, lf, ly = _band_case()
    with pytest.raises(ValueError, match="features"):
        PrototypeBand()(probs, labeled_features=lf, labeled_y=ly)


def test_band_refiner_inside_self_trainer():
    from sklearn.datasets import make_blobs

    from pseudolabel import SelfTrainer

    X, yt = make_blobs(200, centers=3, cluster_std=1.0, random_state=0)
    y = np.full(200, -1)
    for c in range(3):
        y[np.flatnonzero(yt == c)[:3]] = c
    st = SelfTrainer(teacher="prototype", refine=[PrototypeBand()], max_rounds=1, cv=None).fit(X, y)
    assert st.teacher_name_ == "prototype"
    assert (st.predict(X) == yt).mean() > 0.9
