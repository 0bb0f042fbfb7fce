"""Review queues: which row a person sees next, per strategy.

* any registered query strategy (``entropy_sampling``, ``badge``, ``typiclust`` …): rows with no
  human label, ranked by the strategy on the current run's model;
* ``likely_wrong``: accepted pseudo-labels most likely wrong (teacher–student disagreement / low
  self-confidence), for accept-or-correct;
* ``audit_sample``: the stratified random audit sample of accepted pseudo-labels (fixed order).

A queue's order is computed once per run and strategy (``QUEUE_BATCH`` rows) and then filtered
by the store on every request: rows labeled by anyone, or skipped by this user, drop out.
"""

from __future__ import annotations

import threading

import numpy as np

from pseudolabel.active.loop import choose
from pseudolabel.core.registry import available
from pseudolabel.review.audit import audit_queue
from pseudolabel.store.sqlite import LabelStore, row_key

QUEUE_BATCH = 200
DEFAULT_QUEUE = "entropy_sampling"
PSEUDO_QUEUES = ("likely_wrong", "audit_sample")


def queue_names() -> list[str]:
    return list(available("query"))


class Queues:
    """Cached queue orders for one run (thread-safe)."""

    def __init__(self, view, store: LabelStore, seed: int = 0):
        self.view, self.store, self.seed = view, store, seed
        self._orders: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def _human(self) -> set[str]:
        given = {self.view.ids[i] for i in np.flatnonzero(self.view.given_labels())}
        return given | set(self.store.labels())

    def _compute(self, name: str, exclude: set[str]) -> list[str]:
        view = self.view
        pos = view.position()
        if name == "audit_sample":
            return [r["row_id"] for r in audit_queue(self.store, view)]
        if name in PSEUDO_QUEUES:
            acc = view.accepted_pseudo()
            rows = np.array([pos[r] for r in acc.index if r in pos and r not in exclude], dtype=np.int64)
        else:
            rows = np.array([i for i, rid in enumerate(view.ids) if rid not in exclude], dtype=np.int64)
        if len(rows) == 0:
            return []
        labeled = np.array([pos[r] for r in exclude if r in pos], dtype=np.int64)
        kwargs = {}
        if name == "likely_wrong":
            class_index = {c: j for j, c in enumerate(view.classes)}
            acc = view.accepted_pseudo()
            given = np.array([class_index.get(row_key(acc.loc[view.ids[i], "label"]), 0) for i in rows])
            kwargs = {"given": given}
        n = min(QUEUE_BATCH, len(rows))
        picked, _ = _choose(name, view, rows, labeled, n, self.seed, **kwargs)
        return [view.ids[i] for i in picked]

    def next_rows(self, name: str, user: str, n: int = 1) -> list[str]:
        if name not in queue_names():
            raise KeyError(name)
        human = self._human()
        skipped = self.store.skipped(user)
        with self._lock:
            for attempt in range(2):
                order = self._orders.get(name)
                if order is None or attempt == 1:
                    order = self._orders[name] = self._compute(name, human)
                out = [r for r in order if r not in human and r not in skipped][:n]
                if out or attempt == 1:
                    return out
        return []

    def remaining(self, name: str) -> int | None:
        if name == "audit_sample":
            return len(audit_queue(self.store, self.view))
        return None


def _choose(name, view, rows, labeled, n, seed, **kwargs):
    if kwargs:
        from pseudolabel.core.registry import make

        q = make("query", name)
        probs = view.probs[rows]
        batch = q.query(probs, n, random_state=seed, student_probs=None, **kwargs)
        return rows[batch.indices], batch
    return choose(name, _FeatureView(view.bundle["model"]), view.X, rows, labeled, n, probs=view.probs[rows], random_state=seed)


class _FeatureView:
    """The run's model scoring rows in its feature representation (``view.X``), which is what the
    strategies perturb and embed; a model fitted on a DataFrame scores raw tables otherwise."""

    def __init__(self, model):
        self.model = model
        self.classes_ = model.classes_

    def predict_proba(self, X):
        score = getattr(self.model, "predict_proba_features", self.model.predict_proba)
        return score(X)
