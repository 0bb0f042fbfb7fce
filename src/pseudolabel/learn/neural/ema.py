"""EMA teacher (Mean Teacher, Tarvainen & Valpola 2017; the EMA model of FixMatch/USB).

``θ_t ← m θ_t + (1 − m) θ_s`` after every optimiser step. Buffers (BatchNorm running statistics,
step counters) are copied from the student rather than averaged, as in ShrinkMatch and USB.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from pseudolabel.learn.neural.defaults import EMA_MOMENTUM

WARMUP_OFFSET = 10
"""``m_t = min(m, (1 + t) / (WARMUP_OFFSET + t))``: the momentum warm-up of TensorFlow's
``ExponentialMovingAverage(num_updates=...)``."""


def frozen_copy(model: nn.Module) -> nn.Module:
    """A copy in eval mode whose parameters take no gradient (a teacher: EMA or fixed)."""
    out = copy.deepcopy(model).eval()
    for p in out.parameters():
        p.requires_grad_(False)
    return out


class ModelEMA:
    """An exponential moving average copy of a model, kept in eval mode."""

    def __init__(self, model: nn.Module, momentum: float = EMA_MOMENTUM):
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"ema momentum must lie in [0, 1), got {momentum}")
        self.momentum = momentum
        self.module = frozen_copy(model)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int | None = None) -> None:
        """One EMA step. With ``step`` the momentum is ``min(m, (1 + step) / (10 + step))`` (the
        warm-up of TensorFlow's ``ExponentialMovingAverage(num_updates=...)``): a 0.999 average
        of a few hundred CPU steps would otherwise still be mostly the random initialisation."""
        m = self.momentum if step is None else min(self.momentum, (1.0 + step) / (WARMUP_OFFSET + step))
        for t, s in zip(self.module.parameters(), model.parameters(), strict=True):
            t.mul_(m).add_(s.detach(), alpha=1.0 - m)
        for t, s in zip(self.module.buffers(), model.buffers(), strict=True):
            t.copy_(s)

    def state_dict(self) -> dict:
        return self.module.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state)
