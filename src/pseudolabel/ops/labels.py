"""Labels in, labels out: one rule for "unlabeled" and one encoding to class indices.

``y`` may hold integers, floats, booleans, strings, or objects (for example labels read from a
table). A row is unlabeled when its value is missing (``None``, NaN, ``pandas.NA``) or equals the
``unlabeled`` marker (default ``-1``, scikit-learn's convention). Labeled values become indices
into ``classes`` (sorted, as ``numpy.unique`` sorts them); unlabeled rows become ``-1``. Object
arrays whose labeled values are all numbers or all booleans are converted to a numeric dtype
first, so ``[0, 1, None]`` read from a CSV and ``np.array([0, 1, -1])`` give the same classes.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import column_or_1d

UNLABELED = -1
"""Encoded value of an unlabeled row (scikit-learn's ``SelfTrainingClassifier`` convention)."""


def _as_1d(y, owner: str) -> np.ndarray:
    if isinstance(y, pd.Series | pd.Index):
        plain = isinstance(y.dtype, np.dtype) and y.dtype.kind in "biuf" and not y.hasnans
        y = y.to_numpy() if plain else y.to_numpy(dtype=object, na_value=None)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)  # scikit-learn's DataConversionWarning for a column vector
    if y.ndim != 1:
        raise ValueError(f"{owner} must be 1-D (one label per row); got shape {y.shape}")
    return y


def unlabeled_mask(y, unlabeled=UNLABELED, *, owner: str = "y") -> np.ndarray:
    """Boolean mask of unlabeled rows: missing values, plus values equal to ``unlabeled``."""
    y = _as_1d(y, owner)
    if y.dtype.kind == "O":
        mask = np.array(pd.isna(pd.Series(y, dtype=object)), dtype=bool)
    elif y.dtype.kind in "fc":
        mask = np.isnan(y)
    else:
        mask = np.zeros(len(y), dtype=bool)
    if unlabeled is not None and not (isinstance(unlabeled, float) and np.isnan(unlabeled)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if y.dtype.kind == "O":
                same = np.array([not m and _same_label(v, unlabeled) for v, m in zip(y, mask, strict=True)], dtype=bool)
            else:
                same = np.asarray(y == unlabeled, dtype=bool)
        mask |= same
    return mask


def _same_label(value, marker) -> bool:
    """``value == marker`` without numpy's elementwise surprises, and 1 != "1" (types must agree)."""
    if value is None:
        return False
    numeric = isinstance(value, numbers.Number) and isinstance(marker, numbers.Number)
    return bool(value == marker) if numeric or type(value) is type(marker) else False


def infer_label_dtype(values: np.ndarray, owner: str = "y") -> np.ndarray:
    """Object array of labeled values → a typed array (int, float, bool or str); mixed kinds refused."""
    if values.dtype.kind != "O" or len(values) == 0:
        return values
    kinds = {"bool" if isinstance(v, bool | np.bool_) else "number" if isinstance(v, numbers.Number) else "str" if isinstance(v, str) else type(v).__name__ for v in values}
    if len(kinds) > 1:
        examples = {}
        for v in values:
            k = "bool" if isinstance(v, bool | np.bool_) else "number" if isinstance(v, numbers.Number) else "str" if isinstance(v, str) else type(v).__name__
            examples.setdefault(k, v)
        shown = ", ".join(f"{v!r} ({k})" for k, v in examples.items())
        raise ValueError(
            f"{owner} mixes label types: {shown}; use one type for every label (e.g. all strings or all integers)"
        )
    kind = kinds.pop()
    if kind == "bool":
        return values.astype(bool)
    if kind == "number":
        arr = np.asarray(values.tolist())
        if arr.dtype.kind == "f" and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        return arr
    if kind == "str":
        return values.astype(str)
    return values


def encode_labels(y, unlabeled=UNLABELED, *, owner: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """``(classes, y_encoded)``: sorted class values and per-row indices into them (``-1`` = unlabeled).

    Raises a ``ValueError`` that names ``owner`` when nothing is labeled, when the labels are
    continuous (a regression target) or multi-output, or when they mix types.
    """
    y = _as_1d(y, owner)
    unl = unlabeled_mask(y, unlabeled, owner=owner)
    known = infer_label_dtype(y[~unl], owner)
    if len(known) == 0:
        raise ValueError(
            f"nothing is labeled: every {owner} is missing or the unlabeled marker {unlabeled!r}; "
            "label at least two rows per class"
        )
    kind = type_of_target(known)
    if kind not in ("binary", "multiclass"):
        hint = " (these look like continuous values: pseudo-labeling needs class labels)" if kind == "continuous" else ""
        raise ValueError(f"Unknown label type: {kind!r}. {owner} must hold class labels (binary or multiclass){hint}")
    classes, enc = np.unique(known, return_inverse=True)
    y_enc = np.full(len(y), UNLABELED, dtype=np.int64)
    y_enc[~unl] = enc
    return classes, y_enc
