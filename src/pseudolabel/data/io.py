"""Reading user tables, the target (label) policy, and writing outputs safely.

Every check here exists to fail early with a message that names the column or argument, says
where (file line numbers for CSV/TSV, 1-based row numbers for Parquet) and how to fix it;
nothing a user passes in is modified.

**Missing values.** A cell is missing when it is empty or one of :data:`MISSING_TOKENS` (``?``,
``NA``, ``n/a``, ``null``, ``-`` …, spaces around them ignored), plus any token passed with
``na_values``. In the target column a missing cell means "unlabeled"; in a feature column it is
imputed by :class:`~pseudolabel.data.tabular.TabularEncoder`.

**Labels** (:func:`encode_target`). The target may hold integers, floats that are whole numbers,
booleans, strings, pandas categoricals or nullable integers; labels are written back in the
user's type everywhere (:class:`LabelCodec`). CSV/TSV cells have no type, so:

- every label a plain integer (``3``, ``-1``, ``3.0`` — the way pandas and spreadsheets write an
  integer column that has blanks) → integer labels; ``1`` and ``1.0`` are the same label;
- every label ``true``/``false`` (any case) → boolean labels;
- otherwise the labels are text, kept as written (surrounding spaces removed), and **text labels
  that spell the same number differently** (``01`` and ``1``, ``1.0`` and ``1``, ``+1`` and
  ``1``) are refused, with the clashing spellings and their lines: they would silently become
  different classes. The same refusal applies to string labels in Parquet, whose labels are
  otherwise taken exactly as stored.

Labels that are numbers but not whole (``0.5``) are refused as continuous values.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pseudolabel.data.tabular import MISSING_VALUES as _ENCODER_MISSING
from pseudolabel.ops.files import atomic_path
from pseudolabel.ops.labels import encode_labels

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}

_PANDAS_NA = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
              "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
MISSING_TOKENS: tuple[str, ...] = tuple(sorted(set(_PANDAS_NA) | set(_ENCODER_MISSING)))
"""Cells that mean "missing" (pandas' defaults plus ``?``, ``na``, ``-``)."""

SNIFF_DELIMITERS = (",", "\t", ";", "|")
"""Delimiters tried when ``sep`` is not given (the file suffix's own delimiter wins ties)."""
_SNIFF_BYTES = 1 << 16


class InputError(ValueError):
    """Bad user input; the message says what is wrong and how to fix it."""


def missing_tokens(extra=()) -> tuple[str, ...]:
    """:data:`MISSING_TOKENS` plus the user's ``extra`` tokens (spaces stripped, no duplicates)."""
    tokens = list(MISSING_TOKENS)
    for t in extra or ():
        t = str(t).strip()
        if t not in tokens:
            tokens.append(t)
    return tuple(tokens)


# ---------------------------------------------------------------------- reading


@dataclass
class Table:
    """A user table with where it came from, so that messages can point at file lines."""

    frame: pd.DataFrame
    path: Path
    kind: str  # "csv", "tsv" or "parquet"
    sep: str | None = None
    encoding: str | None = None
    what: str = "DATA"
    _lines: np.ndarray | None = field(default=None, repr=False)

    @property
    def typed(self) -> bool:
        """Whether cells carry types (Parquet) or are text (CSV/TSV)."""
        return self.kind == "parquet"

    def line_numbers(self) -> np.ndarray:
        """File line of each data row (CSV/TSV; header = line 1), or its 1-based row number (Parquet).

        Exact also with quoted fields that span lines and blank lines that the reader skipped."""
        if self._lines is None:
            n = len(self.frame)
            self._lines = np.arange(1, n + 1) if self.typed else self._record_lines(n)
        return self._lines

    def _record_lines(self, n: int) -> np.ndarray:
        starts, prev = [], 0
        try:
            with open(self.path, newline="", encoding=self.encoding) as f:
                reader = csv.reader(f, delimiter=self.sep or ",", skipinitialspace=True)
                for rec in reader:
                    start, prev = prev + 1, reader.line_num
                    if rec and any(cell.strip() for cell in rec):
                        starts.append(start)
        except (OSError, UnicodeError, csv.Error):
            starts = []
        lines = np.asarray(starts[1:], dtype=np.int64)
        return lines if len(lines) == n else np.arange(2, n + 2)

    @property
    def note(self) -> str:
        """What the numbers in :meth:`locate` count."""
        if self.typed:
            return f"(data rows of {self.path.name} counted from 1)"
        return f"(file line numbers in {self.path.name}; the header is line 1)"

    def locate(self, positions, total: int | None = None, limit: int = 5, *, brief: bool = False) -> str:
        """``"lines 3, 7 (file line numbers in data.csv; …)"`` for 0-based data-row positions
        (``brief``: just ``"lines 3, 7"``)."""
        positions = np.asarray(positions, dtype=np.int64).ravel()
        total = len(positions) if total is None else total
        lines = self.line_numbers()
        shown = [str(int(lines[p])) if 0 <= p < len(lines) else f"#{p}" for p in positions[:limit]]
        more = f", … ({total} in all)" if total > min(len(positions), limit) else ""
        word = ("row" if self.typed else "line") + ("s" if total > 1 else "")
        text = f"{word} {', '.join(shown)}{more}"
        return text if brief else f"{text} {self.note}"

    def where(self, mask: np.ndarray, limit: int = 5, *, brief: bool = False) -> str:
        """:meth:`locate` for a boolean row mask."""
        idx = np.flatnonzero(np.asarray(mask, dtype=bool))
        return self.locate(idx[:limit], total=len(idx), limit=limit, brief=brief)

    _ROWS = re.compile(r"\bat rows? (\d+(?:, \d+)*)(?:, … \((\d+) in all\))?")

    def relocate(self, message: str) -> str:
        """Rewrite a library message's 0-based ``at rows 3, 5, … (9 in all)`` as file lines."""

        def sub(m: re.Match) -> str:
            positions = [int(x) for x in m.group(1).split(", ")]
            total = int(m.group(2)) if m.group(2) else len(positions)
            if positions and max(positions) >= len(self.frame):
                return m.group(0)
            return "at " + self.locate(positions, total=total, limit=len(positions))

        return self._ROWS.sub(sub, message)


def _parse_sep(sep: str | None) -> str | None:
    if sep is None:
        return None
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
    sep = named.get(sep.lower(), sep)
    if len(sep) != 1:
        raise InputError(f"--sep must be one character (or tab, comma, semicolon, pipe, space), got {sep!r}")
    return sep


def _resolve_encoding(path: Path, encoding: str | None, what: str) -> str:
    """The encoding to read ``path`` with; checks the whole file decodes and says where it does not."""
    if encoding is not None:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise InputError(f"--encoding {encoding!r} is not an encoding Python knows (try utf-8, cp1252, latin-1)") from None
    else:
        with open(path, "rb") as f:
            head = f.read(4)
        name = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    decoder = codecs.getincrementaldecoder(name)()
    offset, newlines = 0, 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                line = newlines + data[: exc.start].count(b"\n") + 1
                bad = data[exc.start : exc.end][:4].hex(" ")
                hint = ("pass the file's encoding, e.g. --encoding cp1252 or --encoding latin-1" if encoding is None
                        else "check --encoding")
                raise InputError(
                    f"{what}: {path.name} is not valid {encoding or 'UTF-8'} text (byte(s) {bad} at line {line}); {hint}"
                ) from None
            newlines += chunk.count(b"\n")
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputError(f"{what}: {path.name} ends in the middle of a character (truncated file?); check --encoding") from None
    return name


def sniff_delimiter(sample: str, default: str) -> str:
    """The delimiter that splits the first lines of ``sample`` into the most columns, consistently.

    A candidate must give every sampled line the same number of fields (more than one); among
    those, the most fields wins, then ``default``. No candidate: ``default``.
    """
    lines = sample.splitlines()
    if len(sample) >= _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # possibly cut in the middle
    lines = [ln for ln in lines[:50] if ln.strip()]
    best, best_key = default, (0, 0)
    for d in SNIFF_DELIMITERS:
        try:
            counts = {len(rec) for rec in csv.reader(lines, delimiter=d, skipinitialspace=True) if rec}
        except csv.Error:
            continue
        if len(counts) == 1 and (n := counts.pop()) > 1:
            key = (n, d == default)
            if key > best_key:
                best, best_key = d, key
    return best


def load_table(
    path: str | os.PathLike,
    what: str = "DATA",
    *,
    sep: str | None = None,
    encoding: str | None = None,
    na_values=(),
    text_columns=(),
    decimal: str = ".",
) -> Table:
    """Read CSV / TSV / Parquet (by suffix) into a :class:`Table`.

    CSV/TSV: the delimiter is ``sep`` or sniffed (:func:`sniff_delimiter`), the encoding
    ``encoding`` or UTF-8 (a BOM is skipped; UTF-16 is recognised by its BOM), missing tokens
    (:func:`missing_tokens` with ``na_values``) become NaN, spaces after a delimiter are skipped,
    and ``text_columns`` are read as text (no number parsing: ``007`` stays ``007``); ``decimal``
    is the decimal mark (``","`` for ``1,5``). Column names become strings; duplicate names are
    refused.
    """
    path = Path(path)
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{what}: unknown file type {path.suffix or '(none)'!r} for {path}; use .csv, .tsv or .parquet")
    if not path.exists():
        raise InputError(f"{what}: file not found: {path}")
    if path.is_dir():
        raise InputError(f"{what}: {path} is a folder; pass a .csv, .tsv or .parquet file")
    if kind == "parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise InputError(f"{what}: could not read {path} as Parquet ({type(exc).__name__}: {exc})") from None
        frame.columns = [str(c) for c in frame.columns]
        _check_columns(list(frame.columns), what, path)
        return Table(frame, path, kind, what=what)
    if path.stat().st_size == 0:
        raise InputError(f"{what}: {path} is empty (no header line)")
    enc = _resolve_encoding(path, encoding, what)
    with open(path, encoding=enc, newline="") as f:
        sample = f.read(_SNIFF_BYTES)
    if "\x00" in sample:
        raise InputError(f"{what}: {path} holds NUL bytes, so it is not a text table (a binary file named .{kind}?)")
    sep = _parse_sep(sep) or sniff_delimiter(sample, "\t" if kind == "tsv" else ",")
    try:
        header = next(csv.reader(io.StringIO(sample), delimiter=sep, skipinitialspace=True), [])
    except csv.Error as exc:
        raise InputError(f"{what}: could not read the header of {path}: {exc}") from None
    if not [h for h in header if h.strip()]:
        raise InputError(f"{what}: {path} has no header line (the first line must name the columns)")
    _check_columns(header, what, path)
    if len(decimal) != 1 or decimal == sep:
        raise InputError(f"--decimal must be one character other than the delimiter {sep!r}, got {decimal!r}")
    tokens = list(missing_tokens(na_values))
    try:
        frame = pd.read_csv(
            path, sep=sep, encoding=enc, na_values=tokens, keep_default_na=False, skipinitialspace=True,
            dtype={c: str for c in text_columns if c in header}, low_memory=False, decimal=decimal,
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"{what}: {path} is empty (no header line)") from None
    except (ValueError, pd.errors.ParserError, OSError, UnicodeError, csv.Error) as exc:
        raise InputError(f"{what}: could not read {path} as {kind.upper()} (delimiter {sep!r}): {exc}") from None
    frame.columns = [str(c) for c in frame.columns]
    return Table(frame, path, kind, sep=sep, encoding=enc, what=what)


def typed_ids(ids: np.ndarray, table: Table) -> np.ndarray:
    """Ids read as text from a CSV: integers when every id is written as one (no leading zeros),
    else the text as written (``007`` stays ``007``). Typed tables keep their ids as they are."""
    if table.typed or ids.dtype.kind in "iub":
        return ids
    text = [str(v).strip() for v in ids]
    if text and all(_CANONICAL_INT.match(t) for t in text):
        return np.asarray([int(t) for t in text], dtype=np.int64)
    return np.asarray(text, dtype=object)


_CANONICAL_INT = re.compile(r"^-?(0|[1-9][0-9]*)$")


def _check_columns(names: list[str], what: str, path: Path) -> None:
    seen, dup = set(), []
    for n in (str(c) for c in names):
        if n in seen and n not in dup:
            dup.append(n)
        seen.add(n)
    if dup:
        raise InputError(f"{what}: {path.name} has duplicate column name(s) {dup}; rename them so each column is unique")


def read_table(path: str | os.PathLike, what: str = "DATA", **options) -> pd.DataFrame:
    """:func:`load_table`'s DataFrame."""
    return load_table(path, what, **options).frame


def write_table(frame: pd.DataFrame, path: str | os.PathLike, what: str = "--out") -> Path:
    """Write CSV / TSV / Parquet by suffix, atomically."""
    path = Path(path)
    kind = table_kind(path, what)
    with atomic_path(path) as tmp:
        if kind == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, sep="\t" if kind == "tsv" else ",", index=False)
    return path


