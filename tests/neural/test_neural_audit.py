"""ConsistencyClassifier.audit_record(): the HTML report works for the neural learner too."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.datasets import make_blobs  # noqa: E402

from pseudolabel.audit.report import heldout_metrics, render_report  # noqa: E402
from pseudolabel.core.audit import AuditRecord  # noqa: E402
from pseudolabel.learn.neural import ConsistencyClassifier  # noqa: E402

FAST = dict(batch_size=16, mu=2, hidden_sizes=(32,), n_threads=1, max_epochs=4, lr=0.03, random_state=0)


def blobs(n=240, per_class=10, seed=0):
    X, y = make_blobs(n, n_features=4, centers=3, cluster_std=2.0, random_state=seed)
    rng = np.random.default_rng(seed)
    y_semi = np.full(len(y), -1)
    for c in range(3):
        y_semi[rng.choice(np.flatnonzero(y == c), per_class, replace=False)] = c
    return X, y, y_semi


def test_audit_record_describes_the_fit_and_the_report_renders():
    X, _, y_semi = blobs()
    clf = ConsistencyClassifier(select="flexmatch(threshold=0.7)", **FAST).fit(X, y_semi)
    rec = clf.audit_record()
    assert isinstance(rec, AuditRecord) and rec.step == "epoch" and rec.chosen_step == clf.best_epoch_
    assert rec.pseudo_labels is clf.pseudo_labels_ and rec.history == clf.history_
    assert rec.n_labeled == (y_semi >= 0).sum() and rec.n_unlabeled == (y_semi < 0).sum()
    assert rec.decision["rule"].startswith("latest epoch within the tolerance")
    chosen = clf.history_[clf.best_epoch_ - 1]
    assert chosen["epoch"] == clf.best_epoch_ and rec.decision["heldout_accuracy"] == chosen["heldout_accuracy"]
    assert rec.decision["n_heldout"] == 6 and rec.decision["fallback"] is False
    assert rec.config["select"] == "flexmatch(threshold=0.7)"

    # held-out rows: pseudo-labeled by the returned model through the same refine/select path
    ho = rec.heldout
    val = clf.heldout_index_
    assert len(ho) == len(val) == 6 and np.array_equal(ho.y, y_semi[val])
    p = clf.predict_proba(X[val])
    t = clf.selector_.thresholds()[p.argmax(axis=1)]
    assert np.array_equal(ho.weight > 0, p.max(axis=1) >= t)
    assert np.array_equal(ho.label[ho.weight > 0], p.argmax(axis=1)[ho.weight > 0])
    assert 0.0 <= heldout_metrics(clf)["coverage"] <= 1.0

    html = render_report(clf, title="neural run", y_labeled=y_semi[y_semi >= 0])
    assert html.startswith("<!doctype html>") and "neural run" in html and "<h2>Epochs</h2>" in html
    assert "chosen epoch" in html and "data:image/png;base64," in html


def test_audit_without_heldout_labels_and_of_an_interpolated_copy():
    X, _, y_semi = blobs(per_class=4)
    clf = ConsistencyClassifier(validation_fraction=0.0, **FAST).fit(X, y_semi)
    rec = clf.audit_record()
    assert rec.heldout is None and rec.chosen_step == clf.n_epochs_ == 4
    assert rec.decision["rule"] == "last epoch (no held-out labels)"
    assert "<h2>Epochs</h2>" in render_report(clf)

    X, _, y_semi = blobs()
    clf = ConsistencyClassifier(**FAST).fit(X, y_semi)
    with pytest.raises(ValueError, match="interpolated"):
        clf.interpolated(0.5).audit_record()
    half = clf.interpolated(0.5, X).audit_record()
    assert half.decision["wise_alpha"] == 0.5 and clf.audit_record().decision["wise_alpha"] == 1.0
    p = clf.interpolated(0.5, X).predict_proba(X[clf.heldout_index_])
    assert np.allclose(half.heldout.confidence, p.max(axis=1), atol=1e-5)
