import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from pseudolabel.core.registry import make
from pseudolabel.teachers.cluster import ClusterTeacher, match_clusters


def _blobs(sizes=(60, 60, 60), seed=0, spread=0.4):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    X = np.vstack([c + rng.normal(scale=spread, size=(n, 2)) for c, n in zip(centers, sizes, strict=True)])
    y = np.repeat(np.arange(len(sizes)), sizes)
    return X, y


def test_hungarian_known_answer():
    counts = np.array([[0, 5, 1], [4, 0, 0], [1, 1, 3]], dtype=float)
    np.testing.assert_array_equal(match_clusters(counts), [1, 0, 2])
    # more clusters than classes: the extra one takes its majority / the nearest matched centre
    counts = np.array([[5, 0], [0, 5], [3, 1], [0, 0]], dtype=float)
    centers = np.array([[0.0], [10.0], [1.0], [9.0]])
    np.testing.assert_array_equal(match_clusters(counts, centers), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="at least as many clusters"):
        match_clusters(np.ones((2, 3)))


def test_one_label_per_class_maps_permuted_clusters():
    X, y = _blobs()
    y_seed = np.full(len(y), -1)
    y_seed[[0, 60, 120]] = [0, 1, 2]
    t = ClusterTeacher(random_state=0)
    P = t.transduce(X, y_seed, n_classes=3)
    assert (P.argmax(1) == y).all()
    np.testing.assert_allclose(P.sum(1), 1.0)
    # relabel the classes: the map follows the labels, not the cluster order
    perm = np.array([2, 0, 1])
    P2 = ClusterTeacher(random_state=0).transduce(X, np.where(y_seed >= 0, perm[np.maximum(y_seed, 0)], -1), n_classes=3)
    assert (P2.argmax(1) == perm[y]).all()
    assert (t.predict_proba(X[[5, 65, 125]]).argmax(1) == [0, 1, 2]).all()


def test_no_labels_returns_cluster_ids():
    X, y = _blobs()
    t = ClusterTeacher(n_clusters=3)
    Q = t.transduce(X)  # mode="auto" with no labels
    assert adjusted_rand_score(y, Q.argmax(1)) == 1.0
    np.testing.assert_array_equal(t.classes_, [0, 1, 2])
    np.testing.assert_array_equal(t.cluster_to_class_, [0, 1, 2])
    with pytest.raises(ValueError, match="n_clusters"):
        ClusterTeacher().transduce(X)
    with pytest.raises(ValueError, match="mode='clusters'"):
        ClusterTeacher(mode="classes").transduce(X, np.full(len(X), -1), n_classes=3)


def test_sela_balances_columns_exactly():
    X, y = _blobs(spread=1.5)
    t = ClusterTeacher(n_clusters=3, balance="sela", epsilon=0.3)
    Q = t.transduce(X)
    np.testing.assert_allclose(Q.mean(0), 1 / 3, atol=1e-6)
    prior = np.array([0.5, 0.3, 0.2])
    y_seed = np.full(len(y), -1)
    y_seed[[0, 60, 120]] = [0, 1, 2]
    Qp = ClusterTeacher(balance="sela", prior=prior).transduce(X, y_seed, n_classes=3)
    # classes are a permutation of clusters, so the class marginal is the prior permuted back
    np.testing.assert_allclose(np.sort(Qp.mean(0)), np.sort(prior), atol=1e-6)


def test_p2ot_keeps_imbalanced_clusters_and_flags_unsure_rows():
    X, y = _blobs(sizes=(150, 40, 10), spread=0.5)
    y_seed = np.full(len(y), -1)
    y_seed[[0, 150, 190]] = [0, 1, 2]
    sela = ClusterTeacher(balance="sela").transduce(X, y_seed, n_classes=3)
    p2ot_t = ClusterTeacher(balance="p2ot", rho=1.0, gamma=0.05)
    p2 = p2ot_t.transduce(X, y_seed, n_classes=3)
    assert (p2.argmax(1) == y).mean() > 0.98  # the relaxed marginal keeps 150/40/10
    assert (sela.argmax(1) == y).mean() < 0.8  # a hard 1/3 each forces big-cluster rows out
    part = ClusterTeacher(balance="p2ot", rho=0.5, gamma=0.05)
    P = part.transduce(X, y_seed, n_classes=3)
    assert part.mass_.sum() == pytest.approx(0.5 * len(X), rel=1e-3)
    np.testing.assert_allclose(P.sum(1), 1.0)
    assert np.all(P.max(1) <= part.mass_ + (1 - part.mass_) / 3 + 1e-9)
    new = part.predict_proba(X[:5])
    np.testing.assert_allclose(new.sum(1), 1.0)


def test_registered_by_name_and_more_clusters_than_classes():
    X, y = _blobs()
    t = make("teacher", "cluster(n_clusters=6, balance=None)")
    y_seed = np.full(len(y), -1)
    y_seed[[0, 1, 60, 61, 120, 121]] = [0, 0, 1, 1, 2, 2]
    P = t.transduce(X, y_seed, n_classes=3)
    assert P.shape == (180, 3)
    assert (P.argmax(1) == y).mean() > 0.95
