"""The run folder ``pseudolabel fit`` writes, all or nothing, and the checks before anything is read.

A run is built in a temporary sibling folder (``.NAME.tmp-<pid>-<hex>``) and renamed onto
``--out`` only when every file is written, ``run.json`` last (:func:`pseudolabel.ops.files.atomic_dir`).
``run.json`` (the manifest) records the status, the versions, the configuration, a fingerprint
of the input table and the sha256 of every file; :func:`verify_run` refuses a folder without a
complete manifest or whose files differ from it, so ``predict`` never uses a broken run.

Output paths are checked before any work: never one of the command's inputs (nor a folder that
holds one), never an existing file without ``--overwrite``, and creatable (a probe is written).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import platform
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pseudolabel import __version__
from pseudolabel.cli._common import fail, note, warn
from pseudolabel.ops.files import clean_stale, stale_siblings

MANIFEST = "run.json"
FORMAT = "pseudolabel-run"
FORMAT_VERSION = 1
ARTIFACTS = ("pseudo_labels.parquet", "model.joblib", "metrics.json", "report.html")
"""The files of a run besides the manifest (a run may gain more; the manifest lists them all)."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def versions() -> dict:
    """Versions that decide whether a saved model loads and behaves the same."""
    import joblib
    import numpy
    import pandas
    import scipy
    import sklearn

    return {"pseudolabel": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": scipy.__version__, "pandas": pandas.__version__, "scikit-learn": sklearn.__version__,
            "joblib": joblib.__version__}


def file_fingerprint(path: Path) -> dict:
    """Where an input came from and what it held: path, size, modification time, sha256."""
    st = path.stat()
    return {"path": str(path.resolve()), "bytes": st.st_size,
            "modified": _dt.datetime.fromtimestamp(st.st_mtime, _dt.UTC).isoformat(timespec="seconds"),
            "sha256": sha256_file(path)}


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _inside(child: Path, folder: Path) -> bool:
    try:
        child.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _ensure_parent(path: Path, flag: str) -> list[Path]:
    """Create the missing parent folders of ``path``; returns the ones created (outermost first)."""
    missing = []
    p = path.parent
    while not p.exists():
        if os.path.lexists(p):
            fail(f"{flag} {path}: {p} is a broken symbolic link")
        missing.append(p)
        p = p.parent
    if not p.is_dir():
        fail(f"{flag} {path}: {p} is a file, not a folder")
    created: list[Path] = []
    for q in reversed(missing):
        try:
            q.mkdir()
        except OSError as exc:
            remove_created(created)
            fail(f"{flag} {path}: cannot create the folder {q} ({exc.strerror or exc})")
        created.append(q)
    return created


def remove_created(folders: list[Path]) -> None:
    """Remove folders we created (deepest first) if they are still empty."""
    for q in reversed(folders):
        with contextlib.suppress(OSError):
            q.rmdir()


def tidy_stale(path: Path, flag: str) -> None:
    """Remove what killed writers of ``path`` left beside it; name what live writers are doing."""
    try:
        removed, alive, restored = clean_stale(path)
    except OSError as exc:
        warn(f"could not tidy up temporaries beside {flag} {path}: {exc}")
        return
    if restored is not None:
        note(f"restored the previous run at {path} (an interrupted `fit --overwrite` had moved it to {restored.name})")
    if removed:
        note(f"removed {len(removed)} temporary file(s)/folder(s) left beside {path} by an interrupted run: "
             + ", ".join(s.path.name for s in removed[:3]))
    for s in alive:
        warn(f"{s.path} is being written by process {s.pid}, which still runs; two commands writing {path} at once "
             "end with the result of the last one")


@dataclass
class OutPlan:
    """A checked ``fit --out``: the folder, whether it replaces a previous run, parents we created."""

    out: Path
    replace: bool
    created: list[Path] = field(default_factory=list)


def is_run(folder: Path) -> bool:
    return (folder / MANIFEST).exists() or any((folder / a).exists() for a in ARTIFACTS)


def prepare_run_dir(out: Path, *, inputs: list[Path], overwrite: bool) -> OutPlan:
    """Check ``fit --out`` before any work (see the module docstring); tidy stale temporaries."""
    flag = "--out"
    out = Path(os.path.abspath(out))
    for inp in inputs:
        if _same(out, inp):
            fail(f"{flag} {out} is the input {inp}; a run folder never replaces an input, choose another --out")
        if _inside(inp, out):
            fail(f"{flag} {out} holds the input {inp}; writing the run there could destroy it, choose another --out")
    if out.exists() or os.path.lexists(out):
        if out.is_symlink():
            out = out.resolve()
        if not out.is_dir():
            fail(f"{flag} {out} exists and is not a folder; choose a folder path for the run")
    tidy_stale(out, flag)
    replace = False
    if out.is_dir():
        entries = sorted(p.name for p in out.iterdir())
        if entries:
            if not is_run(out):
                shown = ", ".join(entries[:5]) + (", …" if len(entries) > 5 else "")
                fail(f"{flag} {out} holds files that are not a pseudolabel run ({shown}); --overwrite only replaces a "
                     "previous run, so choose a new or empty folder")
            if not overwrite:
                fail(f"{flag} {out} already holds a run; choose a new folder or pass --overwrite to replace it "
                     "(the previous run stays whole until the new one is complete)")
            replace = True
    created = _ensure_parent(out, flag)
    if not os.access(out.parent, os.W_OK | os.X_OK):
        remove_created(created)
        fail(f"{flag} {out}: the folder {out.parent} is not writable")
    return OutPlan(out=out, replace=replace, created=created)


