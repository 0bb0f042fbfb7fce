"""Auxiliary losses: the unsupervised objective as a list of terms, the plug point for SimMatch,
ShrinkMatch and FreeMatch's fairness term next to the FixMatch consistency loss. (Not ``aux.py``:
``AUX`` is a reserved file name on Windows.)

A training step runs, for the unlabeled batch (:class:`StepBatch`)::

    p = refiners(teacher probabilities)                   # pseudo.PseudoLabeler.refine
    for term in terms: term.adjust_targets(batch, targets) # SimMatch: p ← α p + (1 − α) agg
    record = selector(p)                                   # pseudo.PseudoLabeler.select
    for term in terms: parts |= term.loss(batch, targets)  # {"unsup_loss": ..., "instance_loss": ...}
    loss = sup + ramp · Σ parts                            # summed in the order of the terms
    ... optimiser step ...
    for term in terms: term.after_step(batch)              # SimMatch: write the labeled bank

A term's running state (the SimMatch bank, the ShrinkMatch ratio) round-trips through
``state_dict()`` / ``load_state_dict()`` and is checkpointed under its ``name``. The order of the
terms is the order of the loss parts in ``history_`` and of their sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from pseudolabel.core.record import PseudoLabels
from pseudolabel.learn.neural.losses import consistency_loss, fairness_loss
from pseudolabel.learn.neural.shrinkmatch import shrink_loss
from pseudolabel.learn.neural.simmatch import LabeledBank, instance_loss
from pseudolabel.ops import simmatch as simmatch_ops
from pseudolabel.ops.simplex import softmax

FAIRNESS_WEIGHT = 0.01
"""Weight of FreeMatch's self-adaptive fairness term with a FreeMatch selector (``fairness_weight="auto"``):
the FreeMatch paper's ``w_f`` (Wang et al. 2023, "FreeMatch: Self-adaptive Thresholding for
Semi-supervised Learning")."""

SHRINK_RATIO_MOMENTUM = 0.999
"""EMA momentum of ShrinkMatch's certain-sample ratio (Yang et al. 2023, the authors' code)."""

SHRINK_RATIO_RATE = 0.001
"""``1 − SHRINK_RATIO_MOMENTUM``, written out as in ShrinkMatch's code (the weight of the new batch)."""

SOFT_TARGET_FLOOR = 1e-12
"""Probabilities are clamped to this before the log of temperature-sharpened soft targets."""


@dataclass
class StepBatch:
    """One training step's tensors for the unlabeled batch (and the labeled one).

    student : the online network (gradients flow). teacher : the network that labelled the weak
    view (the student itself, its EMA copy or the fixed start). epoch : epochs finished so far.
    li : labeled rows. ui, upos : unlabeled rows and their pool positions.
    f_l / z_l : student features / logits ``(H, n, K)`` of the labeled weak view;
    f_uw / z_uw : teacher features / logits of the unlabeled weak view (no gradient);
    f_us / z_us : student features / logits of the unlabeled strong view.
    """

    student: torch.nn.Module
    teacher: torch.nn.Module
    epoch: int
    li: torch.Tensor
    f_l: torch.Tensor
    z_l: torch.Tensor
    ui: torch.Tensor
    upos: torch.Tensor
    f_uw: torch.Tensor
    z_uw: torch.Tensor
    f_us: torch.Tensor
    z_us: torch.Tensor


@dataclass
class Targets:
    """The batch's class targets: ``p`` (what the selector sees, float64) and ``p_t`` (the same as a
    float32 tensor); after selection ``record``, its ``weights`` and ``labels`` as tensors."""

    p: np.ndarray
    p_t: torch.Tensor
    record: PseudoLabels | None = None
    weights: torch.Tensor | None = None
    labels: torch.Tensor | None = None

    @classmethod
    def from_probs(cls, p: np.ndarray) -> Targets:
        return cls(p=p, p_t=torch.from_numpy(p).float())

    def accept(self, record: PseudoLabels) -> None:
        """The selector's decision: weights (0 for rejected / unknown rows) and hard labels
        (class 0 stands in where the weight is 0, so it never counts)."""
        self.record = record
        self.weights = torch.from_numpy(record.weight).float()
        self.labels = torch.from_numpy(np.maximum(record.label, 0))


class UnsupervisedTerm:
    """Base class of a term of the unsupervised loss (see the module docstring).

    name : key of the term's state in a checkpoint. uses_pool : whether the term alone justifies
    the unlabeled forward pass (fairness only reshapes what the consistency loss selected).
    """

    name: ClassVar[str] = "term"
    uses_pool: ClassVar[bool] = True

    def adjust_targets(self, batch: StepBatch, targets: Targets) -> None:
        """Change the class targets before the selector sees them (default: no change)."""

    def loss(self, batch: StepBatch, targets: Targets) -> dict[str, torch.Tensor]:
        """Weighted loss parts, ``history_`` key → scalar tensor (default: none)."""
        return {}

    def after_step(self, batch: StepBatch) -> None:
        """After the optimiser step (default: nothing)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (default: no state)."""


