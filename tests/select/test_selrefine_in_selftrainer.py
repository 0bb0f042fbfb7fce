"""Every new refiner, selector and the cluster teacher run inside SelfTrainer by name."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from pseudolabel.core.record import UNKNOWN
from pseudolabel.learn.self_training import SelfTrainer


@pytest.fixture(scope="module")
def small_digits():
    """800 digits rows, 4 labels per class (the rest unlabeled)."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    keep = rng.permutation(len(y))[:800]
    X, y = X[keep] / 16.0, y[keep]
    y_obs = np.full(len(y), -1)
    for c in range(10):
        y_obs[np.flatnonzero(y == c)[:4]] = c
    return X, y, y_obs


def _fit(X, y_obs, **kw):
    kw.setdefault("max_rounds", 2)
    kw.setdefault("cv", 2)
    kw.setdefault("random_state", 0)
    kw.setdefault("fallback", False)
    return SelfTrainer(**kw).fit(X, y_obs)


SELECTORS = [
    "entropy(threshold=0.6)",
    "margin(threshold=0.3)",
    "gmm",
    "grip",
    "llkd",
    "openset(threshold=0.5)",
    "cwbass",
    "dash",
    "partial_ot(rho='ramp')",
]


@pytest.mark.parametrize("spec", SELECTORS)
def test_selector_by_name(small_digits, spec):
    X, y, y_obs = small_digits
    model = _fit(X, y_obs, select=spec)
    pl = model.pseudo_labels_
    acc = pl.accepted
    assert acc.any()
    # supervised-only scores 0.83 here; a broken selector (random or no labels) lands far below
    assert (pl.label[acc] == y[pl.index[acc]]).mean() > 0.85
    assert model.score(X, y) > 0.75


REFINERS = ["temporal", "smooth", "decay", "label_correction", "partial_ot", "calibrate,partial_ot(rho=0.5)"]


@pytest.mark.parametrize("spec", REFINERS)
def test_refiner_by_name(small_digits, spec):
    X, y, y_obs = small_digits
    model = _fit(X, y_obs, refine=spec, select="threshold(threshold=0.5)")
    pl = model.pseudo_labels_
    acc = pl.accepted
    assert acc.any()
    assert (pl.label[acc] == y[pl.index[acc]]).mean() > 0.7
    assert model.score(X, y) > 0.7


def test_dlg_lc_pair(small_digits):
    X, y, y_obs = small_digits
    model = _fit(X, y_obs, refine="calibrate,label_correction", select="gmm", max_rounds=3)
    assert "clean_posterior" in model.pseudo_labels_.extras
    assert model.score(X, y) > 0.7


def test_cluster_teacher_by_name(small_digits):
    X, y, y_obs = small_digits
    model = _fit(X, y_obs, teacher="cluster", select="threshold(threshold=0.5)")
    assert model.teacher_name_ == "cluster"
    assert model.score(X, y) > 0.7


class BaggedTeacher(BaseEstimator):
    """A tiny ensemble teacher: logistic regressions on bootstrap resamples of the labels."""

    def __init__(self, n_members: int = 4, random_state: int = 0):
        self.n_members = n_members
        self.random_state = random_state

    def transduce(self, X, y, sample_weight=None, *, n_classes=None):
        rng = np.random.default_rng(self.random_state)
        lab = np.flatnonzero(y >= 0)
        members = []
        for _ in range(self.n_members):
            rows = rng.choice(lab, size=len(lab), replace=True)
            clf = LogisticRegression(max_iter=500).fit(X[rows], y[rows])
            out = np.zeros((len(X), n_classes))
            out[:, clf.classes_] = clf.predict_proba(X)
            members.append(out)
        self.members_proba_ = np.stack(members)
        self.mean_ = self.members_proba_.mean(0)
        return self.mean_

    def predict_proba(self, X):
        return np.full((len(X), self.mean_.shape[1]), 1.0 / self.mean_.shape[1])


def test_ensemble_gate_gets_member_probs(small_digits):
    X, y, y_obs = small_digits
    model = _fit(X, y_obs, teacher=BaggedTeacher(), select="ensemble_gate(measure='mi', threshold=0.005)", teacher_weight=0.0)
    pl = model.pseudo_labels_
    assert "mi" in pl.extras and pl.accepted.any() and not pl.accepted.all()


def test_openset_marks_unknown_rows(small_digits):
    # label only classes 0–5: rows of 6–9 in the pool should come out UNKNOWN more often
    X, y, y_obs = small_digits
    y_known = np.where(y_obs < 6, y_obs, -1)
    model = _fit(X, y_known, select="openset(threshold=0.0)", max_rounds=1)
    pl = model.pseudo_labels_
    novel = y[pl.index] >= 6
    unk = pl.label == UNKNOWN
    assert unk[novel].mean() > 2 * unk[~novel].mean()
