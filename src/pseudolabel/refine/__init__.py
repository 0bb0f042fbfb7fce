"""Refine: fix teacher probabilities before selection (calibration, alignment, balancing)."""

from pseudolabel.refine.align import DistributionAlignment
from pseudolabel.refine.calibrate import Calibrate, TemperatureScaling, fit_temperature
from pseudolabel.refine.sinkhorn import SinkhornBalance, sinkhorn

__all__ = [
    "Calibrate",
    "DistributionAlignment",
    "SinkhornBalance",
    "TemperatureScaling",
    "fit_temperature",
    "sinkhorn",
]
