"""ConsistencyClassifier: learns, is deterministic, resumes exactly, fits the library's contracts."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, make_blobs  # noqa: E402

from pseudolabel import PseudoLabels, SelfTrainer  # noqa: E402
from pseudolabel.learn.neural import ConsistencyClassifier  # noqa: E402
from pseudolabel.learn.neural.checkpoint import load_checkpoint  # noqa: E402
from pseudolabel.select import FixedThreshold, FlexMatch  # noqa: E402

FAST = dict(batch_size=16, mu=2, hidden_sizes=(32,), n_threads=1)


def blobs(n=600, per_class=4, seed=0):
    X, y = make_blobs(n, n_features=8, centers=4, cluster_std=2.5, random_state=seed)
    rng = np.random.default_rng(seed)
    y_semi = np.full(len(y), -1)
    for c in range(4):
        y_semi[rng.choice(np.flatnonzero(y == c), per_class, replace=False)] = c
    return X, y, y_semi


def _same(a, b) -> bool:
    """Exact equality of nested state (dicts, lists, arrays, scalars)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, z) for x, z in zip(a, b, strict=True))
    if a is None or b is None:
        return a is b
    return np.array_equal(np.asarray(a), np.asarray(b))


def test_tiny_run_learns_well_above_chance():
    X, y, y_semi = blobs(per_class=5)
    clf = ConsistencyClassifier(max_epochs=30, random_state=0, **FAST).fit(X, y_semi)
    acc = (clf.predict(X) == y).mean()
    assert acc > 0.9, acc  # chance is 0.25
    assert len(clf.history_) == 30 and clf.history_[-1]["mask_ratio"] > 0.2 and {"loss", "unsup_loss", "mask_ratio", "heldout_accuracy"} <= set(clf.history_[0])
    pl = clf.pseudo_labels_
    assert isinstance(pl, PseudoLabels) and len(pl) == (y_semi < 0).sum()
    assert np.array_equal(pl.index, np.flatnonzero(y_semi < 0))
    acc_pl = pl.accepted
    assert acc_pl.sum() > 100 and (pl.label[acc_pl] == y[pl.index[acc_pl]]).mean() > 0.9
    assert len(clf.heldout_index_) == 4 and clf.history_[-1]["heldout_accuracy"] >= 0.0


def test_fixed_seed_gives_identical_results_and_inputs_untouched():
    X, _, y_semi = blobs(300)
    X0, y0 = X.copy(), y_semi.copy()
    a = ConsistencyClassifier(max_epochs=2, random_state=3, **FAST).fit(X, y_semi)
    b = ConsistencyClassifier(max_epochs=2, random_state=3, **FAST).fit(X, y_semi)
    c = ConsistencyClassifier(max_epochs=2, random_state=4, **FAST).fit(X, y_semi)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    assert np.array_equal(X, X0) and np.array_equal(y_semi, y0)


@pytest.mark.parametrize(("select", "teacher"), [("flexmatch", "ema"), ("freematch", "ema"),
                                                 ("softmatch(per_class=True)", "ema"), ("flexmatch", "start")])
def test_resume_reproduces_an_uninterrupted_run(tmp_path, select, teacher):
    X, _, y_semi = blobs(300)
    params = dict(max_epochs=3, random_state=0, select=select, refine="align", teacher=teacher, **FAST)
    full = ConsistencyClassifier(**params).fit(X, y_semi)
    path = tmp_path / "run.pt"
    stopped = ConsistencyClassifier(checkpoint=path, callback=lambda est, entry: entry["epoch"] == 1, **params)
    stopped.fit(X, y_semi)
    assert stopped.n_epochs_ == 1 and load_checkpoint(path)["run"]["epoch"] == 1
    resumed = ConsistencyClassifier(checkpoint=path, **params).fit(X, y_semi)
    assert resumed.n_epochs_ == 3
    assert np.array_equal(resumed.predict_proba(X), full.predict_proba(X))
    strip = [[(k, repr(v)) for k, v in e.items() if k != "seconds"] for e in full.history_]
    assert [[(k, repr(v)) for k, v in e.items() if k != "seconds"] for e in resumed.history_] == strip
    assert _same(full.selector_.state_dict(), resumed.selector_.state_dict())
    assert _same([r.state_dict() for r in full.refiners_], [r.state_dict() for r in resumed.refiners_])
    with pytest.raises(ValueError, match="different data"):
        ConsistencyClassifier(checkpoint=path, **params).fit(X + 1.0, y_semi)


