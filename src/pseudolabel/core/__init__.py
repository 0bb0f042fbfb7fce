"""Core of the pipeline: the `PseudoLabels` record, the stage contracts (`Context`, `Selection`,
base classes) and the name registry. Array maths lives one layer below, in :mod:`pseudolabel.ops`."""

from pseudolabel.core.context import Context
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
from pseudolabel.core.query import QueryBatch, QueryContext
from pseudolabel.core.record import HUMAN, REJECTED, UNKNOWN, PseudoLabels
from pseudolabel.core.registry import available, make, register
from pseudolabel.core.selection import Selection, selection_to_record
from pseudolabel.ops.simplex import check_probs, entropy, normalize_rows, one_hot, softmax
from pseudolabel.ops.specs import parse_spec, split_specs

__all__ = [
    "HUMAN",
    "REJECTED",
    "UNKNOWN",
    "BaseRefiner",
    "BaseSelector",
    "Context",
    "PseudoLabels",
    "QueryBatch",
    "QueryContext",
    "Refiner",
    "Selection",
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
    "selection_to_record",
    "softmax",
    "split_specs",
]
