"""The Ray Data engine: ``read_parquet`` → ``map_batches`` on an actor pool → Parquet files, in order.

Each actor loads the fitted run once (from the bytes of ``model.joblib`` put in Ray's object store
by the driver, so workers need no access to the run directory) and scores record batches with the
same :class:`~pseudolabel.distributed.scorer.Scorer` as the local engine. Order is preserved
(``DataContext.execution_options.preserve_order``), so the files Ray writes, in name order, hold
the rows in dataset order.

Two read paths, one output:

- rows carry the run's id column and no shard is asked for: ``ray.data.read_parquet`` on the
  files (Ray's own parallel, streaming reader);
- otherwise the ids are row positions, which Ray's reader does not expose, or a shard is asked
  for: the row groups (:class:`~pseudolabel.distributed.source.Unit`, with their global offsets)
  become a dataset of work items (``ray.data.from_items``) and each actor reads its row groups
  with pyarrow, ``batch_rows`` rows at a time.

Either way the scored blocks are written as Parquet by the write tasks, into a temporary folder
inside the sink; the driver then moves the files into the sink under the shard's names and commits
them with the manifest (:mod:`.sink`). The writer is a small ``Datasink`` (:func:`ordered_parquet_sink`)
rather than ``Dataset.write_parquet``: Ray 2.60's Parquet sink calls ``pyarrow.dataset.write_dataset``
with ``use_threads=True`` and no ``preserve_order``, which reorders the rows *inside* a file
(measured: a 600,000-row file came back in shuffled 32,768-row runs), so its output could not equal
the local engine's row for row. This sink writes each write task's blocks in order to one file
named by the task's index.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pyarrow as pa

from pseudolabel.distributed.run import MODEL_FILE
from pseudolabel.distributed.source import Unit

INSTALL_HINT = "the Ray engine needs Ray Data: pip install 'pseudolabel[ray]' (or pip install 'ray[data]')"


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from exc
    return ray


def ensure_ray(address: str | None, num_cpus: int | None = None):
    """Connect to the cluster at ``address`` (``"auto"``: the one this node belongs to), or start
    a local instance with ``num_cpus`` CPUs when none is given and none runs. Returns
    ``(ray, started)``; ``started`` says this call started it (then the caller shuts it down)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report leaves the machine
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    kwargs = {"log_to_driver": False, "include_dashboard": False, "configure_logging": False}
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(num_cpus=num_cpus, _node_ip_address="127.0.0.1", **kwargs)
    return ray, True


def _load_bytes(ref_box):
    """The run's ``model.joblib`` bytes, from the object store (the list keeps Ray from resolving the
    reference before the actor runs) or as given."""
    payload = ref_box[0]
    if not isinstance(payload, bytes | bytearray):
        import ray

        payload = ray.get(payload)
    return payload


class _BatchScorer:
    """Actor: loads the run once, then scores the record batches Ray's reader hands it."""

    def __init__(self, ref_box, probabilities: bool, human_labels: bool, threads: int):
        from pseudolabel.distributed.scorer import Scorer

        self.scorer = Scorer(io.BytesIO(_load_bytes(ref_box)), probabilities=probabilities, human_labels=human_labels,
                             threads=threads)

    def __call__(self, batch: pa.Table) -> pa.Table:
        return pa.Table.from_batches([self.scorer.score(batch)])


class _UnitScorer:
    """Actor: loads the run once, then reads and scores whole row groups (work items)."""

    def __init__(self, ref_box, probabilities: bool, human_labels: bool, threads: int, batch_rows: int):
        from pseudolabel.distributed.scorer import Scorer

        self.scorer = Scorer(io.BytesIO(_load_bytes(ref_box)), probabilities=probabilities, human_labels=human_labels,
                             threads=threads)
        self.batch_rows = batch_rows
        self.files: dict = {}

    def __call__(self, items: pa.Table):
        from pseudolabel.distributed.local import iter_unit_batches

        for row in items.to_pylist():
            unit = Unit(row["path"], int(row["row_group"]), int(row["offset"]), int(row["rows"]))
            for offset, rb in iter_unit_batches(unit, self.scorer.columns, self.batch_rows, self.files):
                yield pa.Table.from_batches([self.scorer.score(rb, offset)])