def prepare_out_file(out: Path, *, inputs: list[Path], folders: list[Path], overwrite: bool, flag: str = "--out") -> list[Path]:
    """Check an output *file* before any work: not an input, not inside an input folder (a run),
    not an existing file without ``overwrite``, its folder creatable and writable (a probe file
    is created and removed). Returns the parent folders created (to remove on failure)."""
    out = Path(os.path.abspath(out))
    for inp in inputs:
        if _same(out, inp):
            fail(f"{flag} {out} is the input {inp}; outputs never replace an input, choose another file")
    for folder in folders:
        if _inside(out, folder):
            fail(f"{flag} {out} is inside {folder}, an input of this command; choose a file outside it")
    if out.is_dir():
        fail(f"{flag} {out} is a folder; give a file name ending in .csv, .tsv or .parquet")
    if os.path.lexists(out) and not overwrite:
        fail(f"{flag} {out} already exists; choose another file or pass --overwrite to replace it")
    tidy_stale(out, flag)
    created = _ensure_parent(out, flag)
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.{os.getpid()}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        remove_created(created)
        fail(f"{flag} {out}: cannot write in {out.parent} ({exc.strerror or exc})")
    return created


def write_manifest(folder: Path, *, config: dict, data: dict, target: dict, extra: dict | None = None) -> dict:
    """Write ``run.json`` (last): hashes of every other file in ``folder``."""
    from pseudolabel.cli._common import dumps

    files = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.name != MANIFEST:
            files[p.name] = {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "status": "complete",
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": ["pseudolabel", *sys.argv[1:]] if Path(sys.argv[0]).name in ("pseudolabel", "__main__.py") else None,
        "versions": versions(),
        "config": config,
        "data": data,
        "target": target,
        "files": files,
        **(extra or {}),
    }
    text = dumps(manifest)
    with open(folder / MANIFEST, "w", encoding="utf-8") as f:
        f.write(text + "\n")
        f.flush()
        os.fsync(f.fileno())
    return manifest


def verify_run(run_dir: Path) -> dict:
    """The manifest of a complete, unmodified run; otherwise a clear refusal (exit 2)."""
    run_dir = Path(run_dir)
    refit = "re-run `pseudolabel fit` to make a complete run"
    if not run_dir.exists():
        olds = [s for s in stale_siblings(run_dir) if s.kind == "old"]
        hint = (f"; an interrupted `fit --overwrite` left the previous run at {olds[0].path} (the next `fit` with "
                "this --out restores it, or rename it back yourself)") if olds else ""
        fail(f"RUN_DIR {run_dir} not found{hint}")
    if not run_dir.is_dir():
        fail(f"RUN_DIR {run_dir} is not a folder: pass the --out folder of `pseudolabel fit`")
    path = run_dir / MANIFEST
    if not path.exists():
        present = [a for a in ARTIFACTS if (run_dir / a).exists()]
        what = (f"it holds {', '.join(present)} but no {MANIFEST}, so it is not a complete run (a fit that was "
                "interrupted, or one written by pseudolabel 0.1)") if present else f"it holds no {MANIFEST}"
        fail(f"RUN_DIR {run_dir} is not a pseudolabel run: {what}; {refit}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, json.JSONDecodeError) as exc:
        fail(f"{path} is damaged ({exc}); {refit}")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        fail(f"{path} is not a pseudolabel run manifest; {refit}")
    if manifest.get("format_version") != FORMAT_VERSION:
        fail(f"{path} has run format {manifest.get('format_version')!r}; this pseudolabel ({__version__}) reads "
             f"format {FORMAT_VERSION}; {refit} with this version")
    if manifest.get("status") != "complete":
        fail(f"RUN_DIR {run_dir} is not complete (status {manifest.get('status')!r}); {refit}")
    files = manifest.get("files")
    if not isinstance(files, dict) or "model.joblib" not in files:
        fail(f"{path} lists no model.joblib; {refit}")
    for name, meta in files.items():
        p = run_dir / name
        if Path(name).name != name or not isinstance(meta, dict):
            fail(f"{path} lists an invalid file entry {name!r}; {refit}")
        if not p.is_file():
            fail(f"RUN_DIR {run_dir} lacks {name}, which its manifest lists; the run is incomplete; {refit}")
        if p.stat().st_size != meta.get("bytes") or sha256_file(p) != meta.get("sha256"):
            fail(f"{name} in {run_dir} differs from the run's manifest (size or sha256): it was changed or damaged "
                 f"after the run was written; {refit}")
    return manifest


def load_bundle(run_dir: Path, manifest: dict) -> dict:
    """``model.joblib`` of a verified run (a dict: model, codec, columns, …)."""
    import joblib

    have, had = versions(), manifest.get("versions") or {}
    changed = [f"{k} {had[k]} → {have[k]}" for k in ("scikit-learn", "numpy", "pandas", "pseudolabel")
               if k in had and had[k] != have.get(k)]
    try:
        bundle = joblib.load(run_dir / "model.joblib")
    except Exception as exc:  # unpickling can raise anything
        why = f" (the run was written with {', '.join(changed)})" if changed else ""
        fail(f"model.joblib in {run_dir} could not be loaded ({type(exc).__name__}: {exc}){why}; re-run `pseudolabel fit`")
    if not isinstance(bundle, dict) or "model" not in bundle or "codec" not in bundle:
        fail(f"model.joblib in {run_dir} is not a model written by this version of `pseudolabel fit`; re-run it")
    if changed:
        warn(f"the run was written with {', '.join(changed)}; predictions may differ slightly")
    return bundle