def test_checkpoint_state_round_trip(tmp_path):
    X, _, y_semi = blobs(200)
    path = tmp_path / "c.pt"
    clf = ConsistencyClassifier(max_epochs=10, checkpoint=path, select="flexmatch(threshold=0.5)", **FAST).fit(X, y_semi)
    state = load_checkpoint(path)
    net = clone(clf).set_params(checkpoint=None)
    net.fit(X, y_semi)  # a fresh network of the same architecture
    net.network_.load_state_dict(state["network"])
    for k, v in clf.network_.state_dict().items():
        assert torch.equal(v, net.network_.state_dict()[k])
    sel = FlexMatch(n_samples=len(clf.selector_.selected_))
    sel.load_state_dict(state["selector"])
    assert np.array_equal(sel.selected_, clf.selector_.selected_) and (sel.selected_ >= 0).any()


def test_sklearn_clone_and_selftrainer_student():
    X, y, y_semi = blobs(300)
    est = ConsistencyClassifier(max_epochs=40, validation_fraction=0.0, **FAST)
    assert clone(est).get_params() == est.get_params()
    st = SelfTrainer(est, teacher="self", max_rounds=1, cv=None).fit(X, y_semi)
    assert isinstance(st.pseudo_labels_, PseudoLabels)
    assert (st.predict(X) == y).mean() > 0.6
    # weighted supervised fit (what SelfTrainer does): every row labeled, no unlabeled forward pass
    sup = clone(est).fit(X[:40], y[:40], sample_weight=np.linspace(0.1, 1, 40))
    assert np.isnan(sup.history_[0]["mask_ratio"]) and len(sup.pseudo_labels_) == 0


def test_multihead_teacher_reports_members_and_disagreement():
    X, _, y_semi = blobs(300)
    clf = ConsistencyClassifier(teacher="multihead", max_epochs=1, **FAST)
    probs = clf.transduce(X, y_semi)
    assert probs.shape == (300, 4) and clf.members_proba_.shape == (4, 300, 4)
    assert np.allclose(clf.members_proba_.mean(axis=0), probs)
    assert "head_disagreement" in clf.pseudo_labels_.extras
    assert (clf.pseudo_labels_.extras["head_disagreement"] >= -1e-9).all()


class _Recording(FixedThreshold):
    """FixMatch's threshold that keeps every batch of teacher probabilities it is shown."""

    def _update(self, p, ctx):
        self.seen_ = [*getattr(self, "seen_", []), (np.asarray(ctx.idx).copy(), np.asarray(p).copy())]


@pytest.mark.parametrize("teacher", ["start", "ema"])
def test_start_teacher_labels_every_batch_with_the_initial_network(teacher):
    X, _, y_semi = blobs(300)
    clf = ConsistencyClassifier(teacher=teacher, weak=None, select=_Recording(threshold=0.5), max_epochs=4,
                                ema_momentum=0.9, **FAST).fit(X, y_semi)
    start = copy.deepcopy(clf.model_)
    start.load_state_dict(clf.start_state_)
    pool = np.sort(np.concatenate([np.flatnonzero(y_semi < 0), clf.heldout_index_]))
    p_start = clf._forward_probs(start, clf._to_tensor(X[pool], fitting=False)).mean(axis=0)
    seen = clf.selector_.seen_
    assert len(seen) == 4 * clf.steps_per_epoch_
    same = [np.allclose(p, p_start[idx], atol=1e-6) for idx, p in seen]
    if teacher == "start":  # a fixed teacher: every batch, first to last
        assert all(same)
    else:  # the EMA teacher moves away from the start as the student trains
        assert same[0] and not same[-1]


