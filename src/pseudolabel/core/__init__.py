"""Core of the pipeline: the `PseudoLabels` record, the stage protocols and the name registry."""

from pseudolabel.core.ops import check_probs, entropy, normalize_rows, one_hot, softmax
from pseudolabel.core.protocols import (
    BaseRefiner,
    BaseSelector,
    Refiner,
    Selector,
    Stateful,
    Teacher,
    TeacherMixin,
    ema,
    resolve_momentum,
)
from pseudolabel.core.record import HUMAN, REJECTED, UNKNOWN, PseudoLabels
from pseudolabel.core.registry import available, make, parse_spec, register, split_specs

__all__ = [
    "HUMAN",
    "REJECTED",
    "UNKNOWN",
    "BaseRefiner",
    "BaseSelector",
    "PseudoLabels",
    "Refiner",
    "Selector",
    "Stateful",
    "Teacher",
    "TeacherMixin",
    "available",
    "check_probs",
    "ema",
    "entropy",
    "make",
    "normalize_rows",
    "one_hot",
    "parse_spec",
    "register",
    "resolve_momentum",
    "softmax",
    "split_specs",
]
