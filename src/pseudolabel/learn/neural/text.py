"""Text: raw strings in, MiniLM (or any sentence-transformers model on disk) as the backbone.

Two modes (``ConsistencyClassifier(text=...)``):

* ``"frozen"``: the encoder embeds every text once; embeddings are cached on disk keyed by the
  model's identity and a hash of the texts (``pseudolabel.data.embed.embed_texts``) and the
  student is an MLP on them with vector views;
* ``"finetune"``: :class:`TextBackbone` is the sentence-transformers model's transformer as a
  ``torch.nn.Module`` (mean pooling on top), trained end to end with a classification head. Texts
  are tokenised once into padded id tensors; views edit token ids (``augment.TokenDropout``,
  ``RandomSwap``, ``SpanDeletion``) and the encoder's own dropout is the "dropout noise".

Nothing is downloaded: models are read from disk with the hub switched off.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from pseudolabel.learn.neural.augment import Compose, _TokenAugmenter


class TextBackbone(nn.Module):
    """Transformer of a sentence-transformers model + masked mean pooling: ids ``(n, L)`` → ``(n, d)``."""

    def __init__(self, model: str | os.PathLike = "all-MiniLM-L6-v2", max_length: int = 64, normalize: bool = False):
        super().__init__()
        self.normalize = normalize  # True: the sentence-transformers embedding itself (unit rows)
        from pseudolabel.data.embed import load_encoder

        st = load_encoder(model)
        self.encoder = st[0].auto_model
        self.tokenizer = st.tokenizer
        self.max_length = max_length
        self.pad_id = int(self.tokenizer.pad_token_id or 0)
        self.out_features = int(self.encoder.config.hidden_size)

    @property
    def special_ids(self) -> tuple[int, ...]:
        return tuple(sorted({int(i) for i in self.tokenizer.all_special_ids} | {self.pad_id}))

    @property
    def mask_id(self) -> int | None:
        return self.tokenizer.mask_token_id

    def tokenize(self, texts) -> torch.Tensor:
        """Padded ``(n, max_length)`` int64 token ids (``[CLS] … [SEP]``, then ``pad_id``)."""
        enc = self.tokenizer([str(t) for t in texts], padding="max_length", truncation=True,
                             max_length=self.max_length, return_tensors="pt")
        return enc["input_ids"].long()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = ids != self.pad_id
        width = int(mask.sum(dim=1).max().clamp_min(1))  # drop all-pad columns: cost follows real length
        ids, mask = ids[:, :width], mask[:, :width]
        hidden = self.encoder(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(dim=1) / m.sum(dim=1).clamp_min(1.0)
        return torch.nn.functional.normalize(pooled, dim=1) if self.normalize else pooled


class Standardize(nn.Module):
    """Fixed ``(x − mean) / std`` (the input scaling a frozen-embedding model was trained with)."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, x):
        return (x - self.mean) / self.std


def warm_start_backbone(text_backbone: TextBackbone, frozen) -> nn.Module:
    """Encoder → (standardise) → the MLP body of a fitted ``text="frozen"`` model: on token ids it
    computes what the frozen model computed on cached embeddings, so fine-tuning starts from the
    frozen model's accuracy ("linear probe, then fine-tune", Kumar et al. 2022)."""
    import copy

    parts = [text_backbone]
    if getattr(frozen, "standardize", False):
        parts.append(Standardize(frozen.input_mean_, frozen.input_std_))
    parts.append(copy.deepcopy(frozen.model_.backbone))
    return nn.Sequential(*parts)


def configure_token_views(view, pad_id: int, special_ids: tuple[int, ...], mask_id: int | None) -> None:
    """Tell token augmenters (also inside ``Compose``) the tokenizer's pad / special ids."""
    stack = [view]
    while stack:
        v = stack.pop()
        if isinstance(v, Compose):
            stack.extend(v.augmenters)
        elif isinstance(v, _TokenAugmenter):
            v.pad_id = pad_id
            v.special_ids = tuple(special_ids)
            if getattr(v, "mask_id", None) is not None and mask_id is not None:
                v.mask_id = mask_id


def embed_frozen(texts, model="all-MiniLM-L6-v2", cache=None, batch_size: int = 64):
    """Cached sentence embeddings (float32, unit rows) of ``texts``."""
    from pseudolabel.data.embed import embed_texts

    return embed_texts(list(texts), model, cache=cache, batch_size=batch_size)
