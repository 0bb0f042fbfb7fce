"""The scorer and the streaming local engine: same rows as scoring in memory, shards that add up,
atomic outputs, ids, human labels, argument checks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pseudolabel.data.io import InputError
from pseudolabel.distributed import (
    Scorer,
    label_dataset,
    load_run,
    parse_shard,
    predict_command,
    read_labels,
)
from pseudolabel.distributed.source import plan_units, resolve_files, shard_units

from .conftest import make_table, write_parquet


def in_memory(run_dir, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The reference: the whole table through predict_proba in one call, as the in-memory
    ``pseudolabel predict`` does."""
    run = load_run(run_dir)
    proba = run.model.predict_proba(frame[list(run.columns)])
    return run.classes[proba.argmax(1)], proba


def test_streaming_equals_in_memory(run_dir, dataset, tmp_path):
    source, frame = dataset
    seen = []
    manifest = label_dataset(run_dir, source, tmp_path / "out.parquet", batch_rows=37, human_labels=False,
                             progress=lambda s: seen.append(s["rows"]))
    out = read_labels(tmp_path / "out.parquet").to_pandas()
    labels, proba = in_memory(run_dir, frame)
    assert len(out) == len(frame) == manifest["rows"] == 640
    assert out["id"].tolist() == frame["key"].tolist()
    np.testing.assert_array_equal(out["label"].to_numpy(), labels)
    P = out[["p_cat", "p_dog", "p_eel"]].to_numpy()
    np.testing.assert_allclose(P, proba, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["confidence"], proba.max(1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["weight"], out["confidence"])
    assert set(out["source"]) == {"model"}
    assert set(out["model_version"]) == {load_run(run_dir).model_version}
    # batches never exceed batch_rows (row groups of 50 → batches of 37 and 13), progress is monotone
    steps = np.diff([0, *seen])
    assert steps.max() <= 37 and seen[-1] == 640 and (steps > 0).all()
    assert manifest["row_groups"] == 5 + 1 + 9  # the empty file has one empty row group
    assert manifest["files"] == ["out.parquet"]
    side = json.loads((tmp_path / "out.parquet.manifest.json").read_text())
    assert side["rows"] == 640 and side["model_version"] == load_run(run_dir).model_version


def test_scorer_on_a_frame_equals_the_engine(run_dir, dataset, tmp_path):
    source, frame = dataset
    whole = Scorer(run_dir).score_frame(frame)
    label_dataset(run_dir, source, tmp_path / "out.parquet", batch_rows=1000)
    pd.testing.assert_frame_equal(read_labels(tmp_path / "out.parquet").to_pandas(), whole)


def test_human_labels_pass_through(run_dir, dataset, tmp_path):
    source, frame = dataset
    label_dataset(run_dir, source, tmp_path / "out.parquet")
    out = read_labels(tmp_path / "out.parquet").to_pandas()
    human = frame["animal"].notna().to_numpy()
    assert human.sum() == 10
    assert (out["source"][human] == "human").all() and (out["source"][~human] == "model").all()
    assert out["label"][human].tolist() == frame["animal"][human].tolist()
    assert (out["confidence"][human] == 1).all() and (out["weight"][human] == 1).all()


@pytest.mark.parametrize("n_shards", [1, 3, 20])
def test_union_of_shards_equals_a_single_run(run_dir, dataset, tmp_path, n_shards):
    source, _ = dataset
    label_dataset(run_dir, source, tmp_path / "single.parquet")
    single = read_labels(tmp_path / "single.parquet").to_pandas()
    for i in reversed(range(n_shards)):  # any order
        label_dataset(run_dir, source, tmp_path / "sharded", shard=f"{i}/{n_shards}", batch_rows=16)
    pd.testing.assert_frame_equal(read_labels(tmp_path / "sharded").to_pandas(), single)


def test_row_numbers_are_global_when_the_run_has_no_id_column(run_dir_no_id, dataset, tmp_path):
    source, frame = dataset
    for i in range(4):
        label_dataset(run_dir_no_id, source, tmp_path / "out", shard=(i, 4), batch_rows=23)
    out = read_labels(tmp_path / "out").to_pandas()
    assert out["id"].tolist() == list(range(len(frame)))
    labels, _ = in_memory(run_dir_no_id, frame)
    human = frame["animal"].notna().to_numpy()
    np.testing.assert_array_equal(out["label"][~human], labels[~human])


def test_a_missing_shard_is_refused_and_a_rerun_replaces_its_files(run_dir, dataset, tmp_path):
    source, _ = dataset
    sink = tmp_path / "out"
    label_dataset(run_dir, source, sink, shard="0/2")
    with pytest.raises(ValueError, match=r"shard\(s\) \[1\] of 2"):
        read_labels(sink)
    label_dataset(run_dir, source, sink, shard="1/2")
    label_dataset(run_dir, source, sink, shard="1/2")  # again: the earlier attempt's file goes
    assert len(list(sink.glob("part-00001-of-00002-*.parquet"))) == 1
    assert len(read_labels(sink)) == 640


def test_a_failed_run_leaves_nothing(run_dir, dataset, tmp_path):
    source, frame = dataset
    bad = tmp_path / "bad"
    write_parquet(frame.iloc[:120], bad / "a.parquet", row_group_size=50)
    write_parquet(frame.iloc[120:200].drop(columns=["f3"]), bad / "b.parquet", row_group_size=50)
    with pytest.raises(InputError, match="f3"):
        label_dataset(run_dir, bad, tmp_path / "out.parquet")
    with pytest.raises(InputError, match="f3"):
        label_dataset(run_dir, bad, tmp_path / "outdir", shard="0/1")
    assert not (tmp_path / "out.parquet").exists() and not (tmp_path / "out.parquet.manifest.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad"]  # no temporary file left behind


def test_sources_file_directory_glob_and_list(dataset, tmp_path):
    source, _ = dataset
    files = resolve_files(source)
    assert [f.rsplit("/", 1)[1] for f in files] == ["part-0.parquet", "part-1.parquet", "part-2.parquet"]
    assert resolve_files(str(source / "part-*.parquet")) == files
    assert resolve_files([files[2], files[0]]) == [files[2], files[0]]
    (source / "_SUCCESS").write_text("")  # markers other writers leave are skipped
    assert resolve_files(source) == files
    with pytest.raises(FileNotFoundError):
        resolve_files(tmp_path / "nothing*.parquet")
    csv = tmp_path / "t.csv"
    csv.write_text("a\n1\n")
    with pytest.raises(ValueError, match="Parquet"):
        resolve_files(csv)


def test_shards_are_contiguous_balanced_and_cover_every_row_group(dataset):
    source, _ = dataset
    units = plan_units(resolve_files(source))
    assert [u.rows for u in units] == [50, 50, 50, 50, 30, 0, 50, 50, 50, 50, 50, 50, 50, 50, 10]
    assert [u.offset for u in units] == list(np.cumsum([0] + [u.rows for u in units])[:-1])
    for n in (1, 2, 3, 5, 14, 30):
        parts = [shard_units(units, (i, n)) for i in range(n)]
        assert [u for part in parts for u in part] == units
        if n <= len(units):
            sizes = [sum(u.rows for u in part) for part in parts]
            assert max(sizes) - min(sizes) <= 2 * 50


def test_parse_shard_and_command_arguments(run_dir, dataset, tmp_path):
    assert parse_shard(None) == (0, 1) and parse_shard("2/5") == (2, 5) and parse_shard((1, 3)) == (1, 3)
    for bad in ("5/5", "-1/3", "1/0", "a/b", "3"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)
    source, _ = dataset
    with pytest.raises(ValueError, match="--address is for --engine ray"):
        predict_command(run_dir, source, tmp_path / "o.parquet", address="auto")
    with pytest.raises(ValueError, match="engine"):
        label_dataset(run_dir, source, tmp_path / "o.parquet", engine="spark")
    with pytest.raises(FileNotFoundError, match="model.joblib"):
        label_dataset(tmp_path, source, tmp_path / "o.parquet")
    manifest = predict_command(run_dir, source, tmp_path / "o", shard="0/1", progress=False)
    assert manifest["rows"] == 640 and (tmp_path / "o" / "part-00000-of-00001.manifest.json").exists()


def test_integer_classes_and_an_empty_dataset(tmp_path):
    import joblib

    from pseudolabel import SelfTrainer, __version__
    from pseudolabel.data.io import encode_target

    frame = make_table(200, 5, labeled=40).drop(columns=["key"])
    frame["animal"] = frame["animal"].map({"cat": 3, "dog": 7, "eel": 9}).astype("Int64")  # integers with gaps
    target = encode_target(frame["animal"])
    features = frame.drop(columns=["animal"])
    model = SelfTrainer(teacher="self", max_rounds=1, cv=None, random_state=0).fit(features, target.y)
    run = tmp_path / "run"
    run.mkdir()
    joblib.dump({"model": model, "codec": target.codec, "target": "animal", "id_column": None,
                 "columns": list(features.columns), "na_values": [], "version": __version__}, run / "model.joblib")
    write_parquet(frame, tmp_path / "d.parquet", 64)
    label_dataset(run, tmp_path / "d.parquet", tmp_path / "o.parquet")
    out = pq.read_table(tmp_path / "o.parquet").to_pandas()
    assert out["label"].dtype == np.int64 and set(out["label"]) <= {3, 7, 9}
    assert out["label"][:40].tolist() == frame["animal"][:40].astype(int).tolist()
    write_parquet(frame.iloc[:0], tmp_path / "empty.parquet", 64)
    m = label_dataset(run, tmp_path / "empty.parquet", tmp_path / "e.parquet")
    empty = pq.read_table(tmp_path / "e.parquet")
    assert m["rows"] == 0 and empty.num_rows == 0 and "p_3" in empty.schema.names


def test_progress_bar_shows_rows_per_second(run_dir, dataset, tmp_path, capsys):
    source, _ = dataset
    label_dataset(run_dir, source, tmp_path / "o.parquet", batch_rows=100, progress=True)
    err = capsys.readouterr().err
    assert "640/640 rows" in err and "rows/s" in err


def test_a_model_on_raw_columns_with_a_label_codec(dataset, tmp_path):
    """``model.joblib`` as ``pseudolabel fit`` stores it: the model takes the raw columns, a codec
    turns its classes into the user's labels."""
    import types

    import joblib

    from pseudolabel import SelfTrainer, __version__

    source, frame = dataset
    train = make_table(300, 0, labeled=60)
    columns = ["f0", "f1", "f2", "f3", "f4", "color"]
    codes = train["animal"].map({"cat": 0, "dog": 1, "eel": 2})
    y = np.array([None if pd.isna(v) else int(v) for v in codes], dtype=object)
    model = SelfTrainer(teacher="self", max_rounds=1, cv=None, random_state=0).fit(train[columns], y)
    codec = types.SimpleNamespace(user_values=np.vectorize({0: "cat", 1: "dog", 2: "eel"}.get, otypes=[object]))
    run = tmp_path / "run"
    run.mkdir()
    joblib.dump({"model": model, "codec": codec, "target": "animal", "id_column": "key", "columns": columns,
                 "na_values": [], "version": __version__}, run / "model.joblib")
    loaded = load_run(run)
    assert loaded.classes.tolist() == ["cat", "dog", "eel"]
    label_dataset(run, source, tmp_path / "o.parquet", batch_rows=41, human_labels=False)
    out = read_labels(tmp_path / "o.parquet").to_pandas()
    proba = model.predict_proba(frame[columns])
    np.testing.assert_array_equal(out["label"].to_numpy(), np.array(["cat", "dog", "eel"])[proba.argmax(1)])
    np.testing.assert_allclose(out[["p_cat", "p_dog", "p_eel"]].to_numpy(), proba, rtol=0, atol=1e-12)
    assert out["id"].tolist() == frame["key"].tolist()
    with pytest.raises(InputError, match="f4"):
        Scorer(run).score(frame.drop(columns=["f4"]))
