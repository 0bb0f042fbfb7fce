"""What every command shares: the consoles, errors and exit codes, the BLAS thread limit, strict JSON.

Exit codes (README, "Exit codes"):

- 0: success.
- 1: internal error (a bug): one line naming the exception; ``--debug`` shows the traceback.
- 2: bad input or usage (a file, a column, an option); nothing was written.
- 3: the environment failed during the run (disk full, permission lost, out of memory); nothing
  half-written is left behind.
- 130: interrupted (Ctrl-C or SIGTERM); nothing half-written is left behind.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import traceback
import warnings
from collections import Counter
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from threadpoolctl import threadpool_limits

from pseudolabel.data.io import InputError
from pseudolabel.ops.files import (  # noqa: F401 - used by the commands
    dumps,
    json_safe,
    stay_offline,  # noqa: F401 - shared by the CLI commands
)

console = Console()
err_console = Console(stderr=True)

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERRUPTED = 130

DEBUG_HELP = "Show the traceback of an error (also: PSEUDOLABEL_DEBUG=1)."


class CLIError(Exception):
    """An error with its exit code, raised inside a command and reported by :func:`command`."""

    def __init__(self, message: str, code: int = EXIT_INPUT):
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    """Stop the command: ``error: message`` on stderr and exit ``code`` (2: bad input or arguments)."""
    raise CLIError(message, code)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True, highlight=False)


def note(message: str) -> None:
    err_console.print(f"[dim]note:[/] {escape(message)}", soft_wrap=True, highlight=False)


def _debug_requested(kwargs: dict) -> bool:
    return bool(kwargs.get("debug")) or os.environ.get("PSEUDOLABEL_DEBUG", "") not in ("", "0")


def _report(message: str, code: int, debug: bool) -> NoReturn:
    if debug:
        err_console.print(escape("".join(traceback.format_exc())), highlight=False)
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def describe_os_error(exc: OSError) -> str:
    """``OSError`` in words: what failed, on which path."""
    what = exc.strerror or type(exc).__name__
    path = exc.filename if exc.filename is not None else ""
    other = f" -> {exc.filename2}" if getattr(exc, "filename2", None) else ""
    return f"{what}: {path}{other}" if path else f"{what} ({exc})"


_TERMINATED = threading.Event()
"""Set by the SIGTERM handler (a signal is process-wide state). The handler raises
``KeyboardInterrupt``, but when it lands while a C extension module is being imported, Python
reports that import's failure instead (``ImportError: initialization failed``); the flag lets
:func:`command` still exit 130, not 1."""


def terminate() -> NoReturn:
    """SIGTERM: unwind like Ctrl-C (temporary folders are removed, exit 130)."""
    _TERMINATED.set()
    raise KeyboardInterrupt


def _interrupted(exc: BaseException) -> bool:
    """An interrupt (SIGTERM, or Ctrl-C anywhere in the exception's chain) caused ``exc``."""
    seen = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return _TERMINATED.is_set()


def command(func):
    """Wrap a command so that no traceback reaches the user: every error becomes ``error: …`` and
    an exit code (module docstring). A ``debug`` parameter (``--debug``) prints the traceback too."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        debug = _debug_requested(kwargs)
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter):  # typer's own exits and usage errors
            raise
        except KeyboardInterrupt:
            _TERMINATED.clear()
            _report("interrupted; nothing half-written was left behind", EXIT_INTERRUPTED, debug)
        except Exception as exc:
            if _interrupted(exc):
                _TERMINATED.clear()
                _report("interrupted; nothing half-written was left behind", EXIT_INTERRUPTED, debug)
            _report_error(exc, debug)

    return wrapper


def _report_error(exc: Exception, debug: bool) -> NoReturn:
    """The exit code and message of an error that is not an interrupt (module docstring)."""
    if isinstance(exc, CLIError):
        _report(str(exc), exc.code, debug)
    if isinstance(exc, InputError | ValueError):
        _report(str(exc), EXIT_INPUT, debug)
    if isinstance(exc, MemoryError):
        _report("out of memory; try fewer rows, fewer --text columns or a machine with more memory", EXIT_ENVIRONMENT, debug)
    if isinstance(exc, OSError):
        _report(f"{describe_os_error(exc)}; nothing half-written was left behind", EXIT_ENVIRONMENT, debug)
    _report(  # a bug: say so, briefly
        f"internal error ({type(exc).__name__}: {exc}); rerun with --debug for the traceback and report it",
        EXIT_INTERNAL, debug,
    )


_API_TO_CLI = (
    (r"text=\[('[^']*')\]", r"--text \1"),
    (r"categorical=\[('[^']*')\]", r"--categorical \1"),
    (r"numeric=\[('[^']*')\]", r"--numeric \1"),
    (r"do not list ('[^']*') in numeric=", r"do not pass --numeric \1"),
    (r"fallback=False", "--no-fallback"),
    (r"add the token to missing_values", "add the token with --na-values"),
    (r" or a larger max_categories", ""),
    (r"more than max_categories=(\d+)", r"more than \1"),
    (r"or drop the column\b(?! \()", "or drop the column (--drop)"),
    (r"or drop it\b(?! \()", "or drop it (--drop)"),
    (r"; drop them\b(?! \()", "; drop them (--drop)"),
)
FIT_ONLY_FLAGS = ("--text", "--categorical", "--numeric", "--drop", "--no-fallback", "--impute", "--id", "--target")


def cli_terms(message: str, command: str = "fit") -> str:
    """A library message in the words of a command: Python arguments become its flags, and a flag
    that only ``fit`` has is named as ``pseudolabel fit … --flag`` elsewhere."""
    for pattern, repl in _API_TO_CLI:
        message = re.sub(pattern, repl, message)
    if command != "fit":
        flags = "|".join(re.escape(f) for f in FIT_ONLY_FLAGS)
        message = re.sub(r"\b(?:re-?)?fit(?: the encoder)? with (?=--)", "re-run `pseudolabel fit` with ", message)
        message = re.sub(rf"(?<!`pseudolabel fit` with )(?<![\w-])({flags})\b", r"`pseudolabel fit` \1", message)
    return message


def listed(values: list[str] | None) -> list[str]:
    """Repeatable and comma-separated options alike (``--drop a,b --drop c``)."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def limit_threads(n: int | None):
    """A context manager holding BLAS/OpenMP to ``n`` threads (1 when ``n`` is unset or < 1)."""
    return threadpool_limits(limits=n if n and n > 0 else 1)


def progress_bar(*, transient: bool) -> Progress:
    """The progress display of long commands: spinner, description, bar, elapsed time."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                    console=console, transient=transient)


class collect_warnings(warnings.catch_warnings):
    """Record the warnings of a block; :meth:`print` shows each distinct one once (with a count)."""

    def __init__(self):
        super().__init__(record=True)

    def __enter__(self):
        self.caught = super().__enter__()
        warnings.simplefilter("always")
        return self

    def messages(self, skip=()) -> list[str]:
        counts = Counter(str(w.message) for w in self.caught
                         if issubclass(w.category, UserWarning) and not any(str(w.message).startswith(s) for s in skip))
        return [m + (f" (×{k})" if k > 1 else "") for m, k in counts.items()]


