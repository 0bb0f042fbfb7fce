"""``pseudolabel bench``: every method side by side on the benchmark datasets.

:func:`bench` is the one definition of the bench flags: ``pseudolabel bench`` registers it,
``python -m pseudolabel.bench`` runs it (:func:`click_command`), and the command line recorded in
``results.json`` is rebuilt from it (:func:`command_line`). It lives in ``bench/`` (not ``cli/``)
so the benchmark does not depend on the CLI package.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from pseudolabel.bench.methods import METHODS, missing
from pseudolabel.bench.report import write_markdown, write_plots
from pseudolabel.bench.runner import SUITES, load_results, run_bench

console = Console()
_err = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """``error: message`` on stderr, exit code 2 (the CLI's convention for bad arguments)."""
    _err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _csv(values: list[str] | None) -> list[str] | None:
    """Repeatable and comma-separated options alike: ``--datasets a,b --datasets c``."""
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def bench(
    suite: Annotated[str, typer.Option(help="smoke, quick (< 15 min), standard (hours), matrix (teacher × selector), dev (tune + confirm groups), dev-tune, dev-confirm, dev-confirm2 … dev-confirm9 (later confirm groups), speed (default fit vs scikit-learn on a 30k × 100 table; --seeds = repeats), scale (10^4–10^6 rows: graph teacher, SelfTrainer, scikit-learn, and labeling 10^7 rows; see --sizes), active (query strategies vs a simulated oracle; --methods are query strategies, --labels-per-class the start).")] = "quick",
    datasets: Annotated[list[str] | None, typer.Option("--datasets", help="Datasets, comma separated or repeated.")] = None,
    methods: Annotated[list[str] | None, typer.Option("--methods", help="Methods, comma separated or repeated (see --list).")] = None,
    seeds: Annotated[int | None, typer.Option(help="Seeds per configuration (seed-start .. seed-start+n-1).")] = None,
    seed_start: Annotated[int | None, typer.Option(help="First seed (default: the suite's; dev: 0 for the tune group, 100 for confirm).")] = None,
    labels_per_class: Annotated[list[str] | None, typer.Option("--labels-per-class", help="Label budgets, e.g. 1,4,10,25.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Results folder.")] = Path("results/bench"),
    data_dir: Annotated[Path | None, typer.Option(help="Folder with mnist/, ag_news/, sentence_cls/.")] = None,
    threads: Annotated[int, typer.Option(help="BLAS/OpenMP/torch threads per run.")] = 1,
    n_jobs: Annotated[int, typer.Option(help="Runs at a time (1 gives clean timings).")] = 1,
    timeout: Annotated[float | None, typer.Option(help="Kill a run after this many seconds.")] = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNG plots.")] = False,
    update: Annotated[bool, typer.Option("--update", help="Merge into the results.json already in --out (same runs replaced).")] = False,
    sizes: Annotated[list[str] | None, typer.Option("--sizes", help="Scale suite: row counts, e.g. 10000,100000,1000000 (predict uses 10 × the largest).")] = None,
    list_only: Annotated[bool, typer.Option("--list", help="List methods and suites, then exit.")] = False,
    report: Annotated[Path | None, typer.Option("--report", metavar="RESULTS_JSON", help="Only rebuild results.md and plots (beside it) from a results.json, then exit.")] = None,
) -> None:
    """Run methods side by side on the benchmark datasets; writes results.json, results.md and plots to --out."""
    if list_only:
        _print_list()
        return
    try:
        if report is not None:
            _rebuild_report(report, plots=not no_plots)
            return
        budgets = _csv(labels_per_class)
        run_bench(
            suite=suite,
            datasets=_csv(datasets),
            methods=_csv(methods),
            seeds=seeds,
            seed_start=seed_start,
            labels_per_class=[int(b) for b in budgets] if budgets else None,
            out_dir=out,
            data_dir=data_dir,
            console=console,
            threads=threads,
            n_jobs=n_jobs,
            timeout=timeout,
            plots=not no_plots,
            update=update,
            sizes=[int(float(v)) for v in _csv(sizes)] if sizes else None,
            command=shlex.join(command_line(suite=suite, datasets=_csv(datasets), methods=_csv(methods), seeds=seeds,
                                            seed_start=seed_start, labels_per_class=budgets, out=out, data_dir=data_dir,
                                            threads=threads, n_jobs=n_jobs, timeout=timeout, update=update,
                                            sizes=_csv(sizes))),
        )
    except (ValueError, FileNotFoundError, ImportError) as exc:
        fail(str(exc))


def _print_list() -> None:
    """The bench methods (family, description, what an unavailable one lacks), then the suites."""
    table = Table(title="methods")
    for col in ("name", "family", "description"):
        table.add_column(col)
    for name, m in METHODS.items():
        why = missing(m)
        table.add_row(name, m.family, m.description + (f" [unavailable: {'; '.join(why)}]" if why else ""))
    console.print(table)
    for name, cfg in SUITES.items():
        console.print(f"suite [bold]{name}[/]: {cfg}")


def _rebuild_report(results_json: Path, *, plots: bool) -> None:
    """``--report``: results.md (and the plots, unless --no-plots) again from a results.json, beside it."""
    results = load_results(results_json)
    out = results_json.parent
    if results.get("suite") == "active":  # learning curves: the active suite's own report
        from pseudolabel.bench import active

        results["summary"] = active.summarize(results)
        active.write_markdown(results, out / "results.md")
        if plots:
            active.write_plots(results, out)
        console.print(f"wrote {out / 'results.md'}", highlight=False, soft_wrap=True)
        return
    write_markdown(results, out / "results.md")
    if plots:
        write_plots(results, out)
    console.print(f"wrote {out / 'results.md'}", highlight=False, soft_wrap=True)


def click_command():
    """The click command typer builds from :func:`bench` (the parameters carry each option's name,
    flags and default)."""
    app = typer.Typer(add_completion=False)
    app.command("bench")(bench)
    return typer.main.get_command(app)


ALWAYS_RECORDED = ("suite",)  # recorded even at its default: the first thing a reader looks for


def command_line(**values) -> list[str]:
    """The ``pseudolabel bench`` argv that gives these option values (keyed by parameter name, e.g.
    ``n_jobs=2``; lists are joined with commas). Options left out, None, or at their default are
    not written, except ``suite``; flag names, defaults and order come from the command itself."""
    params = {p.name: p for p in click_command().params}
    unknown = sorted(set(values) - set(params))
    if unknown:
        raise TypeError(f"not options of pseudolabel bench: {', '.join(unknown)}")
    argv = ["pseudolabel", "bench"]
    for name, param in params.items():
        value = values.get(name)
        if value is None or (name not in ALWAYS_RECORDED and _is_default(value, param.default)):
            continue
        flag = next(o for o in param.opts if o.startswith("--"))
        if param.is_flag:
            argv += [flag] if value else []
        else:
            argv += [flag, _format(value)]
    return argv


def _is_default(value, default) -> bool:
    return default is not None and (value == default or str(value) == str(default))


def _format(value) -> str:
    """An option value as typed on the command line: lists comma-joined, floats short but exact."""
    if isinstance(value, list | tuple):
        return ",".join(_format(v) for v in value)
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)
