"""What to read: Parquet files (a file, a directory or a glob), cut into row groups with their
global row offsets, and the row groups of one shard.

A *unit* is one row group of one file: the smallest piece an engine reads on its own. Units keep
the dataset's order (files sorted by path, row groups in file order), so row ``offset`` of a unit
is its first row's position in the whole dataset, and shards are contiguous runs of units: the
union of the shards, in shard order, is the dataset in its order.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class Unit:
    path: str
    row_group: int
    offset: int
    rows: int


def resolve_files(source) -> list[str]:
    """The Parquet files of ``source``: a file, a directory (every ``*.parquet``/``*.pq`` below it,
    hidden and ``_``-prefixed files skipped, as Spark and Ray write them), a glob pattern, or a
    list of these. Sorted by path, so every engine sees the same order."""
    if isinstance(source, list | tuple):
        files = [f for item in source for f in resolve_files(item)]
        return list(dict.fromkeys(files))
    text = os.fspath(source)
    if any(ch in text for ch in "*?["):
        files = sorted(f for f in glob.glob(text, recursive=True) if os.path.isfile(f))
        if not files:
            raise FileNotFoundError(f"no file matches {text!r}")
    elif os.path.isdir(text):
        files = sorted(str(p) for p in Path(text).rglob("*") if p.is_file() and p.suffix.lower() in PARQUET_SUFFIXES
                       and not any(part.startswith((".", "_")) for part in p.relative_to(text).parts))
        if not files:
            raise FileNotFoundError(f"no Parquet file (*.parquet, *.pq) under {text}")
    elif os.path.isfile(text):
        files = [text]
    else:
        raise FileNotFoundError(f"DATA not found: {text}")
    bad = [f for f in files if Path(f).suffix.lower() not in PARQUET_SUFFIXES]
    if bad:
        raise ValueError(f"streaming reads Parquet (*.parquet, *.pq); got {bad[:3]}. Convert a CSV first, e.g. "
                         "pyarrow.parquet.write_table(pyarrow.csv.read_csv(path), 'data.parquet'), or use the "
                         "in-memory `pseudolabel predict` without --engine")
    return files


def plan_units(files: list[str]) -> list[Unit]:
    """Every row group of ``files`` with its global row offset (from the Parquet footers only)."""
    units, offset = [], 0
    for f in files:
        meta = pq.ParquetFile(f).metadata
        for g in range(meta.num_row_groups):
            rows = meta.row_group(g).num_rows
            units.append(Unit(f, g, offset, rows))
            offset += rows
    return units


def parse_shard(shard) -> tuple[int, int]:
    """``(i, N)``, ``"i/N"`` or ``None`` (= ``(0, 1)``) → ``(i, N)`` with ``0 ≤ i < N``."""
    if shard is None:
        return 0, 1
    if isinstance(shard, str):
        try:
            i, n = (int(part) for part in shard.split("/"))
        except ValueError:
            raise ValueError(f"--shard must look like i/N (e.g. 0/4), got {shard!r}") from None
    else:
        i, n = (int(v) for v in shard)
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"shard i/N needs N ≥ 1 and 0 ≤ i < N, got {i}/{n}")
    return i, n


def shard_units(units: list[Unit], shard) -> list[Unit]:
    """The contiguous run of units of shard ``i`` of ``N``: a unit belongs to the shard in which
    its first row falls when the rows are cut into ``N`` equal parts (balanced by rows; a shard
    can be empty when there are fewer row groups than shards)."""
    i, n = parse_shard(shard)
    total = sum(u.rows for u in units)
    if n == 1 or total == 0:
        return list(units) if i == 0 else []
    return [u for u in units if min(n - 1, u.offset * n // total) == i]
