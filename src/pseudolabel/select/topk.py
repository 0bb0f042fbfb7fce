"""Class-balanced top-k per class (GRIP, Menghini et al. 2023, "Enhancing CLIP with CLIP").

Each class keeps the ``k`` samples it is most confident about; a sample that does not make its
arg-max class's list is offered to its next most likely class, and no sample ever lands in two
classes (the authors' greedy pass lacks that guarantee; see docs/methods/select.md). The
assignment is :func:`pseudolabel.ops.assign.topk_per_class`.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseSelector
from pseudolabel.core.registry import register
from pseudolabel.core.selection import Selection
from pseudolabel.ops.assign import topk_per_class


@register("select", "topk")
class TopKPerClass(BaseSelector):
    """Keep the ``k`` most confident samples of every class (weight 1), one class per sample.

    k : int = samples per class; float in (0, 1] = that fraction of ``n / K`` per class
        (``1.0`` labels everything, balanced).
    """

    def __init__(self, k: int | float = 0.5):
        self.k = k

    def per_class(self, n: int, n_classes: int) -> int:
        if isinstance(self.k, float | np.floating):
            if not 0.0 < self.k <= 1.0:
                raise ValueError(f"fractional k must lie in (0, 1], got {self.k}; pass an int for a count")
            return int(np.ceil(self.k * n / n_classes))
        if int(self.k) < 0:
            raise ValueError(f"k must be >= 0, got {self.k}")
        return int(self.k)

    def _select(self, p: np.ndarray, ctx: Context) -> Selection:
        assigned = topk_per_class(p, self.per_class(len(p), p.shape[1]))
        # the class a sample lands in may be its 2nd or 3rd choice: it is the label, not argmax(p)
        return Selection((assigned >= 0).astype(np.float64), np.where(assigned >= 0, assigned, p.argmax(axis=1)))
