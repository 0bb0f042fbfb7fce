"""The methods a benchmark compares, by name.

Every method is built from a :class:`MethodContext` and is used the same way: ``fit(X_train, y)``
with ``-1`` for unlabeled rows (``kind="semi"``), or on the labeled rows only
(``kind="supervised"``), or on every train row with its true label (``kind="full"``, the ceiling);
then ``predict_proba(X_test)``. The student (the base classifier) is the same for every method on
a dataset, so the comparison is about pseudo-labeling, not about the classifier.

``pseudolabel``'s own configurations are rows of :data:`PSEUDOLABEL_CONFIGS` (``SelfTrainer``
keyword arguments): a new family is one line there. A configuration whose teacher, refiner or
selector is not registered in this install is listed as unavailable (with the missing name) and
skipped, so a table run on a smaller install still names them.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from pseudolabel.core.registry import available, parse_spec, split_specs


@dataclass
class MethodContext:
    """What a method may know when it is built (never the test set, never hidden pool labels)."""

    n_classes: int
    n_labeled: int
    n_unlabeled: int
    seed: int
    student: Callable[[], object]
    modality: str = "tabular"


@dataclass(frozen=True)
class BenchMethod:
    name: str
    family: str  # "reference", "scikit-learn", "pseudolabel" or "neural"
    description: str
    build: Callable[[MethodContext], object]
    kind: str = "semi"  # "semi" | "supervised" | "full"
    requires: tuple[str, ...] = ()  # "module:<name>" or "<teacher|refine|select>:<name>"
    config: dict = field(default_factory=dict, hash=False, compare=False)


# ---------------------------------------------------------------------------- students
def logistic_student():
    """Logistic regression (C=1) on standardised numeric columns, 0/1 columns unscaled."""
    from pseudolabel.ops.estimators import default_student

    return default_student()


STUDENTS: dict[str, Callable[[], object]] = {"logreg": logistic_student}


# ---------------------------------------------------------------------------- pseudolabel configurations
PSEUDOLABEL_CONFIGS: dict[str, tuple[str, dict]] = {
    # name: (what it is, SelfTrainer kwargs); the student is always the bench's student
    "pseudolabel": ("SelfTrainer() defaults: graph + GMM and classic self-training (threshold 0.75), cross-fitted; an option is kept when its gain lower bound over the tuned supervised floor is positive (z=0.5)", {}),
    # the alternatives the default was chosen among (tune group only; BENCHMARKS.md "What shaped the default")
    "pseudolabel_z0": ("the default with guard z=0: the option with the best held-out accuracy gain, kept if it is positive", {"guard": 0.0}),
    "pseudolabel_z1": ("the default with guard z=1: a gain must exceed one standard error", {"guard": 1.0}),
    "pseudolabel_keep": (
        "the default's chosen option, always kept (fallback=False); with the guard's recorded numbers "
        "(gain lower bound, max-T p-value) and supervised_tuned — the default's exact floor — any guard "
        "level can be replayed (benchmarks/replay_guard.py); its guard is the default's at the run's revision "
        "(held-out rows at the labels' class mix up to b771b0c and ff7866b, at both mixes since aee5341)",
        {"fallback": False},
    ),
    "pseudolabel_keep_labeled_mix": (
        "as pseudolabel_keep with guard_class_mix='labeled' (the previous default's guard: held-out rows as they are)",
        {"fallback": False, "guard_class_mix": "labeled"},
    ),
    "pseudolabel_keep_brier": (
        "as pseudolabel_keep with guard_metric='brier': options ranked and tested on the per-row Brier score drop",
        {"fallback": False, "guard_metric": "brier"},
    ),
    "pseudolabel_keep_self_c1": (
        "as pseudolabel_keep with classic self-training's student at C = 1 (scikit-learn's default) instead of "
        "the C tuned on the labeled rows (candidate key student_C)",
        {"fallback": False,
         "candidates": [{"teacher": "graph", "refine": "calibrate,sinkhorn", "select": "gmm"},
                        {"teacher": "self", "refine": None, "select": "threshold(threshold=0.75)", "student_C": 1.0}]},
    ),
    "pseudolabel_keep_graph_only": (
        "as pseudolabel_keep with the graph candidate alone (half the options for the max-T test)",
        {"fallback": False, "candidates": [{"teacher": "graph", "refine": "calibrate,sinkhorn", "select": "gmm"}]},
    ),
    "pseudolabel_keep_z0": (
        "as pseudolabel_keep with guard z=0: the option with the best held-out gain is the one tested",
        {"fallback": False, "guard": 0.0},
    ),
    "pseudolabel_keep_pool_mix": (
        "as pseudolabel_keep with guard_class_mix='pool': held-out rows weighed to the unlabeled rows' "
        "estimated class mix (EM, Saerens et al. 2002) before options are ranked and tested",
        {"fallback": False, "guard_class_mix": "pool"},
    ),
    "pseudolabel_keep_both_mix": (
        "guard_class_mix='both' spelled out (the default since aee5341): an option must win with the held-out rows "
        "as they are and weighed to the unlabeled rows' estimated class mix (intersection-union test)",
        {"fallback": False, "guard_class_mix": "both"},
    ),
    "pseudolabel_keep_both_count": (
        "as pseudolabel_keep_both_mix with the pool's class mix counted from the floor's predictions "
        "(guard_pool_prior='count', Forman 2008) instead of EM",
        {"fallback": False, "guard_class_mix": "both", "guard_pool_prior": "count"},
    ),
    "pseudolabel_v1_candidates": (
        "the default decision on the previous auto candidates (graph + GMM, self + calibrate + FreeMatch, prototype + FreeMatch)",
        {"candidates": [{"teacher": "graph", "refine": "calibrate,sinkhorn", "select": "gmm"},
                        {"teacher": "self", "refine": "calibrate", "select": "freematch"},
                        {"teacher": "prototype", "refine": "calibrate,sinkhorn", "select": "freematch"}]},
    ),
    "pseudolabel_self": (
        "classic self-training: the student labels itself, calibrated, fixed threshold 0.95",
        {"teacher": "self", "refine": "calibrate", "select": "threshold(threshold=0.95)"},
    ),
    "pseudolabel_flexmatch": (
        "student as teacher, calibrated, FlexMatch class-adaptive thresholds",
        {"teacher": "self", "refine": "calibrate", "select": "flexmatch"},
    ),
    "pseudolabel_freematch": (
        "student as teacher, calibrated, FreeMatch self-adaptive thresholds",
        {"teacher": "self", "refine": "calibrate", "select": "freematch"},
    ),
    "pseudolabel_softmatch": (
        "student as teacher, calibrated, SoftMatch Gaussian soft weights",
        {"teacher": "self", "refine": "calibrate", "select": "softmatch"},
    ),
    "pseudolabel_topk": (
        "student as teacher, calibrated + sinkhorn, class-balanced top-k (half the pool)",
        {"teacher": "self", "refine": "calibrate,sinkhorn", "select": "topk(k=0.5)"},
    ),
    "pseudolabel_graph_flexmatch": (
        "graph teacher, calibrate + sinkhorn, FlexMatch thresholds",
        {"teacher": "graph", "refine": "calibrate,sinkhorn", "select": "flexmatch"},
    ),
    "pseudolabel_graph_softmatch": (
        "graph teacher, calibrate + sinkhorn, SoftMatch weights",
        {"teacher": "graph", "refine": "calibrate,sinkhorn", "select": "softmatch"},
    ),
    # the other teacher families with their default refiners and selectors
    "pseudolabel_ensemble": ("bootstrap ensemble teacher (UPL-SFDA), calibrate + sinkhorn", {"teacher": "ensemble"}),
    "pseudolabel_prototype": ("prototype teacher (class means, cosine)", {"teacher": "prototype"}),
    "pseudolabel_erase": ("ERASE propagation teacher", {"teacher": "erase"}),
    "pseudolabel_simmatch": ("SimMatch labeled-memory teacher", {"teacher": "simmatch"}),
    "pseudolabel_cluster": ("clustering teacher (Sinkhorn / P²OT + Hungarian)", {"teacher": "cluster"}),
    "pseudolabel_gmm": ("student as teacher, DLG-LC two-component GMM loss gate", {"teacher": "self", "refine": "calibrate", "select": "gmm"}),
    "pseudolabel_grip": ("student as teacher, GRIP growing class-balanced top-k", {"teacher": "self", "refine": "calibrate", "select": "grip"}),
}


def _selftrainer(kwargs: dict) -> Callable[[MethodContext], object]:
    def build(ctx: MethodContext):
        from pseudolabel.learn.self_training import SelfTrainer

        # with the bench's default student, exactly what a user runs: SelfTrainer(estimator=None), whose
        # student's C is tuned on the labeled rows and whose floor is the supervised_tuned model
        student = None if ctx.student is logistic_student else ctx.student()
        return SelfTrainer(student, random_state=ctx.seed, **kwargs)

    return build


def _component_requirements(kwargs: dict) -> tuple[str, ...]:
    """``teacher:<name>`` etc. for every registry name a SelfTrainer configuration uses."""
    reqs = []
    for kind in ("teacher", "refine", "select"):
        spec = kwargs.get(kind)
        if not isinstance(spec, str) or spec in ("auto", "self"):
            continue
        for part in split_specs(spec) if kind == "refine" else [spec]:
            reqs.append(f"{kind}:{parse_spec(part)[0]}")
    return tuple(reqs)


# ---------------------------------------------------------------------------- baselines
def _supervised(ctx: MethodContext):
    return ctx.student()


def _supervised_tuned(ctx: MethodContext):
    from pseudolabel.ops.estimators import TunedLogisticRegression

    return TunedLogisticRegression(random_state=ctx.seed)


def _sk_threshold(ctx: MethodContext):
    from sklearn.semi_supervised import SelfTrainingClassifier

    return SelfTrainingClassifier(ctx.student())  # scikit-learn defaults: threshold 0.75, max_iter 10


def _sk_kbest(ctx: MethodContext):
    from sklearn.semi_supervised import SelfTrainingClassifier

    # scikit-learn's default k_best=10 would label 100 rows in its 10 iterations; a tenth of the pool
    # per iteration labels all of it by the end (the GRIP-style schedule)
    k = max(1, math.ceil(ctx.n_unlabeled / 10))
    return SelfTrainingClassifier(ctx.student(), criterion="k_best", k_best=k, max_iter=10)


def _sk_label_spreading(ctx: MethodContext):
    from sklearn.semi_supervised import LabelSpreading

    return LabelSpreading(kernel="knn")  # scikit-learn defaults: n_neighbors 7, alpha 0.2, max_iter 30


def _neural(ctx: MethodContext):
    # FlexMatch consistency training of an MLP on the features (docs/neural.md), its defaults;
    # a fixed step budget keeps one run to about a CPU-minute on the bench datasets.
    from pseudolabel.learn.neural import ConsistencyClassifier

    return ConsistencyClassifier(max_steps=1500, n_threads=1, random_state=ctx.seed)


_BASE: list[BenchMethod] = [
    BenchMethod("supervised", "reference", "the student on the labeled rows only", _supervised, kind="supervised"),
    BenchMethod("supervised_tuned", "reference", "logistic regression, C chosen by 5-fold CV log-loss on the labeled rows only (0/1 columns unscaled)", _supervised_tuned, kind="supervised"),
    BenchMethod("fully_supervised", "reference", "the student on every train row with its true label (ceiling)", _supervised, kind="full"),
    BenchMethod("sklearn_self_training", "scikit-learn", "SelfTrainingClassifier(student), defaults (threshold 0.75)", _sk_threshold),
    BenchMethod("sklearn_self_training_kbest", "scikit-learn", "SelfTrainingClassifier(student, k_best=10% of pool, max_iter=10)", _sk_kbest),
    BenchMethod("sklearn_label_spreading", "scikit-learn", "LabelSpreading(kernel='knn'), defaults (k=7, alpha=0.2)", _sk_label_spreading),
]
_NEURAL = BenchMethod(
    "neural",
    "neural",
    "pseudolabel's neural consistency trainer (FixMatch family, CPU)",
    _neural,
    requires=("module:torch", "module:pseudolabel.learn.neural"),
)


# ---------------------------------------------------------------------------- the method matrix
MATRIX_TEACHERS = ("graph", "self", "prototype", "erase", "simmatch", "ensemble(n_members=5)", "cluster")
MATRIX_SELECTS = (
    "threshold(threshold=0.0)",
    "threshold(threshold=0.9)",
    "flexmatch",
    "freematch",
    "softmatch",
    "gmm",
)
"""The teacher × selector matrix: every teacher family × selector family, each as ``SelfTrainer(teacher=t,
select=s)`` with that teacher's default refiners and the guard off (``fallback=False``), so the
table shows what each combination does by itself. ``pseudolabel bench --suite matrix``."""


def matrix_name(teacher: str, select: str) -> str:
    short = {"threshold(threshold=0.0)": "all", "threshold(threshold=0.9)": "thr0.9", "ensemble(n_members=5)": "ensemble"}
    return f"m_{short.get(teacher, teacher)}_{short.get(select, select)}"


def _matrix() -> dict[str, BenchMethod]:
    out = {}
    for t in MATRIX_TEACHERS:
        for s in MATRIX_SELECTS:
            kwargs = {"teacher": t, "select": s, "fallback": False}
            name = matrix_name(t, s)
            out[name] = BenchMethod(
                name, "matrix", f"teacher {t} × select {s} (guard off)", _selftrainer(kwargs), requires=_component_requirements(kwargs), config=kwargs
            )
    return out


def _registry() -> dict[str, BenchMethod]:
    methods = {m.name: m for m in _BASE}
    for name, (desc, kwargs) in PSEUDOLABEL_CONFIGS.items():
        methods[name] = BenchMethod(
            name, "pseudolabel", desc, _selftrainer(kwargs), requires=_component_requirements(kwargs), config=dict(kwargs)
        )
    methods[_NEURAL.name] = _NEURAL
    methods.update(_matrix())
    return methods


METHODS: dict[str, BenchMethod] = _registry()


def missing(method: BenchMethod) -> list[str]:
    """The requirements of ``method`` this install lacks (empty when it can run)."""
    out = []
    for req in method.requires:
        kind, _, name = req.partition(":")
        if kind == "module":
            try:
                found = importlib.util.find_spec(name) is not None
            except ModuleNotFoundError:
                found = False
            if not found:
                out.append(f"module {name!r} is not installed")
        elif name not in available(kind):
            out.append(f"{kind} {name!r} is not registered")
    return out


def get_methods(names: list[str] | None) -> list[BenchMethod]:
    """Methods by name, in the order given; unknown names raise a ValueError listing the known ones."""
    if names is None:  # everything but the (long) teacher × selector matrix
        return [m for m in METHODS.values() if m.family != "matrix"]
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise ValueError(f"unknown bench method(s) {', '.join(map(repr, unknown))}; known: {', '.join(METHODS)}")
    return [METHODS[n] for n in dict.fromkeys(names)]
