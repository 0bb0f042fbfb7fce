"""Open-set rejection with one-vs-all scores (IOMatch; Li et al. 2023, "IOMatch: Simplifying
Open-Set Semi-Supervised Learning with Joint Inliers and Outliers Utilization").

The unlabeled pool may hold samples of classes nobody labeled. IOMatch combines the closed-set
probabilities ``p`` with K one-vs-all (OVA) scores ``r_k = P(x belongs to class k | ...)`` into a
(K+1)-way target whose last entry is "none of the known classes"::

    q_k = p_k · r_k   (k ≤ K),      q_{K+1} = Σ_k p_k · (1 − r_k)      (rows of q sum to 1)
    outlier_i = 1[q_{K+1} ≥ 0.5]   →  label UNKNOWN (-2), weight 0
    w_i = 1[c_i ≥ τ_p] · (1 − outlier_i)

IOMatch learns the OVA heads on a shared network. Offline there is no network, so the classical
equivalent here fits K class-balanced one-vs-all logistic regressions on Gaussian-kernel
features of the labeled rows (context ``labeled_features``/``labeled_y``; see :class:`OVAHeads`)
and scores the pool rows (context ``features``). A class's head only sees labeled negatives of
the *known* classes, like IOMatch's supervised OVA loss; the kernel keeps the heads local, so a
sample far from every class's positives gets ``r_k`` low for the class ``p`` points to and is
flagged. A neural loop can pass its own
heads' scores instead (context ``ova_probs``, (n, K) positive-class probabilities).
"""

from __future__ import annotations

import numpy as np
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from pseudolabel.core.context import Context
from pseudolabel.core.protocols import BaseSelector
from pseudolabel.core.record import UNKNOWN
from pseudolabel.core.registry import register
from pseudolabel.core.selection import Selection
from pseudolabel.ops.hashing import fingerprint
from pseudolabel.ops.simplex import check_probs


def open_set_targets(probs: np.ndarray, ova_probs: np.ndarray) -> np.ndarray:
    """(K+1)-way targets ``[p ⊙ r, Σ p ⊙ (1 − r)]`` from closed-set ``p`` and OVA ``r``."""
    p = check_probs(probs)
    r = np.asarray(ova_probs, dtype=np.float64)
    if r.shape != p.shape:
        raise ValueError(f"ova_probs must have the shape of probs {p.shape}; got {r.shape}")
    if (r < 0).any() or (r > 1).any():
        raise ValueError("ova_probs are positive-class probabilities and must lie in [0, 1]")
    return np.hstack([p * r, (p * (1.0 - r)).sum(axis=1, keepdims=True)])


class OVAHeads:
    """K class-balanced one-vs-all logistic regressions, on RBF kernel features by default.

    Linear heads extrapolate: a point far beyond class k (away from the other known classes)
    gets an even *higher* class-k score, so an unseen class lying there passes as class k. On
    Gaussian-kernel features (Nyström, landmarks from the labeled and reference rows, width
    ``1/median squared distance`` of the labeled rows) every feature vanishes far from the
    data, so the heads fall back to their intercepts and stop vouching for anything there.
    On digits with 4 of 10 classes unseen both kernels score outliers equally well (AUROC 0.90,
    ``benchmarks/selectors_quick.py --suite openset``); on a blob *behind* a known class the
    linear heads fail completely (tests/select/test_openset_cwbass.py).
    """

    def __init__(self, C: float = 1.0, kernel: str = "rbf", n_components: int = 300, random_state=0):
        self.C = C
        self.kernel = kernel
        self.n_components = n_components
        self.random_state = random_state

    def _features(self, X: np.ndarray) -> np.ndarray:
        Z = self.scaler_.transform(np.asarray(X, dtype=np.float64))
        return Z if self.map_ is None else self.map_.transform(Z)

    def fit(self, X_lab: np.ndarray, y_lab: np.ndarray, n_classes: int, X_ref: np.ndarray | None = None) -> OVAHeads:
        X_lab = np.asarray(X_lab, dtype=np.float64)
        y_lab = np.asarray(y_lab, dtype=np.int64)
        if len(X_lab) != len(y_lab):
            raise ValueError(f"labeled_features has {len(X_lab)} rows but labeled_y has {len(y_lab)}")
        ref = X_lab if X_ref is None or len(X_ref) == 0 else np.vstack([X_lab, np.asarray(X_ref, dtype=np.float64)])
        self.scaler_ = StandardScaler().fit(ref)
        if self.kernel == "linear":
            self.map_ = None
        elif self.kernel == "rbf":
            Zl = self.scaler_.transform(X_lab)
            d2 = ((Zl[:, None, :] - Zl[None, :, :]) ** 2).sum(-1)
            pos = d2[d2 > 0]
            gamma = 1.0 / np.median(pos) if len(pos) else 1.0 / X_lab.shape[1]
            rng = np.random.default_rng(self.random_state)
            extra = ref[len(X_lab) :]
            take = rng.choice(len(extra), size=min(len(extra), max(self.n_components - len(X_lab), 0)), replace=False)
            # every labeled row is a landmark; the rest come from the reference (pool) rows
            landmarks = self.scaler_.transform(np.vstack([X_lab, extra[take]]))
            self.map_ = Nystroem(gamma=gamma, n_components=len(landmarks), random_state=self.random_state).fit(landmarks)
        else:
            raise ValueError(f"kernel must be 'rbf' or 'linear', got {self.kernel!r}")
        F = self._features(X_lab)
        self.heads_ = []
        for k in range(n_classes):  # K small fits; each is vectorised over samples
            pos = y_lab == k
            if not pos.any() or pos.all():
                # no positives (class unlabeled: never confirmed) or no negatives (one class only)
                self.heads_.append(0.0 if not pos.any() else 1.0)
                continue
            head = LogisticRegression(C=self.C, class_weight="balanced", max_iter=1000)
            self.heads_.append(head.fit(F, pos.astype(np.int64)))
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        F = self._features(X)
        cols = [np.full(len(F), h) if isinstance(h, float) else h.predict_proba(F)[:, 1] for h in self.heads_]
        return np.stack(cols, axis=1)


