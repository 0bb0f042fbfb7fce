"""Contract tests for every registered component: a selector, refiner or teacher is tested here
the moment it is registered (the parameters are read from the registry at collection time).

Selectors and refiners, built with their defaults through ``make``:

* offline use — ``update(p, full_pool=True, ...)`` then select/call on the whole pool, a few
  rounds, with every context field a method may need (features, labeled_features, labeled_y,
  student_probs, member_probs, round, max_rounds);
* online use — mini-batches with ``idx=`` pool positions (one batch of a single row included);
* valid output — weights finite in [0, 1] and labels a class or ``UNKNOWN``; refined rows finite
  and on the simplex; ``__call__`` agrees with ``select``; after an ``update``, selecting or
  refining leaves the running state alone;
* ``state_dict`` round trip — a fresh clone loaded with the (pickled) state gives identical
  outputs on the next batch;
* empty input (0 rows) — before and after use;
* ``clone`` — an unfitted copy with equal parameters that behaves like a new object;
* inside ``SelfTrainer`` on a tiny dataset (``max_rounds=1``, ``cv=2``, ``fallback=False`` so the
  component's own pseudo-labels are what is checked).

Teachers: ``transduce`` gives finite rows on the simplex for every row, ``predict_proba`` for new
rows when the teacher can score them, and the teacher works inside ``SelfTrainer(teacher=...)``.
Teachers that need something from outside get a stand-in (:data:`TEACHER_FACTORIES`): ``labeler``
(an LLM or other external labeler) a deterministic fake callable, ``zeroshot`` (a sentence
encoder for the class names) a fake encoder that embeds class names at the class centres,
``neural`` (the torch extra) a one-epoch tiny network, skipped when torch is not installed.
``llp`` is binary only (LLP-BP); on the 3-class problem it must refuse with a clear error.

The ``ConsistencyClassifier`` (online) loop is covered by the neural tests.
"""

from __future__ import annotations

import copy
import importlib.util
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from pseudolabel import SelfTrainer
from pseudolabel.core import UNKNOWN, Context, Selection, available, make
from pseudolabel.core.record import REJECTED
from pseudolabel.ops.simplex import softmax

K = 3
N_POOL = 48
N_LAB = 12
D = 4
BATCH = 16
MAX_ROUNDS = 3

# --------------------------------------------------------------------------- the problem
_rng = np.random.default_rng(0)
CENTERS = _rng.normal(scale=3.0, size=(K, D))
Y_POOL = _rng.integers(0, K, N_POOL)
X_POOL = CENTERS[Y_POOL] + _rng.normal(size=(N_POOL, D))
Y_LAB = np.arange(N_LAB) % K
X_LAB = CENTERS[Y_LAB] + _rng.normal(size=(N_LAB, D))


def _probs(X, temperature):
    return softmax(-((X[:, None, :] - CENTERS[None]) ** 2).sum(-1) / temperature, axis=1)


P_POOL = _probs(X_POOL, 4.0)  # the teacher's probabilities on the pool
P_LAB = _probs(X_LAB, 4.0)  # ... on the labeled rows (what a refiner's fit gets)
STUDENT = _probs(X_POOL + _rng.normal(size=X_POOL.shape), 6.0)
MEMBERS = np.stack([_probs(X_POOL + _rng.normal(size=X_POOL.shape), 4.0) for _ in range(3)])


def pool_context(round_: int) -> Context:
    """What SelfTrainer passes in round ``round_``: the whole pool, every field filled."""
    return Context(
        idx=np.arange(N_POOL),
        full_pool=True,
        features=X_POOL,
        labeled_features=X_LAB,
        labeled_y=Y_LAB,
        student_probs=STUDENT,
        member_probs=MEMBERS,
        round=round_,
        max_rounds=MAX_ROUNDS,
    )


def batches(epochs: int = 2, clock: bool = True):
    """Online use: ``(probs, context)`` per mini-batch, rows in a shuffled order, last batch 1 row.

    ``clock=False`` leaves out ``round``/``max_rounds``, as a hand-written loop may: components
    with a schedule then count their ``update`` calls (state that must survive a checkpoint).
    """
    order = np.random.default_rng(1).permutation(N_POOL)
    cuts = [*range(0, N_POOL - 1, BATCH), N_POOL - 1, N_POOL]
    for epoch in range(epochs):
        for a, b in zip(cuts, cuts[1:], strict=False):
            rows = order[a:b]
            ctx = pool_context(epoch).rows(rows)
            yield P_POOL[rows], ctx.replace(max_rounds=epochs) if clock else ctx.replace(round=None, max_rounds=None)


def empty_context(full_pool: bool) -> Context:
    return pool_context(0).rows(np.zeros(0, dtype=np.int64)).replace(full_pool=full_pool)


