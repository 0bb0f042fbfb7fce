import numpy as np
import pytest
from sklearn.base import BaseEstimator

from pseudolabel.core.registry import make
from pseudolabel.teachers.choice import TeacherChoice, agreement, choose


class Fixed(BaseEstimator):
    """A teacher that returns fixed probabilities (for known-answer tests)."""

    def __init__(self, probs=None):
        self.probs = probs

    def transduce(self, X, y, sample_weight=None, *, n_classes=None):
        return np.asarray(self.probs)

    def fit(self, X, y, sample_weight=None, *, n_classes=None):
        return self

    def predict_proba(self, X):
        return np.asarray(self.probs)[: len(X)]


LOCAL = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.5, 0.5]])
GLOBAL = np.array([[0.7, 0.3], [0.1, 0.9], [0.4, 0.6], [0.5, 0.5]])


def test_most_confident_teacher_labels_each_row():
    t = TeacherChoice([Fixed(LOCAL), Fixed(GLOBAL)])
    p = t.transduce(np.zeros((4, 1)), np.full(4, -1), n_classes=2)
    np.testing.assert_array_equal(t.chosen_, [0, 1, 0, 0])  # a tie goes to the first teacher
    np.testing.assert_allclose(p, [LOCAL[0], GLOBAL[1], LOCAL[2], LOCAL[3]])
    np.testing.assert_array_equal(t.agreement_, [True, False, True, True])
    assert t.members_proba_.shape == (2, 4, 2)


def test_entropy_criterion_and_three_teachers():
    third = np.array([[0.34, 0.33, 0.33], [0.0, 0.0, 1.0]])
    a = np.array([[0.5, 0.5, 0.0], [0.4, 0.3, 0.3]])
    b = np.array([[0.6, 0.2, 0.2], [0.3, 0.4, 0.3]])
    P = np.stack([a, b, third])
    probs, best = choose(P, "entropy")
    np.testing.assert_array_equal(best, [0, 2])  # H(.5,.5,0) < H(.6,.2,.2); a one-hot wins
    np.testing.assert_array_equal(agreement(P), [True, False])
    with pytest.raises(ValueError, match="criterion"):
        choose(P, "votes")


def test_require_agreement_rejects_disagreeing_rows():
    t = TeacherChoice([Fixed(LOCAL), Fixed(GLOBAL)], require_agreement=True)
    p = t.transduce(np.zeros((4, 1)), np.full(4, -1), n_classes=2)
    np.testing.assert_allclose(p[1], [0.5, 0.5])
    np.testing.assert_allclose(p[0], LOCAL[0])


def test_default_teachers_by_name_inside_self_trainer():
    from sklearn.datasets import make_blobs

    from pseudolabel import SelfTrainer

    assert isinstance(make("teacher", "choice(teachers=['graph', 'prototype'])"), TeacherChoice)
    X, yt = make_blobs(150, centers=[[0, 5], [5, -3], [-5, -3]], cluster_std=1.0, random_state=0)
    y = np.full(150, -1)
    for c in range(3):
        y[np.flatnonzero(yt == c)[:3]] = c
    t = TeacherChoice()  # graph + estimator (TeacherMixin: fitted, then predicted)
    p = t.transduce(X, y, n_classes=3)
    assert (p.argmax(1) == yt).mean() > 0.95
    st = SelfTrainer(teacher="choice", max_rounds=1, cv=2, random_state=0).fit(X, y)
    assert (st.predict(X) == yt).mean() > 0.95


def test_needs_two_teachers():
    with pytest.raises(ValueError, match="at least 2"):
        TeacherChoice(["graph"]).transduce(np.zeros((3, 2)), np.array([0, 1, -1]))
