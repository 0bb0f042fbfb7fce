"""``pseudolabel demo``: digits with 4 labels per class, pseudolabel against the usual baselines."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from pseudolabel.bench.demo import CEILING, METHODS, run_demo
from pseudolabel.cli._common import console, dumps, progress_bar


def demo(
    seeds: Annotated[int, typer.Option(help="Seeds (splits and label draws).")] = 5,
    labels_per_class: Annotated[int, typer.Option(help="Labels per class.")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Digits, 4 labels per class: supervised-only, scikit-learn's two methods, pseudolabel, fully supervised."""
    total = seeds * (len(METHODS) + 1)
    if as_json:
        result = run_demo(seeds, labels_per_class)
        sys.stdout.write(dumps(result) + "\n")
        return
    with progress_bar(transient=True) as progress:
        task = progress.add_task("running", total=total)
        result = run_demo(seeds, labels_per_class, progress=lambda name: progress.update(task, advance=1, description=name))
    table = Table(title=f"digits, {labels_per_class} labels per class, {seeds} seeds (test accuracy on a held-out 30%)")
    table.add_column("method")
    table.add_column("accuracy", justify="right")
    table.add_column("seconds / fit", justify="right")
    best = max(r["accuracy_mean"] for r in result["methods"] if r["method"] != CEILING)
    for r in result["methods"]:
        style = "bold green" if r["accuracy_mean"] == best else ("dim" if r["method"] == CEILING else "")
        table.add_row(r["method"], f"{r['accuracy_mean']:.4f} ± {r['accuracy_std']:.4f}", f"{r['seconds_mean']:.2f}", style=style)
    console.print(table)
    console.print(f"[dim]{result['machine']}; {result['threads']}[/]")