def table_kind(path: Path, what: str = "--out") -> str:
    """``csv``, ``tsv`` or ``parquet`` from the suffix; an unknown suffix is an :class:`InputError`."""
    kind = TABLE_SUFFIXES.get(Path(path).suffix.lower())
    if kind is None:
        raise InputError(f"{what} {path}: unknown file type {Path(path).suffix or '(none)'!r}; use .csv, .tsv or .parquet")
    return kind


def number_hint(s: pd.Series, tokens, where) -> str | None:
    """Why a column that is mostly numbers was not read as numbers, in words, or None.

    Decimal commas (``1,5``) and a few stray cells (``12a``) are the usual causes; ``where`` turns
    a row mask into words (:meth:`Table.where`)."""
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return None
    miss = cell_missing(s, tokens)
    cells = pd.Series(s.to_numpy(dtype=object)[~miss], dtype=object).astype(str).str.strip()
    if not len(cells):
        return None
    parsed = pd.to_numeric(cells, errors="coerce")
    comma = pd.to_numeric(cells.str.replace(",", ".", regex=False), errors="coerce")
    if parsed.notna().mean() < 0.9 and comma.notna().mean() >= 0.9:
        return "its values look like numbers with a decimal comma (e.g. " + repr(cells[comma.notna() & parsed.isna()].iloc[0]) + "): pass --decimal ,"
    if 0.9 <= parsed.notna().mean() < 1:
        bad = np.zeros(len(s), dtype=bool)
        bad[np.flatnonzero(~miss)[parsed.isna().to_numpy()]] = True
        examples = ", ".join(repr(v) for v in pd.unique(cells[parsed.isna()])[:3])
        return (f"all but {int(bad.sum())} of its values are numbers ({examples} at {where(bad)}): fix those cells, or "
                "pass their text with --na-values to read them as missing")
    return None


