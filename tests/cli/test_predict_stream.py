"""``pseudolabel predict`` on Parquet: the streaming route (record batches, shards, engines) gives
the same labels as the in-memory route, and refuses what it cannot do with a named option."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pseudolabel.distributed import read_labels


@pytest.fixture(scope="module")
def pool(blobs_run, tmp_path_factory):
    """The run's rows, three times over with noise, as Parquet (row groups of 7 rows) and as CSV,
    without the label column."""
    tmp = tmp_path_factory.mktemp("pool")
    data = pd.read_csv(blobs_run[0]).drop(columns="y")
    noise = np.random.default_rng(3).normal(scale=0.3, size=(3 * len(data), 3))
    frame = pd.concat([data] * 3, ignore_index=True)
    frame[["a", "b", "c"]] += noise
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp / "pool.parquet", row_group_size=7)
    frame.to_csv(tmp / "pool.csv", index=False)
    return tmp


def _in_memory(cli, run, pool, tmp_path) -> pd.DataFrame:
    res = cli("predict", run, pool / "pool.csv", "--out", tmp_path / "mem.csv")
    assert res.code == 0, res
    return pd.read_csv(tmp_path / "mem.csv")


def test_parquet_streams_with_the_in_memory_labels(blobs_run, cli, pool, tmp_path):
    _, run = blobs_run
    out = tmp_path / "scored.parquet"
    res = cli("predict", run, pool / "pool.parquet", "--out", out, "--engine", "local", "--batch-rows", "5",
              "--no-progress")
    assert res.code == 0, res
    assert "local engine" in res.text and "wrote 180 predictions" in res.text
    streamed = pq.read_table(out).to_pandas()
    assert (out.parent / "scored.parquet.manifest.json").exists()
    assert set(streamed["source"]) == {"model"} and streamed["model_version"].nunique() == 1
    mem = _in_memory(cli, run, pool, tmp_path)
    np.testing.assert_array_equal(streamed["id"], mem["id"])
    np.testing.assert_array_equal(streamed["label"].astype(int), mem["label"].astype(int))
    np.testing.assert_allclose(streamed["confidence"], mem["confidence"], rtol=1e-12)
    probs = [c for c in mem.columns if c.startswith("p_")]
    np.testing.assert_allclose(streamed[probs], mem[probs], rtol=1e-12)


def test_shards_into_one_folder_equal_a_single_run(blobs_run, cli, pool, tmp_path):
    _, run = blobs_run
    whole = tmp_path / "whole.parquet"
    assert cli("predict", run, pool / "pool.parquet", "--out", whole, "--engine", "local", "--no-progress").code == 0
    folder = tmp_path / "shards"
    for i in range(3):
        res = cli("predict", run, pool / "pool.parquet", "--out", folder, "--shard", f"{i}/3", "--no-progress")
        assert res.code == 0, res
    res = cli("predict", run, pool / "pool.parquet", "--out", folder, "--shard", "1/3")
    assert res.code == 2 and "already holds shard 1/3" in res.text and "--overwrite" in res.text
    assert cli("predict", run, pool / "pool.parquet", "--out", folder, "--shard", "1/3", "--overwrite",
               "--no-progress").code == 0
    a, b = read_labels(folder).to_pandas(), pq.read_table(whole).to_pandas()
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--shard", "3/3"), "0 ≤ i < N"),
        (("--shard", "half"), "--shard must look like i/N"),
        (("--address", "auto"), "--address is for --engine ray"),
        (("--engine", "spark"), "--engine must be one of local, ray"),
        (("--engine", "local", "--strict"), "--strict and --na-values apply to the in-memory route"),
        (("--engine", "local", "--batch-rows", "0"), "--batch-rows must be >= 1"),
    ],
)
def test_streaming_refusals_name_the_option(blobs_run, cli, pool, tmp_path, extra, message):
    _, run = blobs_run
    res = cli("predict", run, pool / "pool.parquet", "--out", tmp_path / "o", *extra)
    assert res.code == 2, res
    assert message in res.text
    assert res.exception is None
    assert not (tmp_path / "o").exists()


def test_csv_data_cannot_stream(blobs_run, cli, pool, tmp_path):
    _, run = blobs_run
    res = cli("predict", run, pool / "pool.csv", "--out", tmp_path / "o", "--engine", "local")
    assert res.code == 2 and "streaming reads Parquet" in res.text


def test_a_folder_streams_by_default_and_one_file_is_read_whole(blobs_run, cli, pool, tmp_path):
    _, run = blobs_run
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.parquet").write_bytes((pool / "pool.parquet").read_bytes())
    res = cli("predict", run, folder, "--out", tmp_path / "f.parquet", "--no-progress")
    assert res.code == 0 and "local engine" in res.text
    assert "source" in pq.read_schema(tmp_path / "f.parquet").names
    res = cli("predict", run, pool / "pool.parquet", "--out", tmp_path / "one.parquet")
    assert res.code == 0 and "engine" not in res.text
    assert "source" not in pq.read_schema(tmp_path / "one.parquet").names


def test_streaming_refuses_an_existing_output_and_the_run_folder(blobs_run, cli, pool, tmp_path):
    _, run = blobs_run
    out = tmp_path / "scored.parquet"
    out.write_bytes(b"keep me")
    res = cli("predict", run, pool / "pool.parquet", "--out", out, "--engine", "local")
    assert res.code == 2 and "already exists" in res.text
    assert out.read_bytes() == b"keep me"
    res = cli("predict", run, pool / "pool.parquet", "--out", run / "inside", "--shard", "0/2")
    assert res.code == 2 and "inside" in res.text
