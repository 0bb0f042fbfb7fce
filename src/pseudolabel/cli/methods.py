"""``pseudolabel methods``: the teachers, refiners, selectors and query strategies usable by name."""

from __future__ import annotations

from rich.table import Table

from pseudolabel.cli._common import console
from pseudolabel.core.registry import available


def list_methods() -> None:
    """List the teachers, refiners, selectors (--teacher, --refine, --select) and query strategies (review --queue)."""
    for kind in ("teacher", "refine", "select", "query"):
        table = Table(title=kind)
        table.add_column("name")
        table.add_column("class")
        table.add_column("summary")
        for name, cls in available(kind).items():
            doc = (cls.__doc__ or "").strip().splitlines()
            table.add_row(name, cls.__name__, doc[0] if doc else "")
        console.print(table)
