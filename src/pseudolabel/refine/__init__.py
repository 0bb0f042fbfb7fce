"""Refine: fix teacher probabilities before selection (calibration, alignment, balancing)."""

from pseudolabel.refine.align import DistributionAlignment
from pseudolabel.refine.calibrate import Calibrate, TemperatureScaling, fit_temperature
from pseudolabel.refine.decay import ConfidenceDecay
from pseudolabel.refine.label_correction import LabelCorrection
from pseudolabel.refine.partial_ot import (
    PartialOT,
    partial_plan_rows,
    partial_sinkhorn,
    rho_schedule,
)
from pseudolabel.refine.prior import estimate_prior, resolve_prior
from pseudolabel.refine.prototype_band import PrototypeBand
from pseudolabel.refine.sinkhorn import SinkhornBalance, sinkhorn
from pseudolabel.refine.smoothing import LabelSmoothing, smooth_labels
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
