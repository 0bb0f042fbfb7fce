"""The three plug points of the pipeline: Teacher → Refiner(s) → Selector.

The same refiner and selector objects serve two loops:

* **offline** – self-training rounds over the whole unlabeled pool: ``update(probs, full_pool=True)``
  once per round, then ``__call__(probs)``; statistics are the pool's own (no EMA lag);
* **online** – a mini-batch training loop: ``update(batch_probs, idx=batch_idx)`` every step with
  the paper's EMA momentum, then ``__call__(batch_probs)`` for the batch's loss weights.

Neither knows which loop calls it. All state that survives between calls is listed in
``_state`` and round-trips through ``state_dict()`` / ``load_state_dict()``, so a training run can
be checkpointed and resumed exactly. Extra per-sample inputs a method needs (ensemble members,
student probabilities, features, losses) arrive as keyword arguments (``**context``); a method
that needs one raises a clear error when it is missing.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from sklearn.base import BaseEstimator

from pseudolabel.core.ops import check_probs


@runtime_checkable
class Teacher(Protocol):
    """Where class probabilities for unlabeled samples come from.

    ``fit(X, y, sample_weight)`` takes encoded labels with ``-1`` for unlabeled rows (inductive
    teachers ignore those rows, transductive ones use them); ``transduce`` returns probabilities
    for every row of the ``X`` it is given (``TeacherMixin`` provides fit-then-predict).
    """

    def fit(self, X, y, sample_weight=None, *, n_classes: int | None = None): ...

    def predict_proba(self, X) -> np.ndarray: ...

    def transduce(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> np.ndarray: ...


@runtime_checkable
class Refiner(Protocol):
    """Fixes probabilities: ``probs (n, K) -> probs (n, K)``, rows on the simplex."""

    def fit(self, probs: np.ndarray, y: np.ndarray) -> Refiner: ...

    def update(self, probs: np.ndarray, **context) -> None: ...

    def __call__(self, probs: np.ndarray, **context) -> np.ndarray: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@runtime_checkable
class Selector(Protocol):
    """Decides how much each pseudo-label counts: ``probs (n, K) -> weights (n,)`` in [0, 1]."""

    def update(self, probs: np.ndarray, **context) -> None: ...

    def __call__(self, probs: np.ndarray, **context) -> np.ndarray: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class TeacherMixin:
    """Default ``transduce`` for inductive teachers: fit on the labeled rows, predict every row."""

    def transduce(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> np.ndarray:
        self.fit(X, y, sample_weight=sample_weight, n_classes=n_classes)
        return self.predict_proba(X)


class Stateful(BaseEstimator):
    """State handling shared by refiners and selectors.

    Subclasses list their running-state attribute names in ``_state`` and create them in
    ``reset()``; constructor arguments stay plain hyper-parameters (scikit-learn rules), so
    ``sklearn.base.clone`` gives a fresh object with empty state.
    """

    _state: ClassVar[tuple[str, ...]] = ()

    def reset(self) -> None:
        """Forget all running state (called lazily on first use)."""

    def _ensure_state(self, n_classes: int) -> None:
        """Create the state for ``n_classes`` on first use; refuse a different class count later."""
        seen = getattr(self, "n_classes_", None)
        if seen is None:
            self.n_classes_ = n_classes
            self.reset()
        elif seen != n_classes:
            raise ValueError(
                f"{type(self).__name__} was used with {seen} classes and now gets {n_classes}; "
                "call reset() or use a fresh object (sklearn.base.clone) for a new task"
            )

    def state_dict(self) -> dict[str, Any]:
        """Deep copy of the running state (NumPy arrays and scalars), enough to resume exactly."""
        if getattr(self, "n_classes_", None) is None:
            return {}
        state = {"n_classes_": self.n_classes_}
        for name in self._state:
            state[name] = copy.deepcopy(getattr(self, name))
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if not state:
            self.__dict__.pop("n_classes_", None)
            return
        missing = [k for k in ("n_classes_", *self._state) if k not in state]
        if missing:
            raise KeyError(f"state for {type(self).__name__} lacks {missing}")
        for name, value in state.items():
            setattr(self, name, copy.deepcopy(value))


class BaseRefiner(Stateful):
    """A refiner with nothing to fit and no running state; subclasses override what they need."""

    def fit(self, probs: np.ndarray, y: np.ndarray) -> BaseRefiner:
        return self

    def update(self, probs: np.ndarray, *, idx=None, full_pool: bool = False, **context) -> None:
        self._ensure_state(check_probs(probs, "probs").shape[1])

    def __call__(self, probs: np.ndarray, **context) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class BaseSelector(Stateful):
    """A selector; ``info_`` holds the per-sample reasons of the last call (for the audit)."""

    def update(self, probs: np.ndarray, *, idx=None, full_pool: bool = False, **context) -> None:
        self._ensure_state(check_probs(probs, "probs").shape[1])

    def __call__(self, probs: np.ndarray, **context) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


def ema(old, new, momentum: float):
    """Exponential moving average ``m·old + (1−m)·new`` (the papers' convention)."""
    return momentum * old + (1.0 - momentum) * new


def resolve_momentum(momentum: float | None, full_pool: bool, default: float = 0.999) -> float:
    """EMA momentum for one update.

    ``None`` means: the paper's online default when fed mini-batches, and 0 (the pool's exact
    statistic) when fed the whole pool once per self-training round; an explicit value always wins.
    """
    if momentum is None:
        return 0.0 if full_pool else default
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    return float(momentum)
