import numpy as np
import pytest
import scipy.sparse as sp

from pseudolabel.core.registry import make
from pseudolabel.ops.knn import normalized_adjacency
from pseudolabel.teachers.erase import (
    EraseTeacher,
    column_normalized,
    precorrect_labels,
    propagate,
    propagate_closed_form,
    row_normalized,
    semantic_labels,
)


def cliques(sizes):
    """Block-diagonal adjacency of disconnected cliques (no self-loops)."""
    blocks = [np.ones((s, s)) - np.eye(s) for s in sizes]
    return sp.csr_matrix(sp.block_diag(blocks))


def test_two_disconnected_cliques_take_their_seed_label():
    W = cliques([5, 5])
    Y = np.zeros((10, 2))
    Y[0, 0] = 1.0  # one labeled node per clique
    Y[7, 1] = 1.0
    for S in (column_normalized(W), row_normalized(W)):
        F = propagate(S, Y, self_weight=0.6, n_steps=5)
        np.testing.assert_array_equal(F.argmax(axis=1), [0] * 5 + [1] * 5)
    F = propagate_closed_form(normalized_adjacency(W), Y, self_weight=0.6)
    np.testing.assert_array_equal(F.argmax(axis=1), [0] * 5 + [1] * 5)


def test_self_weight_one_returns_labels_unchanged(rng):
    W = cliques([4, 6])
    Y = rng.uniform(size=(10, 3))
    np.testing.assert_allclose(propagate(column_normalized(W), Y, self_weight=1.0, n_steps=7), Y)
    np.testing.assert_allclose(propagate_closed_form(normalized_adjacency(W), Y, self_weight=1.0), Y)


@pytest.mark.parametrize("symmetric", [False, True])
def test_closed_form_matches_200_iterations(rng, symmetric):
    A = sp.random(40, 40, density=0.2, random_state=0, format="csr")
    A = A + A.T
    A.setdiag(0)
    A.eliminate_zeros()
    S = normalized_adjacency(A) if symmetric else row_normalized(A)  # row-stochastic: LU path
    Y0 = rng.uniform(size=(40, 3))
    F_iter = Y0.copy()
    for _ in range(200):
        F_iter = (1 - 0.5) * (S @ F_iter) + 0.5 * Y0  # the fixed-point iteration of label spreading
    np.testing.assert_allclose(propagate_closed_form(S, Y0, self_weight=0.5), F_iter, atol=1e-8)


def test_precorrection_fixes_a_single_flipped_label_in_a_clique():
    W = cliques([11])
    y = np.zeros(11, dtype=np.int64)
    y[4] = 1  # one flipped label among 10 correct ones
    fixed = precorrect_labels(W, y, self_weight=0.6, n_steps=5)
    np.testing.assert_array_equal(fixed, np.zeros(11))
    # only labeled-labeled edges count: unlabeled rows stay -1 and do not vote
    y2 = np.concatenate([y, [-1, -1]])
    W2 = sp.csr_matrix(np.pad(W.toarray(), ((0, 2), (0, 2)), constant_values=1.0))
    np.testing.assert_array_equal(precorrect_labels(W2, y2, n_steps=5), np.concatenate([np.zeros(11), [-1, -1]]))


def test_semantic_labels_formula():
    Z = np.array([[1.0, 0.0], [0.0, -2.0]])
    means = np.array([[1.0, 0.0], [0.0, 1.0]])
    Y = np.array([[0.0, 1.0], [0.0, 0.0]])
    out = semantic_labels(Z, Y, means, beta=0.6, temperature=1.0)
    # row 0: 0.6*(0,1) + 0.4*|cos| (1,0) -> logits (0.4, 0.6); row 1: |cos| = (0, 1) -> (0, 0.4)
    np.testing.assert_allclose(out[0], np.exp([0.4, 0.6]) / np.exp([0.4, 0.6]).sum())
    np.testing.assert_allclose(out[1], np.exp([0.0, 0.4]) / np.exp([0.0, 0.4]).sum())


def test_teacher_on_two_moons_and_new_rows():
    from sklearn.datasets import make_moons

    X, yt = make_moons(300, noise=0.05, random_state=0)
    y = np.full(300, -1)
    y[np.flatnonzero(yt == 0)[:3]] = 0
    y[np.flatnonzero(yt == 1)[:3]] = 1
    # beta = 1: labels only (no class-mean cosine, which is wrong on moons): plain propagation
    t = EraseTeacher(n_neighbors=7, metric="euclidean", self_weight=0.05, n_steps=None, beta=1.0, center=False)
    p = t.transduce(X, y, n_classes=2)
    assert p.shape == (300, 2) and np.allclose(p.sum(axis=1), 1)
    assert (p.argmax(axis=1) == yt).mean() > 0.95
    np.testing.assert_array_equal(t.corrected_labels_, y)
    q = t.predict_proba(X[:20] + 0.01)
    assert (q.argmax(axis=1) == yt[:20]).mean() > 0.9
    assert isinstance(make("teacher", "erase(self_weight=0.5)"), EraseTeacher)


def test_bad_alpha_is_named():
    with pytest.raises(ValueError, match="self_weight"):
        propagate(sp.identity(3, format="csr"), np.ones((3, 2)), self_weight=1.5, n_steps=1)
    with pytest.raises(ValueError, match="self_weight"):
        propagate_closed_form(sp.identity(3, format="csr"), np.ones((3, 2)), self_weight=0.0)
