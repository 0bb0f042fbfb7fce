"""`AuditRecord`: what a fitted learner says about its own pseudo-labels, for the report and the CLI.

Any learner can produce one (``SelfTrainer.audit_record()``, ``ConsistencyClassifier.audit_record()``),
so the HTML report and the run summary do not depend on one estimator's private attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pseudolabel.core.record import PseudoLabels


@dataclass
class HeldOut:
    """Labeled rows hidden from the run that scored them, with what that run said about them.

    y : (m,) true encoded class. label : (m,) the pseudo-label the run gave (``REJECTED``/``UNKNOWN``
    possible). weight : (m,) its weight. confidence : (m,) probability of ``label`` (of the arg-max
    when rejected). source : what the arrays are, in words (shown in the report).
    """

    y: np.ndarray
    label: np.ndarray
    weight: np.ndarray
    confidence: np.ndarray
    source: str = "pseudo-labels of held-out rows"

    def __post_init__(self) -> None:
        self.y = np.asarray(self.y, dtype=np.int64)
        self.label = np.asarray(self.label, dtype=np.int64)
        self.weight = np.asarray(self.weight, dtype=np.float64)
        self.confidence = np.asarray(self.confidence, dtype=np.float64)
        n = len(self.y)
        if not (len(self.label) == len(self.weight) == len(self.confidence) == n):
            raise ValueError("HeldOut arrays must have one entry per held-out row")

    @classmethod
    def from_probs(cls, y: np.ndarray, probs: np.ndarray, source: str) -> HeldOut:
        """Held-out rows scored by a plain predictor: label = arg-max, weight 1."""
        p = np.asarray(probs, dtype=np.float64)
        label = p.argmax(axis=1) if len(p) else np.zeros(0, dtype=np.int64)
        return cls(y, label, np.ones(len(p)), p.max(axis=1) if len(p) else np.zeros(0), source)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def accepted(self) -> np.ndarray:
        return (self.label >= 0) & (self.weight > 0)


@dataclass
class AuditRecord:
    """Everything the report shows about a fitted learner.

    pseudo_labels : the record of the unlabeled rows. heldout : see :class:`HeldOut` (``None`` when
    no labels were held out). history : one dict per round (``step="round"``) or epoch
    (``step="epoch"``), with at least ``heldout_accuracy``. chosen_step : the round/epoch whose
    model was kept. candidates : the configurations compared (``config``, ``heldout_accuracy``,
    ``chosen``). decision : how the final model was chosen (e.g. ``fallback``, ``p_value``,
    ``heldout_accuracy``, ``supervised_heldout_accuracy``, ``n_heldout``). config : the chosen
    configuration.
    """

    classes: np.ndarray
    pseudo_labels: PseudoLabels
    n_labeled: int
    n_unlabeled: int
    heldout: HeldOut | None = None
    history: list[dict] = field(default_factory=list)
    step: str = "round"
    chosen_step: int | None = None
    candidates: list[dict] = field(default_factory=list)
    decision: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
