"""pseudolabel: a few labels + many unlabeled rows -> a trained model and pseudo-labels you can trust.

The pipeline, one sub-package per stage::

    teachers/  where class probabilities come from   (EstimatorTeacher, GraphTeacher, PrototypeTeacher, ...)
    refine/    fix the probabilities                  (TemperatureScaling, DistributionAlignment, SinkhornBalance, ...)
    select/    which pseudo-labels count, how much    (FixedThreshold, TopKPerClass, FlexMatch, FreeMatch, SoftMatch, Dash, ...)
    learn/     train the student                      (SelfTrainer; ConsistencyClassifier with the torch extra)
    audit/     how right are the pseudo-labels        (metrics, HTML report, rows to label next)

Every component is also reachable by name: ``make("select", "flexmatch(threshold=0.9)")``.
"""

from pseudolabel.audit import (
    expected_calibration_error,
    pseudo_label_quality,
    query_scores,
    select_queries,
    write_report,
)
from pseudolabel.core import HUMAN, REJECTED, UNKNOWN, PseudoLabels, available, make
from pseudolabel.learn import SelfTrainer, default_student
from pseudolabel.refine import (
    Calibrate,
    ConfidenceDecay,
    DistributionAlignment,
    LabelCorrection,
    LabelSmoothing,
    PartialOT,
    PrototypeBand,
    SinkhornBalance,
    TemperatureScaling,
    TemporalEnsemble,
    sinkhorn,
)
from pseudolabel.select import (
    CWBASS,
    GRIP,
    LLKD,
    Dash,
    EnsembleGate,
    EntropyGate,
    FixedThreshold,
    FlexMatch,
    FreeMatch,
    GMMGate,
    MarginGate,
    OpenSetGate,
    PartialOTSelect,
    SoftMatch,
    TopKPerClass,
)
from pseudolabel.teachers import (
    ClusterTeacher,
    EnsembleTeacher,
    EraseTeacher,
    EstimatorTeacher,
    ExternalLabeler,
    GraphTeacher,
    LLPTeacher,
    PrototypeTeacher,
    SimMatchTeacher,
    TeacherChoice,
    ZeroShotTeacher,
)

__version__ = "0.1.0"


def __getattr__(name: str):
    # The neural estimator needs torch (an extra): imported on first access, never by `import pseudolabel`.
    if name == "ConsistencyClassifier":
        from pseudolabel.learn.neural import ConsistencyClassifier

        return ConsistencyClassifier
    raise AttributeError(f"module 'pseudolabel' has no attribute {name!r}")


__all__ = [
    "CWBASS",
    "GRIP",
    "HUMAN",
    "LLKD",
    "REJECTED",
    "UNKNOWN",
    "Calibrate",
    "ClusterTeacher",
    "ConfidenceDecay",
    "ConsistencyClassifier",
    "Dash",
    "DistributionAlignment",
    "EnsembleGate",
    "EnsembleTeacher",
    "EntropyGate",
    "EraseTeacher",
    "EstimatorTeacher",
    "ExternalLabeler",
    "FixedThreshold",
    "FlexMatch",
    "FreeMatch",
    "GMMGate",
    "GraphTeacher",
    "LLPTeacher",
    "LabelCorrection",
    "LabelSmoothing",
    "MarginGate",
    "OpenSetGate",
    "PartialOT",
    "PartialOTSelect",
    "PrototypeBand",
    "PrototypeTeacher",
    "PseudoLabels",
    "SelfTrainer",
    "SimMatchTeacher",
    "SinkhornBalance",
    "SoftMatch",
    "TeacherChoice",
    "TemperatureScaling",
    "TemporalEnsemble",
    "TopKPerClass",
    "ZeroShotTeacher",
    "__version__",
    "available",
    "default_student",
    "expected_calibration_error",
    "make",
    "pseudo_label_quality",
    "query_scores",
    "select_queries",
    "sinkhorn",
    "write_report",
]