def cell_missing(s: pd.Series, tokens) -> np.ndarray:
    """True where a cell is NaN/None or (text columns) one of ``tokens`` after stripping spaces."""
    miss = s.isna().to_numpy()
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        stripped = pd.Series(s.to_numpy(dtype=object), dtype=object).map(lambda v: v.strip() if isinstance(v, str) else v)
        miss = miss | stripped.isin(list(tokens)).to_numpy()
    return miss


# ---------------------------------------------------------------------- splitting


@dataclass
class LabeledTable:
    """A user table split into features, target and row ids."""

    features: pd.DataFrame
    target: pd.Series
    ids: np.ndarray
    target_name: str
    id_name: str | None


def split_table(
    frame: pd.DataFrame | Table,
    target: str,
    id_column: str | None = None,
    drop: list[str] | None = None,
    text: list[str] | None = None,
) -> LabeledTable:
    """Separate target and id columns from the features; checks the names and the ids."""
    table = frame if isinstance(frame, Table) else None
    frame = frame.frame if isinstance(frame, Table) else frame
    cols = list(frame.columns)
    drop, text = list(drop or []), list(text or [])
    if target not in cols:
        raise InputError(f"--target {target!r} is not a column of DATA; columns are: {cols}")
    if id_column is not None and id_column not in cols:
        raise InputError(f"--id {id_column!r} is not a column of DATA; columns are: {cols}")
    for flag, names in (("--drop", drop), ("--text", text)):
        unknown = [c for c in names if c not in cols]
        if unknown:
            raise InputError(f"{flag} column(s) {unknown} not in DATA; columns are: {cols}")
        for c in names:
            if c in (target, id_column):
                role = "--target" if c == target else "--id"
                raise InputError(f"{flag} {c!r} is also the {role} column; a column has one role")
    both = sorted(set(drop) & set(text))
    if both:
        raise InputError(f"column(s) {both} are given to both --drop and --text; a column has one role")
    if id_column is not None and id_column == target:
        raise InputError(f"--id {id_column!r} is also the --target column; choose a different id column")
    if len(frame) == 0:
        raise InputError("DATA has a header but no rows")
    if id_column is not None:
        ids_s = frame[id_column]
        where = table.where if table is not None else _rows
        miss = ids_s.isna().to_numpy()
        if miss.any():
            raise InputError(f"--id column {id_column!r} is empty at {where(miss)}; every row needs an id")
        dup = ids_s.duplicated(keep=False).to_numpy()
        if dup.any():
            raise InputError(f"--id column {id_column!r} has duplicate values at {where(dup)}; ids must be unique")
        ids = ids_s.to_numpy()
    else:
        ids = np.arange(len(frame))
    features = frame.drop(columns=[c for c in [target, id_column, *drop] if c is not None])
    if features.shape[1] == 0:
        raise InputError("DATA has no feature columns besides the target, id and dropped columns; add feature columns")
    return LabeledTable(features=features, target=frame[target], ids=ids, target_name=target, id_name=id_column)


