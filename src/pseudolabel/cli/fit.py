"""``pseudolabel fit DATA --target T --out DIR``: self-train on a table and write the run folder.

The run folder is all or nothing (:mod:`pseudolabel.cli.rundir`): it is built beside ``--out``
and renamed into place when complete, ``run.json`` written last. The steps are small functions
(check the options and ``--out``, read the inputs, build the model, fit with progress, write
the files, print the summary) so that a command can reuse or extend them.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated

import joblib
import numpy as np
import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table as RichTable

from pseudolabel import __version__
from pseudolabel.audit.query import select_queries
from pseudolabel.audit.report import heldout_metrics, precision_text, write_report
from pseudolabel.cli._common import (
    DEBUG_HELP,
    cli_terms,
    collect_warnings,
    console,
    dumps,
    fail,
    limit_threads,
    listed,
    progress_bar,
    warn,
)
from pseudolabel.cli.labels import keep_label_store, store_labels_over
from pseudolabel.cli.rundir import (
    ARTIFACTS,
    MANIFEST,
    OutPlan,
    file_fingerprint,
    prepare_run_dir,
    remove_created,
    write_manifest,
)
from pseudolabel.core.record import HUMAN, REJECTED, UNKNOWN, PseudoLabels
from pseudolabel.data.io import (
    InputError,
    LabeledTable,
    Table,
    Target,
    cell_missing,
    encode_target,
    json_value,
    load_table,
    missing_tokens,
    number_hint,
    split_table,
    typed_ids,
)
from pseudolabel.data.tabular import TabularEncoder
from pseudolabel.learn.defaults import AUTO_CANDIDATES, make_student
from pseudolabel.learn.self_training import SelfTrainer, level_note
from pseudolabel.ops.files import atomic_dir

IMPUTE = ("auto", "none", "median")

_API = SelfTrainer().get_params()
"""``SelfTrainer()``'s defaults: the CLI's defaults are the same (``pseudolabel fit`` with no flags is
what the development suite measures)."""


@dataclass
class FitOptions:
    """The options of one ``fit`` call (recorded in metrics.json and run.json as ``options``)."""

    data: Path
    target: str
    out: Path
    id_column: str | None = None
    teacher: str = "auto"
    refine: str = "auto"
    select: str = "auto"
    estimator: str = "logreg"
    max_rounds: int = _API["max_rounds"]
    cv: int = _API["cv"]
    min_labels: int = _API["guard_min_heldout"]
    risk: float | None = _API["guard_risk"]
    fallback: bool = True
    drop: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    impute: str = "auto"
    na_values: list[str] = field(default_factory=list)
    sep: str | None = None
    decimal: str = "."
    encoding: str | None = None
    seed: int = 0
    query: int = 20
    threads: int = 1
    overwrite: bool = False
    labels: Path | None = None  # label store whose human labels win over DATA's target

    def record(self) -> dict:
        d = asdict(self)
        d["data"], d["out"] = str(self.data), str(self.out)
        d["labels"] = None if self.labels is None else str(self.labels)
        d["id"] = d.pop("id_column")
        return d


def fit(
    data: Annotated[Path, typer.Argument(help="CSV, TSV or Parquet table; rows with an empty target are unlabeled.")],
    target: Annotated[str, typer.Option("--target", "-t", help="Target (label) column: integers, booleans or text; empty = unlabeled.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder to create (built beside it, renamed into place when complete).")],
    id_column: Annotated[str | None, typer.Option("--id", help="Row id column (default: row position from 0).")] = None,
    teacher: Annotated[str, typer.Option(help="Teacher: auto, graph, self, or a registered name/spec.")] = "auto",
    refine: Annotated[str, typer.Option(help="Refiners in order, comma separated (e.g. 'calibrate,sinkhorn'); 'none' for none.")] = "auto",
    select: Annotated[str, typer.Option(help="Selector name/spec, e.g. 'flexmatch(threshold=0.9)'.")] = "auto",
    estimator: Annotated[str, typer.Option(help="Student: logreg, hgb, rf, knn or svc.")] = "logreg",
    max_rounds: Annotated[int, typer.Option(help="Self-training rounds.")] = _API["max_rounds"],
    cv: Annotated[int, typer.Option(help="Held-out folds of the labels (0 disables the estimates and the guard).")] = _API["cv"],
    min_labels: Annotated[int, typer.Option(help="Never keep self-training judged on fewer labels than this (every label is held out once); 0 lets the test decide at any size.")] = _API["guard_min_heldout"],
    risk: Annotated[str, typer.Option(help="Expected accuracy loss, as a share (0.0175 = 1.75 points), that keeping a useless self-training option may cost: an option that changes a share δ of the unlabeled rows' predictions is tested at RISK / δ when that is below the plain level; 'off' always uses the plain level.")] = "default",
    no_fallback: Annotated[bool, typer.Option("--no-fallback", help="Keep self-training even when it is not clearly better than supervised-only on held-out labels.")] = False,
    drop: Annotated[list[str] | None, typer.Option("--drop", help="Column to ignore (repeatable).")] = None,
    text: Annotated[list[str] | None, typer.Option("--text", help="Free-text column to embed with MiniLM (repeatable; text extra).")] = None,
    categorical: Annotated[list[str] | None, typer.Option("--categorical", help="Column to one-hot encode whatever it holds (repeatable).")] = None,
    numeric: Annotated[list[str] | None, typer.Option("--numeric", help="Column that must be numeric (repeatable).")] = None,
    impute: Annotated[str, typer.Option(help="Missing feature values: 'auto' (numbers: median + indicator; categories: a 'missing' category) or 'none' (refuse them).")] = "auto",
    na_values: Annotated[list[str] | None, typer.Option("--na-values", help="Extra cell text meaning 'missing' (repeatable or comma separated); built in: empty, ?, NA, N/A, n/a, null, None, -, NaN …")] = None,
    sep: Annotated[str | None, typer.Option(help="CSV delimiter (default: sniffed among , tab ; |).")] = None,
    decimal: Annotated[str, typer.Option(help="Decimal mark of numbers in a CSV/TSV ('.' or ',').")] = ".",
    encoding: Annotated[str | None, typer.Option(help="Text encoding of a CSV/TSV (default UTF-8, BOM allowed).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    query: Annotated[int, typer.Option(help="Suggest this many rows to label next (report + metrics.json).")] = 20,
    threads: Annotated[int, typer.Option(help="BLAS threads (1 is fastest for small fits).")] = 1,
    overwrite: Annotated[bool, typer.Option(help="Replace a previous run in --out (it stays whole until the new one is complete).")] = False,
    labels: Annotated[Path | None, typer.Option("--labels", help="Label store (SQLite, `pseudolabel review`/`labels`) whose human labels win over DATA's target; default: OUT/labels.db when it exists.")] = None,
    debug: Annotated[bool, typer.Option("--debug", help=DEBUG_HELP)] = False,
) -> None:
    """Fit on DATA and write pseudo_labels.parquet, model.joblib, metrics.json, report.html and run.json to --out."""
    opts = FitOptions(
        data=data, target=target, out=out, id_column=id_column, teacher=teacher, refine=refine, select=select,
        estimator=estimator, max_rounds=max_rounds, cv=cv, min_labels=min_labels, risk=parse_risk(risk),
        fallback=not no_fallback, drop=listed(drop),
        text=listed(text), categorical=listed(categorical), numeric=listed(numeric), impute=impute,
        na_values=listed(na_values), sep=sep, decimal=decimal, encoding=encoding, seed=seed, query=query, threads=threads,
        overwrite=overwrite, labels=labels,
    )
    run_fit(opts)


def parse_risk(text: str) -> float | None:
    """``--risk``: 'default' (``SelfTrainer``'s), 'off' (no bound) or a share in (0, 1]."""
    word = text.strip().lower()
    if word == "default":
        return _API["guard_risk"]
    if word in ("off", "none"):
        return None
    try:
        value = float(word)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        fail(f"--risk must be 'off' or a share of accuracy in (0, 1], e.g. 0.0175 for 1.75 points; got {text!r}")
    return value


def run_fit(opts: FitOptions) -> None:
    """The whole command: checks, then the run folder built and moved into place, then the summary."""
    check_options(opts)
    plan = prepare_run_dir(opts.out, inputs=[opts.data], overwrite=opts.overwrite)
    t0 = time.perf_counter()
    committed = False
    try:
        with atomic_dir_or_fail(plan) as tmp:
            inputs = read_inputs(opts)
            model = make_model(opts)
            announce(opts, inputs)
            fit_with_progress(model, inputs, opts)
            console.print(f"writing the run to {escape(str(plan.out))}", highlight=False)
            result = write_run(tmp, model, inputs, opts, seconds=time.perf_counter() - t0)
            keep_label_store(plan.out, tmp)  # the human labels of the run being replaced move with it
        committed = True
    finally:
        if not committed:
            remove_created(plan.created)
    print_summary(plan.out, model, inputs, result)


def check_options(opts: FitOptions) -> None:
    """Option values that need no data: fail before reading anything."""
    if opts.impute not in IMPUTE:
        fail(f"--impute must be 'auto' or 'none', got {opts.impute!r}")
    if opts.max_rounds < 0:
        fail(f"--max-rounds must be >= 0, got {opts.max_rounds}")
    if opts.cv < 0 or opts.cv == 1:
        fail(f"--cv must be 0 (no held-out folds) or at least 2, got {opts.cv}")
    if opts.query < 0:
        fail(f"--query must be >= 0, got {opts.query}")
    if opts.min_labels < 0:
        fail(f"--min-labels must be >= 0 (0 lets the test decide at any number of labels), got {opts.min_labels}")
    if opts.threads < 1:
        fail(f"--threads must be >= 1, got {opts.threads}")
    roles = {}
    for flag, cols in (("--drop", opts.drop), ("--text", opts.text), ("--categorical", opts.categorical), ("--numeric", opts.numeric)):
        for c in cols:
            if c in roles and roles[c] != flag:
                fail(f"column {c!r} is given to both {roles[c]} and {flag}; a column has one role")
            roles[c] = flag
    try:
        make_student(opts.estimator)
    except ValueError as exc:
        fail(f"--estimator: {exc}")


@contextlib.contextmanager
def atomic_dir_or_fail(plan: OutPlan):
    """:func:`~pseudolabel.ops.files.atomic_dir` for ``--out``; a folder that cannot be created is
    a bad ``--out`` (exit 2), found before any work."""
    try:
        cm = atomic_dir(plan.out, replace=plan.replace)
        tmp = cm.__enter__()
    except OSError as exc:
        fail(f"--out {plan.out}: cannot create the run folder beside it in {plan.out.parent} ({exc.strerror or exc})")
    try:
        yield tmp
    except BaseException as exc:
        if not cm.__exit__(type(exc), exc, exc.__traceback__):
            raise
    else:
        cm.__exit__(None, None, None)


@dataclass
class Inputs:
    """DATA as the fit sees it: the table, its split, the encoded target, the missing tokens."""

    table: Table
    split: LabeledTable
    target: Target
    tokens: tuple[str, ...]

    @property
    def features(self) -> pd.DataFrame:
        return self.split.features

    @property
    def labeled(self) -> np.ndarray:
        return self.target.labeled


def read_inputs(opts: FitOptions) -> Inputs:
    """Read DATA, split off target and ids, encode the target; bad input raises InputError."""
    tokens = missing_tokens(opts.na_values)
    text_cols = [opts.target] + ([opts.id_column] if opts.id_column else [])
    table = load_table(opts.data, "DATA", sep=opts.sep, encoding=opts.encoding, na_values=opts.na_values,
                       text_columns=text_cols, decimal=opts.decimal)
    split = split_table(table, opts.target, opts.id_column, opts.drop, opts.text)
    split.ids = typed_ids(split.ids, table)
    for flag, cols in (("--categorical", opts.categorical), ("--numeric", opts.numeric)):
        unknown = [c for c in cols if c not in split.features.columns]
        if unknown:
            fail(f"{flag} column(s) {unknown} are not feature columns of DATA; features are: {list(split.features.columns)}")
    split.target, opts.labels = store_labels_over(split, opts.labels, opts.out)
    target = encode_target(split.target, table=table, tokens=tokens)
    if opts.impute == "none":
        _refuse_missing(split.features, table, tokens)
    return Inputs(table=table, split=split, target=target, tokens=tokens)


def _refuse_missing(features: pd.DataFrame, table: Table, tokens) -> None:
    problems = []
    first = None
    for col in features.columns:
        miss = cell_missing(features[col], tokens)
        if miss.any():
            problems.append(f"{col!r} ({int(miss.sum())})")
            first = first if first is not None else (col, miss)
    if problems:
        col, miss = first
        fail(f"--impute none: missing values in column(s) {', '.join(problems[:8])}; in {col!r} at {table.where(miss)}; "
             "fill them, drop the column (--drop), or let them be imputed (--impute auto)")


def make_model(opts: FitOptions) -> SelfTrainer:
    """The SelfTrainer the options describe; the feature table is encoded by TabularEncoder inside it."""
    encoder = TabularEncoder(text=opts.text or None, categorical=opts.categorical or None, numeric=opts.numeric or None,
                             missing_values=missing_tokens(opts.na_values))
    extra = {} if opts.fallback else {"fallback": False}
    return SelfTrainer(
        make_student(opts.estimator),
        teacher=opts.teacher,
        refine=None if opts.refine == "none" else opts.refine,
        select=opts.select,
        max_rounds=opts.max_rounds,
        cv=opts.cv or None,
        guard_min_heldout=opts.min_labels,
        guard_risk=opts.risk,
        unlabeled=None,  # only empty cells are unlabeled: -1 is a class like any other
        encoder=encoder,
        threads=opts.threads,
        random_state=opts.seed,
        **extra,
    )


def announce(opts: FitOptions, inputs: Inputs) -> None:
    n, lab = len(inputs.labeled), int(inputs.labeled.sum())
    console.print(
        f"[bold]{escape(opts.data.name)}[/]: {n:,} rows, {lab:,} labeled, {n - lab:,} unlabeled, "
        f"{inputs.features.shape[1]} feature columns, {len(inputs.target.classes)} classes",
        highlight=False,
    )


class RoundProgress:
    """Drives the progress bar from SelfTrainer's per-round callback: one line per round of each
    configuration tried; at the end, the chosen configuration and round (the summary's numbers)."""

    def __init__(self, progress, n_configs: int, max_rounds: int):
        self.progress, self.n_configs, self.per = progress, n_configs, max_rounds + 1
        self.task = progress.add_task("self-training", total=n_configs * self.per)
        self.config, self.last_round = 0, None

    def __call__(self, entry: dict) -> None:
        r = int(entry.get("round", 0))
        if self.last_round is not None and r <= self.last_round:
            self.config += 1
        self.last_round = r
        acc = entry.get("heldout_accuracy")
        acc_text = f", held-out acc {acc:.3f}" if isinstance(acc, float) and np.isfinite(acc) else ""
        which = f"configuration {min(self.config + 1, self.n_configs)}/{self.n_configs}, " if self.n_configs > 1 else ""
        self.progress.update(self.task, completed=min(self.config * self.per + r + 1, self.n_configs * self.per),
                             description=f"{which}round {r}: {entry.get('selected', 0):,} accepted{acc_text}")

    def finish(self, line: str) -> None:
        self.progress.update(self.task, completed=self.n_configs * self.per, description=line)


def n_configs(opts: FitOptions) -> int:
    return len(AUTO_CANDIDATES) if opts.teacher == "auto" else 1


def fit_with_progress(model: SelfTrainer, inputs: Inputs, opts: FitOptions) -> None:
    """Fit under a progress bar; the learner's warnings are printed after it, in CLI terms."""
    with progress_bar(transient=False) as progress, collect_warnings() as caught:
        tracker = RoundProgress(progress, n_configs(opts), opts.max_rounds)
        model.set_params(callback=tracker)
        try:
            model.fit(inputs.features, inputs.target.y)
        except ValueError as exc:
            raise InputError(explain(str(exc), inputs.features, inputs.table, inputs.tokens, "fit")) from None
        finally:
            model.set_params(callback=None)
        tracker.finish(outcome_line(model))
    skip = ("self-training did not beat",) if model.fallback_ else ()
    for message in caught.messages(skip=skip):
        if model.fallback_ and "fallback" in message:
            continue
        warn(cli_terms(message))
    if model.fallback_:
        warn(fallback_message(model))
    warn_mostly_numeric(model, inputs)


def warn_mostly_numeric(model: SelfTrainer, inputs: Inputs) -> None:
    """A column one-hot encoded as categories although nearly all of it is numbers is probably a
    few stray cells or a decimal comma: say so instead of fitting on it silently."""
    kinds = getattr(getattr(model, "encoder_", None), "column_kinds_", None) or {}
    for col, kind in kinds.items():
        if kind == "categorical" and col not in (inputs.split.features.columns.difference(inputs.features.columns)):
            hint = number_hint(inputs.features[col], inputs.tokens, inputs.table.where)
            if hint:
                warn(f"column {col!r} was encoded as categories: {hint}")


def explain(message: str, features: pd.DataFrame, table: Table, tokens, command: str) -> str:
    """A learner's error about DATA in the command's words: file lines, the command's flags, and
    why a mostly-numeric column was not read as numbers (decimal comma, stray cells)."""
    import re

    message = cli_terms(table.relocate(message), command)
    m = re.search(r"column '([^']+)' is non-numeric", message)
    if m and m.group(1) in features.columns:
        hint = number_hint(features[m.group(1)], tokens, lambda mask: table.where(mask, brief=True))
        if hint:
            message += f". Column {m.group(1)!r}: {hint}"
    return message


def outcome_line(model: SelfTrainer) -> str:
    """The chosen configuration and round, as the summary reports them."""
    accepted = int(model.pseudo_labels_.accepted.sum())
    if model.fallback_:
        return f"done: supervised model kept (self-training not clearly better); {accepted:,} accepted"
    teacher = (model.config_ or {}).get("teacher", "")
    g = model.guard_ or {}
    sure = ""
    if np.isfinite(_f(g.get("heldout_accuracy"))):
        sure = (f" (held-out {_f(g['heldout_accuracy']):.3f} vs {_f(g.get('supervised_heldout_accuracy')):.3f} supervised, "
                f"n={int(g.get('n_heldout', 0))}; p={_f(g.get('p_value')):.3g} over {int(g.get('n_options', 0))} options)")
    return f"done: {teacher + ', ' if teacher else ''}round {model.best_round_}: {accepted:,} accepted{sure}"


def fallback_message(model: SelfTrainer) -> str:
    """Why the supervised model was kept, with the guard's numbers and the flag that keeps self-training."""
    g = model.guard_ or {}
    acc, sup = _f(g.get("heldout_accuracy")), _f(g.get("supervised_heldout_accuracy"))
    verdict = "worse than" if acc < sup else "no better than" if acc == sup else "not clearly better than"
    numbers = f"held-out {acc:.3f} vs {sup:.3f}" if np.isfinite(acc) else "no held-out rows: a class has a single label"
    if g.get("n_heldout") is not None and np.isfinite(acc):
        numbers += f", n={int(g['n_heldout'])}"
    numbers += _pool_mix_text(g)
    if np.isfinite(_f(g.get("gain_lower_bound"))):
        numbers += f", gain lower bound {_f(g['gain_lower_bound']):+.3f} at z={_f(g.get('z')):g}"
    if np.isfinite(_f(g.get("p_value"))):
        numbers += (f", p={_f(g['p_value']):.3g} over {int(g.get('n_options', 0))} options "
                    f"(needed <= {_level(g):.3g}{level_note(g)})")
    n, least = g.get("n_heldout"), g.get("min_heldout")
    if n is not None and least is not None and n < least:
        passed = _f(g.get("gain_lower_bound")) > 0 and _f(g.get("p_value")) <= _level(g)
        looked = "; self-training looked better, but on too few labels to trust" if passed else ""
        return (f"only {int(n)} labeled rows could be held out, fewer than the {int(least)} a gain is trusted on "
                f"({numbers}){looked}, so the run keeps the supervised model and accepts no pseudo-label (pseudo_labels.parquet "
                "has its predictions in `prediction`); label more rows, pass --min-labels 0 to let the test decide, or pass "
                "--no-fallback to keep self-training")
    risk_only = (_f(g.get("gain_lower_bound")) > 0 and _level(g) < _f(g.get("p_value")) <= _f(g.get("alpha")))
    flags = ("pass --risk off to test it at the plain level, or --no-fallback to keep self-training" if risk_only
             else "pass --no-fallback to keep self-training")
    return (f"self-training was {verdict} supervised-only training ({numbers}), so the run keeps the supervised "
            f"model and accepts no pseudo-label (pseudo_labels.parquet has its predictions in `prediction`); {flags}")


def _level(g: dict) -> float:
    """The level the guard's p-value was held to (``guard_alpha``, or lower with ``guard_risk``)."""
    level = _f(g.get("level"))
    return level if np.isfinite(level) else _f(g.get("alpha"))


def _pool_mix_text(g: dict) -> str:
    """The gain with held-out rows weighed to the unlabeled rows' class mix, when the guard did so."""
    if g.get("pool_prior") is None or not np.isfinite(_f(g.get("gain_at_pool_mix"))):
        return ""
    p_pool = _f(g.get("p_value_at_pool_mix"))
    there = f" (p={p_pool:.3f} there)" if np.isfinite(p_pool) else ""
    return f", gain {_f(g['gain_at_pool_mix']):+.3f} at the unlabeled rows' estimated class mix{there}"


def config_text(cfg: dict) -> str:
    """``teacher=graph, refine=…, select=…`` (teacher, refine, select first)."""
    keys = [k for k in ("teacher", "refine", "select") if k in cfg] + [k for k in cfg if k not in ("teacher", "refine", "select")]
    return ", ".join(f"{k}={cfg[k]}" for k in keys) or "–"


def _f(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


@dataclass
class RunResult:
    summary: dict
    heldout: dict
    labels: pd.DataFrame


def write_run(folder: Path, model: SelfTrainer, inputs: Inputs, opts: FitOptions, *, seconds: float) -> RunResult:
    """Every file of the run into ``folder`` (the temporary sibling of --out), ``run.json`` last."""
    codec = inputs.target.codec
    proba = model.predict_proba(inputs.features)
    labels = label_table(model, inputs, proba)
    labels.to_parquet(folder / "pseudo_labels.parquet", index=False)
    bundle = {
        "model": model,
        "codec": codec,
        "target": opts.target,
        "id_column": opts.id_column,
        "columns": list(inputs.features.columns),
        "na_values": list(opts.na_values),
        "version": __version__,
    }
    joblib.dump(bundle, folder / "model.joblib")
    queries = label_next(model, inputs, opts)
    heldout = heldout_metrics(model)
    summary = model.pseudo_labels_.summary()
    metrics = build_metrics(model, inputs, opts, summary, heldout, queries, seconds)
    (folder / "metrics.json").write_text(dumps(metrics) + "\n", encoding="utf-8")
    class_names = [str(v) for v in codec.user_values(model.classes_)]
    write_report(model, folder / "report.html", title=f"pseudolabel: {opts.data.name}",
                 data_name=f"target {opts.target!r}", ids=inputs.split.ids,
                 y_labeled=inputs.target.y[inputs.labeled], config=opts.record(), queries=queries,
                 class_names=class_names)
    write_manifest(folder, config=opts.record(), data=data_fingerprint(inputs, opts), target=codec.describe(),
                   extra={"model": {"config": model.config_, "best_round": model.best_round_,
                                    "fallback": bool(model.fallback_)}})
    return RunResult(summary=summary, heldout=heldout, labels=labels)


def data_fingerprint(inputs: Inputs, opts: FitOptions) -> dict:
    fp = file_fingerprint(opts.data)
    fp.update(rows=len(inputs.labeled), labeled=int(inputs.labeled.sum()), columns=list(inputs.table.frame.columns),
              features=list(inputs.features.columns), format=inputs.table.kind, sep=inputs.table.sep,
              encoding=inputs.table.encoding)
    return fp


STATUS = ("human", "accepted", "rejected", "unknown")


def label_table(model: SelfTrainer, inputs: Inputs, proba: np.ndarray) -> pd.DataFrame:
    """pseudo_labels.parquet: one row per DATA row, in file order (README, "Output files").

    ``label`` is the human label (``status`` human) or the accepted pseudo-label (accepted); it is
    empty for rejected rows (weight 0) and rows judged to be of no known class (unknown), in every
    configuration, including the supervised fallback. ``prediction`` is the final model's class for
    every row, with ``prediction_confidence``.
    """
    codec = inputs.target.codec
    classes = model.classes_
    index_of = {(c.item() if hasattr(c, "item") else c): i for i, c in enumerate(classes)}
    human_rows = np.flatnonzero(inputs.labeled)
    human_codes = np.array([index_of[inputs.target.y[i]] for i in human_rows], dtype=np.int64)
    human = PseudoLabels.from_human(human_codes, classes, index=human_rows)
    record = PseudoLabels.concat([human, model.pseudo_labels_])
    if len(record) != len(inputs.labeled) or not np.array_equal(record.index, np.arange(len(inputs.labeled))):
        raise RuntimeError("the pseudo-label record does not cover every row of DATA exactly once")
    status = np.where(record.source == HUMAN, "human",
                      np.where(record.accepted, "accepted", np.where(record.label == UNKNOWN, "unknown", "rejected")))
    label_index = np.where(record.accepted | (record.source == HUMAN), record.label, REJECTED)
    pred = proba.argmax(axis=1)
    frame = pd.DataFrame({
        "id": inputs.split.ids[record.index],
        "label": codec.column(label_index, classes),
        "confidence": record.confidence.astype(np.float64),
        "weight": record.weight.astype(np.float64),
        "source": record.source.astype(str),
        "round": record.round,
        "status": pd.Series(status, dtype=object),
        "prediction": codec.column(pred[record.index], classes),
        "prediction_confidence": proba.max(axis=1)[record.index],
    })
    for key, col in record.extras.items():
        if key not in frame.columns:
            frame[key] = col
    return frame


def label_next(model: SelfTrainer, inputs: Inputs, opts: FitOptions) -> np.ndarray | None:
    """Positions (within the pseudo-labeled rows) of the ``--query`` rows worth labeling next, if any."""
    pl = model.pseudo_labels_
    if not (opts.query > 0 and len(pl) > opts.query) or getattr(model, "encoder_", None) is None:
        return None
    X = model.encoder_.transform(inputs.features)
    with limit_threads(opts.threads):
        return select_queries(pl.probs, X[pl.index], budget=opts.query, random_state=opts.seed)


def build_metrics(model: SelfTrainer, inputs: Inputs, opts: FitOptions, summary: dict, heldout: dict,
                  queries: np.ndarray | None, seconds: float) -> dict:
    """The content of metrics.json (strict JSON: undefined numbers are null)."""
    pl = model.pseudo_labels_
    codec = inputs.target.codec
    import platform

    return {
        "rows": int(len(inputs.labeled)),
        "labeled": int(inputs.labeled.sum()),
        "unlabeled": int((~inputs.labeled).sum()),
        "classes": [json_value(v) for v in codec.user_values(model.classes_)],
        "target": codec.describe(),
        "features": int(len(model.encoder_.feature_names_out_)) if getattr(model, "encoder_", None) is not None else None,
        "feature_columns": list(inputs.features.columns),
        "column_kinds": dict(getattr(model.encoder_, "column_kinds_", {}) or {}),
        "pseudo_labels": summary,
        "heldout": heldout or None,
        "config": dict(model.config_ or {}),
        "candidates": list(model.candidates_ or []),
        "best_round": int(model.best_round_),
        "fallback_to_supervised": bool(model.fallback_),
        "guard": dict(model.guard_ or {}) or None,
        "decision": fallback_message(model) if model.fallback_ else None,
        "history": model.history_,
        "label_next": [] if queries is None else [json_value(v) for v in inputs.split.ids[pl.index[queries]]],
        "options": opts.record(),
        "seconds": seconds,
        "version": __version__,
        "python": platform.python_version(),
    }


def print_summary(out: Path, model: SelfTrainer, inputs: Inputs, result: RunResult) -> None:
    """The closing table; its chosen round and accepted count are the progress bar's last line."""
    t = RichTable(title="run summary", show_header=False)
    summary, heldout = result.summary, result.heldout
    cfg = model.config_ or {}
    if model.fallback_:
        t.add_row("model", "supervised only (fallback: see the warning above)")
    else:
        t.add_row("configuration", escape(config_text(cfg)))
        t.add_row("chosen round", f"{model.best_round_} (of 0–{max(len(model.history_) - 1, 0)})")
    g = model.guard_ or {}
    if np.isfinite(_f(g.get("heldout_accuracy"))):
        t.add_row("held-out accuracy", f"{_f(g['heldout_accuracy']):.3f} (supervised only {_f(g.get('supervised_heldout_accuracy')):.3f}, "
                  f"n={g.get('n_heldout')}{_pool_mix_text(g)})")
    if np.isfinite(_f(g.get("p_value"))):
        t.add_row("how sure", f"p = {_f(g['p_value']):.3g} that the chosen option beats supervised only, over "
                  f"{int(g.get('n_options', 0))} options compared (kept when ≤ {_level(g):.3g}{level_note(g)}, and the gain "
                  f"lower bound {_f(g.get('gain_lower_bound')):+.3f} > 0)")
    if np.isfinite(_f(g.get("disagreement"))):
        which = "the best self-training option (not kept)" if model.fallback_ else "the chosen option"
        t.add_row("predictions changed", f"{_f(g['disagreement']):.1%} of the unlabeled rows: where {which} predicts another "
                  "class than the supervised model (the most keeping it can change accuracy)")
    t.add_row("accepted pseudo-labels", f"{summary['accepted']:,} / {summary['n']:,} ({summary['coverage']:.1%})")
    if heldout:
        t.add_row("est. pseudo-label precision", escape(precision_text(heldout["n_correct"], heldout["n_accepted"]))
                  + " [dim](held-out)[/]")
        ece = _f(heldout.get("ece"))
        t.add_row("ECE (held-out)", f"{ece:.3f}" if np.isfinite(ece) else "–")
    t.add_row("outputs", escape(f"{out}/ ({', '.join((*ARTIFACTS, MANIFEST))})"))
    console.print(t)
