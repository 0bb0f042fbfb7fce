"""What every command shares: the consoles, the error exit, the BLAS thread limit, JSON output."""

from __future__ import annotations

from typing import NoReturn

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from threadpoolctl import threadpool_limits

from pseudolabel.ops.files import stay_offline  # noqa: F401 - shared by the CLI commands

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code`` (2: bad input or arguments)."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def limit_threads(n: int | None):
    """A context manager holding BLAS/OpenMP to ``n`` threads (1 when ``n`` is unset or < 1)."""
    return threadpool_limits(limits=n if n and n > 0 else 1)


def progress_bar(*, transient: bool) -> Progress:
    """The progress display of long commands: spinner, description, bar, elapsed time."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                    console=console, transient=transient)


def json_default(obj):
    """``json.dumps`` fallback: numpy scalars and arrays as Python values (NaN as null), else str."""
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


