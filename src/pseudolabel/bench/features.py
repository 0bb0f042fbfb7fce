"""Feature matrices the benchmark runs on: one fixed featurisation per dataset, shared by every method.

- digits, mnist1d: the raw values (64 pixels, 40 samples of the 1-D signal).
- MNIST: PCA to 50 components fitted on the 60,000 *train* images (no labels, no test rows). On raw
  784 pixels the logistic-regression student takes ~12 s per fit with one thread, ~25× longer than
  on 50 components, at 1 point of fully supervised accuracy (92.2% vs 91.2%); self-training refits
  it dozens of times per run.
- Text: sentence embeddings from the offline all-MiniLM-L6-v2 model (384-d, unit norm).
- Tabular (``datasets.TABULAR_DATASETS``): ``TabularEncoder`` fitted on the *train* rows only (no
  labels, no test rows): numbers median-imputed and standardised, categories one-hot and left
  unscaled. ``Features.binary_mask`` marks the 0/1 features, so a model that standardises its
  input can leave those alone.

Embeddings are cached on disk under ``<cache>/features/`` (``$PSEUDOLABEL_CACHE``, else
``~/.cache/pseudolabel``) as ``<dataset>-<model id>-<sha256 of the source files>.npz``: a changed
data file or model gives a new key, a rerun reads the cache. The model runs in a spawned child
process, so the benchmark process never imports torch and can fork clean workers whose memory
baseline does not include the encoder.
"""

from __future__ import annotations

import importlib.util
import multiprocessing as mp
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pseudolabel.data import datasets as ds

FEATURE_VERSION = "1"  # bump when a featurisation below changes


@dataclass
class Features:
    """Numeric train/test matrices for one dataset plus what the report needs to describe them."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    description: str
    meta: dict = field(default_factory=dict)
    # True for features that only take the values 0 and 1 (one-hot, binary, missing indicators):
    # re-scaling them would turn a rare category into a huge value. None = not known (non-tabular).
    binary_mask: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def info(self) -> dict:
        counts = np.bincount(self.y_train, minlength=self.n_classes)
        return {
            "n_train": int(len(self.y_train)),
            "n_test": int(len(self.y_test)),
            "n_classes": self.n_classes,
            "classes": list(self.classes),
            "dim": int(self.X_train.shape[1]),
            "features": self.description,
            "min_class_count": int(counts.min()),
            **{k: v for k, v in self.meta.items() if isinstance(v, str | int | float)},
        }


def feature_cache_dir(cache: str | os.PathLike | None = None) -> Path:
    from pseudolabel.data.embed import cache_dir

    return cache_dir(cache) / "features"


def load_features(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    cache: str | os.PathLike | None = None,
    model: str = "all-MiniLM-L6-v2",
    embed_threads: int | None = None,
) -> Features:
    """Load dataset ``name`` and turn it into the benchmark's numeric features (see module doc)."""
    d = ds.load(name, data_dir)
    binary_mask = None
    meta = {"split": d.meta.get("split", ""), "source_sha256": ds.source_hash(d)}
    if d.modality == "text":
        Xtr, Xte, key = _embedded(d, model, cache, embed_threads)
        desc = f"{model} sentence embeddings (384-d, unit norm)"
        meta["embedding_cache_key"] = key
    elif name == "mnist":
        Xtr, Xte = _pca(d.X_train, d.X_test, 50)
        desc = "PCA-50 of the pixels (fitted on the train images only)"
    elif d.modality == "tabular":
        Xtr, Xte, desc, binary_mask = _tabular(d)
        meta["n_binary_features"] = int(binary_mask.sum())
    else:
        Xtr, Xte = np.asarray(d.X_train, dtype=np.float64), np.asarray(d.X_test, dtype=np.float64)
        desc = f"raw values ({Xtr.shape[1]} columns)"
    return Features(
        name=name,
        X_train=np.ascontiguousarray(Xtr, dtype=np.float64),
        y_train=np.asarray(d.y_train, dtype=np.int64),
        X_test=np.ascontiguousarray(Xte, dtype=np.float64),
        y_test=np.asarray(d.y_test, dtype=np.int64),
        classes=list(d.classes),
        description=desc,
        meta=meta,
        binary_mask=binary_mask,
    )


def _tabular(d: ds.Dataset) -> tuple[np.ndarray, np.ndarray, str, np.ndarray]:
    """TabularEncoder fitted on the train rows (target-free), applied to train and test."""
    from pseudolabel.data.tabular import TabularEncoder

    enc = TabularEncoder().fit(d.X_train)
    Xtr, Xte = enc.transform(d.X_train), enc.transform(d.X_test)
    kinds = list(enc.column_kinds_.values())
    parts = [f"{kinds.count('numeric')} numeric (standardised)"]
    if kinds.count("binary"):
        parts.append(f"{kinds.count('binary')} binary (0/1)")
    parts.append(f"{kinds.count('categorical')} categorical (one-hot, unscaled)")
    desc = f"TabularEncoder: {', '.join(parts)} → {Xtr.shape[1]} features"
    return Xtr, Xte, desc, enc.binary_mask_.copy()


def _pca(Xtr: np.ndarray, Xte: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.decomposition import PCA

    pca = PCA(n_components=k, svd_solver="randomized", random_state=0).fit(Xtr)
    return pca.transform(Xtr), pca.transform(Xte)


def _embedded(d: ds.Dataset, model: str, cache, embed_threads) -> tuple[np.ndarray, np.ndarray, str]:
    from pseudolabel.data.embed import model_id

    key = f"{d.name}-{model_id(model)}-{ds.source_hash(d)[:16]}-v{FEATURE_VERSION}"
    if d.name == "ag_news":
        key += f"-{d.meta.get('test_fields', 'description').replace('+', '_')}"
    path = feature_cache_dir(cache) / f"{key}.npz"
    if not path.exists():
        if importlib.util.find_spec("sentence_transformers") is None:
            raise ImportError(
                f"{d.name} is a text dataset: embedding it needs the text extra "
                "(pip install 'pseudolabel[text]'), or a cached copy at " + str(path)
            )
        texts = list(d.X_train) + list(d.X_test)
        threads = embed_threads or os.cpu_count() or 1
        ctx = mp.get_context("spawn")
        proc = ctx.Process(target=_embed_to_file, args=(texts, model, str(path), threads), daemon=True)
        proc.start()
        proc.join()
        if proc.exitcode != 0 or not path.exists():
            raise RuntimeError(
                f"embedding {d.name} with {model} failed (exit code {proc.exitcode}); run "
                "pseudolabel.data.embed.embed_texts on a few of its texts to see the error"
            )
    with np.load(path) as z:
        E = z["X"]
    n = len(d.y_train)
    if len(E) != n + len(d.y_test):
        raise RuntimeError(f"cached embeddings {path} hold {len(E)} rows, expected {n + len(d.y_test)}; delete the file")
    return E[:n], E[n:], key


def _embed_to_file(texts: list[str], model: str, path: str, threads: int) -> None:
    """Child-process body: embed and write ``{X}`` atomically (torch stays out of the parent)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    from pseudolabel.data.embed import embed_texts
    from pseudolabel.data.io import atomic_path

    torch.set_num_threads(threads)
    E = embed_texts(texts, model, cache=False)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, X=E)
