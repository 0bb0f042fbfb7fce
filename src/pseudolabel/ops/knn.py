"""k-nearest-neighbour search and sparse kNN graphs, shared by every graph-based teacher.

Below :data:`EXACT_MAX_ROWS` rows the search is exact: faiss ``IndexFlatL2`` when installed, else
scikit-learn's ``NearestNeighbors`` (the reference the tests compare against). Above it,
``backend="auto"`` uses the blocked IVF search (:func:`ivf_search`): k-means cells, each cell's
rows searched exactly against the rows of its nearest cells, one matrix product per cell; see
:func:`knn_search` for the measurements behind that choice. Every graph-based component (graph,
ERASE, SimMatch and LLP teachers, the audit's neighbourhoods) searches through this module.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

METRICS = ("euclidean", "cosine")


def _faiss():
    try:
        import faiss
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return faiss


def _n_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def prepare(X, metric: str) -> np.ndarray:
    """Float32, C-contiguous rows; unit-normalised for cosine (then L2 order = cosine order)."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float32))
    if metric == "cosine":
        X = np.ascontiguousarray(normalize(X).astype(np.float32))
    return X


BACKENDS = ("auto", "faiss", "sklearn", "ivf", "hnsw")
"""``faiss``: exact ``IndexFlatL2``; ``sklearn``: exact ``NearestNeighbors``; ``ivf``: the blocked
cell search below (approximate); ``hnsw``: faiss ``IndexHNSWFlat`` (approximate, kept for
comparison); ``auto``: exact below :data:`EXACT_MAX_ROWS` base rows, ``ivf`` above (faiss needed;
without faiss, scikit-learn's exact search)."""

EXACT_MAX_ROWS = 50_000
"""``backend="auto"`` searches exactly while the base has fewer rows than this. Exact search costs
n² d: 50,000 × 64 takes ~2 s, so the approximate index would save little and its answer would
differ from the reference for no reason; the 200,000-row graph took 60+ s exactly (see below)."""

IVF_CELL_ROWS = 250
"""Rows per k-means cell of the ``ivf`` backend (``n_cells = n // IVF_CELL_ROWS``, at most
:data:`IVF_MAX_CELLS`)."""
IVF_MAX_CELLS = 1024
"""k-means on more cells costs more than the search it saves: with 4,000 cells at 10^6 × 64 rows
the k-means alone took 128 s against 7 s with 1,000 (``benchmarks/ivf_cells.py``); beyond 256,000 rows the cells grow instead."""
IVF_CANDIDATES = 6000
"""Rows each query row is compared with (``n_probe × rows per cell``): the cost of the search."""
IVF_MIN_PROBE = 6
"""Fewest cells searched per cell (its own and the 5 whose centroids are nearest)."""


