"""Approximate kNN (ops.knn): the blocked-IVF and HNSW backends against exact search on small
known cases, the ``auto`` switch, and the graph teacher on an approximate graph."""

import numpy as np
import pytest

from pseudolabel.ops import knn
from pseudolabel.teachers import GraphTeacher, knn_graph, knn_search

faiss = pytest.importorskip("faiss", reason="the approximate backends are built on faiss-cpu")


def clusters(rng, n=12_000, d=16, centers=30):
    C = rng.normal(size=(centers, d)) * 4
    comp = rng.integers(0, centers, n)
    return (C[comp] + rng.normal(size=(n, d))).astype(np.float32), comp


def recall(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(approx, exact, strict=True)]))


def test_ivf_recall_against_exact_and_exact_when_every_cell_is_probed(rng):
    X, _ = clusters(rng)
    _, exact = faiss.knn(X, X, 10)
    _, approx = knn.ivf_search(X, X, 10, cell_rows=400)  # 30 cells, 6 probed
    assert recall(approx, exact) > 0.97
    assert (approx[:, 0] == np.arange(len(X))).mean() > 0.999  # a row finds itself first
    _, every = knn.ivf_search(X, X, 10, cell_rows=400, n_probe=30)
    d_exact, _ = faiss.knn(X, X, 10)
    d_every, _ = knn.ivf_search(X, X, 10, cell_rows=400, n_probe=30)
    np.testing.assert_allclose(d_every, d_exact, rtol=1e-5, atol=1e-4)  # same distances (ties may swap)
    assert recall(every, exact) > 0.999


def test_ivf_on_new_query_rows_is_deterministic(rng):
    X, _ = clusters(rng)
    Q = X[rng.choice(len(X), 500, replace=False)] + rng.normal(size=(500, X.shape[1])).astype(np.float32) * 0.3
    _, exact = faiss.knn(Q, X, 7)
    d1, i1 = knn.ivf_search(X, Q, 7, cell_rows=300, random_state=3)
    d2, i2 = knn.ivf_search(X, Q, 7, cell_rows=300, random_state=3)
    np.testing.assert_array_equal(i1, i2)
    assert recall(i1, exact) > 0.95 and (i1 >= 0).all() and np.isfinite(d1).all()


def test_hnsw_backend_recall(rng):
    X, _ = clusters(rng, n=3000)
    _, exact = knn_search(X, None, 7, backend="faiss")
    _, approx = knn_search(X, None, 7, backend="hnsw")
    assert recall(approx, exact) > 0.95
    assert (approx != np.arange(3000)[:, None]).all()


def test_auto_is_exact_below_the_threshold_and_ivf_above(rng, monkeypatch):
    X, _ = clusters(rng, n=3000)
    calls = []
    real = knn.ivf_search
    monkeypatch.setattr(knn, "ivf_search", lambda *a, **k: calls.append(len(a[0])) or real(*a, **k))
    d_auto, i_auto = knn_search(X, None, 7)
    d_exact, i_exact = knn_search(X, None, 7, backend="faiss")
    assert calls == []
    np.testing.assert_array_equal(i_auto, i_exact)
    monkeypatch.setattr(knn, "EXACT_MAX_ROWS", 2000)
    _, i_ann = knn_search(X, None, 7)
    assert calls == [3000]
    assert (i_ann != np.arange(3000)[:, None]).all()  # self removed from the approximate result too
    assert recall(i_ann, i_exact) > 0.95
    with pytest.raises(ValueError, match="backend"):
        knn_search(X, None, 7, backend="annoy")


def test_graph_teacher_on_the_approximate_graph_labels_like_the_exact_one(rng):
    X, comp = clusters(rng, n=6000, centers=12)
    y_true = comp % 4
    y = np.full(len(X), -1)
    for c in range(12):
        y[np.flatnonzero(comp == c)[:2]] = c % 4
    exact = GraphTeacher(backend="faiss").transduce(X, y, n_classes=4)
    approx = GraphTeacher(backend="ivf").transduce(X, y, n_classes=4)
    unl = y < 0
    acc_exact = (exact.argmax(1)[unl] == y_true[unl]).mean()
    acc_approx = (approx.argmax(1)[unl] == y_true[unl]).mean()
    assert acc_exact > 0.99 and abs(acc_approx - acc_exact) < 0.005
    W = knn_graph(X, 7, backend="ivf")
    assert abs(W - W.T).max() < 1e-12 and W.diagonal().sum() == 0
    r, c = W.nonzero()
    assert (comp[r] == comp[c]).mean() > 0.999  # edges stay inside clusters


def test_feature_scale_and_scaled_float32_match_the_float64_formulas(rng):
    X = rng.normal(size=(1000, 5)) * np.array([1, 1, 1, 1, 500.0])
    div = knn.feature_scale(X, "auto")
    np.testing.assert_allclose(div, X.std(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(knn.scaled_float32(X, div, chunk=77), (X / div).astype(np.float32))
    np.testing.assert_allclose(knn.feature_scale(X.astype(np.float32), "standard"), X.astype(np.float32).astype(np.float64).std(axis=0), rtol=1e-9)
