"""``pseudolabel bench --suite speed``: the default fit's wall time against scikit-learn's, side by side.

The issue's measure: a 30,000-row × 100-column table, ``SelfTrainer()`` called from Python the way a
user calls it, against ``SelfTrainingClassifier(LogisticRegression())`` on the same data, in one
process with **no thread variables set** (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``,
``MKL_NUM_THREADS`` are removed from the child's environment, so both get the libraries' default
thread pools and ``SelfTrainer`` must manage its own). The two fits alternate ``repeats`` times
and the ratio of medians is reported, so machine load hits both alike.

Two tables: ``synthetic`` (``make_classification``: 5 classes, 30 informative of 100 columns) and
``mnist`` (the first 30,000 MNIST train images, PCA to 100 components fitted on them, when the data
folder is present); 10 labels per class, the rest unlabeled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

N_ROWS, N_COLS, LABELS_PER_CLASS = 30_000, 100, 10
MAX_RATIO = 5.0
"""The issue's bar: the default fit takes at most 5× scikit-learn's self-training wall time."""
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")

_CHILD = r"""
import json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from sklearn.linear_model import LogisticRegression
from sklearn.semi_supervised import SelfTrainingClassifier
from pseudolabel import SelfTrainer
from pseudolabel.bench.speed import table
name, repeats = sys.argv[1], int(sys.argv[2])
X, y = table(name)
times = {"sklearn": [], "pseudolabel": []}
for r in range(repeats):
    for method in ("sklearn", "pseudolabel"):
        est = SelfTrainingClassifier(LogisticRegression()) if method == "sklearn" else SelfTrainer(random_state=r)
        t = time.perf_counter()
        est.fit(X, y)
        times[method].append(time.perf_counter() - t)
print(json.dumps(times))
"""


def table(name: str, data_dir=None):
    """The 30,000 × 100 table and its partial labels (``-1`` = unlabeled)."""
    import numpy as np

    from pseudolabel.data.datasets import sample_labels

    if name == "synthetic":
        from sklearn.datasets import make_classification

        X, y = make_classification(N_ROWS, N_COLS, n_informative=30, n_redundant=20, n_classes=5, n_clusters_per_class=2, random_state=0)
    elif name == "mnist":
        from sklearn.decomposition import PCA

        from pseudolabel.data.datasets import load_mnist

        d = load_mnist(data_dir)
        X = PCA(N_COLS, svd_solver="randomized", random_state=0).fit_transform(np.asarray(d.X_train[:N_ROWS], dtype=np.float64))
        y = d.y_train[:N_ROWS]
    else:
        raise ValueError(f"unknown speed table {name!r}; use 'synthetic' or 'mnist'")
    return np.ascontiguousarray(X, dtype=np.float64), sample_labels(y, LABELS_PER_CLASS, 0)


def run_speed(out_dir, *, repeats: int = 3, tables=("synthetic", "mnist"), console=None, command: str | None = None) -> dict:
    """Time both fits in a child process without thread variables; write ``speed.json`` and ``speed.md``."""
    from pseudolabel.bench import env as bench_env

    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    results = {"rows": N_ROWS, "columns": N_COLS, "labels_per_class": LABELS_PER_CLASS, "repeats": repeats,
               "threads": "library defaults (no thread variables set); SelfTrainer manages its own",
               "command": command, "date": bench_env.now(), "machine": bench_env.machine(),
               "git": bench_env.git_revision(), "tables": {}}
    for name in tables:
        load_before = bench_env.load_average()
        proc = subprocess.run([sys.executable, "-c", _CHILD, name, str(repeats)], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            results["tables"][name] = {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
            continue
        times = json.loads(proc.stdout.strip().splitlines()[-1])
        med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
        row = {"seconds": times, "median_seconds": med, "ratio": med["pseudolabel"] / med["sklearn"],
               "load_before": load_before, "load_after": bench_env.load_average()}
        row["bar_met"] = row["ratio"] <= MAX_RATIO
        results["tables"][name] = row
        if console is not None:
            console.print(f"{name}: scikit-learn {med['sklearn']:.1f} s, pseudolabel {med['pseudolabel']:.1f} s, "
                          f"ratio {row['ratio']:.2f} (bar ≤ {MAX_RATIO:g}: {'met' if row['bar_met'] else 'not met'})")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.json").write_text(json.dumps(results, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    (out / "speed.md").write_text("\n".join(markdown(results)) + "\n", encoding="utf-8")
    return results


def markdown(results: dict) -> list[str]:
    """``speed.md``: one row per table, the medians, the ratio and the bar."""
    lines = ["# Speed: the default fit against scikit-learn's self-training", "",
             f"Command: `{results.get('command') or 'pseudolabel bench --suite speed'}`", "",
             f"{results['rows']:,} rows × {results['columns']} columns, {results['labels_per_class']} labels per class, "
             f"{results['repeats']} alternating repeats, median seconds; threads: {results['threads']}; "
             f"date {results.get('date')}; revision {results.get('git')}.", "",
             "| table | scikit-learn `SelfTrainingClassifier(LogisticRegression())` s | `SelfTrainer()` s | ratio | bar ≤ 5 | load before/after |",
             "| --- | ---: | ---: | ---: | --- | --- |"]
    for name, row in results["tables"].items():
        if "error" in row:
            lines.append(f"| {name} | failed: {row['error']} | | | | |")
            continue
        med = row["median_seconds"]
        lines.append(f"| {name} | {med['sklearn']:.2f} | {med['pseudolabel']:.2f} | {row['ratio']:.2f} | "
                     f"{'met' if row['bar_met'] else 'not met'} | {row.get('load_before')}/{row.get('load_after')} |")
    return lines
