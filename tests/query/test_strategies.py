"""Known answers for every query strategy (docs/methods/query.md, "Known answers")."""

import numpy as np
import pytest
from sklearn.base import clone

from pseudolabel.core import QueryContext, available, make
from pseudolabel.query import (
    class_balanced_order,
    dedup_order,
    gradient_embedding,
    k_center_greedy,
    label_quality,
    typicality,
)

PROBS3 = np.array([[0.5, 0.5, 0.0], [0.4, 0.3, 0.3], [0.9, 0.1, 0.0]])


def test_registry_has_every_strategy_and_they_construct():
    names = set(available("query"))
    assert {"random_sampling", "entropy_sampling", "margin_sampling", "least_confidence", "density_weighted", "ripu",
            "noise_stability", "coreset", "badge", "typiclust", "likely_wrong", "audit_sample"} <= names
    for name, cls in available("query").items():
        obj = make("query", name)
        assert isinstance(obj, cls) and clone(obj).get_params() == obj.get_params()


def test_entropy_margin_least_confidence_disagree_where_they_should():
    # (a) [.4,.3,.3] has more entropy and less top-1 confidence than [.5,.5,0], but a larger margin
    assert list(np.argsort(-make("query", "entropy_sampling").scores(PROBS3))) == [1, 0, 2]
    assert list(np.argsort(-make("query", "least_confidence").scores(PROBS3))) == [1, 0, 2]
    m = make("query", "margin_sampling").scores(PROBS3)
    np.testing.assert_allclose(m, [1.0, 0.9, 0.2])
    np.testing.assert_allclose(make("query", "least_confidence").scores(PROBS3), [0.5, 0.6, 0.1])
    np.testing.assert_allclose(make("query", "entropy_sampling").scores(np.full((1, 4), 0.25)), [1.0])


def test_random_sampling_is_seeded_and_uniform():
    q = make("query", "random_sampling")
    p = np.full((50, 2), 0.5)
    a, b = q.query(p, 10, random_state=1).indices, q.query(p, 10, random_state=1).indices
    assert list(a) == list(b) and len(set(a)) == 10
    assert list(q.query(p, 10, random_state=2).indices) != list(a)
    counts = np.bincount(np.concatenate([q.query(p, 10, random_state=s).indices for s in range(500)]), minlength=50)
    assert counts.min() > 60 and counts.max() < 140  # expected 100 each


def test_noise_stability_ranks_the_boundary_row_first():
    # a step model p(class 1) = [x > 0]: a row at the boundary flips half the time, a far row never
    def step(X):
        on = (X[:, 0] > 0).astype(float)
        return np.stack([1 - on, on], axis=1)

    X = np.array([[1e-3], [50.0], [-50.0], [0.5]])
    X_noise_scale = np.array([[1e-3], [50.0], [-50.0], [0.5]])
    q = make("query", "noise_stability(sigma=0.05, n_draws=200)")
    s = q.scores(step(X), features=X_noise_scale, predict_proba=step)
    assert s[1] == 0 and s[2] == 0
    assert 0.4 < s[0] < 0.6  # flips with probability 1/2
    with pytest.raises(ValueError, match="predict_proba"):
        q.scores(step(X), features=X)


def test_coreset_is_k_center_greedy():
    X = np.arange(11, dtype=float)[:, None]
    picks, radii = k_center_greedy(X, np.array([[0.0]]), 3)
    assert list(picks) == [10, 5, 2] and list(radii) == [10.0, 5.0, 2.0]
    batch = make("query", "coreset").query(np.full((11, 2), 0.5), 3, features=X, labeled_features=np.array([[0.0]]))
    assert list(batch.indices) == [10, 5, 2]
    cold = make("query", "coreset").query(np.full((11, 2), 0.5), 2, features=X)
    assert list(cold.indices) == [5, 0]  # the central row first, then the farthest from it


def test_badge_first_pick_is_largest_gradient_and_confident_rows_wait():
    p = np.array([[0.999, 0.001], [0.5, 0.5], [0.6, 0.4], [0.5, 0.5]])
    h = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])  # rows 1 and 3 are identical
    G = gradient_embedding(p, h)
    np.testing.assert_allclose(G[1], [-0.5, 0.0, 0.5, 0.0])
    b = make("query", "badge").query(p, 2, features=h, random_state=0)
    assert b.indices[0] in (1, 3) and b.indices[1] == 2  # the duplicate has D² = 0, the confident row ~0
    assert "linear" in b.info["embedding"]
    b2 = make("query", "badge").query(p, 2, embedding=h * 2, embedding_source="net", random_state=0)
    assert b2.info["embedding"] == "net"


