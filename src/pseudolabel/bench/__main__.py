"""``python -m pseudolabel.bench``: the ``pseudolabel bench`` command itself, so both take exactly
the same flags (one definition: :func:`pseudolabel.bench.command.bench`)."""

from __future__ import annotations

import sys

from pseudolabel.bench.command import click_command
from pseudolabel.ops.files import stay_offline

PROG = "python -m pseudolabel.bench"


def main(argv: list[str] | None = None) -> int:
    """Run ``pseudolabel bench`` with ``argv`` (default: the command line); returns the exit code."""
    stay_offline()
    try:
        click_command().main(args=argv, prog_name=PROG)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
