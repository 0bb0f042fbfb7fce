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

import contextlib
import copy
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from pseudolabel.core.audit import AuditRecord, HeldOut
from pseudolabel.core.context import Context
from pseudolabel.core.record import PseudoLabels
from pseudolabel.core.registry import make
from pseudolabel.core.selection import Selection, selection_to_record
from pseudolabel.data.tabular import TabularEncoder
from pseudolabel.learn.defaults import AUTO_CANDIDATES, FALLBACK_DEFAULTS, TEACHER_DEFAULTS
from pseudolabel.ops.estimators import (
    accepts_sample_weight,
    expand_proba,
    fit_weighted,
    resolve_student,
)
from pseudolabel.ops.labels import encode_labels
from pseudolabel.ops.metrics import pseudo_label_quality
from pseudolabel.ops.simplex import EPS
from pseudolabel.ops.specs import as_spec_list
from pseudolabel.teachers.estimator import EstimatorTeacher


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
    student_probs: np.ndarray | None = None  # the chain's student on its pool rows (context)
    member_probs: np.ndarray | None = None  # ensemble teachers' members on its pool rows (context)


@dataclass
class _Scores:
    """One fold chain's held-out rows in one round: truth, final predictor, pseudo-labels."""

    y: np.ndarray
    pred: np.ndarray  # (m, K) probabilities of the predictor that would be returned
    record: PseudoLabels | None = None  # the chain's pseudo-labels of those rows (None: supervised)


@dataclass
class _RoundResult:
    """A round of the main chain worth keeping (the best so far on held-out accuracy)."""

    acc: float
    round: int
    student: object
    teacher: object
    record: PseudoLabels
    scores: list[_Scores]


