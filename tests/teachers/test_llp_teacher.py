import itertools

import numpy as np
import pytest

from pseudolabel.core.registry import make
from pseudolabel.teachers.llp import LLPTeacher, bag_counts, loopy_bp, pairwise_bag_terms


def brute_force(h, edges, J, bags, counts, lam, W=None):
    """Exact marginals by enumerating all 2^n states of the Gibbs field."""
    n = len(h)
    states = np.array(list(itertools.product([0, 1], repeat=n)), dtype=float)
    logp = states @ h
    W = np.zeros(len(J)) if W is None else W
    for (a, b), j, w in zip(edges, J, W, strict=True):
        logp += j * states[:, a] * states[:, b] - w * (states[:, a] != states[:, b])
    if bags is not None:
        for g, k in enumerate(counts):
            logp += -lam * (states[:, bags == g].sum(axis=1) - k) ** 2
    p = np.exp(logp - logp.max())
    return (p[:, None] * states).sum(axis=0) / p.sum()


def test_empty_and_full_bags_give_confident_marginals():
    bags = np.repeat([0, 1], 4)
    mu = loopy_bp(np.zeros(8), bags=bags, counts=np.array([0.0, 4.0]), lambda_bag=50.0)
    assert (mu[:4] < 0.05).all() and (mu[4:] > 0.95).all()
    mu_pair = loopy_bp(*pairwise_bag_terms(bags, np.array([0.0, 4.0]), 50.0))
    assert (mu_pair[:4] < 0.05).all() and (mu_pair[4:] > 0.95).all()


@pytest.mark.parametrize("factor", ["cardinality", "pairwise"])
def test_without_similarity_every_member_of_a_bag_is_alike(factor):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 3))
    bags = np.repeat([0, 1], 8)
    props = np.repeat([3 / 8, 6 / 8], 8)
    t = LLPTeacher(lambda_smooth=0.0, bag_factor=factor).fit(X, bags=bags, proportions=props)
    for g in (0, 1):
        m = t.marginals_[bags == g]
        np.testing.assert_allclose(m, m[0], atol=1e-9)
    if factor == "cardinality":  # exact here (each bag is a star); the pairwise clique is loopy
        assert t.marginals_[0] < 0.5 < t.marginals_[8]


def test_bp_is_exact_on_a_tree():
    # a bag of 3 (one factor) whose last member starts a 3-node kNN chain: the factor graph is a tree
    rng = np.random.default_rng(1)
    h = rng.normal(size=5)
    edges = np.array([[2, 3], [3, 4]])
    J = np.array([1.3, -0.7])
    W = np.array([0.4, 2.0])
    bags = np.array([0, 0, 0, -1, -1])
    counts = np.array([1.0])
    exact = brute_force(h, edges, J, bags, counts, lam=2.0, W=W)
    kw = dict(bags=bags, counts=counts, lambda_bag=2.0)
    mu = loopy_bp(h, edges, J, W, **kw, n_iter=50, damping=0.0, anneal=1.0)
    np.testing.assert_allclose(mu, exact, atol=1e-6)
    # damping and annealing change the path, not the fixed point
    np.testing.assert_allclose(loopy_bp(h, edges, J, W, **kw, n_iter=300, damping=0.5, anneal=8.0), exact, atol=1e-6)


def test_symmetric_smoothness_is_the_papers_expansion():
    # −w (y_i − y_j)² == unary −w on both ends + (1,1) coupling 2w: same exact marginals
    rng = np.random.default_rng(4)
    h = rng.normal(size=4)
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 0]])
    w = rng.uniform(0.5, 2.0, 4)
    hu = h - np.bincount(edges.ravel(), weights=np.repeat(w, 2), minlength=4)
    a = brute_force(h, edges, np.zeros(4), None, None, 0.0, W=w)
    b = brute_force(hu, edges, 2 * w, None, None, 0.0)
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_pairwise_expansion_is_the_same_distribution():
    rng = np.random.default_rng(2)
    h = rng.normal(size=6)
    bags = np.array([0, 0, 0, 1, 1, 1])
    counts = np.array([1.0, 2.5])
    hb, pairs, jb = pairwise_bag_terms(bags, counts, 0.8)
    assert len(pairs) == 6 and np.allclose(jb, -1.6)
    np.testing.assert_allclose(
        brute_force(h + hb, pairs, jb, None, None, 0.0), brute_force(h, [], [], bags, counts, 0.8), atol=1e-12
    )


def test_temperature_scales_the_log_potentials_and_annealing_ends_there():
    h = np.array([1.0, -2.0])
    np.testing.assert_allclose(loopy_bp(h, temperature=2.0), 1 / (1 + np.exp(-h / 2)))
    np.testing.assert_allclose(loopy_bp(h, temperature=2.0, anneal=16.0), 1 / (1 + np.exp(-h / 2)))


def test_bag_counts_from_rows_or_dict():
    bags = np.array([5, 5, 7, 7, 7, -1])
    codes, counts = bag_counts(bags, np.array([0.5, 0.5, 1 / 3, 1 / 3, 1 / 3, 0.0]))
    np.testing.assert_array_equal(codes, [0, 0, 1, 1, 1, -1])
    np.testing.assert_allclose(counts, [1.0, 1.0])
    _, counts = bag_counts(bags, {5: 1.0, 7: 0.0})
    np.testing.assert_allclose(counts, [2.0, 0.0])
    with pytest.raises(ValueError, match="constant within each bag"):
        bag_counts(bags, np.array([0.5, 0.0, 1, 1, 1, 0]))


def test_teacher_on_two_clusters_with_bags_and_with_labels():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal([3, 0, 0], 0.5, (24, 3)), rng.normal([-3, 0, 0], 0.5, (56, 3))])
    y = np.repeat([1, 0], [24, 56])
    perm = rng.permutation(80)
    bags = np.empty(80, dtype=int)
    bags[perm] = np.arange(80) // 8
    props = np.bincount(bags, weights=y)[bags] / 8
    t = LLPTeacher().fit(X, bags=bags, proportions=props)
    assert (t.pseudo_labels_ == y).mean() == 1.0
    assert (t.predict_proba(X).argmax(1) == y).mean() == 1.0
    # instance labels instead of bags (the SelfTrainer path): clamps + kNN smoothness
    yl = np.full(80, -1)
    yl[[0, 1, 40, 41]] = y[[0, 1, 40, 41]]  # two labels per class
    p = LLPTeacher(n_neighbors=10).transduce(X, yl, n_classes=2)
    assert (p.argmax(1) == y).mean() == 1.0
    assert isinstance(make("teacher", "llp(lambda_bag=5)"), LLPTeacher)


def test_teacher_errors():
    with pytest.raises(ValueError, match="binary"):
        LLPTeacher().transduce(np.ones((4, 2)), np.array([0, 1, 2, -1]))
    with pytest.raises(ValueError, match="binary"):
        LLPTeacher().transduce(np.ones((4, 2)), np.array([0, 1, -1, -1]), n_classes=3)
    with pytest.raises(ValueError, match="proportions"):
        LLPTeacher().fit(np.ones((4, 2)), bags=np.array([0, 0, 1, 1]))
