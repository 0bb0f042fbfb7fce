"""Files and folders that are whole or absent (write to a temporary sibling, then rename into
place), and the one cache folder of the package.

Temporary names carry the writer's process id (``.NAME.tmp-<pid>-<hex>`` for a folder,
``.NAME.<pid>.<random>.tmp`` for a file), so a later writer can tell the leftovers of a killed
process (its pid no longer runs) from the work of a live one: :func:`stale_siblings` finds them,
:func:`clean_stale` removes the dead ones.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import math
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to ``path``; on success rename it onto ``path`` (atomic on POSIX).

    Readers never see a half-written file, and a failure leaves any previous file untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
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


# ---------------------------------------------------------------------- folders

TMP_TAG = "tmp"
"""Marks a folder being built (``.NAME.tmp-<pid>-<hex>``)."""
OLD_TAG = "old"
"""Marks the previous folder moved aside during a replace (``.NAME.old-<pid>-<hex>``)."""


def _sibling(path: Path, tag: str) -> Path:
    return path.parent / f".{path.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (``True`` when we may not signal it: it exists)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Stale:
    """A temporary sibling of a target path: a folder being built, a moved-aside previous folder,
    or a temporary file; ``alive`` when its writer still runs."""

    path: Path
    kind: str  # "tmp" (folder being built), "old" (previous folder moved aside), "file"
    pid: int
    alive: bool


def stale_siblings(path: str | os.PathLike) -> list[Stale]:
    """The temporary siblings of ``path`` left by :func:`atomic_dir` / :func:`atomic_path`."""
    path = Path(path)
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    folder = re.compile(rf"^\.{re.escape(path.name)}\.({TMP_TAG}|{OLD_TAG})-(\d+)-[0-9a-f]+$")
    file = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.[^/]*\.tmp$")
    out = []
    for name in sorted(names):
        if m := folder.match(name):
            pid = int(m.group(2))
            out.append(Stale(path.parent / name, m.group(1), pid, pid_alive(pid) and pid != os.getpid()))
        elif m := file.match(name):
            pid = int(m.group(1))
            out.append(Stale(path.parent / name, "file", pid, pid_alive(pid) and pid != os.getpid()))
    return out


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def clean_stale(path: str | os.PathLike) -> tuple[list[Stale], list[Stale], Path | None]:
    """Tidy up after writers of ``path`` that were killed.

    If ``path`` is absent and a dead writer left the previous folder moved aside (it was killed
    between the two renames of a replace without ``renameat2``), that folder is renamed back
    first. Then every temporary sibling of a dead writer is removed. Returns
    ``(removed, left_alone, restored)``: ``left_alone`` are the siblings of writers that still run.
    """
    path = Path(path)
    restored = None
    stale = stale_siblings(path)
    if not os.path.lexists(path):
        olds = [s for s in stale if s.kind == OLD_TAG and not s.alive]
        if olds:
            newest = max(olds, key=lambda s: s.path.stat().st_mtime)
            os.rename(newest.path, path)
            restored = newest.path
            stale = stale_siblings(path)
    removed, alive = [], []
    for s in stale:
        if s.alive:
            alive.append(s)
        else:
            _remove(s.path)
            removed.append(s)
    return removed, alive, restored


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def exchange(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False when the system cannot (no ``renameat2``, or a file system without exchange);
    raises ``OSError`` for other failures.
    """
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _fsync_path(p: Path) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if p.is_dir() else 0)
    try:
        fd = os.open(p, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            _fsync_path(Path(dirpath) / name)
        _fsync_path(Path(dirpath))


def replace_dir(tmp: Path, path: Path, *, replace: bool) -> None:
    """Move the finished folder ``tmp`` onto ``path``.

    ``path`` absent (or an empty folder): one rename. ``path`` a folder and ``replace``: swapped in
    one atomic step where the system allows (then the old content, now at ``tmp``, is deleted);
    elsewhere ``path`` is renamed aside, ``tmp`` renamed in, and the aside copy deleted, with the
    old folder renamed back if the second rename fails. At every instant ``path`` is the old
    folder, the new one, or (without the atomic swap, between two renames) absent with the old
    one beside it for :func:`clean_stale` to restore.
    """
    tmp, path = Path(tmp), Path(path)
    _fsync_tree(tmp)
    if os.path.lexists(path):
        if not path.is_dir() or path.is_symlink():
            raise FileExistsError(errno.EEXIST, "exists and is not a folder", str(path))
        if not any(path.iterdir()):
            os.rename(tmp, path)  # POSIX rename replaces an empty folder
        elif not replace:
            raise FileExistsError(errno.EEXIST, "folder exists and is not empty", str(path))
        elif exchange(tmp, path):
            _fsync_path(path.parent)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            aside = _sibling(path, OLD_TAG)
            os.rename(path, aside)
            try:
                os.rename(tmp, path)
            except BaseException:
                os.rename(aside, path)
                raise
            _fsync_path(path.parent)
            shutil.rmtree(aside, ignore_errors=True)
    else:
        os.rename(tmp, path)
    _fsync_path(path.parent)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, *, replace: bool = False):
    """Build a folder at a temporary sibling and move it onto ``path`` when the block succeeds.

    Yields the temporary folder (created on entry, so an unwritable location fails at once,
    before any work). On an exception (or ``KeyboardInterrupt``) the temporary folder is deleted
    and ``path`` is untouched; on success it replaces ``path`` as :func:`replace_dir` describes
    (``replace=False`` refuses a non-empty ``path``). The parent folder must exist.
    """
    path = Path(path)
    tmp = _sibling(path, TMP_TAG)
    os.mkdir(tmp)
    try:
        yield tmp
        replace_dir(tmp, path, replace=replace)
    finally:
        if os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def json_safe(obj):
    """``obj`` with only JSON values: numpy scalars/arrays unwrapped, NaN/inf → None, tuples → lists,
    keys → str, anything else → str."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | np.ndarray):
        return [json_safe(v) for v in (obj.tolist() if isinstance(obj, np.ndarray) else obj)]
    if isinstance(obj, bool | int | float | str):
        return json_safe(obj)
    return str(obj)


def dumps(obj, *, indent: int | None = 2) -> str:
    """Strict JSON (RFC 8259: no NaN/Infinity; undefined numbers are null)."""
    return json.dumps(json_safe(obj), indent=indent, allow_nan=False, ensure_ascii=False)


def write_json(obj, path: str | os.PathLike, *, indent: int | None = 1) -> Path:
    """Strict JSON written atomically (a reader never sees half a file)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(dumps(obj, indent=indent) + "\n", encoding="utf-8")
    return path