@dataclass
class CandidateResult:
    """One configuration run on the shared folds: its history and its best round."""

    config: dict
    teacher_name: str
    teacher_weight: float
    history: list[dict] = field(default_factory=list)
    best: _RoundResult | None = None

    @property
    def heldout_accuracy(self) -> float:
        return float("nan") if self.best is None else self.best.acc

    def summary(self, chosen: bool) -> dict:
        return {
            **{k: str(v) for k, v in self.config.items()},
            "heldout_accuracy": self.heldout_accuracy,
            "best_round": None if self.best is None else self.best.round,
            "chosen": chosen,
        }


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
    unlabeled : marker of unlabeled rows in ``y`` (missing values — None, NaN — always count).
    encoder : how a pandas DataFrame ``X`` becomes numbers: ``"auto"`` = :class:`~pseudolabel.data.tabular.TabularEncoder`
        (numeric columns imputed and standardised, categorical columns one-hot and unscaled), fitted
        on every row given to ``fit`` (labeled and unlabeled; no labels); or any transformer. Arrays
        are used as they are. ``encoder_`` is the fitted one (``None`` for array input).
    threads : BLAS/OpenMP threads during ``fit`` and ``predict`` (``threadpoolctl``); one is
        fastest for the many small fits here (on 2 cores one text fit took 14.7 s with the default
        pools and 4.2 s with one thread). The exact kNN search still uses every core. ``None``
        leaves the process's setting alone.
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
        encoder="auto",
        threads: int | None = 1,
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
        self.encoder = encoder
        self.threads = threads
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
        if self.candidates is not None:
            raise ValueError(
                f"candidates= is only used with teacher='auto' (got teacher={self.teacher!r}); drop candidates= or "
                "pass teacher='auto'"
            )
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
        refiners = [make("refine", r) for r in as_spec_list(refine)]
        selector = make("select", select if select is not None else "threshold(threshold=0.0)")
        for obj, role in [(s, "refine") for s in refiners] + [(selector, "select")]:
            if not callable(obj):
                raise TypeError(f"{role} component {obj!r} is not callable (probs -> ...)")
        return teacher_obj, refiners, selector

    def _make_student(self):
        return resolve_student(self.estimator)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, X_unlabeled=None):
        """Fit on ``X`` (array or DataFrame) with labels ``y`` (``unlabeled`` marks unlabeled rows)
        plus optional extra unlabeled rows ``X_unlabeled``. Returns self."""
        with _thread_limit(self.threads):
            return self._fit(X, y, X_unlabeled)

    def _fit(self, X, y, X_unlabeled):
        t_start = time.perf_counter()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        classes, y_enc = encode_labels(y, self.unlabeled)
        check_consistent_length(X, y_enc)
        X = self._encode_X(X, X_unlabeled)
        if len(X) > len(y_enc):  # the extra unlabeled rows
            y_enc = np.concatenate([y_enc, np.full(len(X) - len(y_enc), -1, dtype=np.int64)])
        self.classes_ = classes
        lab, pool = np.flatnonzero(y_enc >= 0), np.flatnonzero(y_enc < 0)
        if len(classes) < 2 or len(pool) == 0:
            fitted = self._fit_supervised_only(X, y_enc, lab, pool)
        else:
            folds = self._folds(y_enc, lab)  # drawn once: every candidate and the guard share them
            sup_scores = [self._supervised_heldout(X, y_enc, keep, hide) for keep, hide in folds]
            runs = [self._run_candidate(config, X, y_enc, lab, pool, folds, _pooled_accuracy(sup_scores)) for config in self._configs()]
            # candidates compete on held-out accuracy (ties: the earlier, i.e. preferred, one)
            chosen = max(runs, key=lambda run: -np.inf if np.isnan(run.heldout_accuracy) else run.heldout_accuracy)
            fitted = self._finish(X, y_enc, lab, pool, runs, chosen, sup_scores)
        self._set_fitted(fitted, n_labeled=len(lab), n_unlabeled=len(pool), seconds=time.perf_counter() - t_start)
        return self

    def _set_fitted(self, fitted: dict, *, n_labeled: int, n_unlabeled: int, seconds: float) -> None:
        """Every fitted attribute, in one place."""
        self.estimator_ = fitted["estimator"]
        self.teacher_ = fitted.get("teacher")
        self.teacher_weight_ = fitted.get("teacher_weight", 0.0)
        self.teacher_name_ = fitted.get("teacher_name")
        self.pseudo_labels_ = fitted["pseudo_labels"]
        self.transduction_ = fitted["transduction"]
        self.history_ = fitted.get("history", [])
        self.n_rounds_ = len(self.history_)
        self.best_round_ = fitted.get("best_round", 0)
        self.fallback_ = fitted.get("fallback", False)
        self.guard_ = fitted.get("guard")
        self.heldout_ = fitted.get("heldout")
        self.candidates_ = fitted.get("candidates", [])
        self.config_ = fitted.get("config", {})
        self.n_labeled_, self.n_unlabeled_ = n_labeled, n_unlabeled
        self.fit_seconds_ = seconds

    def _fit_supervised_only(self, X, y_enc, lab, pool) -> dict:
        """Nothing to self-train on (no unlabeled rows, or a single class): a plain supervised fit."""
        if self.verbose:
            print("SelfTrainer: no unlabeled rows (or one class); fitting the student on the labeled rows only")
        K = len(self.classes_)
        return {
            "estimator": fit_weighted(self._make_student(), X[lab], y_enc[lab]),
            "pseudo_labels": PseudoLabels.from_probs(np.zeros((0, K)), np.zeros(0), self.classes_),
            "transduction": self.classes_[np.maximum(y_enc, 0)],
        }

    def _folds(self, y_enc, lab) -> list[tuple[np.ndarray, np.ndarray]]:
        """Stratified folds of the labeled rows as ``(kept, hidden)`` row indices, drawn once per fit:
        ``cv`` capped by the smallest class count (none, with a warning, below 2)."""
        counts = np.bincount(y_enc[lab], minlength=len(self.classes_))
        n_folds = 0 if not self.cv or self.cv < 2 else int(min(self.cv, counts.min()))
        if self.cv and self.cv >= 2 and n_folds < 2:
            warnings.warn(
                f"class {self.classes_[counts.argmin()]!r} has only {counts.min()} label(s): no held-out folds, so no "
                "calibration, early stopping or supervised guard; label at least 2 rows per class",
                UserWarning,
                stacklevel=3,
            )
            return []
        if n_folds < 2:
            return []
        skf = StratifiedKFold(n_folds, shuffle=True, random_state=self.random_state)
        return [(lab[keep], lab[hide]) for keep, hide in skf.split(lab, y_enc[lab])]

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

    def _supervised_heldout(self, X, y_enc, keep, hide) -> _Scores:
        student = fit_weighted(self._make_student(), X[keep], y_enc[keep])
        pred = expand_proba(student.predict_proba(X[hide]), student.classes_, len(self.classes_))
        return _Scores(y=y_enc[hide], pred=pred)

    def _run_candidate(self, config, X, y_enc, lab, pool, folds, sup_acc: float) -> CandidateResult:
        """One configuration: the main chain plus one chain per fold, round by round."""
        teacher, refiners, selector = self._components(config)
        name = "self" if teacher is None else getattr(teacher, "_registry_name", type(teacher).__name__)
        tw = self.teacher_weight
        blend = teacher is not None and getattr(teacher, "predicts_new_rows", True)
        weight = (0.5 if blend else 0.0) if tw == "auto" else float(tw)
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"teacher_weight must lie in [0, 1] or be 'auto', got {tw!r}")
        chains = [self._new_chain(lab, pool, np.zeros(0, dtype=np.int64), refiners, selector)]
        chains += [self._new_chain(keep, np.concatenate([pool, hide]), hide, refiners, selector) for keep, hide in folds]
        run = CandidateResult(config=config, teacher_name=name, teacher_weight=weight)
        run.best = self._run_rounds(X, y_enc, teacher, chains, run, sup_acc)
        return run

    def _run_rounds(self, X, y_enc, teacher, chains: list[_Chain], run: CandidateResult, sup_acc: float) -> _RoundResult:
        """All chains in lockstep, round by round; returns the best round of the main chain."""
        K = len(self.classes_)
        beta = run.teacher_weight
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
                records[i] = self._round(X, y_enc, ch, teacher_probs[i], ho_probs, ho_y, r, run.teacher_name)
            scores = []
            for i, ch in enumerate(folds, start=1):
                student = expand_proba(ch.student.predict_proba(X[ch.hidden]), ch.student.classes_, K)
                rec = records[i][np.searchsorted(ch.pool, ch.hidden)]  # ch.pool is sorted
                scores.append(_Scores(y=y_enc[ch.hidden], pred=(1 - beta) * student + beta * teacher_probs[i][ch.hidden], record=rec))
            acc = _pooled_accuracy(scores)
            entry = self._history_entry(r, records[0], scores, acc, sup_acc, time.perf_counter() - t_round)
            run.history.append(entry)
            if self.callback is not None:
                self.callback(entry)
            if self.verbose:
                print(f"round {r}: accepted {entry['selected']}/{len(records[0])}  held-out acc {acc:.4f}")
            # ties go to the later round (more refined pseudo-labels) but count toward patience
            if best is None or not scores or acc > best.acc:
                stale = 0
            else:
                stale += 1
            if best is None or not scores or acc >= best.acc:
                best = _RoundResult(
                    acc=acc,
                    round=r,
                    student=chains[0].student,
                    teacher=copy.deepcopy(teacher) if teacher is not None else None,
                    record=records[0],
                    scores=scores,
                )
            if scores and stale >= self.patience:
                break
        return best

    def _history_entry(self, r: int, rec: PseudoLabels, scores: list[_Scores], acc: float, sup_acc: float, seconds: float) -> dict:
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
            ho = _heldout(scores)
            q = pseudo_label_quality(ho.label, ho.weight, ho.confidence, ho.y, len(self.classes_))
            entry.update(
                heldout_pl_precision=q["precision"],
                heldout_pl_coverage=q["coverage"],
                heldout_pl_mean_confidence=q["mean_confidence"],
            )
        return entry

    def _finish(self, X, y_enc, lab, pool, runs: list[CandidateResult], chosen: CandidateResult, sup_scores: list[_Scores]) -> dict:
        """Keep the chosen candidate's best round, or fall back to the supervised student when it is not beaten."""
        K = len(self.classes_)
        best = chosen.best
        sup_acc = _pooled_accuracy(sup_scores)
        p_value, wins, losses = _sign_test(best.scores, sup_scores)
        guard = {
            "heldout_accuracy": best.acc,
            "supervised_heldout_accuracy": sup_acc,
            "p_value": p_value,
            "heldout_wins": wins,
            "heldout_losses": losses,
            "n_heldout": int(sum(len(s.y) for s in sup_scores)),
        }
        fitted = {
            "estimator": best.student,
            "teacher": best.teacher,
            "teacher_weight": chosen.teacher_weight,
            "teacher_name": chosen.teacher_name,
            "history": chosen.history,
            "best_round": best.round,
            "pseudo_labels": best.record,
            "heldout": _heldout(best.scores) if best.scores else None,
            "guard": guard,
            "candidates": [run.summary(run is chosen) for run in runs],
            "config": {k: str(v) for k, v in chosen.config.items()},
            "fallback": False,
        }
        if sup_scores and self.fallback and wins + losses > 0 and not p_value < float(self.fallback):
            warnings.warn(
                f"self-training did not beat supervised-only training on held-out labels "
                f"({best.acc:.3f} vs {sup_acc:.3f}, sign-test p = {p_value:.2f} ≥ {float(self.fallback)}); returning "
                "the supervised model. Its predictions are in pseudo_labels_.probs, every row rejected (weight 0). "
                "Pass fallback=False to keep self-training.",
                UserWarning,
                stacklevel=3,
            )
            student = fit_weighted(self._make_student(), X[lab], y_enc[lab])
            probs = expand_proba(student.predict_proba(X[pool]), student.classes_, K)
            # the final model's probabilities; every row rejected (weight 0): nothing was trained on them
            record = selection_to_record(
                Selection(np.zeros(len(pool)), probs.argmax(axis=1)), probs, self.classes_, source="supervised", index=pool
            )
            fitted.update(estimator=student, teacher=None, teacher_weight=0.0, pseudo_labels=record, fallback=True,
                          heldout=_heldout(sup_scores) if sup_scores else None)
        record = fitted["pseudo_labels"]
        transduction = self.classes_[np.maximum(y_enc, 0)].astype(object)
        transduction[pool] = self.unlabeled
        acc = record.accepted
        transduction[pool[acc]] = self.classes_[record.label[acc]]
        fitted["transduction"] = _try_cast(transduction, self.classes_.dtype)
        return fitted

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
        ch.member_probs = None if members is None else np.asarray(members)[:, ch.pool]
        return probs

    def _round(self, X, y_enc, ch: _Chain, probs_all, ho_probs, ho_y, r: int, source: str) -> PseudoLabels:
        """Refine, select and train the chain's student on human + accepted pseudo-labels."""
        K = len(self.classes_)
        P = np.clip(probs_all[ch.pool], 0.0, None)
        P = P / np.maximum(P.sum(axis=1, keepdims=True), EPS)
        ctx = Context(
            idx=np.arange(len(P)),
            full_pool=True,
            features=X[ch.pool],
            labeled_features=X[ch.labeled],
            labeled_y=y_enc[ch.labeled],
            student_probs=ch.student_probs,
            member_probs=ch.member_probs,
            round=r,
            max_rounds=self.max_rounds,
        )
        ref_info: dict = {}
        for ref in ch.refiners:
            if ho_probs is not None and len(ho_probs):
                ref.fit(ho_probs, ho_y)
            elif not getattr(ref, "fit_requires_heldout", False):
                ref.fit(probs_all[ch.labeled], y_enc[ch.labeled])
            if hasattr(ref, "update"):
                ref.update(P, ctx)
            P = ref(P, ctx)
            ref_info.update(getattr(ref, "info_", None) or {})
        if hasattr(ch.selector, "update"):
            ch.selector.update(P, ctx)
        selection = _select(ch.selector, P, ctx)
        label = selection.resolved_labels()
        changed = label != ch.last_label  # round since which each sample carries its current label
        ch.since = np.where(changed, r, ch.since).astype(np.int32)
        ch.last_label = label
        extras = {k: np.asarray(v) for k, v in ref_info.items() if np.ndim(v) == 1 and len(v) == len(P)}
        record = selection_to_record(selection, P, self.classes_, source=source, round=ch.since, index=ch.pool, extras=extras)
        # student fit on human labels + accepted pseudo-labels
        acc = record.accepted
        student = self._make_student()
        if not accepts_sample_weight(student):
            acc = acc & (record.weight >= 0.5)
        rows = np.concatenate([ch.labeled, ch.pool[acc]])
        targets = np.concatenate([y_enc[ch.labeled], record.label[acc]])
        weights = np.concatenate([np.full(len(ch.labeled), float(self.labeled_weight)), record.weight[acc]])
        ch.student = fit_weighted(student, X[rows], targets, weights)
        Q = expand_proba(ch.student.predict_proba(X[ch.pool]), ch.student.classes_, K)
        ch.seeds_y = Q.argmax(axis=1)
        ch.seeds_w = Q.max(axis=1)
        ch.student_probs = Q
        return record

    # ------------------------------------------------------------------ audit
    def audit_record(self) -> AuditRecord:
        """What the report shows: pseudo-labels, held-out quality, rounds, candidates and the guard."""
        check_is_fitted(self, "estimator_")
        decision = dict(self.guard_ or {})
        decision["fallback"] = bool(self.fallback_)
        return AuditRecord(
            classes=self.classes_,
            pseudo_labels=self.pseudo_labels_,
            n_labeled=self.n_labeled_,
            n_unlabeled=self.n_unlabeled_,
            heldout=self.heldout_,
            history=self.history_,
            step="round",
            chosen_step=self.best_round_,
            candidates=self.candidates_,
            decision=decision,
            config=self.config_,
        )

    # ------------------------------------------------------------------ inputs
    def _encode_X(self, X, X_unlabeled=None) -> np.ndarray:
        """Fitting: a DataFrame goes through the encoder (fitted on every row, labeled and
        unlabeled), an array is validated; the extra unlabeled rows are appended."""
        frames = isinstance(X, pd.DataFrame)
        if frames and X_unlabeled is not None and not isinstance(X_unlabeled, pd.DataFrame):
            raise TypeError("X is a DataFrame, so X_unlabeled must be one too (with the same columns)")
        if not frames or self.encoder is None:
            self.encoder_ = None
            X = validate_data(self, X, dtype=np.float64)
            if X_unlabeled is not None:
                X = np.vstack([X, validate_data(self, X_unlabeled, reset=False, dtype=np.float64)])
            return X
        frame = X if X_unlabeled is None else pd.concat([X, X_unlabeled], ignore_index=True)
        encoder = TabularEncoder() if isinstance(self.encoder, str) and self.encoder == "auto" else clone(self.encoder)
        encoded = np.asarray(encoder.fit_transform(frame), dtype=np.float64)
        self.encoder_ = encoder
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return encoded

    def _transform_X(self, X) -> np.ndarray:
        """Prediction-time rows in the fitted representation."""
        if getattr(self, "encoder_", None) is not None:
            if not isinstance(X, pd.DataFrame):
                raise TypeError(
                    "this model was fitted on a DataFrame; pass a DataFrame with the columns "
                    f"{list(self.feature_names_in_)[:10]}{' …' if len(self.feature_names_in_) > 10 else ''}"
                )
            return np.asarray(self.encoder_.transform(X), dtype=np.float64)
        return validate_data(self, X, reset=False, dtype=np.float64)

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        with _thread_limit(self.threads):
            return self._predict_proba(self._transform_X(X))

    def _predict_proba(self, X: np.ndarray) -> np.ndarray:
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


