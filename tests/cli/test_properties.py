"""Property-based: random tables through ``pseudolabel fit`` and ``predict``.

Tables get random column types (floats, integers, booleans, few-valued strings), NaN and inf,
``?`` / ``NA`` tokens, a format (CSV, TSV, Parquet), a delimiter, an encoding, a label type
(integers, whole floats, booleans, strings, digit strings, categoricals, nullable Int64) and a
label pattern (none, all, one class, one row per class, or usable). For each one the CLI must
either succeed, with the human labels back unchanged in the user's type (and ``predict`` working
on the same file), or exit 2 with a named ``error:`` message, no traceback and nothing in
``--out``. When the table is usable (and nothing in it is refused by a written rule) it must
succeed; when the label pattern is unusable it must say which rule it broke.

``make test`` runs a fixed dozen examples (the ``default`` profile of tests/conftest.py is
derandomized); a longer, random exploration (the ``long`` profile, 500 examples, ~5-10 min):

    PYTHONPATH=src python -m pytest tests/cli/test_properties.py --hypothesis-profile=long -p no:xdist
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pseudolabel.cli._common import CLIError  # noqa: E402
from pseudolabel.cli.rundir import verify_run  # noqa: E402

_PROFILE = settings()  # the loaded profile (tests/conftest.py; --hypothesis-profile)
EXAMPLES = 12 if _PROFILE.derandomize else _PROFILE.max_examples
"""Each usable example is a whole fit (~1-2 s): a dozen in the default profile, the long profile's count otherwise."""
FAST = ("--max-rounds", "1", "--cv", "2", "--query", "0")

LABELS = {  # label type -> class values (the user's values)
    "int": [0, 3, 7, 9],
    "negative int": [-1, 1, 2, 5],
    "whole float": [1.0, 2.0, 3.0, 4.0],
    "bool": [False, True],
    "str": ["ant", "bee", "été", "owl"],
    "digit str": ["1", "2", "3", "4"],
    "category": ["lo", "mid", "hi", "top"],
    "Int64": [10, 20, 30, 40],
}
PATTERNS = ("usable",) * 5 + ("none", "all", "one class", "one per class")


@dataclass
class Case:
    fmt: str
    sep: str
    encoding: str
    pass_encoding: bool
    label_type: str
    pattern: str
    n: int
    k: int
    columns: list  # (kind, missing share, '?' share, inf)
    seed: int


