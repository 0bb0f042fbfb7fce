"""pseudolabel: a few labels + many unlabeled rows -> a trained model and pseudo-labels you can trust.

The pipeline, one sub-package per stage::

    teachers/  where class probabilities come from   (EstimatorTeacher, GraphTeacher, ...)
    refine/    fix the probabilities                  (TemperatureScaling, DistributionAlignment, SinkhornBalance)
    select/    which pseudo-labels count, how much    (FixedThreshold, TopKPerClass, FlexMatch, FreeMatch, SoftMatch)
    learn/     train the student                      (SelfTrainer)
    audit/     how right are the pseudo-labels        (metrics, HTML report)
"""

from pseudolabel.core import REJECTED, UNKNOWN, PseudoLabels, available, make
from pseudolabel.learn import SelfTrainer

__version__ = "0.1.0"

__all__ = ["REJECTED", "UNKNOWN", "PseudoLabels", "SelfTrainer", "__version__", "available", "make"]
