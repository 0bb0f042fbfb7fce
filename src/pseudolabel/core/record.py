"""`PseudoLabels`: the one record every pipeline stage speaks.

A pseudo-label is more than a class: it carries the probabilities it came from, a calibrated
confidence, the weight the student was given, where it came from (``source``) and in which
self-training round it was last (re-)estimated. Human labels travel in the same record with
``source == "human"`` so that a full, auditable label table can be written out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pseudolabel.ops.files import atomic_path

REJECTED = -1
"""`label` value of a sample whose pseudo-label was not accepted (weight 0)."""
UNKNOWN = -2
"""`label` value of a sample judged to belong to none of the known classes (open-set)."""
HUMAN = "human"
"""`source` value of a label a person gave; such labels are never changed by the pipeline."""


@dataclass(eq=False)
class PseudoLabels:
    """Pseudo-labels for ``n`` samples over the classes ``classes_``.

    Attributes
    ----------
    probs : (n, K) float32 class probabilities the label was taken from (after refinement).
    label : (n,) int64 class *index* into ``classes_``; ``REJECTED`` (-1) when the sample was not
        accepted, ``UNKNOWN`` (-2) when it was judged out-of-distribution.
    confidence : (n,) float32, the probability of the assigned class (max of ``probs``).
    weight : (n,) float32 in [0, 1], the weight the sample gets in the student's loss.
    source : (n,) str, ``"human"`` or the name of the teacher that produced the label.
    round : (n,) int32, self-training round in which the label was last (re-)estimated.
    classes_ : (K,) the user's label values; ``classes_[label]`` is the label in user terms.
    index : (n,) int64 row position of each sample in the data the labels belong to.
    extras : per-sample diagnostics from the stages (thresholds, gate posteriors, vote shares).
    """

    probs: np.ndarray
    label: np.ndarray
    confidence: np.ndarray
    weight: np.ndarray
    source: np.ndarray
    round: np.ndarray
    classes_: np.ndarray
    index: np.ndarray | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.probs = np.asarray(self.probs, dtype=np.float32)
        if self.probs.ndim != 2:
            raise ValueError(f"probs must be 2-D (n_samples, n_classes), got shape {self.probs.shape}")
        n, k = self.probs.shape
        self.classes_ = np.asarray(self.classes_)
        if len(self.classes_) != k:
            raise ValueError(f"classes_ has {len(self.classes_)} entries but probs has {k} columns")
        self.label = _column(self.label, n, "label", np.int64)
        self.confidence = _column(self.confidence, n, "confidence", np.float32)
        self.weight = _column(self.weight, n, "weight", np.float32)
        self.round = _column(self.round, n, "round", np.int32)
        self.source = _column(self.source, n, "source", object)
        self.index = np.arange(n, dtype=np.int64) if self.index is None else _column(self.index, n, "index", np.int64)
        bad = (self.label >= k) | (self.label < UNKNOWN)
        if bad.any():
            raise ValueError(f"label must lie in [-2, {k - 1}]; found {self.label[bad][:5]}")
        if ((self.weight < 0) | (self.weight > 1) | ~np.isfinite(self.weight)).any():
            raise ValueError("weight must lie in [0, 1]")
        self.extras = {name: _column(v, n, f"extras[{name!r}]", None) for name, v in self.extras.items()}

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_probs(
        cls,
        probs: np.ndarray,
        weight: np.ndarray,
        classes: Sequence,
        *,
        source: str | np.ndarray = "teacher",
        round: int | np.ndarray = 0,
        index: np.ndarray | None = None,
        extras: Mapping[str, np.ndarray] | None = None,
    ) -> PseudoLabels:
        """Hard label = argmax of ``probs``; samples with weight 0 are marked ``REJECTED``."""
        probs = np.asarray(probs, dtype=np.float32)
        weight = np.asarray(weight, dtype=np.float32)
        label = probs.argmax(axis=1).astype(np.int64)
        label[weight <= 0] = REJECTED
        n = len(probs)
        return cls(
            probs=probs,
            label=label,
            confidence=probs.max(axis=1),
            weight=weight,
            source=np.full(n, source, dtype=object) if isinstance(source, str) else source,
            round=np.full(n, round, dtype=np.int32) if np.isscalar(round) else round,
            classes_=np.asarray(classes),
            index=index,
            extras=dict(extras or {}),
        )

    @classmethod
    def from_human(cls, y_encoded: np.ndarray, classes: Sequence, index: np.ndarray | None = None) -> PseudoLabels:
        """Record for human labels (class indices): one-hot probs, confidence 1, weight 1, round 0."""
        y_encoded = np.asarray(y_encoded, dtype=np.int64)
        k = len(classes)
        probs = np.zeros((len(y_encoded), k), dtype=np.float32)
        probs[np.arange(len(y_encoded)), y_encoded] = 1.0
        return cls(
            probs=probs,
            label=y_encoded,
            confidence=np.ones(len(y_encoded)),
            weight=np.ones(len(y_encoded)),
            source=np.full(len(y_encoded), HUMAN, dtype=object),
            round=np.zeros(len(y_encoded)),
            classes_=np.asarray(classes),
            index=index,
        )

    @classmethod
    def concat(cls, parts: Sequence[PseudoLabels]) -> PseudoLabels:
        """Stack records over the same classes (e.g. human rows + pseudo rows), sorted by ``index``."""
        if not parts:
            raise ValueError("concat needs at least one PseudoLabels record")
        classes = parts[0].classes_
        for p in parts[1:]:
            if len(p.classes_) != len(classes) or not np.array_equal(p.classes_, classes):
                raise ValueError("cannot concatenate PseudoLabels with different classes_")
        keys = set().union(*(p.extras.keys() for p in parts))
        extras = {}
        for key in sorted(keys):
            cols = [p.extras[key] if key in p.extras else np.full(len(p), np.nan) for p in parts]
            extras[key] = np.concatenate([np.asarray(c, dtype=object if _is_object(cols) else None) for c in cols])
        out = cls(
            probs=np.concatenate([p.probs for p in parts]),
            label=np.concatenate([p.label for p in parts]),
            confidence=np.concatenate([p.confidence for p in parts]),
            weight=np.concatenate([p.weight for p in parts]),
            source=np.concatenate([p.source for p in parts]),
            round=np.concatenate([p.round for p in parts]),
            classes_=classes,
            index=np.concatenate([p.index for p in parts]),
            extras=extras,
        )
        return out[np.argsort(out.index, kind="stable")]

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self.label)

    def __getitem__(self, rows) -> PseudoLabels:
        """Row subset by mask, slice or integer positions."""
        return PseudoLabels(
            probs=self.probs[rows],
            label=self.label[rows],
            confidence=self.confidence[rows],
            weight=self.weight[rows],
            source=self.source[rows],
            round=self.round[rows],
            classes_=self.classes_,
            index=self.index[rows],
            extras={k: v[rows] for k, v in self.extras.items()},
        )

    @property
    def accepted(self) -> np.ndarray:
        """Boolean mask of samples that carry a class label with positive weight."""
        return (self.label >= 0) & (self.weight > 0)

    @property
    def n_classes(self) -> int:
        return len(self.classes_)

    def labels(self, unknown: object = "unknown") -> np.ndarray:
        """Labels in the user's values (object array); ``None`` where rejected, ``unknown`` for open-set."""
        out = np.empty(len(self), dtype=object)
        ok = self.label >= 0
        out[ok] = self.classes_[self.label[ok]]
        out[self.label == REJECTED] = None
        out[self.label == UNKNOWN] = unknown
        return out

    def to_frame(self, ids: Sequence | None = None, *, probs: bool = False, extras: bool = True) -> pd.DataFrame:
        """One row per sample: id, label (user values), confidence, weight, source, round.

        ``ids`` maps ``index`` to the user's row identifiers (for example the ``--id`` column);
        ``probs=True`` adds one ``p_<class>`` column per class.
        """
        if ids is None:
            id_col = self.index
        else:
            ids = np.asarray(ids)
            if len(ids) <= int(self.index.max(initial=-1)):
                raise ValueError(f"ids has {len(ids)} entries but the record indexes row {self.index.max()}")
            id_col = ids[self.index]
        frame = pd.DataFrame(
            {
                "id": id_col,
                "label": self.labels(),
                "confidence": self.confidence,
                "weight": self.weight,
                "source": self.source.astype(str),
                "round": self.round,
            }
        )
        if extras:
            for key, col in self.extras.items():
                frame[key] = col
        if probs:
            for j, c in enumerate(self.classes_):
                frame[f"p_{c}"] = self.probs[:, j]
        return frame

    def to_parquet(self, path: str | os.PathLike, ids: Sequence | None = None, **kwargs) -> Path:
        """Write :meth:`to_frame` to Parquet atomically (temporary file, then rename)."""
        path = Path(path)
        frame = self.to_frame(ids, **kwargs)
        frame["label"] = frame["label"].astype("string") if _mixed(frame["label"]) else frame["label"]
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, index=False)
        return path

    def summary(self) -> dict[str, float]:
        """Counts and mean confidence/weight of accepted pseudo-labels (human rows excluded)."""
        pseudo = self.source != HUMAN
        acc = self.accepted & pseudo
        return {
            "n": int(pseudo.sum()),
            "accepted": int(acc.sum()),
            "coverage": float(acc.sum() / max(pseudo.sum(), 1)),
            "mean_confidence": float(self.confidence[acc].mean()) if acc.any() else float("nan"),
            "mean_weight": float(self.weight[pseudo].mean()) if pseudo.any() else float("nan"),
            "unknown": int((self.label == UNKNOWN).sum()),
        }

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"PseudoLabels(n={len(self)}, classes={len(self.classes_)}, accepted={s['accepted']}, "
            f"mean_confidence={s['mean_confidence']:.3f})"
        )


def _column(values, n: int, name: str, dtype) -> np.ndarray:
    arr = np.asarray(values) if dtype is None else np.asarray(values, dtype=dtype)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    return arr


def _is_object(cols) -> bool:
    return any(np.asarray(c).dtype == object for c in cols)


def _mixed(series: pd.Series) -> bool:
    """Parquet needs one type per column: user labels mixed with None/"unknown" become strings."""
    kinds = {type(v) for v in series if v is not None}
    return len(kinds) > 1
