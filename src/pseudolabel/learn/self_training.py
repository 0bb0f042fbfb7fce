"""`SelfTrainer`: iterative self-training for any scikit-learn classifier.

One round, for every *chain* (see below)::

    probs  = teacher.transduce(X, seeds)               # teacher: graph, estimator, or the student
    probs  = refine_k(... refine_1(probs))             # each refiner may fit on held-out labels
    w      = select(probs)                             # running state lives in the selector
    student.fit(labeled ∪ {i : w_i > 0}, weights)      # human labels weight 1, pseudo-labels w_i
    seeds  = student's predictions                     # the student seeds the next round's teacher

Every earlier pseudo-label is re-estimated in every round; human labels never change.

**Chains and honesty.** Besides the main chain on all labels, ``cv`` fold chains run in lockstep,
each with one stratified fold of the labels hidden (treated as unlabeled). The hidden rows give,
per round and without ever touching test data: held-out accuracy of the predictor (early
stopping and the choice of round), the precision and calibration of pseudo-labels on rows whose
true label is known (the audit), and out-of-fold teacher probabilities on which refiners such
as temperature scaling are fitted (leave-one-fold-out for the fold chains themselves).

**Guard.** The same folds score a supervised-only student. If no round beats it on held-out
accuracy (one-sided sign test over the held-out rows where exactly one of the two is right), the
unlabeled rows are judged not to help: the supervised student is returned, ``fallback_`` is True
and a warning says so. When the two agree on every held-out row there is nothing to test and
self-training is kept: its pseudo-labels are what the user asked for.
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import binomtest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from pseudolabel.audit.metrics import pseudo_label_quality
from pseudolabel.core.ops import EPS
from pseudolabel.core.record import PseudoLabels
from pseudolabel.core.registry import make, split_specs
from pseudolabel.learn.defaults import (
    AUTO_CANDIDATES,
    FALLBACK_DEFAULTS,
    TEACHER_DEFAULTS,
    default_student,
)
from pseudolabel.teachers.estimator import (
    EstimatorTeacher,
    accepts_sample_weight,
    expand_proba,
    fit_weighted,
)


@dataclass
class _Chain:
    """One self-training run: the main one (nothing hidden) or a fold with its labels hidden."""

    labeled: np.ndarray  # row indices with a human label the chain may use
    pool: np.ndarray  # row indices the chain treats as unlabeled (includes its hidden rows)
    hidden: np.ndarray  # labeled rows hidden from this chain (empty for the main chain)
    refiners: list
    selector: object
    student: object = None
    seeds_y: np.ndarray | None = None  # per pool row: class seeding the next teacher call
    seeds_w: np.ndarray | None = None
    since: np.ndarray | None = None  # per pool row: round since which its label is unchanged
    last_label: np.ndarray | None = None
    state: dict = field(default_factory=dict)


class SelfTrainer(ClassifierMixin, BaseEstimator):
    """Self-training meta-estimator: few labels + many unlabeled rows → model + pseudo-labels.

    Parameters
    ----------
    estimator : the student (any classifier with ``predict_proba``); ``None`` = standardised
        logistic regression. Gets per-sample weights when its ``fit`` accepts ``sample_weight``;
        otherwise pseudo-labels with weight ≥ 0.5 are used unweighted.
    teacher : ``"graph"`` (kNN label spreading), ``"self"`` (the student labels for itself, as in
        classic self-training), ``"auto"``, a registered name/spec, a classifier, or a Teacher.
        ``"auto"`` runs every configuration of ``candidates`` on the same held-out folds and keeps
        the one with the best held-out accuracy (``candidates_`` lists them, ``config_`` the winner).
    candidates : the configurations ``teacher="auto"`` chooses from, dicts with ``teacher``,
        ``refine`` and ``select``; ``None`` = :data:`pseudolabel.learn.defaults.AUTO_CANDIDATES`.
    refine : refiner spec(s) applied in order (``"calibrate,sinkhorn"``, a list, objects, ``None``).
    select : selector spec or object (``"flexmatch(threshold=0.9)"``, ``FreeMatch()``, ...).
    max_rounds : self-training rounds after the first teacher call.
    cv : folds for the held-out chains (capped by the smallest class count); ``None`` or 0/1
        disables calibration, early stopping and the supervised guard.
    patience : stop after this many rounds without a held-out improvement.
    teacher_weight : weight of the teacher in ``predict_proba`` (``"auto"``: 0.5 when the teacher
        is not the student itself and can score new rows, else 0).
    labeled_weight : sample weight of human-labeled rows in the student's fit.
    fallback : the guard. Self-training is kept only if it beats a supervised-only student on the
        held-out labels with a one-sided sign-test p-value below this level (paired over the rows
        where exactly one of them is right; default 0.2); otherwise the supervised student is
        returned. If no held-out row separates them (same rows right and wrong), self-training is
        kept. ``False`` disables the guard.
    unlabeled : marker of unlabeled rows in ``y`` (NaN/None also count for float/object ``y``).
    random_state : seed for the folds and any randomised component.
    verbose : print one line per round.
    callback : called with each round's history entry (a dict) as soon as it is known, e.g. to
        drive a progress bar.
    """

    def __init__(
        self,
        estimator=None,
        *,
        teacher="auto",
        candidates=None,
        refine="auto",
        select="auto",
        max_rounds: int = 5,
        cv: int | None = 3,
        patience: int = 2,
        teacher_weight="auto",
        labeled_weight: float = 1.0,
        fallback: float | bool = 0.2,
        unlabeled=-1,
        random_state=None,
        verbose: int = 0,
        callback=None,
    ):
        self.estimator = estimator
        self.teacher = teacher
        self.candidates = candidates
        self.refine = refine
        self.select = select
        self.max_rounds = max_rounds
        self.cv = cv
        self.patience = patience
        self.teacher_weight = teacher_weight
        self.labeled_weight = labeled_weight
        self.fallback = fallback
        self.unlabeled = unlabeled
        self.random_state = random_state
        self.verbose = verbose
        self.callback = callback

    # ------------------------------------------------------------------ configuration
    def _configs(self) -> list[dict]:
        """The configuration(s) to run: one, or the ``auto`` candidates (user-fixed parts win)."""
        fixed = {k: getattr(self, k) for k in ("refine", "select") if not (isinstance(getattr(self, k), str) and getattr(self, k) == "auto")}
        if isinstance(self.teacher, str) and self.teacher == "auto":
            cands = AUTO_CANDIDATES if self.candidates is None else self.candidates
            if not cands or not all(isinstance(c, dict) and "teacher" in c for c in cands):
                raise ValueError(
                    "candidates must be a non-empty list of dicts with a 'teacher' key (and optionally 'refine', "
                    f"'select'), e.g. [{{'teacher': 'graph'}}, {{'teacher': 'self'}}]; got {self.candidates!r}"
                )
            return [{**_teacher_defaults(cfg["teacher"]), **cfg, **fixed} for cfg in cands]
        return [{"teacher": self.teacher, **_teacher_defaults(self.teacher), **fixed}]

    @staticmethod
    def _components(config: dict):
        """Teacher object (None = the student itself), refiner objects and the selector of a config."""
        teacher, refine, select = config["teacher"], config["refine"], config["select"]
        if isinstance(teacher, str) and teacher == "self":
            teacher_obj = None
        elif isinstance(teacher, str):
            teacher_obj = make("teacher", teacher)
        elif hasattr(teacher, "transduce"):
            teacher_obj = clone(teacher) if isinstance(teacher, BaseEstimator) else copy.deepcopy(teacher)
        elif hasattr(teacher, "predict_proba"):
            teacher_obj = EstimatorTeacher(teacher)
        else:
            raise TypeError(
                f"teacher must be 'auto', 'self', 'graph', a registered name, a classifier with predict_proba "
                f"or an object with transduce(); got {type(teacher).__name__}"
            )
        if refine is None:
            specs = []
        elif isinstance(refine, str):
            specs = split_specs(refine)
        elif isinstance(refine, list | tuple):
            specs = list(refine)
        else:
            specs = [refine]
        refiners = [make("refine", r) for r in specs]
        selector = make("select", select if select is not None else "threshold(threshold=0.0)")
        for obj, role in [(s, "refine") for s in refiners] + [(selector, "select")]:
            if not callable(obj):
                raise TypeError(f"{role} component {obj!r} is not callable (probs -> ...)")
        return teacher_obj, refiners, selector

    def _make_student(self):
        if self.estimator is None:
            return default_student()
        if not hasattr(self.estimator, "predict_proba"):
            raise TypeError(
                f"estimator {type(self.estimator).__name__} has no predict_proba; pass a probabilistic "
                "classifier (e.g. LogisticRegression, or SVC(probability=True))"
            )
        return clone(self.estimator)

    # ------------------------------------------------------------------ input handling
    def _unlabeled_mask(self, y: np.ndarray) -> np.ndarray:
        mask = np.zeros(len(y), dtype=bool)
        if y.dtype.kind in "fc":
            mask |= np.isnan(y)
        if y.dtype.kind == "O":
            mask |= np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in y], dtype=bool)
        if self.unlabeled is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mask |= np.asarray(y == self.unlabeled, dtype=bool)
        return mask

    def _encode_y(self, y) -> tuple[np.ndarray, np.ndarray]:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D (one label per row, {self.unlabeled!r} for unlabeled); got shape {y.shape}")
        unl = self._unlabeled_mask(y)
        known = y[~unl]
        if len(known) == 0:
            raise ValueError(
                f"nothing is labeled: every y is the unlabeled marker {self.unlabeled!r}; label at least two rows per class"
            )
        kind = type_of_target(known)
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"Unknown label type: {kind!r}. SelfTrainer needs class labels (binary or multiclass).")
        classes, enc = np.unique(known, return_inverse=True)
        y_enc = np.full(len(y), -1, dtype=np.int64)
        y_enc[~unl] = enc
        return classes, y_enc

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, X_unlabeled=None):
        """Fit on ``X`` with labels ``y`` (``unlabeled`` marks unlabeled rows) plus optional extra
        unlabeled rows ``X_unlabeled``. Returns self."""
        t_start = time.perf_counter()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        X = validate_data(self, X, dtype=np.float64)
        classes, y_enc = self._encode_y(y)
        check_consistent_length(X, y_enc)
        if X_unlabeled is not None:
            Xu = validate_data(self, X_unlabeled, reset=False, dtype=np.float64)
            X = np.vstack([X, Xu])
            y_enc = np.concatenate([y_enc, np.full(len(Xu), -1, dtype=np.int64)])
        self.classes_ = classes
        lab, pool = np.flatnonzero(y_enc >= 0), np.flatnonzero(y_enc < 0)
        self.n_labeled_, self.n_unlabeled_ = len(lab), len(pool)
        self.history_, self.fallback_, self.heldout_ = [], False, None
        self.teacher_, self.teacher_weight_ = None, 0.0
        if len(classes) < 2 or len(pool) == 0:
            self._fit_supervised_only(X, y_enc, lab)
        else:
            n_folds = self._n_folds(y_enc, lab)
            runs, sup_scores = [], None
            for config in self._configs():
                teacher, refiners, selector = self._components(config)
                self.teacher_name_ = "self" if teacher is None else getattr(teacher, "_registry_name", type(teacher).__name__)
                tw = self.teacher_weight
                blend = teacher is not None and getattr(teacher, "predicts_new_rows", True)
                self.teacher_weight_ = (0.5 if blend else 0.0) if tw == "auto" else float(tw)
                if not 0.0 <= self.teacher_weight_ <= 1.0:
                    raise ValueError(f"teacher_weight must lie in [0, 1] or be 'auto', got {tw!r}")
                chains = self._make_chains(y_enc, lab, pool, refiners, selector, n_folds)
                if sup_scores is None:  # the folds are the same for every configuration
                    sup_scores = [self._supervised_heldout(X, y_enc, ch) for ch in chains[1:]]
                self.history_ = []
                best = self._run_rounds(X, y_enc, teacher, chains, _pooled_accuracy(sup_scores))
                runs.append({"config": config, "best": best, "history": self.history_, "name": self.teacher_name_, "weight": self.teacher_weight_})
            # candidates compete on held-out accuracy (ties: the earlier, i.e. preferred, one)
            chosen = max(runs, key=lambda run: -np.inf if np.isnan(run["best"]["acc"]) else run["best"]["acc"])
            self.candidates_ = [
                {**{k: str(v) for k, v in run["config"].items()}, "heldout_accuracy": run["best"]["acc"], "best_round": run["best"]["round"], "chosen": run is chosen}
                for run in runs
            ]
            self.config_ = {k: str(v) for k, v in chosen["config"].items()}
            self.history_, self.teacher_name_, self.teacher_weight_ = chosen["history"], chosen["name"], chosen["weight"]
            self._finish(X, y_enc, lab, pool, chosen["best"], sup_scores)
        self.fit_seconds_ = time.perf_counter() - t_start
        return self

    def _fit_supervised_only(self, X, y_enc, lab) -> None:
        """Nothing to self-train on (no unlabeled rows, or a single class): a plain supervised fit."""
        if self.verbose:
            print("SelfTrainer: no unlabeled rows (or one class); fitting the student on the labeled rows only")
        K = len(self.classes_)
        self.estimator_ = fit_weighted(self._make_student(), X[lab], y_enc[lab])
        self.pseudo_labels_ = PseudoLabels.from_probs(np.zeros((0, K)), np.zeros(0), self.classes_)
        self.transduction_ = self.classes_[y_enc]
        self.n_rounds_ = self.best_round_ = 0

    def _n_folds(self, y_enc, lab) -> int:
        """Held-out folds: ``cv`` capped by the smallest class count (0 = none, with a warning)."""
        counts = np.bincount(y_enc[lab], minlength=len(self.classes_))
        n_folds = 0 if not self.cv or self.cv < 2 else int(min(self.cv, counts.min()))
        if self.cv and self.cv >= 2 and n_folds < 2:
            warnings.warn(
                f"class {self.classes_[counts.argmin()]!r} has only {counts.min()} label(s): no held-out folds, so no "
                "calibration, early stopping or supervised guard; label at least 2 rows per class",
                UserWarning,
                stacklevel=3,
            )
            return 0
        return n_folds

    def _make_chains(self, y_enc, lab, pool, refiners, selector, n_folds: int) -> list[_Chain]:
        """The main chain plus one chain per stratified fold of the labels (hidden = treated as unlabeled)."""
        chains = [self._new_chain(lab, pool, np.zeros(0, dtype=np.int64), refiners, selector)]
        if n_folds >= 2:
            skf = StratifiedKFold(n_folds, shuffle=True, random_state=self.random_state)
            for keep, hide in skf.split(lab, y_enc[lab]):
                chains.append(self._new_chain(lab[keep], np.concatenate([pool, lab[hide]]), lab[hide], refiners, selector))
        return chains

    def _run_rounds(self, X, y_enc, teacher, chains: list[_Chain], sup_acc: float) -> dict:
        """All chains in lockstep, round by round; returns the best round of the main chain."""
        K = len(self.classes_)
        beta = self.teacher_weight_
        folds = chains[1:]
        best, stale = None, 0
        for r in range(self.max_rounds + 1):
            t_round = time.perf_counter()
            # fold chains first, so that the teacher's final state is the main chain's
            teacher_probs = {i: self._teacher_probs(X, y_enc, chains[i], teacher, K) for i in reversed(range(len(chains)))}
            records = {}
            for i, ch in enumerate(chains):
                # refiners fit on out-of-fold teacher probabilities: every fold for the main chain,
                # the other folds for a fold chain (its own hidden labels stay hidden)
                held = [j for j in range(1, len(chains)) if j != i]
                ho_probs = np.concatenate([teacher_probs[j][chains[j].hidden] for j in held]) if held else None
                ho_y = np.concatenate([y_enc[chains[j].hidden] for j in held]) if held else None
                records[i] = self._round(X, y_enc, ch, teacher_probs[i], ho_probs, ho_y, r)
            scores = []
            for i, ch in enumerate(folds, start=1):
                student = expand_proba(ch.student.predict_proba(X[ch.hidden]), ch.student.classes_, K)
                rec = records[i][np.searchsorted(ch.pool, ch.hidden)]  # ch.pool is sorted
                scores.append(
                    {
                        "y": y_enc[ch.hidden],
                        "pred": (1 - beta) * student + beta * teacher_probs[i][ch.hidden],
                        "pl_probs": rec.probs,
                        "pl_label": rec.label,
                        "pl_weight": rec.weight,
                    }
                )
            acc = _pooled_accuracy(scores)
            entry = self._history_entry(r, records[0], scores, acc, sup_acc, time.perf_counter() - t_round)
            self.history_.append(entry)
            if self.callback is not None:
                self.callback(entry)
            if self.verbose:
                print(f"round {r}: accepted {entry['selected']}/{len(records[0])}  held-out acc {acc:.4f}")
            # ties go to the later round (more refined pseudo-labels) but count toward patience
            if best is None or not scores or acc > best["acc"]:
                stale = 0
            else:
                stale += 1
            if best is None or not scores or acc >= best["acc"]:
                best = {
                    "acc": acc,
                    "round": r,
                    "student": chains[0].student,
                    "teacher": copy.deepcopy(teacher) if teacher is not None else None,
                    "record": records[0],
                    "scores": scores,
                }
            if scores and stale >= self.patience:
                break
        return best

    def _history_entry(self, r: int, rec: PseudoLabels, scores: list[dict], acc: float, sup_acc: float, seconds: float) -> dict:
        accepted = rec.accepted
        entry = {
            "round": r,
            "selected": int(accepted.sum()),
            "coverage": float(accepted.mean()),
            "mean_weight": float(rec.weight.mean()),
            "mean_confidence": float(rec.confidence[accepted].mean()) if accepted.any() else float("nan"),
            "heldout_accuracy": acc,
            "supervised_heldout_accuracy": sup_acc,
            "seconds": seconds,
        }
        if scores:
            cat = {k: np.concatenate([s[k] for s in scores]) for k in ("y", "pl_label", "pl_weight", "pl_probs")}
            conf = cat["pl_probs"][np.arange(len(cat["y"])), np.maximum(cat["pl_label"], 0)]
            q = pseudo_label_quality(cat["pl_label"], cat["pl_weight"], conf, cat["y"], len(self.classes_))
            entry.update(
                heldout_pl_precision=q["precision"],
                heldout_pl_coverage=q["coverage"],
                heldout_pl_mean_confidence=q["mean_confidence"],
            )
        return entry

    def _finish(self, X, y_enc, lab, pool, best: dict, sup_scores: list[dict]) -> None:
        """Keep the best round, or fall back to the supervised student when it is not beaten."""
        K = len(self.classes_)
        self.n_rounds_ = len(self.history_)
        self.best_round_ = best["round"]
        self.estimator_, self.teacher_, record = best["student"], best["teacher"], best["record"]
        self.heldout_ = {"scores": best["scores"], "round": best["round"]}
        sup_acc = _pooled_accuracy(sup_scores)
        p_value, wins, losses = _sign_test(best["scores"], sup_scores)
        self.guard_ = {
            "heldout_accuracy": best["acc"],
            "supervised_heldout_accuracy": sup_acc,
            "p_value": p_value,
            "heldout_wins": wins,
            "heldout_losses": losses,
        }
        if sup_scores and self.fallback and wins + losses > 0 and not p_value < float(self.fallback):
            warnings.warn(
                f"self-training did not beat supervised-only training on held-out labels "
                f"({best['acc']:.3f} vs {sup_acc:.3f}, sign-test p = {p_value:.2f} ≥ {float(self.fallback)}); returning "
                "the supervised model. Its predictions are reported as pseudo-labels with weight 0. "
                "Pass fallback=False to keep self-training.",
                UserWarning,
                stacklevel=3,
            )
            self.fallback_ = True
            self.estimator_ = fit_weighted(self._make_student(), X[lab], y_enc[lab])
            self.teacher_, self.teacher_weight_ = None, 0.0
            probs = expand_proba(self.estimator_.predict_proba(X[pool]), self.estimator_.classes_, K)
            record = PseudoLabels(
                probs=probs,
                label=probs.argmax(axis=1),  # the final model's prediction; weight 0: it was not trained on
                confidence=probs.max(axis=1),
                weight=np.zeros(len(pool)),
                source=np.full(len(pool), "supervised", dtype=object),
                round=np.zeros(len(pool)),
                classes_=self.classes_,
                index=pool,
            )
            self.heldout_ = {"scores": sup_scores, "round": None}
        self.pseudo_labels_ = record
        transduction = self.classes_[np.maximum(y_enc, 0)].astype(object)
        transduction[pool] = self.unlabeled
        acc = record.accepted
        transduction[pool[acc]] = self.classes_[record.label[acc]]
        self.transduction_ = _try_cast(transduction, self.classes_.dtype)

    def _new_chain(self, labeled, pool, hidden, refiners, selector) -> _Chain:
        pool = np.sort(pool)
        return _Chain(
            labeled=np.sort(labeled),
            pool=pool,
            hidden=np.sort(hidden),
            refiners=[clone(r) if isinstance(r, BaseEstimator) else copy.deepcopy(r) for r in refiners],
            selector=clone(selector) if isinstance(selector, BaseEstimator) else copy.deepcopy(selector),
            since=np.zeros(len(pool), dtype=np.int32),
            last_label=np.full(len(pool), -1, dtype=np.int64),
        )

    def _supervised_heldout(self, X, y_enc, ch: _Chain) -> dict:
        student = fit_weighted(self._make_student(), X[ch.labeled], y_enc[ch.labeled])
        pred = expand_proba(student.predict_proba(X[ch.hidden]), student.classes_, len(self.classes_))
        return {"y": y_enc[ch.hidden], "pred": pred}

    def _teacher_probs(self, X, y_enc, ch: _Chain, teacher, K: int) -> np.ndarray:
        """Probabilities for every row of X from this chain's point of view."""
        if teacher is None:  # the student is its own teacher
            if ch.student is None:
                ch.student = fit_weighted(self._make_student(), X[ch.labeled], y_enc[ch.labeled])
            return expand_proba(ch.student.predict_proba(X), ch.student.classes_, K)
        y_seed = np.full(len(X), -1, dtype=np.int64)
        w_seed = np.zeros(len(X))
        y_seed[ch.labeled] = y_enc[ch.labeled]
        w_seed[ch.labeled] = 1.0
        if ch.seeds_y is not None:
            y_seed[ch.pool] = ch.seeds_y
            w_seed[ch.pool] = ch.seeds_w
        probs = np.asarray(teacher.transduce(X, y_seed, w_seed, n_classes=K), dtype=np.float64)
        members = getattr(teacher, "members_proba_", None)
        ch.state["member_probs"] = None if members is None else np.asarray(members)[:, ch.pool]
        return probs

    def _round(self, X, y_enc, ch: _Chain, probs_all, ho_probs, ho_y, r: int) -> PseudoLabels:
        """Refine, select and train the chain's student on human + accepted pseudo-labels."""
        classes = self.classes_
        K = len(classes)
        P = np.clip(probs_all[ch.pool], 0.0, None)
        P = P / np.maximum(P.sum(axis=1, keepdims=True), EPS)
        lab_probs = probs_all[ch.labeled]
        ctx = {
            "features": X[ch.pool],
            "labeled_features": X[ch.labeled],
            "labeled_y": y_enc[ch.labeled],
            "student_probs": ch.state.get("student_probs"),
            "member_probs": ch.state.get("member_probs"),
            "round": r,
            "max_rounds": self.max_rounds,
        }
        ref_info: dict = {}
        for ref in ch.refiners:
            if ho_probs is not None and len(ho_probs):
                ref.fit(ho_probs, ho_y)
            elif not getattr(ref, "fit_requires_heldout", False):
                ref.fit(lab_probs, y_enc[ch.labeled])
            if hasattr(ref, "update"):
                ref.update(P, idx=np.arange(len(P)), full_pool=True, **ctx)
            P = ref(P, **ctx)
            ref_info.update(getattr(ref, "info_", None) or {})
        sel = ch.selector
        if hasattr(sel, "update"):
            sel.update(P, idx=np.arange(len(P)), full_pool=True, **ctx)
        w = np.clip(np.asarray(sel(P, **ctx), dtype=np.float64), 0.0, 1.0)
        info = dict(getattr(sel, "info_", {}) or {})
        label = np.asarray(info.pop("label", P.argmax(axis=1)), dtype=np.int64)
        label = np.where(w > 0, label, np.where(label == -2, -2, -1))
        # round since which each sample carries its current label
        changed = label != ch.last_label
        ch.since = np.where(changed, r, ch.since).astype(np.int32)
        ch.last_label = label
        extras = {k: np.asarray(v) for k, v in {**ref_info, **info}.items() if np.ndim(v) == 1 and len(v) == len(P)}
        record = PseudoLabels(
            probs=P,
            label=label,
            confidence=np.where(label >= 0, P[np.arange(len(P)), np.maximum(label, 0)], P.max(axis=1)),
            weight=w,
            source=np.full(len(P), self.teacher_name_, dtype=object),
            round=ch.since,
            classes_=classes,
            index=ch.pool,
            extras=extras,
        )
        # student fit on human labels + accepted pseudo-labels
        acc = record.accepted
        student = self._make_student()
        if not accepts_sample_weight(student):
            acc = acc & (w >= 0.5)
        rows = np.concatenate([ch.labeled, ch.pool[acc]])
        targets = np.concatenate([y_enc[ch.labeled], label[acc]])
        weights = np.concatenate([np.full(len(ch.labeled), float(self.labeled_weight)), w[acc]])
        ch.student = fit_weighted(student, X[rows], targets, weights)
        Q = expand_proba(ch.student.predict_proba(X[ch.pool]), ch.student.classes_, K)
        ch.seeds_y = Q.argmax(axis=1)
        ch.seeds_w = Q.max(axis=1)
        ch.state["student_probs"] = Q
        return record

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        p = expand_proba(self.estimator_.predict_proba(X), self.estimator_.classes_, len(self.classes_))
        if self.teacher_ is not None and self.teacher_weight_ > 0:
            p = (1 - self.teacher_weight_) * p + self.teacher_weight_ * self.teacher_.predict_proba(X)
        return p

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def predict_log_proba(self, X) -> np.ndarray:
        return np.log(np.clip(self.predict_proba(X), EPS, None))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def _pooled_accuracy(scores: list[dict]) -> float:
    if not scores:
        return float("nan")
    y = np.concatenate([s["y"] for s in scores])
    pred = np.concatenate([s["pred"].argmax(axis=1) for s in scores])
    return float((y == pred).mean()) if len(y) else float("nan")


