"""``pseudolabel predict RUN_DIR DATA --out TABLE``: score new rows with the model of a previous run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import joblib
import numpy as np
import pandas as pd
import typer

from pseudolabel.cli._common import console, err_console, fail, limit_threads
from pseudolabel.data.io import InputError, read_table, write_table


def predict(
    run_dir: Annotated[Path, typer.Argument(help="Directory written by `pseudolabel fit`.")],
    data: Annotated[Path, typer.Argument(help="CSV, TSV or Parquet table with the training columns.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output table (.csv, .tsv or .parquet).")],
    threads: Annotated[int, typer.Option(help="BLAS threads.")] = 1,
) -> None:
    """Score DATA with the model of a previous run: id, label, confidence and one p_<class> per class."""
    model_path = run_dir / "model.joblib"
    if not model_path.exists():
        fail(f"{model_path} not found: RUN_DIR must be the --out directory of `pseudolabel fit`")
    bundle = joblib.load(model_path)
    try:
        frame = read_table(data)
        id_col = bundle["id_column"]
        ids = frame[id_col].to_numpy() if id_col and id_col in frame.columns else np.arange(len(frame))
        features = frame.drop(columns=[c for c in (bundle["target"], id_col) if c and c in frame.columns])
        extra = [c for c in features.columns if c not in bundle["encoder"].columns_]
        if extra:
            err_console.print(f"[yellow]note:[/] ignoring column(s) not seen at fit time: {extra}")
        X = bundle["encoder"].transform(features, what="DATA")
        with limit_threads(threads):
            proba = bundle["model"].predict_proba(X)
        classes = bundle["classes"]
        result = pd.DataFrame({"id": ids, "label": classes[proba.argmax(axis=1)], "confidence": proba.max(axis=1)})
        for j, c in enumerate(classes):
            result[f"p_{c}"] = proba[:, j]
        write_table(result, out)
    except (InputError, ValueError) as exc:
        fail(str(exc))
    console.print(f"wrote {len(result):,} predictions to {out}")
