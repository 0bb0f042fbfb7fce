"""ShrinkMatch (Yang et al. 2023, "Shrinking Class Space for Enhanced Certainty in Semi-Supervised
Learning"): extra signal from uncertain samples.

For a sample whose top-1 confidence is below ``τ``, drop its most confusing classes (ranks 2, 3,
...) until the top-1 class, renormalised over what is left, reaches ``τ``; then train an auxiliary
head on the strong view in that shrunk class space with the top-1 class as target. The loss is
weighted by the original confidence ``c_i`` and by an EMA (0.999) of the batch's certain ratio.

The authors loop over samples; here the search is vectorised: with probabilities sorted
descending, ``s_k = p_(0) / (p_(0) + Σ_{j ≥ k} p_(j))`` is non-decreasing in ``k``, so the
first ``k ∈ {2..K−1}`` with ``s_k ≥ τ`` comes from one ``argmax`` over a boolean matrix.
"""

from __future__ import annotations

import torch


def shrink_mask(probs: torch.Tensor, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Classes kept per sample ``(n, K)`` bool and whether a shrunk space reaches ``τ`` ``(n,)``.

    Certain samples (``max p ≥ τ``) and samples for which even ``{top-1, last}`` fails get
    ``valid = False``; their kept mask is all True (unused).
    """
    n, k = probs.shape
    vals, order = probs.sort(dim=1, descending=True)
    tail = vals.flip(1).cumsum(1).flip(1)  # tail[:, j] = Σ_{r ≥ j} p_(r)
    s = vals[:, :1] / (vals[:, :1] + tail).clamp_min(1e-12)
    cand = torch.zeros_like(s, dtype=torch.bool)
    if k >= 3:
        cand[:, 2:] = s[:, 2:] >= threshold
    found = cand.any(dim=1)
    first = cand.float().argmax(dim=1)  # first rank that is kept after the removed block
    uncertain = vals[:, 0] < threshold
    valid = found & uncertain
    rank = torch.arange(k, device=probs.device).unsqueeze(0)
    removed_ranks = (rank >= 1) & (rank < first.unsqueeze(1)) & valid.unsqueeze(1)
    keep = torch.ones_like(probs, dtype=torch.bool)
    keep.scatter_(1, order, ~removed_ranks)
    return keep, valid


def shrink_loss(aux_logits: torch.Tensor, probs: torch.Tensor, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample ``c_i · 1[valid] · CE(aux logits restricted to the kept classes, top-1)``.

    Returns ``(losses (n,), valid (n,))``; the caller averages over the batch and scales by the
    certain-ratio EMA.
    """
    keep, valid = shrink_mask(probs, threshold)
    conf, target = probs.max(dim=1)
    masked = aux_logits.masked_fill(~keep, float("-inf"))
    ce = torch.nn.functional.cross_entropy(masked, target, reduction="none")
    return torch.where(valid, ce * conf, torch.zeros_like(ce)), valid
