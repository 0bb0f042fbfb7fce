"""Label spreading on a sparse graph (Zhou et al. 2004, "Learning with Local and Global Consistency").

``F = (1 − α)(I − α S)⁻¹ Y₀`` with ``S`` the normalised adjacency. Solved exactly with conjugate
gradients (``I − αS`` is symmetric positive definite) instead of a fixed number of sweeps, so the
answer does not depend on an iteration cap. Shared by the graph and ERASE teachers.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import cg


def spread_labels(S: sp.spmatrix, Y0: np.ndarray, alpha: float, tol: float = 1e-6) -> np.ndarray:
    """Solve ``(I − αS) F = (1 − α) Y₀`` column by column with conjugate gradients.

    Returns ``F ≥ 0`` (tiny negative CG residue clipped). Rows of a connected component without
    any seed are exactly 0 (the system is block diagonal and CG never leaves the seeds' blocks);
    callers turn them into probabilities with ``normalize_rows``, which makes them uniform.
    """
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"alpha must lie in [0, 1), got {alpha}")
    n, k = Y0.shape
    A = (sp.identity(n, format="csr") - alpha * S).tocsr()
    F = np.empty((n, k))
    for c in range(k):  # one solve per class (K is small); each solve is vectorised over samples
        b = (1.0 - alpha) * Y0[:, c]
        if not b.any():
            F[:, c] = 0.0
            continue
        x, info = cg(A, b, x0=b, rtol=tol, maxiter=10 * n)
        if info > 0:  # pragma: no cover - CG on an SPD system converges
            raise RuntimeError(f"label spreading did not converge (class {c}, info={info})")
        F[:, c] = x
    return np.clip(F, 0.0, None)
