"""Class-balanced top-k with a growing k (GRIP; Menghini et al. 2023, "Enhancing CLIP with
CLIP: Exploring Pseudolabeling for Limited-Label Prompt Tuning").

Every round each class gets the ``k`` samples it is most confident about (one class per sample,
:func:`pseudolabel.select.topk.topk_per_class`), and ``k`` grows by ``⌊(N / n_steps) / K⌋``
per round, so the pseudo-label set grows from the easiest samples to the whole pool while no
majority class can swamp it. After the last step ``k = ⌈N/K⌉`` and every sample is labeled.
GRIP uses ``n_steps = 10`` (STEP_QUANTILE 10) and retrains the model from the new set each round.

Offline the step is the self-training round (context ``round``; ``n_steps=None`` spreads the
growth over ``max_rounds + 1`` rounds so the last round labels everything). Online pass
``round=`` yourself (e.g. the epoch) or let every ``update`` call advance one step.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseSelector
from pseudolabel.core.registry import register
from pseudolabel.core.selection import Selection
from pseudolabel.ops.assign import topk_per_class


def grip_k(step: int, n: int, n_classes: int, n_steps: int, k0: int = 0) -> int:
    """Per-class quota at 0-based ``step``: ``k0 + (step + 1)·⌊(N/n_steps)/K⌋``, all at the end."""
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    if step + 1 >= n_steps:
        return int(np.ceil(n / n_classes))
    return int(k0 + (step + 1) * ((n // n_steps) // n_classes))


@register("select", "grip")
class GRIP(BaseSelector):
    """Growing class-balanced top-k.

    n_steps : rounds until everything is labeled (GRIP: 10; ``None`` = ``max_rounds + 1`` from
        the context, else 10). k0 : extra samples per class from the start (GRIP's initial
        pseudo-shots; 0 here because human labels already seed every class).
    """

    _state = ("n_updates_",)

    def __init__(self, n_steps: int | None = None, k0: int = 0):
        self.n_steps = n_steps
        self.k0 = k0

    def reset(self) -> None:
        self.n_updates_ = 0

    def _update(self, p: np.ndarray, ctx: Context) -> None:
        self.n_updates_ += 1

    def _schedule(self, context: Context) -> tuple[int, int]:
        step = context.get("round")
        if step is None:
            step = max(self.n_updates_ - 1, 0)
        n_steps = self.n_steps
        if n_steps is None:
            total = context.get("max_rounds")
            n_steps = 10 if total is None else int(total) + 1
        return int(step), int(n_steps)

    def _select(self, p: np.ndarray, ctx: Context) -> Selection:
        step, n_steps = self._schedule(ctx)
        k = grip_k(step, len(p), p.shape[1], n_steps, self.k0)
        assigned = topk_per_class(p, k)
        self.k_ = k
        labels = np.where(assigned >= 0, assigned, p.argmax(axis=1))
        return Selection((assigned >= 0).astype(np.float64), labels, {"k_per_class": np.full(len(p), k)})
