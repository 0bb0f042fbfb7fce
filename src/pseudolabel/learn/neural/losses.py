"""Loss terms of the consistency loop (docs/neural.md).

Normalisation convention (documented in docs/neural.md): the unsupervised loss is averaged over
**all** unlabeled samples of the batch, ``L_u = Σ_i w_i CE(z_s,i, ŷ_i) / n_u`` (USB's
``consistency_loss``), not over the selected ones. A low mask ratio therefore means a small
loss, and ``λ_u`` keeps one meaning across selectors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def consistency_loss(logits_strong: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``Σ_i w_i CE(z_i, target_i) / n``; targets are class indices ``(n,)`` or soft rows ``(n, K)``."""
    if len(logits_strong) == 0:
        return logits_strong.sum() * 0.0
    if targets.dim() == 1:
        ce = F.cross_entropy(logits_strong, targets, reduction="none")
    else:
        ce = -(targets * F.log_softmax(logits_strong, dim=1)).sum(dim=1)
    return (weights * ce).sum() / len(logits_strong)


def fairness_loss(probs_strong: torch.Tensor, mask: torch.Tensor, p_tilde, h_tilde) -> torch.Tensor:
    """FreeMatch's self-adaptive fairness ``Σ_c a_c log b_c`` with gradients (torch twin of
    ``pseudolabel.select.fairness_loss``, which returns a NumPy float).

    ``a = SumNorm(p̃/h̃)`` from the selector's EMAs, ``b = SumNorm(p̄/h̄)`` from the masked
    strong-view probabilities; minimising it maximises a cross-entropy (USB issue #182).
    """
    sel = mask > 0
    if not sel.any():
        return probs_strong.sum() * 0.0
    q = probs_strong[sel]
    k = q.shape[1]
    p_bar = q.mean(dim=0)
    h_bar = torch.bincount(q.argmax(dim=1), minlength=k).to(q.dtype) / len(q)
    p_t = torch.as_tensor(p_tilde, dtype=q.dtype)
    h_t = torch.as_tensor(h_tilde, dtype=q.dtype)

    def sum_norm(num, den):
        r = torch.where(den > 0, num / den.clamp_min(1e-12), torch.zeros_like(num))
        return r / r.sum().clamp_min(1e-12)

    a, b = sum_norm(p_t, h_t), sum_norm(p_bar, h_bar)
    return (a * torch.log(b.clamp_min(1e-12))).sum()
