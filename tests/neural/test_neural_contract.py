"""Every registered selector and refiner works in ConsistencyClassifier, per step and at the end of fit.

The end of fit builds the same kind of context as a training step: the returned model's features
of the rows and of the training labels, the trained student's probabilities, the multi-head
teacher's heads, the rows' pool positions, round / max_rounds. The explicit tests below check
that those fields reached the components that need them.
"""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.datasets import make_blobs  # noqa: E402

from pseudolabel import PseudoLabels  # noqa: E402
from pseudolabel.core.record import UNKNOWN  # noqa: E402
from pseudolabel.core.registry import available  # noqa: E402
from pseudolabel.learn.neural import ConsistencyClassifier  # noqa: E402
from pseudolabel.learn.neural.pseudo import forward  # noqa: E402
from pseudolabel.ops.ensemble import ensemble_uncertainty  # noqa: E402
from pseudolabel.ops.prototypes import prototype_scores  # noqa: E402
from pseudolabel.ops.simplex import normalize_rows, normalized_entropy  # noqa: E402
from pseudolabel.select.openset import OVAHeads, open_set_targets  # noqa: E402

TINY = dict(batch_size=8, mu=2, hidden_sizes=(16,), max_epochs=2, steps_per_epoch=3, n_threads=1, random_state=0)
TRAINED = {**TINY, "lr": 0.05, "max_epochs": 6}  # 18 steps: confident rows, a student ahead of its EMA
SELECTORS = sorted(available("select"))
REFINERS = sorted(available("refine"))


def tiny_blobs(n=150, per_class=5, centers=3, seed=0, unseen=0):
    """2-D blobs, ``per_class`` labels per class (one per class is held out), plus ``unseen``
    unlabeled rows of a class nobody labeled, far from the others."""
    X, y = make_blobs(n, n_features=2, centers=centers, cluster_std=1.5, random_state=seed)
    rng = np.random.default_rng(seed)
    y_semi = np.full(len(y), -1)
    for c in range(centers):
        y_semi[rng.choice(np.flatnonzero(y == c), per_class, replace=False)] = c
    if unseen:
        X = np.vstack([X, rng.normal(0, 0.5, (unseen, 2)) + X.max(axis=0) + 8.0])
        y_semi = np.concatenate([y_semi, np.full(unseen, -1)])
    return X, y_semi


def check_fitted(clf, X, y_semi):
    """Trained (history, finite losses), predicts, and ``pseudo_labels_`` is a valid record."""
    K = len(clf.classes_)
    assert clf.n_steps_ == 3 * clf.max_epochs and len(clf.history_) == clf.max_epochs
    assert all(np.isfinite(e["loss"]) for e in clf.history_)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), K) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= set(clf.classes_)
    pl = clf.pseudo_labels_
    unl = np.flatnonzero(y_semi < 0)
    assert isinstance(pl, PseudoLabels) and np.array_equal(pl.index, unl)
    assert pl.probs.shape == (len(unl), K) and (pl.probs >= 0).all() and np.allclose(pl.probs.sum(axis=1), 1.0, atol=1e-5)
    assert ((pl.weight >= 0) & (pl.weight <= 1)).all() and ((pl.label >= UNKNOWN) & (pl.label < K)).all()
    assert (pl.weight[pl.label < 0] == 0).all()
    acc = pl.label >= 0
    assert np.allclose(pl.confidence[acc], pl.probs[acc, pl.label[acc]], atol=1e-6)
    assert (pl.round == clf.best_epoch_).all() and (pl.source == f"neural-{clf.teacher}").all()
    return pl


@pytest.mark.parametrize("select", SELECTORS)
def test_every_selector_trains_and_labels(select):
    X, y_semi = tiny_blobs()
    clf = ConsistencyClassifier(select=select, **TINY).fit(X, y_semi)
    check_fitted(clf, X, y_semi)


@pytest.mark.parametrize("refine", REFINERS)
def test_every_refiner_trains_and_labels_with_the_default_selector(refine):
    X, y_semi = tiny_blobs()
    clf = ConsistencyClassifier(refine=refine, **TINY).fit(X, y_semi)
    check_fitted(clf, X, y_semi)


def _rows(clf, X, rows):
    """The returned model's features and probabilities of ``rows`` (what the end-of-fit context holds)."""
    Xt = clf._to_tensor(X[rows], fitting=False)
    feats, _ = forward(clf.model_, Xt, 512, features=True)
    members = clf._forward_probs(clf.model_, Xt)
    return feats.numpy(), members, normalize_rows(members.mean(axis=0))


def test_llkd_uses_the_trained_students_uncertainty_at_the_end():
    X, y_semi = tiny_blobs()
    clf = ConsistencyClassifier(select="llkd", **TRAINED).fit(X, y_semi)
    pl = check_fitted(clf, X, y_semi)
    student = clf._forward_probs(clf.network_, clf._to_tensor(X[pl.index], fitting=False)).mean(axis=0)
    u = pl.extras["student_uncertainty"]
    assert np.allclose(u, normalized_entropy(student), atol=1e-6)
    _, _, teacher = _rows(clf, X, pl.index)
    assert not np.allclose(u, 1.0) and not np.allclose(u, normalized_entropy(teacher), atol=1e-3)


