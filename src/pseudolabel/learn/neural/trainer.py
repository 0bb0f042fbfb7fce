"""`ConsistencyClassifier`: the FixMatch family on CPU, on the user's own arrays, images or texts.

One training step (docs/neural.md; Sohn et al. 2020 "FixMatch", USB's hooks)::

    p_w   = softmax(teacher(weak(x_u)))                # teacher: the student, its EMA, or a multi-head EMA
    p_w   = refine_k(... refine_1(p_w))                # e.g. distribution alignment, running state per batch
    p_w   = α p_w + (1 − α) agg(labeled memory)        # SimMatch (optional)
    w     = select(p_w)                                # FixMatch / FlexMatch / FreeMatch / SoftMatch ...
    L     = CE(student(weak(x_l)), y_l) + λ_u Σ_i w_i CE(student(strong(x_u))_i, ŷ_i) / n_u
            (+ FreeMatch fairness, SimMatch instance loss, ShrinkMatch shrunk-space loss)

The refiners and selectors are the NumPy objects of ``pseudolabel.refine`` / ``pseudolabel.select``
called per batch with ``update(p, ctx)`` then ``__call__(p, ctx)`` / ``select(p, ctx)`` — the same
objects ``SelfTrainer`` calls once per round, with the same kind of ``Context`` — so FlexMatch
keeps its per-sample memory, FreeMatch and SoftMatch their EMAs, and all of it is checkpointed
through ``state_dict()``.

The parts: ``inputs`` (kinds, tensors, labels), ``loop`` (the components and the training step),
``optim`` (optimiser, schedules), ``state`` (``TrainState``), ``auxiliary`` (the terms of the
unsupervised loss), ``pseudo`` (context → refiners → selector → record, per step and at the end).
This module is the estimator: parameters, the epoch loop with model selection and checkpoints,
the fitted attributes, prediction and the audit record.

Honesty: a stratified fold of the labels is held out (its rows join the unlabeled pool with their
labels hidden); held-out accuracy picks the epoch whose model is returned and the precision of
pseudo-labels on those rows is logged. Test data is never seen.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from pseudolabel.core.audit import AuditRecord, HeldOut
from pseudolabel.core.record import PseudoLabels
from pseudolabel.core.registry import register
from pseudolabel.learn.neural import defaults as D
from pseudolabel.learn.neural.checkpoint import load_checkpoint, save_checkpoint
from pseudolabel.learn.neural.inputs import encode_y, input_kind, to_tensor
from pseudolabel.learn.neural.loop import FitData, TrainingRun
from pseudolabel.learn.neural.pseudo import (
    PseudoLabeler,
    build_context,
    forward,
    head_disagreement,
    row_outputs,
)
from pseudolabel.learn.neural.state import Progress
from pseudolabel.learn.neural.wise import check_alpha, interpolate_state
from pseudolabel.ops.hashing import fingerprint

TEACHERS = ("student", "ema", "multihead", "start")

HELDOUT_SOURCE = "pseudo-labels of held-out rows (returned model, trained refiners and selector)"
"""``HeldOut.source`` of the audit record: what the held-out rows' labels are."""

AUDIT_CONFIG = ("teacher", "n_heads", "refine", "select", "temperature", "lambda_u", "fairness_weight", "simmatch_weight",
                "shrink_weight", "max_epochs", "max_steps", "max_time", "validation_fraction", "selection_tolerance",
                "wise_alpha", "random_state")
"""Parameters shown as the configuration in the audit record."""

