"""Default hyper-parameters of ``ConsistencyClassifier``, each with where it comes from.

Constants of one mechanism live with it: learning rates, weight decays and the cosine schedule
in ``optim``; the fairness weight and the ShrinkMatch ratio EMA in ``auxiliary``; the EMA warm-up
in ``ema``; the SimMatch bank momentum in ``simmatch``.
"""

EMA_MOMENTUM = 0.999
"""Momentum of the EMA teacher: USB's ``ema_m`` (FixMatch's EMA model; Mean Teacher, Tarvainen &
Valpola 2017)."""

MULTIHEAD_HEADS = 4
"""Heads of the multi-head teacher (``teacher="multihead"``, ``n_heads="auto"``): UPL-SFDA's
duplicated heads (Wu et al. 2023)."""

HEAD_DROPOUT = 0.3
"""Dropout on the features each head of the multi-head teacher sees (its perturbation): our
default, not a paper's."""

UNLABELED_RATIO = 7
"""Unlabeled : labeled batch ratio μ: FixMatch's and USB's ``uratio`` (Sohn et al. 2020)."""

BATCH_SIZE = 32
"""Labeled batch size: ours, sized for a CPU (FixMatch and USB use 64)."""

LAMBDA_U = 1.0
"""Weight of the unsupervised loss: FixMatch's ``λ_u`` (Sohn et al. 2020; USB ``ulb_loss_ratio``)."""

UNSUP_WARMUP = 0.2
"""Fraction of the step budget over which the unsupervised terms ramp up: ours; it prevented the
class collapses seen without it on AG News (docs/neural.md). USB has no ramp."""

SIMMATCH_ALPHA = 0.9
"""SimMatch's mixing weight of the classifier in ``p̂ = α p + (1 − α) agg`` (Zheng et al. 2022)."""

SIMMATCH_TEMPERATURE = 0.1
"""SimMatch's temperature of the instance similarities (Zheng et al. 2022)."""

PROJ_DIM = 128
"""Width of SimMatch's projection head (Zheng et al. 2022; USB ``proj_size``)."""

SHRINK_THRESHOLD = 0.95
"""ShrinkMatch's confidence threshold τ (Yang et al. 2023: FixMatch's 0.95)."""

VALIDATION_FRACTION = 0.2
"""Share of each class's labels held out for model selection: ours."""

EVAL_BATCH_SIZE = 512
"""Rows per forward pass when predicting: ours (memory, not accuracy)."""
