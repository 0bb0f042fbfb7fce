"""Benchmarks: every pseudo-labeling method side by side on real data, with an honest protocol.

``run_bench(suite="quick")`` (CLI: ``pseudolabel bench --suite quick``, or
``python -m pseudolabel.bench --suite quick``) writes ``results.json``, ``results.md`` and plots.
Methods are listed in :data:`pseudolabel.bench.methods.METHODS`, suites in
:data:`pseudolabel.bench.runner.SUITES`.
"""

from pseudolabel.bench.methods import METHODS, PSEUDOLABEL_CONFIGS, get_methods
from pseudolabel.bench.runner import SUITES, load_results, run_bench

__all__ = ["METHODS", "PSEUDOLABEL_CONFIGS", "SUITES", "get_methods", "load_results", "run_bench"]
