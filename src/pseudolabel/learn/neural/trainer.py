"""`ConsistencyClassifier`: the FixMatch family on CPU, on the user's own arrays, images or texts.

One training step (docs/neural.md; Sohn et al. 2020 "FixMatch", USB's hooks)::

    p_w   = softmax(teacher(weak(x_u)))                # teacher: the student, its EMA, or a multi-head EMA
    p_w   = refine_k(... refine_1(p_w))                # e.g. distribution alignment, running state per batch
    p_w   = α p_w + (1 − α) agg(labeled memory)        # SimMatch (optional)
    w     = select(p_w)                                # FixMatch / FlexMatch / FreeMatch / SoftMatch ...
    L     = CE(student(weak(x_l)), y_l) + λ_u Σ_i w_i CE(student(strong(x_u))_i, ŷ_i) / n_u
            (+ FreeMatch fairness, SimMatch instance loss, ShrinkMatch shrunk-space loss)

The refiners and selectors are the NumPy objects of ``pseudolabel.refine`` / ``pseudolabel.select``
called per batch with ``update(p, idx=pool positions)`` then ``__call__(p)`` — the same objects
``SelfTrainer`` calls once per round — so FlexMatch keeps its per-sample memory, FreeMatch and
SoftMatch their EMAs, and all of it is checkpointed through ``state_dict()``.

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
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from pseudolabel.core.context import Context
from pseudolabel.core.record import PseudoLabels
from pseudolabel.core.registry import make, register
from pseudolabel.core.selection import selection_to_record
from pseudolabel.learn.neural.augment import resolve_view
from pseudolabel.learn.neural.checkpoint import fingerprint, load_checkpoint, save_checkpoint
from pseudolabel.learn.neural.ema import ModelEMA, frozen_copy
from pseudolabel.learn.neural.losses import consistency_loss, fairness_loss
from pseudolabel.learn.neural.models import MLP, Network, SmallCNN, feature_width
from pseudolabel.learn.neural.shrinkmatch import shrink_loss
from pseudolabel.learn.neural.simmatch import LabeledBank, instance_loss, simmatch_targets
from pseudolabel.learn.neural.wise import check_alpha, interpolate_state
from pseudolabel.ops.simplex import entropy
from pseudolabel.ops.specs import as_spec_list
from pseudolabel.select.freematch import FreeMatch

TEACHERS = ("student", "ema", "multihead", "start")


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


def _is_text(X) -> bool:
    if isinstance(X, str):
        raise TypeError("X must be a sequence of texts, not one string")
    if isinstance(X, list | tuple):
        return len(X) > 0 and isinstance(X[0], str)
    a = np.asarray(X) if not hasattr(X, "dtype") else X
    return getattr(a, "ndim", 0) == 1 and a.dtype.kind in "OUS"


def _has_batchnorm(module: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in module.modules())


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
        head_dropout: float = 0.3,
        ema_momentum: float = 0.999,
        refine=None,
        select="flexmatch",
        temperature: float | None = None,
        lambda_u: float = 1.0,
        unsup_warmup: float = 0.2,
        fairness_weight="auto",
        simmatch_weight: float = 0.0,
        simmatch_alpha: float = 0.9,
        simmatch_temperature: float = 0.1,
        proj_dim: int = 128,
        shrink_weight: float = 0.0,
        shrink_threshold: float = 0.95,
        batch_size: int = 32,
        mu: int = 7,
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
        validation_fraction: float = 0.2,
        select_best: bool = True,
        selection_tolerance="auto",
        wise_alpha: float = 1.0,
        checkpoint=None,
        resume: bool = True,
        callback=None,
        cache=None,
        eval_batch_size: int = 512,
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
        if _is_text(X):
            if self.text not in ("frozen", "finetune"):
                raise ValueError(f"text must be 'frozen' or 'finetune', got {self.text!r}")
            return "tokens" if self.text == "finetune" else "vector"
        a = X if isinstance(X, torch.Tensor) else np.asarray(X)
        if a.ndim in (3, 4) or (a.ndim == 2 and self.image_shape is not None):
            return "image"
        if a.ndim != 2:
            raise ValueError(f"X must be 2-D (n, d), images (n, C, H, W) or texts; got shape {a.shape}")
        return "vector"

    def _to_tensor(self, X, fitting: bool) -> torch.Tensor:
        """Raw input → the tensor the backbone eats (standardised vectors, NCHW images, token ids)."""
        if _is_text(X):
            texts = [str(t) for t in X]
            if self.text == "finetune":
                return self.text_backbone_.tokenize(texts)
            from pseudolabel.learn.neural.text import embed_frozen

            X = embed_frozen(texts, self.text_model, cache=self.cache)
        a = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
        if a.dtype.kind not in "fiub":
            raise ValueError(f"X must be numeric (or a sequence of texts), got dtype {a.dtype}")
        a = a.astype(np.float32, copy=True)  # a copy: the user's array is never modified
        if not np.isfinite(a).all():
            raise ValueError("X contains NaN or inf; impute missing values before fitting")
        kind = "image" if (a.ndim in (3, 4) or (a.ndim == 2 and self.image_shape is not None)) else "vector"
        if kind == "image":
            if a.ndim == 2:
                shape = tuple(self.image_shape)
                if int(np.prod(shape)) != a.shape[1]:
                    raise ValueError(f"image_shape {shape} has {np.prod(shape)} values but X rows have {a.shape[1]}")
                a = a.reshape(len(a), *shape)
            if a.ndim == 3:
                a = a[:, None]
            if fitting:
                self.input_shape_ = tuple(a.shape[1:])
            elif tuple(a.shape[1:]) != self.input_shape_:
                raise ValueError(f"X has image shape {a.shape[1:]}, the model was fitted on {self.input_shape_}")
            return torch.from_numpy(a)
        if fitting:
            self.n_features_in_ = a.shape[1]
            if self.standardize:
                self.input_mean_ = a.mean(axis=0)
                self.input_std_ = np.where(a.std(axis=0) > 1e-8, a.std(axis=0), 1.0).astype(np.float32)
        elif a.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {a.shape[1]} features, the model was fitted on {self.n_features_in_}")
        if self.standardize:
            a = (a - self.input_mean_) / self.input_std_
        return torch.from_numpy(a)

    def _encode_y(self, y, n_rows: int, n_classes: int | None):
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != n_rows:
            raise ValueError(f"y must be 1-D with one entry per row of X ({n_rows}); got shape {y.shape}")
        unl = np.zeros(len(y), dtype=bool)
        if y.dtype.kind == "f":
            unl |= np.isnan(y)
        if y.dtype.kind == "O":
            unl |= np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in y], dtype=bool)
        with np.errstate(invalid="ignore"):
            unl |= np.array([str(v) == "-1" for v in y], dtype=bool) if y.dtype.kind in "OUS" else (y == -1)
        known = y[~unl]
        if len(known) == 0:
            raise ValueError("nothing is labeled: every y is -1 (unlabeled); label at least one row per class")
        if n_classes is not None:
            classes = np.arange(int(n_classes))
            enc = known.astype(np.int64)
            if enc.min() < 0 or enc.max() >= n_classes:
                raise ValueError(f"encoded labels must lie in [0, {n_classes}), got {enc.min()}..{enc.max()}")
        else:
            classes, enc = np.unique(known, return_inverse=True)
        y_enc = np.full(len(y), -1, dtype=np.int64)
        y_enc[~unl] = enc
        return classes, y_enc

    # ================================================================== components
    def _build_network(self, kind: str, example: torch.Tensor, n_classes: int) -> Network:
        if isinstance(self.backbone, torch.nn.Module) and kind != "tokens":
            backbone = copy.deepcopy(self.backbone)
        elif self.backbone == "mlp" or (self.backbone == "auto" and kind == "vector"):
            if kind != "vector":
                raise ValueError("backbone='mlp' needs vector input (2-D X without image_shape)")
            backbone = MLP(example.shape[1], tuple(self.hidden_sizes))
        elif self.backbone == "cnn" or (self.backbone == "auto" and kind == "image"):
            if kind != "image":
                raise ValueError("backbone='cnn' needs images: (n, C, H, W) X or image_shape=(C, H, W)")
            backbone = SmallCNN(example.shape[1], self.cnn_width)
        elif kind == "tokens":
            backbone = self.text_backbone_
            if self.init_from is not None:
                from pseudolabel.learn.neural.text import warm_start_backbone

                backbone = warm_start_backbone(backbone, self.init_from)
        else:
            raise ValueError(f"backbone must be 'auto', 'mlp', 'cnn' or a torch.nn.Module, got {self.backbone!r}")
        width = feature_width(backbone, example)
        net = Network(backbone, width, n_classes, n_heads=self.n_heads_, head_dropout=self.head_dropout,
                       proj_dim=self.proj_dim if self.simmatch_weight > 0 else 0, aux_head=self.shrink_weight > 0)
        if kind == "image":
            net = net.to(memory_format=torch.channels_last)
            net.channels_last = True
        if kind == "tokens" and self.init_from is not None:
            init = self.init_from.model_
            if len(init.heads) != len(net.heads) or init.heads[0].out_features != n_classes:
                raise ValueError("init_from must have the same number of heads and classes as this model")
            net.heads.load_state_dict(init.heads.state_dict())
        return net

    def _components(self, n_pool: int):
        refiners = [make("refine", s) for s in as_spec_list(self.refine)]
        refiners = [clone(r) if isinstance(r, BaseEstimator) else copy.deepcopy(r) for r in refiners]
        sel = make("select", self.select if self.select is not None else "threshold(threshold=0.0)")
        sel = clone(sel) if isinstance(sel, BaseEstimator) else copy.deepcopy(sel)
        if isinstance(sel, BaseEstimator) and "n_samples" in sel.get_params() and sel.get_params()["n_samples"] is None:
            sel.set_params(n_samples=n_pool)  # FlexMatch's per-sample memory spans the pool
        return refiners, sel

    def _optimizer(self, net: Network, kind: str):
        """Optimiser with four groups: (backbone | heads) × (decay | no decay).

        The backbone's learning rate is ``lr · backbone_lr_scale``: a pretrained encoder wants a
        small one while its fresh heads want a large one (``"auto"``: 0.05 for a text encoder).
        """
        name = self.optimizer
        if name == "auto":
            name = "sgd" if kind == "image" else "adamw"
        lr = self.lr if self.lr is not None else {"sgd": 0.03, "adamw": 1e-3, "adam": 1e-3}[name]
        wd = self.weight_decay if self.weight_decay is not None else (5e-4 if name == "sgd" else 1e-4 if kind != "tokens" else 0.01)
        scale = self.backbone_lr_scale
        if scale == "auto":
            scale = 0.05 if kind == "tokens" else 1.0
        groups = {}
        for n_, p in net.named_parameters():
            part = "backbone" if n_.startswith("backbone.") else "heads"
            decay = not (p.ndim <= 1 or n_.endswith(".bias"))
            groups.setdefault((part, decay), []).append(p)
        param_groups = [
            {"params": ps, "weight_decay": wd if decay else 0.0, "lr_scale": float(scale) if part == "backbone" else 1.0}
            for (part, decay), ps in sorted(groups.items())
        ]
        if name == "sgd":
            opt = torch.optim.SGD(param_groups, lr=lr, momentum=0.9, nesterov=True)
        elif name == "adamw":
            opt = torch.optim.AdamW(param_groups, lr=lr)
        elif name == "adam":
            opt = torch.optim.Adam(param_groups, lr=lr)
        else:
            raise ValueError(f"optimizer must be 'auto', 'sgd', 'adam' or 'adamw', got {self.optimizer!r}")
        return opt, lr

    def _lr_at(self, step: int, total: int | None) -> float:
        """FixMatch's cosine decay ``lr·cos(7πk / 16K)`` after an optional linear warm-up."""
        if self.warmup_steps and step < self.warmup_steps:
            return self.base_lr_ * (step + 1) / self.warmup_steps
        if self.lr_schedule == "constant" or total is None:
            return self.base_lr_
        if self.lr_schedule != "cosine":
            raise ValueError(f"lr_schedule must be 'cosine' or 'constant', got {self.lr_schedule!r}")
        k = min(step, total)
        return self.base_lr_ * math.cos(7 * math.pi * k / (16 * max(total, 1)))

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
        if self.teacher not in TEACHERS:
            raise ValueError(f"teacher must be one of {TEACHERS}, got {self.teacher!r}")
        self.n_heads_ = int(4 if self.n_heads == "auto" and self.teacher == "multihead" else 1 if self.n_heads == "auto" else self.n_heads)
        if self.n_heads_ < 1:
            raise ValueError(f"n_heads must be >= 1, got {self.n_heads}")
        n_rows = len(X)
        classes, y_enc = self._encode_y(y, n_rows, n_classes)
        self.classes_ = classes
        K = len(classes)
        sw = np.ones(n_rows, dtype=np.float32) if sample_weight is None else np.asarray(sample_weight, dtype=np.float32)
        if sw.shape != (n_rows,) or (sw < 0).any():
            raise ValueError(f"sample_weight must be {n_rows} non-negative numbers")
        kind = self._input_kind(X)
        self.input_kind_ = kind
        if kind == "tokens":
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
        Xt = self._to_tensor(X, fitting=True)

        # ---- splits: train labels, held-out labels (join the pool, labels hidden), pool
        rng = np.random.default_rng(int(self.random_state))
        lab = np.flatnonzero(y_enc >= 0)
        val = self._heldout(lab, y_enc[lab], rng)
        train_lab = np.setdiff1d(lab, val)
        pool = np.sort(np.concatenate([np.flatnonzero(y_enc < 0), val]))
        self.heldout_index_ = val
        unsup = len(pool) > 0 and (self.lambda_u > 0 or self.shrink_weight > 0 or self.simmatch_weight > 0)

        # ---- model, teacher copy, optimiser, views, refiners/selector
        self.network_ = net = self._build_network(kind, Xt[:2], K)
        check_alpha(self.wise_alpha)  # a bad alpha fails before training, not after it
        fixed = frozen_copy(net) if self.teacher == "start" else None  # teacher="start", never updated
        # θ_start of WiSE-FT; the fixed teacher's tensors are that state already (no second copy)
        start_state = fixed.state_dict() if fixed is not None else copy.deepcopy(net.state_dict())
        ema = ModelEMA(net, self.ema_momentum)
        opt, self.base_lr_ = self._optimizer(net, kind)
        weak, strong = resolve_view(self.weak, kind, 0), resolve_view(self.strong, kind, 1)
        if kind == "tokens":
            from pseudolabel.learn.neural.text import configure_token_views

            tb = self.text_backbone_
            for v in (weak, strong):
                configure_token_views(v, tb.pad_id, tb.special_ids, tb.mask_id)
        elif kind == "vector":  # image and token views need no fitting
            fit_rows = Xt[np.concatenate([train_lab, pool])]
            weak.fit(fit_rows)
            strong.fit(fit_rows)
        self.weak_, self.strong_ = weak, strong
        refiners, sel = self._components(len(pool))
        for r in refiners:  # refiners that learn a prior from labels (alignment to "labeled") see them now
            if not getattr(r, "fit_requires_heldout", False):
                r.fit(np.full((len(train_lab), K), 1.0 / K), y_enc[train_lab])
        fairness = self.fairness_weight
        if fairness == "auto":
            fairness = 0.01 if isinstance(sel, FreeMatch) else 0.0
        gen = torch.Generator().manual_seed(int(self.random_state))
        bank = None
        if self.simmatch_weight > 0:
            bank = LabeledBank(torch.from_numpy(y_enc[train_lab]), self.proj_dim, generator=gen)
        bank_pos = np.full(n_rows, -1, dtype=np.int64)
        bank_pos[train_lab] = np.arange(len(train_lab))

        B = int(self.batch_size)
        Bu = int(self.mu) * B
        # an epoch is one pass over the unlabeled pool, also for a supervised-only run (same step budget)
        spe = self.steps_per_epoch or max(1, math.ceil((len(pool) / Bu) if len(pool) else (len(train_lab) / B)))
        total = self.max_steps if self.max_steps is not None else (self.max_epochs * spe if self.max_epochs is not None else None)
        if total is None and self.max_time is None:
            raise ValueError("set a training budget: max_epochs, max_steps or max_time")
        self.steps_per_epoch_ = spe

        # ---- state that a checkpoint restores
        run = {"step": 0, "epoch": 0, "elapsed": 0.0, "history": [], "best": None, "best_acc": -1.0,
               "best_epoch": None, "shrink_ratio": 0.0, "done": False}
        fp = fingerprint(X if not isinstance(X, torch.Tensor) else X.numpy(), np.asarray(y_enc))
        ckpt = Path(self.checkpoint) if self.checkpoint is not None else None
        if ckpt is not None and self.resume and ckpt.exists():
            state = load_checkpoint(ckpt)
            if state["fingerprint"] != fp:
                raise ValueError(f"checkpoint {ckpt} was written for different data; delete it or pass resume=False")
            net.load_state_dict(state["network"])
            start_state = state["start"]
            if fixed is not None:
                fixed.load_state_dict(start_state)
            ema.load_state_dict(state["ema"])
            opt.load_state_dict(state["optimizer"])
            gen.set_state(state["generator"])
            torch.set_rng_state(state["torch_rng"])
            for r, s in zip(refiners, state["refiners"], strict=True):
                r.load_state_dict(s)
            sel.load_state_dict(state["selector"])
            if bank is not None:
                bank.load_state_dict(state["bank"])
            run = state["run"]
            if self.verbose:
                print(f"resumed from {ckpt} at epoch {run['epoch']}, step {run['step']}")

        y_t = torch.from_numpy(y_enc)
        sw_t = torch.from_numpy(sw)
        pool_t = torch.from_numpy(pool)
        train_lab_t = torch.from_numpy(train_lab)
        concat_teacher = self.teacher == "student" and _has_batchnorm(net)
        tmodel = net if self.teacher == "student" else fixed if fixed is not None else ema.module  # updated in place
        progress = _Progress(self.verbose, total)
        t0 = time.perf_counter() - run["elapsed"]

        def out_of_budget() -> bool:
            if total is not None and run["step"] >= total:
                return True
            return self.max_time is not None and time.perf_counter() - t0 >= self.max_time

        while not run["done"] and not out_of_budget():
            net.train()
            stats = _EpochStats()
            perm = torch.randperm(len(pool), generator=gen) if unsup else None
            for s in range(spe):
                if out_of_budget():
                    break
                lr = self._lr_at(run["step"], total)
                for g in opt.param_groups:
                    g["lr"] = lr * g["lr_scale"]
                li = train_lab_t[torch.randint(len(train_lab), (B,), generator=gen)]
                x_lw = weak(Xt[li], gen)
                yl, wl = y_t[li], sw_t[li]
                parts = {}
                if unsup:
                    upos = perm[torch.arange(s * Bu, (s + 1) * Bu) % len(pool)]
                    ui = pool_t[upos]
                    xu = Xt[ui]
                    x_uw, x_us = weak(xu, gen), strong(xu, gen)
                    if concat_teacher:
                        feat, logits = net(torch.cat([x_lw, x_uw, x_us]))
                        nl, nu = len(x_lw), len(xu)
                        f_l, f_uw, f_us = feat[:nl], feat[nl:nl + nu].detach(), feat[nl + nu:]
                        z_l, z_uw, z_us = logits[:, :nl], logits[:, nl:nl + nu].detach(), logits[:, nl + nu:]
                    else:
                        feat, logits = net(torch.cat([x_lw, x_us]))
                        nl = len(x_lw)
                        f_l, f_us, z_l, z_us = feat[:nl], feat[nl:], logits[:, :nl], logits[:, nl:]
                        with torch.no_grad():
                            f_uw, z_uw = tmodel(x_uw)
                    parts = self._unsup_terms(
                        net, tmodel, z_uw, f_uw, z_us, f_us, f_l, li, upos, ui, yl, y_enc, refiners, sel, bank,
                        bank_pos, fairness, run, stats,
                    )
                else:
                    feat, z_l = net(x_lw)
                    f_l = feat
                ce = torch.stack([F.cross_entropy(z, yl, reduction="none") for z in z_l]).mean(dim=0)
                sup = (wl * ce).sum() / len(yl)
                ramp = self._ramp(run["step"], total)
                loss = sup + ramp * sum(parts.values()) if parts else sup
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                ema.update(net, run["step"])
                if bank is not None and unsup:
                    bank.update(torch.from_numpy(bank_pos[li.numpy()]), net.embed(f_l.detach()))
                run["step"] += 1
                stats.add(loss=float(loss.detach()), sup_loss=float(sup.detach()), **{k: float(v.detach()) for k, v in parts.items()})
                progress.step(stats)
            run["epoch"] += 1
            run["elapsed"] = time.perf_counter() - t0
            entry = self._end_epoch(ema.module, Xt, y_enc, val, refiners, run, stats, lr)
            progress.epoch(entry)
            if self.select_best and len(val):
                # the latest epoch within the tolerance of the best held-out accuracy so far; the same
                # epoch an offline pass over the whole history would pick
                acc = entry["heldout_accuracy"]
                run["best_acc"] = max(run["best_acc"], acc)
                if acc >= run["best_acc"] - self._tolerance(run["best_acc"], len(val)) - 1e-12:
                    run["best"] = copy.deepcopy(ema.module.state_dict())
                    run["best_epoch"] = run["epoch"]
            stop = bool(self.callback(self, entry)) if self.callback is not None else False
            run["done"] = out_of_budget()
            if ckpt is not None:
                save_checkpoint(ckpt, {
                    "fingerprint": fp, "network": net.state_dict(), "start": start_state, "ema": ema.state_dict(),
                    "optimizer": opt.state_dict(), "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
                    "refiners": [r.state_dict() for r in refiners], "selector": sel.state_dict(),
                    "bank": bank.state_dict() if bank is not None else None, "run": run,
                })
            if stop:
                break
        progress.close()

        # ---- the returned model: best held-out epoch (or the last EMA), pseudo-labels from it
        model = copy.deepcopy(ema.module).eval()
        if run["best"] is not None:
            model.load_state_dict(run["best"])
        self.start_state_ = start_state
        if self.wise_alpha != 1.0:
            self.trained_state_ = copy.deepcopy(model.state_dict())
            model.load_state_dict(interpolate_state(start_state, self.trained_state_, self.wise_alpha))
        else:  # the returned model's own tensors: no second copy of the weights in memory
            self.trained_state_ = model.state_dict()
        self.model_ = model
        self.network_ = net.eval()
        self.ema_ = ema
        self.refiners_, self.selector_, self.bank_ = refiners, sel, bank
        self.history_ = list(run["history"])
        self.best_epoch_ = run["best_epoch"] if run["best"] is not None else run["epoch"]
        self.n_epochs_ = run["epoch"]
        self.n_steps_ = run["step"]
        self.train_seconds_ = run["elapsed"]
        unl = np.flatnonzero(y_enc < 0)
        self.n_fit_rows_ = n_rows
        self.pseudo_labels_ = self._pseudo_labels(Xt[unl], unl, offline=not unsup)
        self.fit_seconds_ = time.perf_counter() - t_start
        return self

    def interpolated(self, alpha: float, X=None) -> ConsistencyClassifier:
        """A copy of this fitted model whose weights are ``(1 − α)·θ_start + α·θ_trained`` (WiSE-FT),
        without refitting. Pass the training ``X`` to recompute ``pseudo_labels_`` from the new
        weights; without it the copy has none (the old ones belong to other weights)."""
        check_is_fitted(self, "trained_state_")
        out = copy.copy(self)
        out.wise_alpha = float(alpha)
        out.model_ = copy.deepcopy(self.model_)
        out.model_.load_state_dict(interpolate_state(self.start_state_, self.trained_state_, alpha))
        out.refiners_, out.selector_ = copy.deepcopy(self.refiners_), copy.deepcopy(self.selector_)
        if X is None:
            del out.pseudo_labels_
            return out
        index = self.pseudo_labels_.index
        if len(X) != self.n_fit_rows_:
            raise ValueError(f"X must be the {self.n_fit_rows_} rows the model was fitted on, got {len(X)}")
        if isinstance(X, torch.Tensor):
            rows = X[torch.from_numpy(index)]
        else:  # only the unlabeled rows (texts: only they get tokenised)
            rows = np.asarray(X, dtype=object if _is_text(X) else None)[index]
        with _torch_threads(self.n_threads):
            out.pseudo_labels_ = out._pseudo_labels(out._to_tensor(rows, fitting=False), index)
        return out

    def _ramp(self, step: int, total: int | None) -> float:
        """Linear ramp-up of the unsupervised terms over ``unsup_warmup`` (a fraction of the step
        budget, or a number of steps): the model first learns from the labels, so adaptive
        thresholds that start near zero (FlexMatch, FreeMatch, SoftMatch) do not commit to
        pseudo-labels of a random network (the ramp of Mean Teacher, Tarvainen & Valpola 2017)."""
        w = float(self.unsup_warmup or 0.0)
        if w <= 0:
            return 1.0
        steps = w * total if w < 1 and total is not None else w
        return min(1.0, (step + 1) / max(steps, 1.0))

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

    def _unsup_terms(self, net, teacher, z_uw, f_uw, z_us, f_us, f_l, li, upos, ui, yl, y_enc, refiners, sel, bank,
                     bank_pos, fairness, run, stats) -> dict:
        """Pseudo-labels for the unlabeled batch and the unsupervised loss terms."""
        member = torch.softmax(z_uw.float(), dim=-1)  # (H, n, K)
        p = member.mean(dim=0).double().numpy()
        up = upos.numpy()
        ctx = Context(
            idx=up,
            features=f_uw.numpy(),
            labeled_features=f_l.detach().numpy(),
            labeled_y=yl.numpy(),
            student_probs=torch.softmax(z_us.detach().mean(0), -1).double().numpy(),
            member_probs=member.double().numpy() if member.shape[0] > 1 else None,
            round=run["epoch"],
            max_rounds=self.max_epochs,
        )
        for r in refiners:
            r.update(p, ctx)
            p = r(p, ctx)
        p = np.clip(p, 0.0, None)
        p = p / p.sum(axis=1, keepdims=True)
        parts = {}
        p_t = torch.from_numpy(p).float()
        if bank is not None:
            e_w = teacher.embed(f_uw).detach()
            sim_w = e_w @ bank.feats.T / self.simmatch_temperature
            if run["epoch"] > 0:  # USB: the bank is meaningful after one epoch
                p_hat, q_hat = simmatch_targets(p_t, sim_w, bank.labels, self.simmatch_alpha)
                sim_s = net.embed(f_us) @ bank.feats.T / self.simmatch_temperature
                parts["instance_loss"] = self.simmatch_weight * instance_loss(q_hat, sim_s)
                p_t = p_hat.float()
                p = p_hat.double().numpy()
        sel.update(p, ctx)
        selection = sel.select(p, ctx)
        w = selection.resolved_weights()
        label = np.maximum(selection.labels, 0)
        w_t = torch.from_numpy(w).float()
        if self.temperature is None:
            target = torch.from_numpy(label)
        else:
            target = torch.softmax(torch.log(p_t.clamp_min(1e-12)) / self.temperature, dim=1)
        if self.lambda_u > 0:
            lu = torch.stack([consistency_loss(z, target, w_t) for z in z_us]).mean()
            parts["unsup_loss"] = self.lambda_u * lu
        if fairness > 0 and hasattr(sel, "p_tilde_"):
            parts["fairness_loss"] = fairness * fairness_loss(torch.softmax(z_us.mean(0), -1), w_t, sel.p_tilde_, sel.h_tilde_)
        if self.shrink_weight > 0:
            losses, _ = shrink_loss(net.aux(f_us), p_t, self.shrink_threshold)
            certain = float((p_t.max(dim=1).values >= self.shrink_threshold).float().mean())
            run["shrink_ratio"] = 0.999 * run["shrink_ratio"] + 0.001 * certain
            parts["shrink_loss"] = self.shrink_weight * losses.mean() * run["shrink_ratio"]
        # bookkeeping: mask ratio, and pseudo-label precision on held-out rows (true label known)
        held = y_enc[ui.numpy()]
        known = held >= 0
        stats.add_mask(w, (label == held)[known & (w > 0)], int((known & (w > 0)).sum()))
        return parts

    def _end_epoch(self, model, Xt, y_enc, val, refiners, run, stats, lr) -> dict:
        acc = float("nan")
        if len(val):
            probs = self._forward_probs(model, Xt[val]).mean(axis=0)
            acc = float((probs.argmax(axis=1) == y_enc[val]).mean())
            for r in refiners:  # e.g. temperature scaling: fitted on held-out labels only
                if getattr(r, "fit_requires_heldout", False):
                    r.fit(probs, y_enc[val])
        entry = {"epoch": run["epoch"], "step": run["step"], "seconds": round(run["elapsed"], 3), "lr": lr,
                 **stats.summary(), "heldout_accuracy": acc}
        run["history"].append(entry)
        return entry

    # ================================================================== predict
    def _forward_probs(self, model, Xt: torch.Tensor) -> np.ndarray:
        """Softmax of every head, ``(H, n, K)``, in eval mode, in batches."""
        model.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(Xt), int(self.eval_batch_size)):
                _, logits = model(Xt[i:i + int(self.eval_batch_size)])
                out.append(torch.softmax(logits.float(), dim=-1))
        if not out:
            return np.zeros((len(self.model_.heads) if hasattr(self, "model_") else 1, 0, len(self.classes_)))
        return torch.cat(out, dim=1).double().numpy()

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

    def _pseudo_labels(self, Xu: torch.Tensor, index: np.ndarray, offline: bool = False) -> PseudoLabels:
        """Pseudo-labels of the unlabeled rows from the returned model, refined and weighted by the
        trained refiners/selector (their state as training left it; no further update). After a
        supervised-only run (``offline``) they never saw a batch, so they are updated once on the
        whole pool, as in a self-training round."""
        K = len(self.classes_)
        if len(index) == 0:
            return PseudoLabels.from_probs(np.zeros((0, K)), np.zeros(0), self.classes_, source=f"neural-{self.teacher}")
        m = self._forward_probs(self.model_, Xu)
        p = m.mean(axis=0)
        ctx = Context(idx=np.arange(len(p)), full_pool=True, student_probs=p,
                      member_probs=m if m.shape[0] > 1 else None, round=self.best_epoch_, max_rounds=self.max_epochs)
        for r in self.refiners_:
            if offline:
                r.update(p, ctx)
            p = r(p, ctx)
        if offline:
            self.selector_.update(p, ctx)
        selection = self.selector_.select(p, ctx)
        extras = {}
        if m.shape[0] > 1:  # multi-head disagreement: mutual information H(p̄) − mean_h H(p_h)
            extras["head_disagreement"] = entropy(p) - entropy(m).mean(axis=0)
        return selection_to_record(selection, p, self.classes_, source=f"neural-{self.teacher}",
                                   round=self.best_epoch_ or 0, index=index, extras=extras)