# Constructor arguments a component cannot guess when fed mini-batches (documented there):
# FlexMatch counts per pool sample; P²OT's ramp needs its length when no round is passed.
ONLINE_KWARGS = {
    "flexmatch": {"n_samples": N_POOL},
    "partial_ot": {"total_steps": 10},
    "partial_ot_select": {"total_steps": 10},
}

SELECTORS = sorted(available("select"))
REFINERS = sorted(available("refine"))
TEACHERS = sorted(available("teacher"))


def build(kind: str, name: str, online: bool = False):
    obj = make(kind, name)
    if online and name in ONLINE_KWARGS:
        obj.set_params(**ONLINE_KWARGS[name])
    return obj


def run(kind: str, obj, p: np.ndarray, ctx: Context):
    """One step of either loop: ``update`` then the decision."""
    obj.update(p, ctx)
    return decide(kind, obj, p, ctx)


def decide(kind: str, obj, p: np.ndarray, ctx: Context):
    return obj.select(p, ctx) if kind == "select" else obj(p, ctx)


def check_output(kind: str, out, n: int) -> None:
    if kind == "select":
        assert isinstance(out, Selection)
        assert out.weights.shape == (n,) and out.labels.shape == (n,)
        assert np.isfinite(out.weights).all()
        assert ((out.weights >= 0) & (out.weights <= 1)).all()
        assert (((out.labels >= 0) & (out.labels < K)) | (out.labels == UNKNOWN)).all(), np.unique(out.labels)
        for key, value in out.info.items():
            if np.ndim(value) == 1 and len(value) == n and np.asarray(value).dtype.kind == "f":
                assert not np.isnan(value).any(), f"info[{key!r}] has NaN"
    else:
        out = np.asarray(out)
        assert out.shape == (n, K)
        assert np.isfinite(out).all() and (out >= 0).all()
        np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-9)


def same(a, b) -> bool:
    """Deep equality of states and outputs: arrays exactly (NaN = NaN), objects by their attributes."""
    if isinstance(a, Selection) and isinstance(b, Selection):
        return same(a.weights, b.weights) and same(a.labels, b.labels) and same(a.info, b.info)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (np.isnan(a) and np.isnan(b))
    if type(a) is not type(b):
        return False
    if hasattr(a, "__dict__") and not callable(a):  # fitted helper objects (e.g. OVA heads)
        return same(vars(a), vars(b))
    return a == b or pickle.dumps(a) == pickle.dumps(b)


def kind_names():
    return [("select", n) for n in SELECTORS] + [("refine", n) for n in REFINERS]


COMPONENTS = pytest.mark.parametrize(("kind", "name"), kind_names(), ids=[f"{k}-{n}" for k, n in kind_names()])


# --------------------------------------------------------------------------- selectors and refiners
def test_registry_is_not_empty():
    assert len(SELECTORS) >= 10 and len(REFINERS) >= 5 and len(TEACHERS) >= 8


@COMPONENTS
def test_made_with_defaults(kind, name):
    obj = make(kind, name)
    assert isinstance(obj, available(kind)[name])
    # scikit-learn rules: constructor arguments are the parameters, nothing fitted yet
    assert same(type(obj)(**obj.get_params()).get_params(), obj.get_params())
    assert obj.state_dict() == {}


@COMPONENTS
def test_offline_rounds(kind, name):
    obj = build(kind, name)
    if kind == "refine":
        obj.fit(P_LAB, Y_LAB)  # SelfTrainer fits refiners on held-out labeled probabilities
    for r in range(MAX_ROUNDS + 1):
        ctx = pool_context(r)
        out = run(kind, obj, P_POOL, ctx)
        check_output(kind, out, N_POOL)
        before = obj.state_dict()
        again = decide(kind, obj, P_POOL, ctx)
        assert same(obj.state_dict(), before), "deciding changed the running state"
        assert same(again, out), "a second decision on the same rows differs"
        if kind == "select":
            np.testing.assert_array_equal(obj(P_POOL, ctx), out.weights)


DECLARED = [(k, n) for k, n in kind_names() if type(make(k, n)).reads is not None]


def test_the_default_path_declares_what_it_reads():
    # SelfTrainer()'s candidates use these; declaring them is what spares the feature copy
    assert {("refine", "calibrate"), ("refine", "sinkhorn"), ("select", "gmm"), ("select", "threshold")} <= set(DECLARED)


@pytest.mark.parametrize(("kind", "name"), DECLARED, ids=[f"{k}-{n}" for k, n in DECLARED])
def test_declared_reads_are_all_it_reads(kind, name):
    # a component that declares the context fields it reads (SelfTrainer then skips building the
    # others) must decide the same when every other field is missing
    declared = type(make(kind, name)).reads
    full, bare = build(kind, name), build(kind, name)
    if kind == "refine":
        full.fit(P_LAB, Y_LAB)
        bare.fit(P_LAB, Y_LAB)
    keep = {"idx", "full_pool", "round", "max_rounds", *declared}
    for r in range(MAX_ROUNDS + 1):
        ctx = pool_context(r)
        stripped = ctx.replace(**{f: None for f in ("features", "labeled_features", "labeled_y", "student_probs",
                                                     "member_probs") if f not in keep})
        assert same(run(kind, full, P_POOL, ctx), run(kind, bare, P_POOL, stripped))


