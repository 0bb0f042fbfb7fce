"""Inputs of the neural trainer: what kind of ``X`` it is, the tensor the backbone eats, the labels.

* kinds: ``"vector"`` (2-D numbers, or texts embedded once with ``text="frozen"``), ``"image"``
  (``(n, C, H, W)``, ``(n, H, W)`` or flattened rows with ``image_shape``) and ``"tokens"`` (texts
  with ``text="finetune"``);
* tensors: float32 copies (the user's array is never modified), vectors standardised with the
  training rows' mean and standard deviation, images in NCHW, texts as token ids;
* labels: the library's one rule for "unlabeled" (:func:`pseudolabel.ops.labels.encode_labels`),
  plus the strings ``"-1"`` of a text column; ``n_classes=`` takes labels already encoded
  (``SelfTrainer`` passes them) and only checks their range.
"""

from __future__ import annotations

import numpy as np
import torch

from pseudolabel.ops.labels import UNLABELED, encode_labels, unlabeled_mask

STD_FLOOR = 1e-8
"""Standard deviation below which a feature counts as constant and is only centred (not scaled)."""


def is_text(X) -> bool:
    """True for a sequence of strings (a list, tuple or 1-D string/object array)."""
    if isinstance(X, str):
        raise TypeError("X must be a sequence of texts, not one string")
    if isinstance(X, list | tuple):
        return len(X) > 0 and isinstance(X[0], str)
    a = np.asarray(X) if not hasattr(X, "dtype") else X
    return getattr(a, "ndim", 0) == 1 and a.dtype.kind in "OUS"


def _is_image(a, image_shape) -> bool:
    return a.ndim in (3, 4) or (a.ndim == 2 and image_shape is not None)


def input_kind(X, text: str, image_shape) -> str:
    """``"vector"``, ``"image"`` or ``"tokens"`` (see the module docstring)."""
    if is_text(X):
        if text not in ("frozen", "finetune"):
            raise ValueError(f"text must be 'frozen' or 'finetune', got {text!r}")
        return "tokens" if text == "finetune" else "vector"
    a = X if isinstance(X, torch.Tensor) else np.asarray(X)
    if _is_image(a, image_shape):
        return "image"
    if a.ndim != 2:
        raise ValueError(f"X must be 2-D (n, d), images (n, C, H, W) or texts; got shape {a.shape}")
    return "vector"


def to_tensor(est, X, fitting: bool) -> torch.Tensor:
    """Raw input → the tensor the backbone eats (standardised vectors, NCHW images, token ids).

    ``est`` is the :class:`~pseudolabel.learn.neural.trainer.ConsistencyClassifier`: its parameters
    say how to read ``X``; when ``fitting`` its input attributes (``n_features_in_``,
    ``input_mean_``, ``input_std_`` or ``input_shape_``) are set from ``X``, otherwise ``X`` is
    checked against them.
    """
    if is_text(X):
        texts = [str(t) for t in X]
        if est.text == "finetune":
            return est.text_backbone_.tokenize(texts)
        from pseudolabel.learn.neural.text import embed_frozen

        X = embed_frozen(texts, est.text_model, cache=est.cache)
    a = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
    if a.dtype.kind not in "fiub":
        raise ValueError(f"X must be numeric (or a sequence of texts), got dtype {a.dtype}")
    a = a.astype(np.float32, copy=True)  # a copy: the user's array is never modified
    if not np.isfinite(a).all():
        raise ValueError("X contains NaN or inf; impute missing values before fitting")
    if _is_image(a, est.image_shape):
        return torch.from_numpy(_image_array(est, a, fitting))
    if fitting:
        est.n_features_in_ = a.shape[1]
        if est.standardize:
            est.input_mean_ = a.mean(axis=0)
            est.input_std_ = np.where(a.std(axis=0) > STD_FLOOR, a.std(axis=0), 1.0).astype(np.float32)
    elif a.shape[1] != est.n_features_in_:
        raise ValueError(f"X has {a.shape[1]} features, the model was fitted on {est.n_features_in_}")
    if est.standardize:
        a = (a - est.input_mean_) / est.input_std_
    return torch.from_numpy(a)


def _image_array(est, a: np.ndarray, fitting: bool) -> np.ndarray:
    """Images as ``(n, C, H, W)``: flattened rows reshaped by ``image_shape``, a channel added to ``(n, H, W)``."""
    if a.ndim == 2:
        shape = tuple(est.image_shape)
        if int(np.prod(shape)) != a.shape[1]:
            raise ValueError(f"image_shape {shape} has {np.prod(shape)} values but X rows have {a.shape[1]}")
        a = a.reshape(len(a), *shape)
    if a.ndim == 3:
        a = a[:, None]
    if fitting:
        est.input_shape_ = tuple(a.shape[1:])
    elif tuple(a.shape[1:]) != est.input_shape_:
        raise ValueError(f"X has image shape {a.shape[1:]}, the model was fitted on {est.input_shape_}")
    return a


def _text_unlabeled(y: np.ndarray) -> np.ndarray:
    """The strings ``"-1"`` in a string or object column (a text file's way of writing -1)."""
    if y.dtype.kind not in "OUS":
        return np.zeros(len(y), dtype=bool)
    return np.array([isinstance(v, str | np.str_ | bytes) and str(v) == str(UNLABELED) for v in y], dtype=bool)


def encode_y(y, n_rows: int, n_classes: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, y_encoded)`` with ``-1`` for unlabeled rows.

    Without ``n_classes``: :func:`pseudolabel.ops.labels.encode_labels` (missing values and ``-1``
    are unlabeled; the string ``"-1"`` too). With ``n_classes``: ``y`` already holds class indices
    in ``[0, n_classes)`` (or -1) and the classes are ``0 .. n_classes - 1``, also the ones no
    labeled row shows.
    """
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_rows:
        raise ValueError(f"y must be 1-D with one entry per row of X ({n_rows}); got shape {y.shape}")
    text_unl = _text_unlabeled(y)
    if n_classes is None:
        if text_unl.any():
            y = y.astype(object)
            y[text_unl] = None
        return encode_labels(y)
    unl = unlabeled_mask(y) | text_unl
    known = y[~unl]
    if len(known) == 0:
        raise ValueError("nothing is labeled: every y is -1 (unlabeled); label at least one row per class")
    enc = known.astype(np.int64)
    if enc.min() < 0 or enc.max() >= n_classes:
        raise ValueError(f"encoded labels must lie in [0, {n_classes}), got {enc.min()}..{enc.max()}")
    y_enc = np.full(len(y), UNLABELED, dtype=np.int64)
    y_enc[~unl] = enc
    return np.arange(int(n_classes)), y_enc
