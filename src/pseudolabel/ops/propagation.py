"""Label spreading on a sparse graph (Zhou et al. 2004, "Learning with Local and Global Consistency").

``F = (1 − α)(I − α S)⁻¹ Y₀`` with ``S`` the normalised adjacency. Solved exactly with conjugate
gradients (``I − αS`` is symmetric positive definite) instead of a fixed number of sweeps, so the
answer does not depend on an iteration cap. Shared by the graph and ERASE teachers.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def spread_labels(S: sp.spmatrix, Y0: np.ndarray, alpha: float, tol: float = 1e-6, maxiter: int | None = None) -> np.ndarray:
    """Solve ``(I − αS) F = (1 − α) Y₀`` for all classes at once with block conjugate gradients.

    The K right-hand sides are independent CG runs (each column has its own step sizes and its own
    stopping test ``‖r_c‖ ≤ tol ‖b_c‖``, as scipy's ``cg(rtol=tol)``) that share one sparse ×
    dense product ``S @ P`` (n × K) per iteration: the graph is read once per iteration instead
    of once per class and per iteration, which is what made the per-class ``scipy.sparse.linalg.cg``
    loop slow at 10^5–10^6 rows (``pseudolabel bench --suite scale``). Columns that converged stop
    moving; ``maxiter`` (default ``10 n``) is never reached on an SPD system.

    Returns ``F ≥ 0`` (tiny negative CG residue clipped). Rows of a connected component without
    any seed are exactly 0 (the system is block diagonal and CG never leaves the seeds' blocks);
    callers turn them into probabilities with ``normalize_rows``, which makes them uniform.
    """
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"alpha must lie in [0, 1), got {alpha}")
    n, k = Y0.shape
    S = sp.csr_matrix(S, dtype=np.float64)
    B = (1.0 - alpha) * np.asarray(Y0, dtype=np.float64)
    X = B.copy()  # x0 = b, as before

    # Every n × k update is done in place into buffers made once: at 10^6 rows × 60 columns each
    # temporary is 480 MB, and allocating (page-faulting) a fresh one for every operation of every
    # iteration cost more than the sparse products themselves (benchmarks/profile_self_trainer.py).
    def apply(M: np.ndarray) -> np.ndarray:
        out = S @ M
        out *= -alpha
        out += M
        return out

    bound = (tol * np.linalg.norm(B, axis=0)) ** 2
    R = apply(X)
    np.subtract(B, R, out=R)
    del B
    P = R.copy()
    tmp = np.empty_like(R)
    rs = np.einsum("ij,ij->j", R, R)
    active = rs > bound
    limit = 10 * n if maxiter is None else int(maxiter)
    it = 0
    while active.any():
        if it >= limit:  # pragma: no cover - CG on an SPD system converges
            raise RuntimeError(f"label spreading did not converge in {limit} iterations (classes {np.flatnonzero(active).tolist()})")
        AP = apply(P)
        pAp = np.einsum("ij,ij->j", P, AP)
        step = np.divide(rs, pAp, out=np.zeros(k), where=active & (pAp > 0))
        np.multiply(P, step, out=tmp)
        X += tmp
        np.multiply(AP, step, out=tmp)
        R -= tmp
        del AP
        rs_new = np.einsum("ij,ij->j", R, R)
        active &= rs_new > bound
        beta = np.divide(rs_new, rs, out=np.zeros(k), where=active & (rs > 0))
        P *= beta
        P += R
        P[:, ~active] = 0.0
        rs = rs_new
        it += 1
    return np.clip(X, 0.0, None, out=X)
