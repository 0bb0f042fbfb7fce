"""One stateless scorer under every engine: a fitted run → ``score(record batch)`` → labels.

The output of a batch has one row per input row, in input order, with the columns

- ``id``: the run's id column when the data has it, else the row's position in the whole
  dataset (``row_offset`` + position in the batch; the engines pass the offset),
- ``label``: the class (the user's value), ``confidence``: its probability,
- ``weight``: the weight the row would get as a training label — ``confidence`` for a model label
  (``SelfTrainer`` seeds its pool with the student's confidence as weight), 1 for a human label,
- ``source``: ``"model"``, or ``"human"`` where the data's target column holds a label (kept as
  given, confidence and weight 1; ``human_labels=False`` scores those rows too),
- ``model_version``: the run's :attr:`~pseudolabel.distributed.run.FittedRun.model_version`,
- ``p_<class>``: the model's probability of each class (``probabilities=False`` leaves them out).

The scorer holds no state between batches, so any split of a dataset into batches, shards or
workers gives the same rows.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pyarrow as pa
from threadpoolctl import threadpool_limits

from pseudolabel.distributed.run import FittedRun, load_run

SOURCE_MODEL = "model"
SOURCE_HUMAN = "human"


class Scorer:
    """``Scorer(run).score(batch, row_offset)`` → a ``pyarrow.RecordBatch`` (see the module doc).

    run : a run directory, its ``model.joblib``, or a loaded :class:`FittedRun`.
    threads : BLAS/OpenMP threads while predicting (1: one core per scorer; engines run several).
    """

    def __init__(self, run, *, probabilities: bool = True, human_labels: bool = True, threads: int | None = 1):
        self.run: FittedRun = load_run(run)
        self.probabilities = probabilities
        self.human_labels = human_labels
        self.threads = threads
        classes = self.run.classes
        self._label_type, self._as_label = _label_type(classes)
        self._classes = pa.array([self._as_label(c) for c in classes.tolist()], type=self._label_type)

    @property
    def columns(self) -> list[str]:
        """Input columns to read (a projection: engines read nothing else)."""
        return self.run.input_columns

    def id_type(self, input_schema: pa.Schema | None) -> pa.DataType:
        col = self.run.id_column
        if input_schema is not None and col and col in input_schema.names:
            return input_schema.field(col).type
        return pa.int64()

    def schema(self, input_schema: pa.Schema | None = None) -> pa.Schema:
        """The output schema for input of ``input_schema`` (it decides the id column's type)."""
        fields = [
            pa.field("id", self.id_type(input_schema)),
            pa.field("label", self._label_type),
            pa.field("confidence", pa.float64()),
            pa.field("weight", pa.float64()),
            pa.field("source", pa.string()),
            pa.field("model_version", pa.string()),
        ]
        if self.probabilities:
            fields += [pa.field(f"p_{c}", pa.float64()) for c in self.run.classes]
        return pa.schema(fields)

    def score(self, batch, row_offset: int = 0) -> pa.RecordBatch:
        """Score one batch (``pyarrow.RecordBatch`` / ``Table`` or a ``pandas.DataFrame``)."""
        if isinstance(batch, pa.RecordBatch | pa.Table):
            input_schema = batch.schema
            frame = batch.select([c for c in self.columns if c in batch.schema.names]).to_pandas()
        else:
            frame = pd.DataFrame(batch)
            input_schema = None
        n = len(frame)
        run = self.run
        if run.id_column and run.id_column in frame.columns:
            values = frame[run.id_column].to_numpy()
            known = input_schema is not None and run.id_column in input_schema.names
            ids = pa.array(values, type=input_schema.field(run.id_column).type if known else None)
        else:
            ids = pa.array(np.arange(row_offset, row_offset + n, dtype=np.int64))
        if n:
            X = run.features(frame)
            with threadpool_limits(limits=self.threads) if self.threads else contextlib.nullcontext():
                proba = np.asarray(run.model.predict_proba(X), dtype=np.float64)
        else:
            proba = np.zeros((0, len(run.classes)))
        code = proba.argmax(axis=1)
        confidence = proba.max(axis=1, initial=0.0) if n else np.zeros(0)
        label = self._classes.take(pa.array(code))
        weight = confidence.copy()
        source = np.full(n, SOURCE_MODEL, dtype=object)
        if self.human_labels and run.target and run.target in frame.columns:
            given = frame[run.target]
            human = given.notna().to_numpy()
            if human.any():
                label_np = np.asarray(label.to_pylist(), dtype=object)
                label_np[human] = [self._as_label(v) for v in given[human].tolist()]
                try:
                    label = pa.array(label_np.tolist(), type=self._label_type)
                except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                    raise ValueError(f"column {run.target!r} holds labels of another type than the run's classes "
                                     f"({self._label_type}): {exc}") from exc
                confidence = np.where(human, 1.0, confidence)
                weight = np.where(human, 1.0, weight)
                source[human] = SOURCE_HUMAN
        arrays = [ids, label, pa.array(confidence), pa.array(weight), pa.array(source.tolist(), type=pa.string()),
                  pa.array(np.full(n, run.model_version, dtype=object).tolist(), type=pa.string())]
        if self.probabilities:
            arrays += [pa.array(proba[:, j]) for j in range(proba.shape[1])]
        schema = self.schema(input_schema)
        return pa.RecordBatch.from_arrays(arrays, schema=schema.set(0, pa.field("id", ids.type)))

    def score_frame(self, frame: pd.DataFrame, row_offset: int = 0) -> pd.DataFrame:
        """:meth:`score` on a whole in-memory table, as a DataFrame (the in-memory reference)."""
        return self.score(frame, row_offset).to_pandas()


def _label_type(classes: np.ndarray):
    """The label column's type and the conversion of a value to it: the classes' own type
    (integers, strings, booleans), strings when they are mixed (as ``PseudoLabels.to_parquet``)."""
    try:
        kind = pa.array(classes.tolist()).type
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.string(), str
    return kind, (_as_int if pa.types.is_integer(kind) else _identity)


def _identity(value):
    return value


def _as_int(value):
    """Integer labels read back as floats (a pandas column with gaps) become integers again."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
