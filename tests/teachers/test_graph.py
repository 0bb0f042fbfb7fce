import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from pseudolabel.teachers import (
    EstimatorTeacher,
    GraphTeacher,
    knn_graph,
    knn_search,
    normalized_adjacency,
    spread_labels,
)


def test_knn_search_matches_sklearn_and_excludes_self(rng):
    X = rng.normal(size=(300, 8)).astype(np.float32)
    d, idx = knn_search(X, None, 5)
    ref = NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X, return_distance=False)[:, 1:]
    assert (idx != np.arange(300)[:, None]).all()
    assert (np.sort(idx, 1) == np.sort(ref, 1)).mean() > 0.99
    d2, idx2 = knn_search(X, None, 5, backend="sklearn")
    np.testing.assert_array_equal(np.sort(idx2, 1), np.sort(ref, 1))


def test_graph_is_symmetric_without_self_loops(rng):
    W = knn_graph(rng.normal(size=(200, 3)), 7)
    assert abs(W - W.T).max() < 1e-12
    assert W.diagonal().sum() == 0
    assert ((W.data > 0) & (W.data <= 1)).all()


def two_cliques():
    W = sp.block_diag([np.ones((5, 5)) - np.eye(5)] * 2).tocsr()
    Y0 = np.zeros((10, 2))
    Y0[0, 0] = 1
    Y0[7, 1] = 1
    return normalized_adjacency(W), Y0


def test_disconnected_cliques_take_their_seed_label():
    S, Y0 = two_cliques()
    F = spread_labels(S, Y0, alpha=0.9)
    np.testing.assert_array_equal(F.argmax(axis=1), [0] * 5 + [1] * 5)


def test_closed_form_matches_iteration():
    S, Y0 = two_cliques()
    alpha = 0.7
    F = spread_labels(S, Y0, alpha, tol=1e-12)
    it = Y0.copy()
    for _ in range(500):
        it = alpha * (S @ it) + (1 - alpha) * Y0
    np.testing.assert_allclose(F, it, atol=1e-8)
    closed = (1 - alpha) * np.linalg.solve(np.eye(10) - alpha * S.toarray(), Y0)
    np.testing.assert_allclose(F, closed, atol=1e-8)


def test_alpha_zero_returns_seeds():
    S, Y0 = two_cliques()
    np.testing.assert_allclose(spread_labels(S, Y0, 0.0), Y0)
    with pytest.raises(ValueError, match="alpha"):
        spread_labels(S, Y0, 1.0)


def test_graph_teacher_transduces_and_extends_to_new_rows(rng):
    centers = np.array([[0, 0], [8, 0], [0, 8]])
    y_true = rng.integers(0, 3, 600)
    X = centers[y_true] + rng.normal(size=(600, 2))
    y = np.full(600, -1)
    for c in range(3):
        y[np.flatnonzero(y_true == c)[:2]] = c
    teacher = GraphTeacher()
    P = teacher.transduce(X, y, n_classes=3)
    assert (P.argmax(1) == y_true).mean() > 0.98
    np.testing.assert_allclose(P.sum(axis=1), 1)
    Xn = centers + 0.1
    np.testing.assert_array_equal(teacher.predict_proba(Xn).argmax(axis=1), [0, 1, 2])
    # weighted seeds: a seed with weight 0 does nothing
    w = np.ones(600)
    y2 = y.copy()
    y2[np.flatnonzero(y_true == 0)[5]] = 1  # a wrong seed...
    w[np.flatnonzero(y_true == 0)[5]] = 0.0  # ...with zero weight
    np.testing.assert_allclose(teacher.transduce(X, y2, w, n_classes=3), P, atol=1e-9)


def test_graph_teacher_reuses_graph_for_same_rows(rng):
    X = rng.normal(size=(100, 4))
    y = np.full(100, -1)
    y[:2] = [0, 1]
    t = GraphTeacher()
    t.transduce(X, y, n_classes=2)
    S = t.S_
    t.transduce(X.copy(), y, n_classes=2)
    assert t.S_ is S
    t.transduce(X + 1e-3, y, n_classes=2)
    assert t.S_ is not S


def test_transduce_many_equals_one_solve_per_seeding_and_keeps_the_first(rng, monkeypatch):
    # SelfTrainer spreads its main chain and its fold chains in one block solve on the reordered
    # graph; every seeding must come out as its own transduce would, in the caller's row order
    X = np.vstack([rng.normal(size=(400, 5)), rng.normal(size=(400, 5)) + 4])
    y = np.full(800, -1)
    y[[0, 1, 400, 401]] = [0, 0, 1, 1]
    y2 = y.copy()
    y2[[0, 400]] = -1
    w2 = np.where(y2 >= 0, 0.5, 0.0)
    t = GraphTeacher()
    many = t.transduce_many(X, [y, y2], [None, w2], n_classes=2)
    one = GraphTeacher().transduce(X, y, n_classes=2)
    two = GraphTeacher().transduce(X, y2, w2, n_classes=2)
    np.testing.assert_allclose(many[0], one, atol=1e-12)
    np.testing.assert_allclose(many[1], two, atol=1e-12)
    np.testing.assert_allclose(t.transduction_proba_, one, atol=1e-12)
    assert (one[:400].argmax(axis=1) == 0).all() and (one[400:].argmax(axis=1) == 1).all()
    assert sorted(t.order_) == list(range(800)) and not np.array_equal(t.order_, np.arange(800))
    with pytest.raises(ValueError, match="no labeled rows"):
        t.transduce_many(X, [y, np.full(800, -1)], [None, None], n_classes=2)
    # under a memory cap the seedings are solved in groups (one per solve here): the same numbers
    import pseudolabel.teachers.graph as graph_module

    monkeypatch.setattr(graph_module, "SOLVE_BLOCK_BYTES", 8 * 800 * 2)
    grouped = GraphTeacher().transduce_many(X, [y, y2, y], [None, w2, None], n_classes=2)
    np.testing.assert_array_equal(grouped[0], many[0])
    np.testing.assert_array_equal(grouped[1], many[1])
    np.testing.assert_array_equal(grouped[2], many[0])


def test_estimator_teacher_expands_missing_classes(rng):
    from sklearn.linear_model import LogisticRegression

    X = rng.normal(size=(40, 2))
    y = np.full(40, -1)
    y[:10] = 0
    y[10:20] = 2
    P = EstimatorTeacher(LogisticRegression()).transduce(X, y, n_classes=3)
    assert P.shape == (40, 3) and np.all(P[:, 1] == 0)
    with pytest.raises(TypeError, match="predict_proba"):
        from sklearn.svm import LinearSVC

        EstimatorTeacher(LinearSVC()).fit(X, y)
