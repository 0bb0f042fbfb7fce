"""``pseudolabel review RUN_DIR``: the labeling web app on http://127.0.0.1:8765 (review extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pseudolabel.cli._common import console, fail

DEFAULT_PORT = 8765


def review(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by `pseudolabel fit`.")],
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    store: Annotated[Path | None, typer.Option(help="Label store file (default: RUN_DIR/labels.db).")] = None,
    data: Annotated[Path | None, typer.Option(help="The run's data file, if it moved since the fit.")] = None,
    queue: Annotated[str, typer.Option(help="Default queue: a query strategy (see `pseudolabel methods`), likely_wrong or audit_sample.")] = "entropy_sampling",
    budget: Annotated[int | None, typer.Option(help="Labels you plan to give (the page shows how many are left).")] = None,
    user: Annotated[str | None, typer.Option(help="Your name in the label history (default: the OS user; each browser can set its own).")] = None,
) -> None:
    """Label rows, accept or correct pseudo-labels, audit their precision and retrain, in the browser."""
    try:
        import uvicorn

        from pseudolabel.review.app import create_app
    except ImportError as exc:
        fail(f"`pseudolabel review` needs the review extra: pip install 'pseudolabel[review]' ({exc})")
    from pseudolabel.data.io import InputError
    from pseudolabel.store import StoreError

    if not run_dir.is_dir():
        fail(f"{run_dir} is not a directory: pass the --out directory of `pseudolabel fit`")
    if not 0 < port < 65536:
        fail(f"--port must be 1-65535, got {port}")
    try:
        loopback = {"127.0.0.1", "localhost", "::1", "[::1]"}
        app = create_app(run_dir, store=store, data=data, queue=queue, budget=budget, user=user,
                         allowed_hosts=loopback if host in loopback else None)
    except (InputError, StoreError, ValueError) as exc:
        fail(str(exc))
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]note:[/] listening on {host}: anyone who can reach this address can label rows")
    console.print(f"review [bold]{run_dir}[/] at http://{host}:{port}/  (Ctrl+C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