class _Rows:
    """Locator for a DataFrame without a file: 1-based row numbers (same interface as :class:`Table`)."""

    note = "(counting rows from 1)"

    def where(self, mask: np.ndarray, limit: int = 5, *, brief: bool = False) -> str:
        idx = np.flatnonzero(mask)
        text = f"row{'s' if len(idx) > 1 else ''} " + ", ".join(str(i + 1) for i in idx[:limit])
        text += f", … ({len(idx)} in all)" if len(idx) > limit else ""
        return text if brief else f"{text} {self.note}"


_rows = _Rows().where


# ---------------------------------------------------------------------- labels

_PLAIN_INT = re.compile(r"^-?(0|[1-9][0-9]*)(\.0+)?$")
_PLAIN_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")
_ANY_NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_BOOLS = {"true": True, "false": False}


@dataclass
class LabelCodec:
    """How a run's classes are written back in the user's terms.

    ``classes`` are the labels as the learner sees them (normalised: ``3.0`` → ``3``), ``values``
    the user's value of each, ``dtype`` the (nullable) pandas dtype of a label column in outputs.
    """

    target: str
    kind: str  # "int", "float", "bool", "str", "category"
    dtype: object
    classes: list
    values: list

    def user_values(self, classes) -> list:
        """The user's value of each of ``classes`` (e.g. a fitted model's ``classes_``)."""
        lookup = dict(zip(self.classes, self.values, strict=True))
        try:
            return [lookup[c.item() if hasattr(c, "item") else c] for c in classes]
        except KeyError as exc:
            raise RuntimeError(f"class {exc.args[0]!r} of the model is not a label of {self.target!r}") from None

    def column(self, index: np.ndarray, classes) -> pd.Series:
        """Label column in the user's dtype: ``index`` into ``classes``; negative = missing."""
        index = np.asarray(index, dtype=np.int64)
        values = self.user_values(classes)
        objs = [values[i] if i >= 0 else None for i in index]
        if isinstance(self.dtype, pd.CategoricalDtype):
            return pd.Series(pd.Categorical(objs, dtype=self.dtype))
        return pd.Series(pd.array(objs, dtype=self.dtype))

    def describe(self) -> dict:
        """JSON-ready: column, kind, dtype, classes (user values)."""
        return {"column": self.target, "kind": self.kind, "dtype": str(self.dtype),
                "classes": [json_value(v) for v in self.values]}


