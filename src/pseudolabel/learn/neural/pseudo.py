"""Pseudo-labels of a set of rows: teacher probabilities → :class:`Context` → refiners → selector → record.

One code path for every training step and for the end of fit:

* a step: the rows are one unlabeled mini-batch, ``idx`` their pool positions, ``features`` the
  teacher's representation of their weak view, ``labeled_features``/``labeled_y`` the labeled
  batch, ``student_probs`` the student on their strong view, ``member_probs`` the multi-head
  teacher's heads, ``round`` the epoch; refiners and selector update their running state;
* the end of fit (``pseudo_labels_``, the held-out rows of the audit, ``interpolated``): the rows
  are the unlabeled (or held-out) rows, ``features`` the returned model's representation of them,
  ``labeled_features`` its representation of the training labels, ``student_probs`` the trained
  student's probabilities, ``member_probs`` the returned model's heads, ``round`` the chosen
  epoch, ``full_pool=True``; the state is used as training left it (updated once on the rows only
  after a supervised-only run, whose components never saw a batch).

Both go through :func:`build_context` and :class:`PseudoLabeler` (which ends in
:func:`~pseudolabel.core.selection.selection_to_record`, as ``SelfTrainer`` does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pseudolabel.core.context import Context
from pseudolabel.core.record import PseudoLabels
from pseudolabel.core.selection import selection_to_record
from pseudolabel.ops.simplex import entropy


def _numpy(a, dtype=None):
    if a is None:
        return None
    if isinstance(a, torch.Tensor):
        a = a.detach().numpy()
    return np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)


def build_context(*, idx, features, labeled_features, labeled_y, student_probs, member_probs, round: int | None,
                  max_rounds: int | None, full_pool: bool = False) -> Context:
    """The context of a set of rows (tensors or arrays; see the module docstring for each field).

    ``member_probs`` (H, n, K) is passed on only when there are several members (a multi-head
    teacher); one head is no ensemble.
    """
    members = _numpy(member_probs, np.float64)
    return Context(
        idx=_numpy(idx),
        full_pool=full_pool,
        features=_numpy(features),
        labeled_features=_numpy(labeled_features),
        labeled_y=_numpy(labeled_y),
        student_probs=_numpy(student_probs, np.float64),
        member_probs=members if members is not None and members.shape[0] > 1 else None,
        round=round,
        max_rounds=max_rounds,
    )


def head_disagreement(members: np.ndarray) -> np.ndarray:
    """Multi-head disagreement per row: the mutual information ``H(p̄) − mean_h H(p_h)``."""
    return entropy(members.mean(axis=0)) - entropy(members).mean(axis=0)


class PseudoLabeler:
    """Refiners, then the selector, then the record: the pseudo-labels of a set of rows.

    refiners, selector : the fitted pipeline objects (running state inside them).
    classes : the user's class values (for the record). source : the record's ``source``.
    """

    def __init__(self, refiners: list, selector, classes, source: str):
        self.refiners = refiners
        self.selector = selector
        self.classes = classes
        self.source = source
        self.refiner_info: dict[str, np.ndarray] = {}

    def refine(self, p: np.ndarray, ctx: Context, *, update: bool) -> np.ndarray:
        """Each refiner in turn (``update`` first when asked), then clipped and renormalised rows."""
        info = {}
        for r in self.refiners:
            if update:
                r.update(p, ctx)
            p = r(p, ctx)
            info.update(getattr(r, "info_", None) or {})
        self.refiner_info = {k: np.asarray(v) for k, v in info.items() if np.ndim(v) == 1 and len(v) == len(p)}
        p = np.clip(p, 0.0, None)
        return p / p.sum(axis=1, keepdims=True)

    def select(self, p: np.ndarray, ctx: Context, *, update: bool, index: np.ndarray, round: int,
               extras: dict | None = None) -> PseudoLabels:
        """The selector's decision on ``p`` (``update`` first when asked) as a ``PseudoLabels``
        record; extras = the refiners' and selector's per-row diagnostics (and ``extras``)."""
        if update:
            self.selector.update(p, ctx)
        selection = self.selector.select(p, ctx)
        return selection_to_record(selection, p, self.classes, source=self.source, round=round, index=index,
                                   extras={**self.refiner_info, **dict(extras or {})})

    def __call__(self, p: np.ndarray, ctx: Context, *, update: bool, index: np.ndarray, round: int,
                 extras: dict | None = None) -> PseudoLabels:
        """Refine, then select (no step in between; the training step puts SimMatch there)."""
        return self.select(self.refine(p, ctx, update=update), ctx, update=update, index=index, round=round,
                           extras=extras)


@dataclass
class RowOutputs:
    """What the networks say about a set of rows, in eval mode on the clean input."""

    features: torch.Tensor  # (n, d) the returned model's representation
    members: np.ndarray  # (H, n, K) the returned model's heads, softmax
    student_probs: np.ndarray  # (n, K) the trained student (softmax of its mean head logits)


def forward(model: torch.nn.Module, Xt: torch.Tensor, batch_size: int, features: bool = False):
    """``(features or None, logits (H, n, K))`` of ``model`` in eval mode, in batches."""
    model.eval()
    feats, logits = [], []
    with torch.no_grad():
        for i in range(0, len(Xt), int(batch_size)):
            f, z = model(Xt[i:i + int(batch_size)])
            logits.append(z.float())
            if features:
                feats.append(f.float())
    if not logits:
        return None, None
    return (torch.cat(feats) if features else None), torch.cat(logits, dim=1)


def row_outputs(model, student, Xt: torch.Tensor, batch_size: int) -> RowOutputs:
    """:class:`RowOutputs` of the rows ``Xt``."""
    f, z = forward(model, Xt, batch_size, features=True)
    _, zs = forward(student, Xt, batch_size)
    return RowOutputs(features=f, members=torch.softmax(z, dim=-1).double().numpy(),
                      student_probs=torch.softmax(zs.mean(0), dim=-1).double().numpy())
