"""Command line: ``pseudolabel fit | predict | review | labels | demo | bench | methods`` (a thin layer over the API).

One module per command; :mod:`pseudolabel.cli._common` holds what they share. Heavy optional
dependencies (torch, sentence-transformers) are imported only by the code paths that need them.
"""

from __future__ import annotations

import typer

from pseudolabel.cli import bench, demo, fit, labels, methods, predict, review
from pseudolabel.cli._common import stay_offline

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Few labels + many unlabeled rows -> a trained model and pseudo-labels you can trust.",
)
app.command()(fit.fit)
app.command()(predict.predict)
app.command()(review.review)
app.add_typer(labels.app, name="labels")
app.command()(demo.demo)
app.command()(bench.bench)
app.command("methods")(methods.list_methods)


def main() -> None:
    """The ``pseudolabel`` console script."""
    stay_offline()
    app()


__all__ = ["app", "main"]
