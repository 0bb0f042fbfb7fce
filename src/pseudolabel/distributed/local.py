"""The local engine: stream a Parquet dataset through a :class:`Scorer` in record batches.

Memory is bounded by one row group being decoded plus one batch being scored and written
(``batch_rows``), not by the size of the dataset; output is written as it is produced, to a
temporary file renamed into place at the end, then committed by a manifest (:mod:`.sink`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pseudolabel.distributed.scorer import Scorer
from pseudolabel.distributed.source import Unit
from pseudolabel.ops.files import atomic_path

BATCH_ROWS = 65_536
"""Rows per record batch: large enough that the per-batch overhead (pandas conversion, encoder,
one BLAS call) is small, small enough that a batch of 100 float columns stays near 50 MB."""


def iter_unit_batches(unit: Unit, columns: list[str], batch_rows: int, files: dict | None = None):
    """``(row_offset, record batch)`` of one row group, ``batch_rows`` rows at a time."""
    files = {} if files is None else files
    pf = files.get(unit.path)
    if pf is None:
        pf = files[unit.path] = pq.ParquetFile(unit.path)
    present = [c for c in columns if c in pf.schema_arrow.names]
    offset = unit.offset
    for rb in pf.iter_batches(batch_size=batch_rows, row_groups=[unit.row_group], columns=present, use_threads=False):
        yield offset, rb
        offset += rb.num_rows


def score_units(scorer: Scorer, units: list[Unit], out_path: Path, *, batch_rows: int = BATCH_ROWS,
                on_batch: Callable[[int], None] | None = None, input_schema: pa.Schema | None = None) -> int:
    """Score ``units`` in order into one Parquet file at ``out_path`` (atomically); returns its rows.
    ``input_schema`` (the dataset's) gives the id column's type when there is nothing to score."""
    rows = 0
    files: dict = {}
    with atomic_path(out_path) as tmp:
        writer = None
        try:
            for unit in units:
                for offset, rb in iter_unit_batches(unit, scorer.columns, batch_rows, files):
                    out = scorer.score(rb, offset)
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, out.schema)
                    writer.write_batch(out)
                    rows += out.num_rows
                    if on_batch is not None:
                        on_batch(out.num_rows)
            if writer is None:  # nothing to score: an empty table with the right columns
                schema = scorer.schema(input_schema)
                writer = pq.ParquetWriter(tmp, schema)
                writer.write_table(pa.Table.from_batches([], schema=schema))
        finally:
            if writer is not None:
                writer.close()
    return rows


class Progress:
    """Rows done, rows per second: a rich bar on stderr (``show=True``), a callback, or nothing."""

    def __init__(self, total: int, show: bool | Callable[[dict], None], description: str = "labeling"):
        self.total, self.done, self.t0 = total, 0, time.perf_counter()
        self.callback = show if callable(show) else None
        self._bar = None
        if show is True:
            from rich.console import Console
            from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                     TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows"),
                                     TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                                     console=Console(stderr=True), transient=False)
            self._task = self._bar.add_task(description, total=total, rate="")
            self._bar.start()

    def advance(self, rows: int) -> None:
        self.done += rows
        state = self.state()
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, rate=f"{state['rows_per_second']:,.0f} rows/s")
        if self.callback is not None:
            self.callback(state)

    def state(self) -> dict:
        seconds = time.perf_counter() - self.t0
        return {"rows": self.done, "total": self.total, "seconds": seconds,
                "rows_per_second": self.done / seconds if seconds > 0 else 0.0}

    def close(self) -> dict:
        if self._bar is not None:
            self._bar.stop()
        return self.state()
