"""Dataset loaders on tiny fixture files in the real formats, plus the real data when it is present."""

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from pseudolabel.data import datasets as ds

FIXTURES = Path(__file__).parent / "fixtures"


# ---------------------------------------------------------------------------- AG News
def test_ag_news_train_tsv_and_official_test_csv():
    d = ds.load("ag_news", FIXTURES)
    assert d.classes == ["World", "Sports", "Business", "Sci/Tech"]
    assert d.y_train.tolist() == [0, 1, 2, 3, 0]
    assert d.X_train[1] == "The home side won 3-1 after a late surge."  # backslash = line break
    assert d.X_train[2] == "Shares of Foo Inc. rose #39;sharply#39; today."  # entities left as they are
    # test.csv: 1-based class index, quoted fields with "" escapes; description only by default
    assert d.y_test.tolist() == [2, 3, 1, 0]
    assert d.X_test[1] == 'SPACE.com - A second team of rocketeers competing for the "X Prize" announced a date.'
    assert d.X_test[2] == "The match ended, with a result, in extra time."
    assert d.modality == "text" and len(d.meta["files"]) == 3


def test_ag_news_title_plus_description():
    d = ds.load_ag_news(FIXTURES, test_fields="title+description")
    assert d.X_test[3] == "Summit Leaders meet."
    with pytest.raises(ValueError, match="test_fields"):
        ds.load_ag_news(FIXTURES, test_fields="title")


def test_ag_news_bad_label_names_the_file_and_line(tmp_path):
    shutil.copytree(FIXTURES / "ag_news", tmp_path / "ag_news")
    with open(tmp_path / "ag_news" / "alps_train_subset10k.tsv", "a", encoding="utf-8") as fh:
        fh.write("Something odd\tWeather\n")
    with pytest.raises(ValueError, match=r"alps_train_subset10k.tsv:6: label 'Weather'"):
        ds.load("ag_news", tmp_path)


# ---------------------------------------------------------------------------- Kim-format sentence sets
def test_trec_reads_latin1_and_keeps_form_feeds_inside_a_line():
    d = ds.load("trec", FIXTURES)
    assert len(d.X_train) == 7 and d.y_train.tolist() == [0, 1, 2, 3, 4, 5, 0]
    assert d.X_train[3] == "Who was the café owner in Casablanca ?"
    assert d.X_train[4] == "Where is the \x0cEiffel Tower ?"
    assert d.y_test.tolist() == [3, 5] and d.n_classes == 6


def test_sst2_official_split_with_dev_in_meta():
    d = ds.load("sst2", FIXTURES)
    assert d.y_train.tolist() == [1, 0, 1] and d.X_test == ["dull and tedious .", "great fun ."]
    dev_texts, dev_y = d.meta["dev"]
    assert dev_texts == ["lovely ."] and dev_y.tolist() == [1]


def test_mr_fixed_stratified_split_is_deterministic():
    a, b = ds.load("mr", FIXTURES), ds.load("mr", FIXTURES)
    assert len(a.X_train) == 8 and len(a.X_test) == 2
    assert sorted(a.y_test.tolist()) == [0, 1]  # stratified
    assert a.X_test == b.X_test
    assert set(a.X_train).isdisjoint(a.X_test)


def test_kim_line_without_integer_label_is_an_error(tmp_path):
    (tmp_path / "sentence_cls").mkdir()
    (tmp_path / "sentence_cls" / "TREC.train.all").write_text("DESC how are you ?\n")
    (tmp_path / "sentence_cls" / "TREC.test.all").write_text("0 ok ?\n")
    with pytest.raises(ValueError, match=r"TREC.train.all:1: expected '<integer label> <text>'"):
        ds.load("trec", tmp_path)


# ---------------------------------------------------------------------------- MNIST IDX
def _idx(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


@pytest.fixture
def tiny_mnist(tmp_path):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    ytr, yte = np.arange(7) % 10, np.array([9, 8, 7])
    d = tmp_path / "mnist"
    d.mkdir()
    raw = _idx(train)
    cuts = [0, 16 + 3 * 784, 16 + 5 * 784, len(raw)]  # header + 3 images, 2 images, 2 images
    for i in range(3):  # consecutive gzip members, one per part, as in ../shared/data
        (d / f"train-images-idx3-ubyte.gz.part{i}").write_bytes(gzip.compress(raw[cuts[i] : cuts[i + 1]]))
    (d / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(ytr)))
    (d / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(test)))
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(yte)))
    return tmp_path, train, ytr, test, yte


def test_mnist_from_gzip_parts(tiny_mnist):
    root, train, ytr, test, yte = tiny_mnist
    d = ds.load("mnist", root)
    np.testing.assert_allclose(d.X_train, train.reshape(7, -1) / 255.0, atol=1e-7)
    np.testing.assert_allclose(d.X_test, test.reshape(3, -1) / 255.0, atol=1e-7)
    assert d.y_train.tolist() == ytr.tolist() and d.y_test.tolist() == yte.tolist()
    assert d.image_shape == (1, 28, 28) and len(d.meta["files"]) == 6