@COMPONENTS
@pytest.mark.parametrize("clock", [True, False], ids=["epochs", "no-round"])
def test_online_batches(kind, name, clock):
    obj = build(kind, name, online=True)
    n_steps = 0
    for p, ctx in batches(clock=clock):
        out = run(kind, obj, p, ctx)
        check_output(kind, out, len(p))
        before = obj.state_dict()
        decide(kind, obj, p, ctx)
        assert same(obj.state_dict(), before), "deciding changed the running state"
        n_steps += 1
    assert n_steps >= 8
    # the end of online training scores the whole pool once (ConsistencyClassifier does)
    check_output(kind, run(kind, obj, P_POOL, pool_context(1)), N_POOL)


@COMPONENTS
@pytest.mark.parametrize("mode", ["offline", "online", "online-no-round"])
def test_state_dict_round_trip(kind, name, mode):
    obj = build(kind, name, online=mode != "offline")
    if mode == "offline":
        steps = [(P_POOL, pool_context(r)) for r in range(MAX_ROUNDS + 1)]
    else:
        steps = list(batches(clock=mode == "online"))
    *history, (p_next, ctx_next) = steps
    if kind == "refine":
        obj.fit(P_LAB, Y_LAB)
    for p, ctx in history:
        run(kind, obj, p, ctx)
    state = obj.state_dict()
    assert state, "a used component must have a state (at least n_classes_)"
    resumed = clone(obj)
    resumed.load_state_dict(pickle.loads(pickle.dumps(state)))  # checkpoints are pickled
    assert same(resumed.state_dict(), state)
    expected = run(kind, obj, p_next, ctx_next)
    got = run(kind, resumed, p_next, ctx_next)
    assert same(got, expected), "a component resumed from state_dict() decides differently"
    assert same(resumed.state_dict(), obj.state_dict())
    # the state is a copy: using the component afterwards does not change a saved checkpoint
    assert same(pickle.loads(pickle.dumps(state)), state)


@COMPONENTS
def test_state_dict_is_detached(kind, name):
    obj = build(kind, name)
    run(kind, obj, P_POOL, pool_context(0))
    saved = obj.state_dict()
    frozen = copy.deepcopy(saved)
    run(kind, obj, P_POOL[::-1].copy(), pool_context(1))
    assert same(saved, frozen), "state_dict() returned live references to the running state"


@COMPONENTS
@pytest.mark.parametrize("full_pool", [True, False], ids=["pool", "batch"])
def test_empty_input(kind, name, full_pool):
    empty = np.zeros((0, K))
    fresh = build(kind, name, online=not full_pool)
    check_output(kind, run(kind, fresh, empty, empty_context(full_pool)), 0)
    used = build(kind, name, online=True)
    for p, ctx in list(batches(epochs=1))[:2]:
        run(kind, used, p, ctx)
    check_output(kind, run(kind, used, empty, empty_context(False)), 0)
    check_output(kind, decide(kind, used, P_POOL[:5], pool_context(1).rows(np.arange(5))), 5)


@COMPONENTS
def test_clone_is_unfitted_with_equal_params(kind, name):
    obj = build(kind, name, online=True)
    for p, ctx in batches(epochs=1):
        run(kind, obj, p, ctx)
    copy_ = clone(obj)
    assert type(copy_) is type(obj)
    assert same(copy_.get_params(), obj.get_params())
    assert copy_.state_dict() == {} and not hasattr(copy_, "n_classes_")
    new = build(kind, name, online=True)
    p, ctx = next(batches(epochs=1))
    assert same(run(kind, copy_, p, ctx), run(kind, new, p, ctx)), "a clone does not behave like a new object"


# --------------------------------------------------------------------------- inside SelfTrainer
def tiny_dataset(n_classes: int = K, per_class: int = 20, labeled: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(n_classes, D))
    y_true = np.repeat(np.arange(n_classes), per_class)
    X = centers[y_true] + rng.normal(size=(len(y_true), D))
    y = np.full(len(y_true), -1)
    for k in range(n_classes):
        y[np.flatnonzero(y_true == k)[:labeled]] = k
    return X, y, y_true, centers


