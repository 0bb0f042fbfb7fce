"""`Context`: what a refiner or selector may know about the rows it scores, besides their probabilities.

Both training loops build the same object, so a component cannot tell them apart:

* ``SelfTrainer`` (offline): the whole unlabeled pool once per round, ``full_pool=True``,
  ``features`` = the rows' input features, ``round``/``max_rounds`` = self-training rounds;
* ``ConsistencyClassifier`` (online): one mini-batch per step, ``idx`` = the rows' pool positions,
  ``features`` = the network's representation of the rows, ``round``/``max_rounds`` = epochs;
  at the end of training the same fields for the whole pool (``full_pool=True``).

Per-row fields (``features``, ``student_probs``, ``member_probs`` along axis 1, ``idx``) always
describe the same rows as the probabilities they come with. ``None`` means "not available" (for
example no student exists before the first round); a component that cannot work without a field
calls :meth:`Context.require`, which raises an error naming the field and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

FIELDS_HELP = {
    "idx": "pool positions of the rows (online: the batch's rows)",
    "full_pool": "True when the rows are the whole unlabeled pool (a self-training round)",
    "features": "(n, d) representation of the rows",
    "labeled_features": "(n_labeled, d) representation of the labeled rows",
    "labeled_y": "(n_labeled,) encoded labels of the labeled rows",
    "student_probs": "(n, K) the student's probabilities on the same rows (None before a student exists)",
    "member_probs": "(M, n, K) ensemble members' probabilities (teachers with members_proba_, multi-head)",
    "round": "current self-training round (offline) or epoch (online), from 0",
    "max_rounds": "number of rounds (offline) or epochs (online)",
}


@dataclass(frozen=True)
class Context:
    """Side information for one call of a refiner or selector (see the module docstring)."""

    idx: np.ndarray | None = None
    full_pool: bool = False
    features: np.ndarray | None = None
    labeled_features: np.ndarray | None = None
    labeled_y: np.ndarray | None = None
    student_probs: np.ndarray | None = None
    member_probs: np.ndarray | None = None
    round: int | None = None
    max_rounds: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, context: Context | dict | None = None, /, **kwargs) -> Context:
        """A ``Context`` from another one, a dict, keyword arguments, or a mix (keywords win).

        Keys that are not fields go to ``extra`` (a hand-written loop may pass its own)."""
        base = {} if context is None else (context.as_dict() if isinstance(context, Context) else dict(context))
        merged = {**base, **kwargs}
        known = {f.name for f in fields(cls)} - {"extra"}
        extra = {**base.get("extra", {}), **{k: v for k, v in merged.items() if k not in known and k != "extra"}}
        return cls(**{k: v for k, v in merged.items() if k in known}, extra=extra)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def get(self, name: str, default=None):
        """A field or an ``extra`` key; ``default`` when absent or None."""
        value = getattr(self, name, None) if name in FIELDS_HELP else self.extra.get(name)
        return default if value is None else value

    def require(self, name: str, owner: str):
        """The field ``name``, or a ``ValueError`` that says who needs it and where it comes from."""
        value = self.get(name)
        if value is None:
            what = FIELDS_HELP.get(name, "a context value")
            raise ValueError(
                f"{owner} needs the context field {name!r} ({what}); SelfTrainer and ConsistencyClassifier "
                f"pass it, a hand-written loop must pass {name}=... to update()/select()"
            )
        return value

    def replace(self, **changes) -> Context:
        return replace(self, **changes)

    def rows(self, sel) -> Context:
        """The context of a subset of the rows (per-row fields indexed, the rest kept)."""
        def take(a, axis=0):
            return None if a is None else np.take(np.asarray(a), np.arange(np.asarray(a).shape[axis])[sel], axis=axis)

        return replace(
            self,
            idx=take(self.idx),
            features=take(self.features),
            student_probs=take(self.student_probs),
            member_probs=take(self.member_probs, axis=1),
            full_pool=False,
        )
