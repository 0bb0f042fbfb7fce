"""`Selection`: what a selector decides, and the one conversion of a decision into a `PseudoLabels` record.

A selector maps probabilities ``(n, K)`` to a ``Selection``: a weight in [0, 1] per row (how much
the pseudo-label counts in the student's loss), the class each row is labeled with — usually the
arg-max, but a capacity-constrained or transport-based selector (``topk``, ``grip``,
``partial_ot_select``) may assign a row's second choice, and an open-set gate marks rows
``UNKNOWN`` — and per-row diagnostics (thresholds, gate posteriors) for the audit.

:func:`selection_to_record` is used by ``SelfTrainer`` every round and by the neural trainer per
step and at the end, so both produce the same record from the same decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from pseudolabel.core.record import REJECTED, UNKNOWN, PseudoLabels


@dataclass
class Selection:
    """A selector's decision on ``n`` rows.

    weights : (n,) float in [0, 1]; 0 = the pseudo-label is not used.
    labels : (n,) int class index per row (``UNKNOWN`` = −2 for a row judged out-of-distribution);
        meaningful where ``weights > 0`` (see :meth:`resolved_labels`).
    info : per-row diagnostics, ``name → (n,)`` arrays (copied into ``PseudoLabels.extras``).
    """

    weights: np.ndarray
    labels: np.ndarray
    info: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=np.float64).reshape(-1)
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        if self.weights.shape != self.labels.shape:
            raise ValueError(f"weights {self.weights.shape} and labels {self.labels.shape} must have one entry per row")
        if not np.isfinite(self.weights).all():
            raise ValueError("selection weights contain NaN or inf")
        self.weights = np.clip(self.weights, 0.0, 1.0)
        if (self.labels < UNKNOWN).any():
            raise ValueError(f"selection labels must be class indices, {UNKNOWN} (unknown) or {REJECTED}")

    @classmethod
    def from_weights(cls, weights, probs: np.ndarray, info: Mapping | None = None) -> Selection:
        """The common case: labels are the arg-max of ``probs``."""
        p = np.asarray(probs)
        labels = p.argmax(axis=1) if len(p) else np.zeros(0, dtype=np.int64)
        return cls(weights, labels, dict(info or {}))

    @classmethod
    def empty(cls) -> Selection:
        return cls(np.zeros(0), np.zeros(0, dtype=np.int64), {})

    def __len__(self) -> int:
        return len(self.weights)

    @property
    def accepted(self) -> np.ndarray:
        return (self.weights > 0) & (self.labels >= 0)

    def resolved_labels(self) -> np.ndarray:
        """Labels as a record stores them: the class where accepted, ``UNKNOWN`` kept, else ``REJECTED``."""
        return np.where(self.accepted, self.labels, np.where(self.labels == UNKNOWN, UNKNOWN, REJECTED))

    def resolved_weights(self) -> np.ndarray:
        """Weights with rows that carry no class (rejected / unknown) at exactly 0."""
        return np.where(self.accepted, self.weights, 0.0)

    def per_row_info(self, n: int | None = None) -> dict[str, np.ndarray]:
        """The diagnostics that are one value per row (others are dropped)."""
        n = len(self) if n is None else n
        return {k: np.asarray(v) for k, v in self.info.items() if np.ndim(v) == 1 and len(v) == n}


def selection_to_record(
    selection: Selection,
    probs: np.ndarray,
    classes,
    *,
    source: str | np.ndarray,
    round: int | np.ndarray = 0,
    index: np.ndarray | None = None,
    extras: Mapping[str, np.ndarray] | None = None,
) -> PseudoLabels:
    """Turn a selector's decision on ``probs`` into a ``PseudoLabels`` record.

    Confidence is the probability of the assigned class (the arg-max where nothing was assigned);
    rejected rows keep their probabilities, label ``REJECTED`` and weight 0.
    """
    p = np.asarray(probs, dtype=np.float64)
    n = len(p)
    if len(selection) != n:
        raise ValueError(f"selection has {len(selection)} rows but probs has {n}")
    label = selection.resolved_labels()
    rows = np.arange(n)
    conf = np.where(label >= 0, p[rows, np.maximum(label, 0)], p.max(axis=1)) if n else np.zeros(0)
    return PseudoLabels(
        probs=p,
        label=label,
        confidence=conf,
        weight=selection.resolved_weights(),
        source=np.full(n, source, dtype=object) if isinstance(source, str) else source,
        round=np.full(n, round, dtype=np.int32) if np.isscalar(round) else round,
        classes_=np.asarray(classes),
        index=index,
        extras={**selection.per_row_info(n), **dict(extras or {})},
    )
