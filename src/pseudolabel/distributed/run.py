"""A fitted run, loaded once: the only place that knows how ``pseudolabel fit`` stores its model.

``pseudolabel fit --out RUN`` writes ``RUN/model.joblib``, a dict: ``model`` (a ``SelfTrainer``
fitted on the raw table, which encodes inside), ``codec`` (the label codec:
``codec.user_values(model.classes_)`` are the labels in the user's terms), ``columns``, ``target``,
``id_column``, ``na_values``, ``version``. The run directory also holds ``run.json``, checked by
the CLI's ``verify_run`` before ``pseudolabel predict`` calls
:func:`pseudolabel.distributed.label_dataset`.
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
    columns: tuple[str, ...]
    """The input columns the model reads, in training order."""
    target: str | None
    id_column: str | None
    classes: np.ndarray
    package_version: str
    model_version: str
    """``sha256`` of ``model.joblib`` (first 16 hex digits): two outputs with the same value were
    scored by byte-identical models."""

    @property
    def feature_columns(self) -> list[str]:
        return list(self.columns)

    @property
    def input_columns(self) -> list[str]:
        """Every column scoring may read: features, the id column and the target (for human labels)."""
        extra = [c for c in (self.id_column, self.target) if c and c not in self.columns]
        return [*self.columns, *extra]

    def features(self, frame):
        """What ``model.predict_proba`` takes for the rows of ``frame`` (a DataFrame)."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            from pseudolabel.data.io import InputError

            raise InputError(f"DATA lacks column(s) {missing} that the model was trained with; "
                             f"expected columns: {list(self.columns)}")
        return frame[list(self.columns)]


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
    if not (isinstance(bundle, dict) and all(key in bundle for key in ("model", "codec", "columns"))):
        raise ValueError(f"{where} is not a model bundle written by `pseudolabel fit` (needs model, codec and columns)")
    columns = tuple(bundle["columns"])
    classes = np.asarray(bundle["codec"].user_values(bundle["model"].classes_), dtype=object)
    if all(isinstance(c, int | np.integer) and not isinstance(c, bool) for c in classes):
        classes = classes.astype(np.int64)
    return FittedRun(
        path=None if model_path is None else model_path.parent,
        model=bundle["model"],
        columns=columns,
        target=bundle.get("target"),
        id_column=bundle.get("id_column"),
        classes=classes,
        package_version=str(bundle.get("version", "unknown")),
        model_version=digest.hexdigest()[:16],
    )