def test_openset_scores_the_rows_with_the_returned_models_features():
    X, y_semi = tiny_blobs(unseen=20)
    clf = ConsistencyClassifier(select="openset(threshold=0.5)", **TRAINED).fit(X, y_semi)
    pl = check_fitted(clf, X, y_semi)
    feats, _, p = _rows(clf, X, pl.index)
    lab_feats, _, _ = _rows(clf, X, clf.labeled_index_)
    sel = clf.selector_
    heads = OVAHeads(sel.C, sel.kernel, random_state=sel.random_state)
    heads.fit(lab_feats, y_semi[clf.labeled_index_], len(clf.classes_), feats)
    expected = open_set_targets(p, heads.predict_proba(feats))[:, -1]
    assert np.allclose(pl.extras["outlier_score"], expected, atol=1e-4)
    assert (pl.label == UNKNOWN).any()  # rows of the unseen class far away are flagged
    assert (pl.weight[pl.label == UNKNOWN] == 0).all()


def test_ensemble_gate_sees_the_multihead_teachers_heads_at_the_end():
    X, y_semi = tiny_blobs()
    clf = ConsistencyClassifier(select="ensemble_gate(threshold=0.01)", teacher="multihead", **TRAINED).fit(X, y_semi)
    pl = check_fitted(clf, X, y_semi)
    _, members, _ = _rows(clf, X, pl.index)
    assert members.shape[0] == 4 and (pl.extras["members"] == 4).all()
    assert np.allclose(pl.extras["mi"], ensemble_uncertainty(members, "mi"), atol=1e-6)
    assert ((pl.weight > 0) == (pl.extras["mi"] <= 0.01)).all()


def test_prototype_band_replaces_middle_band_rows_with_prototype_labels_from_features():
    X, y_semi = tiny_blobs()
    clf = ConsistencyClassifier(refine="prototype_band", **TRAINED).fit(X, y_semi)
    pl = check_fitted(clf, X, y_semi)
    band = pl.extras["band"]
    mid = band == 1
    assert mid.any() and not mid.all()
    feats, _, p = _rows(clf, X, pl.index)
    ref = clf.refiners_[0]
    have = ~np.isnan(ref.prototypes_).any(axis=1)
    soft = prototype_scores(feats[mid], ref.prototypes_[have], np.flatnonzero(have), len(clf.classes_), ref.temperature)
    assert np.allclose(pl.probs[mid], soft, atol=1e-5)
    assert not np.allclose(pl.probs[mid], p[mid], atol=1e-3)  # replaced, not the model's probabilities
    assert np.allclose(pl.probs[~mid], p[~mid], atol=1e-5)  # other bands keep them


def test_temporal_refiner_reads_each_rows_own_memory_at_the_end():
    X, y_semi = tiny_blobs()
    clf = ConsistencyClassifier(refine="temporal", **TRAINED).fit(X, y_semi)
    pl = check_fitted(clf, X, y_semi)
    assert len(clf.heldout_index_) == 3  # held-out rows sit between unlabeled ones in the pool
    pool = np.sort(np.concatenate([pl.index, clf.heldout_index_]))
    pos = np.searchsorted(pool, pl.index)
    ref = clf.refiners_[0]
    seen = np.zeros(len(pos), dtype=bool)
    inside = pos < len(ref.seen_)
    seen[inside] = ref.seen_[pos[inside]]
    assert seen.any() and (pos != np.arange(len(pos)))[seen].any()
    assert np.allclose(pl.probs[seen], normalize_rows(ref.bank_[pos[seen]]), atol=1e-6)


def test_max_rounds_is_the_epoch_budget_so_schedules_finish():
    X, y_semi = tiny_blobs()
    params = {**TINY, "max_epochs": None, "max_steps": 7}
    clf = ConsistencyClassifier(select="partial_ot_select", **params).fit(X, y_semi)  # P²OT ramps over max_rounds
    assert clf.max_rounds_ == math.ceil(7 / 3) and clf.n_epochs_ == 3
    assert clf.selector_.rho_ == pytest.approx(1.0)  # the ramp reached rho_max at the last epoch


def test_a_component_that_needs_an_epoch_budget_fails_before_training():
    X, y_semi = tiny_blobs()
    epochs = []
    params = {**TINY, "max_epochs": None, "max_time": 60.0, "callback": lambda est, entry: epochs.append(entry)}
    for kwargs in ({"select": "partial_ot_select"}, {"refine": "partial_ot"}, {"refine": "partial_ot", "lambda_u": 0.0}):
        with pytest.raises(ValueError, match="max_time, so the number of epochs .* set max_epochs or max_steps"):
            ConsistencyClassifier(**kwargs, **params).fit(X, y_semi)
    assert epochs == []
