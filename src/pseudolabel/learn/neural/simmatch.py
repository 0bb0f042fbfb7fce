"""SimMatch (Zheng et al. 2022): labeled-memory instance similarity, unfolding and aggregation.

A bank holds one L2-normalised projection per labeled sample. For an unlabeled sample with
weak-view embedding ``e`` the instance "teacher" is ``q = softmax(e·Bᵀ / T)`` over the bank.

* aggregation (instance → class): ``agg_c = Σ_{j: y_j = c} q_j`` and the class pseudo-label
  becomes ``p̂ = α p + (1 − α) agg``, so the few labels correct the classifier by similarity;
* unfolding (class → instance): ``q̂_j ∝ q_j · p[y_j]``, the target of the instance consistency
  loss ``CE(q̂, softmax(e_s·Bᵀ / T))`` on the strong view.

The maths is :mod:`pseudolabel.ops.simmatch` (shared with the offline SimMatch teacher). As in
USB for small datasets, the bank is written from the online model's labeled-batch
projections with a 0.7 EMA per entry (``momentum=0`` overwrites, the ImageNet recipe).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pseudolabel.ops import simmatch as simmatch_ops
from pseudolabel.ops.simplex import softmax

BANK_MOMENTUM = 0.7
"""EMA momentum of a bank entry: USB's SimMatch for small labeled sets (``momentum=0`` overwrites,
the ImageNet recipe of Zheng et al. 2022)."""


class LabeledBank:
    """Projections of all labeled samples (``(n_labeled, dim)``, unit rows) and their classes."""

    def __init__(self, labels: torch.Tensor, dim: int, momentum: float = BANK_MOMENTUM, generator: torch.Generator | None = None):
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.momentum = momentum
        self.feats = F.normalize(torch.randn(len(self.labels), dim, generator=generator), dim=1)

    @torch.no_grad()
    def update(self, idx: torch.Tensor, feats: torch.Tensor) -> None:
        """Write the projections of labeled rows ``idx`` (positions in the bank)."""
        new = F.normalize(feats.detach().float(), dim=1)
        if self.momentum > 0:
            new = F.normalize(self.momentum * self.feats[idx] + (1 - self.momentum) * new, dim=1)
        self.feats[idx] = new

    def state_dict(self) -> dict:
        return {"feats": self.feats.clone(), "labels": self.labels.clone(), "momentum": self.momentum}

    def load_state_dict(self, state: dict) -> None:
        self.feats = state["feats"].clone()
        self.labels = state["labels"].clone()
        self.momentum = state["momentum"]


def simmatch_targets(probs: torch.Tensor, sim_logits: torch.Tensor, bank_labels: torch.Tensor, alpha: float = 0.9):
    """Aggregated class targets ``p̂`` and unfolded instance targets ``q̂`` (torch in, torch out).

    probs : (n, K) class probabilities of the weak view (after distribution alignment).
    sim_logits : (n, N_bank) ``e·Bᵀ / T`` of the weak view.

    A thin wrapper of the NumPy kernels :mod:`pseudolabel.ops.simmatch` (the targets take no
    gradient), computed in float64 and returned in the inputs' dtypes; the trainer calls the
    kernels directly (``auxiliary.SimMatchTerm``).
    """
    q = softmax(sim_logits.detach().double().numpy(), axis=1)
    p = probs.detach().double().numpy()
    labels = bank_labels.detach().numpy()
    p_hat = simmatch_ops.simmatch_targets(p, simmatch_ops.aggregate(q, labels, p.shape[1]), alpha)
    q_hat = simmatch_ops.unfold(q, p, labels)
    return torch.from_numpy(p_hat).to(probs.dtype), torch.from_numpy(q_hat).to(sim_logits.dtype)


def instance_loss(q_hat: torch.Tensor, sim_logits_strong: torch.Tensor) -> torch.Tensor:
    """``mean_i CE(q̂_i, softmax(e_s·Bᵀ / T)_i)`` (SimMatch's ``L_in``)."""
    return -(q_hat * torch.log_softmax(sim_logits_strong, dim=1)).sum(dim=1).mean()