def _thread_limit(threads: int | None):
    """BLAS/OpenMP pools capped at ``threads`` for the duration (``None``: no change)."""
    return contextlib.nullcontext() if threads is None else threadpool_limits(limits=int(threads))


def _select(selector, probs: np.ndarray, ctx: Context) -> Selection:
    """A selector's decision; a plain callable returning weights is taken as arg-max labels."""
    if hasattr(selector, "select"):
        return selector.select(probs, ctx)
    return Selection.from_weights(selector(probs, ctx), probs)


def _heldout(scores: list[_Scores]) -> HeldOut:
    """The held-out rows of all folds: pseudo-labels when the chains made them, else predictions."""
    y = np.concatenate([s.y for s in scores])
    if all(s.record is not None for s in scores):
        label = np.concatenate([s.record.label for s in scores])
        weight = np.concatenate([s.record.weight for s in scores])
        conf = np.concatenate([s.record.confidence for s in scores])
        return HeldOut(y, label, weight, conf, "pseudo-labels of held-out rows")
    return HeldOut.from_probs(y, np.concatenate([s.pred for s in scores]), "supervised predictions of held-out rows")


def _pooled_accuracy(scores: list[_Scores]) -> float:
    if not scores:
        return float("nan")
    y = np.concatenate([s.y for s in scores])
    pred = np.concatenate([s.pred.argmax(axis=1) for s in scores])
    return float((y == pred).mean()) if len(y) else float("nan")


def _teacher_defaults(teacher) -> dict:
    """``refine``/``select`` used when left at "auto": the teacher's auto candidate, else the fallback ones."""
    name = teacher.split("(")[0].strip().lower() if isinstance(teacher, str) else None
    return TEACHER_DEFAULTS.get(name, FALLBACK_DEFAULTS)


def _sign_test(ssl_scores: list[_Scores], sup_scores: list[_Scores]) -> tuple[float, int, int]:
    """One-sided sign test on the held-out rows where exactly one of the two predictors is right.

    Both lists must cover the same rows in the same order (the folds are shared). Returns
    ``(p, wins, losses)`` with p = P(X ≥ wins | X ~ Binomial(wins + losses, ½)); p is 1.0 when
    self-training never wins.
    """
    if not ssl_scores or not sup_scores:
        return float("nan"), 0, 0
    y = np.concatenate([s.y for s in sup_scores])
    if not np.array_equal(y, np.concatenate([s.y for s in ssl_scores])):
        raise RuntimeError("the guard compared held-out predictions of different rows; the folds must be shared")
    ssl = np.concatenate([s.pred.argmax(axis=1) for s in ssl_scores]) == y
    sup = np.concatenate([s.pred.argmax(axis=1) for s in sup_scores]) == y
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
