"""`SelfTrainer`: iterative self-training for any scikit-learn classifier, with a decision that uses
every labeled row.

One round, for every *chain* (see below)::

    probs  = teacher.transduce(X, seeds)               # teacher: graph, estimator, or the student
    probs  = refine_k(... refine_1(probs))             # each refiner may fit on held-out labels
    sel    = select(probs)                             # running state lives in the selector
    student.fit(labeled ∪ {i : w_i > 0}, weights)      # human labels weight 1, pseudo-labels w_i
    seeds  = student's predictions                     # the student seeds the next round's teacher

Every earlier pseudo-label is re-estimated in every round; human labels never change.

**Cross-fitting.** The labeled rows are split once per fit into ``cv`` stratified folds (shared by
every candidate and by the supervised floor). Besides the main chain on all labels, one chain per
fold runs in lockstep with that fold's labels hidden (treated as unlabeled): its student, its
teacher and even the student's ``C`` never see them. So every labeled row gets an out-of-fold
(OOF) prediction from every *option* — a candidate configuration, a round, and a blend weight β
of the teacher in the final predictor ``(1 − β)·student + β·teacher`` — and from the supervised
floor (logistic regression with ``C`` chosen by cross-validation on the kept labels). The same OOF
rows give the held-out pseudo-label precision and calibration of the report, and the
leave-one-fold-out teacher probabilities on which temperature scaling is fitted.

**The decision.** For an option, the per-row paired difference ``d_i = 1[option right] −
1[floor right]`` over all ``n`` labeled rows estimates its accuracy gain; its lower confidence
bound ``mean(d) − z·sd(d)/√n`` (``z = guard``) ranks the options. The best-ranked option is kept
only if (1) that bound is positive and (2) the sign-flip max-T test (Westfall & Young 1993,
:mod:`pseudolabel.ops.selection_test`) over **every** option looked at — all candidates, rounds
and blends — gives ``p <= guard_alpha``: with 20–100 labels the luckiest of a dozen options clears
a one-option bound by chance (the winner's curse), the max-T test asks how often the best of all
of them would look this good if none helped. By default (``guard_class_mix="both"``) both must also
hold with every held-out row weighed to the unlabeled rows' estimated class mix: labels drawn
"k of each" from skewed data otherwise reward options that trade majority-class accuracy for
minority recall. The level is lowered to ``guard_risk / δ`` for an option that changes a share
``δ`` of the unlabeled rows' predictions (so the expected loss from keeping a useless option is
at most ``guard_risk``), and no option judged on fewer than ``guard_min_heldout`` labels is kept. Otherwise
the supervised floor is returned (``fallback_``; ``fallback=False`` keeps the best option anyway).
With the default student the floor is the reference
:class:`~pseudolabel.ops.estimators.TunedLogisticRegression` itself, so a fallback is never below
it. ``z`` and the candidate list were chosen on the development suite's tune group,
``guard_class_mix``, ``guard_alpha``, ``guard_risk`` and ``guard_min_heldout`` on an extended tune
group (BENCHMARKS.md, "What shaped the default").
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from pseudolabel.core.audit import AuditRecord, HeldOut
from pseudolabel.core.context import Context
from pseudolabel.core.record import PseudoLabels
from pseudolabel.core.registry import make
from pseudolabel.core.selection import Selection, selection_to_record
from pseudolabel.data.tabular import TabularEncoder
from pseudolabel.learn.defaults import (
    AUTO_CANDIDATES,
    FALLBACK_DEFAULTS,
    GUARD_ALPHA,
    GUARD_CLASS_MIX,
    GUARD_CLASS_MIXES,
    GUARD_METRIC,
    GUARD_METRICS,
    GUARD_MIN_HELDOUT,
    GUARD_POOL_PRIOR,
    GUARD_POOL_PRIORS,
    GUARD_RISK,
    GUARD_Z,
    TEACHER_DEFAULTS,
)
from pseudolabel.ops.estimators import (
    MAX_ITER,
    BinaryAwareScaler,
    TunedLogisticRegression,
    accepts_sample_weight,
    default_student,
    expand_proba,
    fit_weighted,
    resolve_student,
)
from pseudolabel.ops.labels import encode_labels
from pseudolabel.ops.metrics import pseudo_label_quality
from pseudolabel.ops.prior import resolve_prior
from pseudolabel.ops.selection_test import max_t_pvalue, risk_level
from pseudolabel.ops.simplex import EPS, class_prior
from pseudolabel.ops.specs import as_spec_list
from pseudolabel.teachers.estimator import EstimatorTeacher

MAIN_STUDENT_ROWS = 200_000
"""Pseudo-labeled rows the returned student is fitted on at most (a class-stratified sample): a
linear student gains nothing measurable beyond this, and it keeps a fit on 10^6–10^8 unlabeled
rows linear in their number (every row is still pseudo-labeled and scored)."""
FOLD_STUDENT_ROWS = 10_000
"""Pseudo-labeled rows a fold chain's student is fitted on at most (a class-stratified sample).
A linear student's held-out predictions barely move beyond a few thousand pseudo-labels, and this
keeps the ``cv`` fold chains from costing ``cv`` full fits on a million-row pool; the main chain
(the returned model) always uses every accepted pseudo-label."""
BLENDS = (0.5, 1.0)
"""Teacher weights β in the predictor that the decision compares, for a teacher that scores new
rows (graph, prototype, ...): half student/half teacher, or the teacher alone (a kNN vote over the
propagated labels, which beats a linear student where classes are not linearly separable)."""


DISAGREE_ROWS = 10_000
"""Pool rows on which the chosen option and the floor are compared (``guard_risk``) at most (a
random subset beyond it): the share of rows where they disagree then has a standard error under
0.005, and the option's predictions cost one pass over 10^4 rows whatever the pool's size (the
floor's too, unless the class-mix EM already predicted it on the pool). Measured on every fit with
folds, so ``guard_`` records it even when it does not decide (``fallback=False``: the replays)."""

PRIOR_ROWS = 100_000
"""Pool rows the class-mix EM reads at most (a random subset beyond it): a class share from 10^5
rows has a standard error under 0.002, far below the noise of the 8–100 labeled rows it reweighs."""


@dataclass
class _Chain:
    """One self-training run: the main one (nothing hidden) or a fold with its labels hidden."""

    labeled: np.ndarray  # row indices with a human label the chain may use
    pool: np.ndarray  # row indices the chain treats as unlabeled (includes its hidden rows)
    hidden: np.ndarray  # labeled rows hidden from this chain (empty for the main chain)
    refiners: list
    selector: object
    C: float | None = None  # the default student's C, chosen on this chain's labels only
    student: object = None
    seeds_y: np.ndarray | None = None  # per pool row: class seeding the next teacher call
    seeds_w: np.ndarray | None = None
    since: np.ndarray | None = None  # per pool row: round since which its label is unchanged
    last_label: np.ndarray | None = None
    student_probs: np.ndarray | None = None  # the chain's student on its pool rows (context)
    member_probs: np.ndarray | None = None  # ensemble teachers' members on its pool rows (context)


@dataclass
class _Floor:
    """The supervised floor: OOF probabilities on the shared folds and the model on all labels."""

    oof: np.ndarray | None  # (n_labeled, K) in fold order, None without folds
    fold_C: list  # C chosen on each fold's kept labels (None: a user estimator, nothing tuned)
    C: float | None
    model: object
    raw: bool = False  # the model scales its own input (the reference model): predict on unscaled rows
    pool_probs: np.ndarray | None = None  # (n_pool, K): its predictions on the pool, made when first needed
    pool_prior: np.ndarray | None = None  # the class mix the guard weighs held-out rows to (None: the labeled one)
    row_weight: np.ndarray | None = None  # per held-out row (fold order), mean 1: π_pool[y] / π_labeled[y]

    def predict(self, X, Xs, rows, K: int) -> np.ndarray:
        """Its class probabilities on ``rows`` (the reference model scales its own input: unscaled rows)."""
        return expand_proba(self.model.predict_proba((X if self.raw else Xs)[rows]), self.model.classes_, K)


@dataclass
class _Option:
    """One predictor a candidate can return: its round, its teacher weight β and its OOF record."""

    candidate: int
    round: int
    beta: float
    oof: np.ndarray  # (n_labeled, K) OOF probabilities of (1 − β)·student + β·teacher
    diff: np.ndarray  # per labeled row: 1[right] − 1[floor right]
    score: float  # lower confidence bound of the accuracy gain over the floor
    accuracy: float = float("nan")  # OOF accuracy
    heldout: HeldOut | None = None  # the round's held-out pseudo-labels (for the audit)
    test_diff: np.ndarray | None = None  # per labeled row: the gain in the guard's metric (``score``, max-T)
    test_diff_pool: np.ndarray | None = None  # the same, each row weighed to the pool's class mix (``"both"``)
    position: int = 0  # its row among its candidate's ``diffs``
    student: object = None
    teacher: object = None
    record: PseudoLabels | None = None

    @property
    def accuracy_gain(self) -> float:
        return float(self.diff.mean())


@dataclass
class CandidateResult:
    """One configuration run on the shared folds: its rounds and its best option."""

    config: dict
    teacher_name: str
    blends: tuple[float, ...]
    history: list[dict] = field(default_factory=list)
    best: _Option | None = None
    diffs: list = field(default_factory=list)  # every option's paired differences (the max-T test)
    diffs_pool: list = field(default_factory=list)  # the same at the pool's class mix (guard_class_mix="both")
    student_C: float | None = None  # the default student's C in this configuration's chains

    def summary(self, chosen: bool) -> dict:
        b = self.best
        return {
            **{k: str(v) for k, v in self.config.items()},
            "heldout_accuracy": float("nan") if b is None else b.accuracy,
            "gain_lower_bound": float("nan") if b is None else b.score,
            "best_round": None if b is None else b.round,
            "teacher_weight": None if b is None else b.beta,
            "chosen": chosen,
        }


class SelfTrainer(ClassifierMixin, BaseEstimator):
    """Self-training meta-estimator: few labels + many unlabeled rows → model + pseudo-labels.

    Parameters
    ----------
    estimator : the student (any classifier with ``predict_proba``); ``None`` = logistic
        regression on standardised numeric columns (0/1 columns unscaled, the scaling fitted on
        every row), its ``C`` chosen by cross-validation on the labeled rows. Gets per-sample
        weights when its ``fit`` accepts ``sample_weight``; otherwise pseudo-labels with weight ≥ 0.5
        are used unweighted.
    teacher : ``"auto"`` (every configuration of ``candidates``, see the module docstring),
        ``"graph"`` (kNN label spreading), ``"self"`` (the student labels for itself), a registered
        name/spec, a classifier, or a Teacher.
    candidates : the configurations ``teacher="auto"`` chooses from, dicts with ``teacher``,
        ``refine`` and ``select`` and optionally ``student_C`` (the default student's ``C`` in that
        configuration instead of the tuned one; a user's ``estimator`` is never changed);
        ``None`` = :data:`pseudolabel.learn.defaults.AUTO_CANDIDATES`.
    refine : refiner spec(s) applied in order (``"calibrate,sinkhorn"``, a list, objects, ``None``).
    select : selector spec or object (``"flexmatch(threshold=0.9)"``, ``FreeMatch()``, ...).
    max_rounds : self-training rounds after the first teacher call.
    cv : folds of the labeled rows for cross-fitting (capped by the smallest class count); ``None``
        or 0/1 disables the decision (the last round of the first candidate is returned).
    patience : stop a candidate after this many rounds without a better option.
    teacher_weight : weight β of the teacher in ``predict_proba``: ``"auto"`` lets the decision
        choose among :data:`BLENDS` (0 for the student as teacher or a teacher that cannot score new
        rows), a number fixes it.
    labeled_weight : sample weight of human-labeled rows in the student's fit.
    fallback : keep the supervised floor when the best option's gain lower bound is not positive or
        its max-T test fails (default); ``False`` always keeps the best self-training option.
    guard : ``z`` of the gain lower bound ``mean(d) − z·sd(d)/√n`` that ranks the options (larger =
        more cautious).
    guard_alpha : the chosen option is kept only if the sign-flip max-T test over *every* option
        looked at (Westfall & Young) gives ``p <= guard_alpha``; 1 switches the test off.
    guard_metric : the per-row gain the options are ranked and tested on: ``"accuracy"``
        (1[right] − 1[floor right]) or ``"brier"`` (the drop of the Brier score, which uses the
        probabilities and so separates options on rows where both are right or both wrong).
    guard_class_mix : the class mix under which held-out rows are scored: ``"pool"`` weighs each
        labeled row by its class's share of the unlabeled rows (estimated by EM on the floor's
        predictions, Saerens et al. 2002) over its share of the labeled rows, so a decision is
        judged on the data's mix even when labels were drawn per class; ``"labeled"`` scores the
        labeled rows as they are; ``"both"`` keeps an option only when it wins under both mixes (its
        lower bound is the smaller of the two, its p-value the larger: an intersection–union test,
        Berger 1982), so a gain that holds only for the labels' class mix is not trusted.
    guard_pool_prior : how the unlabeled rows' class mix is estimated for ``guard_class_mix``
        ``"pool"`` / ``"both"``: ``"estimate"`` (EM on the floor's predictions, Saerens et al.
        2002) or ``"count"`` (the floor's predicted class shares, Forman 2008 — moves less, never
        overshoots).
    guard_risk : the largest expected accuracy loss (a fraction: 0.01 = one point) from keeping an
        option that does not help. Keeping an option can change the accuracy by at most the share
        ``δ`` of unlabeled rows on which it and the floor predict different classes (measured on the
        pool, no labels needed), and a test at level ``t`` keeps a useless option with probability
        at most ``t``; so the level becomes ``min(guard_alpha, guard_risk / δ)`` and that expected
        loss, ``t·δ``, is at most ``guard_risk`` (one wrong keep can still cost up to ``δ``) — an
        option that rewrites a fifth of the predictions needs far stronger evidence than one that
        touches 2% of them. ``None`` keeps ``guard_alpha`` whatever ``δ``.
    guard_min_heldout : never keep self-training judged on fewer held-out labeled rows (every
        labeled row is held out once, so this is the number of labels): below it a test cannot
        tell a real gain from a lucky draw of a few rows, and a wrong keep on a small table costs
        5–25 points. Also applies when no fold could be drawn (a class with a single label); ``cv``
        of ``None``/0/1 switches the whole decision off instead. 0 lets the test decide at any size.
    unlabeled : marker of unlabeled rows in ``y`` (missing values — None, NaN — always count).
    encoder : how a pandas DataFrame ``X`` becomes numbers: ``"auto"`` =
        :class:`~pseudolabel.data.tabular.TabularEncoder` (numeric columns imputed and standardised,
        categorical columns one-hot and unscaled), fitted on every row given to ``fit`` (labeled
        and unlabeled; no labels); or any transformer. Arrays are used as they are.
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
        max_rounds: int = 4,
        cv: int | None = 5,
        patience: int = 2,
        teacher_weight="auto",
        labeled_weight: float = 1.0,
        fallback: bool = True,
        guard: float = GUARD_Z,
        guard_alpha: float = GUARD_ALPHA,
        guard_metric: str = GUARD_METRIC,
        guard_class_mix: str = GUARD_CLASS_MIX,
        guard_pool_prior: str = GUARD_POOL_PRIOR,
        guard_risk: float | None = GUARD_RISK,
        guard_min_heldout: int = GUARD_MIN_HELDOUT,
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
        self.guard = guard
        self.guard_alpha = guard_alpha
        self.guard_metric = guard_metric
        self.guard_class_mix = guard_class_mix
        self.guard_pool_prior = guard_pool_prior
        self.guard_risk = guard_risk
        self.guard_min_heldout = guard_min_heldout
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

    def _blends(self, teacher) -> tuple[float, ...]:
        tw = self.teacher_weight
        if not (isinstance(tw, str) and tw == "auto"):
            if not 0.0 <= float(tw) <= 1.0:
                raise ValueError(f"teacher_weight must lie in [0, 1] or be 'auto', got {tw!r}")
            return (float(tw),) if teacher is not None else (0.0,)
        if teacher is None or not getattr(teacher, "predicts_new_rows", True):
            return (0.0,)
        return BLENDS

    @property
    def _default_student(self) -> bool:
        return self.estimator is None

    def _make_student(self, C: float | None = None):
        """A fresh student: the default logistic regression (on pre-scaled rows) with ``C``, or a clone."""
        if self._default_student:
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(C=1.0 if C is None else float(C), max_iter=MAX_ITER)
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
        if not self.guard >= 0:
            raise ValueError(f"guard must be a number >= 0 (standard errors), got {self.guard!r}")
        if not 0 < self.guard_alpha <= 1:
            raise ValueError(f"guard_alpha must lie in (0, 1] (1 = no multiplicity test), got {self.guard_alpha!r}")
        if self.guard_metric not in GUARD_METRICS:
            raise ValueError(f"guard_metric must be one of {', '.join(GUARD_METRICS)}, got {self.guard_metric!r}")
        if self.guard_class_mix not in GUARD_CLASS_MIXES:
            raise ValueError(f"guard_class_mix must be one of {', '.join(GUARD_CLASS_MIXES)}, got {self.guard_class_mix!r}")
        if self.guard_pool_prior not in GUARD_POOL_PRIORS:
            raise ValueError(f"guard_pool_prior must be one of {', '.join(GUARD_POOL_PRIORS)}, got {self.guard_pool_prior!r}")
        if self.guard_risk is not None and (isinstance(self.guard_risk, bool) or not isinstance(self.guard_risk, numbers.Real)
                                            or not 0 < self.guard_risk <= 1):
            raise ValueError(f"guard_risk must be None or a number in (0, 1] (0.01 = one point of accuracy), got {self.guard_risk!r}")
        if isinstance(self.guard_min_heldout, bool) or not isinstance(self.guard_min_heldout, (int, np.integer)) or self.guard_min_heldout < 0:
            raise ValueError(f"guard_min_heldout must be a whole number >= 0 (held-out labeled rows), got {self.guard_min_heldout!r}")
        self.classes_ = classes
        lab, pool = np.flatnonzero(y_enc >= 0), np.flatnonzero(y_enc < 0)
        # the default student's input: numeric columns standardised on every row, 0/1 columns as is
        self.scaler_ = BinaryAwareScaler().fit(X) if self._default_student else None
        Xs = X if self.scaler_ is None else self.scaler_.transform(X)
        if len(classes) < 2 or len(pool) == 0:
            fitted = self._fit_supervised_only(X, Xs, y_enc, lab)
        else:
            folds = self._folds(y_enc, lab)  # drawn once: every candidate and the floor share them
            floor = self._floor(X, Xs, y_enc, lab, pool, folds)
            y_oof = np.concatenate([y_enc[hide] for _, hide in folds]) if folds else np.zeros(0, dtype=np.int64)
            self._weigh_heldout(floor, y_enc[lab], y_oof, X, Xs, pool)
            runs = [self._run_candidate(i, config, X, Xs, y_enc, lab, pool, folds, floor, y_oof)
                    for i, config in enumerate(self._configs())]
            fitted = self._finish(X, Xs, y_enc, lab, pool, runs, floor, y_oof)
        self._set_fitted(fitted, n_labeled=len(lab), n_unlabeled=len(pool), seconds=time.perf_counter() - t_start)
        return self

    def _set_fitted(self, fitted: dict, *, n_labeled: int, n_unlabeled: int, seconds: float) -> None:
        """Every fitted attribute, in one place."""
        model = fitted["estimator"]
        raw = self.scaler_ is None or fitted.get("raw", False)  # the floor scales its own input
        self.estimator_ = model if raw else Pipeline([("scale", self.scaler_), ("clf", model)])
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
        self.student_C_ = fitted.get("C")
        self.n_labeled_, self.n_unlabeled_ = n_labeled, n_unlabeled
        self.fit_seconds_ = seconds

    def _fit_supervised_only(self, X, Xs, y_enc, lab) -> dict:
        """Nothing to self-train on (no unlabeled rows, or a single class): a plain supervised fit
        (with the default student, the reference tuned logistic regression on the labeled rows)."""
        if self.verbose:
            print("SelfTrainer: no unlabeled rows (or one class); fitting the student on the labeled rows only")
        K = len(self.classes_)
        if self._default_student and K > 1:
            model = self._reference_floor(X[lab], y_enc[lab])
            C, raw = model.C_, True
        else:
            model, C, raw = fit_weighted(self._make_student(), Xs[lab], y_enc[lab]), None, False
        return {
            "estimator": model,
            "raw": raw,
            "pseudo_labels": PseudoLabels.from_probs(np.zeros((0, K)), np.zeros(0), self.classes_),
            "transduction": self.classes_[np.maximum(y_enc, 0)],
            "C": C,
        }

    def _folds(self, y_enc, lab) -> list[tuple[np.ndarray, np.ndarray]]:
        """Stratified folds of the labeled rows as ``(kept, hidden)`` row indices, drawn once per fit:
        ``cv`` capped by the smallest class count (none, with a warning, below 2)."""
        counts = np.bincount(y_enc[lab], minlength=len(self.classes_))
        n_folds = 0 if not self.cv or self.cv < 2 else int(min(self.cv, counts.min()))
        if self.cv and self.cv >= 2 and n_folds < 2:
            warnings.warn(
                f"class {np.asarray(self.classes_[counts.argmin()]).item()!r} has only {counts.min()} label(s): no held-out folds, so no "
                "calibration, no choice between configurations and no supervised guard; label at least 2 rows per class",
                UserWarning,
                stacklevel=3,
            )
            return []
        if n_folds < 2:
            return []
        skf = StratifiedKFold(n_folds, shuffle=True, random_state=self.random_state)
        return [(lab[keep], lab[hide]) for keep, hide in skf.split(lab, y_enc[lab])]

    def _reference_floor(self, X_lab, y_lab) -> TunedLogisticRegression:
        """The bench's ``supervised_tuned`` model on the labeled rows (same seed), on unscaled rows."""
        return TunedLogisticRegression(random_state=0 if self.random_state is None else self.random_state).fit(X_lab, y_lab)

    def _floor(self, X, Xs, y_enc, lab, pool, folds) -> _Floor:
        """The supervised floor: its OOF predictions on the shared folds and its model on all labels.

        With the default student the floor *is* the reference supervised model a practitioner would
        fit: :class:`~pseudolabel.ops.estimators.TunedLogisticRegression` on the labeled rows
        (``C`` by cross-validated log-loss, columns scaled on the labeled rows only), so a fallback
        returns exactly the bench's ``supervised_tuned`` model. Its OOF predictions refit that ``C``
        on each fold's kept rows; ``C`` saw every label, which makes the floor's OOF accuracy a
        little optimistic and not the self-training options' — the comparison errs toward the
        floor, the safe side — at a sixth of the cost of tuning ``C`` inside every fold. Every
        chain's student uses the same ``C``.
        """
        K = len(self.classes_)
        if self._default_student:
            model = self._reference_floor(X[lab], y_enc[lab])
            C, rows = model.C_, X

            def make():
                return default_student(C)
        else:
            model, C, rows, make = None, None, Xs, self._make_student
        oof = []
        for keep, hide in folds:
            m = fit_weighted(make(), rows[keep], y_enc[keep])
            oof.append(expand_proba(m.predict_proba(rows[hide]), m.classes_, K))
        if model is None:
            model = fit_weighted(self._make_student(), Xs[lab], y_enc[lab])
        return _Floor(oof=np.concatenate(oof) if oof else None, fold_C=[C] * len(folds), C=C, model=model,
                      raw=self._default_student)

    @staticmethod
    def _floor_pool_probs(floor: _Floor, X, Xs, pool, K: int) -> np.ndarray:
        """The floor's predictions on the pool (the class-mix EM and the fallback's record), made once."""
        if floor.pool_probs is None:
            floor.pool_probs = floor.predict(X, Xs, pool, K)
        return floor.pool_probs

    def _weigh_heldout(self, floor: _Floor, y_lab, y_oof, X, Xs, pool) -> None:
        """Held-out row weights that score the options under the pool's class mix (``guard_class_mix``).

        Label shift (Saerens et al. 2002): when labels are drawn per class — "25 of each" — while
        the data are 88% one class, held-out accuracy measures a balanced mix the user never sees,
        and an option that trades majority-class accuracy for minority recall wins on the labeled
        rows and loses on the data. The pool's prior is estimated from the floor's predictions
        (``guard_pool_prior``: EM or classify-and-count, ``ops.prior``, each class kept ≥ 0.1/K)
        on at most :data:`PRIOR_ROWS` pool rows.
        """
        if self.guard_class_mix not in ("pool", "both") or not len(y_oof):
            return
        K = len(self.classes_)
        probs = self._floor_pool_probs(floor, X, Xs, pool, K)
        if len(probs) > PRIOR_ROWS:
            rows = np.random.default_rng(_seed(self.random_state)).choice(len(probs), PRIOR_ROWS, replace=False)
            probs = probs[rows]
        floor.pool_prior = resolve_prior(self.guard_pool_prior, K, probs=probs, labeled_y=y_lab)
        weight = floor.pool_prior[y_oof] / class_prior(y_lab, K)[y_oof]
        floor.row_weight = weight / weight.mean()

    def _new_chain(self, labeled, pool, hidden, refiners, selector, C) -> _Chain:
        pool = np.sort(pool)
        return _Chain(
            labeled=np.sort(labeled),
            pool=pool,
            hidden=hidden,  # in fold order (not sorted): the OOF arrays follow it
            refiners=[clone(r) if isinstance(r, BaseEstimator) else copy.deepcopy(r) for r in refiners],
            selector=clone(selector) if isinstance(selector, BaseEstimator) else copy.deepcopy(selector),
            C=C,
            since=np.zeros(len(pool), dtype=np.int32),
            last_label=np.full(len(pool), -1, dtype=np.int64),
        )

    def _run_candidate(self, index, config, X, Xs, y_enc, lab, pool, folds, floor: _Floor, y_oof) -> CandidateResult:
        """One configuration: the main chain plus one chain per fold, round by round."""
        teacher, refiners, selector = self._components(config)
        name = "self" if teacher is None else getattr(teacher, "_registry_name", type(teacher).__name__)
        run = CandidateResult(config=config, teacher_name=name, blends=self._blends(teacher))
        main_C, fold_C = floor.C, floor.fold_C
        if config.get("student_C") is not None:
            fixed_C = _student_C(config["student_C"])  # refused when invalid, even where it does not apply
            if self._default_student:
                main_C, fold_C = fixed_C, [fixed_C] * len(folds)
        run.student_C = main_C
        chains = [self._new_chain(lab, pool, np.zeros(0, dtype=np.int64), refiners, selector, main_C)]
        chains += [self._new_chain(keep, np.concatenate([pool, hide]), hide, refiners, selector, C)
                   for (keep, hide), C in zip(folds, fold_C, strict=True)]
        K = len(self.classes_)
        stale = 0
        for r in range(self.max_rounds + 1):
            t_round = time.perf_counter()
            teacher_probs = self._teacher_probs_all(X, Xs, y_enc, chains, teacher, K)
            records = {}
            for i, ch in enumerate(chains):
                # refiners fit on out-of-fold teacher probabilities: every fold for the main chain,
                # the other folds for a fold chain (its own hidden labels stay hidden)
                held = [j for j in range(1, len(chains)) if j != i]
                ho_probs = np.concatenate([teacher_probs[j][chains[j].hidden] for j in held]) if held else None
                ho_y = np.concatenate([y_enc[chains[j].hidden] for j in held]) if held else None
                records[i] = self._round(Xs, y_enc, ch, teacher_probs[i], ho_probs, ho_y, r, name, main=i == 0)
            improved = False
            accs = {}
            if folds:
                student_oof = np.concatenate([expand_proba(ch.student.predict_proba(Xs[ch.hidden]), ch.student.classes_, K) for ch in chains[1:]])
                teacher_oof = np.concatenate([teacher_probs[i][chains[i].hidden] for i in range(1, len(chains))])
                heldout = _heldout_record(records, chains, y_enc)
                for beta in run.blends:
                    oof = (1 - beta) * student_oof + beta * teacher_oof if beta > 0 else student_oof
                    option = _option(index, r, beta, oof, floor.oof, y_oof, self.guard, heldout, self.guard_metric,
                                     floor.row_weight, both=self.guard_class_mix == "both")
                    option.position = len(run.diffs)
                    accs[beta] = option.accuracy
                    run.diffs.append(option.test_diff)
                    if option.test_diff_pool is not None:
                        run.diffs_pool.append(option.test_diff_pool)
                    if run.best is None or option.score > run.best.score:
                        option.student, option.record = chains[0].student, records[0]
                        option.teacher = copy.deepcopy(teacher) if teacher is not None else None
                        run.best, improved = option, True
            elif run.best is None or r == self.max_rounds:  # no folds: nothing to compare, keep the last round
                run.best = _Option(index, r, run.blends[0], np.zeros((0, K)), np.zeros(0), float("nan"), float("nan"),
                                   student=chains[0].student, record=records[0],
                                   teacher=copy.deepcopy(teacher) if teacher is not None else None)
            entry = self._history_entry(r, records[0], accs, floor, y_oof, time.perf_counter() - t_round, name,
                                        heldout if folds else None)
            run.history.append(entry)
            if self.callback is not None:
                self.callback(entry)
            if self.verbose:
                print(f"{name} round {r}: accepted {entry['selected']}/{len(records[0])}  held-out acc {entry['heldout_accuracy']:.4f}")
            stale = 0 if improved else stale + 1
            if folds and stale >= self.patience:
                break
        return run

    def _history_entry(self, r: int, rec: PseudoLabels, accs: dict, floor: _Floor, y_oof, seconds: float, name: str,
                       heldout: HeldOut | None) -> dict:
        accepted = rec.accepted
        entry = {
            "candidate": name,
            "round": r,
            "selected": int(accepted.sum()),
            "coverage": float(accepted.mean()) if len(accepted) else float("nan"),
            "mean_weight": float(rec.weight.mean()) if len(rec) else float("nan"),
            "mean_confidence": float(rec.confidence[accepted].mean()) if accepted.any() else float("nan"),
            "heldout_accuracy": max(accs.values()) if accs else float("nan"),
            "supervised_heldout_accuracy": float((floor.oof.argmax(axis=1) == y_oof).mean()) if floor.oof is not None else float("nan"),
            "seconds": seconds,
        }
        entry.update({f"heldout_accuracy_teacher_weight_{b:g}": a for b, a in accs.items()})
        if heldout is not None and len(heldout):
            q = pseudo_label_quality(heldout.label, heldout.weight, heldout.confidence, heldout.y, len(self.classes_))
            entry.update(heldout_pl_precision=q["precision"], heldout_pl_coverage=q["coverage"],
                         heldout_pl_mean_confidence=q["mean_confidence"])
        return entry

    def _finish(self, X, Xs, y_enc, lab, pool, runs: list[CandidateResult], floor: _Floor, y_oof) -> dict:
        """Keep the option with the best positive gain lower bound, or fall back to the floor."""
        options = [run.best for run in runs if run.best is not None]
        scored = [o for o in options if np.isfinite(o.score)]
        p_value = p_pool = float("nan")
        n_options = sum(len(r.diffs) for r in runs)
        if scored:
            best = max(scored, key=lambda o: o.score)  # ties: the earlier candidate
            # every option looked at, in every candidate, round and blend: the test is for the search
            diffs = np.vstack([d for r in runs for d in r.diffs])
            chosen = sum(len(r.diffs) for r in runs[:best.candidate]) + best.position
            p_value = max_t_pvalue(diffs, chosen, seed=_seed(self.random_state))
            if any(r.diffs_pool for r in runs):  # "both": the gain must hold at the pool's class mix too
                p_pool = max_t_pvalue(np.vstack([d for r in runs for d in r.diffs_pool]), chosen, seed=_seed(self.random_state))
                p_value = max(p_value, p_pool)
            disagreement = self._disagreement(best, floor, X, Xs, pool)
            level = risk_level(self.guard_alpha, self.guard_risk, disagreement)
            passed = best.score > 0 and p_value <= level
            keep = (passed and len(best.diff) >= self.guard_min_heldout) or not self.fallback
        else:  # no folds: the first candidate's last round, unchecked — unless labels were too few to fold
            decided = bool(self.cv) and self.cv >= 2 and self.guard_min_heldout > 0
            best, passed, disagreement, level = options[0], False, float("nan"), float("nan")
            keep = not (decided and self.fallback)
        run = runs[best.candidate]
        guard = self._guard_summary(best, floor, y_oof, p_value, n_options, p_pool)
        guard.update(disagreement=disagreement, level=level, risk=self.guard_risk, min_heldout=int(self.guard_min_heldout))
        fitted = {
            "estimator": best.student,
            "teacher": best.teacher,
            "teacher_weight": best.beta if best.teacher is not None else 0.0,  # the teacher is kept for inspection even at 0
            "teacher_name": run.teacher_name,
            "history": [h for r in runs for h in r.history],
            "best_round": best.round,
            "pseudo_labels": best.record,
            "heldout": best.heldout,
            "guard": guard,
            "candidates": [r.summary(r is run and keep) for r in runs],
            "config": {**{k: str(v) for k, v in run.config.items()}, "teacher_weight": str(best.beta)},
            "fallback": False,
            "C": run.student_C,
        }
        if not keep:
            if not scored:
                message = (f"no labeled row could be held out, so no gain can be trusted (guard_min_heldout="
                           f"{self.guard_min_heldout}); returning the supervised model. Label at least 2 rows per class, or "
                           "pass guard_min_heldout=0 (or fallback=False) to keep self-training unchecked.")
            else:
                verdict = ("looked better than supervised-only training, but on too few labels to trust, on the" if passed
                           else "was not clearly better than supervised-only training on the")
                message = (
                    f"{_few_note(guard)}self-training {verdict} {guard['n_heldout']} held-out "
                    f"labels: best held-out accuracy {guard['heldout_accuracy']:.3f} vs {guard['supervised_heldout_accuracy']:.3f}"
                    f"{_mix_note(guard)} (gain lower bound {guard['gain_lower_bound']:+.3f} at z = {self.guard:g}; p = {guard['p_value']:.3f} over "
                    f"{guard['n_options']} options, needed <= {level:.3g}{level_note(guard)}); returning the supervised model. "
                    "Its predictions are in pseudo_labels_.probs, every row rejected (weight 0). Pass fallback=False to keep "
                    "self-training."
                )
            warnings.warn(message, UserWarning, stacklevel=4)
            probs = self._floor_pool_probs(floor, X, Xs, pool, len(self.classes_))
            # the final model's probabilities; every row rejected (weight 0): nothing was trained on them
            record = selection_to_record(
                Selection(np.zeros(len(pool)), probs.argmax(axis=1)), probs, self.classes_, source="supervised", index=pool
            )
            heldout = HeldOut.from_probs(y_oof, floor.oof, "supervised predictions of held-out rows") if floor.oof is not None else None
            fitted.update(estimator=floor.model, raw=floor.raw, teacher=None, teacher_weight=0.0, pseudo_labels=record, fallback=True,
                          heldout=heldout, config={"teacher": "supervised", "C": str(floor.C)})
        record = fitted["pseudo_labels"]
        transduction = self.classes_[np.maximum(y_enc, 0)].astype(object)
        transduction[pool] = self.unlabeled
        acc = record.accepted
        transduction[pool[acc]] = self.classes_[record.label[acc]]
        fitted["transduction"] = _try_cast(transduction, self.classes_.dtype)
        return fitted

    def _disagreement(self, best: _Option, floor: _Floor, X, Xs, pool) -> float:
        """Share of unlabeled rows (at most :data:`DISAGREE_ROWS`) on which the option's predicted
        class differs from the floor's: the most its accuracy can differ from the floor's there."""
        K = len(self.classes_)
        rows = np.arange(len(pool))
        if len(rows) > DISAGREE_ROWS:
            rows = np.sort(np.random.default_rng(_seed(self.random_state)).choice(len(rows), DISAGREE_ROWS, replace=False))
        floor_probs = floor.pool_probs[rows] if floor.pool_probs is not None else floor.predict(X, Xs, pool[rows], K)
        student = expand_proba(best.student.predict_proba(Xs[pool[rows]]), best.student.classes_, K)
        probs = _blend(student, best.teacher, best.beta, X[pool[rows]])
        return float((probs.argmax(axis=1) != floor_probs.argmax(axis=1)).mean())

    def _guard_summary(self, best: _Option, floor: _Floor, y_oof, p_value: float, n_options: int,
                       p_pool: float = float("nan")) -> dict:
        """How sure the decision was, in numbers (also shown by the CLI and the report)."""
        base = {"z": float(self.guard), "alpha": float(self.guard_alpha), "n_options": int(n_options),
                "metric": self.guard_metric, "class_mix": self.guard_class_mix,
                "pool_prior": None if floor.pool_prior is None else [float(v) for v in floor.pool_prior]}
        if floor.oof is None or not len(best.diff):
            return {"n_heldout": 0, "heldout_accuracy": float("nan"), "supervised_heldout_accuracy": float("nan"),
                    "gain": float("nan"), "gain_lower_bound": float("nan"), "gain_at_pool_mix": float("nan"), "p_value": float("nan"), "p_value_at_pool_mix": float("nan"),
                    "heldout_wins": 0, "heldout_losses": 0, **base}
        sup_acc = float((floor.oof.argmax(axis=1) == y_oof).mean())
        return {
            "n_heldout": len(best.diff),
            "heldout_accuracy": sup_acc + best.accuracy_gain,
            "supervised_heldout_accuracy": sup_acc,
            "gain": best.accuracy_gain,
            "gain_lower_bound": best.score,
            # the accuracy gain with every held-out row weighed to the pool's class mix
            "gain_at_pool_mix": float(best.diff.mean() if floor.row_weight is None else (floor.row_weight * best.diff).mean()),
            # one-sided sign-flip max-T p-value of the chosen option over every option looked at
            # (with guard_class_mix="both", the larger of those at the two class mixes)
            "p_value": float(p_value),
            "p_value_at_pool_mix": float(p_pool),
            "heldout_wins": int((best.diff > 0).sum()),
            "heldout_losses": int((best.diff < 0).sum()),
            **base,
        }

    def _teacher_probs_all(self, X, Xs, y_enc, chains: list[_Chain], teacher, K: int) -> dict[int, np.ndarray]:
        """Every chain's teacher probabilities: one call for all of them when the teacher takes
        several seedings at once (``transduce_many``: the graph teacher spreads every chain in one
        block solve), else one call per chain — fold chains first, so that the teacher's final
        state is the main chain's."""
        if teacher is not None and hasattr(teacher, "transduce_many"):
            seeds = [_seeds(ch, y_enc, len(X)) for ch in chains]
            probs = teacher.transduce_many(X, [y for y, _ in seeds], [w for _, w in seeds], n_classes=K)
            for ch in chains:
                ch.member_probs = None
            return {i: np.asarray(p, dtype=np.float64) for i, p in enumerate(probs)}
        return {i: self._teacher_probs(X, Xs, y_enc, chains[i], teacher, K) for i in reversed(range(len(chains)))}

    def _teacher_probs(self, X, Xs, y_enc, ch: _Chain, teacher, K: int) -> np.ndarray:
        """Probabilities for every row of X from this chain's point of view."""
        if teacher is None:  # the student is its own teacher
            if ch.student is None:
                ch.student = fit_weighted(self._make_student(ch.C), Xs[ch.labeled], y_enc[ch.labeled])
            return expand_proba(ch.student.predict_proba(Xs), ch.student.classes_, K)
        y_seed, w_seed = _seeds(ch, y_enc, len(X))
        probs = np.asarray(teacher.transduce(X, y_seed, w_seed, n_classes=K), dtype=np.float64)
        members = getattr(teacher, "members_proba_", None)
        ch.member_probs = None if members is None else np.asarray(members)[:, ch.pool]
        return probs

    def _round(self, Xs, y_enc, ch: _Chain, probs_all, ho_probs, ho_y, r: int, source: str, *, main: bool) -> PseudoLabels:
        """Refine, select and train the chain's student on human + accepted pseudo-labels."""
        K = len(self.classes_)
        P = np.clip(probs_all[ch.pool], 0.0, None)
        P = P / np.maximum(P.sum(axis=1, keepdims=True), EPS)
        # the pool's features are a copy of n × d floats: built only when a component may read them
        wants_features = any(getattr(c, "reads", None) is None or "features" in c.reads for c in [*ch.refiners, ch.selector])
        ctx = Context(
            idx=np.arange(len(P)),
            full_pool=True,
            features=Xs[ch.pool] if wants_features else None,
            labeled_features=Xs[ch.labeled],
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
        # student fit on human labels + accepted pseudo-labels (a fold chain on a bounded sample)
        acc = record.accepted
        student = self._make_student(ch.C)
        if not accepts_sample_weight(student):
            acc = acc & (record.weight >= 0.5)
        picked = np.flatnonzero(acc)
        cap = MAIN_STUDENT_ROWS if main else FOLD_STUDENT_ROWS
        if len(picked) > cap:
            picked = _stratified_sample(picked, record.label[picked], cap, seed=r)
        rows = np.concatenate([ch.labeled, ch.pool[picked]])
        targets = np.concatenate([y_enc[ch.labeled], record.label[picked]])
        weights = np.concatenate([np.full(len(ch.labeled), float(self.labeled_weight)), record.weight[picked]])
        _warm_start(student, ch.student, targets)
        ch.student = fit_weighted(student, Xs[rows], targets, weights)
        Q = expand_proba(ch.student.predict_proba(Xs[ch.pool]), ch.student.classes_, K)
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

    def predict_proba_features(self, X) -> np.ndarray:
        """``predict_proba`` of rows already in the model's feature representation (the output of
        ``encoder_.transform`` for a model fitted on a DataFrame; the same as ``predict_proba`` for
        arrays). Query strategies that perturb the features (NoiseAug) need this."""
        check_is_fitted(self, "estimator_")
        with _thread_limit(self.threads):
            return self._predict_proba(np.asarray(X, dtype=np.float64))

    def _predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = expand_proba(self.estimator_.predict_proba(X), self.estimator_.classes_, len(self.classes_))
        return _blend(p, self.teacher_, self.teacher_weight_, X)

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def predict_log_proba(self, X) -> np.ndarray:
        return np.log(np.clip(self.predict_proba(X), EPS, None))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def _option(candidate: int, r: int, beta: float, oof: np.ndarray, floor_oof: np.ndarray, y_oof: np.ndarray,
            z: float, heldout: HeldOut, metric: str, row_weight: np.ndarray | None = None, *, both: bool = False) -> _Option:
    """Score an option: lower confidence bound of its paired gain over the floor in ``metric``
    (per row: accuracy 1[right] − 1[floor right], or the Brier score's drop), each row weighted by
    ``row_weight`` (mean 1: the pool's class mix) when given; with ``both``, the smaller of the
    bounds unweighted and weighted (the weighted differences kept for the max-T test)."""
    right = oof.argmax(axis=1) == y_oof
    diff = right.astype(np.float64) - (floor_oof.argmax(axis=1) == y_oof)
    test_diff = diff if metric == "accuracy" else _brier(floor_oof, y_oof) - _brier(oof, y_oof)
    pooled = None
    if row_weight is not None and both:
        pooled = row_weight * test_diff
    elif row_weight is not None:  # "pool": the weighted differences replace the plain ones
        test_diff = row_weight * test_diff
    score = _lower_bound(test_diff, z) if pooled is None else min(_lower_bound(test_diff, z), _lower_bound(pooled, z))
    accuracy = float(right.mean())
    return _Option(candidate, r, beta, oof, diff, score, accuracy, heldout, test_diff=test_diff, test_diff_pool=pooled)


def _lower_bound(d: np.ndarray, z: float) -> float:
    """``mean(d) − z·sd(d)/√n``: the guard's ranking score of paired differences ``d``."""
    n = len(d)
    se = float(d.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    return float(d.mean()) - z * se


def _blend(student_probs: np.ndarray, teacher, beta: float, X_rows) -> np.ndarray:
    """The predictor an option is: ``(1 − β)·student + β·teacher`` on the same rows (the student's
    probabilities alone without a teacher or at β = 0)."""
    if teacher is None or not beta > 0:
        return student_probs
    return (1 - beta) * student_probs + beta * teacher.predict_proba(X_rows)


def _few_note(guard: dict) -> str:
    """Why no gain could be trusted, when there were fewer held-out labels than ``guard_min_heldout``."""
    n, least = guard.get("n_heldout", 0), guard.get("min_heldout", 0)
    if not n < least:
        return ""
    return (f"only {n} labeled rows could be held out, fewer than the {least} a gain is trusted on (label more rows, "
            "or pass guard_min_heldout=0 to let the test decide); ")


def level_note(guard: dict) -> str:
    """How the level was set, when ``guard_risk`` lowered it below ``guard_alpha`` (also the CLI's
    wording: ``pseudolabel fit``'s messages and summary)."""
    if guard.get("risk") is None or not guard.get("level", 1) < guard["alpha"]:
        return ""
    return (f": the option changes {100 * guard['disagreement']:.1f}% of the unlabeled rows' predictions, so the expected "
            f"loss from keeping a useless option stays within {100 * guard['risk']:g} point(s)")


def _mix_note(guard: dict) -> str:
    """The gain under the pool's class mix, when the guard weighed rows to it (for the fallback warning)."""
    if guard.get("pool_prior") is None or not np.isfinite(guard.get("gain_at_pool_mix", float("nan"))):
        return ""
    p_pool = guard.get("p_value_at_pool_mix", float("nan"))
    p_note = f" (p = {p_pool:.3f} there)" if np.isfinite(p_pool) else ""
    return f", a gain of {guard['gain_at_pool_mix']:+.3f} with rows weighed to the unlabeled rows' estimated class mix{p_note}"


def _brier(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-row Brier score ``Σ_k (p_k − 1[y = k])²`` (Brier 1950), in [0, 2]."""
    sq = np.square(probs)
    return sq.sum(axis=1) - 2 * probs[np.arange(len(y)), y] + 1.0


def _heldout_record(records: dict, chains: list[_Chain], y_enc) -> HeldOut:
    """The held-out rows of every fold chain (fold order): pseudo-label, weight, confidence, truth."""
    parts = [records[i][np.searchsorted(ch.pool, ch.hidden)] for i, ch in enumerate(chains) if i > 0]
    return HeldOut(
        y=np.concatenate([y_enc[ch.hidden] for ch in chains[1:]]),
        label=np.concatenate([p.label for p in parts]),
        weight=np.concatenate([p.weight for p in parts]),
        confidence=np.concatenate([p.confidence for p in parts]),
        source="pseudo-labels of held-out rows",
    )


def _warm_start(student, previous, targets) -> None:
    """Start a logistic-regression student from the previous round's solution (same classes): the
    pseudo-labels change little between rounds, so lbfgs needs a fraction of the iterations."""
    from sklearn.linear_model import LogisticRegression

    if not (isinstance(student, LogisticRegression) and isinstance(previous, LogisticRegression)):
        return
    if not hasattr(previous, "coef_") or not np.array_equal(previous.classes_, np.unique(targets)):
        return
    student.set_params(warm_start=True)
    student.coef_, student.intercept_ = previous.coef_.copy(), previous.intercept_.copy()


def _stratified_sample(rows: np.ndarray, labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """``size`` of ``rows``, each class keeping its share (at least one row per class present)."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.maximum(1, np.floor(counts * size / len(rows)).astype(int))
    order = np.lexsort((rng.random(len(rows)), labels))  # by class, shuffled within
    starts = np.searchsorted(labels[order], classes)
    rank = np.arange(len(rows)) - np.repeat(starts, counts)
    keep = rank < np.repeat(quota, counts)
    return np.sort(rows[order][keep])


def _seeds(ch: _Chain, y_enc: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A chain's teacher seeds: its human labels (weight 1) and, from round 1 on, its student's
    predictions on its pool weighted by their confidence."""
    y_seed = np.full(n, -1, dtype=np.int64)
    w_seed = np.zeros(n)
    y_seed[ch.labeled] = y_enc[ch.labeled]
    w_seed[ch.labeled] = 1.0
    if ch.seeds_y is not None:
        y_seed[ch.pool] = ch.seeds_y
        w_seed[ch.pool] = ch.seeds_w
    return y_seed, w_seed


def _seed(random_state) -> int:
    """An integer seed for the test's sign flips (the same draws for the same ``random_state``)."""
    return random_state if isinstance(random_state, int | np.integer) else 0


def _thread_limit(threads: int | None):
    """BLAS/OpenMP pools capped at ``threads`` for the duration (``None``: no change)."""
    return contextlib.nullcontext() if threads is None else threadpool_limits(limits=int(threads))


def _select(selector, probs: np.ndarray, ctx: Context) -> Selection:
    """A selector's decision; a plain callable returning weights is taken as arg-max labels."""
    if hasattr(selector, "select"):
        return selector.select(probs, ctx)
    return Selection.from_weights(selector(probs, ctx), probs)


def _student_C(value) -> float:
    """A candidate's ``student_C``: a positive number, else a clear error naming the key."""
    try:
        C = float(value)
    except (TypeError, ValueError):
        C = float("nan")
    if not np.isfinite(C) or C <= 0:
        raise ValueError(f"a candidate's 'student_C' must be a positive number (e.g. 1.0) or None; got {value!r}")
    return C


def _teacher_defaults(teacher) -> dict:
    """``refine``/``select`` used when left at "auto": the teacher's auto candidate, else the fallback ones."""
    name = teacher.split("(")[0].strip().lower() if isinstance(teacher, str) else None
    return TEACHER_DEFAULTS.get(name, FALLBACK_DEFAULTS)


def _try_cast(values: np.ndarray, dtype) -> np.ndarray:
    """Object array back to the classes' dtype when the unlabeled marker fits in it."""
    if np.dtype(dtype).kind == "O":
        return values
    try:
        return values.astype(dtype)
    except (TypeError, ValueError):
        return values
