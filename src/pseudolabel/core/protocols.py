"""The three plug points of the pipeline: Teacher → Refiner(s) → Selector.

The same refiner and selector objects serve two loops:

* **offline** – self-training rounds over the whole unlabeled pool: ``update(probs, full_pool=True)``
  once per round, then ``__call__(probs)``; statistics are the pool's own (no EMA lag);
* **online** – a mini-batch training loop: ``update(batch_probs, idx=batch_idx)`` every step with
  the paper's EMA momentum, then ``__call__(batch_probs)`` for the batch's loss weights.

Neither knows which loop calls it. All state that survives between calls is listed in
``_state`` and round-trips through ``state_dict()`` / ``load_state_dict()``, so a training run can
be checkpointed and resumed exactly. Extra inputs a method needs (ensemble members, student
probabilities, features, the round) arrive in a :class:`~pseudolabel.core.context.Context`
(or as keyword arguments that build one); a method that needs a field raises a clear error
naming it when it is missing. A selector returns a :class:`~pseudolabel.core.selection.Selection`.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from sklearn.base import BaseEstimator

from pseudolabel.core.context import Context
from pseudolabel.core.selection import Selection
from pseudolabel.ops.simplex import check_probs, normalize_rows


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

    def update(self, probs: np.ndarray, context: Context | None = None, /, **kwargs) -> None: ...

    def __call__(self, probs: np.ndarray, context: Context | None = None, /, **kwargs) -> np.ndarray: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@runtime_checkable
class Selector(Protocol):
    """Decides which pseudo-labels count and how much: ``probs (n, K) -> Selection`` (weights in
    [0, 1], the class of each row, diagnostics); ``__call__`` returns just the weights."""

    def update(self, probs: np.ndarray, context: Context | None = None, /, **kwargs) -> None: ...

    def select(self, probs: np.ndarray, context: Context | None = None, /, **kwargs) -> Selection: ...

    def __call__(self, probs: np.ndarray, context: Context | None = None, /, **kwargs) -> np.ndarray: ...

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
    reads: ClassVar[tuple[str, ...] | None] = None
    """The :class:`Context` fields the component reads; ``None`` = it may read any, so a loop passes
    every field it has. A declared tuple lets ``SelfTrainer`` skip building costly ones (at 10^6
    rows the pool's ``features`` are a 512 MB copy per chain and round)."""

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


def _prepare(component: Stateful, probs, context, kwargs: dict) -> tuple[np.ndarray, Context]:
    """The validation every refiner and selector needs, done once: probabilities on the simplex,
    state created for this class count, the context as a :class:`Context`."""
    p = check_probs(probs, "probs")
    component._ensure_state(p.shape[1])
    ctx = Context.build(context, **kwargs)
    if ctx.idx is not None and len(np.asarray(ctx.idx)) != len(p):
        raise ValueError(f"{type(component).__name__}: idx has {len(np.asarray(ctx.idx))} entries but probs has {len(p)} rows")
    return p, ctx


class BaseRefiner(Stateful):
    """A refiner: ``probs (n, K) → probs (n, K)``, rows on the simplex.

    Subclasses implement ``_refine(p, ctx)`` and, when they keep running statistics,
    ``_update(p, ctx)``; ``fit(probs, y)`` receives held-out (or labeled) rows with their labels.
    The public ``update``/``__call__`` validate the input, create the state and build the
    :class:`Context` (a ``Context``, a dict or keyword arguments such as ``idx=``, ``full_pool=``)
    once for every refiner; ``__call__`` also renormalises the output onto the simplex.
    """

    def fit(self, probs: np.ndarray, y: np.ndarray) -> BaseRefiner:
        self._ensure_state(check_probs(probs).shape[1])
        return self

    def update(self, probs: np.ndarray, context: Context | dict | None = None, /, **kwargs) -> None:
        p, ctx = _prepare(self, probs, context, kwargs)
        self._update(p, ctx)

    def __call__(self, probs: np.ndarray, context: Context | dict | None = None, /, **kwargs) -> np.ndarray:
        p, ctx = _prepare(self, probs, context, kwargs)
        self.info_ = {}
        if len(p) == 0:
            return p
        out = np.asarray(self._refine(p, ctx), dtype=np.float64)
        if out.shape != p.shape or not np.isfinite(out).all():
            raise RuntimeError(f"{type(self).__name__} returned {out.shape} or non-finite values for probs {p.shape}")
        return normalize_rows(np.clip(out, 0.0, None))

    def _update(self, p: np.ndarray, ctx: Context) -> None:
        """Fold one call's rows into the running state (default: no state)."""

    def _refine(self, p: np.ndarray, ctx: Context) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class BaseSelector(Stateful):
    """A selector: ``probs (n, K) → Selection(weights, labels, info)``.

    Subclasses implement ``_select(p, ctx)`` (returning a :class:`Selection`, or just the weights
    when the labels are the arg-max) and, when they keep running statistics, ``_update(p, ctx)``.
    ``select`` is the contract; ``__call__`` returns only the weights (``w = selector(p)``), and
    ``info_`` keeps the last call's diagnostics for the audit.
    """

    def update(self, probs: np.ndarray, context: Context | dict | None = None, /, **kwargs) -> None:
        p, ctx = _prepare(self, probs, context, kwargs)
        self._update(p, ctx)

    def select(self, probs: np.ndarray, context: Context | dict | None = None, /, **kwargs) -> Selection:
        p, ctx = _prepare(self, probs, context, kwargs)
        self.info_ = {}  # a subclass's _select fills it (or returns a Selection with its own info)
        if len(p) == 0:
            return Selection.empty()
        out = self._select(p, ctx)
        sel = out if isinstance(out, Selection) else Selection.from_weights(out, p, getattr(self, "info_", None))
        if len(sel) != len(p):
            raise RuntimeError(f"{type(self).__name__} returned {len(sel)} weights for {len(p)} rows")
        if (sel.labels >= p.shape[1]).any():
            raise RuntimeError(f"{type(self).__name__} returned a label outside the {p.shape[1]} classes")
        self.info_ = sel.info
        return sel

    def __call__(self, probs: np.ndarray, context: Context | dict | None = None, /, **kwargs) -> np.ndarray:
        return self.select(probs, context, **kwargs).weights

    def _update(self, p: np.ndarray, ctx: Context) -> None:
        """Fold one call's rows into the running state (default: no state)."""

    def _select(self, p: np.ndarray, ctx: Context) -> Selection | np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


def ema(old, new, momentum: float):
    """Exponential moving average ``m·old + (1−m)·new`` (the papers' convention)."""
    return momentum * old + (1.0 - momentum) * new


ONLINE_MOMENTUM = 0.999
"""EMA momentum of running statistics fed mini-batches: USB's default for FreeMatch, SoftMatch,
distribution alignment and the threshold hooks (Wang et al. 2022, "USB: A Unified Semi-supervised
Learning Benchmark")."""


def resolve_momentum(momentum: float | None, full_pool: bool, default: float = ONLINE_MOMENTUM) -> float:
    """EMA momentum for one update.

    ``None`` means: the paper's online default when fed mini-batches, and 0 (the pool's exact
    statistic) when fed the whole pool once per self-training round; an explicit value always wins.
    """
    if momentum is None:
        return 0.0 if full_pool else default
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    return float(momentum)
