"""Cell size × probes of the blocked IVF kNN search: time (k-means and search), recall@7, and the
graph teacher's accuracy, against exact search.

    nice -n 10 python benchmarks/ivf_cells.py --dataset mnist --rows 60000 \
        --configs 1000x6,500x12,250x24,default,exact [--threads 2] [--out results/scale/ivf_cells_mnist60k.json]

``CxP`` = cells of C rows, P cells probed per cell (C·P rows compared per query row); ``default``
= ``ops.knn``'s own choice; ``exact`` = faiss exact search. Data as in the scale suite
(``pseudolabel.bench.scale``: ``synthetic20``, ``synthetic64``, ``mnist``). Wall and CPU seconds and
the 1-minute load average are printed with each row, since the machine is shared.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--rows", type=int, default=60_000)
    ap.add_argument("--configs", default="1000x6,500x12,250x24,default,exact")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-accuracy", action="store_true", help="time and recall only")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    import faiss

    from pseudolabel.bench.scale import N_CLASSES, load_data
    from pseudolabel.ops import knn
    from pseudolabel.teachers import GraphTeacher

    X, ys, y = load_data(args.dataset, args.rows)
    X = np.ascontiguousarray(X, dtype=np.float32)
    unl = ys < 0
    sample = np.random.default_rng(1).choice(len(X), 2000, replace=False)
    with threadpool_limits(args.threads):
        _, truth = faiss.knn(X[sample], X, 8)
    kmeans_seconds = []

    class TimedKmeans(faiss.Kmeans):
        def train(self, *a, **kw):
            t = time.perf_counter()
            out = super().train(*a, **kw)
            kmeans_seconds.append(time.perf_counter() - t)
            return out

    faiss.Kmeans = TimedKmeans
    real_ivf = knn.ivf_search
    rows = []
    for cfg in args.configs.split(","):
        kw = {} if cfg in ("default", "exact") else dict(zip(("cell_rows", "n_probe"), map(int, cfg.split("x")), strict=True))
        knn.ivf_search = functools.partial(real_ivf, **kw)
        backend = "faiss" if cfg == "exact" else "ivf"
        row = {"config": cfg, "load_before": os.getloadavg()[0]}
        with threadpool_limits(args.threads):
            kmeans_seconds.clear()
            c0, t0 = time.process_time(), time.perf_counter()
            _, idx = knn.knn_search(X, X[sample], 8, backend=backend)
            row["search_seconds_sample"] = round(time.perf_counter() - t0, 2)
            hits = [len((set(a) - {s}) & (set(e) - {s})) / 7 for a, e, s in zip(idx, truth, sample, strict=True)]
            row["recall@7"] = round(float(np.mean(hits)), 3)
            if not args.skip_accuracy:
                kmeans_seconds.clear()
                c0, t0 = time.process_time(), time.perf_counter()
                P = GraphTeacher(backend=backend).transduce(X, ys, n_classes=N_CLASSES)
                row["graph_seconds"] = round(time.perf_counter() - t0, 1)
                row["graph_cpu_seconds"] = round(time.process_time() - c0, 1)
                row["kmeans_seconds"] = round(sum(kmeans_seconds), 1)
                row["accuracy"] = round(float((P.argmax(1)[unl] == y[unl]).mean()), 4)
        row["load_after"] = os.getloadavg()[0]
        rows.append(row)
        print(json.dumps(row), flush=True)
    knn.ivf_search = real_ivf
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"dataset": args.dataset, "rows": args.rows, "threads": args.threads,
                                        "runs": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
