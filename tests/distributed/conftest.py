"""A small fitted run (``model.joblib`` as ``pseudolabel fit`` writes it) and Parquet datasets."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pseudolabel import SelfTrainer, __version__
from pseudolabel.data.io import encode_target

N_FEATURES = 5


def make_table(n: int, seed: int, *, labeled: int = 0, with_id: bool = True) -> pd.DataFrame:
    """Three classes in 5 numeric features plus a categorical column; ``labeled`` rows keep their target."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    frame = pd.DataFrame(rng.normal(size=(n, N_FEATURES)) + y[:, None] * 1.5, columns=[f"f{j}" for j in range(N_FEATURES)])
    frame["color"] = np.where(y == 2, "red", np.where(rng.random(n) < 0.5, "blue", "green"))
    names = np.array(["cat", "dog", "eel"], dtype=object)
    target = pd.Series(names[y], dtype=object)
    target[labeled:] = None
    frame["animal"] = target
    if with_id:
        frame.insert(0, "key", [f"row-{seed}-{i}" for i in range(n)])
    return frame


def fit_run(run_dir, *, id_column: str | None) -> None:
    """What ``pseudolabel fit`` stores in ``model.joblib`` (``cli.fit.write_run``): a ``SelfTrainer``
    fitted on the raw columns, the label codec, the columns, target and id column."""
    frame = make_table(300, 0, labeled=60)
    features = frame.drop(columns=["animal", "key"])
    target = encode_target(frame["animal"])
    model = SelfTrainer(teacher="self", max_rounds=1, cv=None, random_state=0).fit(features, target.y)
    run_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump({"model": model, "codec": target.codec, "target": "animal", "id_column": id_column,
                 "columns": list(features.columns), "na_values": [], "version": __version__},
                run_dir / "model.joblib")


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "run"
    fit_run(path, id_column="key")
    return path


@pytest.fixture(scope="session")
def run_dir_no_id(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "run"
    fit_run(path, id_column=None)
    return path


def write_parquet(frame: pd.DataFrame, path, row_group_size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_size)


@pytest.fixture(scope="session")
def dataset(tmp_path_factory):
    """Three files of 230, 0 and 410 rows in row groups of 50 rows, some rows human-labeled;
    returns (directory, the whole table in dataset order)."""
    root = tmp_path_factory.mktemp("data") / "pool"
    parts = [make_table(230, 1, labeled=7), make_table(0, 2), make_table(410, 3, labeled=3)]
    schema = pa.Table.from_pandas(parts[0], preserve_index=False).schema
    for j, part in enumerate(parts):
        path = root / f"part-{j}.parquet"
        write_parquet(part, path, row_group_size=50) if len(part) else pq.write_table(schema.empty_table(), path)
    return root, pd.concat(parts, ignore_index=True)
