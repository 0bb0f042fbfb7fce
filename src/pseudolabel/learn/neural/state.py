"""`TrainState`: what the training loop carries from step to step besides the weights, and the
per-epoch running means it logs.

A checkpoint stores ``TrainState.state_dict()`` under ``"run"`` next to the network, EMA,
optimiser, random generators, refiner/selector and auxiliary-term states (``loop.TrainingRun``),
so a resumed fit continues exactly where the interrupted one stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np

SELECTION_EPSILON = 1e-12
"""Slack in the "within tolerance of the best" comparison, so that an epoch exactly at the
tolerance is kept despite floating-point rounding."""


@dataclass
class TrainState:
    """Counters, history and the model chosen so far.

    step, epoch : optimiser steps and epochs finished. elapsed : training seconds so far (also
    across a resume). history : one entry per epoch (``history_``). best : weights of the chosen
    epoch's EMA model (``None``: none chosen, the last EMA model is returned). best_acc : the best
    held-out accuracy so far. best_epoch : the chosen epoch. done : the budget is spent.
    """

    step: int = 0
    epoch: int = 0
    elapsed: float = 0.0
    history: list[dict] = field(default_factory=list)
    best: dict | None = None
    best_acc: float = -1.0
    best_epoch: int | None = None
    done: bool = False

    def consider(self, acc: float, tolerance: Callable[[float], float], weights: Callable[[], dict]) -> bool:
        """Model selection after an epoch: keep this epoch when its held-out accuracy ``acc`` is
        within ``tolerance(best)`` of the best so far (the latest such epoch wins: the same epoch
        an offline pass over the whole history would pick). ``weights()`` copies the model."""
        self.best_acc = max(self.best_acc, acc)
        if acc >= self.best_acc - tolerance(self.best_acc) - SELECTION_EPSILON:
            self.best = weights()
            self.best_epoch = self.epoch
            return True
        return False

    def state_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_state_dict(cls, state: dict) -> TrainState:
        """The state saved by :meth:`state_dict` (keys of older checkpoints that now live
        elsewhere, such as the ShrinkMatch ratio, are ignored here)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in state.items() if k in names})


class EpochStats:
    """Running means of the logged quantities over one epoch."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.n = 0
        self.mask_sum = 0.0
        self.mask_n = 0
        self.pl_correct = 0
        self.pl_n = 0

    def add(self, **values):
        self.n += 1
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v

    def add_mask(self, w: np.ndarray, correct: np.ndarray, n_known: int):
        self.mask_sum += float(w.sum())
        self.mask_n += len(w)
        self.pl_correct += int(correct.sum())
        self.pl_n += n_known

    def summary(self) -> dict:
        out = {k: v / max(self.n, 1) for k, v in self.sums.items()}
        out["mask_ratio"] = self.mask_sum / self.mask_n if self.mask_n else float("nan")
        out["heldout_pl_precision"] = self.pl_correct / self.pl_n if self.pl_n else float("nan")
        return out

    def current(self) -> dict:
        return {"loss": self.sums.get("loss", 0.0) / max(self.n, 1),
                "mask": self.mask_sum / self.mask_n if self.mask_n else float("nan")}


class Progress:
    """A rich progress bar with loss, mask ratio and held-out accuracy (``verbose >= 1``)."""

    def __init__(self, verbose: int, total: int | None):
        self.bar = None
        if not verbose:
            return
        from rich.progress import (
            BarColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self.bar = RichProgress(
            TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
            TextColumn("loss {task.fields[loss]:.3f}  mask {task.fields[mask]:.2f}  held-out acc {task.fields[acc]}"),
            TimeElapsedColumn(), TimeRemainingColumn(),
        )
        self.bar.start()
        self.task = self.bar.add_task("train", total=total, epoch=1, loss=float("nan"), mask=float("nan"), acc="-")

    def step(self, stats: EpochStats):
        if self.bar is not None:
            cur = stats.current()
            self.bar.update(self.task, advance=1, loss=cur["loss"], mask=cur["mask"])

    def epoch(self, entry: dict):
        if self.bar is not None:
            acc = entry["heldout_accuracy"]
            self.bar.update(self.task, epoch=entry["epoch"] + 1, acc="-" if acc != acc else f"{acc:.4f}")

    def close(self):
        if self.bar is not None:
            self.bar.stop()
