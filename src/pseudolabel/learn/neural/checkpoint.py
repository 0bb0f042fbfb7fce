"""Checkpoints that resume a run exactly.

A checkpoint holds everything the next step depends on: network, EMA teacher and optimiser
weights, the step and epoch counters, every random generator (data order, views, the global
torch RNG behind dropout), the running state of refiners and selectors (``state_dict()``), the
SimMatch bank, the ShrinkMatch ratio, the history and the best model so far. Resuming from the
end of epoch ``e`` therefore replays epochs ``e+1, ...`` bit for bit. Files are written
atomically (temporary file, then rename), so a run killed while saving keeps the previous one.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch

FORMAT = 1


def fingerprint(X, y) -> str:
    """Content hash of the training data (shape + bytes, or the strings), to refuse resuming on
    different data."""
    h = hashlib.blake2b(digest_size=16)
    for part in (X, y):
        if isinstance(part, list | tuple) and part and isinstance(part[0], str):
            for s in part:
                h.update(s.encode("utf-8"))
                h.update(b"\x00")
            continue
        a = np.ascontiguousarray(np.asarray(part))
        h.update(str((a.shape, a.dtype.str)).encode())
        if a.dtype == object:
            h.update(repr(a.tolist()).encode())
        else:
            h.update(memoryview(a).cast("B"))
    return h.hexdigest()


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
