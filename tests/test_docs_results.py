"""Every results folder README.md and BENCHMARKS.md cite ships with the repository (a clean clone has it)."""

import re
import shutil
import subprocess
from itertools import product
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {"x", "bench", "NEW"}  # placeholders in usage lines ("--report results/x/results.json")


def _expand(name: str) -> list[str]:
    """``dev-risk-{tune,confirm2}`` → ``dev-risk-tune``, ``dev-risk-confirm2`` (shell brace expansion)."""
    parts = re.split(r"\{([^{}]*)\}", name)
    choices = [[p] if i % 2 == 0 else p.split(",") for i, p in enumerate(parts)]
    return ["".join(c) for c in product(*choices)]


def _cited() -> set[str]:
    text = "\n".join((ROOT / name).read_text() for name in ("README.md", "BENCHMARKS.md"))
    names = {n for m in re.findall(r"results/([A-Za-z0-9_.,{}-]+)", text) for n in _expand(m)}
    # "results/dev-risk-<group>" leaves "dev-risk-": a template, not a folder
    return {n for n in names if n not in EXAMPLES and not n.endswith(("-", ".")) and "." not in n}


def test_the_pattern_expands_braces_and_skips_templates():
    assert _expand("dev-{a,b}-x") == ["dev-a-x", "dev-b-x"] and _expand("speed") == ["speed"]
    assert {"dev-risk-tune", "dev-confirm7", "speed"} <= _cited() and "dev-risk-" not in _cited()


def test_cited_results_folders_exist():
    missing = sorted(name for name in _cited() if not any((ROOT / "results" / name).glob("*.md")))
    assert not missing, f"cited in README/BENCHMARKS but not in results/: {missing}"


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_cited_results_folders_are_committed():
    untracked = [name for name in sorted(_cited())
                 if not subprocess.run(["git", "ls-files", f"results/{name}"], cwd=ROOT, capture_output=True, text=True).stdout]
    assert not untracked, f"cited but not committed (a clean clone would lack them): {untracked}"
