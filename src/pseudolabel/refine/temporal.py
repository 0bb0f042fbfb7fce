"""Temporal ensembling of soft pseudo-labels across rounds (SPARSE; Laine & Aila 2017,
"Temporal Ensembling for Semi-Supervised Learning").

Each sample keeps an exponential moving average of the probabilities it was given,
``p̃_i ← m·p̃_i + (1 − m)·p_i``, so one noisy round (or one noisy mini-batch view) cannot flip
its label on its own. The state is keyed by the sample's pool index (``idx``), so the same object
serves self-training rounds (``idx = arange(n)`` every round) and a mini-batch loop (each batch
updates only its own rows). A sample seen for the first time starts at its current
probabilities, which removes Laine & Aila's start-up bias without their ``1/(1 − m^t)``
correction.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseRefiner
from pseudolabel.core.registry import register
from pseudolabel.ops.simplex import normalize_rows


@register("refine", "temporal")
class TemporalEnsemble(BaseRefiner):
    """Per-sample EMA of soft labels across rounds or steps.

    momentum : weight of the history, ``m`` in ``m·p̃ + (1 − m)·p`` (0.6, Laine & Aila's α; 0
        disables smoothing). Unlike pool statistics, this EMA *is* the method, so it is used as
        given offline too.

    ``update(probs, idx=...)`` folds the rows into the bank (``full_pool=True`` without ``idx``
    means ``idx = arange(n)``); ``__call__(probs)`` returns the bank rows of the last update's
    indices (or of ``idx=`` when given).
    """

    _state = ("bank_", "seen_", "last_idx_")

    def __init__(self, momentum: float = 0.6):
        self.momentum = momentum

    def reset(self) -> None:
        self.bank_ = np.zeros((0, self.n_classes_))
        self.seen_ = np.zeros(0, dtype=bool)
        self.last_idx_ = None

    def _grow(self, size: int) -> None:
        if size > len(self.seen_):
            extra = size - len(self.seen_)
            self.bank_ = np.vstack([self.bank_, np.zeros((extra, self.n_classes_))])
            self.seen_ = np.concatenate([self.seen_, np.zeros(extra, dtype=bool)])

    @staticmethod
    def _indices(idx, n: int, where: str) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64).ravel()
        if len(idx) != n or (n and idx.min() < 0):
            raise ValueError(f"{where}: idx must hold one non-negative pool index per row of probs ({n} rows)")
        return idx

    def _update(self, p: np.ndarray, ctx: Context) -> None:
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must lie in [0, 1), got {self.momentum}")
        idx = ctx.idx
        if idx is None:
            if not ctx.full_pool:
                raise ValueError("TemporalEnsemble.update needs idx= (pool index of every row) on mini-batches")
            idx = np.arange(len(p))
        idx = self._indices(idx, len(p), "TemporalEnsemble.update")
        if len(idx) == 0:
            self.last_idx_ = idx
            return
        self._grow(int(idx.max()) + 1)
        old, seen = self.bank_[idx], self.seen_[idx][:, None]
        self.bank_[idx] = np.where(seen, self.momentum * old + (1.0 - self.momentum) * p, p)
        self.seen_[idx] = True
        self.last_idx_ = idx

    def _refine(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        idx = ctx.idx
        if idx is None:
            idx = self.last_idx_
            if idx is None or len(idx) != len(p):
                return p  # nothing folded in for these rows yet: no history to blend
        idx = self._indices(idx, len(p), "TemporalEnsemble.__call__")
        known = np.zeros(len(p), dtype=bool)
        inside = idx < len(self.seen_)
        known[inside] = self.seen_[idx[inside]]
        out = p.copy()
        out[known] = normalize_rows(self.bank_[idx[known]])
        return out
