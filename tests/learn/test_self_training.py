import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits, make_blobs
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from sklearn.utils.estimator_checks import check_estimator

from pseudolabel import PseudoLabels, SelfTrainer
from pseudolabel.learn.defaults import GUARD_RISK, default_student
from pseudolabel.ops.estimators import TunedLogisticRegression
from pseudolabel.select import FlexMatch


def digits_split(seed: int, per_class: int = 4):
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    rng = np.random.default_rng(seed)
    ys = np.full_like(ytr, -1)
    for c in range(10):
        ys[rng.choice(np.flatnonzero(ytr == c), per_class, replace=False)] = c
    return Xtr, ys, ytr, Xte, yte


def blobs(seed=0, n=300, labeled_per_class=5):
    X, y = make_blobs(n_samples=n, centers=[[0, 0], [6, 0], [0, 6]], cluster_std=1.0, random_state=seed)
    ys = np.full(n, -1)
    rng = np.random.default_rng(seed)
    for c in range(3):
        ys[rng.choice(np.flatnonzero(y == c), labeled_per_class, replace=False)] = c
    return X, ys, y


@pytest.mark.parametrize("est", [SelfTrainer(), SelfTrainer(teacher="self", select="flexmatch")], ids=["default", "self-flexmatch"])
def test_check_estimator(est):
    # sklearn exempts its own semi-supervised estimators from this check by name
    # (_choose_check_classifiers_labels): with y in {-1, 1}, -1 means "unlabeled", not a class.
    expected = {"check_classifiers_classes": "y == -1 marks unlabeled rows, as in sklearn's SelfTrainingClassifier"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(est, expected_failed_checks=expected, on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert failed == [], failed


def test_beats_sklearn_self_training_and_label_spreading_on_digits():
    # the acceptance bar: digits, 4 labels per class, mean over 5 seeds
    ours, st, ls = [], [], []
    for seed in range(5):
        Xtr, ys, _, Xte, yte = digits_split(seed)
        ours.append((SelfTrainer(random_state=seed).fit(Xtr, ys).predict(Xte) == yte).mean())
        st.append((SelfTrainingClassifier(default_student()).fit(Xtr, ys).predict(Xte) == yte).mean())
        ls.append((LabelSpreading(kernel="knn", n_neighbors=7).fit(Xtr, ys).predict(Xte) == yte).mean())
    assert np.mean(ours) > np.mean(st)
    assert np.mean(ours) > np.mean(ls)


def cluster_assumption_violated(seed, n=1500, d=10):
    """Two clusters that each hold both classes; the label sits in a low-variance direction."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    z = rng.normal(size=n)
    X[:, 0] = 0.5 * z
    X[:, 1:3] += rng.choice([-3.0, 3.0], size=(n, 1))
    return X, (z > 0).astype(int)


def test_guard_never_worse_than_supervised_when_unlabeled_rows_hurt():
    sup, ours, raw, auto = [], [], [], []
    for seed in range(4):
        X, y = cluster_assumption_violated(seed)
        Xte, yte = cluster_assumption_violated(100 + seed)
        rng = np.random.default_rng(seed)
        ys = np.full(len(y), -1)
        for c in (0, 1):
            ys[rng.choice(np.flatnonzero(y == c), 10, replace=False)] = c
        # the floor a practitioner would use: C chosen by cross-validation on the labeled rows
        sup.append((TunedLogisticRegression(random_state=seed).fit(X[ys >= 0], ys[ys >= 0]).predict(Xte) == yte).mean())
        with pytest.warns(UserWarning, match="not clearly better than supervised-only"):
            model = SelfTrainer(teacher="graph", random_state=seed).fit(X, ys)
        assert model.fallback_
        ours.append((model.predict(Xte) == yte).mean())
        raw.append((SelfTrainer(teacher="graph", random_state=seed, fallback=False).fit(X, ys).predict(Xte) == yte).mean())
        default = SelfTrainer(random_state=seed).fit(X, ys)
        assert default.fallback_
        auto.append((default.predict(Xte) == yte).mean())
    assert np.mean(raw) < np.mean(sup) - 0.1  # the data really punishes graph self-training...
    # ...the guard keeps it at supervised level: its floor is the reference tuned model itself
    assert np.mean(ours) == np.mean(sup)
    assert np.mean(auto) == np.mean(sup)


def test_fallback_is_exactly_the_tuned_supervised_model():
    # the floor a fallback returns is the reference supervised model itself (the bench's
    # supervised_tuned), not an approximation of it: same C, same scaling, same predictions
    for seed in range(3):
        X, y = cluster_assumption_violated(seed)
        Xte, _ = cluster_assumption_violated(100 + seed)
        ys = np.full(len(y), -1)
        rng = np.random.default_rng(seed)
        for c in (0, 1):
            ys[rng.choice(np.flatnonzero(y == c), 10, replace=False)] = c
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = SelfTrainer(random_state=seed).fit(X, ys)
        assert model.fallback_
        ref = TunedLogisticRegression(random_state=seed).fit(X[ys >= 0], ys[ys >= 0])
        np.testing.assert_array_equal(model.predict_proba(Xte), ref.predict_proba(Xte))
        assert model.student_C_ == ref.C_ and model.config_["C"] == str(ref.C_)


def test_guard_keeps_the_floor_when_no_heldout_row_separates_them():
    # perfectly separated blobs: supervised and self-training both get every held-out row right,
    # so nothing shows that the unlabeled rows help: the floor is returned, and its predictions
    # are the (rejected) pseudo-labels; fallback=False keeps self-training and its pseudo-labels
    X, ys, y = blobs(7)
    with pytest.warns(UserWarning, match="not clearly better"):
        model = SelfTrainer(random_state=0).fit(X, ys)
    g = model.guard_
    assert g["heldout_wins"] == g["heldout_losses"] == 0 and g["heldout_accuracy"] == 1.0
    assert model.fallback_ and model.pseudo_labels_.weight.max() == 0
    pool = ys == -1
    assert (model.pseudo_labels_.probs.argmax(axis=1) == y[pool]).mean() > 0.95
    kept = SelfTrainer(random_state=0, fallback=False).fit(X, ys)
    assert not kept.fallback_ and kept.pseudo_labels_.weight.max() > 0
    assert len(kept.pseudo_labels_.label) == pool.sum()
    assert (kept.pseudo_labels_.label == y[pool]).mean() > 0.95


def moons(seed, n=600, labeled_per_class=5):
    from sklearn.datasets import make_moons

    X, y = make_moons(n, noise=0.08, random_state=seed)
    ys = np.full(len(y), -1)
    rng = np.random.default_rng(seed)
    for c in (0, 1):
        ys[rng.choice(np.flatnonzero(y == c), labeled_per_class, replace=False)] = c
    return X, ys, y


def test_auto_runs_candidates_on_the_same_folds_and_keeps_the_best():
    X, ys, _ = moons(0)  # 10 labels: the default guard would keep the floor; this is about the candidates
    model = SelfTrainer(fallback=False, random_state=0).fit(X, ys)
    assert [c["teacher"] for c in model.candidates_] == ["graph", "self"]
    chosen = [c for c in model.candidates_ if c["chosen"]]
    assert len(chosen) == 1
    assert chosen[0]["gain_lower_bound"] == max(c["gain_lower_bound"] for c in model.candidates_)
    assert model.config_["teacher"] == chosen[0]["teacher"]
    # a fixed part of the configuration applies to every candidate
    fixed = SelfTrainer(select="softmatch", random_state=0).fit(X, ys)
    assert {c["select"] for c in fixed.candidates_} == {"softmatch"}
    single = SelfTrainer(teacher="self", random_state=0).fit(X, ys)
    assert len(single.candidates_) == 1 and single.candidates_[0]["select"] == "threshold(threshold=0.75)"


@pytest.mark.parametrize("seed", range(6))
def test_guard_pairs_every_labeled_row_with_its_own_supervised_prediction(seed):
    # the folds are drawn once per fit, so with random_state=None too every option is compared with
    # the floor on the same rows: wins − losses = n_labeled × (held-out accuracy − supervised accuracy)
    X, ys, _ = blobs(seed, n=240, labeled_per_class=6)
    rng = np.random.default_rng(seed)
    X = X + rng.normal(scale=2.0, size=X.shape)  # overlapping classes, so the two disagree on some rows
    model = SelfTrainer(random_state=None, fallback=False).fit(X, ys)
    g = model.guard_
    assert g["n_heldout"] == (ys >= 0).sum()  # every labeled row is held out once
    assert g["heldout_wins"] - g["heldout_losses"] == round(g["n_heldout"] * (g["heldout_accuracy"] - g["supervised_heldout_accuracy"]))
    assert np.isclose(g["gain"], (g["heldout_wins"] - g["heldout_losses"]) / g["n_heldout"])


def test_human_labels_win_and_inputs_untouched():
    X, ys, y = blobs()
    X0, ys0 = X.copy(), ys.copy()
    model = SelfTrainer(random_state=0, fallback=False).fit(X, ys)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(ys, ys0)
    lab = ys >= 0
    np.testing.assert_array_equal(model.transduction_[lab], ys[lab])
    pl = model.pseudo_labels_
    np.testing.assert_array_equal(pl.index, np.flatnonzero(~lab))
    assert (pl.source != "human").all()
    # on well separated blobs the pseudo-labels are right and confident
    acc = pl.accepted
    assert (pl.label[acc] == y[pl.index[acc]]).mean() > 0.97
    assert model.history_[0]["heldout_accuracy"] > 0.9


def test_x_unlabeled_equals_appended_rows():
    X, ys, _ = blobs(1)
    lab = ys >= 0
    a = SelfTrainer(random_state=0).fit(X[lab], ys[lab], X_unlabeled=X[~lab])
    order = np.concatenate([np.flatnonzero(lab), np.flatnonzero(~lab)])
    b = SelfTrainer(random_state=0).fit(X[order], ys[order])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-8)


def test_string_labels_with_none_for_unlabeled():
    X, ys, _ = blobs(2)
    names = np.array(["cat", "dog", "eel"], dtype=object)
    y_obj = np.where(ys >= 0, names[np.maximum(ys, 0)], None).astype(object)
    model = SelfTrainer(random_state=0).fit(X, y_obj)
    assert set(model.classes_) == {"cat", "dog", "eel"}
    assert set(model.predict(X)) <= {"cat", "dog", "eel"}
    frame = model.pseudo_labels_.to_frame()
    assert set(frame.loc[frame.weight > 0, "label"]) <= {"cat", "dog", "eel"}


def test_student_without_sample_weight_and_self_teacher():
    X, ys, y = blobs(3)
    model = SelfTrainer(KNeighborsClassifier(3), teacher="self", select=FlexMatch(threshold=0.9), random_state=0).fit(X, ys)
    assert (model.predict(X) == y).mean() > 0.9
    assert model.teacher_weight_ == 0.0


def test_errors_name_the_problem():
    X, ys, _ = blobs(4)
    with pytest.raises(ValueError, match="nothing is labeled"):
        SelfTrainer().fit(X, np.full(len(X), -1))
    with pytest.raises(ValueError, match="Unknown label type: 'continuous'"):
        SelfTrainer().fit(X, np.linspace(0, 1, len(X)))
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SelfTrainer().fit(Xn, ys)
    one = ys.copy()
    keep_one = np.flatnonzero(one == 0)[1:]
    one[keep_one] = -1
    with pytest.warns(UserWarning, match="only 1 label"):
        SelfTrainer().fit(X, one)
    with pytest.raises(ValueError, match="unknown select"):
        SelfTrainer(select="nope").fit(X, ys)


def test_history_early_stopping_and_determinism():
    X, ys, _ = blobs(5)
    a = SelfTrainer(max_rounds=6, patience=1, random_state=3).fit(X, ys)
    assert 1 <= a.n_rounds_ <= 7
    keys = {"round", "selected", "mean_weight", "heldout_accuracy", "heldout_pl_precision", "heldout_pl_coverage"}
    assert keys <= set(a.history_[0])
    b = SelfTrainer(max_rounds=6, patience=1, random_state=3).fit(X, ys)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.best_round_ < a.n_rounds_


def test_named_components_and_record(tmp_path):
    X, ys, _ = blobs(6)
    model = SelfTrainer(refine="calibrate,align(target='uniform'),sinkhorn(prior='uniform')", select="softmatch", random_state=0, fallback=False).fit(X, ys)
    pl = model.pseudo_labels_
    assert isinstance(pl, PseudoLabels)
    assert ((pl.weight > 0) & (pl.weight <= 1)).all()  # SoftMatch weights are soft
    path = pl.to_parquet(tmp_path / "pl.parquet")
    back = pd.read_parquet(path)
    assert list(back.columns[:6]) == ["id", "label", "confidence", "weight", "source", "round"]
    assert len(back) == len(pl)


def test_custom_candidates_and_their_validation():
    X, ys, _ = blobs(7)
    model = SelfTrainer(candidates=[{"teacher": "prototype"}, {"teacher": "self", "select": "softmatch"}], random_state=0, fallback=False).fit(X, ys)
    got = [(c["teacher"], c["select"]) for c in model.candidates_]
    # missing parts come from the teacher's defaults (its auto candidate, else the fallback ones)
    assert got == [("prototype", "freematch"), ("self", "softmatch")]
    other = SelfTrainer(candidates=[{"teacher": "erase"}, {"teacher": "graph"}], random_state=0).fit(X, ys)
    assert [(c["teacher"], c["select"]) for c in other.candidates_] == [("erase", "threshold(threshold=0.0)"), ("graph", "gmm")]
    assert sum(c["chosen"] for c in model.candidates_) == 1
    with pytest.raises(ValueError, match="candidates must be a non-empty list of dicts"):
        SelfTrainer(candidates=[]).fit(X, ys)
    with pytest.raises(ValueError, match="'teacher' key"):
        SelfTrainer(candidates=[{"select": "flexmatch"}]).fit(X, ys)


def test_known_answer_unlabeled_rows_help_by_construction():
    # two interleaving moons: a line cannot separate them, the kNN graph over the unlabeled rows can;
    # with 25 labels per class the decision must keep self-training — even after accounting for
    # every option it compared — and it must gain a lot. (With 5 per class the graph wins on 1–7
    # of 10 held-out rows and loses none: too few to be sure after 9 options, and it falls back.)
    from sklearn.datasets import make_moons

    gains = []
    for seed in range(3):
        X, ys, y = moons(seed, labeled_per_class=25)
        Xte, yte = make_moons(600, noise=0.08, random_state=100 + seed)
        model = SelfTrainer(random_state=seed).fit(X, ys)
        g = model.guard_
        assert not model.fallback_ and g["gain_lower_bound"] > 0 and g["p_value"] <= g["alpha"]
        assert g["n_options"] >= 6 and g["heldout_losses"] == 0
        assert model.config_["teacher"] == "graph"
        sup = default_student().fit(X[ys >= 0], ys[ys >= 0])
        gains.append((model.predict(Xte) == yte).mean() - (sup.predict(Xte) == yte).mean())
    assert np.mean(gains) > 0.08


def test_tabular_dataframe_with_mixed_columns():
    rng = np.random.default_rng(0)
    n = 400
    color = rng.choice(["red", "green", "blue", "violet"], size=n, p=[0.45, 0.3, 0.2, 0.05])
    size = rng.normal(size=n)
    flag = rng.random(n) < 0.5
    y = ((color == "red") ^ (size > 0.3)).astype(int)
    frame = pd.DataFrame({"color": color, "size": size, "flag": flag, "count": rng.integers(0, 5, size=n).astype(float)})
    frame.loc[::17, "size"] = np.nan
    frame.loc[::23, "color"] = None
    ys = pd.Series(np.where(np.arange(n) < 60, y, -1))
    before = frame.copy()
    model = SelfTrainer(random_state=0).fit(frame, ys)
    pd.testing.assert_frame_equal(frame, before)  # the user's table is not touched
    assert model.encoder_.column_kinds_ == {"color": "categorical", "size": "numeric", "flag": "binary", "count": "numeric"}
    # one-hot and binary columns reach the student unscaled (0/1); numbers are standardised — in the
    # self-training student and in the floor (a fallback returns TunedLogisticRegression, whose model_ is that student)
    student = model.estimator_.model_ if model.fallback_ else model.estimator_
    scaled = student.named_steps["scale"]
    np.testing.assert_array_equal(scaled.binary_, model.encoder_.binary_mask_)
    new = frame.iloc[:5].copy()
    new.loc[new.index[0], "color"] = "ultraviolet"  # a category unseen at fit time
    assert model.predict(new).shape == (5,)
    assert model.encoder_.unseen_counts_["color"] == 1
    with pytest.raises(TypeError, match="fitted on a DataFrame"):
        model.predict(np.zeros((2, 4)))


def _final_step(model):
    while hasattr(model, "steps"):
        model = model.steps[-1][1]
    return model


def test_a_candidate_can_fix_the_default_students_C():
    # classic self-training with scikit-learn's C = 1 instead of the C tuned on the few labels:
    # every chain of that candidate (main and folds) and the returned student use it
    X, ys, _, Xte, _ = digits_split(0)
    self_cand = {"teacher": "self", "refine": None, "select": "threshold(threshold=0.75)"}
    fits = {}
    for C in (0.01, 1.0):
        fits[C] = SelfTrainer(candidates=[{**self_cand, "student_C": C}], fallback=False, random_state=0).fit(X, ys)
        assert fits[C].student_C_ == C and fits[C].config_["student_C"] == str(C)
        assert _final_step(fits[C].estimator_).C == C
    assert not np.allclose(fits[0.01].predict_proba(Xte), fits[1.0].predict_proba(Xte))
    tuned = SelfTrainer(candidates=[self_cand], fallback=False, random_state=0).fit(X, ys)
    assert tuned.student_C_ == TunedLogisticRegression(random_state=0).fit(X[ys >= 0], ys[ys >= 0]).C_
    # a user's own student is never re-parameterised
    user = SelfTrainer(KNeighborsClassifier(3), candidates=[{**self_cand, "student_C": 1.0}], fallback=False, random_state=0).fit(X, ys)
    assert user.student_C_ is None and _final_step(user.estimator_).get_params()["n_neighbors"] == 3
    for est in (None, KNeighborsClassifier(3)):
        with pytest.raises(ValueError, match="'student_C' must be a positive number"):
            SelfTrainer(est, candidates=[{**self_cand, "student_C": -1}], random_state=0).fit(X, ys)


def imbalanced_blobs(seed: int, n: int = 2000, minority: float = 0.1, per_class: int = 10):
    """Two overlapping classes, 90/10 in the data, labels drawn per class (balanced)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < minority).astype(int)
    X = rng.normal(size=(n, 2)) + np.c_[1.5 * y, np.zeros(n)]
    ys = np.full(n, -1)
    for c in (0, 1):
        ys[rng.choice(np.flatnonzero(y == c), per_class, replace=False)] = c
    return X, ys, y


def test_guard_class_mix_weighs_heldout_rows_to_the_pools_class_mix():
    # labels drawn 10 per class from a 90/10 mix: with guard_class_mix="pool" the guard estimates the
    # pool's prior (EM on the floor's pool predictions) and weighs each held-out row by
    # π_pool[y] / π_labeled[y]; with "labeled" it scores the labeled rows as they are
    X, ys, _ = imbalanced_blobs(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pooled = SelfTrainer(guard_class_mix="pool", fallback=False, random_state=0).fit(X, ys)
        plain = SelfTrainer(guard_class_mix="labeled", fallback=False, random_state=0).fit(X, ys)
    g, h = pooled.guard_, plain.guard_
    assert g["class_mix"] == "pool" and abs(g["pool_prior"][0] - 0.9) < 0.05
    assert h["class_mix"] == "labeled" and h["pool_prior"] is None and h["gain_at_pool_mix"] == h["gain"]
    # the weighted gain is the per-row gain reweighed: class 0 rows count (0.9/0.5)/(mean weight) each
    assert np.isfinite(g["gain_at_pool_mix"]) and -1 <= g["gain_at_pool_mix"] <= 1
    with pytest.raises(ValueError, match="guard_class_mix must be one of pool, labeled, both"):
        SelfTrainer(guard_class_mix="nope").fit(X, ys)


def test_both_class_mixes_refuse_a_gain_that_holds_only_at_the_labels_mix():
    # held-out rows 10 per class; the option is right on 4 class-1 rows the floor gets wrong and wrong
    # on 2 class-0 rows the floor gets right: +2 rows at the labels' 50/50 mix, but at the pool's
    # 90/10 mix each class-0 row counts 0.9/0.5 and each class-1 row 0.1/0.5, so the gain is negative
    from pseudolabel.learn.self_training import _option
    from pseudolabel.ops.selection_test import max_t_pvalue

    y = np.repeat([0, 1], 10)
    floor = np.eye(2)[y] * 0.8 + 0.1
    floor[10:14] = [0.9, 0.1]  # the floor misses 4 class-1 rows
    option = np.eye(2)[y] * 0.8 + 0.1
    option[:2] = [0.1, 0.9]  # the option misses 2 class-0 rows
    weight = np.where(y == 0, 0.9 / 0.5, 0.1 / 0.5)
    weight = weight / weight.mean()
    labeled = _option(0, 0, 0.0, option, floor, y, 0.0, None, "accuracy")
    pooled = _option(0, 0, 0.0, option, floor, y, 0.0, None, "accuracy", weight)
    both = _option(0, 0, 0.0, option, floor, y, 0.0, None, "accuracy", weight, both=True)
    assert labeled.score == pytest.approx(2 / 20) and pooled.score == pytest.approx((4 * 0.2 - 2 * 1.8) / 20)
    assert both.score == pytest.approx(pooled.score) and pooled.score < 0 < labeled.score
    assert np.array_equal(both.test_diff, labeled.test_diff) and np.allclose(both.test_diff_pool, pooled.test_diff)
    # the intersection-union p-value: the larger of the two max-T p-values, 1 at the pool's mix here
    assert max_t_pvalue(both.test_diff[None], 0) < 1 == max_t_pvalue(both.test_diff_pool[None], 0)


def test_both_class_mixes_and_the_counted_prior_are_recorded_and_checked():
    X, ys, _ = imbalanced_blobs(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both = SelfTrainer(guard_class_mix="both", guard_pool_prior="count", fallback=False, random_state=0).fit(X, ys)
        labeled = SelfTrainer(guard_class_mix="labeled", fallback=False, random_state=0).fit(X, ys)
    g = both.guard_
    assert g["class_mix"] == "both" and np.isclose(sum(g["pool_prior"]), 1.0)
    # classify and count: the floor's predicted class shares on the pool, between 50/50 and the data's 90/10
    assert 0.5 < g["pool_prior"][0] <= 0.9 + 0.05 and np.isfinite(g["gain_at_pool_mix"])
    # the chosen option's bound is the smaller of its bounds at the two mixes: never above the labeled-only one
    assert g["gain_lower_bound"] <= labeled.guard_["gain_lower_bound"] + 1e-12
    # the intersection-union p-value is the larger of the two; the labeled-only guard has none at the pool's mix
    assert 0 < g["p_value_at_pool_mix"] <= g["p_value"] <= 1 and np.isnan(labeled.guard_["p_value_at_pool_mix"])
    with pytest.raises(ValueError, match="guard_pool_prior must be one of estimate, count"):
        SelfTrainer(guard_pool_prior="nope").fit(X, ys)


def test_pool_class_mix_changes_nothing_when_labels_follow_the_data():
    # labels drawn at random (the data's own mix): the weights are ~1 and the decision agrees
    X, y = make_blobs(n_samples=600, centers=[[0, 0], [4, 0], [0, 4]], cluster_std=1.2, random_state=3)
    ys = np.full(len(y), -1)
    picked = np.random.default_rng(3).choice(len(y), 45, replace=False)
    ys[picked] = y[picked]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = SelfTrainer(guard_class_mix="pool", random_state=0).fit(X, ys)
        b = SelfTrainer(guard_class_mix="labeled", random_state=0).fit(X, ys)
    assert np.allclose(a.guard_["pool_prior"], np.bincount(y) / len(y), atol=0.06)
    assert abs(a.guard_["gain_at_pool_mix"] - b.guard_["gain"]) < 0.05


def test_guard_risk_measures_how_many_unlabeled_predictions_the_option_changes():
    # δ is the share of unlabeled rows where the kept option's class differs from the floor's — the
    # floor being the reference tuned model on the labeled rows — so the most keeping it can cost
    X, ys, _ = moons(0, labeled_per_class=25)
    model = SelfTrainer(fallback=False, random_state=0).fit(X, ys)
    lab, pool = ys >= 0, ys < 0
    floor = TunedLogisticRegression(random_state=0).fit(X[lab], ys[lab])
    g = model.guard_
    assert g["disagreement"] == pytest.approx((model.predict(X[pool]) != floor.predict(X[pool])).mean())
    assert 0.02 < g["disagreement"] < 0.5  # the graph option bends the floor's line around the moons
    assert g["risk"] == GUARD_RISK and g["level"] == pytest.approx(min(g["alpha"], GUARD_RISK / g["disagreement"]))


def test_guard_risk_lowers_the_level_to_what_a_wrong_keep_could_cost():
    # known answer at the boundary: the option is kept at level min(alpha, risk / δ), so with its
    # own p-value and δ a risk just above p·δ keeps it and one just below falls back
    X, ys, _ = moons(0, labeled_per_class=25)
    base = SelfTrainer(random_state=0).fit(X, ys)
    g = base.guard_
    assert not base.fallback_ and g["p_value"] <= g["alpha"]
    bound = g["p_value"] * g["disagreement"]
    kept = SelfTrainer(guard_risk=bound * 1.05, random_state=0).fit(X, ys)
    assert not kept.fallback_ and kept.guard_["level"] == pytest.approx(min(g["alpha"], bound * 1.05 / g["disagreement"]))
    with pytest.warns(UserWarning, match=r"needed <= [0-9.e-]+: the option changes [0-9.]+% of the unlabeled rows' predictions"):
        refused = SelfTrainer(guard_risk=bound * 0.95, random_state=0).fit(X, ys)
    assert refused.fallback_ and refused.guard_["level"] < refused.guard_["p_value"]
    # the same option and the same evidence: only the level moved
    assert refused.guard_["p_value"] == g["p_value"] and refused.guard_["disagreement"] == g["disagreement"]
    for bad in (0, -0.1, 1.5, "1%", True):
        with pytest.raises(ValueError, match=r"guard_risk must be None or a number in \(0, 1\]"):
            SelfTrainer(guard_risk=bad).fit(X, ys)


def test_guard_min_heldout_keeps_the_floor_below_that_many_labels():
    # known answer: the same fit, kept when 50 held-out labels are enough and refused when 51 are needed
    X, ys, _ = moons(0, labeled_per_class=25)
    kept = SelfTrainer(guard_min_heldout=50, random_state=0).fit(X, ys)
    assert not kept.fallback_ and kept.guard_["n_heldout"] == 50 and kept.guard_["min_heldout"] == 50
    with pytest.warns(UserWarning, match=r"only 50 labeled rows could be held out, fewer than the 51 a gain is trusted on "
                                         r"\(label more rows, or pass guard_min_heldout=0"):
        refused = SelfTrainer(guard_min_heldout=51, random_state=0).fit(X, ys)
    assert refused.fallback_ and refused.guard_["p_value"] == kept.guard_["p_value"]  # the same evidence
    # the default asks for 30: ten labels never decide on their own, even when the test (here switched
    # off: level 1, no risk) would keep the option
    few_X, few_y, _ = moons(0)
    test_only = SelfTrainer(guard_alpha=1.0, guard_risk=None, guard_min_heldout=0, random_state=0).fit(few_X, few_y)
    assert not test_only.fallback_
    with pytest.warns(UserWarning, match="only 10 labeled rows could be held out, fewer than the 30 .* self-training looked "
                                         "better than supervised-only training, but on too few labels to trust"):
        assert SelfTrainer(guard_alpha=1.0, guard_risk=None, random_state=0).fit(few_X, few_y).fallback_
    # a class with a single label: no fold, no held-out row — the supervised model, unless the minimum is 0 or cv is off
    one = few_y.copy()
    one[np.flatnonzero(one == 0)[1:]] = -1
    with pytest.warns(UserWarning, match="no labeled row could be held out, so no gain can be trusted"):
        assert SelfTrainer(random_state=0).fit(few_X, one).fallback_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not SelfTrainer(guard_min_heldout=0, random_state=0).fit(few_X, one).fallback_
        assert not SelfTrainer(cv=None, random_state=0).fit(few_X, one).fallback_
    for bad in (-1, 2.5, True, "30"):
        with pytest.raises(ValueError, match="guard_min_heldout must be a whole number >= 0"):
            SelfTrainer(guard_min_heldout=bad).fit(X, ys)
