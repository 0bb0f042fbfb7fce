import numpy as np
import pytest

from pseudolabel.select import FixedThreshold, TopKPerClass, topk_per_class


def test_fixed_threshold():
    p = np.array([[0.96, 0.04], [0.5, 0.5], [0.05, 0.95]])
    np.testing.assert_array_equal(FixedThreshold(0.95)(p), [1, 0, 1])
    np.testing.assert_array_equal(FixedThreshold(0.0)(p), [1, 1, 1])


def test_topk_known_answer_all_argmax_class_zero():
    # docs/methods/select.md, `topk` (a): C=3, k=2, class 0 is everyone's arg-max
    p = np.array(
        [
            [0.90, 0.06, 0.04],
            [0.85, 0.10, 0.05],
            [0.80, 0.15, 0.05],  # best remaining for class 1
            [0.70, 0.25, 0.05],  # best remaining for class 1
            [0.60, 0.05, 0.35],  # best remaining for class 2
            [0.55, 0.05, 0.40],  # best remaining for class 2
            [0.75, 0.12, 0.13],
        ]
    )
    assigned = topk_per_class(p, 2)
    np.testing.assert_array_equal(np.bincount(assigned[assigned >= 0], minlength=3), [2, 2, 2])
    assert set(np.flatnonzero(assigned == 0)) == {0, 1}
    assert set(np.flatnonzero(assigned == 1)) == {2, 3}
    assert set(np.flatnonzero(assigned == 2)) == {4, 5}
    assert assigned[6] == -1


def test_topk_equals_greedy_reference(rng):
    p = rng.dirichlet(np.ones(5) * 0.4, size=200)
    k = 13
    # reference: accept (i, c) pairs in descending p while class has room and i is free
    order = np.argsort(-p, axis=None, kind="stable")
    ref = np.full(200, -1)
    cnt = np.zeros(5, int)
    for flat in order:
        i, c = divmod(flat, 5)
        if ref[i] < 0 and cnt[c] < k:
            ref[i], cnt[c] = c, cnt[c] + 1
    np.testing.assert_array_equal(topk_per_class(p, k), ref)


def test_topk_never_assigns_twice_and_covers_everything_at_full_fraction(rng):
    p = rng.dirichlet(np.ones(3), size=300)
    assigned = topk_per_class(p, 100)
    assert (assigned >= 0).all()  # N = 3·k: everyone placed, each exactly once by construction
    np.testing.assert_array_equal(np.bincount(assigned), [100, 100, 100])
    sel = TopKPerClass(k=1.0)
    selection = sel.select(p)
    assert selection.weights.sum() == 300
    np.testing.assert_array_equal(selection.labels, assigned)


def test_topk_growing_schedule_is_nested_enough(rng):
    p = rng.dirichlet(np.ones(4), size=400)
    sizes = [(topk_per_class(p, k) >= 0).sum() for k in (10, 20, 50, 100)]
    assert sizes == [40, 80, 200, 400]


def test_topk_bad_fraction():
    with pytest.raises(ValueError, match="fractional k"):
        TopKPerClass(k=1.5)(np.full((2, 2), 0.5))