def test_mnist_single_gzip_file_also_works(tiny_mnist):
    root, train, *_ = tiny_mnist
    d = root / "mnist"
    parts = sorted(d.glob("train-images-idx3-ubyte.gz.part*"))
    (d / "train-images-idx3-ubyte.gz").write_bytes(b"".join(p.read_bytes() for p in parts))  # multi-member gzip
    for p in parts:
        p.unlink()
    np.testing.assert_allclose(ds.load("mnist", root).X_train, train.reshape(7, -1) / 255.0, atol=1e-7)


def test_read_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x01\x02\x08\x01" + (3).to_bytes(4, "big") + b"\x00\x00\x00")
    with pytest.raises(ValueError, match="bad magic number"):
        ds.read_idx(bad)
    short = tmp_path / "short.idx"
    short.write_bytes(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + b"\x00\x00")
    with pytest.raises(ValueError, match=r"header says \[5\] but holds 2 values"):
        ds.read_idx(short)


# ---------------------------------------------------------------------------- missing data, hashes, labels
@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("ag_news", "AG News"), ("trec", "sentence_cls"),
                                         ("sst2", "sentence_cls"), ("mr", "sentence_cls")])
def test_missing_folder_names_what_is_missing(tmp_path, name, folder):
    with pytest.raises(FileNotFoundError, match=rf"{folder} folder not found at .*--data-dir \(or \$PSEUDOLABEL_DATA\)"):
        ds.load(name, tmp_path)


def test_missing_file_inside_folder_is_named(tmp_path):
    shutil.copytree(FIXTURES / "sentence_cls", tmp_path / "sentence_cls")
    (tmp_path / "sentence_cls" / "TREC.test.all").unlink()
    with pytest.raises(FileNotFoundError, match="sentence_cls/TREC.test.all not found"):
        ds.load("trec", tmp_path)


def test_data_dir_env_variable(monkeypatch):
    monkeypatch.setenv("PSEUDOLABEL_DATA", str(FIXTURES))
    assert ds.data_dir() == FIXTURES
    assert ds.load("trec").y_test.tolist() == [3, 5]


def test_source_hash_follows_file_content(tmp_path):
    shutil.copytree(FIXTURES / "sentence_cls", tmp_path / "sentence_cls")
    h1 = ds.source_hash(ds.load("trec", tmp_path))
    assert h1 == ds.source_hash(ds.load("trec", tmp_path))
    with open(tmp_path / "sentence_cls" / "TREC.test.all", "ab") as fh:
        fh.write(b"0 one more ?\n")
    assert ds.source_hash(ds.load("trec", tmp_path)) != h1
    assert len(ds.source_hash(ds.load("digits"))) == 64  # shipped data: hashed by its description


def test_sample_labels_stratified_seeded():
    y = np.repeat(np.arange(3), 10)
    a = ds.sample_labels(y, 4, seed=0)
    assert np.bincount(a[a >= 0]).tolist() == [4, 4, 4]
    assert (a[a >= 0] == y[a >= 0]).all() and (a == -1).sum() == 18
    assert np.array_equal(a, ds.sample_labels(y, 4, seed=0))
    assert not np.array_equal(a, ds.sample_labels(y, 4, seed=1))
    with pytest.raises(ValueError, match="class 0 has only 10 rows, fewer than 11"):
        ds.sample_labels(y, 11, seed=0)


# ---------------------------------------------------------------------------- the real data (skipped when absent)
REAL = ds.data_dir()
COUNTS = {"ag_news": (10001, 7600, 4), "trec": (5452, 500, 6), "sst2": (6920, 1821, 2), "mr": (8529, 2133, 2)}


@pytest.mark.parametrize("name", list(COUNTS))
def test_real_text_sets_match_their_readme(name):
    sub = "ag_news" if name == "ag_news" else "sentence_cls"
    if not (REAL / sub).is_dir():
        pytest.skip(f"real data not present at {REAL / sub}")
    d = ds.load(name, REAL)
    n_train, n_test, k = COUNTS[name]
    assert (len(d.X_train), len(d.X_test), d.n_classes) == (n_train, n_test, k)
    assert d.y_train.min() == 0 and d.y_train.max() == k - 1


def test_real_mnist_matches_its_readme():
    if not (REAL / "mnist").is_dir():
        pytest.skip(f"real data not present at {REAL / 'mnist'}")
    d = ds.load("mnist", REAL)
    assert d.X_train.shape == (60000, 784) and d.X_test.shape == (10000, 784)
    assert np.bincount(d.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