class Consistency(UnsupervisedTerm):
    """FixMatch's consistency loss ``λ_u Σ_i w_i CE(student(strong(x_i)), ŷ_i) / n_u``, averaged
    over the heads; hard labels, or soft targets sharpened by ``temperature``."""

    name = "consistency"

    def __init__(self, weight: float, temperature: float | None = None):
        self.weight = weight
        self.temperature = temperature

    def loss(self, batch, targets):
        if self.temperature is None:
            target = targets.labels
        else:
            target = torch.softmax(torch.log(targets.p_t.clamp_min(SOFT_TARGET_FLOOR)) / self.temperature, dim=1)
        lu = torch.stack([consistency_loss(z, target, targets.weights) for z in batch.z_us]).mean()
        return {"unsup_loss": self.weight * lu}


class SimMatchTerm(UnsupervisedTerm):
    """SimMatch (Zheng et al. 2022): labeled-memory aggregation of the class targets and the
    instance-consistency loss ``λ_in L_in``; both start after the first epoch (USB). State: the
    bank of labeled projections, written from the student's labeled batch after every step."""

    name = "simmatch"

    def __init__(self, weight: float, bank: LabeledBank, bank_pos: np.ndarray, alpha: float, temperature: float):
        self.weight = weight
        self.bank = bank
        self.bank_pos = bank_pos  # row → position in the bank (labeled training rows only)
        self.alpha = alpha
        self.temperature = temperature
        self._q_hat = None

    def adjust_targets(self, batch, targets):
        self._q_hat = None
        if batch.epoch == 0:  # USB: the bank is meaningful after one epoch
            return
        e_w = batch.teacher.embed(batch.f_uw).detach()
        q = softmax((e_w @ self.bank.feats.T / self.temperature).double().numpy(), axis=1)  # instance similarity
        labels = self.bank.labels.numpy()
        p_hat = simmatch_ops.simmatch_targets(targets.p, simmatch_ops.aggregate(q, labels, targets.p.shape[1]), self.alpha)
        self._q_hat = torch.from_numpy(simmatch_ops.unfold(q, targets.p, labels)).float()
        targets.p, targets.p_t = p_hat, torch.from_numpy(p_hat).float()

    def loss(self, batch, targets):
        if self._q_hat is None:
            return {}
        sim_s = batch.student.embed(batch.f_us) @ self.bank.feats.T / self.temperature
        return {"instance_loss": self.weight * instance_loss(self._q_hat, sim_s)}

    def after_step(self, batch):
        self.bank.update(torch.from_numpy(self.bank_pos[batch.li.numpy()]), batch.student.embed(batch.f_l.detach()))

    def state_dict(self):
        return {"bank": self.bank.state_dict()}

    def load_state_dict(self, state):
        self.bank.load_state_dict(state["bank"])


class FairnessTerm(UnsupervisedTerm):
    """FreeMatch's self-adaptive fairness term on the selected rows' strong-view predictions, with
    the selector's class EMAs ``p̃``/``h̃`` (only a selector that keeps them, i.e. FreeMatch)."""

    name = "fairness"
    uses_pool = False

    def __init__(self, weight: float, selector):
        self.weight = weight
        self.selector = selector

    def loss(self, batch, targets):
        sel = self.selector
        if not hasattr(sel, "p_tilde_"):
            return {}
        probs = torch.softmax(batch.z_us.mean(0), -1)
        return {"fairness_loss": self.weight * fairness_loss(probs, targets.weights, sel.p_tilde_, sel.h_tilde_)}


class ShrinkMatchTerm(UnsupervisedTerm):
    """ShrinkMatch (Yang et al. 2023): the auxiliary head's loss in the shrunk class space of
    uncertain rows, scaled by an EMA of the batch's certain ratio (the term's state)."""

    name = "shrinkmatch"

    def __init__(self, weight: float, threshold: float):
        self.weight = weight
        self.threshold = threshold
        self.ratio = 0.0

    def loss(self, batch, targets):
        p_t = targets.p_t
        losses, _ = shrink_loss(batch.student.aux(batch.f_us), p_t, self.threshold)
        certain = float((p_t.max(dim=1).values >= self.threshold).float().mean())
        self.ratio = SHRINK_RATIO_MOMENTUM * self.ratio + SHRINK_RATIO_RATE * certain
        return {"shrink_loss": self.weight * losses.mean() * self.ratio}

    def state_dict(self):
        return {"ratio": self.ratio}

    def load_state_dict(self, state):
        self.ratio = state["ratio"]


def load_term_states(terms: list[UnsupervisedTerm], checkpoint: dict) -> None:
    """Restore every term from a checkpoint (also one written before terms existed: the SimMatch
    bank under ``"bank"``, the ShrinkMatch ratio in the run state)."""
    saved = checkpoint.get("terms")
    for term in terms:
        if saved is not None:
            term.load_state_dict(saved[term.name])
        elif isinstance(term, SimMatchTerm):
            term.load_state_dict({"bank": checkpoint["bank"]})
        elif isinstance(term, ShrinkMatchTerm):
            term.load_state_dict({"ratio": checkpoint["run"]["shrink_ratio"]})
