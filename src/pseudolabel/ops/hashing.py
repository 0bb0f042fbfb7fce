"""Content hashes of arrays and texts: to reuse work done on the same rows (a kNN graph, a cached
embedding) and to refuse resuming a run on different data. One hasher for the whole package."""

from __future__ import annotations

import hashlib

import numpy as np


def fingerprint(*parts) -> str:
    """blake2b-128 hex digest over the shape, dtype and bytes of each part.

    A part may be a NumPy array (any dtype; object arrays are hashed through ``repr``), a torch
    tensor (via ``.numpy()``) or a sequence of strings (each UTF-8 encoded, NUL-terminated), so
    ``fingerprint(X)`` and ``fingerprint(X, y)`` are stable across processes and machines.
    """
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, list | tuple) and part and isinstance(part[0], str):
            h.update(b"texts")
            for s in part:
                h.update(s.encode("utf-8"))
                h.update(b"\x00")
            continue
        if hasattr(part, "detach") and hasattr(part, "numpy"):
            part = part.detach().cpu().numpy()
        a = np.ascontiguousarray(np.asarray(part))
        h.update(str((a.shape, a.dtype.str)).encode())
        if a.dtype == object:
            h.update(repr(a.tolist()).encode())
        else:
            h.update(memoryview(a).cast("B"))
    return h.hexdigest()
