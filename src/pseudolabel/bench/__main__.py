"""``python -m pseudolabel.bench``: the benchmark without the CLI package (same flags as
``pseudolabel bench``)."""

from __future__ import annotations

import argparse
import sys


def _list(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pseudolabel.bench", description=__doc__)
    p.add_argument("--suite", default="quick", help="smoke | quick | standard | matrix (default: quick)")
    p.add_argument("--datasets", help="comma-separated, e.g. digits,trec")
    p.add_argument("--methods", help="comma-separated method names (see --list)")
    p.add_argument("--seeds", type=int, help="number of seeds (0..n-1)")
    p.add_argument("--labels-per-class", help="comma-separated budgets, e.g. 1,4,10,25")
    p.add_argument("--out", default="results/bench", help="output folder (default: results/bench)")
    p.add_argument("--data-dir", help="folder with mnist/, ag_news/, sentence_cls/")
    p.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads per run (default 1)")
    p.add_argument("--n-jobs", type=int, default=1, help="runs at a time (default 1: clean timings)")
    p.add_argument("--timeout", type=float, help="kill a run after this many seconds")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--update", action="store_true", help="merge into the results.json already in --out (same runs are replaced)")
    p.add_argument("--list", action="store_true", help="list methods and suites, then exit")
    p.add_argument("--report", metavar="RESULTS_JSON", help="only rebuild results.md and plots from a results.json")
    a = p.parse_args(argv)

    if a.list:
        from pseudolabel.bench.methods import METHODS, missing
        from pseudolabel.bench.runner import SUITES

        for name, m in METHODS.items():
            why = missing(m)
            print(f"{name:<30} {m.family:<13} {m.description}" + (f"  [unavailable: {'; '.join(why)}]" if why else ""))
        for name, cfg in SUITES.items():
            print(f"suite {name}: {cfg}")
        return 0
    if a.report:
        from pathlib import Path

        from pseudolabel.bench.report import write_markdown, write_plots
        from pseudolabel.bench.runner import load_results

        res = load_results(a.report)
        out = Path(a.report).parent
        write_markdown(res, out / "results.md")
        if not a.no_plots:
            write_plots(res, out)
        print(f"wrote {out / 'results.md'}")
        return 0

    from pseudolabel.bench.runner import run_bench

    budgets = _list(a.labels_per_class)
    run_bench(
        suite=a.suite,
        datasets=_list(a.datasets),
        methods=_list(a.methods),
        seeds=a.seeds,
        labels_per_class=None if budgets is None else [int(b) for b in budgets],
        out_dir=a.out,
        data_dir=a.data_dir,
        threads=a.threads,
        n_jobs=a.n_jobs,
        timeout=a.timeout,
        plots=not a.no_plots,
        command=None,
        update=a.update,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
