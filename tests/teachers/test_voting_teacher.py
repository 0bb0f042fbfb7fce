import asyncio
import threading

import numpy as np
import pytest

from pseudolabel.core.registry import make
from pseudolabel.teachers.voting import (
    AnswerCache,
    ExternalLabeler,
    bootstrap_stability,
    parse_answer,
    vote,
)

A, B = 0, 1


def test_confidence_weighted_vote_can_overrule_the_majority():
    answers = np.array([[A, A, B]])
    kappa = np.array([[0.1, 0.1, 0.9]])
    assert vote(answers, 2, kappa, rule="confidence").label[0] == B
    assert vote(answers, 2, kappa, rule="majority").label[0] == A


def test_equal_confidences_make_both_rules_agree(rng):
    answers = rng.integers(-1, 4, size=(200, 7))
    kappa = np.full(answers.shape, 0.3)
    a = vote(answers, 4, kappa, "confidence")
    b = vote(answers, 4, kappa, "majority")
    np.testing.assert_array_equal(a.label, b.label)
    np.testing.assert_allclose(a.share, b.share)


def test_abstention_keeps_answer_confidence_pairs_aligned():
    answers = np.array([[A, -1, B, B]])  # the None answer is an abstention, not dropped
    kappa = np.array([[0.9, 0.9, 0.1, 0.1]])
    res = vote(answers, 2, kappa)
    assert res.label[0] == A
    np.testing.assert_allclose(res.share[0] * kappa.sum(), [0.9, 0.2])  # scores 0.9 vs 0.2
    # via the labeler path: (answer, κ) pairs travel together through parsing
    t = ExternalLabeler(lambda item, k: [("A", 0.9), ("???", 0.9), ("B", 0.1), ("B", 0.1)], classes=["A", "B"], k=4, cache=False)
    p = t.transduce(["x"])
    assert p.argmax() == A and t.vote_label_[0] == A


def test_vote_share():
    res = vote(np.array([[A, A, A, B]]), 2, rule="majority")
    np.testing.assert_allclose(res.confidence, [0.75])
    np.testing.assert_allclose(res.probs.sum(axis=1), 1.0)


def test_abstentions_lower_confidence_but_never_win():
    res = vote(np.array([[-1, -1, -1, B], [-1, -1, -1, -1]]), 3, rule="majority")
    np.testing.assert_array_equal(res.label, [B, -1])
    np.testing.assert_allclose(res.confidence, [0.25, 0.0])
    np.testing.assert_allclose(res.probs[0], [0.25, 0.5, 0.25])  # abstained mass spread uniformly
    np.testing.assert_allclose(res.probs[1], np.full(3, 1 / 3))


def test_bootstrap_stability_is_one_for_unanimous_votes():
    answers = np.array([[A] * 5, [A, A, B, B, B]])
    st = bootstrap_stability(answers, 2, rule="majority", n_boot=200, random_state=0)
    assert st[0] == 1.0 and 0.3 < st[1] < 0.9


def test_parse_answer():
    classes = ["World", "Sports", "Sci/Tech"]
    assert parse_answer("sports", classes) == 1
    assert parse_answer("  Sci/Tech. ", classes) == 2
    assert parse_answer("The answer is: World", classes) == 0
    assert parse_answer("World or Sports", classes) == -1  # ambiguous
    assert parse_answer(None, classes) == -1
    assert parse_answer(2, classes) == 2 and parse_answer(7, classes) == -1
    with pytest.raises(ValueError, match="classes"):
        parse_answer("World")


class Counting:
    """A deterministic labeler that counts its calls and its peak concurrency."""

    def __init__(self, fail_first=0):
        self.calls = 0
        self.fail_first = fail_first
        self.lock = threading.Lock()

    def __deepcopy__(self, memo):  # SelfTrainer clones teachers: share one counter (and lock)
        return self

    def __call__(self, item, k):
        with self.lock:
            self.calls += 1
            if self.calls <= self.fail_first:
                raise ConnectionError("flaky")
        label = "pos" if "good" in item else "neg"
        return [(label, 0.8)] * (k - 1) + [("neg", 0.1)]


