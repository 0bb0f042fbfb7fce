"""Uncertainty gates: keep a pseudo-label when the teacher's uncertainty is low.

* ``entropy`` — normalised predictive entropy ``u = H(p)/log K`` (Shannon; 0 = one-hot,
  1 = uniform), the classic uncertainty-sampling score turned into a filter.
* ``margin`` — gap between the two largest probabilities ``p₍₁₎ − p₍₂₎`` (Scheffer et al. 2001),
  which unlike the max probability ignores how the rest of the mass is spread.
* ``ensemble`` — disagreement between ensemble members (UPL-SFDA, Wu et al. 2023,
  "UPL-SFDA: Uncertainty-aware Pseudo Label Guided Source-Free Domain Adaptation"; BALD's
  mutual information, Houlsby et al. 2011) from the context key ``member_probs`` (M, n, K):
  ``"mi"`` = (H(p̄) − mean_m H(p_m)) / log K, ``"variance"`` = 4·Var_m p_m[ŷ] (ŷ = argmax p̄;
  the factor 4 maps the largest possible variance of a probability to 1) and
  ``"disagreement"`` = 1 − (votes for the most-voted class)/M.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseSelector
from pseudolabel.core.registry import register
from pseudolabel.ops.ensemble import ensemble_uncertainty
from pseudolabel.ops.simplex import margin, normalized_entropy


class _Gate(BaseSelector):
    """Shared gate: ``w = 1[u ≤ threshold]`` (or ``1 − u`` clipped when ``soft``)."""

    def _gate(self, u: np.ndarray, reason: str) -> np.ndarray:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {self.threshold}")
        self.info_ = {reason: u, "threshold": np.full(len(u), float(self.threshold))}
        if self.soft:
            return np.where(u <= self.threshold, 1.0 - u, 0.0)
        return (u <= self.threshold).astype(np.float64)


@register("select", "entropy")
class EntropyGate(_Gate):
    """Keep samples with normalised entropy ``H(p)/log K ≤ threshold`` (default 0.5).

    soft : weight ``1 − H/log K`` for kept samples instead of 1.
    """

    def __init__(self, threshold: float = 0.5, soft: bool = False):
        self.threshold = threshold
        self.soft = soft

    def _select(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        return self._gate(normalized_entropy(p), "entropy")


@register("select", "margin")
class MarginGate(BaseSelector):
    """Keep samples whose top-2 margin ``p₍₁₎ − p₍₂₎`` reaches ``threshold`` (default 0.5).

    soft : weight = the margin for kept samples instead of 1.
    """

    def __init__(self, threshold: float = 0.5, soft: bool = False):
        self.threshold = threshold
        self.soft = soft

    def _select(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        mg = margin(p)
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {self.threshold}")
        keep = mg >= self.threshold
        self.info_ = {"margin": mg, "threshold": np.full(len(p), float(self.threshold))}
        return np.where(keep, mg if self.soft else 1.0, 0.0)


@register("select", "ensemble_gate", aliases=("ensemble",))
class EnsembleGate(_Gate):
    """Keep samples the ensemble members agree on (UPL-SFDA reliability, BALD uncertainty).

    measure : ``"mi"`` (mutual information / log K), ``"variance"`` or ``"disagreement"``.
    threshold : largest uncertainty kept (default 0.1). confidence : also require
        ``max p ≥ confidence`` (UPL-SFDA's rule is ``max p̄ ≥ 0.9`` with any disagreement).
    soft : weight ``1 − u`` for kept samples.

    Context: ``member_probs`` (M, n, K), set by teachers that expose ``members_proba_`` and by the
    neural multi-head teacher. Without members (a single predictor) there is no disagreement to
    measure: every row has uncertainty 0 and only ``confidence`` gates, and ``info_["members"]``
    says 1.
    """

    def __init__(self, measure: str = "mi", threshold: float = 0.1, confidence: float = 0.0, soft: bool = False):
        self.measure = measure
        self.threshold = threshold
        self.confidence = confidence
        self.soft = soft

    def _select(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        m = p[None] if ctx.member_probs is None else np.asarray(ctx.member_probs, dtype=np.float64)
        if m.ndim != 3 or m.shape[1:] != p.shape:
            raise ValueError(f"member_probs must have shape (M, {p.shape[0]}, {p.shape[1]}); got {m.shape}")
        w = self._gate(ensemble_uncertainty(m, self.measure), self.measure)
        self.info_["members"] = np.full(len(p), m.shape[0])
        if self.confidence > 0:
            w = np.where(p.max(axis=1) >= self.confidence, w, 0.0)
        return w
