"""Label datasets larger than memory, on this machine or on a Ray cluster.

``label_dataset(run, source, sink, engine="local"|"ray", shard=None, ...)`` scores every row of a
Parquet dataset (a file, a directory or a glob) with the model of a ``pseudolabel fit`` run and
writes ``id, label, confidence, weight, source, model_version, p_<class>…`` (see
:mod:`pseudolabel.distributed.scorer`). Both engines call the same stateless
:class:`~pseudolabel.distributed.scorer.Scorer`; ``shard=(i, N)`` (or ``"i/N"``) scores the i-th of N
contiguous slices of row groups, so any scheduler (a job array, Spark ``mapInPandas``, Dask) can
run shards, and :func:`read_labels` of the sink equals a single run row for row. Design notes and
measurements: ``docs/distributed.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pseudolabel import __version__
from pseudolabel.distributed.local import BATCH_ROWS, Progress, score_units
from pseudolabel.distributed.run import FittedRun, load_run
from pseudolabel.distributed.scorer import Scorer
from pseudolabel.distributed.sink import (
    is_file_sink,
    new_token,
    read_labels,
    read_manifests,
    shard_stem,
    write_manifest,
)
from pseudolabel.distributed.source import parse_shard, plan_units, resolve_files, shard_units

ENGINES = ("local", "ray")

__all__ = ["ENGINES", "FittedRun", "Scorer", "label_dataset", "load_run", "parse_shard", "predict_command",
           "read_labels", "read_manifests"]


def label_dataset(
    run,
    source,
    sink,
    engine: str = "local",
    shard=None,
    *,
    address: str | None = None,
    batch_rows: int = BATCH_ROWS,
    threads: int = 1,
    actors: int | None = None,
    probabilities: bool = True,
    human_labels: bool = True,
    progress: bool | Callable[[dict], None] = False,
    num_cpus: int | None = None,
) -> dict:
    """Score ``source`` with the fitted ``run`` and write the labels to ``sink``; returns the manifest.

    run : a ``pseudolabel fit`` output directory (or its ``model.joblib``, or a loaded run).
    source : Parquet file, directory of Parquet files, glob pattern, or a list of these.
    sink : ``*.parquet`` file (local engine, no shard) or a directory (see :mod:`.sink`).
    engine : ``"local"`` (this process, streaming) or ``"ray"`` (Ray Data; ``address`` of an
        existing cluster, ``"auto"`` for the one this node belongs to, or ``None`` to start a local
        instance with ``num_cpus`` CPUs).
    shard : ``(i, N)`` or ``"i/N"``: only the i-th of N contiguous slices of the row groups.
    batch_rows : rows per record batch (memory is bounded by this and one row group).
    threads : BLAS threads per scorer; actors : Ray actors (default: one per cluster CPU).
    progress : ``True`` shows a bar with rows/s on stderr (Ray: Ray Data's progress bars); a
        callable gets ``{rows, total, seconds, rows_per_second}`` after each batch (local engine).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if int(batch_rows) < 1:
        raise ValueError(f"batch_rows must be positive, got {batch_rows}")
    shard = parse_shard(shard)
    t0 = time.perf_counter()
    loaded = load_run(run)
    files = resolve_files(source)
    units = shard_units(plan_units(files), shard)
    scorer = Scorer(loaded, probabilities=probabilities, human_labels=human_labels, threads=threads)
    sink = Path(sink)
    file_sink = is_file_sink(sink, shard, engine)
    created = not file_sink and not sink.exists()
    try:
        return _label(loaded, files, units, scorer, sink, shard, file_sink, engine=engine, address=address,
                      batch_rows=int(batch_rows), threads=threads, actors=actors, probabilities=probabilities,
                      human_labels=human_labels, progress=progress, num_cpus=num_cpus, t0=t0)
    except BaseException:
        if created and sink.is_dir() and not any(sink.iterdir()):
            sink.rmdir()  # a failed first run leaves no empty folder behind
        raise


def _label(loaded, files, units, scorer, sink: Path, shard, file_sink: bool, *, engine, address, batch_rows, threads,
           actors, probabilities, human_labels, progress, num_cpus, t0) -> dict:
    import pyarrow.parquet as pq

    input_schema = pq.ParquetFile(files[0]).schema_arrow
    stem, token = shard_stem(shard), new_token()
    total = sum(u.rows for u in units)
    extra: dict = {}
    if engine == "ray" and units:
        from pseudolabel.distributed.ray_engine import score_ray

        if loaded.path is None:
            raise ValueError("the Ray engine needs the run's directory (workers load model.joblib from its bytes)")
        names_in_data = input_schema.names
        # Ray's reader needs one schema across files and gives no row positions (see ray_engine)
        use_reader = (shard == (0, 1) and bool(loaded.id_column) and loaded.id_column in names_in_data
                      and all(pq.ParquetFile(f).schema_arrow.equals(input_schema) for f in files[1:]))
        sink.mkdir(parents=True, exist_ok=True)
        names, rows, extra = score_ray(loaded, units, files, sink, stem, token, address=address, use_reader=use_reader,
                                       batch_rows=batch_rows, actors=actors, threads=threads,
                                       probabilities=probabilities, human_labels=human_labels, num_cpus=num_cpus,
                                       columns=[c for c in scorer.columns if c in names_in_data],
                                       progress=progress is True)
        if not names:
            names = [f"{stem}-{token}-00000.parquet"]
            score_units(scorer, [], sink / names[0], input_schema=input_schema)
    else:
        bar = Progress(total, progress)
        out = sink if file_sink else sink / f"{stem}-{token}-00000.parquet"
        try:
            rows = score_units(scorer, units, out, batch_rows=batch_rows, on_batch=bar.advance, input_schema=input_schema)
        finally:
            bar.close()
        names = [out.name]
    seconds = time.perf_counter() - t0
    manifest = {
        "engine": engine,
        "files": names,
        "rows": int(rows),
        "input_rows": int(total),
        "input_files": sorted({u.path for u in units}),
        "row_groups": len(units),
        "first_row": units[0].offset if units else None,
        "model_version": loaded.model_version,
        "run": str(loaded.path),
        "package_version": __version__,
        "run_package_version": loaded.package_version,
        "batch_rows": int(batch_rows),
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds, 1) if seconds > 0 else None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **extra,
    }
    if rows != total:
        raise RuntimeError(f"wrote {rows:,} rows for {total:,} input rows; the shard is not committed")
    write_manifest(sink, shard, manifest, file_sink=file_sink)
    return manifest


def predict_command(run_dir, data, out, *, engine: str = "local", address: str | None = None, shard: str | None = None,
                    batch_rows: int = BATCH_ROWS, threads: int = 1, progress: bool = True) -> dict:
    """What ``pseudolabel predict RUN DATA --out OUT --engine E --address A --shard i/N`` runs: the
    option values exactly as the command line gives them (``shard`` as the text ``"i/N"``)."""
    if address and engine != "ray":
        raise ValueError("--address is for --engine ray")
    return label_dataset(run_dir, data, out, engine=engine, shard=shard, address=address, batch_rows=batch_rows,
                         threads=threads, progress=progress)