@dataclass
class Target:
    """The target column, encoded: ``y`` holds each row's label as the learner takes it (``None``
    where unlabeled), ``labeled`` marks the labeled rows, ``codec`` writes labels back."""

    y: np.ndarray
    labeled: np.ndarray
    codec: LabelCodec

    @property
    def classes(self) -> list:
        return self.codec.classes


def json_value(v):
    """A label or id as a JSON value: Python int/float/bool/str (numpy scalars unwrapped)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool | int | str) or v is None:
        return v
    if isinstance(v, float):
        return v if np.isfinite(v) else None
    return str(v)


def _nullable(dtype) -> object:
    """The dtype a label column gets in outputs (missing = rejected rows): nullable where needed."""
    if isinstance(dtype, pd.CategoricalDtype | pd.StringDtype) or pd.api.types.is_object_dtype(dtype):
        return dtype
    if pd.api.types.is_bool_dtype(dtype):
        return pd.BooleanDtype()
    if pd.api.types.is_integer_dtype(dtype):
        return pd.api.types.pandas_dtype(np.dtype(dtype).name.capitalize().replace("Uint", "UInt")) if isinstance(dtype, np.dtype) else dtype
    if pd.api.types.is_float_dtype(dtype):
        return dtype
    return object


def _mask(n: int, positions) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[np.asarray(positions, dtype=np.int64)] = True
    return mask


def encode_target(
    y: pd.Series,
    *,
    table: Table | None = None,
    tokens=MISSING_TOKENS,
    min_per_class: int = 2,
    allow_all_labeled: bool = False,
) -> Target:
    """The target column as labels (see the module docstring for the policy) after the checks a
    fit needs: something labeled, something unlabeled (unless ``allow_all_labeled``), at least
    two classes, ``min_per_class`` labels per class. ``table`` (for line numbers and whether the
    cells were typed) defaults to a typed table."""
    name = str(y.name)
    n = len(y)
    typed = table is None or table.typed
    loc = table if table is not None else _Rows()
    miss = cell_missing(y, tokens)
    labeled = ~miss
    if not labeled.any():
        raise InputError(
            f"nothing is labeled: target column {name!r} is empty in every row; label at least {min_per_class} rows per class"
        )
    rows = np.flatnonzero(labeled)
    values = y.to_numpy(dtype=object)

    def at(positions) -> str:  # positions index into rows
        return loc.where(_mask(n, rows[np.asarray(positions, dtype=np.int64)]), brief=True)

    if isinstance(y.dtype, pd.CategoricalDtype):
        kind, out_dtype = "category", y.dtype
        cats = list(y.dtype.categories)
        cat_norm = _normalise_typed(cats, name, lambda _: "its categories", "")
        lookup = dict(zip(cats, cat_norm, strict=True))
        lab = [lookup[v] for v in values[rows]]
    elif typed:
        kind, out_dtype = _typed_kind(y, labeled, name)
        lab = _normalise_typed(list(values[rows]), name, at, loc.note)
    else:
        kind, out_dtype, lab = _text_labels([str(v).strip() for v in values[rows]], y.dtype, name, at, loc.note)
    norm = np.full(n, None, dtype=object)
    norm[rows] = lab
    if labeled.all() and not allow_all_labeled:
        counts = pd.Series([_user_value(v, v, kind) for v in lab], dtype=object).value_counts()
        shown = ", ".join(f"{v!r} ({k})" for v, k in counts.head(5).items()) + (", …" if len(counts) > 5 else "")
        hint = " (-1 is a class here, not a marker of unlabeled rows)" if kind in ("int", "float") and -1 in lab else ""
        raise InputError(
            f"everything is labeled: target column {name!r} has a value in every row ({shown}){hint}, so there is "
            "nothing to pseudo-label; leave the target cell empty for unlabeled rows, or name the value that marks "
            "them with --na-values"
        )
    try:
        classes_arr, codes = encode_labels(norm, None, owner=f"target {name!r}")
    except ValueError as exc:
        raise InputError(str(exc)) from None
    classes = [c.item() if hasattr(c, "item") else c for c in classes_arr]
    counts = np.bincount(codes[codes >= 0], minlength=len(classes))
    if len(classes) < 2:
        raise InputError(
            f"only one class is labeled in target {name!r} ({_user_value(classes[0], values[rows[0]], kind)!r}, {int(counts[0])} "
            "rows): pseudo-labeling needs labeled rows of at least two classes"
        )
    few = [(c, int(k)) for c, k in zip(classes, counts, strict=True) if k < min_per_class]
    if few:
        listing = ", ".join(f"{c!r} ({k})" for c, k in few[:10]) + (f", … ({len(few)} classes)" if len(few) > 10 else "")
        raise InputError(
            f"class(es) with fewer than {min_per_class} labeled rows in {name!r}: {listing}; label more rows of those "
            "classes or remove their labels"
        )
    first: dict = {}
    for i in rows:  # the user's value of each class: the first labeled cell that normalises to it
        first.setdefault(norm[i], values[i])
    user = [_user_value(c, first[c], kind) for c in classes]
    codec = LabelCodec(target=name, kind=kind, dtype=_nullable(out_dtype), classes=classes, values=user)
    return Target(y=norm, labeled=labeled, codec=codec)


def _text_labels(text: list[str], dtype, name: str, at, note: str) -> tuple[str, object, list]:
    """CSV/TSV labels (stripped cell texts) → kind, output dtype and the labels (module docstring)."""
    distinct = set(text)
    if all(_PLAIN_INT.match(s) for s in distinct):
        return "int", pd.Int64Dtype(), [int(s.split(".")[0]) for s in text]
    if all(s.lower() in _BOOLS for s in distinct):
        return "bool", pd.BooleanDtype(), [_BOOLS[s.lower()] for s in text]
    if all(_PLAIN_NUMBER.match(s) for s in distinct):
        frac = [i for i, s in enumerate(text) if not _PLAIN_INT.match(s)]
        examples = sorted({text[i] for i in frac})[:3]
        raise InputError(
            f"target {name!r} holds numbers that are not whole ({', '.join(examples)} at {at(frac)} {note}): these look like "
            "continuous values, and pseudo-labeling needs class labels; write class names (or integers) instead"
        )
    _refuse_clashes(text, name, at, note)
    return "str", dtype if isinstance(dtype, pd.StringDtype) else object, text


def _refuse_clashes(text: list[str], name: str, at, note: str) -> None:
    """Refuse text labels that spell the same number differently (``'1'``, ``'01'``, ``'1.0'``)."""
    first_pos: dict[str, list[int]] = {}
    for i, s in enumerate(text):
        first_pos.setdefault(s, []).append(i)
    by_number: dict[float, list[str]] = {}
    for s in first_pos:
        if _ANY_NUMBER.match(s):
            by_number.setdefault(float(s), []).append(s)
    groups = [sorted(g, key=lambda s: first_pos[s][0]) for g in by_number.values() if len(g) > 1]
    if groups:
        clash = "; ".join(" and ".join(f"{s!r} ({at(first_pos[s])})" for s in g) for g in groups[:3])
        more = f" ({len(groups)} numbers in all)" if len(groups) > 3 else ""
        raise InputError(
            f"target {name!r} spells the same number in different ways: {clash}{more} {note}. As text these would be "
            "different classes; write each class one way (e.g. all '1' or all '01')"
        )


def _user_value(label, cell, kind: str):
    """The user's value of a class: its normalised ``label``, as a float for float columns, the
    category itself for categoricals (``cell``: the first cell holding it)."""
    if kind == "float":
        return float(label)
    if kind == "category":
        return cell.item() if isinstance(cell, np.generic) else cell
    return label


def _typed_kind(y: pd.Series, labeled: np.ndarray, name: str) -> tuple[str, object]:
    """Kind and output dtype of a typed (Parquet / DataFrame) target column."""
    dtype = y.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool", dtype
    if pd.api.types.is_integer_dtype(dtype):
        return "int", dtype
    if pd.api.types.is_float_dtype(dtype):
        return "float", dtype
    if not (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)):
        raise InputError(f"target {name!r} has dtype {dtype}; labels must be integers, booleans or text")
    vals = y.to_numpy(dtype=object)[labeled]
    examples: dict = {}
    for v in vals:
        examples.setdefault(_value_kind(v), v)
    if len(examples) > 1:
        shown = ", ".join(f"{v!r} ({k})" for k, v in examples.items())
        raise InputError(f"target {name!r} mixes label types: {shown}; use one type for every label (all text or all integers)")
    kind = next(iter(examples), "str")
    if kind == "bool":
        return "bool", pd.BooleanDtype()
    if kind == "number":
        whole = all(isinstance(v, int | np.integer) for v in vals)
        return ("int", pd.Int64Dtype()) if whole else ("float", np.dtype(np.float64))
    if kind == "str":
        return "str", dtype
    raise InputError(f"target {name!r} holds {kind} values; labels must be integers, booleans or text")


def _value_kind(v) -> str:
    if isinstance(v, bool | np.bool_):
        return "bool"
    if isinstance(v, int | float | np.integer | np.floating):
        return "number"
    return "str" if isinstance(v, str) else type(v).__name__


def _normalise_typed(values: list, name: str, at, note: str) -> list:
    """Typed labels → what the learner takes: ints, whole floats → ints, bools, strings (as they are).

    inf and non-whole numbers are refused; strings that spell one number differently too."""
    out, inf, frac = [], [], []
    for i, v in enumerate(values):
        v = v.item() if isinstance(v, np.generic) else v
        if isinstance(v, float) and not isinstance(v, bool):
            if not np.isfinite(v):
                inf.append(i)
            elif v.is_integer():
                v = int(v)
            else:
                frac.append(i)
        out.append(v)
    if inf:
        raise InputError(f"target {name!r} has inf values at {at(inf)} {note}; use an empty cell for unlabeled rows")
    if frac:
        examples = sorted({values[i] for i in frac})[:3]
        raise InputError(
            f"target {name!r} holds numbers that are not whole ({', '.join(map(str, examples))} at {at(frac)} {note}): "
            "these look like continuous values, and pseudo-labeling needs class labels; write class names (or integers) instead"
        )
    if out and all(isinstance(v, str) for v in out):
        _refuse_clashes(out, name, at, note)
    return out