def test_simmatch_and_shrinkmatch_terms_train():
    X, y, y_semi = blobs(300)
    clf = ConsistencyClassifier(max_epochs=15, simmatch_weight=1.0, shrink_weight=1.0, proj_dim=16, refine="align",
                                select="threshold(threshold=0.7)", **FAST).fit(X, y_semi)
    keys = set(clf.history_[-1])
    assert {"instance_loss", "shrink_loss"} <= keys, keys
    assert "instance_loss" not in clf.history_[0]  # SimMatch starts after the first epoch (USB)
    assert (clf.predict(X) == y).mean() > 0.7


def test_small_cnn_on_digit_images_learns():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.default_rng(0)
    y_semi = np.full(len(y), -1)
    for c in range(10):
        y_semi[rng.choice(np.flatnonzero(y == c), 5, replace=False)] = c
    clf = ConsistencyClassifier(image_shape=(1, 8, 8), cnn_width=8, max_steps=60, steps_per_epoch=30, batch_size=32,
                                mu=2, n_threads=1, lr=0.05, select="softmatch").fit(X, y_semi)
    assert clf.predict_proba(X[:5]).shape == (5, 10)
    assert (clf.predict(X) == y).mean() > 0.5  # chance 0.1; 60 steps


def test_time_budget_and_bad_inputs():
    X, _, y_semi = blobs(200)
    clf = ConsistencyClassifier(max_epochs=None, max_time=0.5, **FAST).fit(X, y_semi)
    assert clf.n_steps_ >= 1 and clf.train_seconds_ < 5
    with pytest.raises(ValueError, match="nothing is labeled"):
        ConsistencyClassifier(**FAST).fit(X, np.full(200, -1))
    with pytest.raises(ValueError, match="NaN"):
        ConsistencyClassifier(**FAST).fit(np.full((10, 2), np.nan), np.zeros(10))
    with pytest.raises(ValueError, match="teacher"):
        ConsistencyClassifier(teacher="oracle", **FAST).fit(X, y_semi)
    with pytest.raises(ValueError, match="budget"):
        ConsistencyClassifier(max_epochs=None, **FAST).fit(X, y_semi)
    fitted = ConsistencyClassifier(max_epochs=1, **FAST).fit(X, y_semi)
    with pytest.raises(ValueError, match="features"):
        fitted.predict(X[:, :3])


def test_registered_teacher_in_selftrainer():
    from pseudolabel.core.registry import make

    X, y, y_semi = blobs(300, per_class=5)
    teacher = make("teacher", "neural(max_epochs=30, batch_size=16, mu=2, hidden_sizes=(32,), n_threads=1)")
    assert isinstance(teacher, ConsistencyClassifier) and teacher.max_epochs == 30
    st = SelfTrainer(teacher=teacher, max_rounds=1, cv=None).fit(X, y_semi)
    assert st.teacher_name_ == "neural" and isinstance(st.pseudo_labels_, PseudoLabels)
    assert (st.predict(X) == y).mean() > 0.6  # chance 0.25


def test_model_selection_keeps_the_latest_epoch_within_one_standard_error():
    X, _, y_semi = blobs(300, per_class=10)  # 2 held-out labels per class: 8 rows, tolerance 1/8
    accs = iter([0.5, 1.0, 0.875, 0.75, 0.875])
    clf = ConsistencyClassifier(max_epochs=5, **FAST)
    clf._end_epoch_orig = clf._end_epoch

    def fake_end_epoch(*args, **kwargs):
        entry = clf._end_epoch_orig(*args, **kwargs)
        entry["heldout_accuracy"] = next(accs)
        return entry

    clf._end_epoch = fake_end_epoch
    clf.fit(X, y_semi)
    assert len(clf.heldout_index_) == 8
    assert clf.best_epoch_ == 5  # 0.875 is within one sample of 1.0; 0.75 (epoch 4) is not
    strict = ConsistencyClassifier(max_epochs=5, selection_tolerance=0.0, **FAST)
    accs = iter([0.5, 1.0, 0.875, 0.75, 0.875])
    strict._end_epoch_orig = strict._end_epoch
    strict._end_epoch = lambda *a, **k: {**strict._end_epoch_orig(*a, **k), "heldout_accuracy": next(accs)}
    strict.fit(X, y_semi)
    assert strict.best_epoch_ == 2


