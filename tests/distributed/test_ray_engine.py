"""The Ray Data engine gives the local engine's rows, row for row.

``test_ray_engine_equals_local`` starts a local 2-CPU Ray instance (loopback only, no usage
statistics) and runs both read paths and a mixed Ray/local sharded run: ~35 s on this 2-core
machine with one other job, ~70 s under heavier load, so it is marked ``slow`` (``make test-all``
or ``pytest -m slow tests/distributed``). Without Ray (an optional extra, ``pip install
'pseudolabel[ray]'``) it is skipped with that reason. The actors' scoring code runs in-process in
the fast tests below, so ``make test`` still covers what each Ray worker does.
"""

from __future__ import annotations

import io
import os

import pandas as pd
import pyarrow as pa
import pytest

from pseudolabel.distributed import label_dataset, load_run, read_labels, read_manifests
from pseudolabel.distributed.local import iter_unit_batches
from pseudolabel.distributed.ray_engine import _BatchScorer, _UnitScorer
from pseudolabel.distributed.source import plan_units, resolve_files

from .conftest import make_table, write_parquet

try:
    import ray
    import ray.data  # noqa: F401

    NO_RAY = None
except ImportError as exc:  # pragma: no cover - depends on the environment
    NO_RAY = f"Ray Data is not installed ({exc}); pip install 'pseudolabel[ray]'"


def local_rows(run, source, tmp_path) -> pd.DataFrame:
    label_dataset(run, source, tmp_path / "local.parquet")
    return read_labels(tmp_path / "local.parquet").to_pandas()


def test_ray_actors_score_like_the_local_engine_in_process(run_dir, run_dir_no_id, dataset, tmp_path):
    """What a Ray worker runs, without Ray: the run from bytes, batches and row-group work items."""
    source, _ = dataset
    model_bytes = (run_dir / "model.joblib").read_bytes()
    assert load_run(io.BytesIO(model_bytes)).model_version == load_run(run_dir).model_version
    batch_actor = _BatchScorer([model_bytes], True, True, 1)
    units = plan_units(resolve_files(source))
    scored = [batch_actor(pa.Table.from_batches([rb])) for u in units
              for _, rb in iter_unit_batches(u, batch_actor.scorer.columns, 64)]
    got = pa.concat_tables([t for t in scored if t.num_rows]).to_pandas()
    pd.testing.assert_frame_equal(got, local_rows(run_dir, source, tmp_path))

    unit_actor = _UnitScorer([(run_dir_no_id / "model.joblib").read_bytes()], True, True, 1, 29)
    items = pa.Table.from_pylist([{"path": u.path, "row_group": u.row_group, "offset": u.offset, "rows": u.rows}
                                  for u in units[::-1]])  # any order: each item carries its offset
    got = pa.concat_tables([t for t in unit_actor(items) if t.num_rows]).to_pandas()
    expected = local_rows(run_dir_no_id, source, tmp_path / "b")
    got = got.sort_values("id", kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.slow
@pytest.mark.skipif(NO_RAY is not None, reason=NO_RAY or "")
def test_ray_engine_equals_local(run_dir, run_dir_no_id, dataset, tmp_path):
    source, _ = dataset
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    try:
        # ids in the data: ray.data.read_parquet → map_batches (actor pool) → write_parquet
        manifest = label_dataset(run_dir, source, tmp_path / "ray", engine="ray", batch_rows=64)
        assert manifest["read"] == "read_parquet" and manifest["actors"] == 2 and manifest["rows"] == 640
        pd.testing.assert_frame_equal(read_labels(tmp_path / "ray").to_pandas(), local_rows(run_dir, source, tmp_path))
        # ids are row positions: row groups as work items, each actor reads its own
        expected = local_rows(run_dir_no_id, source, tmp_path / "n")
        manifest = label_dataset(run_dir_no_id, source, tmp_path / "ray2", engine="ray", batch_rows=29)
        assert manifest["read"] == "row groups"
        pd.testing.assert_frame_equal(read_labels(tmp_path / "ray2").to_pandas(), expected)
        # shards of one dataset, one on Ray and one local, add up to the single run
        label_dataset(run_dir_no_id, source, tmp_path / "mixed", engine="ray", shard="0/2")
        label_dataset(run_dir_no_id, source, tmp_path / "mixed", engine="local", shard="1/2")
        assert [m["engine"] for m in read_manifests(tmp_path / "mixed")] == ["ray", "local"]
        pd.testing.assert_frame_equal(read_labels(tmp_path / "mixed").to_pandas(), expected)
        # many blocks per file: Ray's own write_parquet reorders rows inside a file (pyarrow
        # write_dataset with use_threads); the engine's ordered sink must not
        big = make_table(300_000, 9)
        write_parquet(big, tmp_path / "big" / "big.parquet", row_group_size=300_000)
        label_dataset(run_dir, tmp_path / "big", tmp_path / "big_ray", engine="ray", batch_rows=20_000)
        got = read_labels(tmp_path / "big_ray").to_pandas()
        pd.testing.assert_frame_equal(got, local_rows(run_dir, tmp_path / "big", tmp_path / "bl"))
    finally:
        ray.shutdown()
