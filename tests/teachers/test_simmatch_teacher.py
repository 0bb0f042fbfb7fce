import numpy as np
import pytest

from pseudolabel.core.registry import make
from pseudolabel.ops.simmatch import aggregate, simmatch_targets, unfold
from pseudolabel.teachers.simmatch import SimMatchTeacher, instance_similarity, knn_aggregate


def test_aggregate_sums_to_one_and_target_stays_on_simplex(rng):
    E = rng.normal(size=(30, 8))
    bank = rng.normal(size=(12, 8))
    labels = rng.integers(0, 4, 12)
    q = instance_similarity(E, bank, temperature=0.1)
    agg = aggregate(q, labels, 4)
    np.testing.assert_allclose(agg.sum(axis=1), 1.0)
    p = rng.dirichlet(np.ones(4), size=30)
    t = simmatch_targets(p, agg, alpha=0.9)
    np.testing.assert_allclose(t.sum(axis=1), 1.0)
    assert (t >= 0).all()


def test_embedding_equal_to_a_bank_item_at_low_temperature_gives_its_label(rng):
    bank = rng.normal(size=(10, 16))
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    agg = aggregate(instance_similarity(bank[[4]], bank, temperature=1e-3), labels, 3)
    np.testing.assert_allclose(agg, [[0.0, 1.0, 0.0]], atol=1e-12)


def test_unfolding_a_one_hot_class_keeps_only_that_class_items(rng):
    labels = np.array([0, 1, 2, 1, 0, 1])
    q = instance_similarity(rng.normal(size=(5, 4)), rng.normal(size=(6, 4)), temperature=0.5)
    p = np.zeros((5, 3))
    p[:, 1] = 1.0
    q_hat = unfold(q, p, labels)
    np.testing.assert_allclose(q_hat.sum(axis=1), 1.0)
    assert (q_hat[:, labels != 1] == 0).all() and (q_hat[:, labels == 1] > 0).all()


def test_alpha_one_reduces_to_the_model_target(rng):
    p = rng.dirichlet(np.ones(3), size=7)
    agg = rng.dirichlet(np.ones(3), size=7)
    np.testing.assert_allclose(simmatch_targets(p, agg, alpha=1.0), p)


def test_knn_aggregate_equals_the_dense_form_and_leaves_self_out(rng):
    E = rng.normal(size=(25, 6))
    bank = rng.normal(size=(15, 6))
    labels = rng.integers(0, 3, 15)
    w = rng.uniform(0.2, 1.0, 15)
    dense = aggregate(instance_similarity(E, bank, 0.2, bank_weight=w), labels, 3)
    sparse = knn_aggregate(E, bank, labels, 3, temperature=0.2, n_neighbors=None, bank_weight=w, backend="sklearn")
    np.testing.assert_allclose(sparse, dense, atol=1e-5)  # float32 search vs float64 product
    # leave-one-out: the bank queried by itself never votes for its own item
    self_idx = np.arange(15)
    loo = knn_aggregate(bank, bank, labels, 3, temperature=1e-3, n_neighbors=None, self_index=self_idx)
    unit = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    cos = unit @ unit.T
    np.fill_diagonal(cos, -np.inf)
    nearest_other = cos.argmax(axis=1)
    np.testing.assert_array_equal(loo.argmax(axis=1), labels[nearest_other])


def test_teacher_corrects_a_wrong_model_with_the_labeled_memory():
    from sklearn.datasets import make_blobs
    from sklearn.dummy import DummyClassifier

    X, yt = make_blobs(200, centers=[[-5, 0, 0], [5, 0, 0]], cluster_std=1.0, random_state=0)
    y = np.full(200, -1)
    y[np.flatnonzero(yt == 0)[:5]] = 0
    y[np.flatnonzero(yt == 1)[:3]] = 1
    # a model that always predicts the majority class; the memory vote fixes it when alpha < 0.5
    t = SimMatchTeacher(DummyClassifier(strategy="prior"), alpha=0.3, temperature=0.1)
    p = t.transduce(X, y, n_classes=2)
    assert (p.argmax(axis=1) == yt).mean() > 0.98
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (p.argmax(1)[y >= 0] == y[y >= 0]).all()  # labeled rows, voted on by the others only
    q = t.predict_proba(X[:10])
    assert q.shape == (10, 2)
    assert isinstance(make("teacher", "simmatch(alpha=0.5)"), SimMatchTeacher)


def test_bad_alpha():
    with pytest.raises(ValueError, match="alpha"):
        SimMatchTeacher(alpha=2).fit(np.ones((4, 2)), np.array([0, 1, -1, -1]))
