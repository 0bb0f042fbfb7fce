"""Backbones and the network the trainer builds around them.

A backbone maps a batch to features ``(n, d)``; :class:`Network` adds what the methods need on
top: one or more linear classification heads (several = the UPL-SFDA multi-head teacher), an
optional projection for SimMatch's instance similarities and an optional auxiliary head for
ShrinkMatch. A user's own ``torch.nn.Module`` is used as the backbone unchanged; its output
width is found with one dry forward pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MLP(nn.Module):
    """Fully connected backbone for vectors and embeddings: ``[Linear → ReLU → Dropout] × L``."""

    def __init__(self, in_features: int, hidden: tuple[int, ...] = (256, 256), dropout: float = 0.1):
        super().__init__()
        layers: list[nn.Module] = []
        d = in_features
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU(), nn.Dropout(dropout)]
            d = h
        self.body = nn.Sequential(*layers)
        self.out_features = d

    def forward(self, x):
        return self.body(x.flatten(1))


class SmallCNN(nn.Module):
    """Small VGG-style CNN for 28×28-ish images, sized for 2 CPU cores.

    Three stages of ``[conv3×3 → BN → ReLU] ×2`` (the last stage once) with max-pooling, then
    global average pooling: ``width, 2·width, 4·width`` channels (≈5.5M multiply-adds per 28×28
    image at width 16, ~60k parameters).
    """

    def __init__(self, in_channels: int = 1, width: int = 16):
        super().__init__()

        def block(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        w = width
        self.body = nn.Sequential(
            *block(in_channels, w), *block(w, w), nn.MaxPool2d(2),
            *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool2d(2),
            *block(2 * w, 4 * w), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.out_features = 4 * w

    def forward(self, x):
        return self.body(x)


class Network(nn.Module):
    """Backbone + heads. ``forward(x)`` returns ``(features, logits)`` with logits ``(H, n, K)``.

    n_heads : classification heads on the shared features (UPL-SFDA uses 4). In training mode
        each head sees its own dropout mask of the features (``head_dropout``), the perturbation
        that makes the heads disagree where the features are ambiguous.
    proj_dim : width of SimMatch's L2-normalised projection (0 = none).
    aux_head : add ShrinkMatch's auxiliary head (3-layer MLP at width/4, BN, LeakyReLU(0.1)).
    """

    def __init__(self, backbone: nn.Module, in_features: int, n_classes: int, *, n_heads: int = 1,
                 head_dropout: float = 0.0, proj_dim: int = 0, aux_head: bool = False):
        super().__init__()
        self.backbone = backbone
        self.heads = nn.ModuleList(nn.Linear(in_features, n_classes) for _ in range(n_heads))
        self.head_dropout = head_dropout
        self.proj = None
        if proj_dim:
            self.proj = nn.Sequential(nn.Linear(in_features, in_features), nn.ReLU(), nn.Linear(in_features, proj_dim))
        self.aux = None
        if aux_head:
            h = max(in_features // 4, 8)
            self.aux = nn.Sequential(
                nn.Linear(in_features, h), nn.BatchNorm1d(h), nn.LeakyReLU(0.1),
                nn.Linear(h, h), nn.BatchNorm1d(h), nn.LeakyReLU(0.1),
                nn.Linear(h, n_classes),
            )

    channels_last = False  # set by the trainer for image backbones: faster CPU convolutions

    def forward(self, x):
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        feat = self.backbone(x)
        if feat.dim() != 2:
            feat = feat.flatten(1)
        return feat, self.classify(feat)

    def classify(self, feat: torch.Tensor) -> torch.Tensor:
        if self.head_dropout > 0 and self.training and len(self.heads) > 1:
            return torch.stack([h(F.dropout(feat, self.head_dropout, True)) for h in self.heads])
        return torch.stack([h(feat) for h in self.heads])

    def embed(self, feat: torch.Tensor) -> torch.Tensor:
        """SimMatch projection, L2-normalised."""
        if self.proj is None:
            raise ValueError("this network has no projection head; build it with proj_dim > 0")
        return F.normalize(self.proj(feat), dim=1)


def feature_width(backbone: nn.Module, example: torch.Tensor) -> int:
    """Output width of ``backbone`` from one dry forward pass on two example rows."""
    attr = getattr(backbone, "out_features", None)
    if isinstance(attr, int):
        return attr
    was = backbone.training
    backbone.eval()
    with torch.no_grad():
        out = backbone(example[:2])
    backbone.train(was)
    if isinstance(out, tuple | list):
        raise TypeError("the backbone must return one tensor of features (n, d), not a tuple")
    return int(out.flatten(1).shape[1])