class _EpochStats:
    """Running means of the logged quantities over one epoch."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.n = 0
        self.mask_sum = 0.0
        self.mask_n = 0
        self.pl_correct = 0
        self.pl_n = 0

    def add(self, **values):
        self.n += 1
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v

    def add_mask(self, w: np.ndarray, correct: np.ndarray, n_known: int):
        self.mask_sum += float(w.sum())
        self.mask_n += len(w)
        self.pl_correct += int(correct.sum())
        self.pl_n += n_known

    def summary(self) -> dict:
        out = {k: v / max(self.n, 1) for k, v in self.sums.items()}
        out["mask_ratio"] = self.mask_sum / self.mask_n if self.mask_n else float("nan")
        out["heldout_pl_precision"] = self.pl_correct / self.pl_n if self.pl_n else float("nan")
        return out

    def current(self) -> dict:
        return {"loss": self.sums.get("loss", 0.0) / max(self.n, 1),
                "mask": self.mask_sum / self.mask_n if self.mask_n else float("nan")}


class _Progress:
    """A rich progress bar with loss, mask ratio and held-out accuracy (``verbose >= 1``)."""

    def __init__(self, verbose: int, total: int | None):
        self.bar = None
        if not verbose:
            return
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
            TextColumn("loss {task.fields[loss]:.3f}  mask {task.fields[mask]:.2f}  held-out acc {task.fields[acc]}"),
            TimeElapsedColumn(), TimeRemainingColumn(),
        )
        self.bar.start()
        self.task = self.bar.add_task("train", total=total, epoch=1, loss=float("nan"), mask=float("nan"), acc="-")

    def step(self, stats: _EpochStats):
        if self.bar is not None:
            cur = stats.current()
            self.bar.update(self.task, advance=1, loss=cur["loss"], mask=cur["mask"])

    def epoch(self, entry: dict):
        if self.bar is not None:
            acc = entry["heldout_accuracy"]
            self.bar.update(self.task, epoch=entry["epoch"] + 1, acc="-" if acc != acc else f"{acc:.4f}")

    def close(self):
        if self.bar is not None:
            self.bar.stop()
