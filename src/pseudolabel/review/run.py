"""A fit's run directory as the review app and ``pseudolabel labels`` see it.

A run directory (``pseudolabel fit --out``) holds ``model.joblib`` (the fitted ``SelfTrainer``,
which encodes the feature table itself; the label codec; the target, id and feature column names),
``pseudo_labels.parquet`` (every row's label with its confidence, weight and source),
``metrics.json`` (the fit's options, including the data file, and its held-out estimates),
``report.html`` and ``run.json`` (the manifest written last: a run without it is incomplete).
Retrains started from the review app are complete runs of their own in ``RUN_DIR/retrains/NNN``;
:func:`latest_run` finds the newest one that finished.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from pseudolabel.data.io import InputError, read_table
from pseudolabel.store.sqlite import row_key

RETRAINS = "retrains"
REQUIRED = ("model.joblib", "metrics.json", "pseudo_labels.parquet", "run.json")
IMAGE_MIN_PIXELS = 64
"""An 8×8 image at least (digits); a table with 16 or 36 numeric columns is rarely a picture."""


def is_run(path: Path) -> bool:
    """A complete run: every artifact there and the manifest says so (it is written last)."""
    if not all((path / f).is_file() for f in REQUIRED):
        return False
    try:
        return json.loads((path / "run.json").read_text(encoding="utf-8")).get("status") == "complete"
    except (OSError, ValueError):
        return False


def latest_run(run_dir: str | Path) -> Path:
    """``run_dir`` or its newest complete retrain (``retrains/NNN`` with every artifact)."""
    run_dir = Path(run_dir)
    retrains = sorted((p for p in (run_dir / RETRAINS).glob("[0-9][0-9][0-9]") if is_run(p)), key=lambda p: p.name)
    return retrains[-1] if retrains else run_dir


def next_retrain_dir(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    used = [int(p.name) for p in (run_dir / RETRAINS).glob("[0-9][0-9][0-9]") if re.fullmatch(r"\d{3}", p.name)]
    return run_dir / RETRAINS / f"{max(used, default=0) + 1:03d}"


def resolve_data(config: dict, run_dir: Path, data: str | Path | None = None) -> Path:
    """The data file of a run: ``data`` if given, else the fit's ``--data`` as recorded (tried as
    given, then relative to the run directory and its parent)."""
    if data is not None:
        p = Path(data)
        if not p.is_file():
            raise InputError(f"--data {p}: file not found")
        return p.resolve()
    recorded = config.get("data")
    if not recorded:
        raise InputError(f"{run_dir}/metrics.json records no data file; pass --data")
    for cand in (Path(recorded), run_dir / recorded, run_dir.parent / recorded, run_dir.parents[1] / recorded):
        if cand.is_file():
            return cand.resolve()
    raise InputError(f"the run's data file {recorded!r} was not found (tried from the current folder and the run "
                     f"directory); pass --data PATH")


def image_shape(frame: pd.DataFrame) -> tuple[int, int] | None:
    """(h, w) when the columns look like pixels: a square number (≥ 64) of numeric, non-negative columns."""
    n = frame.shape[1]
    side = int(math.isqrt(n))
    if n < IMAGE_MIN_PIXELS or side * side != n:
        return None
    if not all(pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns):
        return None
    values = frame.to_numpy(dtype=np.float64)
    if np.isnan(values).any() or values.min() < 0:
        return None
    return side, side


@dataclass
class RunView:
    """Everything the review needs from one run: rows, features, model probabilities, pseudo-labels."""

    path: Path
    bundle: dict
    metrics: dict
    data_path: Path
    frame: pd.DataFrame  # the feature columns of DATA
    table_target: pd.Series
    ids: list[str]
    X: np.ndarray
    probs: np.ndarray
    pseudo: pd.DataFrame  # pseudo_labels.parquet, indexed by row id (text)
    classes: list[str]
    text_columns: list[str] = field(default_factory=list)
    image: tuple[int, int] | None = None

    @classmethod
    def load(cls, path: str | Path, data: str | Path | None = None) -> RunView:
        path = Path(path)
        if not is_run(path):
            missing = [f for f in REQUIRED if not (path / f).is_file()]
            why = f"missing {', '.join(missing)}" if missing else "its run.json does not say complete"
            raise InputError(f"{path} is not a complete run directory of `pseudolabel fit` ({why}); re-run `pseudolabel fit`")
        bundle = joblib.load(path / "model.joblib")
        metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
        options = metrics.get("options") or {}
        data_path = resolve_data(options, path, data)
        model = bundle["model"]
        table = read_table(data_path, sep=options.get("sep"), encoding=options.get("encoding"),
                           na_values=options.get("na_values") or [], decimal=options.get("decimal") or ".",
                           text_columns=[c for c in (bundle["target"], bundle.get("id_column")) if c])
        target, id_col = bundle["target"], bundle.get("id_column")
        if target not in table.columns:
            raise InputError(f"{data_path} has no target column {target!r}: is it the data the run was fitted on?")
        ids = table[id_col].to_numpy() if id_col else np.arange(len(table))
        missing = [c for c in bundle["columns"] if c not in table.columns]
        if missing:
            raise InputError(f"{data_path} lacks the feature column(s) {missing} the run was fitted on; pass --data")
        frame = table[list(bundle["columns"])]
        encoder = model.encoder_
        X = np.asarray(encoder.transform(frame), dtype=np.float64)  # the model's view of the rows
        probs = np.asarray(model.predict_proba(frame), dtype=np.float64)
        pseudo = pd.read_parquet(path / "pseudo_labels.parquet")
        pseudo.index = [row_key(i) for i in pseudo["id"]]
        classes = [row_key(c) for c in bundle["codec"].user_values(model.classes_)]
        text_columns = [c for c, kind in getattr(encoder, "column_kinds_", {}).items() if kind == "text"]
        return cls(path=path, bundle=bundle, metrics=metrics, data_path=data_path, frame=frame.reset_index(drop=True),
                   table_target=table[target].reset_index(drop=True), ids=[row_key(i) for i in ids], X=X, probs=probs,
                   pseudo=pseudo, classes=classes, text_columns=text_columns, image=image_shape(frame))

    # ---------------------------------------------------------------- derived
    @property
    def name(self) -> str:
        return self.path.name if self.path.parent.name == RETRAINS else "initial"

    @property
    def config(self) -> dict:
        """The fit's options (``pseudolabel fit`` records them in metrics.json)."""
        return self.metrics.get("options") or {}

    def position(self) -> dict[str, int]:
        """Row id → row number (built once; the ids of a run never change)."""
        pos = self.__dict__.get("_position")
        if pos is None:
            pos = self.__dict__["_position"] = {rid: i for i, rid in enumerate(self.ids)}
        return pos

    def suggestion(self, i: int) -> tuple[str, float]:
        j = int(self.probs[i].argmax())
        return self.classes[j], float(self.probs[i, j])

    def given_labels(self) -> np.ndarray:
        """Rows the fit had a human label for (the table's target)."""
        return self.table_target.notna().to_numpy() & ~self.table_target.astype(str).str.strip().eq("").to_numpy()

    def accepted_pseudo(self) -> pd.DataFrame:
        """Accepted pseudo-labels (not human, weight > 0, a label): the audit's population."""
        p = self.pseudo
        mask = (p["source"].astype(str) != "human") & (p["weight"] > 0) & p["label"].notna()
        return p[mask]

    def heldout(self) -> dict:
        return self.metrics.get("heldout") or {}

    def fit_options(self) -> dict:
        """The fit's options, to refit the same way (as ``pseudolabel fit`` recorded them)."""
        return dict(self.config)