@contextlib.contextmanager
def _torch_threads(n: int | None):
    """Run with ``n`` intra-op threads (``None``: leave torch's setting), then restore it."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


@register("teacher", "neural")
class ConsistencyClassifier(ClassifierMixin, BaseEstimator):
    """Weak/strong consistency training with online pseudo-labels (FixMatch family), scikit-learn style.

    ``fit(X, y)`` with ``y == -1`` (or NaN/None) for unlabeled rows; ``predict_proba`` for new rows;
    ``pseudo_labels_`` (a ``PseudoLabels`` record) for the unlabeled rows; ``history_`` per epoch.

    Inputs: 2-D float arrays (vectors, embeddings, tabular), images ``(n, C, H, W)`` / ``(n, H, W)``
    or flattened with ``image_shape``, or a sequence of strings (``text="frozen"`` or ``"finetune"``).

    Parameters (main ones)
    ----------------------
    backbone : ``"auto"`` (MLP for vectors, ``SmallCNN`` for images, the text model for
        ``text="finetune"``), ``"mlp"``, ``"cnn"`` or a ``torch.nn.Module`` mapping a batch to
        features ``(n, d)`` (copied, never modified); the heads are added on top.
    init_from : a fitted ``text="frozen"`` model to start ``text="finetune"`` from: its MLP and
        heads sit on the encoder, so fine-tuning starts at its accuracy (linear probe, then fine-tune).
    weak, strong : views, ``"auto"`` (per input kind, see ``augment.default_views``), ``None``
        (identity), an augmenter or a list of augmenters.
    teacher : ``"student"`` (the online model's weak-view prediction, USB's FixMatch), ``"ema"``
        (Mean-Teacher copy, SimMatch/ShrinkMatch) or ``"multihead"`` (EMA copy with ``n_heads``
        perturbed heads, UPL-SFDA; their spread reaches selectors as ``member_probs``) or
        ``"start"`` (the network as training found it, never updated: distillation from a warm
        start such as ``init_from``, so pseudo-labels cannot drift with the student's mistakes).
    refine : refiner spec(s) applied per batch, e.g. ``"align"`` (distribution alignment).
    select : selector spec or object (default ``"flexmatch"``; ``"threshold(threshold=0.95)"`` is
        FixMatch; ``"freematch"``, ``"softmatch"``, ``"topk"``, ...).
    temperature : ``None`` = hard pseudo-labels (FixMatch); a float = soft targets sharpened by it.
    lambda_u : weight of the unsupervised loss; 0 = supervised only (no unlabeled forward pass).
    unsup_warmup : linear ramp-up of the unsupervised terms over this fraction of the step budget
        (or this many steps when ≥ 1); 0 = none (USB). The default 0.2 prevented the class
        collapses seen without it on AG News (docs/neural.md).
    fairness_weight : FreeMatch's fairness term, ``"auto"`` = 0.01 with a FreeMatch selector, else 0.
    simmatch_weight : SimMatch's instance-consistency weight ``λ_in`` (0 = SimMatch off).
    shrink_weight : ShrinkMatch's shrunk-class-space loss weight (0 = off).
    batch_size, mu : labeled batch size and unlabeled:labeled ratio (USB μ = 7).
    max_epochs, max_steps, max_time : training budget (epochs, optimiser steps, wall-clock
        seconds); whichever is reached first stops training.
    validation_fraction : share of each class's labels held out for model selection (0 = none).
    select_best, selection_tolerance : return the latest epoch whose held-out accuracy is within
        the tolerance of the best (``"auto"``: one standard error, at least one sample; 0: the
        best, ties to the later epoch); ``select_best=False`` returns the last EMA model.
    wise_alpha : weight of the trained weights in the returned model, ``(1 − α)·θ_start + α·θ``
        (WiSE-FT, Wortsman et al. 2022); 1 = the trained model. Below 1 only makes sense when
        training starts from pretrained weights (``init_from``, a pretrained backbone);
        ``interpolated(α)`` gives the same model for another α without refitting (from
        ``start_state_`` and ``trained_state_``, which a fitted model keeps).
    checkpoint : file path; written at the end of every epoch; with ``resume=True`` a later
        ``fit`` with the same data continues from it and reproduces an uninterrupted run.
    lr, backbone_lr_scale : learning rate of the heads (``None``: 0.03 SGD for images, 1e-3 AdamW
        otherwise) and the factor for the backbone's (``"auto"``: 0.05 for a text encoder, else 1).
    n_threads : torch intra-op threads during fit/predict (``None`` = torch's default).
    random_state : seed of weights, data order and views (fixed seed → identical results).
    """


    def __init__(
        self,
        backbone="auto",
        *,
        image_shape: tuple[int, ...] | None = None,
        text: str = "frozen",
        text_model: str = "all-MiniLM-L6-v2",
        max_length: int = 64,
        init_from=None,
        hidden_sizes: tuple[int, ...] = (256, 256),
        cnn_width: int = 16,
        standardize: bool = True,
        weak="auto",
        strong="auto",
        teacher: str = "ema",
        n_heads: int | str = "auto",
        head_dropout: float = D.HEAD_DROPOUT,
        ema_momentum: float = D.EMA_MOMENTUM,
        refine=None,
        select="flexmatch",
        temperature: float | None = None,
        lambda_u: float = D.LAMBDA_U,
        unsup_warmup: float = D.UNSUP_WARMUP,
        fairness_weight="auto",
        simmatch_weight: float = 0.0,
        simmatch_alpha: float = D.SIMMATCH_ALPHA,
        simmatch_temperature: float = D.SIMMATCH_TEMPERATURE,
        proj_dim: int = D.PROJ_DIM,
        shrink_weight: float = 0.0,
        shrink_threshold: float = D.SHRINK_THRESHOLD,
        batch_size: int = D.BATCH_SIZE,
        mu: int = D.UNLABELED_RATIO,
        optimizer: str = "auto",
        lr: float | None = None,
        backbone_lr_scale="auto",
        weight_decay: float | None = None,
        lr_schedule: str = "cosine",
        warmup_steps: int = 0,
        max_epochs: int | None = 10,
        max_steps: int | None = None,
        max_time: float | None = None,
        steps_per_epoch: int | None = None,
        validation_fraction: float = D.VALIDATION_FRACTION,
        select_best: bool = True,
        selection_tolerance="auto",
        wise_alpha: float = 1.0,
        checkpoint=None,
        resume: bool = True,
        callback=None,
        cache=None,
        eval_batch_size: int = D.EVAL_BATCH_SIZE,
        n_threads: int | None = None,
        random_state: int = 0,
        verbose: int = 0,
    ):
        self.backbone = backbone
        self.image_shape = image_shape
        self.text = text
        self.text_model = text_model
        self.max_length = max_length
        self.init_from = init_from
        self.hidden_sizes = hidden_sizes
        self.cnn_width = cnn_width
        self.standardize = standardize
        self.weak = weak
        self.strong = strong
        self.teacher = teacher
        self.n_heads = n_heads
        self.head_dropout = head_dropout
        self.ema_momentum = ema_momentum
        self.refine = refine
        self.select = select
        self.temperature = temperature
        self.lambda_u = lambda_u
        self.unsup_warmup = unsup_warmup
        self.fairness_weight = fairness_weight
        self.simmatch_weight = simmatch_weight
        self.simmatch_alpha = simmatch_alpha
        self.simmatch_temperature = simmatch_temperature
        self.proj_dim = proj_dim
        self.shrink_weight = shrink_weight
        self.shrink_threshold = shrink_threshold
        self.batch_size = batch_size
        self.mu = mu
        self.optimizer = optimizer
        self.lr = lr
        self.backbone_lr_scale = backbone_lr_scale
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.warmup_steps = warmup_steps
        self.max_epochs = max_epochs
        self.max_steps = max_steps
        self.max_time = max_time
        self.steps_per_epoch = steps_per_epoch
        self.validation_fraction = validation_fraction
        self.select_best = select_best
        self.selection_tolerance = selection_tolerance
        self.wise_alpha = wise_alpha
        self.checkpoint = checkpoint
        self.resume = resume
        self.callback = callback
        self.cache = cache
        self.eval_batch_size = eval_batch_size
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_clone__(self):
        """``clone`` copies every parameter unfitted, except ``init_from``: a warm start must stay
        the fitted model it names (shared, never modified)."""
        params = {k: v if k == "init_from" else clone(v, safe=False) for k, v in self.get_params(deep=False).items()}
        return type(self)(**params)

    # ================================================================== input handling
    def _input_kind(self, X) -> str:
        return input_kind(X, self.text, self.image_shape)

    def _to_tensor(self, X, fitting: bool) -> torch.Tensor:
        """Raw input → the tensor the backbone eats (``inputs.to_tensor``)."""
        return to_tensor(self, X, fitting)

    # ================================================================== fit
    def fit(self, X, y, sample_weight=None, *, n_classes: int | None = None):
        """Train on labeled + unlabeled rows (``y == -1`` marks unlabeled). Returns self."""
        with torch.random.fork_rng(devices=[]), _torch_threads(self.n_threads):
            torch.manual_seed(int(self.random_state))
            self._fit(X, y, sample_weight, n_classes)
        return self

    def transduce(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> np.ndarray:
        """Teacher protocol: fit on ``X`` (``y == -1`` unlabeled), return probabilities for every row."""
        self.fit(X, y, sample_weight, n_classes=n_classes)
        probs, members = self._predict(X, members=True)
        self.members_proba_ = members if members.shape[0] > 1 else None
        return probs

    def _fit(self, X, y, sample_weight, n_classes):
        t_start = time.perf_counter()
        data = self._prepare(X, y, sample_weight, n_classes)
        run = TrainingRun(self, data, self.classes_)
        run.check_pipeline()
        self.network_ = run.net
        self.base_lr_, self.steps_per_epoch_ = run.base_lr, run.steps_per_epoch
        self.weak_, self.strong_ = run.weak, run.strong
        ckpt = Path(self.checkpoint) if self.checkpoint is not None else None
        fp = fingerprint(X, np.asarray(data.y_enc)) if ckpt is not None else None
        if ckpt is not None and self.resume and ckpt.exists():
            state = load_checkpoint(ckpt)
            if state["fingerprint"] != fp:
                raise ValueError(f"checkpoint {ckpt} was written for different data; delete it or pass resume=False")
            run.restore(state)
            if self.verbose:
                print(f"resumed from {ckpt} at epoch {run.state.epoch}, step {run.state.step}")
        self._train(run, ckpt, fp)
        self._set_fitted(run, data)
        self.fit_seconds_ = time.perf_counter() - t_start
        return self

    def _prepare(self, X, y, sample_weight, n_classes) -> FitData:
        """Check the parameters and the data; encode labels, build the tensors, draw the held-out fold."""
        if self.teacher not in TEACHERS:
            raise ValueError(f"teacher must be one of {TEACHERS}, got {self.teacher!r}")
        heads = self.n_heads
        if heads == "auto":
            heads = D.MULTIHEAD_HEADS if self.teacher == "multihead" else 1
        self.n_heads_ = int(heads)
        if self.n_heads_ < 1:
            raise ValueError(f"n_heads must be >= 1, got {self.n_heads}")
        check_alpha(self.wise_alpha)  # a bad alpha fails before training, not after it
        n_rows = len(X)
        self.classes_, y_enc = encode_y(y, n_rows, n_classes)
        sw = np.ones(n_rows, dtype=np.float32) if sample_weight is None else np.asarray(sample_weight, dtype=np.float32)
        if sw.shape != (n_rows,) or (sw < 0).any():
            raise ValueError(f"sample_weight must be {n_rows} non-negative numbers")
        kind = self.input_kind_ = self._input_kind(X)
        if kind == "tokens":
            self._prepare_text_backbone()
        Xt = self._to_tensor(X, fitting=True)
        # splits: train labels, held-out labels (join the pool, labels hidden), pool
        rng = np.random.default_rng(int(self.random_state))
        lab = np.flatnonzero(y_enc >= 0)
        val = self._heldout(lab, y_enc[lab], rng)
        self.heldout_index_ = val
        pool = np.sort(np.concatenate([np.flatnonzero(y_enc < 0), val]))
        return FitData(Xt=Xt, y_enc=y_enc, sample_weight=sw, kind=kind, train_lab=np.setdiff1d(lab, val), val=val,
                       pool=pool)

    def _prepare_text_backbone(self) -> None:
        from pseudolabel.learn.neural.text import TextBackbone

        if isinstance(self.backbone, torch.nn.Module):
            if not hasattr(self.backbone, "tokenize"):
                raise TypeError("a backbone for text='finetune' needs a tokenize(texts) method (see TextBackbone)")
            self.text_backbone_ = copy.deepcopy(self.backbone)
        else:
            self.text_backbone_ = TextBackbone(self.text_model, self.max_length, normalize=self.init_from is not None)
        if self.init_from is not None:
            check_is_fitted(self.init_from, "model_")
            if getattr(self.init_from, "input_kind_", None) != "vector" or self.init_from.text != "frozen":
                raise ValueError("init_from must be a ConsistencyClassifier fitted with text='frozen'")

    def _train(self, run: TrainingRun, ckpt: Path | None, fp: str | None) -> None:
        """Epochs until the budget is spent or the callback stops: held-out accuracy and model
        selection after each, and a checkpoint."""
        progress = Progress(self.verbose, run.total)
        n_val = len(run.data.val)
        run.start_clock()
        while not run.state.done and not run.out_of_budget():
            stats, lr = run.train_epoch(progress)
            entry = self._end_epoch(run, stats, lr)
            progress.epoch(entry)
            if self.select_best and n_val:
                run.state.consider(entry["heldout_accuracy"], lambda best: self._tolerance(best, n_val),
                                   lambda: copy.deepcopy(run.ema.module.state_dict()))
            stop = bool(self.callback(self, entry)) if self.callback is not None else False
            run.state.done = run.out_of_budget()
            if ckpt is not None:
                save_checkpoint(ckpt, run.checkpoint(fp))
            if stop:
                break
        progress.close()

    def _end_epoch(self, run: TrainingRun, stats, lr: float) -> dict:
        """The epoch's history entry: running means, held-out accuracy of the EMA model; refiners
        fitted on held-out labels (temperature scaling) are fitted here."""
        st, val, y_enc = run.state, run.data.val, run.data.y_enc
        acc = float("nan")
        if len(val):
            probs = self._forward_probs(run.ema.module, run.data.Xt[val]).mean(axis=0)
            acc = float((probs.argmax(axis=1) == y_enc[val]).mean())
            for r in run.refiners:  # e.g. temperature scaling: fitted on held-out labels only
                if getattr(r, "fit_requires_heldout", False):
                    r.fit(probs, y_enc[val])
        entry = {"epoch": st.epoch, "step": st.step, "seconds": round(st.elapsed, 3), "lr": lr,
                 **stats.summary(), "heldout_accuracy": acc}
        st.history.append(entry)
        return entry

    def _tolerance(self, best: float, n: int) -> float:
        """How far below the best held-out accuracy a later epoch may be and still be chosen.

        ``"auto"``: one binomial standard error of the best, at least one sample (the one-SE rule
        of Breiman et al. 1984, "Classification and Regression Trees"): with 8 held-out labels a
        one-sample dip is noise, and more training usually helps pseudo-labeling.
        """
        if self.selection_tolerance == "auto":
            return max(math.sqrt(max(best * (1 - best), 0.0) / n), 1.0 / n)
        return float(self.selection_tolerance)

    def _heldout(self, lab: np.ndarray, y_lab: np.ndarray, rng) -> np.ndarray:
        """Stratified held-out fold: ``floor(frac · n_c)`` rows of class c, always leaving one to train."""
        f = float(self.validation_fraction or 0.0)
        if not 0.0 <= f < 1.0:
            raise ValueError(f"validation_fraction must lie in [0, 1), got {f}")
        if f == 0.0:
            return np.zeros(0, dtype=np.int64)
        out = []
        for c in np.unique(y_lab):  # loop over classes
            rows = lab[y_lab == c]
            k = min(int(np.floor(f * len(rows))), len(rows) - 1)
            if k > 0:
                out.append(rng.choice(rows, k, replace=False))
        return np.sort(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)

    def _set_fitted(self, run: TrainingRun, data: FitData) -> None:
        """Every fitted attribute, in one place: the returned model (best held-out epoch, or the last
        EMA model), the trained components, the history, and pseudo-labels from the returned model."""
        st = run.state
        model = copy.deepcopy(run.ema.module).eval()
        if st.best is not None:
            model.load_state_dict(st.best)
        self.start_state_ = run.start_state
        if self.wise_alpha != 1.0:
            self.trained_state_ = copy.deepcopy(model.state_dict())
            model.load_state_dict(interpolate_state(run.start_state, self.trained_state_, self.wise_alpha))
        else:  # the returned model's own tensors: no second copy of the weights in memory
            self.trained_state_ = model.state_dict()
        self.model_ = model
        self.network_ = run.net.eval()
        self.ema_ = run.ema
        self.refiners_, self.selector_, self.terms_ = run.refiners, run.selector, run.terms
        self.bank_ = next((t.bank for t in run.terms if hasattr(t, "bank")), None)
        self.history_ = list(st.history)
        self.best_epoch_ = st.best_epoch if st.best is not None else st.epoch
        self.model_selection_ = self._selection_decision(st, len(data.val))
        self.n_epochs_ = st.epoch
        self.n_steps_ = st.step
        self.max_rounds_ = run.max_rounds
        self.train_seconds_ = st.elapsed
        self.n_fit_rows_ = len(data.y_enc)
        self.labeled_index_ = data.train_lab
        self.y_encoded_ = data.y_enc
        self.pseudo_labels_, self.heldout_ = self._final_pseudo_labels(data.Xt, offline=not run.unsup)

    def _selection_decision(self, st, n_val: int) -> dict:
        """How the returned epoch was chosen (the audit record's ``decision``)."""
        if st.best is not None:
            rule = "latest epoch within the tolerance of the best held-out accuracy"
        elif not self.select_best:
            rule = "last epoch (select_best=False)"
        else:
            rule = "last epoch (no held-out labels)"
        chosen = next((e for e in st.history if e["epoch"] == self.best_epoch_), None)
        return {
            "rule": rule,
            "chosen_epoch": self.best_epoch_,
            "heldout_accuracy": chosen["heldout_accuracy"] if chosen is not None else float("nan"),
            "best_heldout_accuracy": st.best_acc if st.best is not None else float("nan"),
            "tolerance": self._tolerance(st.best_acc, n_val) if st.best is not None else float("nan"),
            "n_heldout": n_val,
            "wise_alpha": float(self.wise_alpha),
            "fallback": False,
        }

    def interpolated(self, alpha: float, X=None) -> ConsistencyClassifier:
        """A copy of this fitted model whose weights are ``(1 − α)·θ_start + α·θ_trained`` (WiSE-FT),
        without refitting. Pass the training ``X`` to recompute ``pseudo_labels_`` (and the audit's
        held-out rows) from the new weights; without it the copy has none (the old ones belong to
        other weights)."""
        check_is_fitted(self, "trained_state_")
        out = copy.copy(self)
        out.wise_alpha = float(alpha)
        out.model_ = copy.deepcopy(self.model_)
        out.model_.load_state_dict(interpolate_state(self.start_state_, self.trained_state_, alpha))
        out.refiners_, out.selector_ = copy.deepcopy(self.refiners_), copy.deepcopy(self.selector_)
        out.model_selection_ = {**self.model_selection_, "wise_alpha": float(alpha)}
        if X is None:
            del out.pseudo_labels_
            out.heldout_ = None
            return out
        if len(X) != self.n_fit_rows_:
            raise ValueError(f"X must be the {self.n_fit_rows_} rows the model was fitted on, got {len(X)}")
        with _torch_threads(self.n_threads):
            out.pseudo_labels_, out.heldout_ = out._final_pseudo_labels(out._to_tensor(X, fitting=False))
        return out

    def _final_pseudo_labels(self, Xt: torch.Tensor, offline: bool = False) -> tuple[PseudoLabels, HeldOut | None]:
        """``pseudo_labels_`` of the unlabeled rows and the held-out rows' record for the audit.

        The returned model's probabilities, refined and weighted by the trained refiners/selector
        (their state as training left it; no further update) with the same kind of context as a
        training step (``pseudo`` module docstring). After a supervised-only run (``offline``) they
        never saw a batch, so they are updated once on the unlabeled rows, as in a self-training
        round. The held-out rows go through copies of the components, which stay as they are.
        """
        y_enc, val = self.y_encoded_, self.heldout_index_
        unl = np.flatnonzero(y_enc < 0)
        pool = np.sort(np.concatenate([unl, val]))
        lab = self.labeled_index_
        lab_features, _ = forward(self.model_, Xt[lab], self.eval_batch_size, features=True)
        source = f"neural-{self.teacher}"

        def label(rows: np.ndarray, pseudo: PseudoLabeler, update: bool) -> PseudoLabels:
            if len(rows) == 0:
                K = len(self.classes_)
                return PseudoLabels.from_probs(np.zeros((0, K)), np.zeros(0), self.classes_, source=source)
            out = row_outputs(self.model_, self.network_, Xt[rows], self.eval_batch_size)
            ctx = build_context(
                idx=np.searchsorted(pool, rows), features=out.features, labeled_features=lab_features,
                labeled_y=y_enc[lab], student_probs=out.student_probs, member_probs=out.members,
                round=self.best_epoch_, max_rounds=self.max_rounds_, full_pool=True,
            )
            extras = {"head_disagreement": head_disagreement(out.members)} if out.members.shape[0] > 1 else {}
            return pseudo(out.members.mean(axis=0), ctx, update=update, index=rows, round=self.best_epoch_ or 0,
                          extras=extras)

        record = label(unl, PseudoLabeler(self.refiners_, self.selector_, self.classes_, source), offline)
        if not len(val):
            return record, None
        copies = PseudoLabeler(copy.deepcopy(self.refiners_), copy.deepcopy(self.selector_), self.classes_, source)
        held = label(val, copies, False)
        return record, HeldOut(y_enc[val], held.label, held.weight, held.confidence, HELDOUT_SOURCE)

    # ================================================================== audit
    def audit_record(self) -> AuditRecord:
        """What the report shows (``pseudolabel.audit.report.render_report(clf)``): pseudo-labels of
        the unlabeled rows, the held-out rows' pseudo-labels from the returned model, the epochs,
        the chosen epoch and how it was chosen."""
        check_is_fitted(self, "model_")
        if not hasattr(self, "pseudo_labels_"):
            raise ValueError("this model has no pseudo-labels (interpolated() without X); pass the training X to "
                             "interpolated() to recompute them")
        return AuditRecord(
            classes=self.classes_,
            pseudo_labels=self.pseudo_labels_,
            n_labeled=len(self.labeled_index_) + len(self.heldout_index_),
            n_unlabeled=len(self.pseudo_labels_),
            heldout=self.heldout_,
            history=self.history_,
            step="epoch",
            chosen_step=self.best_epoch_,
            decision=dict(self.model_selection_),
            config={k: str(v) for k, v in self.get_params(deep=False).items() if k in AUDIT_CONFIG},
        )

    # ================================================================== predict
    def _forward_probs(self, model, Xt: torch.Tensor) -> np.ndarray:
        """Softmax of every head, ``(H, n, K)``, in eval mode, in batches."""
        _, logits = forward(model, Xt, self.eval_batch_size)
        if logits is None:
            return np.zeros((len(self.model_.heads) if hasattr(self, "model_") else 1, 0, len(self.classes_)))
        return torch.softmax(logits, dim=-1).double().numpy()

    def _predict(self, X, members: bool = False):
        check_is_fitted(self, "model_")
        with _torch_threads(self.n_threads):
            Xt = self._to_tensor(X, fitting=False)
            m = self._forward_probs(self.model_, Xt)
        return (m.mean(axis=0), m) if members else m.mean(axis=0)

    def predict_proba(self, X) -> np.ndarray:
        return self._predict(X)

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
