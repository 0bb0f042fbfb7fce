import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from pseudolabel import SelfTrainer
from pseudolabel.core.registry import make
from pseudolabel.ops.ensemble import (
    mean_entropy,
    mean_prediction,
    mutual_information,
    vote_disagreement,
)
from pseudolabel.select.threshold import FixedThreshold
from pseudolabel.teachers.ensemble import EnsembleTeacher, stratified_bootstrap


def test_identical_members_have_zero_mutual_information(rng):
    p = rng.dirichlet(np.ones(4), size=50)
    P = np.stack([p] * 5)
    np.testing.assert_allclose(mutual_information(P), 0.0, atol=1e-12)
    np.testing.assert_allclose(mean_prediction(P), p)
    np.testing.assert_allclose(vote_disagreement(P), 0.0)


def test_two_one_hot_heads_on_different_classes():
    P = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # (M=2, n=1, K=2)
    np.testing.assert_allclose(mutual_information(P), [np.log(2)])
    np.testing.assert_allclose(mean_prediction(P), [[0.5, 0.5]])
    np.testing.assert_allclose(vote_disagreement(P), [0.5])
    # excluded by the UPL-SFDA reliability mask 1[max p̄ >= 0.9]
    assert FixedThreshold(threshold=0.9)(mean_prediction(P))[0] == 0.0


def test_mean_entropy_is_zero_exactly_when_heads_agree_on_one_hot():
    agree = np.array([[[0.0, 1.0, 0.0]]] * 3)
    np.testing.assert_allclose(mean_entropy(agree), [0.0], atol=1e-12)
    soft = np.array([[[0.1, 0.9, 0.0]]] * 3)
    split = np.array([[[0.0, 1.0, 0.0]], [[0.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]]])
    assert mean_entropy(soft)[0] > 0.1
    assert mean_entropy(split)[0] > 0.1


def test_stratified_bootstrap_keeps_every_class_and_its_count(rng):
    y = np.repeat(np.arange(5), 4)
    for _ in range(20):
        rows = stratified_bootstrap(y, rng)
        np.testing.assert_array_equal(np.bincount(y[rows], minlength=5), np.full(5, 4))


def test_teacher_exposes_members_and_uncertainty():
    X, y_true = make_blobs(300, centers=3, cluster_std=2.5, random_state=0)
    y = np.full(300, -1)
    y[:30] = y_true[:30]
    t = EnsembleTeacher(n_members=5, random_state=0)
    p = t.transduce(X, y, n_classes=4)  # a 4th class absent from the labels keeps a zero column
    assert p.shape == (300, 4)
    assert t.members_proba_.shape == (5, 300, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(p, t.members_proba_.mean(axis=0), atol=1e-6)
    assert (p[:, 3] == 0).all()
    assert t.uncertainty_.shape == (300,) and (t.uncertainty_ >= 0).all()
    assert t.uncertainty_.max() > 0  # bootstrap members differ somewhere
    np.testing.assert_allclose(t.predict_proba(X[:10]), p[:10], atol=1e-6)


def test_members_disagree_away_from_the_data_not_at_class_centres():
    # bootstrap members agree where data is dense; far from it, on the boundary's extension,
    # the boundary's tilt varies between members (epistemic uncertainty)
    centers = np.array([[-4.0, 0.0], [4.0, 0.0]])
    X, y = make_blobs(40, centers=centers, cluster_std=1.0, random_state=0)
    t = EnsembleTeacher(n_members=16, random_state=0).fit(X, y)
    P = t.predict_members(np.array([[-4.0, 0.0], [4.0, 0.0], [0.0, 6.0]]))
    mi = mutual_information(P)
    assert mi[2] > 10 * max(mi[0], mi[1])
    assert vote_disagreement(P)[2] > 0 and vote_disagreement(P)[0] == 0


def test_seed_ensemble_without_resampling_differs_by_random_state():
    X, y = make_blobs(120, centers=2, cluster_std=3.0, random_state=1)
    grid = np.random.default_rng(0).uniform(X.min(0), X.max(0), size=(200, 2))
    t = EnsembleTeacher(DecisionTreeClassifier(max_features=1), n_members=4, resample="none", random_state=0)
    P = t.fit(X, y).predict_members(grid)
    assert not np.allclose(P[0], P[1])  # distinct seeds, distinct trees
    same = EnsembleTeacher(GaussianNB(), n_members=3, resample="none").fit(X, y).predict_members(grid)
    np.testing.assert_allclose(same[0], same[1])  # a deterministic estimator on the same rows


def test_input_noise_and_feature_subsets_perturb_members():
    X, y = make_blobs(200, centers=2, cluster_std=2.0, random_state=2)
    P = EnsembleTeacher(GaussianNB(), n_members=3, resample="none", input_noise=0.5, random_state=0).fit(X, y).predict_members(X)
    assert not np.allclose(P[0], P[1])
    t = EnsembleTeacher(GaussianNB(), n_members=3, resample="none", max_features=0.5, random_state=0).fit(X, y)
    assert all(len(c) == 1 for c in t.features_)


def test_bad_arguments_raise_clear_errors():
    X, y = make_blobs(30, centers=2, random_state=0)
    with pytest.raises(ValueError, match="resample"):
        EnsembleTeacher(resample="jackknife").fit(X, y)
    with pytest.raises(ValueError, match="n_members"):
        EnsembleTeacher(n_members=0).fit(X, y)
    with pytest.raises(ValueError, match="no labeled rows"):
        EnsembleTeacher().fit(X, np.full(30, -1))
    with pytest.raises(ValueError, match="member_probs"):
        mutual_information(np.ones((3, 2)))


def test_registered_and_usable_inside_self_trainer():
    assert isinstance(make("teacher", "ensemble(n_members=3)"), EnsembleTeacher)
    X, y_true = make_blobs(240, centers=3, cluster_std=1.5, random_state=3)
    y = np.full(240, -1)
    for c in range(3):
        y[np.flatnonzero(y_true == c)[:4]] = c
    st = SelfTrainer(teacher="ensemble(n_members=3, random_state=0)", max_rounds=1, cv=2, random_state=0).fit(X, y)
    assert st.teacher_name_ == "ensemble"
    assert (st.predict(X) == y_true).mean() > 0.9
