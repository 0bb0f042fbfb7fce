"""Shared fixtures of the CLI tests: an in-process runner and small tables.

Fits here are small on purpose (tens of rows, ``--max-rounds 1 --cv 2`` where the test is not
about the learner): the CLI's behaviour, not the model's accuracy, is under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pseudolabel.cli import app

FAST = ("--max-rounds", "1", "--cv", "2", "--query", "0")


@dataclass
class Ran:
    """One CLI call: exit code, output (stdout + stderr, whitespace collapsed) and the raw parts."""

    code: int
    text: str
    stdout: str
    stderr: str
    exception: BaseException | None

    def __str__(self) -> str:
        return f"exit {self.code}\n{self.stdout}\n{self.stderr}"


def run_cli(*args, env: dict | None = None) -> Ran:
    res = CliRunner().invoke(app, [str(a) for a in args], env=env)
    out, err = res.stdout, res.stderr
    exc = res.exception if not isinstance(res.exception, SystemExit) else None
    return Ran(res.exit_code, " ".join((out + " " + err).split()), out, err, exc)


@pytest.fixture(scope="session")
def cli():
    """``cli("fit", path, "--target", "y", ...)`` → :class:`Ran`."""
    return run_cli


def blobs(n: int = 60, classes: int = 3, every: int = 3, seed: int = 0) -> pd.DataFrame:
    """Separable blobs with a categorical column; every ``every``-th row labeled (``y`` as Int64)."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n, centers=classes, n_features=3, cluster_std=1.0, random_state=seed)
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["kind"] = rng.choice(["x", "y", "z"], n)
    df["y"] = pd.Series(y).where(np.arange(n) % every == 0).astype("Int64")
    df["truth"] = y
    return df


@pytest.fixture
def table(tmp_path) -> tuple[Path, pd.DataFrame]:
    """A CSV of :func:`blobs` (without the truth column) and its frame."""
    df = blobs().drop(columns="truth")
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return path, df


def files_under(folder: Path) -> list[str]:
    """Every path under ``folder`` (relative), hidden temporaries included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(scope="session")
def make_blobs():
    """:func:`blobs` as a fixture (test modules cannot import conftest helpers in importlib mode)."""
    return blobs


@pytest.fixture(scope="session")
def listing():
    """:func:`files_under` as a fixture."""
    return files_under


@pytest.fixture(scope="session")
def fast():
    """Options that keep a fit small: one round, two folds, no label-next queries."""
    return list(FAST)


def noise(n: int = 90, seed: int = 0) -> pd.DataFrame:
    """Features and labels that are pure noise: with ``FAST`` options the guard keeps the
    supervised model (seed 0: held-out 0.633 vs 0.600, p = 0.5)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    y = rng.choice(["no", "yes"], n).astype(object)
    y[np.arange(n) % 3 != 0] = None
    df["y"] = y
    return df


@pytest.fixture(scope="session")
def fallback_run(tmp_path_factory):
    """A run whose guard fell back to the supervised model (checked), fitted once per session."""
    tmp = tmp_path_factory.mktemp("fallback")
    path = tmp / "noise.csv"
    noise().to_csv(path, index=False)
    out = tmp / "run"
    res = run_cli("fit", path, "--target", "y", "--out", out, *FAST)
    assert res.code == 0, res
    import json

    assert json.loads((out / "metrics.json").read_text())["fallback_to_supervised"], "precondition: a fallback run"
    return path, out, res


@pytest.fixture(scope="session")
def blobs_run(tmp_path_factory):
    """A small complete self-training run of :func:`blobs` (read it, do not change it: copy it first).

    The blobs are so well separated that supervised-only training gets every held-out label right
    too, so the default guard would keep the supervised model: ``--no-fallback`` keeps the run's
    pseudo-labels."""
    tmp = tmp_path_factory.mktemp("blobs")
    path = tmp / "data.csv"
    blobs().drop(columns="truth").to_csv(path, index=False)
    out = tmp / "run"
    res = run_cli("fit", path, "--target", "y", "--out", out, "--no-fallback", *FAST)
    assert res.code == 0, res
    (tmp / "fit.log").write_text(res.stdout + res.stderr)  # what the user saw
    return path, out
