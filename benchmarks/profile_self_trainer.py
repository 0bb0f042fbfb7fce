"""Where ``SelfTrainer()``'s time goes as the pool grows: cProfile of one default fit on the scale
suite's synthetic clusters (``bench.scale.make_clusters``, 64 dimensions, 10 labels per class).

    PYTHONPATH=src python benchmarks/profile_self_trainer.py --rows 100000 400000 --threads 2

Prints, per size, the wall time, the number of label-spreading solves, sparse products and array
hashes, and the functions with the most own time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
import warnings

from threadpoolctl import threadpool_limits

WATCH = {"spread_labels": "label-spreading solves",
         "<built-in method scipy.sparse._sparsetools.csr_matvecs>": "sparse × dense products",
         "<method 'update' of '_blake2.blake2b' objects>": "array hashes (blake2b updates)"}


def profile(rows: int, threads: int, top: int) -> None:
    from pseudolabel import SelfTrainer
    from pseudolabel.bench.scale import make_clusters

    X, y_partial, _ = make_clusters(rows, 64, seed=0)
    prof = cProfile.Profile()
    with warnings.catch_warnings(), threadpool_limits(threads):
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        prof.enable()
        SelfTrainer(random_state=0, threads=threads).fit(X, y_partial)
        prof.disable()
        wall = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    counts = {label: 0 for label in WATCH.values()}
    seconds = dict.fromkeys(WATCH.values(), 0.0)
    for (_, _, name), (_, ncalls, tottime, *_rest) in stats.stats.items():
        for key, label in WATCH.items():
            if name == key:
                counts[label] += ncalls
                seconds[label] += tottime
    print(f"\n== {rows:,} rows × 64, {threads} thread(s): {wall:.1f} s")
    for label in WATCH.values():
        print(f"  {label}: {counts[label]} calls, {seconds[label]:.1f} s own time")
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 400_000])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    for rows in args.rows:
        profile(rows, args.threads, args.top)


if __name__ == "__main__":
    main()
