"""Command line: ``pseudolabel fit | predict | review | labels | demo | bench | methods`` (a thin layer over the API).

One module per command; :mod:`pseudolabel.cli._common` holds what they share, including the
error handling every command is wrapped in (no traceback reaches the user; exit codes in its
docstring and the README). Heavy optional dependencies (torch, sentence-transformers) are
imported only by the code paths that need them.
"""

from __future__ import annotations

import signal

import typer

from pseudolabel.cli import bench, demo, fit, labels, methods, predict, review
from pseudolabel.cli._common import command, stay_offline, terminate

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Few labels + many unlabeled rows -> a trained model and pseudo-labels you can trust.",
)
app.command()(command(fit.fit))
app.command()(command(predict.predict))
app.command()(command(review.review))
app.add_typer(labels.app, name="labels")  # its commands are wrapped by `command` where they are defined
app.command()(command(demo.demo))
app.command()(command(bench.bench))
app.command("methods")(command(methods.list_methods))


def _terminated(signum, frame):
    terminate()


def main() -> None:
    """The ``pseudolabel`` console script (SIGTERM unwinds like Ctrl-C)."""
    stay_offline()
    signal.signal(signal.SIGTERM, _terminated)
    app()


__all__ = ["app", "main"]
