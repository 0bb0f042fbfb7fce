"""Select: decide which pseudo-labels count and how much (a `Selection`: weights in [0, 1] and labels)."""

# kernels re-exported under their old public names; they live in pseudolabel.ops
from pseudolabel.ops.assign import topk_per_class
from pseudolabel.ops.ensemble import ensemble_uncertainty
from pseudolabel.ops.loss_gate import loss_gate, pseudo_label_loss
from pseudolabel.ops.simplex import margin, normalized_entropy
from pseudolabel.select.cwbass import CWBASS, cwbass_threshold
from pseudolabel.select.dash import Dash, dash_threshold
from pseudolabel.select.flexmatch import FlexMatch, flexmatch_thresholds
from pseudolabel.select.freematch import FreeMatch, fairness_loss
from pseudolabel.select.gmm_gate import GMMGate
from pseudolabel.select.grip import GRIP, grip_k
from pseudolabel.select.llkd import LLKD
from pseudolabel.select.openset import OpenSetGate, OVAHeads, open_set_targets
from pseudolabel.select.partial_ot import PartialOTSelect
from pseudolabel.select.softmatch import SoftMatch, softmatch_weight
from pseudolabel.select.threshold import FixedThreshold
from pseudolabel.select.topk import TopKPerClass
from pseudolabel.select.uncertainty import EnsembleGate, EntropyGate, MarginGate

__all__ = [
    "CWBASS",
    "GRIP",
    "LLKD",
    "Dash",
    "EnsembleGate",
    "EntropyGate",
    "FixedThreshold",
    "FlexMatch",
    "FreeMatch",
    "GMMGate",
    "MarginGate",
    "OVAHeads",
    "OpenSetGate",
    "PartialOTSelect",
    "SoftMatch",
    "TopKPerClass",
    "cwbass_threshold",
    "dash_threshold",
    "ensemble_uncertainty",
    "fairness_loss",
    "flexmatch_thresholds",
    "grip_k",
    "loss_gate",
    "margin",
    "normalized_entropy",
    "open_set_targets",
    "pseudo_label_loss",
    "softmatch_weight",
    "topk_per_class",
]
