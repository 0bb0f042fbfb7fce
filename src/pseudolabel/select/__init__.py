"""Select: decide which pseudo-labels count and how much (weights in [0, 1])."""

from pseudolabel.select.flexmatch import FlexMatch, flexmatch_thresholds
from pseudolabel.select.freematch import FreeMatch, fairness_loss
from pseudolabel.select.softmatch import SoftMatch, softmatch_weight
from pseudolabel.select.threshold import FixedThreshold
from pseudolabel.select.topk import TopKPerClass, topk_per_class

__all__ = [
    "FixedThreshold",
    "FlexMatch",
    "FreeMatch",
    "SoftMatch",
    "TopKPerClass",
    "fairness_loss",
    "flexmatch_thresholds",
    "softmatch_weight",
    "topk_per_class",
]