def knn_search(base: np.ndarray, query: np.ndarray | None, k: int, *, backend: str = "auto",
               random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``k`` nearest rows of ``base`` for each query row: (squared-L2 distances, indices).

    With ``query=None`` the base rows query themselves and each row's own index is removed, so
    the result never contains self-loops (duplicates of a row may still appear).

    backend : one of :data:`BACKENDS`. ``"auto"`` is exact (faiss ``IndexFlatL2``, scikit-learn
        without faiss) below :data:`EXACT_MAX_ROWS` base rows and :func:`ivf_search` above.
    random_state : seed of the ``ivf`` backend's k-means (the exact backends ignore it).

    Choice of the approximate backend, measured by ``nice -n 10 python benchmarks/knn_backends.py
    --rows 200000 --dims 64 --threads 2`` (results/scale/knn_200k_64.json): the full 7-NN graph
    (build + query every row) of 200,000 × 64 Gaussian clusters, 2 threads, on this 2-core machine
    with a 1-minute load average of 7–12 from other jobs (so wall ≫ CPU seconds):

    ========================================  ======  =====  ========  =================
    backend                                   wall s  CPU s  recall@7  same-class edges
    ========================================  ======  =====  ========  =================
    ``ivf`` (1,000-row cells, 6 probed)         14.5    8.8     0.994              1.000
    ``ivf`` (2,000-row cells, 4 probed)         15.1    9.9     1.000              1.000
    ``ivf`` (1,000-row cells, 10 probed)        40.9   19.9     1.000              1.000
    ``ivf`` on a PCA-32 projection               8.8    5.9     0.148              1.000
    faiss ``IndexIVFFlat`` (4√n lists, 16)      41.0   25.7     0.822              1.000
    faiss ``IndexHNSWFlat`` (M 32, ef 40/64)   134.0   65.4     0.982              0.999
    hnswlib (M 16, ef 100/50)                  161.4   58.3     0.964              0.996
    pynndescent (defaults)                      92.1   46.5     0.586              1.000
    ========================================  ======  =====  ========  =================

    The blocked ``ivf`` search wins by 3–10× at equal or better recall because it turns the
    search into dense matrix products (one BLAS GEMM per cell against its probed cells, cells
    spread over both cores by a thread pool) where HNSW and NN-descent walk a graph row by row
    and faiss's ``IndexIVFFlat`` scans its lists one query at a time. A PCA projection is cheaper
    still but loses the neighbour order in isotropic noise (recall 0.15), so it is not used. On
    the full scale suite (``pseudolabel bench --suite scale``, BENCHMARKS.md "Scale") the graph
    teacher on this backend labels within a fraction of a point of the exact graph.
    """
    self_query = query is None
    q = base if self_query else query
    k_eff = min(k + int(self_query), len(base))
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    faiss = _faiss() if backend in ("auto", "faiss", "ivf", "hnsw") else None
    if backend in ("faiss", "ivf", "hnsw") and faiss is None:
        raise ImportError(f"backend={backend!r} needs the faiss-cpu package: pip install faiss-cpu")
    approx = backend in ("ivf", "hnsw") or (backend == "auto" and faiss is not None and len(base) >= EXACT_MAX_ROWS)
    dist = idx = None
    if faiss is not None:
        # callers often cap BLAS/OpenMP at 1 thread for small fits; this search is one big
        # matrix product that scales with cores, so it gets all of them back
        with threadpool_limits(limits=_n_cores(), user_api="openmp"):
            if approx and backend == "hnsw":
                dist, idx = hnsw_search(base, q, k_eff)
            elif approx:
                dist, idx = ivf_search(base, q, k_eff, random_state=random_state)
            else:
                index = faiss.IndexFlatL2(base.shape[1])
                index.add(base)
                dist, idx = index.search(q, k_eff)
        if (idx < 0).any() and backend == "auto":
            # faiss marks "no neighbour" with -1 when float32 distances overflow (values beyond
            # ~1e19); scikit-learn computes those distances in float64
            faiss = None
    if faiss is None:
        nn = NearestNeighbors(n_neighbors=k_eff, algorithm="auto").fit(base)
        dist, idx = nn.kneighbors(q)
        with np.errstate(over="ignore"):  # beyond float32: inf, "infinitely far"
            dist = dist.astype(np.float32) ** 2
    if self_query:
        # drop each row's own entry (normally column 0; ties with duplicates can move it; an
        # approximate search may miss it, then the farthest entry goes)
        own = idx == np.arange(len(q))[:, None]
        has_own = own.any(axis=1)
        drop = np.where(has_own, own.argmax(axis=1), k_eff - 1)
        keep = np.ones_like(idx, dtype=bool)
        keep[np.arange(len(q)), drop] = False
        idx = idx[keep].reshape(len(q), k_eff - 1)
        dist = dist[keep].reshape(len(q), k_eff - 1)
    return dist, idx


def ivf_search(base: np.ndarray, query: np.ndarray, k: int, *, cell_rows: int | None = None,
               n_probe: int | None = None, random_state: int = 0, kmeans_iter: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Approximate kNN by blocked cells: (squared-L2 distances, indices), ``-1`` where a row has
    fewer than ``k`` candidates (only when ``base`` has fewer than ``k`` rows).

    ``base`` is split into ``n // cell_rows`` k-means cells (faiss ``Kmeans`` on at most 64 rows
    per centroid, ``kmeans_iter`` iterations); by default 250-row cells, at most 1,024 of them,
    and ``n_probe`` such that each row is compared with about 6,000 others
    (:data:`IVF_CELL_ROWS`, :data:`IVF_MAX_CELLS`, :data:`IVF_CANDIDATES`). Every query row goes to the cell of its nearest
    centroid; the query rows of one cell are searched *exactly* against the base rows of that
    cell and of the ``n_probe − 1`` cells whose centroids are nearest to it — one dense matrix
    product per cell (faiss ``knn``: BLAS + a k-heap), the cells spread over the cores. A true
    neighbour is missed only when it lies in a cell that is not among the ``n_probe`` nearest to
    the query's cell; cost is ``n × n_probe × cell_rows × d`` instead of ``n² d``.
    """
    faiss = _faiss()
    base = np.ascontiguousarray(base, dtype=np.float32)
    query = np.ascontiguousarray(query, dtype=np.float32)
    n, d = base.shape
    if cell_rows is None:
        n_cells = max(1, min(n // IVF_CELL_ROWS, IVF_MAX_CELLS))
    else:
        n_cells = max(1, n // max(int(cell_rows), 1))
    if n_probe is None:
        # many small cells beat few big ones at the same cost: the probed cells then follow the
        # query's own neighbourhood more closely (MNIST 60,000 rows, 6,000 candidates per row:
        # 1,000-row cells × 6 probes 90.9% of the pool right, 250-row cells × 24 probes 94.0%,
        # exact 94.6%; benchmarks/ivf_cells.py)
        n_probe = max(IVF_MIN_PROBE, round(IVF_CANDIDATES * n_cells / max(n, 1)))
    n_probe = int(n_probe)
    if n_cells == 1 or n_probe >= n_cells:
        return faiss.knn(query, base, k)
    km = faiss.Kmeans(d, n_cells, niter=int(kmeans_iter), seed=int(random_state) % (2**31), max_points_per_centroid=64)
    km.train(base)
    centroids = km.centroids
    _, cell_of_base = km.index.search(base, 1)
    _, cell_of_query = km.index.search(query, 1) if query is not base else (None, cell_of_base)
    cell_of_base, cell_of_query = cell_of_base.ravel(), cell_of_query.ravel()
    base_order = np.argsort(cell_of_base, kind="stable")
    base_sorted = base[base_order]
    base_off = np.concatenate([[0], np.cumsum(np.bincount(cell_of_base, minlength=n_cells))])
    query_order = np.argsort(cell_of_query, kind="stable")
    query_off = np.concatenate([[0], np.cumsum(np.bincount(cell_of_query, minlength=n_cells))])
    _, probes = faiss.knn(centroids, centroids, min(int(n_probe), n_cells))
    dist = np.full((len(query), k), np.inf, dtype=np.float32)
    idx = np.full((len(query), k), -1, dtype=np.int64)

    def one_cell(c: int) -> None:
        rows = query_order[query_off[c]:query_off[c + 1]]
        if len(rows) == 0:
            return
        cand = np.concatenate([np.arange(base_off[j], base_off[j + 1]) for j in probes[c] if j >= 0])
        if len(cand) < k:  # too few rows nearby (tiny, lopsided cells): search everything
            cand = np.arange(n)
        dd, ii = faiss.knn(query[rows], base_sorted[cand], min(k, len(cand)))
        dist[rows, : dd.shape[1]] = dd
        idx[rows, : ii.shape[1]] = np.where(ii >= 0, base_order[cand[np.maximum(ii, 0)]], -1)

    threads = _n_cores()
    if threads > 1:
        # faiss releases the GIL: one cell per thread, each product on one OpenMP thread
        from concurrent.futures import ThreadPoolExecutor

        with threadpool_limits(limits=1, user_api="openmp"), ThreadPoolExecutor(threads) as pool:
            list(pool.map(one_cell, range(n_cells)))
    else:
        for c in range(n_cells):
            one_cell(c)
    return dist, idx


HNSW_M = 32
HNSW_EF_SEARCH = 64


def hnsw_search(base: np.ndarray, query: np.ndarray, k: int, *, m: int = HNSW_M,
                ef_search: int = HNSW_EF_SEARCH, ef_construction: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """faiss ``IndexHNSWFlat`` (``m`` links per node): the graph-walk alternative to
    :func:`ivf_search`, kept as a backend for comparison (``benchmarks/knn_backends.py``)."""
    faiss = _faiss()
    index = faiss.IndexHNSWFlat(base.shape[1], int(m))
    index.hnsw.efConstruction = int(ef_construction)
    index.add(np.ascontiguousarray(base, dtype=np.float32))
    index.hnsw.efSearch = max(int(ef_search), k)
    return index.search(np.ascontiguousarray(query, dtype=np.float32), k)


def knn_graph(
    X,
    n_neighbors: int = 10,
    *,
    metric: str = "euclidean",
    weights: str = "self-tuning",
    backend: str = "auto",
    symmetric: bool = True,
    random_state: int = 0,
) -> sp.csr_matrix:
    """Sparse kNN adjacency (CSR, no self-loops); ``symmetric`` takes ``max(W, Wᵀ)``.

    weights : ``"connectivity"`` (1 per edge) or ``"self-tuning"``: ``exp(−d_ij² / (σ_i σ_j))``
        with ``σ_i`` the distance to the ``k/2``-th neighbour (Zelnik-Manor & Perona 2004,
        "Self-Tuning Spectral Clustering"), so dense and sparse regions get comparable weights.
    """
    if weights not in ("connectivity", "self-tuning"):
        raise ValueError(f"weights must be 'connectivity' or 'self-tuning', got {weights!r}")
    Z = prepare(X, metric)
    n = len(Z)
    if n < 2:
        return sp.csr_matrix((n, n))
    k = min(n_neighbors, n - 1)
    dist2, idx = knn_search(Z, None, k, backend=backend, random_state=random_state)
    if weights == "connectivity":
        w = np.ones(idx.size)
    else:
        dist2 = np.maximum(dist2.astype(np.float64), 0.0)
        sigma = np.sqrt(dist2[:, max(k // 2, 1) - 1])
        sigma = np.maximum(sigma, max(float(np.median(sigma)), 1e-12) * 1e-3)  # duplicates: σ = 0
        with np.errstate(invalid="ignore"):
            w = np.exp(-dist2 / (sigma[:, None] * sigma[idx]))
        # a distance that overflowed float32 (inf) is infinitely far: no affinity, never NaN
        w = np.where(np.isfinite(dist2), w, 0.0).ravel()
    missing = (idx < 0).ravel()  # an approximate search short of candidates: no edge
    if missing.any():
        w = np.where(missing, 0.0, w)
    rows = np.repeat(np.arange(n), idx.shape[1])
    W = sp.csr_matrix((w, (rows, np.maximum(idx.ravel(), 0))), shape=(n, n))
    W.eliminate_zeros()
    if symmetric:
        W = W.maximum(W.T).tocsr()
    return W


def normalized_adjacency(W: sp.spmatrix) -> sp.csr_matrix:
    """``D^{-1/2} W D^{-1/2}`` (Zhou et al. 2004); isolated nodes keep zero rows."""
    deg = np.asarray(W.sum(axis=1)).ravel()
    inv = np.divide(1.0, np.sqrt(deg), out=np.zeros_like(deg), where=deg > 0)
    D = sp.diags(inv)
    return (D @ W @ D).tocsr()


MAX_SCALED_MAGNITUDE = 1e15
"""Largest ``|X / feature_scale(X)|``: searches run in float32 (``prepare``), whose squared
distances overflow to inf beyond ~1.8e19 (faiss then returns no neighbour at all)."""


def _column_std(X: np.ndarray, unit: float, chunk: int = 65_536) -> np.ndarray:
    """Per-column standard deviation of ``X / unit`` in float64, one block of rows at a time (two
    passes: mean, then squared deviations; no n × d float64 copy of a float32 input)."""
    n = len(X)
    total = np.zeros(X.shape[1])
    for start in range(0, n, chunk):
        total += (np.asarray(X[start:start + chunk], dtype=np.float64) / unit).sum(axis=0)
    mean = total / n
    sq = np.zeros(X.shape[1])
    for start in range(0, n, chunk):
        dev = np.asarray(X[start:start + chunk], dtype=np.float64) / unit - mean
        sq += np.einsum("ij,ij->j", dev, dev)
    return np.sqrt(sq / n)


def scaled_float32(X: np.ndarray, div: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """``X / div`` as C-contiguous float32 rows, computed one block of rows at a time in float64
    (the search input; no n × d float64 temporary)."""
    out = np.empty(X.shape, dtype=np.float32)
    for start in range(0, len(X), chunk):
        out[start:start + chunk] = np.asarray(X[start:start + chunk], dtype=np.float64) / div
    return out


def feature_scale(X: np.ndarray, scale: str | bool) -> np.ndarray:
    """Per-feature divisors for distances.

    ``"auto"`` standardises only when some feature's spread dwarfs the typical one (max std >
    10 × median std, e.g. income next to age); features on one common scale (pixels, embeddings)
    keep their geometry, because standardising blows up near-constant features (border pixels).

    When a value would still exceed :data:`MAX_SCALED_MAGNITUDE` after the division (a row far
    away from the rest, raw currency amounts), every divisor is multiplied by the same factor:
    neighbour order and the self-tuning weights do not change under a global scale, and the
    float32 distances stay finite.
    """
    X = np.asarray(X)
    if scale not in (True, False, "standard", "none", "auto"):
        raise ValueError(f"scale must be 'auto', 'standard' or 'none', got {scale!r}")
    if X.size == 0:
        return np.ones(X.shape[1])
    # column extremes in float64 without an n × d temporary (10^6 × 64 rows: 0.5 GB each)
    col_max = X.max(axis=0).astype(np.float64)
    col_min = X.min(axis=0).astype(np.float64)
    big = float(max(np.abs(col_max).max(), np.abs(col_min).max()))
    # statistics in units of the largest value, so that the variance of huge values cannot overflow
    unit = big if big > MAX_SCALED_MAGNITUDE else 1.0
    std_u = _column_std(X, unit)
    std = np.where(std_u > 0, std_u * unit, 1.0)
    ones = np.ones(X.shape[1])
    if scale is True or scale == "standard":
        div = std
    elif scale is False or scale == "none":
        div = ones
    else:
        div = std if std.max() > 10 * np.median(std) else ones
    # = max |X / div|, from the column extremes and computed without overflow
    top = float((np.maximum(np.abs(col_max), np.abs(col_min)) / unit / (div / unit)).max())
    return div * (top / MAX_SCALED_MAGNITUDE) if top > MAX_SCALED_MAGNITUDE else div
