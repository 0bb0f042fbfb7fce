"""Every results folder README.md and BENCHMARKS.md cite ships with the repository (a clean clone has it)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {"x", "bench", "NEW"}  # placeholders in usage lines ("--report results/x/results.json")


def _cited() -> set[str]:
    text = "\n".join((ROOT / name).read_text() for name in ("README.md", "BENCHMARKS.md"))
    return {m for m in re.findall(r"results/([A-Za-z0-9_.-]+)/", text) if m not in EXAMPLES}


def test_cited_results_folders_exist():
    cited = _cited()
    assert len(cited) > 20  # the pattern still finds them
    missing = sorted(name for name in cited if not (ROOT / "results" / name / "results.md").exists()
                     and not any((ROOT / "results" / name).glob("*.md")))
    assert not missing, f"cited in README/BENCHMARKS but not in results/: {missing}"


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_cited_results_folders_are_not_git_ignored():
    paths = [f"results/{name}/results.md" for name in sorted(_cited()) if (ROOT / "results" / name / "results.md").exists()]
    ignored = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert not ignored, f"cited but ignored by .gitignore (a clean clone would lack them): {ignored}"