@st.composite
def cases(draw) -> Case:
    fmt = draw(st.sampled_from(["csv", "csv", "tsv", "parquet"]))
    sep = "\t" if fmt == "tsv" else draw(st.sampled_from([",", ";", "|", "\t"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    label_type = draw(st.sampled_from(list(LABELS)))
    k = 2 if label_type == "bool" else draw(st.integers(2, 4))
    columns = draw(st.lists(
        st.tuples(st.sampled_from(["float", "int", "bool", "cat"]), st.sampled_from([0.0, 0.0, 0.1, 0.5]),
                  st.sampled_from([0.0, 0.0, 0.08]), st.sampled_from([False] * 7 + [True])),
        min_size=1, max_size=4))
    return Case(fmt=fmt, sep=sep, encoding=encoding, pass_encoding=draw(st.booleans()), label_type=label_type,
                pattern=draw(st.sampled_from(PATTERNS)), n=draw(st.integers(12, 40)), k=k, columns=columns,
                seed=draw(st.integers(0, 2**16)))


def build(case: Case) -> tuple[pd.DataFrame, list]:
    """The table and the label of each row (None = unlabeled), in the user's values."""
    rng = np.random.default_rng(case.seed)
    n, k = case.n, case.k
    cls = rng.integers(0, k, n)
    cls[:k] = np.arange(k)
    df = pd.DataFrame(index=range(n))
    for j, (kind, miss, qmarks, inf) in enumerate(case.columns):
        signal = cls + rng.normal(0, 0.3, n)
        if kind == "float":
            col = pd.Series(np.round(signal, 3), dtype=object)
        elif kind == "int":
            col = pd.Series(np.round(signal * 10).astype(int), dtype=object)
        elif kind == "bool":
            col = pd.Series(signal > k / 2, dtype=object)
        else:
            col = pd.Series(np.array(["red", "grün", "blue", "noir"])[cls % 4], dtype=object)
        col[rng.random(n) < miss] = None
        if kind in ("float", "int"):
            col[rng.random(n) < qmarks] = "?"
            if inf:
                col[int(rng.integers(0, n))] = float("inf")
        df[f"f{j}"] = col
    values = LABELS[case.label_type]
    labeled = np.zeros(n, dtype=bool)
    if case.pattern == "usable":
        for c in range(k):
            rows = np.flatnonzero(cls == c)
            labeled[rng.choice(rows, min(len(rows), 2), replace=False)] = True
        labeled &= np.arange(n) != n - 1  # some rows stay unlabeled
        labeled[n - 1] = False
    elif case.pattern == "all":
        labeled[:] = True
    elif case.pattern == "one class":
        labeled[np.flatnonzero(cls == 0)[:3]] = True
        labeled[0] = labeled[0] or True
    elif case.pattern == "one per class":
        labeled[:k] = True
    y = [values[c] if m else None for c, m in zip(cls, labeled, strict=True)]
    if case.pattern == "usable":  # classes with fewer than 2 labels are dropped from the expectation
        counts = pd.Series([v for v in y if v is not None], dtype=object).value_counts()
        y = [v if v is not None and counts[v] >= 2 else None for v in y]
    df["y"] = _label_column(y, case)
    return df, y


def _label_column(y: list, case: Case):
    t = case.label_type
    if t in ("int", "negative int", "Int64"):
        return pd.array(y, dtype="Int64")
    if t == "whole float":
        return pd.array([np.nan if v is None else v for v in y], dtype="float64")
    if t == "bool":
        return pd.array(y, dtype="boolean") if case.fmt == "parquet" else pd.Series(y, dtype=object)
    if t == "category":
        return pd.Categorical(y, categories=LABELS["category"])
    return pd.Series(y, dtype=object)


def write(df: pd.DataFrame, case: Case, folder: Path) -> Path:
    path = folder / f"data.{case.fmt}"
    if case.fmt == "parquet":  # a column mixing numbers and '?' can only be stored as text
        df = df.copy()
        for c in df.columns.drop("y"):
            if df[c].map(lambda v: isinstance(v, str)).any():
                df[c] = df[c].map(lambda v: None if v is None else str(v)).astype(object)
        df.to_parquet(path)
    else:
        text = df.to_csv(index=False, sep=case.sep)
        path.write_bytes(text.encode(case.encoding, errors="replace"))
    return path


def expected_failure(df: pd.DataFrame, y: list, case: Case, text_bytes: bytes | None) -> str | None:
    """The rule a table breaks (a message fragment), or None if it must fit."""
    labels = [v for v in y if v is not None]
    if case.fmt != "parquet" and case.encoding == "latin-1" and not case.pass_encoding:
        try:
            text_bytes.decode("utf-8")
        except UnicodeDecodeError:
            return "--encoding"
    if not labels:
        return "nothing is labeled"
    if len(labels) == len(y):
        return "everything is labeled"
    if len(set(labels)) < 2:
        return "only one class is labeled"
    counts = pd.Series(labels, dtype=object).value_counts()
    if (counts < 2).any():
        return "fewer than 2 labeled rows"
    for c in df.columns.drop("y"):
        col = df[c]
        real = col.dropna()
        real = real[real.astype(str) != "?"]
        if real.empty:
            return "have no values"
        if any(isinstance(v, float) and np.isinf(v) for v in real):
            return "inf values"
    return None


def as_read(v, case: Case):
    """A label as the README's policy reads it back: Parquet keeps its type; CSV/TSV cells are text,
    so whole numbers and digit strings are integers, true/false are booleans, the rest text."""
    if case.fmt == "parquet":
        return v
    if isinstance(v, bool):
        return v
    if isinstance(v, float | int):
        return int(v)
    return int(v) if v.isdigit() else v


def _flat(res) -> str:
    return " ".join((res.stdout + " " + res.stderr).split())


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(case=cases())
def test_random_tables_fit_or_fail_cleanly(case, cli):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        df, y = build(case)
        path = write(df, case, folder)
        out = folder / "run"
        args = ["fit", path, "--target", "y", "--out", out, *FAST]
        if case.fmt != "parquet" and case.pass_encoding:
            args += ["--encoding", case.encoding]
        res = cli(*args)
        text = _flat(res)
        assert "Traceback" not in text and res.exception is None, (case, text)
        reason = expected_failure(df, y, case, path.read_bytes() if case.fmt != "parquet" else None)
        leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".run.")]
        event(f"exit {res.code}: {reason or 'usable'}")
        if res.code != 0:
            assert res.code == 2 and "error:" in text, (case, text)
            assert not out.exists() and not leftovers, (case, text, leftovers)
            if reason is None:
                pytest.fail(f"a usable table was refused: {case}\n{text}")
            if case.pattern != "usable" or reason == "--encoding":
                assert reason in text, (case, reason, text)
            return
        assert reason is None, (case, reason, text)
        assert not leftovers
        try:
            verify_run(out)
        except CLIError as exc:
            pytest.fail(f"a successful fit left an incomplete run: {exc}")
        pl = pd.read_parquet(out / "pseudo_labels.parquet")
        human = pl[pl.status == "human"]
        want = [v for v in y if v is not None]
        assert human.index.tolist() == [i for i, v in enumerate(y) if v is not None], case
        got = human["label"].tolist()
        want = [as_read(v, case) for v in want]
        assert got == want, (case, got[:5], want[:5])
        assert {type(v) for v in got} == {type(want[0])}, (case, {type(v) for v in got})
        scored = folder / "scored.parquet"
        res = cli("predict", out, path, "--out", scored, *(["--encoding", case.encoding] if "--encoding" in args else []))
        assert res.code == 0, (case, _flat(res))
        back = pd.read_parquet(scored)
        assert str(back["label"].dtype) == str(pl["label"].dtype) and len(back) == len(df)
        assert set(back["label"].dropna()) <= set(want) | set(LABELS[case.label_type])
