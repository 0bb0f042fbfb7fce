"""Run-by-run comparison of two bench ``results.json`` files (same suite, seeds and datasets):
per method, how many runs changed test accuracy and by how much.

    PYTHONPATH=src python benchmarks/compare_results.py results/quick/results.json NEW/results.json

Used to say which numbers a change moved (e.g. the quick suite before and after a refactor).
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from pseudolabel.bench.runner import load_results


def accuracies(path) -> dict[tuple, float]:
    return {(r["dataset"], r["budget"], r["method"], r["seed"]): r["metrics"]["accuracy"]
            for r in load_results(path)["runs"] if r.get("status") == "ok"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    args = ap.parse_args()
    before, after = accuracies(args.before), accuracies(args.after)
    common = sorted(set(before) & set(after), key=str)
    print(f"{len(common)} runs in both ({len(before)} before, {len(after)} after)")
    diffs: dict[str, list[float]] = defaultdict(list)
    for key in common:
        diffs[key[2]].append(100.0 * (after[key] - before[key]))
    print("| method | runs changed | mean change (points) | range |")
    print("| --- | ---: | ---: | --- |")
    for method, d in sorted(diffs.items()):
        d = np.asarray(d)
        moved = np.abs(d) > 1e-9
        rng = f"{d.min():+.1f} … {d.max():+.1f}" if moved.any() else "–"
        print(f"| {method} | {int(moved.sum())}/{len(d)} | {d.mean():+.2f} | {rng} |")


if __name__ == "__main__":
    main()
