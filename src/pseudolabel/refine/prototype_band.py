"""Prototype soft labels for the middle-confidence band (PS-TTL).

Gao et al. 2024, "PS-TTL: Prototype-based Soft-labels and Test-Time Learning for Few-shot Object
Detection": a hard threshold throws away every prediction below τ_hi, although many of those are
right. PS-TTL splits the predictions by confidence ``c = max_k p_k``::

    c > τ_hi            keep the teacher's probabilities (hard pseudo-label)
    τ_lo < c ≤ τ_hi     replace them by s = softmax_k( cos(f, proto_k) / T )
    c ≤ τ_lo            keep the teacher's probabilities (the selector should ignore them)

Prototypes are class means of features of labeled rows plus confident (c > τ_hi) rows. Online
(PS-TTL) they are the means of per-class FIFO queues of the last ``queue_length`` features,
smoothed with an EMA of momentum 0.5; offline (``full_pool=True``) they are the exact class means
over the labeled rows and the whole pool's confident rows. Defaults are PS-TTL's: τ_hi 0.9,
τ_lo 0.5, T 0.1, queue 128, EMA 0.5.

Context keys: ``features`` (rows of ``probs``), ``labeled_features`` and ``labeled_y``
(``SelfTrainer`` passes all three). The band of every row of the last call is in ``info_["band"]``
(0 low, 1 middle, 2 high).
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseRefiner, ema, resolve_momentum
from pseudolabel.core.registry import register
from pseudolabel.ops.prototypes import prototype_scores

LOW, MIDDLE, HIGH = 0, 1, 2
PS_TTL_MOMENTUM = 0.5
"""EMA momentum of the online prototypes in PS-TTL (Gao et al. 2024)."""


def confidence_band(confidence, tau_lo: float = 0.5, tau_hi: float = 0.9) -> np.ndarray:
    """0 where ``c ≤ τ_lo``, 1 where ``τ_lo < c ≤ τ_hi``, 2 where ``c > τ_hi`` (exhaustive, disjoint)."""
    if not 0.0 <= tau_lo <= tau_hi <= 1.0:
        raise ValueError(f"need 0 <= tau_lo <= tau_hi <= 1, got tau_lo={tau_lo}, tau_hi={tau_hi}")
    c = np.asarray(confidence, dtype=np.float64)
    return (c > tau_lo).astype(np.int64) + (c > tau_hi).astype(np.int64)


def _need(ctx: Context, key: str) -> np.ndarray:
    return np.asarray(ctx.require(key, "PrototypeBand"), dtype=np.float64)


@register("refine", "prototype_band")
class PrototypeBand(BaseRefiner):
    """Replace middle-band probabilities by prototype soft labels (PS-TTL).

    tau_hi, tau_lo : band edges on the confidence (PS-TTL: 0.9 and 0.5).
    temperature : softmax temperature on cosines (PS-TTL: 0.1, i.e. ×10).
    queue_length : per-class FIFO length of the online prototype queues (PS-TTL: 128).
    momentum : EMA momentum of the online prototypes (PS-TTL: 0.5); ``None`` = 0.5 online and the
        exact class means offline.
    use_confident : also build prototypes from pool rows with ``c > tau_hi`` (PS-TTL does).
    center : subtract the mean of the prototypes before the cosine (off in PS-TTL, whose
        features are ReLU outputs of one detector; helps raw non-negative features).
    """

    _state = ("prototypes_", "queues_", "n_updates_")

    def __init__(
        self,
        tau_hi: float = 0.9,
        tau_lo: float = 0.5,
        temperature: float = 0.1,
        queue_length: int = 128,
        momentum: float | None = None,
        use_confident: bool = True,
        center: bool = False,
    ):
        self.tau_hi = tau_hi
        self.tau_lo = tau_lo
        self.temperature = temperature
        self.queue_length = queue_length
        self.momentum = momentum
        self.use_confident = use_confident
        self.center = center

    def reset(self) -> None:
        self.prototypes_ = None  # (K, d), NaN rows for classes never seen
        self.queues_ = None  # list of K arrays (≤ queue_length, d)
        self.n_updates_ = 0

    def _sources(self, p: np.ndarray, context: Context) -> tuple[np.ndarray, np.ndarray]:
        """Features and class of the rows prototypes are built from (labeled + confident)."""
        feats, labels = [], []
        if context.get("labeled_features") is not None:
            lf = _need(context, "labeled_features")
            ly = np.asarray(_need(context, "labeled_y"), dtype=np.int64)
            if len(lf) != len(ly):
                raise ValueError(f"labeled_features has {len(lf)} rows but labeled_y has {len(ly)}")
            feats.append(lf[ly >= 0])
            labels.append(ly[ly >= 0])
        if self.use_confident and len(p):
            f = _need(context, "features")
            if len(f) != len(p):
                raise ValueError(f"features has {len(f)} rows but probs has {len(p)}")
            conf = p.max(axis=1) > self.tau_hi
            feats.append(f[conf])
            labels.append(p[conf].argmax(axis=1))
        if not feats:
            raise ValueError("PrototypeBand needs labeled_features/labeled_y or use_confident=True with features")
        return np.vstack(feats), np.concatenate(labels)

    def _update(self, p: np.ndarray, ctx: Context) -> None:
        k = p.shape[1]
        full_pool = ctx.full_pool
        F, y = self._sources(p, ctx)
        if len(F) == 0:
            return
        d = F.shape[1]
        means = np.full((k, d), np.nan)
        if full_pool:
            for c in np.unique(y):
                means[c] = F[y == c].mean(axis=0)
            self.queues_ = None
        else:
            if self.queues_ is None:
                self.queues_ = [np.zeros((0, d)) for _ in range(k)]
            for c in range(k):
                self.queues_[c] = np.vstack([self.queues_[c], F[y == c]])[-int(self.queue_length) :]
                if len(self.queues_[c]):
                    means[c] = self.queues_[c].mean(axis=0)
        m = resolve_momentum(self.momentum, full_pool, default=PS_TTL_MOMENTUM)
        if self.prototypes_ is None or m == 0.0:
            self.prototypes_ = means
        else:
            old = self.prototypes_
            mixed = ema(old, means, m)
            # a class seen for the first time starts at its mean; an unseen class keeps its old value
            self.prototypes_ = np.where(np.isnan(old), means, np.where(np.isnan(means), old, mixed))
        self.n_updates_ += 1

    def _refine(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        """Probabilities with middle-band rows replaced; without any update, uses this call's rows."""
        k = p.shape[1]
        band = confidence_band(p.max(axis=1), self.tau_lo, self.tau_hi)
        self.info_ = {"band": band}
        mid = band == MIDDLE
        if not mid.any():
            return p
        if self.prototypes_ is None:
            self._update(p, ctx.replace(full_pool=True))
        if self.prototypes_ is None:
            return p
        f = _need(ctx, "features")
        if len(f) != len(p):
            raise ValueError(f"features has {len(f)} rows but probs has {len(p)}")
        have = ~np.isnan(self.prototypes_).any(axis=1)
        if not have.any():
            return p
        protos = self.prototypes_[have]
        labels = np.flatnonzero(have)
        shift = protos.mean(axis=0) if self.center else 0.0
        out = p.copy()
        out[mid] = prototype_scores(f[mid] - shift, protos - shift, labels, k, float(self.temperature))
        return out
