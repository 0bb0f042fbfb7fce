"""Checkpoints that resume a run exactly.

A checkpoint holds everything the next step depends on: network, EMA teacher and optimiser
weights, the step and epoch counters, every random generator (data order, views, the global
torch RNG behind dropout), the running state of refiners and selectors (``state_dict()``), the
SimMatch bank, the ShrinkMatch ratio, the history and the best model so far. Resuming from the
end of epoch ``e`` therefore replays epochs ``e+1, ...`` bit for bit. Files are written
atomically (temporary file, then rename), so a run killed while saving keeps the previous one.
What goes in is assembled by ``loop.TrainingRun.checkpoint``; the data's content hash
(``pseudolabel.ops.hashing.fingerprint``) refuses a resume on different data.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

FORMAT = 1


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    from pseudolabel.data.io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (our own files: full unpickling)."""
    state = torch.load(Path(path), map_location="cpu", weights_only=False)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a pseudolabel neural checkpoint (format {FORMAT})")
    return state
