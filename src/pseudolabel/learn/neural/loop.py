"""`TrainingRun`: the components one fit trains (network, teacher, optimiser, views, refiners and
selector, auxiliary terms, random generator, :class:`~pseudolabel.learn.neural.state.TrainState`)
and the training step. ``ConsistencyClassifier.fit`` builds one, runs its epochs and reads the
result; a checkpoint is :meth:`TrainingRun.checkpoint` and :meth:`TrainingRun.restore`.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, clone

from pseudolabel.core.registry import make
from pseudolabel.learn.neural.augment import resolve_view
from pseudolabel.learn.neural.auxiliary import (
    FAIRNESS_WEIGHT,
    Consistency,
    FairnessTerm,
    ShrinkMatchTerm,
    SimMatchTerm,
    StepBatch,
    Targets,
    UnsupervisedTerm,
    load_term_states,
)
from pseudolabel.learn.neural.ema import ModelEMA, frozen_copy
from pseudolabel.learn.neural.models import MLP, Network, SmallCNN, feature_width
from pseudolabel.learn.neural.optim import build_optimizer, lr_at, set_lr, unsup_ramp
from pseudolabel.learn.neural.pseudo import PseudoLabeler, build_context
from pseudolabel.learn.neural.simmatch import LabeledBank
from pseudolabel.learn.neural.state import EpochStats, TrainState
from pseudolabel.ops.specs import as_spec_list
from pseudolabel.select.freematch import FreeMatch


@dataclass
class FitData:
    """The training data as the loop sees it.

    Xt : every row as the backbone's input tensor. y_enc : encoded labels (-1 = unlabeled).
    sample_weight : per row. kind : input kind. train_lab : labeled rows the loss sees. val :
    held-out labeled rows (in the pool, labels hidden). pool : unlabeled rows + ``val``, sorted.
    """

    Xt: torch.Tensor
    y_enc: np.ndarray
    sample_weight: np.ndarray
    kind: str
    train_lab: np.ndarray
    val: np.ndarray
    pool: np.ndarray


def has_batchnorm(module: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in module.modules())


def build_network(est, kind: str, example: torch.Tensor, n_classes: int) -> Network:
    """The backbone ``est.backbone`` names for this input kind, with ``est.n_heads_`` heads (and
    SimMatch's projection / ShrinkMatch's auxiliary head when those terms are on)."""
    if isinstance(est.backbone, torch.nn.Module) and kind != "tokens":
        backbone = copy.deepcopy(est.backbone)
    elif est.backbone == "mlp" or (est.backbone == "auto" and kind == "vector"):
        if kind != "vector":
            raise ValueError("backbone='mlp' needs vector input (2-D X without image_shape)")
        backbone = MLP(example.shape[1], tuple(est.hidden_sizes))
    elif est.backbone == "cnn" or (est.backbone == "auto" and kind == "image"):
        if kind != "image":
            raise ValueError("backbone='cnn' needs images: (n, C, H, W) X or image_shape=(C, H, W)")
        backbone = SmallCNN(example.shape[1], est.cnn_width)
    elif kind == "tokens":
        backbone = est.text_backbone_
        if est.init_from is not None:
            from pseudolabel.learn.neural.text import warm_start_backbone

            backbone = warm_start_backbone(backbone, est.init_from)
    else:
        raise ValueError(f"backbone must be 'auto', 'mlp', 'cnn' or a torch.nn.Module, got {est.backbone!r}")
    width = feature_width(backbone, example)
    net = Network(backbone, width, n_classes, n_heads=est.n_heads_, head_dropout=est.head_dropout,
                  proj_dim=est.proj_dim if est.simmatch_weight > 0 else 0, aux_head=est.shrink_weight > 0)
    if kind == "image":
        net = net.to(memory_format=torch.channels_last)
        net.channels_last = True
    if kind == "tokens" and est.init_from is not None:
        init = est.init_from.model_
        if len(init.heads) != len(net.heads) or init.heads[0].out_features != n_classes:
            raise ValueError("init_from must have the same number of heads and classes as this model")
        net.heads.load_state_dict(init.heads.state_dict())
    return net


def build_components(refine, select, n_pool: int) -> tuple[list, object]:
    """Fresh refiner objects and the selector (FlexMatch's per-sample memory sized to the pool)."""
    refiners = [make("refine", s) for s in as_spec_list(refine)]
    refiners = [clone(r) if isinstance(r, BaseEstimator) else copy.deepcopy(r) for r in refiners]
    sel = make("select", select if select is not None else "threshold(threshold=0.0)")
    sel = clone(sel) if isinstance(sel, BaseEstimator) else copy.deepcopy(sel)
    if isinstance(sel, BaseEstimator) and "n_samples" in sel.get_params() and sel.get_params()["n_samples"] is None:
        sel.set_params(n_samples=n_pool)  # FlexMatch's per-sample memory spans the pool
    return refiners, sel


def build_terms(est, sel, labels: np.ndarray, bank_pos: np.ndarray, gen) -> list[UnsupervisedTerm]:
    """The active terms of the unsupervised loss, in the order their parts are summed."""
    terms: list[UnsupervisedTerm] = []
    if est.simmatch_weight > 0:
        bank = LabeledBank(torch.from_numpy(labels), est.proj_dim, generator=gen)
        terms.append(SimMatchTerm(est.simmatch_weight, bank, bank_pos, est.simmatch_alpha, est.simmatch_temperature))
    if est.lambda_u > 0:
        terms.append(Consistency(est.lambda_u, est.temperature))
    fairness = est.fairness_weight
    if fairness == "auto":
        fairness = FAIRNESS_WEIGHT if isinstance(sel, FreeMatch) else 0.0
    if fairness > 0:
        terms.append(FairnessTerm(fairness, sel))
    if est.shrink_weight > 0:
        terms.append(ShrinkMatchTerm(est.shrink_weight, est.shrink_threshold))
    return terms


class TrainingRun:
    """The components of one fit and its training step (see the module docstring).

    Built in a fixed order (network initialisation draws from the global torch RNG, the SimMatch
    bank from the data generator), so a fixed seed gives the same run.
    """

    def __init__(self, est, data: FitData, classes: np.ndarray):
        self.est = est
        self.data = data
        K = len(classes)
        kind, Xt, y_enc, train_lab, pool = data.kind, data.Xt, data.y_enc, data.train_lab, data.pool
        self.net = net = build_network(est, kind, Xt[:2], K)
        self.fixed = frozen_copy(net) if est.teacher == "start" else None  # teacher="start", never updated
        # θ_start of WiSE-FT; the fixed teacher's tensors are that state already (no second copy)
        self.start_state = self.fixed.state_dict() if self.fixed is not None else copy.deepcopy(net.state_dict())
        self.ema = ModelEMA(net, est.ema_momentum)
        self.opt, self.base_lr = build_optimizer(net, kind, optimizer=est.optimizer, lr=est.lr,
                                                 weight_decay=est.weight_decay, backbone_lr_scale=est.backbone_lr_scale)
        self.weak, self.strong = resolve_view(est.weak, kind, 0), resolve_view(est.strong, kind, 1)
        if kind == "tokens":
            from pseudolabel.learn.neural.text import configure_token_views

            tb = est.text_backbone_
            for v in (self.weak, self.strong):
                configure_token_views(v, tb.pad_id, tb.special_ids, tb.mask_id)
        elif kind == "vector":  # image and token views need no fitting
            fit_rows = Xt[np.concatenate([train_lab, pool])]
            self.weak.fit(fit_rows)
            self.strong.fit(fit_rows)
        refiners, sel = build_components(est.refine, est.select, len(pool))
        for r in refiners:  # refiners that learn a prior from labels (alignment to "labeled") see them now
            if not getattr(r, "fit_requires_heldout", False):
                r.fit(np.full((len(train_lab), K), 1.0 / K), y_enc[train_lab])
        self.pseudo = PseudoLabeler(refiners, sel, classes, source=f"neural-{est.teacher}")
        self.gen = torch.Generator().manual_seed(int(est.random_state))
        bank_pos = np.full(len(y_enc), -1, dtype=np.int64)
        bank_pos[train_lab] = np.arange(len(train_lab))
        self.terms = build_terms(est, sel, y_enc[train_lab], bank_pos, self.gen)
        self.unsup = len(pool) > 0 and any(t.uses_pool for t in self.terms)

        self.B = int(est.batch_size)
        self.Bu = int(est.mu) * self.B
        # an epoch is one pass over the unlabeled pool, also for a supervised-only run (same step budget)
        self.steps_per_epoch = est.steps_per_epoch or max(
            1, math.ceil((len(pool) / self.Bu) if len(pool) else (len(train_lab) / self.B)))
        if est.max_steps is not None:
            self.total = est.max_steps
        else:
            self.total = est.max_epochs * self.steps_per_epoch if est.max_epochs is not None else None
        if self.total is None and est.max_time is None:
            raise ValueError("set a training budget: max_epochs, max_steps or max_time")
        # the epochs the budget allows: the context's max_rounds (schedules such as GRIP's or P²OT's ramp)
        self.max_rounds = est.max_epochs if self.total is None else math.ceil(self.total / self.steps_per_epoch)
        self.state = TrainState()

        self.y_t = torch.from_numpy(y_enc)
        self.sw_t = torch.from_numpy(data.sample_weight)
        self.pool_t = torch.from_numpy(pool)
        self.train_lab_t = torch.from_numpy(train_lab)
        # teacher="student" with BatchNorm: labeled, weak and strong views share one forward pass (BN statistics)
        self.concat_teacher = est.teacher == "student" and has_batchnorm(net)
        self.teacher_model = net if est.teacher == "student" else self.fixed if self.fixed is not None else self.ema.module
        self._t0 = time.perf_counter()
        self._lr = float("nan")  # the last step's learning rate (logged per epoch)

    @property
    def refiners(self) -> list:
        return self.pseudo.refiners

    @property
    def selector(self):
        return self.pseudo.selector

    def check_pipeline(self) -> None:
        """Run copies of the refiners and selector once, before training, on pool rows scored by
        the untrained network with the context a training step passes (the end-of-fit context for
        a supervised-only run), so that a component that cannot work in this loop fails now,
        saying why, instead of after training. The real components and every RNG are untouched."""
        data = self.data
        if not len(data.pool):
            return
        rows, lab = data.pool[: self.Bu], data.train_lab[: self.B]
        was = self.net.training
        self.net.eval()
        with torch.no_grad():
            f_u, z_u = self.net(data.Xt[rows])
            f_l, _ = self.net(data.Xt[lab])
        self.net.train(was)
        member = torch.softmax(z_u.float(), dim=-1)
        ctx = build_context(
            idx=np.arange(len(rows)), features=f_u, labeled_features=f_l, labeled_y=data.y_enc[lab],
            student_probs=torch.softmax(z_u.mean(0), -1), member_probs=member, round=0, max_rounds=self.max_rounds,
            full_pool=not self.unsup,
        )
        copies = PseudoLabeler(copy.deepcopy(self.refiners), copy.deepcopy(self.selector), self.pseudo.classes,
                               self.pseudo.source)
        try:
            copies(member.mean(dim=0).double().numpy(), ctx, update=True, index=rows, round=0)
        except (ValueError, TypeError, KeyError) as exc:
            why = ""
            if self.max_rounds is None:
                why = (" This fit's only budget is max_time, so the number of epochs (the context's max_rounds) is "
                       "unknown; set max_epochs or max_steps.")
            raise ValueError(f"refine={self.est.refine!r} / select={self.est.select!r} cannot run in "
                             f"ConsistencyClassifier's training loop: {exc}{why}") from exc

    # ------------------------------------------------------------------ checkpoint
    def checkpoint(self, fingerprint: str) -> dict:
        """Everything the next step depends on (see ``checkpoint.py``)."""
        return {
            "fingerprint": fingerprint, "network": self.net.state_dict(), "start": self.start_state,
            "ema": self.ema.state_dict(), "optimizer": self.opt.state_dict(), "generator": self.gen.get_state(),
            "torch_rng": torch.get_rng_state(), "refiners": [r.state_dict() for r in self.refiners],
            "selector": self.selector.state_dict(), "terms": {t.name: t.state_dict() for t in self.terms},
            "run": self.state.state_dict(),
        }

    def restore(self, ckpt: dict) -> None:
        """Continue from :meth:`checkpoint`'s output (or a checkpoint of an earlier version)."""
        self.net.load_state_dict(ckpt["network"])
        self.start_state = ckpt["start"]
        if self.fixed is not None:
            self.fixed.load_state_dict(self.start_state)
        self.ema.load_state_dict(ckpt["ema"])
        self.opt.load_state_dict(ckpt["optimizer"])
        self.gen.set_state(ckpt["generator"])
        torch.set_rng_state(ckpt["torch_rng"])
        for r, s in zip(self.refiners, ckpt["refiners"], strict=True):
            r.load_state_dict(s)
        self.selector.load_state_dict(ckpt["selector"])
        load_term_states(self.terms, ckpt)
        self.state = TrainState.from_state_dict(ckpt["run"])

    # ------------------------------------------------------------------ budget
    def start_clock(self) -> None:
        """Training time counts on from the state's ``elapsed`` (a resumed run keeps its time)."""
        self._t0 = time.perf_counter() - self.state.elapsed

    def out_of_budget(self) -> bool:
        if self.total is not None and self.state.step >= self.total:
            return True
        return self.est.max_time is not None and time.perf_counter() - self._t0 >= self.est.max_time

    # ------------------------------------------------------------------ training
    def train_epoch(self, progress) -> tuple[EpochStats, float]:
        """Up to ``steps_per_epoch`` steps (fewer when the budget runs out); returns the epoch's
        running means and the last learning rate."""
        self.net.train()
        stats = EpochStats()
        perm = torch.randperm(len(self.data.pool), generator=self.gen) if self.unsup else None
        for s in range(self.steps_per_epoch):
            if self.out_of_budget():
                break
            self._lr = self.step(s, perm, stats)
            progress.step(stats)
        self.state.epoch += 1
        self.state.elapsed = time.perf_counter() - self._t0
        return stats, self._lr

    def step(self, s: int, perm: torch.Tensor | None, stats: EpochStats) -> float:
        """One optimiser step on a labeled batch (and the ``s``-th unlabeled batch of ``perm``)."""
        est, st, net, gen, Xt = self.est, self.state, self.net, self.gen, self.data.Xt
        lr = lr_at(st.step, self.total, self.base_lr, warmup_steps=est.warmup_steps, schedule=est.lr_schedule)
        set_lr(self.opt, lr)
        li = self.train_lab_t[torch.randint(len(self.data.train_lab), (self.B,), generator=gen)]
        x_lw = self.weak(Xt[li], gen)
        yl, wl = self.y_t[li], self.sw_t[li]
        parts, batch = {}, None
        if self.unsup:
            upos = perm[torch.arange(s * self.Bu, (s + 1) * self.Bu) % len(self.data.pool)]
            ui = self.pool_t[upos]
            xu = Xt[ui]
            batch = self._forward(li, x_lw, ui, upos, self.weak(xu, gen), self.strong(xu, gen))
            z_l = batch.z_l
            parts = self._unsup_terms(batch, stats)
        else:
            _, z_l = net(x_lw)
        ce = torch.stack([F.cross_entropy(z, yl, reduction="none") for z in z_l]).mean(dim=0)
        sup = (wl * ce).sum() / len(yl)
        ramp = unsup_ramp(st.step, self.total, est.unsup_warmup)
        loss = sup + ramp * sum(parts.values()) if parts else sup
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.ema.update(net, st.step)
        if batch is not None:
            for t in self.terms:
                t.after_step(batch)
        st.step += 1
        stats.add(loss=float(loss.detach()), sup_loss=float(sup.detach()), **{k: float(v.detach()) for k, v in parts.items()})
        return lr

    def _forward(self, li, x_lw, ui, upos, x_uw, x_us) -> StepBatch:
        """Student on the labeled weak and unlabeled strong views; teacher on the unlabeled weak view."""
        net = self.net
        nl, nu = len(x_lw), len(x_uw)
        if self.concat_teacher:
            feat, logits = net(torch.cat([x_lw, x_uw, x_us]))
            f_l, f_uw, f_us = feat[:nl], feat[nl:nl + nu].detach(), feat[nl + nu:]
            z_l, z_uw, z_us = logits[:, :nl], logits[:, nl:nl + nu].detach(), logits[:, nl + nu:]
        else:
            feat, logits = net(torch.cat([x_lw, x_us]))
            f_l, f_us, z_l, z_us = feat[:nl], feat[nl:], logits[:, :nl], logits[:, nl:]
            with torch.no_grad():
                f_uw, z_uw = self.teacher_model(x_uw)
        return StepBatch(student=net, teacher=self.teacher_model, epoch=self.state.epoch, li=li, f_l=f_l, z_l=z_l,
                         ui=ui, upos=upos, f_uw=f_uw, z_uw=z_uw, f_us=f_us, z_us=z_us)

    def _unsup_terms(self, batch: StepBatch, stats: EpochStats) -> dict:
        """Pseudo-labels of the unlabeled batch (refiners, auxiliary targets, selector) and the
        unsupervised loss parts; logs the mask ratio and the held-out rows' pseudo-label precision."""
        member = torch.softmax(batch.z_uw.float(), dim=-1)  # (H, n, K)
        p = member.mean(dim=0).double().numpy()
        ctx = build_context(
            idx=batch.upos, features=batch.f_uw, labeled_features=batch.f_l, labeled_y=self.y_t[batch.li],
            student_probs=torch.softmax(batch.z_us.detach().mean(0), -1), member_probs=member,
            round=self.state.epoch, max_rounds=self.max_rounds,
        )
        targets = Targets.from_probs(self.pseudo.refine(p, ctx, update=True))
        for t in self.terms:
            t.adjust_targets(batch, targets)
        record = self.pseudo.select(targets.p, ctx, update=True, index=batch.ui.numpy(), round=self.state.epoch)
        targets.accept(record)
        parts = {}
        for t in self.terms:
            parts.update(t.loss(batch, targets))
        # bookkeeping: mask ratio, and pseudo-label precision on held-out rows (true label known)
        held = self.data.y_enc[batch.ui.numpy()]
        used = (held >= 0) & (record.weight > 0)
        stats.add_mask(record.weight.astype(np.float64), (record.label == held)[used], int(used.sum()))
        return parts
