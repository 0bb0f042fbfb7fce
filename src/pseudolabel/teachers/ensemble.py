"""Ensemble teacher: mean prediction of perturbed members, disagreement as uncertainty.

UPL-SFDA (Wu et al. 2023, "UPL-SFDA: Uncertainty-aware Pseudo Label guided Source-Free Domain
Adaptation") duplicates a prediction head K = 4 times, perturbs each copy, labels with the mean
prediction ``p̄ = mean_k p_k`` and reads the spread of the copies as uncertainty. Here the members
are copies of any scikit-learn classifier, made different by

* ``resample="bootstrap"``: each member is fitted on a class-stratified bootstrap of the rows
  (bagging; stratified so that with 4 labels per class every member still sees every class);
* a distinct ``random_state`` per member on every nested ``*random_state`` parameter (seed
  ensembles: forests, boosted trees, MLPs);
* ``max_features < 1``: a random feature subset per member (random subspaces);
* ``input_noise > 0``: Gaussian input noise at prediction time, ``σ = input_noise · std(feature)``
  (the classification analogue of UPL-SFDA's perturbed inputs).

After ``transduce`` the teacher exposes ``members_proba_`` (M, n_rows, K), which ``SelfTrainer``
passes to selectors as ``member_probs``, plus per-row ``uncertainty_`` (mutual information) and
``disagreement_`` (vote disagreement).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from pseudolabel.core.registry import register
from pseudolabel.ops.ensemble import mutual_information, vote_disagreement
from pseudolabel.ops.estimators import expand_proba, fit_weighted, resolve_student

RESAMPLE = ("bootstrap", "none")


def stratified_bootstrap(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row indices drawn with replacement within each class (every class keeps its count)."""
    parts = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        parts.append(rng.choice(rows, size=len(rows), replace=True))
    return np.sort(np.concatenate(parts))


def _reseed(estimator, seed: int):
    """Set every (nested) ``*random_state`` parameter of a fresh clone to ``seed``."""
    est = clone(estimator)
    keys = [k for k in est.get_params(deep=True) if k == "random_state" or k.endswith("__random_state")]
    if keys:
        est.set_params(**dict.fromkeys(keys, seed))
    return est


@register("teacher", "ensemble")
class EnsembleTeacher(BaseEstimator):
    """Bootstrap / seed ensemble of any probabilistic classifier (UPL-SFDA's multi-head teacher).

    estimator : the member classifier (cloned per member); ``None`` = standardised logistic
        regression (the library's default student).
    n_members : number of members M (UPL-SFDA uses 4 heads; 8 is steadier with bootstrap).
    resample : ``"bootstrap"`` (class-stratified, with replacement) or ``"none"``.
    max_features : fraction of features each member sees (1.0 = all).
    input_noise : std of Gaussian input noise at prediction time, in units of each feature's std.
    random_state : seed of the resampling, the member seeds and the noise.

    Rows with ``y == -1`` are ignored by ``fit``; ``sample_weight`` is passed to every member.
    """

    def __init__(
        self,
        estimator=None,
        n_members: int = 8,
        resample: str = "bootstrap",
        max_features: float = 1.0,
        input_noise: float = 0.0,
        random_state=None,
    ):
        self.estimator = estimator
        self.n_members = n_members
        self.resample = resample
        self.max_features = max_features
        self.input_noise = input_noise
        self.random_state = random_state

    def _base(self):
        return resolve_student(self.estimator, role="ensemble estimator")

    def _check_params(self) -> None:
        if int(self.n_members) < 1:
            raise ValueError(f"n_members must be at least 1, got {self.n_members}")
        if self.resample not in RESAMPLE:
            raise ValueError(f"resample must be one of {RESAMPLE}, got {self.resample!r}")
        if not 0.0 < float(self.max_features) <= 1.0:
            raise ValueError(f"max_features must lie in (0, 1], got {self.max_features}")
        if float(self.input_noise) < 0:
            raise ValueError(f"input_noise must be >= 0, got {self.input_noise}")

    def fit(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> EnsembleTeacher:
        self._check_params()
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        if len(y) != len(X):
            raise ValueError(f"y has {len(y)} entries but X has {len(X)} rows")
        lab = np.flatnonzero(y >= 0)
        if len(lab) == 0:
            raise ValueError("the ensemble teacher got no labeled rows (every y is -1)")
        self.n_classes_ = int(n_classes if n_classes is not None else y.max() + 1)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        rng = np.random.default_rng(self.random_state)
        base = self._base()
        n_feat = X.shape[1]
        n_keep = max(1, int(round(float(self.max_features) * n_feat)))
        self.feature_std_ = X.std(axis=0)
        self.members_, self.features_, self.noise_seeds_ = [], [], []
        for _ in range(int(self.n_members)):
            rows = stratified_bootstrap(y[lab], rng) if self.resample == "bootstrap" else np.arange(len(lab))
            rows = lab[rows]
            cols = np.sort(rng.choice(n_feat, size=n_keep, replace=False)) if n_keep < n_feat else np.arange(n_feat)
            est = _reseed(base, int(rng.integers(2**31 - 1)))
            fit_weighted(est, X[np.ix_(rows, cols)], y[rows], None if w is None else w[rows])
            self.members_.append(est)
            self.features_.append(cols)
            self.noise_seeds_.append(int(rng.integers(2**31 - 1)))
        return self

    def predict_members(self, X) -> np.ndarray:
        """Every member's probabilities: (M, n_rows, K)."""
        check_is_fitted(self, "members_")
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1] != len(self.feature_std_):
            raise ValueError(f"X has {X.shape[1]} features, the ensemble was fitted on {len(self.feature_std_)}")
        out = np.empty((len(self.members_), len(X), self.n_classes_))
        for m, (est, cols, seed) in enumerate(zip(self.members_, self.features_, self.noise_seeds_, strict=True)):
            Xm = X[:, cols]
            if self.input_noise > 0:
                noise = np.random.default_rng(seed).standard_normal(Xm.shape)
                Xm = Xm + float(self.input_noise) * self.feature_std_[cols] * noise
            out[m] = expand_proba(est.predict_proba(Xm), est.classes_, self.n_classes_)
        return out

    def predict_proba(self, X) -> np.ndarray:
        return self.predict_members(X).mean(axis=0)

    def transduce(self, X, y, sample_weight=None, *, n_classes: int | None = None) -> np.ndarray:
        """Fit on the labeled rows, then the mean member prediction for every row of ``X``.

        Sets ``members_proba_`` (M, n, K), ``uncertainty_`` (mutual information) and
        ``disagreement_`` (vote disagreement) for the same rows.
        """
        self.fit(X, y, sample_weight, n_classes=n_classes)
        P = self.predict_members(X)
        self.members_proba_ = P.astype(np.float32)  # (M, n, K) can be large: keep it compact
        self.uncertainty_ = mutual_information(P)
        self.disagreement_ = vote_disagreement(P)
        return P.mean(axis=0)
