"""Optimisation: the optimiser and its parameter groups, the learning-rate schedule and the
ramp-up of the unsupervised terms. Pure functions of their arguments (no estimator state)."""

from __future__ import annotations

import math

import torch

OPTIMIZERS = ("sgd", "adam", "adamw")

DEFAULT_LR = {"sgd": 0.03, "adamw": 1e-3, "adam": 1e-3}
"""Learning rate when ``lr=None``: 0.03 is FixMatch's SGD rate (Sohn et al. 2020, USB's default);
1e-3 is Adam's default step size (Kingma & Ba 2015)."""

SGD_WEIGHT_DECAY = 5e-4
"""Weight decay with SGD: FixMatch's CIFAR-10 value (Sohn et al. 2020; USB ``weight_decay``)."""

ADAM_WEIGHT_DECAY = 1e-4
"""Weight decay with Adam(W) on vectors and images: a light default of this library (no paper)."""

TEXT_WEIGHT_DECAY = 0.01
"""AdamW weight decay when fine-tuning a text encoder: the BERT fine-tuning convention (Devlin et
al. 2019; the Hugging Face examples' default)."""

SGD_MOMENTUM = 0.9
"""Nesterov momentum of SGD: FixMatch's (Sohn et al. 2020) and USB's."""

TEXT_BACKBONE_LR_SCALE = 0.05
"""Backbone learning-rate factor for a text encoder (``backbone_lr_scale="auto"``): with AdamW's
1e-3 for the fresh heads the encoder gets 5e-5, the top of BERT's fine-tuning grid (Devlin et
al. 2019)."""

COSINE_DECAY = (7, 16)
"""``(a, b)`` of FixMatch's cosine decay ``lr·cos(aπk / bK)`` (Sohn et al. 2020): at the last step
the rate is ``cos(7π/16) ≈ 0.2`` of the start, not 0."""


def param_groups(net: torch.nn.Module, weight_decay: float, backbone_scale: float) -> list[dict]:
    """Four groups, (backbone | heads) × (decay | no decay): biases and 1-D parameters (norms)
    get no weight decay; ``lr_scale`` multiplies the scheduled rate of each group."""
    groups = {}
    for name, p in net.named_parameters():
        part = "backbone" if name.startswith("backbone.") else "heads"
        decay = not (p.ndim <= 1 or name.endswith(".bias"))
        groups.setdefault((part, decay), []).append(p)
    return [
        {"params": ps, "weight_decay": weight_decay if decay else 0.0,
         "lr_scale": float(backbone_scale) if part == "backbone" else 1.0}
        for (part, decay), ps in sorted(groups.items())
    ]


def build_optimizer(net: torch.nn.Module, kind: str, *, optimizer: str = "auto", lr: float | None = None,
                    weight_decay: float | None = None, backbone_lr_scale="auto") -> tuple[torch.optim.Optimizer, float]:
    """The optimiser for ``net`` and its base learning rate.

    ``"auto"``: SGD for images (FixMatch), AdamW otherwise. The backbone's learning rate is
    ``lr · backbone_lr_scale``: a pretrained encoder wants a small one while its fresh heads want
    a large one (``"auto"``: :data:`TEXT_BACKBONE_LR_SCALE` for a text encoder, else 1).
    """
    name = optimizer
    if name == "auto":
        name = "sgd" if kind == "image" else "adamw"
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be 'auto', 'sgd', 'adam' or 'adamw', got {optimizer!r}")
    base_lr = lr if lr is not None else DEFAULT_LR[name]
    if weight_decay is None:
        weight_decay = SGD_WEIGHT_DECAY if name == "sgd" else ADAM_WEIGHT_DECAY if kind != "tokens" else TEXT_WEIGHT_DECAY
    scale = backbone_lr_scale
    if scale == "auto":
        scale = TEXT_BACKBONE_LR_SCALE if kind == "tokens" else 1.0
    groups = param_groups(net, weight_decay, scale)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=base_lr, momentum=SGD_MOMENTUM, nesterov=True), base_lr
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=base_lr), base_lr
    return torch.optim.Adam(groups, lr=base_lr), base_lr


def lr_at(step: int, total: int | None, base_lr: float, *, warmup_steps: int = 0, schedule: str = "cosine") -> float:
    """FixMatch's cosine decay ``lr·cos(7πk / 16K)`` after an optional linear warm-up
    (``schedule="constant"``, or an unknown step budget: the base rate after the warm-up)."""
    if warmup_steps and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if schedule == "constant" or total is None:
        return base_lr
    if schedule != "cosine":
        raise ValueError(f"lr_schedule must be 'cosine' or 'constant', got {schedule!r}")
    k = min(step, total)
    a, b = COSINE_DECAY
    return base_lr * math.cos(a * math.pi * k / (b * max(total, 1)))


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    """Every group at ``lr`` times its ``lr_scale``."""
    for g in opt.param_groups:
        g["lr"] = lr * g["lr_scale"]


def unsup_ramp(step: int, total: int | None, warmup: float) -> float:
    """Weight of the unsupervised terms at ``step``: a linear ramp-up over ``warmup`` (a fraction of
    the step budget when < 1, else a number of steps); 1 without one.

    The model first learns from the labels, so adaptive thresholds that start near zero
    (FlexMatch, FreeMatch, SoftMatch) do not commit to pseudo-labels of a random network (the ramp
    of Mean Teacher, Tarvainen & Valpola 2017).
    """
    w = float(warmup or 0.0)
    if w <= 0:
        return 1.0
    steps = w * total if w < 1 and total is not None else w
    return min(1.0, (step + 1) / max(steps, 1.0))
