"""How right are the pseudo-labels? Calibration and precision/coverage measures.

Computed on rows whose true label is known but was hidden from the pipeline (the held-out folds),
so they estimate the quality of the pseudo-labels on the real unlabeled pool. The maths lives in
:mod:`pseudolabel.ops` (one ECE for the whole package); this module is the audit's public face.
"""

from pseudolabel.ops.calibration import (
    ECE_BINS,
    accuracy_coverage,
    expected_calibration_error,
    reliability,
)
from pseudolabel.ops.metrics import pseudo_label_quality

__all__ = ["ECE_BINS", "accuracy_coverage", "expected_calibration_error", "pseudo_label_quality", "reliability"]