def test_labeler_teacher_caches_answers_on_disk(tmp_path):
    texts = ["good film", "bad film", "good plot", "dull"]
    y = np.array([-1, 0, -1, -1])
    fn = Counting()
    t = ExternalLabeler(fn, classes=["neg", "pos"], k=3, cache=tmp_path, name="counting-v1")
    p = t.transduce(texts, y)
    np.testing.assert_array_equal(p.argmax(axis=1), [1, 0, 1, 0])
    np.testing.assert_allclose(p[1], [1.0, 0.0])  # a labeled row keeps its label, not asked
    assert fn.calls == 3 and t.n_queried_ == 3
    fresh = ExternalLabeler(fn, classes=["neg", "pos"], k=3, cache=tmp_path, name="counting-v1")
    np.testing.assert_allclose(fresh.transduce(texts, y), p)
    assert fn.calls == 3 and fresh.n_queried_ == 0  # the rerun costs nothing
    assert len(AnswerCache(tmp_path / "labeler" / "answers.sqlite")) == 3
    other_k = ExternalLabeler(fn, classes=["neg", "pos"], k=4, cache=tmp_path, name="counting-v1")
    other_k.transduce(texts, y)
    assert fn.calls == 6  # k is part of the key


def test_labeler_retries_a_flaky_callable_and_reports_failures():
    fn = Counting(fail_first=2)
    t = ExternalLabeler(fn, classes=["neg", "pos"], k=2, cache=False, max_retries=2, backoff=0.0, max_concurrency=1)
    assert t.transduce(["good"]).argmax() == 1
    always = ExternalLabeler(lambda item, k: 1 / 0, k=2, classes=["a", "b"], cache=False, max_retries=1, backoff=0.0)
    with pytest.raises(RuntimeError, match="failed on 1 of 1 items"):
        always.transduce(["x"])


def test_async_labeler_respects_the_concurrency_bound():
    state = {"now": 0, "peak": 0}

    async def labeler(item, k):
        state["now"] += 1
        state["peak"] = max(state["peak"], state["now"])
        await asyncio.sleep(0.01)
        state["now"] -= 1
        return [int(item) % 2] * k

    t = ExternalLabeler(labeler, k=3, cache=False, max_concurrency=3, classes=["even", "odd"])
    p = t.transduce([str(i) for i in range(12)])
    np.testing.assert_array_equal(p.argmax(axis=1), np.arange(12) % 2)
    assert state["peak"] == 3


def test_items_mode_for_numeric_rows_and_self_trainer():
    from pseudolabel import SelfTrainer

    rng = np.random.default_rng(0)
    texts = [("good " if i % 2 else "bad ") + str(i) for i in range(60)]
    yt = np.arange(60) % 2
    X = rng.normal(size=(60, 3)) + yt[:, None] * 3.0  # features of the same rows
    y = np.full(60, -1)
    y[:4] = yt[:4]
    teacher = ExternalLabeler(Counting(), classes=["neg", "pos"], k=3, cache=False, items=texts)
    st = SelfTrainer(teacher=teacher, teacher_weight=0, max_rounds=1, cv=2, fallback=False, random_state=0).fit(X, y)
    assert (st.pseudo_labels_.label == yt[4:]).all()
    assert (st.predict(X) == yt).mean() > 0.95
    with pytest.raises(ValueError, match="not seen"):
        st.teacher_.predict_proba(X[:2] + 100.0)
    with pytest.raises(ValueError, match="numeric matrix"):
        ExternalLabeler(Counting(), classes=["neg", "pos"], cache=False).transduce(X)


def test_registry_spec_with_an_import_path():
    t = make("teacher", "labeler(labeler='json:loads', k=2)")
    assert isinstance(t, ExternalLabeler) and t.labeler == "json:loads"
