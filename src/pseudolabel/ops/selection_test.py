"""How sure a choice among many options is: the sign-flip max-T test over paired differences.

Choosing the best of ``m`` options by held-out accuracy and then testing *that* option as if it
had been the only one is the winner's curse: with 20–100 labels the luckiest of 15 options clears
a one-option bound by chance. The max-T procedure of Westfall & Young ("Resampling-Based Multiple
Testing", 1993) compares the chosen option's statistic with the null distribution of the *maximum*
over every option that was looked at, so the p-value holds for the whole search. Under the null
(no option differs from the floor) each labeled row's difference vector is symmetric about zero,
so flipping its sign — the same flip for every option, which keeps their strong correlation — draws
from the null. Written here because neither SciPy nor scikit-learn offers a paired max-T test.
"""

from __future__ import annotations

import numpy as np

N_FLIPS = 2000
"""Random sign-flip draws: the Monte-Carlo standard error of a p-value near 0.1 is
√(0.1·0.9/2000) ≈ 0.007, well below the gaps between the levels worth choosing among."""
_BLOCK = 250
"""Draws per matrix product at most."""
_BLOCK_CELLS = 1 << 23
"""Sign matrix entries per product at most (8·2^23 B = 64 MB as float64), so a fit with 10^5–10^6
labeled rows takes fewer draws per product instead of gigabytes."""


def paired_t(diffs: np.ndarray) -> np.ndarray:
    """Per option (rows of ``diffs``): ``Σd / √Σd²``, the studentised sum of paired differences
    under sign symmetry (0 when an option never differs from the floor)."""
    D = np.atleast_2d(np.asarray(diffs, dtype=np.float64))
    norm = np.sqrt((D * D).sum(axis=1))
    return np.divide(D.sum(axis=1), norm, out=np.zeros(len(D)), where=norm > 0)


def max_t_pvalue(diffs: np.ndarray, chosen: int, *, n_flips: int = N_FLIPS, seed: int = 0) -> float:
    """One-sided p-value that option ``chosen`` beats the floor, corrected for every option in ``diffs``.

    ``diffs``: (n_options, n_rows) paired differences ``1[option right] − 1[floor right]`` on the
    same rows. Returns ``(1 + #{draws: max_o t*_o ≥ t_chosen}) / (1 + n_flips)`` — never 0, and 1
    when the chosen option does not beat the floor at all.
    """
    D = np.atleast_2d(np.asarray(diffs, dtype=np.float64))
    if D.shape[1] == 0 or not 0 <= chosen < len(D):
        return 1.0
    t = paired_t(D)
    t_obs = t[chosen]
    if t_obs <= 0:
        return 1.0
    D = D[:, np.abs(D).sum(axis=0) > 0]  # labeled rows where no option differs add nothing
    norm = np.sqrt((D * D).sum(axis=1))
    live = norm > 0
    D, norm = D[live], norm[live]
    rng = np.random.default_rng(seed)
    exceed = 0
    per_block = max(1, min(_BLOCK, _BLOCK_CELLS // max(D.shape[1], 1)))
    for start in range(0, n_flips, per_block):
        b = min(per_block, n_flips - start)
        signs = rng.integers(0, 2, size=(D.shape[1], b), dtype=np.int8) * 2 - 1
        t_null = (D @ signs) / norm[:, None]
        exceed += int((t_null.max(axis=0) >= t_obs - 1e-12).sum())
    return float((1 + exceed) / (1 + n_flips))


def risk_level(alpha: float, risk: float | None, disagreement: float) -> float:
    """The level a max-T p-value is held to when keeping an option that changes a share
    ``disagreement`` (δ) of the predictions could cost up to δ: ``min(alpha, risk / δ)``, so the
    expected loss from keeping a useless option, ``level · δ``, stays within ``risk``. ``risk=None``
    or δ = 0 (or unknown) leaves ``alpha``."""
    if risk is None or not disagreement > 0:
        return float(alpha)
    return float(min(alpha, risk / disagreement))
