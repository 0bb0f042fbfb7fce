"""Neural students trained by weak/strong consistency with online pseudo-labels (needs torch).

``ConsistencyClassifier`` (``trainer``) is the estimator. Its parts: ``inputs`` (input kinds,
tensors, labels), ``loop`` (the components of a fit and the training step), ``optim``
(optimiser, learning-rate schedule, unsupervised ramp-up), ``state`` (``TrainState``, epoch
statistics), ``auxiliary`` (the terms of the unsupervised loss: consistency, SimMatch,
ShrinkMatch, FreeMatch fairness), ``pseudo`` (context → refiners → selector → record, per step and
at the end), ``defaults`` (default hyper-parameters and where they come from). One mechanism per
module besides: ``augment`` (views), ``models`` (backbones + heads), ``ema`` (EMA teacher),
``simmatch``, ``shrinkmatch``, ``losses``, ``text`` (MiniLM backbone / frozen embeddings),
``wise`` (WiSE-FT weight interpolation) and ``checkpoint``.
"""

from pseudolabel.learn.neural.augment import (
    Compose,
    Cutout,
    FeatureDropout,
    GaussianNoise,
    Identity,
    Mixup,
    RandAugment,
    RandomFlip,
    RandomShift,
    RandomSwap,
    Scarf,
    SpanDeletion,
    TokenDropout,
    default_views,
)
from pseudolabel.learn.neural.ema import ModelEMA
from pseudolabel.learn.neural.models import MLP, Network, SmallCNN
from pseudolabel.learn.neural.shrinkmatch import shrink_loss, shrink_mask
from pseudolabel.learn.neural.simmatch import LabeledBank, instance_loss, simmatch_targets
from pseudolabel.learn.neural.trainer import ConsistencyClassifier
from pseudolabel.learn.neural.wise import interpolate_state

__all__ = [
    "MLP",
    "Compose",
    "ConsistencyClassifier",
    "Cutout",
    "FeatureDropout",
    "GaussianNoise",
    "Identity",
    "LabeledBank",
    "Mixup",
    "ModelEMA",
    "Network",
    "RandAugment",
    "RandomFlip",
    "RandomShift",
    "RandomSwap",
    "Scarf",
    "SmallCNN",
    "SpanDeletion",
    "TokenDropout",
    "default_views",
    "instance_loss",
    "interpolate_state",
    "shrink_loss",
    "shrink_mask",
    "simmatch_targets",
]
