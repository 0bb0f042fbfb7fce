"""A fitted run, loaded once: the only place that knows how ``pseudolabel fit`` stores its model.

``pseudolabel fit --out RUN`` writes ``RUN/model.joblib``, a dict with ``model`` (the fitted
``SelfTrainer``), ``encoder`` (the ``TableEncoder`` of the training columns), ``target``,
``id_column``, ``classes`` and ``version`` (the package version). :func:`load_run` reads it the way
``pseudolabel predict`` does; when the run directory gains a manifest (``run.json``), this function
is the one to teach it.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np

MODEL_FILE = "model.joblib"


@dataclass(frozen=True)
class FittedRun:
    """What scoring needs from a run directory."""

    path: Path | None
    """The run directory (``None`` when the run was loaded from bytes, e.g. on a Ray worker)."""
    model: object
    encoder: object
    target: str | None
    id_column: str | None
    classes: np.ndarray
    package_version: str
    model_version: str
    """``sha256`` of ``model.joblib`` (first 16 hex digits): two outputs with the same value were
    scored by byte-identical models."""

    @property
    def feature_columns(self) -> list[str]:
        """The input columns the encoder reads, in training order."""
        return list(self.encoder.columns_)

    @property
    def input_columns(self) -> list[str]:
        """Every column scoring may read: features, the id column and the target (for human labels)."""
        extra = [c for c in (self.id_column, self.target) if c and c not in self.encoder.columns_]
        return [*self.encoder.columns_, *extra]


def load_run(run: str | os.PathLike | FittedRun | io.BytesIO) -> FittedRun:
    """Load ``RUN/model.joblib``. ``run`` may also be that file, its bytes in a ``BytesIO`` (a Ray
    worker gets them from the object store), or an already loaded run (returned as is)."""
    if isinstance(run, FittedRun):
        return run
    digest = hashlib.sha256()
    if isinstance(run, io.BytesIO):
        digest.update(run.getbuffer())
        model_path, source = None, run
    else:
        path = Path(run)
        model_path = path if path.is_file() else path / MODEL_FILE
        if not model_path.exists():
            raise FileNotFoundError(f"{model_path} not found: RUN must be the --out directory of `pseudolabel fit`")
        with open(model_path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        source = model_path
    bundle = joblib.load(source)
    where = model_path or "the model bytes"
    if not isinstance(bundle, dict) or [key for key in ("model", "encoder", "classes") if key not in bundle]:
        raise ValueError(f"{where} is not a model bundle written by `pseudolabel fit` (needs model, encoder, classes)")
    return FittedRun(
        path=None if model_path is None else model_path.parent,
        model=bundle["model"],
        encoder=bundle["encoder"],
        target=bundle.get("target"),
        id_column=bundle.get("id_column"),
        classes=np.asarray(bundle["classes"]),
        package_version=str(bundle.get("version", "unknown")),
        model_version=digest.hexdigest()[:16],
    )