def ordered_parquet_sink(path: str):
    """A Ray ``Datasink`` writing each write task's blocks, in order, to ``{task_idx:08d}.parquet``
    in ``path`` (temporary name, then rename): with ``preserve_order`` the files in name order
    hold the rows in dataset order."""
    import pyarrow.parquet as pq
    from ray.data.block import BlockAccessor
    from ray.data.datasource import Datasink

    class OrderedParquetSink(Datasink):
        def __init__(self, root: str):
            self.root = root

        def write(self, blocks, ctx) -> int:
            name = f"{ctx.task_idx:08d}.parquet"
            tmp = os.path.join(self.root, f".{name}.tmp")
            writer, rows = None, 0
            try:
                for block in blocks:
                    table = BlockAccessor.for_block(block).to_arrow()
                    if table.num_rows == 0:
                        continue
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table)
                    rows += table.num_rows
            finally:
                if writer is not None:
                    writer.close()
            if writer is not None:
                os.replace(tmp, os.path.join(self.root, name))
            return rows

    return OrderedParquetSink(path)


def score_ray(run, units: list[Unit], files: list[str], sink: Path, stem: str, token: str, *, address: str | None,
              use_reader: bool, batch_rows: int, actors: int | None, threads: int, probabilities: bool,
              human_labels: bool, num_cpus: int | None = None, columns: list[str] | None = None,
              progress: bool = False) -> tuple[list[str], int, dict]:
    """Score on Ray, leave ``{stem}-{token}-{j:05d}.parquet`` files in ``sink``; returns the file
    names in order, their rows, and facts about the cluster for the manifest."""
    ray, started = ensure_ray(address, num_cpus)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        pool = max(1, int(actors) if actors else cpus)
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = bool(progress)  # Ray Data's own bars: rows/s per operator
        ref_box = [ray.put((Path(run.path) / MODEL_FILE).read_bytes())]
        args = (ref_box, probabilities, human_labels, threads)
        if use_reader:
            ds = ray.data.read_parquet(files)
            ds = ds.select_columns(columns) if columns else ds  # pushed down into the reader
            # an autoscaling pool (1 … pool actors): a fixed pool of one actor per CPU would hold every
            # CPU before the read tasks get one, and the pipeline would wait forever
            ds = ds.map_batches(_BatchScorer, fn_constructor_args=args, batch_size=batch_rows, batch_format="pyarrow",
                                compute=ray.data.ActorPoolStrategy(min_size=1, max_size=pool), num_cpus=1,
                                zero_copy_batch=True)
        else:
            items = [{"path": u.path, "row_group": u.row_group, "offset": u.offset, "rows": u.rows} for u in units]
            ds = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
            ds = ds.map_batches(_UnitScorer, fn_constructor_args=(*args, batch_rows), batch_size=1,
                                batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=pool), num_cpus=1)
        tmp = sink / f".{stem}-{token}.ray-tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            ds.write_datasink(ordered_parquet_sink(str(tmp)))
            written = sorted(p for p in tmp.iterdir() if p.suffix == ".parquet")
            names, rows = [], 0
            import pyarrow.parquet as pq

            for j, p in enumerate(written):
                n = pq.ParquetFile(p).metadata.num_rows
                if n == 0:
                    continue
                name = f"{stem}-{token}-{j:05d}.parquet"
                os.replace(p, sink / name)
                names.append(name)
                rows += n
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        info = {"ray_version": ray.__version__, "cluster_cpus": cpus, "actors": pool,
                "address": address or "local instance", "read": "read_parquet" if use_reader else "row groups"}
        return names, rows, info
    finally:
        if started:
            ray.shutdown()
