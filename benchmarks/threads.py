"""How many BLAS/OpenMP threads should one benchmark run use? Times the same runs with 1 and 2.

    PYTHONPATH=src python benchmarks/threads.py [--datasets digits,trec] [--repeats 3]

Each (dataset, method, threads) run goes through the bench's own ``run_job`` in this process,
with ``threadpoolctl`` limits (BLAS and OpenMP, which covers faiss) and ``torch.set_num_threads``;
the median wall time of ``--repeats`` runs is printed as a Markdown table. Run it on an otherwise
idle machine: the load average is printed beside the numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics

from pseudolabel.bench.features import load_features
from pseudolabel.bench.job import run_job

METHODS = ["supervised", "sklearn_self_training", "sklearn_label_spreading", "pseudolabel", "pseudolabel_flexmatch"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--datasets", default="digits,mnist1d,trec")
    p.add_argument("--budget", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--data-dir")
    a = p.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}; cores: {os.cpu_count()}")
    print("| dataset | method | 1 thread (s) | 2 threads (s) | speed-up |")
    print("| --- | --- | --- | --- | --- |")
    for name in a.datasets.split(","):
        feats = load_features(name, a.data_dir)
        for m in METHODS:
            times = {}
            for t in (1, 2):
                runs = [run_job({"dataset": name, "budget": a.budget, "method": m, "seed": 0}, feats, threads=t)
                        for _ in range(a.repeats)]
                times[t] = statistics.median(r["metrics"]["seconds"] for r in runs)
            print(f"| {name} | {m} | {times[1]:.2f} | {times[2]:.2f} | {times[1] / times[2]:.2f}× |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
