"""Zero-shot teacher: class names embedded with the data's encoder, cosine → softmax.

CLIP-style zero-shot labeling (Radford et al. 2021, "Learning Transferable Visual Models From
Natural Language Supervision"), used as the pseudo-label source in GRIP (Menghini et al. 2023,
"Enhancing CLIP with CLIP"). For text, class names or descriptions and the rows are embedded by
the same sentence encoder (the ``text`` extra: the offline all-MiniLM-L6-v2 model) and

    p_ik = softmax_k( cos(e_i, t_k) / T )

where ``t_k`` is the unit mean of the embeddings of class k's descriptions (several descriptions
per class = prompt ensembling, as CLIP does). No label is needed; labeled rows are ignored.

**What X is.** Either a sequence of strings (embedded here, cached on disk by
``pseudolabel.data.embed.embed_texts``) or an (n, d) float array of embeddings made by the
*same* encoder (so it works inside ``SelfTrainer``, whose ``X`` must be numeric).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from pseudolabel.core.registry import register
from pseudolabel.ops.prototypes import unit_rows
from pseudolabel.ops.simplex import softmax


def _is_text(X) -> bool:
    """Whether ``X`` is a sequence of strings (else it must be an embedding matrix)."""
    if isinstance(X, str):
        raise TypeError("X must be a sequence of texts (or an embedding matrix), not a single string")
    arr = np.asarray(X)
    if arr.dtype.kind in "US":
        return True
    return arr.dtype.kind == "O" and arr.size > 0 and isinstance(arr.flat[0], str)


def class_descriptions(class_names, template: str = "{}") -> list[list[str]]:
    """Normalise ``class_names`` to one list of description strings per class (in class order).

    Accepts a list (one entry per encoded class: a string or a list of strings) or a dict
    ``{label: description(s)}``, ordered by sorted label like ``np.unique`` / SelfTrainer encodes.
    """
    if class_names is None:
        raise ValueError(
            "ZeroShotTeacher needs class_names: one name or description (or a list of them) per class, "
            "in the order of the sorted class labels, e.g. class_names=['negative review', 'positive review']"
        )
    if isinstance(class_names, dict):
        class_names = [class_names[k] for k in sorted(class_names)]
    out = []
    for entry in class_names:
        texts = [entry] if isinstance(entry, str) else list(entry)
        if not texts or not all(isinstance(t, str) for t in texts):
            raise ValueError(f"each class needs at least one description string; got {entry!r}")
        out.append([template.format(t) for t in texts])
    if len(out) < 2:
        raise ValueError(f"class_names must describe at least 2 classes, got {len(out)}")
    return out


@register("teacher", "zeroshot")
class ZeroShotTeacher(BaseEstimator):
    """Label rows by the cosine between their embedding and embedded class descriptions.

    class_names : one string or list of strings per class, in sorted-label order (or a dict
        ``{label: description(s)}``).
    template : format string applied to each description (e.g. ``"This text is about {}."``).
    temperature : softmax temperature T on cosines (0.05 for MiniLM, whose text–text cosines
        span a narrow range; CLIP uses 0.01).
    model : sentence-transformers model name or local path (default: the bundled MiniLM).
    cache : embedding cache folder for texts (``None`` = default cache, ``False`` = off).
    encoder : an already loaded encoder (``SentenceTransformer``-like ``.encode``); used instead
        of loading ``model``, without the disk cache.
    """

    def __init__(self, class_names=None, template: str = "{}", temperature: float = 0.05, model: str = "all-MiniLM-L6-v2", cache=None, encoder=None):
        self.class_names = class_names
        self.template = template
        self.temperature = temperature
        self.model = model
        self.cache = cache
        self.encoder = encoder

    def _embed(self, texts: list[str]) -> np.ndarray:
        from pseudolabel.data.embed import embed_texts

        if self.encoder is not None:
            return np.asarray(embed_texts(texts, cache=False, encoder=self.encoder), dtype=np.float64)
        # a cache miss loads the model from disk (~5 s); with cache=False every call does, so
        # pass encoder=load_encoder() when embedding many batches without a cache
        return np.asarray(embed_texts(texts, self.model, cache=self.cache), dtype=np.float64)

    def fit(self, X=None, y=None, sample_weight=None, *, n_classes: int | None = None) -> ZeroShotTeacher:
        """Embed the class descriptions; ``X`` and ``y`` are not needed (``y`` only checks K)."""
        if float(self.temperature) <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        desc = class_descriptions(self.class_names, self.template)
        k = int(n_classes) if n_classes is not None else None
        if k is None and y is not None and (np.asarray(y) >= 0).any():
            k = int(np.asarray(y).max()) + 1
        if k is not None and k > len(desc):
            raise ValueError(f"the data has {k} classes but class_names describes {len(desc)}; give one entry per class")
        flat = [t for texts in desc for t in texts]
        owner = np.repeat(np.arange(len(desc)), [len(t) for t in desc])
        E = unit_rows(self._embed(flat))
        anchors = np.stack([E[owner == c].mean(axis=0) for c in range(len(desc))])
        self.class_embeddings_ = unit_rows(anchors)
        self.n_classes_ = len(desc)
        return self

    def embed(self, X) -> np.ndarray:
        """Embeddings of ``X``: texts are encoded, a numeric matrix is passed through (checked)."""
        if _is_text(X):
            return self._embed([str(t) for t in X])
        E = np.asarray(X, dtype=np.float64)
        d = self.class_embeddings_.shape[1]
        if E.ndim != 2 or E.shape[1] != d:
            raise ValueError(
                f"X must be texts or embeddings from the same encoder ({d} dimensions); got shape {E.shape}. "
                "Embed the texts with pseudolabel.data.embed.embed_texts first"
            )
        return E

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "class_embeddings_")
        cos = unit_rows(self.embed(X)) @ self.class_embeddings_.T
        return softmax(cos / float(self.temperature), axis=1)

    def transduce(self, X, y=None, sample_weight=None, *, n_classes: int | None = None) -> np.ndarray:
        """``fit`` then ``predict_proba`` on the same rows."""
        return self.fit(X, y, sample_weight, n_classes=n_classes).predict_proba(X)
