"""Weight-space ensembling of a fine-tuned model with its starting point (WiSE-FT).

Wortsman et al. 2022, "Robust fine-tuning of zero-shot models": when fine-tuning starts from
pretrained weights ``θ₀`` (here: the linear probe on the frozen encoder, LP-FT), the linear
interpolation ``θ_α = (1 − α) θ₀ + α θ_ft`` keeps much of what fine-tuning learned and much of
the robustness of the start: the paper reports it at least as accurate as either end in
distribution and better under distribution shift (α = 0.5 is its default mixing weight).
Meaningful only when both ends share the pretrained initialisation; for a randomly initialised
network ``θ₀`` is noise.
"""

from __future__ import annotations

import torch


def check_alpha(alpha: float) -> float:
    """``alpha`` as a float in [0, 1], or a ValueError that names ``wise_alpha``."""
    a = float(alpha)
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"wise_alpha must lie in [0, 1] (1 = the fine-tuned weights, 0 = the start), got {alpha}")
    return a


def interpolate_state(start: dict, end: dict, alpha: float) -> dict:
    """``(1 − α)·start + α·end`` for every floating-point tensor; other entries (integer
    buffers such as BatchNorm's step counter) are taken from ``end``."""
    a = check_alpha(alpha)
    if start.keys() != end.keys():
        raise ValueError("start and end states name different tensors: they are not the same architecture")
    out = {}
    for k, v in end.items():
        s = start[k]
        if torch.is_floating_point(v):
            out[k] = torch.lerp(s.to(v.dtype), v, a) if a != 1.0 else v.clone()
        else:
            out[k] = v.clone()
    return out