@register("select", "openset")
class OpenSetGate(BaseSelector):
    """Reject outliers of unseen classes (label UNKNOWN) and keep confident inliers.

    threshold : closed-set confidence ``τ_p`` an inlier needs (IOMatch 0.95).
    outlier_threshold : ``q_{K+1}`` at or above which a sample is UNKNOWN (IOMatch 0.5).
    C : inverse regularisation of the OVA logistic heads. kernel : ``"rbf"`` (default) or
        ``"linear"`` heads (see :class:`OVAHeads`). random_state : landmark sampling seed.

    Context: ``ova_probs`` (n, K), or ``labeled_features`` + ``labeled_y`` + ``features``.
    Selection labels: the class, or ``UNKNOWN`` (-2) for outliers; ``info``: ``outlier_score`` = ``q_{K+1}``.
    """

    _state = ("heads_", "heads_key_")

    def __init__(self, threshold: float = 0.95, outlier_threshold: float = 0.5, C: float = 1.0, kernel: str = "rbf", random_state=0):
        self.threshold = threshold
        self.outlier_threshold = outlier_threshold
        self.C = C
        self.kernel = kernel
        self.random_state = random_state

    def reset(self) -> None:
        self.heads_ = None
        self.heads_key_ = None

    def _ova(self, p: np.ndarray, ctx: Context) -> np.ndarray:
        r = ctx.get("ova_probs")
        if r is not None:
            return np.asarray(r, dtype=np.float64)
        X_lab, y_lab, X = ctx.labeled_features, ctx.labeled_y, ctx.features
        missing = [name for name, v in (("labeled_features", X_lab), ("labeled_y", y_lab), ("features", X)) if v is None]
        if missing:
            raise ValueError(
                f"OpenSetGate needs the context key 'ova_probs' or all of labeled_features, labeled_y, features; "
                f"missing {missing}"
            )
        X = np.asarray(X, dtype=np.float64)
        if len(X) != len(p):
            raise ValueError(f"context 'features' has {len(X)} rows but probs has {len(p)}")
        key = (fingerprint(np.asarray(X_lab, dtype=np.float64), np.asarray(y_lab, dtype=np.int64), X), self.C, self.kernel, self.random_state)
        if self.heads_key_ != key:
            self.heads_ = OVAHeads(self.C, self.kernel, random_state=self.random_state).fit(X_lab, y_lab, p.shape[1], X)
            self.heads_key_ = key
        return self.heads_.predict_proba(X)

    def _select(self, p: np.ndarray, ctx: Context) -> Selection:
        q = open_set_targets(p, self._ova(p, ctx))
        outlier = q[:, -1] >= self.outlier_threshold
        keep = (p.max(axis=1) >= self.threshold) & ~outlier
        label = np.where(outlier, UNKNOWN, p.argmax(axis=1))
        info = {"outlier_score": q[:, -1], "threshold": np.full(len(p), float(self.threshold))}
        return Selection(keep.astype(np.float64), label, info)
