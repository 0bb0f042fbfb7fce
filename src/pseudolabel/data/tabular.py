"""``TabularEncoder``: a table of mixed column types → one float matrix, one pipeline per column type.

Why not "one-hot everything, then standardise everything": standardising a 0/1 column divides it
by its standard deviation, so a category seen in 1% of the rows becomes a value near 10 and
dominates a linear model's penalty-free directions (a user measured 2 points lost against a plain
logistic regression on German credit). Here numbers are imputed and standardised, 0/1 features
(one-hot, binary columns, missing indicators) are left as 0/1, and ``binary_mask_`` says which
output features are 0/1, so a downstream model can skip re-scaling them.

Column typing at ``fit`` (the first matching rule wins; ``numeric=``, ``categorical=``, ``text=``
name columns whose type you set yourself, which skips the rules):

1. bool dtype → ``binary``.
2. numeric dtype → ``binary`` if its non-missing values are 0/1 (or only 0, or only 1), else
   ``numeric``. Integer columns with few distinct values stay numeric: no guessing.
3. pandas ``category``, object and string columns: cells equal to one of ``missing_values``
   (after stripping spaces) are missing. If every other cell parses as a number, the column is
   numeric and rule 2 applies to the parsed numbers; otherwise it is ``categorical`` when it has
   at most ``max_categories`` distinct values, else fitting fails with a ``ValueError`` naming the
   column and the fix (``text=[column]`` to embed it, or drop it).

Per type:

- ``numeric``: median imputation, one 0/1 missing-indicator feature (``col=<missing>``) per column
  that had missing values at fit time, then standardisation (mean / population std of the fit
  rows; a constant column becomes 0).
- ``binary``: 0/1 as is; missing → the column's most frequent value plus an indicator (if it had
  missing values at fit time). Values other than 0/1 at transform time are an error.
- ``categorical``: one-hot, *not* scaled. Missing is a category of its own (``col=<missing>``,
  present when missing values were seen at fit time). Categories seen fewer than
  ``min_frequency`` times at fit, and categories not seen at fit, give an all-zero row of the
  column's block; after each ``transform``, ``unseen_counts_[col]`` is the number of rows whose
  category was not seen at fit (a missing value counts when no missing value was seen at fit).
- ``text``: sentence embeddings (``pseudolabel.data.embed.embed_texts``, the ``text`` extra;
  missing → ""), unscaled. ``embed=`` replaces the embedder with any callable
  ``list[str] -> (n, d) array`` (a module-level function if the encoder must be pickled).

Statistics come from every row given to ``fit``: labeled and unlabeled rows together. They use no
labels, which is legitimate in semi-supervised learning (the unlabeled rows are training inputs).

Output features follow the input columns in order; within a column: the value (or one-hot
categories in sorted order, ``<missing>`` last, or the embedding dimensions ``col[0]`` …), then
the missing indicator. Names: ``col`` (numeric, binary), ``col=<category>``, ``col=<missing>``,
``col[i]`` (text). The output is a float64, C-contiguous array.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

MISSING_VALUES = ("?", "NA", "N/A", "n/a", "na", "", "null", "None", "-")
KINDS = ("numeric", "binary", "categorical", "text")
_MISSING = "\x00<missing>"  # the missing category inside the one-hot encoder (no table holds a NUL)


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:limit])
    return shown + (f", … ({len(idx)} in all)" if len(idx) > limit else "")


def _names(arg, what: str) -> list:
    if arg is None:
        return []
    if isinstance(arg, str):
        return [arg]
    try:
        return list(arg)
    except TypeError:
        raise ValueError(f"{what}= must be a list of column names, got {arg!r}") from None


class TabularEncoder(TransformerMixin, BaseEstimator):
    """Encode a pandas DataFrame (or a 2-D NumPy array, columns ``x0, x1, …``) by column type.

    Parameters
    ----------
    numeric, categorical, text : list of column names, optional
        Columns whose type you set yourself; every other column is typed by the rules in the
        module docstring. A ``numeric`` column must parse as numbers; ``categorical`` has no
        ``max_categories`` limit; ``text`` columns are embedded.
    max_categories : int, default 50
        Most distinct values an automatically typed non-numeric column may have to be one-hot
        encoded; above it fitting fails unless the column is listed in ``text`` or ``categorical``.
    min_frequency : int, default 1
        Categories seen fewer times than this at fit time get no feature (an all-zero block row).
    missing_values : tuple of str
        Cells (of non-numeric columns, spaces stripped) that mean "missing", besides NaN/None.
    embed : callable, optional
        ``embed(list_of_texts) -> (n, d) array`` for text columns; default
        ``embed_texts(texts, text_model)`` (needs the ``text`` extra).
    text_model : str, default "all-MiniLM-L6-v2"
        Model for the default embedder.

    Attributes (after ``fit``)
    --------------------------
    columns_ : list
        The input columns, in order.
    column_kinds_ : dict
        column → "numeric", "binary", "categorical" or "text".
    categories_ : dict
        categorical column → the categories that get a feature (sorted; ``None`` = missing).
    feature_names_out_ : ndarray of str
    binary_mask_ : ndarray of bool
        True for output features that only take the values 0 and 1 (one-hot, binary, missing
        indicators); standardised numbers and embeddings are False.
    unseen_counts_ : dict
        After each ``transform``: categorical column → rows whose category was not seen at fit.
    """

    def __init__(
        self,
        *,
        numeric: Sequence | None = None,
        categorical: Sequence | None = None,
        text: Sequence | None = None,
        max_categories: int = 50,
        min_frequency: int = 1,
        missing_values: Sequence[str] = MISSING_VALUES,
        embed: Callable | None = None,
        text_model: str = "all-MiniLM-L6-v2",
    ):
        self.numeric = numeric
        self.categorical = categorical
        self.text = text
        self.max_categories = max_categories
        self.min_frequency = min_frequency
        self.missing_values = missing_values
        self.embed = embed
        self.text_model = text_model

    # ------------------------------------------------------------------ sklearn API
    def fit(self, X, y=None):
        """Type the columns and learn the per-type statistics from the rows of ``X`` (``y`` is ignored)."""
        frame = self._frame(X, fitting=True)
        self._fit(frame, embedded=None)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """``fit(X).transform(X)``, embedding each text column once instead of twice."""
        frame = self._frame(X, fitting=True)
        embedded = {c: self._embed_column(frame[c], c) for c in self._declared_text(frame)}
        self._fit(frame, embedded=embedded)
        return self._transform(frame, embedded)

    def transform(self, X):
        """The encoded float64 matrix; sets ``unseen_counts_``."""
        check_is_fitted(self, "feature_names_out_")
        return self._transform(self._frame(X, fitting=False), None)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "feature_names_out_")
        if input_features is not None and [str(c) for c in input_features] != [str(c) for c in self.columns_]:
            raise ValueError(
                f"input_features {list(input_features)} differ from the columns seen at fit {self.columns_}"
            )
        return self.feature_names_out_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags

    # ------------------------------------------------------------------ input handling
    def _frame(self, X, *, fitting: bool) -> pd.DataFrame:
        """``X`` as a DataFrame (never a copy we write into: every step below builds new arrays)."""
        if isinstance(X, pd.DataFrame):
            frame = X
        else:
            if sp.issparse(X):
                raise TypeError("sparse input is not supported; pass a pandas DataFrame or a dense 2-D array")
            arr = np.asarray(X)
            if arr.ndim != 2:
                raise ValueError(
                    f"X must be a DataFrame or a 2-D array, got an array of shape {arr.shape}; Reshape your "
                    "data with X.reshape(-1, 1) if it is one column"
                )
            if fitting or not hasattr(self, "columns_"):
                cols = [f"x{i}" for i in range(arr.shape[1])]
            elif arr.shape[1] == len(self.columns_):
                cols = list(self.columns_)  # an array at transform time: its columns are the fit columns, in order
            else:
                raise ValueError(
                    f"X has {arr.shape[1]} features, but TabularEncoder is expecting {len(self.columns_)} "
                    f"features as input ({self.columns_}); pass a table with those columns"
                )
            frame = pd.DataFrame(arr, columns=cols, copy=False)
        if frame.columns.duplicated().any():
            dup = list(frame.columns[frame.columns.duplicated()].unique())
            raise ValueError(f"X has duplicate column name(s) {dup}; rename them so each column is unique")
        if fitting:
            if frame.shape[1] == 0:
                raise ValueError(
                    f"X has no feature columns: 0 feature(s) (shape={frame.shape}) while a minimum of 1 is "
                    "required; pass a table with at least one feature column"
                )
            if len(frame) == 0:
                raise ValueError("X has no rows; fit the encoder on the training rows (labeled and unlabeled)")
        return frame

    def _missing(self, s: pd.Series) -> np.ndarray:
        """True where a cell is missing: NaN/None, or (non-numeric columns) one of ``missing_values``."""
        miss = s.isna().to_numpy()
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            tokens = [str(t).strip() for t in self.missing_values]
            # astype(str): a non-string cell (a number in an object column) never strips to a token
            miss = miss | s.astype(str).str.strip().isin(tokens).to_numpy()
        return miss

    def _as_float(self, s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """(values as float64 with NaN for missing, mask of non-missing cells that do not parse)."""
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            vals = s.to_numpy(dtype=np.float64, na_value=np.nan)
            return vals, np.zeros(len(s), dtype=bool)
        miss = self._missing(s)
        obj = s.to_numpy(dtype=object).copy()
        obj[miss] = np.nan
        parsed = pd.to_numeric(pd.Series(obj, dtype=object), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isnan(parsed) & ~miss
        return parsed, bad

    def _declared(self, frame: pd.DataFrame) -> dict:
        kinds: dict = {}
        for kind, arg in (("numeric", self.numeric), ("categorical", self.categorical), ("text", self.text)):
            for col in _names(arg, kind):
                if col not in frame.columns:
                    raise ValueError(f"{kind}=[{col!r}] is not a column of X; columns are: {list(frame.columns)}")
                if col in kinds and kinds[col] != kind:
                    raise ValueError(f"column {col!r} is listed in both {kinds[col]}= and {kind}=; list it in one")
                kinds[col] = kind
        return kinds

    def _declared_text(self, frame: pd.DataFrame) -> list:
        return [c for c, k in self._declared(frame).items() if k == "text"]

    # ------------------------------------------------------------------ typing
    def _kind(self, s: pd.Series, col) -> str:
        if pd.api.types.is_bool_dtype(s):
            return "binary"
        if pd.api.types.is_complex_dtype(s):
            raise ValueError(f"column {col!r} holds complex numbers; Complex data not supported: pass real numbers")
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_object_dtype(s)
                or pd.api.types.is_string_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype)):
            raise ValueError(
                f"column {col!r} has dtype {s.dtype}, which the encoder does not type; convert it to numbers "
                f"(e.g. days since a date) or strings, list it in categorical=[{col!r}], or drop it"
            )
        vals, bad = self._as_float(s)
        if not bad.any():
            finite = vals[~np.isnan(vals)]
            if len(finite) and np.isin(finite, (0.0, 1.0)).all():
                return "binary"
            return "numeric"
        n_distinct = pd.Series(s.to_numpy(dtype=object)[~self._missing(s)]).nunique()
        if n_distinct <= self.max_categories:
            return "categorical"
        raise ValueError(
            f"column {col!r} is non-numeric with {n_distinct} distinct values, more than max_categories="
            f"{self.max_categories} to one-hot encode; embed it as text with text=[{col!r}] (the text extra), "
            f"one-hot it anyway with categorical=[{col!r}] or a larger max_categories, or drop the column"
        )

    def _check_numbers(self, vals: np.ndarray, bad: np.ndarray, s: pd.Series, col, kind: str, when: str) -> None:
        if bad.any():
            examples = ", ".join(repr(v) for v in pd.unique(s.to_numpy(dtype=object)[bad])[:3])
            fix = (f"fix or blank those cells, add the token to missing_values, or fit with categorical=[{col!r}]"
                   if when == "transform" else f"fix or blank those cells, or do not list {col!r} in numeric=")
            raise ValueError(
                f"column {col!r} is {kind} ({'at fit' if when == 'transform' else 'as declared'}) but has "
                f"non-numeric value(s) {examples} at rows {_rows(bad)}; {fix}"
            )
        inf = np.isinf(vals)
        if inf.any():
            raise ValueError(f"column {col!r} has inf values at rows {_rows(inf)}; replace them with numbers or blanks")

    # ------------------------------------------------------------------ fit
    def _fit(self, frame: pd.DataFrame, embedded: dict | None) -> None:
        if int(self.min_frequency) < 1:
            raise ValueError(f"min_frequency must be >= 1, got {self.min_frequency}")
        declared = self._declared(frame)
        self.columns_ = list(frame.columns)
        self.n_features_in_ = len(self.columns_)
        if all(isinstance(c, str) for c in self.columns_):
            self.feature_names_in_ = np.asarray(self.columns_, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.column_kinds_ = {c: declared.get(c) or self._kind(frame[c], c) for c in self.columns_}
        by_kind = {k: [c for c in self.columns_ if self.column_kinds_[c] == k] for k in KINDS}
        self._by_kind = by_kind
        n = len(frame)

        # numeric: median imputation (+ indicators for columns with missing values), then scaling.
        # The indicators come from the imputer but bypass the scaler: they are 0/1 features.
        num = self._numeric_matrix(frame, by_kind["numeric"], "fit") if by_kind["numeric"] else np.empty((n, 0))
        empty = [c for c, col_all_nan in zip(by_kind["numeric"], np.isnan(num).all(axis=0), strict=True) if col_all_nan]
        if empty:
            raise ValueError(f"numeric column(s) {empty} have no values (every cell is missing); drop them")
        self.numeric_imputer_ = SimpleImputer(strategy="median", add_indicator=True).fit(num) if num.shape[1] else None
        n_num = num.shape[1]
        if self.numeric_imputer_ is not None:
            self.numeric_scaler_ = StandardScaler().fit(self.numeric_imputer_.transform(num)[:, :n_num])
            num_ind = [by_kind["numeric"][j] for j in self._indicator_features(self.numeric_imputer_)]
        else:
            self.numeric_scaler_, num_ind = None, []

        # binary: the most frequent value fills missing cells (+ indicators)
        bina = self._binary_matrix(frame, by_kind["binary"], "fit") if by_kind["binary"] else np.empty((n, 0))
        empty = [c for c, col_all_nan in zip(by_kind["binary"], np.isnan(bina).all(axis=0), strict=True) if col_all_nan]
        if empty:
            raise ValueError(f"column(s) {empty} have no values (every cell is missing); drop them")
        self.binary_imputer_ = SimpleImputer(strategy="most_frequent", add_indicator=True).fit(bina) if bina.shape[1] else None
        bin_ind = [by_kind["binary"][j] for j in self._indicator_features(self.binary_imputer_)] if bina.shape[1] else []

        # categorical: OneHotEncoder with the kept categories given explicitly and handle_unknown=
        # "ignore". Its own min_frequency would pool rare categories into an extra "infrequent"
        # feature; we want them (and unseen ones) to give an all-zero row, and we count unseen
        # categories ourselves (OneHotEncoder reports no counts).
        self.categories_, self._seen = {}, {}
        for col in by_kind["categorical"]:
            cats = self._category_strings(frame[col])
            counts = pd.Series(cats).value_counts()
            self._seen[col] = list(counts.index)
            kept = [c for c, k in counts.items() if k >= int(self.min_frequency)]
            self.categories_[col] = sorted(c for c in kept if c != _MISSING) + ([_MISSING] if _MISSING in kept else [])
        self._onehot_cols = [c for c in by_kind["categorical"] if self.categories_[c]]
        if self._onehot_cols:
            cat = np.column_stack([self._category_strings(frame[c]) for c in self._onehot_cols])
            self.onehot_ = OneHotEncoder(
                categories=[np.asarray(self.categories_[c], dtype=object) for c in self._onehot_cols],
                handle_unknown="ignore", sparse_output=False, dtype=np.float64,
            ).fit(cat)
        else:
            self.onehot_ = None

        # text: the embedding width (from the full embedding in fit_transform, else from one text)
        self.text_dims_ = {}
        for col in by_kind["text"]:
            if embedded is not None and col in embedded:
                self.text_dims_[col] = embedded[col].shape[1]
            else:
                texts = self._texts(frame[col])
                probe = next((t for t in texts if t), "")
                self.text_dims_[col] = self._embed_texts([probe], col).shape[1]

        # output layout: features in the order of the input columns (see the module docstring)
        pos = {c: i for i, c in enumerate(self.columns_)}
        feats = []  # (column position, order within the column, name, is 0/1) in block order
        feats += [(pos[c], 0, str(c), False) for c in by_kind["numeric"]]
        feats += [(pos[c], 1, f"{c}=<missing>", True) for c in num_ind]
        feats += [(pos[c], 0, str(c), True) for c in by_kind["binary"]]
        feats += [(pos[c], 1, f"{c}=<missing>", True) for c in bin_ind]
        for c in self._onehot_cols:
            feats += [(pos[c], i, f"{c}={'<missing>' if v == _MISSING else v}", True)
                      for i, v in enumerate(self.categories_[c])]
        for c in by_kind["text"]:
            feats += [(pos[c], i, f"{c}[{i}]", False) for i in range(self.text_dims_[c])]
        self._order = np.array(sorted(range(len(feats)), key=lambda i: feats[i][:2]), dtype=np.intp)
        self.feature_names_out_ = np.array([feats[i][2] for i in self._order], dtype=object)
        self.binary_mask_ = np.array([feats[i][3] for i in self._order], dtype=bool)
        self.categories_ = {c: [None if v == _MISSING else v for v in cats] for c, cats in self.categories_.items()}
        if len(self.feature_names_out_) == 0:
            raise ValueError(
                "no feature columns left to encode (every categorical column lost all its categories to "
                f"min_frequency={self.min_frequency}); lower min_frequency"
            )

    @staticmethod
    def _indicator_features(imputer: SimpleImputer) -> list[int]:
        ind = getattr(imputer, "indicator_", None)
        return [] if ind is None else [int(j) for j in ind.features_]

    # ------------------------------------------------------------------ per-type matrices
    def _numeric_matrix(self, frame: pd.DataFrame, cols: list, when: str) -> np.ndarray:
        out = np.empty((len(frame), len(cols)), dtype=np.float64)
        for j, col in enumerate(cols):
            vals, bad = self._as_float(frame[col])
            self._check_numbers(vals, bad, frame[col], col, "numeric", when)
            out[:, j] = vals
        return out

    def _binary_matrix(self, frame: pd.DataFrame, cols: list, when: str) -> np.ndarray:
        out = np.empty((len(frame), len(cols)), dtype=np.float64)
        for j, col in enumerate(cols):
            vals, bad = self._as_float(frame[col])
            self._check_numbers(vals, bad, frame[col], col, "binary (0/1)", when)
            other = ~np.isnan(vals) & ~np.isin(vals, (0.0, 1.0))
            if other.any():
                raise ValueError(
                    f"column {col!r} was binary (0/1) at fit but has other values "
                    f"{sorted(set(vals[other].tolist()))[:3]} at rows {_rows(other)}; fit the encoder "
                    f"with numeric=[{col!r}] if the column can take other values"
                )
            out[:, j] = vals
        return out

    def _category_strings(self, s: pd.Series) -> np.ndarray:
        """Category labels as strings; missing cells → the missing sentinel.

        Numbers are written the same whether the column arrived as int or float (3 and 3.0 → "3"),
        so a column that gains a NaN between fit and transform keeps its categories."""
        miss = self._missing(s)
        obj = s.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(obj[~miss], skipna=False) in ("string", "empty"):  # the common case
            out = obj.copy()
            out[miss] = _MISSING
            return out
        out = np.empty(len(s), dtype=object)
        for i, v in enumerate(obj):
            if miss[i]:
                out[i] = _MISSING
            elif isinstance(v, str):
                out[i] = v
            elif isinstance(v, bool | np.bool_):
                out[i] = str(bool(v))
            elif isinstance(v, int | float | np.integer | np.floating):
                f = float(v)
                out[i] = str(int(f)) if f.is_integer() else repr(f)
            else:
                out[i] = str(v)
        return out

    def _texts(self, s: pd.Series) -> list[str]:
        miss = self._missing(s)
        return ["" if m else str(v) for v, m in zip(s.to_numpy(dtype=object), miss, strict=True)]

    def _embed_texts(self, texts: list[str], col) -> np.ndarray:
        if self.embed is not None:
            E = self.embed(texts)
        else:
            # imported here: the text extra (torch) is optional
            from pseudolabel.data.embed import embed_texts

            E = embed_texts(texts, self.text_model)
        E = np.asarray(E, dtype=np.float64)
        if E.ndim != 2 or E.shape[0] != len(texts):
            raise ValueError(
                f"the embedder returned shape {E.shape} for {len(texts)} texts of column {col!r}; "
                "it must return one row per text"
            )
        return E

    def _embed_column(self, s: pd.Series, col) -> np.ndarray:
        return self._embed_texts(self._texts(s), col)

    # ------------------------------------------------------------------ transform
    def _transform(self, frame: pd.DataFrame, embedded: dict | None) -> np.ndarray:
        missing = [c for c in self.columns_ if c not in frame.columns]
        if missing:
            raise ValueError(
                f"X lacks column(s) {missing} that the encoder was fitted with; pass a table with the "
                f"columns {self.columns_} (extra columns are ignored)"
            )
        bk, n = self._by_kind, len(frame)
        blocks = []
        if self.numeric_imputer_ is not None:
            num = self._numeric_matrix(frame, bk["numeric"], "transform")
            imp = self.numeric_imputer_.transform(num)
            n_num = len(bk["numeric"])
            blocks += [self.numeric_scaler_.transform(imp[:, :n_num]), imp[:, n_num:]]
        if self.binary_imputer_ is not None:
            blocks.append(self.binary_imputer_.transform(self._binary_matrix(frame, bk["binary"], "transform")))
        self.unseen_counts_ = {}
        cat_strings = {}
        for col in bk["categorical"]:
            cat_strings[col] = self._category_strings(frame[col])
            self.unseen_counts_[col] = int((~pd.Series(cat_strings[col], dtype=object).isin(self._seen[col])).sum())
        if self.onehot_ is not None:
            cat = np.column_stack([cat_strings[c] for c in self._onehot_cols]) if n else np.empty((0, len(self._onehot_cols)), dtype=object)
            with warnings.catch_warnings():  # unknown categories are expected here and counted above
                warnings.simplefilter("ignore", UserWarning)
                blocks.append(self.onehot_.transform(cat))
        for col in bk["text"]:
            E = embedded[col] if embedded is not None and col in embedded else self._embed_column(frame[col], col)
            if E.shape[1] != self.text_dims_[col]:
                raise ValueError(
                    f"text column {col!r}: the embedder gave {E.shape[1]} dimensions, {self.text_dims_[col]} at fit; "
                    "use the same model for fit and transform"
                )
            blocks.append(E)
        out = np.hstack([np.asarray(b, dtype=np.float64).reshape(n, -1) for b in blocks])
        return np.ascontiguousarray(out[:, self._order], dtype=np.float64)