def test_typiclust_picks_the_centre_of_the_largest_uncovered_cluster(rng):
    big = np.vstack([[0.0, 0.0], rng.normal(size=(29, 2)) * 0.5])
    small = np.vstack([[20.0, 0.0], 20 + rng.normal(size=(9, 2)) * 0.5 * [1, 0]])
    X = np.vstack([big, small])
    q = make("query", "typiclust(k=5)")
    b = q.query(np.full((len(X), 2), 0.5), 2, features=X, random_state=0)
    assert b.indices[0] < 30 and b.indices[1] >= 30
    t = typicality(big, 5)
    assert b.indices[0] == int(np.argmax(t))
    # with the big cluster labeled, the first pick comes from the small one
    b2 = q.query(np.full((len(small), 2), 0.5), 1, features=small, labeled_features=big[:1], random_state=0)
    assert len(b2) == 1


def test_likely_wrong_ranks_teacher_student_disagreement_first():
    teacher = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4]])
    student = np.array([[0.95, 0.05], [0.1, 0.9], [0.55, 0.45]])
    q = make("query", "likely_wrong")
    s = q.scores(teacher, given=np.array([0, 0, 0]), student_probs=student)
    assert list(np.argsort(-s)) == [1, 2, 0]
    np.testing.assert_allclose(label_quality(student, np.array([0, 0, 0]), "normalized_margin"), [0.9, -0.8, 0.1])
    with pytest.raises(ValueError, match="given"):
        q.scores(teacher, given=np.array([0, 5, 0]))


def test_dedup_keeps_near_duplicates_out_of_one_batch():
    X = np.array([[1.0, 0.0], [1.0, 1e-6], [0.0, 1.0], [1.0, 1.0]])
    picked, deferred = dedup_order(np.array([0, 1, 2, 3]), X, 3)
    assert list(picked) == [0, 2, 3] and deferred == 1
    # ranking strategies use it by default: the duplicate of the top row waits
    p = np.array([[0.5, 0.5], [0.5, 0.5], [0.7, 0.3], [0.9, 0.1]])
    b = make("query", "entropy_sampling").query(p, 2, features=X)
    assert list(b.indices) == [0, 2]
    assert list(make("query", "entropy_sampling(diversity='none')").query(p, 2, features=X).indices) == [0, 1]


def test_class_balance_caps_each_predicted_class():
    order = np.arange(6)
    labels = np.array([0, 0, 0, 0, 1, 2])
    assert list(class_balanced_order(order, labels, 3, 3)[:3]) == [0, 4, 5]
    p = np.array([[0.55, 0.45, 0.0]] * 4 + [[0.3, 0.6, 0.1], [0.1, 0.3, 0.6]])
    b = make("query", "least_confidence(class_balance=True, diversity='none')").query(p, 3)
    assert sorted(np.asarray(p.argmax(1))[b.indices].tolist()) == [0, 1, 2]


def test_audit_sample_is_stratified_and_proportional():
    conf = np.linspace(0.5, 1.0, 400)
    p = np.stack([conf, 1 - conf], axis=1)
    b = make("query", "audit_sample").query(p, 40, random_state=3)
    strata = b.info["strata"]
    assert np.bincount(strata[b.indices], minlength=4).tolist() == [10, 10, 10, 10]
    assert np.bincount(strata[b.indices[:8]], minlength=4).tolist() == [2, 2, 2, 2]


def test_context_errors_name_the_missing_field():
    with pytest.raises(ValueError, match="features"):
        make("query", "density_weighted").scores(PROBS3)
    with pytest.raises(ValueError, match="rows"):
        make("query", "ripu").scores(PROBS3, features=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="diversity"):
        make("query", "entropy_sampling(diversity='x')").query(PROBS3, 1)
    assert QueryContext.build(features=np.zeros((1, 1))).features.shape == (1, 1)


def test_every_strategy_returns_a_full_batch_of_distinct_rows(rng):
    X = rng.normal(size=(60, 3))
    X[1] = X[0]
    p = rng.dirichlet(np.ones(3), size=60)
    ctx = dict(features=X, labeled_features=X[:3] + 0.1, labeled_y=np.array([0, 1, 2]),
               predict_proba=lambda Z: np.full((len(Z), 3), 1 / 3), given=p.argmax(1), student_probs=p[::-1])
    for name in available("query"):
        b = make("query", name).query(p, 7, **ctx, random_state=0)
        assert len(b) == 7 and len(set(b.indices.tolist())) == 7, name
        assert make("query", name).query(p, 0, **ctx).indices.size == 0
        assert len(make("query", name).query(p, 500, **ctx)) == 60, name