def _teacher_defaults(teacher) -> dict:
    """``refine``/``select`` used when left at "auto": the teacher's auto candidate, else the fallback ones."""
    name = teacher.split("(")[0].strip().lower() if isinstance(teacher, str) else None
    return TEACHER_DEFAULTS.get(name, FALLBACK_DEFAULTS)


def _sign_test(ssl_scores: list[dict], sup_scores: list[dict]) -> tuple[float, int, int]:
    """One-sided sign test on the held-out rows where exactly one of the two predictors is right.

    Returns ``(p, wins, losses)`` with p = P(X ≥ wins | X ~ Binomial(wins + losses, ½)); p is 1.0
    when self-training never wins.
    """
    if not ssl_scores or not sup_scores:
        return float("nan"), 0, 0
    y = np.concatenate([s["y"] for s in sup_scores])
    ssl = np.concatenate([s["pred"].argmax(axis=1) for s in ssl_scores]) == y
    sup = np.concatenate([s["pred"].argmax(axis=1) for s in sup_scores]) == y
    wins, losses = int((ssl & ~sup).sum()), int((~ssl & sup).sum())
    if wins == 0:
        return 1.0, wins, losses
    return float(binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue), wins, losses


def _try_cast(values: np.ndarray, dtype) -> np.ndarray:
    """Object array back to the classes' dtype when the unlabeled marker fits in it."""
    if np.dtype(dtype).kind == "O":
        return values
    try:
        return values.astype(dtype)
    except (TypeError, ValueError):
        return values