def check_self_trainer(model: SelfTrainer, X, y) -> None:
    pool = np.flatnonzero(y < 0)
    lab = np.flatnonzero(y >= 0)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), len(np.unique(y[lab])))
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    rec = model.pseudo_labels_
    assert len(rec) == len(pool)
    assert ((rec.weight >= 0) & (rec.weight <= 1)).all()
    assert np.isin(rec.label, [*range(proba.shape[1]), REJECTED, UNKNOWN]).all()
    np.testing.assert_array_equal(model.transduction_[lab], y[lab])


def fit_quietly(model: SelfTrainer, X, y) -> SelfTrainer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tiny data: few held-out rows
        return model.fit(X, y)


@pytest.mark.parametrize("name", SELECTORS)
def test_selector_inside_self_trainer(name):
    X, y, _, _ = tiny_dataset()
    model = SelfTrainer(teacher="self", refine=None, select=name, max_rounds=1, cv=2, random_state=0, fallback=False)
    check_self_trainer(fit_quietly(model, X, y), X, y)
    assert model.config_["select"] == name


@pytest.mark.parametrize("name", REFINERS)
def test_refiner_inside_self_trainer(name):
    X, y, _, _ = tiny_dataset()
    model = SelfTrainer(refine=name, max_rounds=1, cv=2, random_state=0, fallback=False)
    check_self_trainer(fit_quietly(model, X, y), X, y)
    assert all(c["refine"] == name for c in model.candidates_)


# --------------------------------------------------------------------------- teachers
def _oracle(item, k):
    """A stand-in external labeler: k answers about ``item = [true class, n_classes]`` (the true
    class, one dissent)."""
    truth, n_classes = item
    return [truth] * (k - 1) + [(truth + 1) % n_classes]


class CentreEncoder:
    """A stand-in sentence encoder: the text ``"class k"`` embeds at class k's centre."""

    def __init__(self, centers):
        self.centers = np.asarray(centers, dtype=np.float64)

    def encode(self, texts, normalize_embeddings=True, **_):
        E = np.stack([self.centers[int(str(t).rsplit(" ", 1)[-1])] for t in texts])
        return E / np.linalg.norm(E, axis=1, keepdims=True) if normalize_embeddings else E


def _make_teacher(name: str, y_true, centers, n_classes: int):
    if name == "labeler":
        from pseudolabel.teachers import ExternalLabeler

        items = [[int(t), n_classes] for t in y_true]  # row i of X is item i
        return ExternalLabeler(labeler=_oracle, items=items, cache=False, name="contract-oracle")
    if name == "zeroshot":
        from pseudolabel.teachers import ZeroShotTeacher

        return ZeroShotTeacher(class_names=[f"class {k}" for k in range(n_classes)], encoder=CentreEncoder(centers), temperature=0.5)
    if name == "neural":
        if importlib.util.find_spec("torch") is None:
            pytest.skip("the neural teacher needs the torch extra")
        return make("teacher", "neural(max_epochs=1, hidden_sizes=(16,), batch_size=16, random_state=0)")
    return make("teacher", name)


TEACHER_FACTORIES = {"labeler", "zeroshot", "neural"}
"""Teachers built by :func:`_make_teacher` with a stand-in instead of their defaults."""
BINARY_ONLY = {"llp": "binary"}
"""Teachers that refuse multi-class tasks, with a word their error message must contain."""


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("name", TEACHERS)
def test_teacher_transduce_gives_probabilities_for_every_row(name, n_classes):
    X, y, y_true, centers = tiny_dataset(n_classes=n_classes)
    teacher = _make_teacher(name, y_true, centers, n_classes)
    w = (y >= 0).astype(np.float64)
    if name in BINARY_ONLY and n_classes > 2:
        with pytest.raises(ValueError, match=BINARY_ONLY[name]):
            teacher.transduce(X, y, w, n_classes=n_classes)
        return
    P = np.asarray(teacher.transduce(X, y, w, n_classes=n_classes), dtype=np.float64)
    assert P.shape == (len(X), n_classes)
    assert np.isfinite(P).all() and (P >= 0).all()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-5)
    if getattr(teacher, "predicts_new_rows", True):
        Q = np.asarray(teacher.predict_proba(X[:5] + 0.1), dtype=np.float64)
        assert Q.shape == (5, n_classes) and np.isfinite(Q).all()
        np.testing.assert_allclose(Q.sum(axis=1), 1.0, atol=1e-5)
    fresh = clone(teacher)
    assert same(fresh.get_params(), teacher.get_params())


@pytest.mark.parametrize("name", TEACHERS)
def test_teacher_inside_self_trainer(name):
    n_classes = 2 if name in BINARY_ONLY else K
    X, y, y_true, centers = tiny_dataset(n_classes=n_classes)
    teacher = _make_teacher(name, y_true, centers, n_classes) if name in TEACHER_FACTORIES else name
    model = SelfTrainer(teacher=teacher, max_rounds=1, cv=2, random_state=0, fallback=False)
    check_self_trainer(fit_quietly(model, X, y), X, y)
