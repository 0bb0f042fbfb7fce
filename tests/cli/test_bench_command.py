"""One definition of the bench flags: ``pseudolabel bench``, ``python -m pseudolabel.bench`` and the
command line recorded in results.json all come from the typer command in ``pseudolabel.bench.command``."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pseudolabel
import pseudolabel.bench.command as bench_cli
from pseudolabel.bench.__main__ import main as module_main
from pseudolabel.cli import app

cli = CliRunner()


def _options() -> set[str]:
    return {o for p in bench_cli.click_command().params for o in p.opts}


def _module(*args: str) -> subprocess.CompletedProcess:
    """``python -m pseudolabel.bench ARGS`` in a fresh interpreter, on this test run's code."""
    env = {**os.environ, "COLUMNS": "200", "TERMINAL_WIDTH": "200"}
    src = str(Path(pseudolabel.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-m", "pseudolabel.bench", *args], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


@pytest.fixture
def calls(monkeypatch):
    """The keyword arguments of every run_bench call the bench command makes (nothing runs)."""
    seen: list[dict] = []
    monkeypatch.setattr(bench_cli, "run_bench", lambda **kw: seen.append(kw))
    return seen


def test_module_help_offers_exactly_the_cli_options():
    res = _module("--help")
    assert res.returncode == 0, res.stderr
    assert "python -m pseudolabel.bench" in res.stdout
    offered = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", res.stdout))
    assert offered == _options() | {"--help"}
    assert {"--report", "--list", "--update", "--no-plots"} <= offered


def test_module_list_runs():
    res = _module("--list")
    assert res.returncode == 0, res.stderr
    assert "sklearn_label_spreading" in res.stdout and "suite quick" in res.stdout


def test_both_entry_points_make_the_same_call(calls, tmp_path):
    argv = ["--suite", "smoke", "--datasets", "digits,trec", "--methods", "supervised", "--methods", "pseudolabel",
            "--seeds", "2", "--labels-per-class", "4,10", "--out", str(tmp_path), "--threads", "2", "--n-jobs", "2",
            "--timeout", "60", "--no-plots", "--update"]
    res = cli.invoke(app, ["bench", *argv])
    assert res.exit_code == 0, res.output
    assert module_main(argv) == 0
    assert len(calls) == 2 and calls[0] == calls[1]
    assert calls[0]["datasets"] == ["digits", "trec"] and calls[0]["methods"] == ["supervised", "pseudolabel"]
    assert calls[0]["labels_per_class"] == [4, 10] and calls[0]["plots"] is False
    # the same argument errors, with the same exit code
    assert module_main(["--no-such-flag"]) == 2 == cli.invoke(app, ["bench", "--no-such-flag"]).exit_code


def _minimal_results(folder: Path) -> Path:
    path = folder / "results.json"
    path.write_text(json.dumps({"suite": "tiny", "command": "pseudolabel bench --suite tiny", "runs": [],
                                "datasets": {}, "methods": {}}))
    return path


@pytest.mark.parametrize("entry", ["cli", "module"])
def test_report_rebuilds_results_md(entry, tmp_path, calls):
    path = _minimal_results(tmp_path)
    args = ["--report", str(path)]
    if entry == "cli":
        res = cli.invoke(app, ["bench", *args])
        assert res.exit_code == 0, res.output
        assert f"wrote {tmp_path / 'results.md'}" in res.output
    else:
        assert module_main(args) == 0
    md = (tmp_path / "results.md").read_text()
    assert md.startswith("# pseudolabel bench — suite `tiny`") and "`pseudolabel bench --suite tiny`" in md
    assert calls == []  # nothing was run


def test_report_of_a_missing_file_is_a_clean_error(tmp_path):
    res = cli.invoke(app, ["bench", "--report", str(tmp_path / "nope.json")])
    assert res.exit_code == 2 and "error:" in res.output
    assert "nope.json" in "".join(res.output.split())  # the message may wrap inside the long path


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--suite", "smoke"],
        ["--suite", "matrix", "--datasets", "digits,trec", "--methods", "supervised", "--seeds", "2",
         "--labels-per-class", "4,10", "--out", "out dir/x", "--data-dir", "/data", "--threads", "2",
         "--n-jobs", "3", "--timeout", "3600", "--update"],
        ["--datasets", "digits", "--datasets", "trec", "--labels-per-class", "1", "--labels-per-class", "25,4",
         "--timeout", "1234567.5", "--seeds", "1", "--out", "results/bench"],
    ],
)
def test_rebuilt_command_parses_to_the_same_options(argv, calls):
    """argv -> run_bench's arguments -> the recorded command -> the same run_bench arguments."""
    assert cli.invoke(app, ["bench", *argv]).exit_code == 0
    first = calls[-1]
    parts = shlex.split(first["command"])  # what the CLI records in results.json
    assert parts[:4] == ["pseudolabel", "bench", "--suite", first["suite"]]
    res = cli.invoke(app, ["bench", *parts[2:]])
    assert res.exit_code == 0, res.output
    again = calls[-1]
    assert {k: v for k, v in again.items() if k != "plots"} == {k: v for k, v in first.items() if k != "plots"}


def test_command_line_takes_only_the_command_options():
    assert bench_cli.command_line(suite="quick", n_jobs=2) == ["pseudolabel", "bench", "--suite", "quick", "--n-jobs", "2"]
    with pytest.raises(TypeError, match="not options of pseudolabel bench: out_dir"):
        bench_cli.command_line(suite="quick", out_dir="x")
