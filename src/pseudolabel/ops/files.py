"""Files that are whole or absent (write to a temporary sibling, then rename into place), and the
one cache folder of the package."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to ``path``; on success rename it onto ``path`` (atomic on POSIX).

    Readers never see a half-written file, and a failure leaves any previous file untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The package's cache folder: ``path``, else ``$PSEUDOLABEL_CACHE``, else ``~/.cache/pseudolabel``
    (embeddings, external labelers' answers, benchmark features live in sub-folders)."""
    return Path(path or os.environ.get("PSEUDOLABEL_CACHE") or Path.home() / ".cache" / "pseudolabel")


def stay_offline() -> None:
    """Never download a model: the text embedder must find its weights installed."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