def test_progress_bar_runs(capsys):
    X, _, y_semi = blobs(200)
    ConsistencyClassifier(max_epochs=2, verbose=1, **FAST).fit(X, y_semi)
    out = capsys.readouterr().out
    assert "loss" in out and "mask" in out and "held-out acc" in out


def test_supervised_run_selects_pseudo_labels_offline_on_the_pool():
    from pseudolabel.select import flexmatch_thresholds

    X, _, y_semi = blobs(300, per_class=5)
    clf = ConsistencyClassifier(lambda_u=0.0, max_epochs=10, select="flexmatch(threshold=0.9)", **FAST).fit(X, y_semi)
    pl = clf.pseudo_labels_
    conf, pred = pl.probs.max(axis=1), pl.probs.argmax(axis=1)
    sigma = np.bincount(pred[conf >= 0.9], minlength=4)
    t = flexmatch_thresholds(sigma, len(pl), 0.9)
    assert np.array_equal(pl.weight > 0, conf >= t[pred])


def test_wise_ft_interpolation_known_answers():
    from pseudolabel.learn.neural.wise import interpolate_state

    start = {"w": torch.zeros(3), "n": torch.tensor(1)}
    end = {"w": torch.tensor([4.0, 8.0, -4.0]), "n": torch.tensor(7)}
    mid = interpolate_state(start, end, 0.25)
    assert torch.allclose(mid["w"], torch.tensor([1.0, 2.0, -1.0])) and int(mid["n"]) == 7
    assert torch.equal(interpolate_state(start, end, 1.0)["w"], end["w"])
    with pytest.raises(ValueError, match="wise_alpha"):
        interpolate_state(start, end, 1.5)
    with pytest.raises(ValueError, match="architecture"):
        interpolate_state({"w": torch.zeros(3)}, end, 0.5)


def test_wise_alpha_returns_the_interpolated_model_and_interpolated_matches_a_refit():
    X, _, y_semi = blobs(300)
    params = dict(max_epochs=3, random_state=0, **FAST)
    full = ConsistencyClassifier(**params).fit(X, y_semi)
    half = ConsistencyClassifier(wise_alpha=0.5, **params).fit(X, y_semi)
    same = full.interpolated(0.5, X)
    assert np.allclose(same.predict_proba(X), half.predict_proba(X))
    assert np.array_equal(same.pseudo_labels_.index, half.pseudo_labels_.index)
    assert np.allclose(same.pseudo_labels_.probs, half.pseudo_labels_.probs)
    assert not np.allclose(half.predict_proba(X), full.predict_proba(X))
    start = full.interpolated(0.0)
    assert all(torch.equal(v, full.start_state_[k]) for k, v in start.model_.state_dict().items())
    assert not hasattr(start, "pseudo_labels_") and hasattr(full, "pseudo_labels_")  # the original keeps its own
    assert np.array_equal(full.interpolated(1.0).predict_proba(X), full.predict_proba(X))
    with pytest.raises(ValueError, match="wise_alpha"):
        ConsistencyClassifier(wise_alpha=-0.1, **params).fit(X, y_semi)
    with pytest.raises(ValueError, match="fitted on"):
        full.interpolated(0.5, X[:10])


def test_resume_keeps_the_wise_start_point(tmp_path):
    X, _, y_semi = blobs(300)
    params = dict(max_epochs=3, random_state=0, wise_alpha=0.5, **FAST)
    full = ConsistencyClassifier(**params).fit(X, y_semi)
    path = tmp_path / "run.pt"
    ConsistencyClassifier(checkpoint=path, callback=lambda est, entry: entry["epoch"] == 1, **params).fit(X, y_semi)
    resumed = ConsistencyClassifier(checkpoint=path, **params).fit(X, y_semi)
    assert np.array_equal(resumed.predict_proba(X), full.predict_proba(X))
