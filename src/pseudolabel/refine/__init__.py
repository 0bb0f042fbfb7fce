"""Refine: fix teacher probabilities before selection (calibration, alignment, balancing)."""

# kernels re-exported under their old public names; they live in pseudolabel.ops
from pseudolabel.ops.calibration import fit_temperature
from pseudolabel.ops.ot import partial_plan_rows, partial_sinkhorn, rho_schedule, sinkhorn
from pseudolabel.ops.prior import estimate_prior, resolve_prior
from pseudolabel.ops.simplex import smooth_labels
from pseudolabel.refine.align import DistributionAlignment
from pseudolabel.refine.balance import SinkhornBalance
from pseudolabel.refine.calibrate import Calibrate, TemperatureScaling
from pseudolabel.refine.decay import ConfidenceDecay
from pseudolabel.refine.label_correction import LabelCorrection
from pseudolabel.refine.partial_ot import PartialOT
from pseudolabel.refine.prototype_band import PrototypeBand
from pseudolabel.refine.smoothing import LabelSmoothing
from pseudolabel.refine.temporal import TemporalEnsemble

__all__ = [
    "Calibrate",
    "ConfidenceDecay",
    "DistributionAlignment",
    "LabelCorrection",
    "LabelSmoothing",
    "PartialOT",
    "PrototypeBand",
    "SinkhornBalance",
    "TemperatureScaling",
    "TemporalEnsemble",
    "estimate_prior",
    "fit_temperature",
    "partial_plan_rows",
    "partial_sinkhorn",
    "resolve_prior",
    "rho_schedule",
    "sinkhorn",
    "smooth_labels",
]
