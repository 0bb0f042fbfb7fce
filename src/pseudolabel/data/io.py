"""Reading user tables, turning them into model inputs, and writing outputs safely.

Every check here exists to fail early with a message that names the column or argument and says
how to fix it; nothing a user passes in is modified.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pseudolabel.ops.files import atomic_path  # noqa: F401 - re-exported (old import path)

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


class InputError(ValueError):
    """Bad user input; the message says what is wrong and how to fix it."""


def read_table(path: str | os.PathLike, what: str = "DATA") -> pd.DataFrame:
    """Read CSV / TSV / Parquet by file suffix."""
    path = Path(path)
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            f"{what}: unknown file type {path.suffix or '(none)'!r} for {path}; use .csv, .tsv or .parquet"
        )
    if not path.exists():
        raise InputError(f"{what}: file not found: {path}")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if kind == "tsv" else ",", low_memory=False)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"{what}: could not read {path} as {kind}: {exc}") from exc


def write_table(frame: pd.DataFrame, path: str | os.PathLike, what: str = "--out") -> Path:
    """Write CSV / TSV / Parquet by suffix, atomically."""
    path = Path(path)
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{what}: unknown file type {path.suffix or '(none)'!r}; use .csv, .tsv or .parquet")
    with atomic_path(path) as tmp:
        if kind == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, sep="\t" if kind == "tsv" else ",", index=False)
    return path


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:limit])
    return shown + (f", … ({len(idx)} in all)" if len(idx) > limit else "")


@dataclass
class TableEncoder:
    """Turns a feature table into a float matrix: numbers as they are, categories one-hot,
    text columns embedded (``text`` extra). Remembers the columns so that prediction-time tables
    are checked against them.
    """

    max_categories: int = 50
    impute: str = "none"  # "none" (NaN is an error) or "median"
    text_columns: list[str] = field(default_factory=list)

    def fit(self, frame: pd.DataFrame) -> TableEncoder:
        if frame.shape[1] == 0:
            raise InputError("DATA has no feature columns besides the target/id; add feature columns")
        missing_text = [c for c in self.text_columns if c not in frame.columns]
        if missing_text:
            raise InputError(f"--text column(s) {missing_text} not in DATA; columns are: {list(frame.columns)}")
        self.columns_ = list(frame.columns)
        self.numeric_, self.categories_, self.medians_ = [], {}, {}
        for col in self.columns_:
            s = frame[col]
            if col in self.text_columns:
                continue
            if pd.api.types.is_bool_dtype(s):
                self.categories_[col] = [False, True]
            elif pd.api.types.is_numeric_dtype(s):
                self.numeric_.append(col)
            else:
                self._fit_object_column(col, s)
        for col in self.numeric_:
            values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)
            self.medians_[col] = float(np.nanmedian(values)) if np.isfinite(values).any() else 0.0
        return self

    def _fit_object_column(self, col: str, s: pd.Series) -> None:
        nonnull = s.dropna()
        as_num = pd.to_numeric(nonnull, errors="coerce")
        bad = as_num.isna()
        if len(nonnull) and bad.mean() < 0.05 and bad.any():
            examples = ", ".join(repr(v) for v in nonnull[bad].unique()[:3])
            raise InputError(
                f"column {col!r} is numeric except for {int(bad.sum())} value(s) such as {examples}; "
                "fix or blank those cells, or drop the column (--drop)"
            )
        if len(nonnull) and not bad.any():
            self.numeric_.append(col)
            return
        cats = pd.Series(nonnull.astype(str).unique())
        if len(cats) > max(self.max_categories, 0):
            raise InputError(
                f"column {col!r} is non-numeric with {len(cats)} distinct values (too many to one-hot "
                f"encode, limit {self.max_categories}); embed it as text with --text {col}, make it the "
                f"--id column, or drop it with --drop {col}"
            )
        self.categories_[col] = sorted(cats.tolist())

    def transform(self, frame: pd.DataFrame, what: str = "DATA", embed=None) -> np.ndarray:
        missing = [c for c in self.columns_ if c not in frame.columns]
        if missing:
            raise InputError(
                f"{what} lacks column(s) {missing} that the model was trained with; "
                f"expected columns: {self.columns_}"
            )
        blocks = []
        for col in self.columns_:
            s = frame[col]
            if col in self.text_columns:
                from pseudolabel.data.embed import embed_texts

                texts = s.fillna("").astype(str).tolist()
                blocks.append((embed or embed_texts)(texts))
            elif col in self.categories_:
                cats = self.categories_[col]
                values = s.astype(str) if cats and isinstance(cats[0], str) else s
                onehot = np.stack([(values == c).to_numpy() for c in cats], axis=1).astype(np.float64)
                blocks.append(onehot)
            else:
                values = pd.to_numeric(s, errors="coerce")
                bad_parse = values.isna() & s.notna()
                if bad_parse.any():
                    raise InputError(
                        f"{what}: column {col!r} was numeric at fit time but has non-numeric values at rows "
                        f"{_rows(bad_parse.to_numpy())}"
                    )
                arr = values.to_numpy(dtype=np.float64)
                nan = np.isnan(arr)
                inf = np.isinf(arr)
                if inf.any():
                    raise InputError(f"{what}: column {col!r} has inf values at rows {_rows(inf)}; replace them")
                if nan.any():
                    if self.impute != "median":
                        raise InputError(
                            f"{what}: column {col!r} has {int(nan.sum())} missing/NaN value(s) at rows {_rows(nan)}; "
                            "fill them, drop the column (--drop), or pass --impute median"
                        )
                    arr = np.where(nan, self.medians_[col], arr)
                blocks.append(arr[:, None])
        return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))

    @property
    def feature_names_(self) -> list[str]:
        names = []
        for col in self.columns_:
            if col in self.text_columns:
                names.append(f"{col}[text]")
            elif col in self.categories_:
                names += [f"{col}={c}" for c in self.categories_[col]]
            else:
                names.append(col)
        return names


@dataclass
class LabeledTable:
    """A user table split into features, target (None = unlabeled) and row ids."""

    features: pd.DataFrame
    target: pd.Series
    ids: np.ndarray
    target_name: str
    id_name: str | None


def split_table(
    frame: pd.DataFrame, target: str, id_column: str | None = None, drop: list[str] | None = None
) -> LabeledTable:
    """Separate target and id columns; empty target cells mean unlabeled."""
    if target not in frame.columns:
        raise InputError(f"--target {target!r} is not a column of DATA; columns are: {list(frame.columns)}")
    if id_column is not None and id_column not in frame.columns:
        raise InputError(f"--id {id_column!r} is not a column of DATA; columns are: {list(frame.columns)}")
    drop = list(drop or [])
    unknown = [c for c in drop if c not in frame.columns]
    if unknown:
        raise InputError(f"--drop column(s) {unknown} not in DATA; columns are: {list(frame.columns)}")
    if id_column is not None:
        ids = frame[id_column].to_numpy()
        dup = pd.Series(ids).duplicated(keep=False).to_numpy()
        if dup.any():
            raise InputError(f"--id column {id_column!r} has duplicate values at rows {_rows(dup)}; ids must be unique")
    else:
        ids = np.arange(len(frame))
    y = frame[target]
    if y.dtype == object or pd.api.types.is_string_dtype(y):
        blank = y.notna() & y.astype(str).str.strip().eq("")
        y = y.astype(object).where(~blank, None)
    features = frame.drop(columns=[c for c in [target, id_column, *drop] if c is not None])
    return LabeledTable(features=features, target=y, ids=ids, target_name=target, id_name=id_column)


def encode_target(y: pd.Series, *, min_per_class: int = 2, allow_all_labeled: bool = False) -> np.ndarray:
    """Target as an object array with ``None`` for unlabeled rows, after the checks the CLI needs."""
    labeled = y.notna().to_numpy()
    if not labeled.any():
        raise InputError(
            f"nothing is labeled: target column {y.name!r} is empty in every row; label at least "
            f"{min_per_class} rows per class"
        )
    if labeled.all() and not allow_all_labeled:
        raise InputError(
            f"everything is labeled: target column {y.name!r} has a value in every row, so there is nothing to "
            "pseudo-label; leave the target cell empty for unlabeled rows"
        )
    values = y[labeled]
    if pd.api.types.is_float_dtype(values) and np.all(np.mod(values.to_numpy(), 1) == 0):
        values = values.astype(np.int64)  # 1.0, 2.0 read from a CSV with blanks are the labels 1, 2
    counts = values.value_counts()
    few = counts[counts < min_per_class]
    if len(few):
        listing = ", ".join(f"{k!r} ({v})" for k, v in few.items())
        raise InputError(
            f"class(es) with fewer than {min_per_class} labeled rows in {y.name!r}: {listing}; label more rows "
            "of those classes or remove them"
        )
    out = np.full(len(y), None, dtype=object)
    out[labeled] = values.to_numpy(dtype=object)
    return out
