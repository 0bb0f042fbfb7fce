"""Approximate kNN graphs: build + query time and recall@k of each candidate backend.

    nice -n 10 python benchmarks/knn_backends.py --rows 200000 --dims 64 --threads 2 \
        [--backends ivf,faiss_ivf,faiss_hnsw,hnswlib,pynndescent,ivf_pca32] [--out results/scale/knn_200k_64.json]
(hnswlib and pynndescent: pip install -e '.[knn-bench]')

Data: Gaussian clusters mapped to classes (``pseudolabel.bench.scale.make_clusters``, the
synthetic set of the scale suite). Every backend builds the full self-kNN graph (each row's
``k`` nearest other rows, k = 7 as in ``GraphTeacher``); the time covers index build and querying
every row. recall@k compares with faiss's exact search on 2,000 sampled rows; "same class" is the
fraction of graph edges joining rows of the same class (what label spreading needs). Wall and
process CPU seconds are both printed, with the 1-minute load average before and after, because
this machine is shared: CPU seconds move less with the load than wall time does.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

K = 7


def _ivf(cell_rows=None, n_probe=None, pca=None):
    def run(X, k, threads):
        from pseudolabel.ops import knn

        Z = X
        if pca:
            from sklearn.decomposition import PCA

            Z = PCA(pca, random_state=0).fit_transform(X).astype(np.float32)
        kw = {}
        if cell_rows:
            kw["cell_rows"] = cell_rows
        if n_probe:
            kw["n_probe"] = n_probe
        return knn.ivf_search(Z, Z, k + 1, **kw)[1]

    return run


def _faiss_ivf(X, k, threads):
    import faiss

    n, d = X.shape
    nlist = int(4 * np.sqrt(n))
    quant = faiss.IndexFlatL2(d)
    index = faiss.IndexIVFFlat(quant, d, nlist)
    index.train(X[np.random.default_rng(0).choice(n, min(n, 64 * nlist), replace=False)])
    index.add(X)
    index.nprobe = 16
    return index.search(X, k + 1)[1]


def _faiss_hnsw(X, k, threads):
    from pseudolabel.ops.knn import hnsw_search

    return hnsw_search(X, X, k + 1)[1]


def _hnswlib(X, k, threads):
    import hnswlib

    index = hnswlib.Index(space="l2", dim=X.shape[1])
    index.init_index(max_elements=len(X), ef_construction=100, M=16, random_seed=0)
    index.add_items(X, num_threads=threads)
    index.set_ef(50)
    return index.knn_query(X, k=k + 1, num_threads=threads)[0].astype(np.int64)


def _pynndescent(X, k, threads):
    from pynndescent import NNDescent

    nnd = NNDescent(X, n_neighbors=k + 1, random_state=0, n_jobs=threads, low_memory=True)
    return nnd.neighbor_graph[0].astype(np.int64)


BACKENDS = {
    "ivf": _ivf(),
    "ivf_probe10": _ivf(n_probe=10),
    "ivf_cell2000": _ivf(cell_rows=2000, n_probe=4),
    "ivf_pca32": _ivf(pca=32),
    "faiss_ivf": _faiss_ivf,
    "faiss_hnsw": _faiss_hnsw,
    "hnswlib": _hnswlib,
    "pynndescent": _pynndescent,
}


def _drop_self(idx: np.ndarray, k: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Each row's ``k`` neighbours other than itself (``rows``: the row ids of ``idx``'s rows)."""
    rows = np.arange(len(idx)) if rows is None else rows
    own = idx == rows[:, None]
    drop = np.where(own.any(1), own.argmax(1), idx.shape[1] - 1)
    keep = np.ones_like(idx, dtype=bool)
    keep[np.arange(len(idx)), drop] = False
    return idx[keep].reshape(len(idx), idx.shape[1] - 1)[:, :k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--dims", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--backends", default="ivf,faiss_ivf,faiss_hnsw,hnswlib,pynndescent,ivf_pca32")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    import faiss

    from pseudolabel.bench.scale import make_clusters

    X, _, y = make_clusters(args.rows, args.dims)
    X = np.ascontiguousarray(X, dtype=np.float32)
    sample = np.random.default_rng(1).choice(len(X), 2000, replace=False)
    with threadpool_limits(args.threads):
        _, truth = faiss.knn(X[sample], X, K + 1)
    truth = _drop_self(truth, K, sample)
    results = {"rows": args.rows, "dims": args.dims, "k": K, "threads": args.threads, "cpus": os.cpu_count(), "runs": []}
    for name in args.backends.split(","):
        load0 = os.getloadavg()[0]
        c0, t0 = time.process_time(), time.perf_counter()
        try:
            with threadpool_limits(args.threads):
                idx = BACKENDS[name](X, K, args.threads)
        except ImportError as exc:
            print(f"{name}: not installed ({exc})", flush=True)
            continue
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        idx = _drop_self(idx, K)
        recall = float(np.mean([len(set(idx[s]) & set(truth[j])) / K for j, s in enumerate(sample)]))
        same = float((y[idx] == y[:, None]).mean())
        row = {"backend": name, "seconds": round(wall, 1), "cpu_seconds": round(cpu, 1), f"recall@{K}": round(recall, 3),
               "same_class_edges": round(same, 4), "load_before": load0, "load_after": os.getloadavg()[0]}
        results["runs"].append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
