"""Why #3: SIGKILL ``pseudolabel fit`` at random moments, fresh and with ``--overwrite``.

Afterwards ``--out`` holds the previous complete run, the new complete run, or nothing (fresh):
never a mix; ``predict`` refuses anything incomplete; the next fit removes the leftovers.

To afford many kills, the fits run in processes forked from a helper subprocess that has already
imported the package (a kill then lands in the fit or the writing of the run, not in Python's
start-up); two more kills hit plain ``python -m pseudolabel.cli`` processes while they write.
The moments are random (seeded; the seed is in the failure message).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import pseudolabel
from pseudolabel.cli._common import CLIError
from pseudolabel.cli.rundir import verify_run

SRC = str(Path(pseudolabel.__file__).resolve().parents[1])
KILLS_PER_MODE = int(os.environ.get("PSEUDOLABEL_KILLS", "10"))
"""Kills per mode (fresh, --overwrite); ``PSEUDOLABEL_KILLS=100`` for a longer run."""
FIT = ("--target", "y", "--max-rounds", "1", "--cv", "2", "--query", "0")

FORKER = textwrap.dedent(
    """
    import json, os, sys, time
    import pseudolabel.cli
    print("READY", flush=True)
    for line in sys.stdin:
        args, log = json.loads(line)
        pid = os.fork()
        if pid == 0:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1); os.dup2(fd, 2)
            sys.argv = ["pseudolabel", *args]
            try:
                pseudolabel.cli.main()
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code)
        t0 = time.perf_counter()
        print("PID", pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print("EXIT", os.waitstatus_to_exitcode(status), round(time.perf_counter() - t0, 3), flush=True)
    """
)


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": SRC, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}


class Forker:
    """A pre-imported Python that forks one CLI run per request."""

    def __init__(self, cwd: Path):
        self.proc = subprocess.Popen([sys.executable, "-c", FORKER], cwd=cwd, env=_env(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        assert self.proc.stdout.readline().strip() == "READY"

    def start(self, args: list[str], log: Path) -> int:
        self.proc.stdin.write(json.dumps([[str(a) for a in args], str(log)]) + "\n")
        self.proc.stdin.flush()
        kind, pid = self.proc.stdout.readline().split()
        assert kind == "PID"
        return int(pid)

    def wait(self) -> tuple[int, float]:
        kind, code, seconds = self.proc.stdout.readline().split()
        assert kind == "EXIT"
        return int(code), float(seconds)

    def run(self, args, log) -> tuple[int, float]:
        self.start(args, log)
        return self.wait()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _state(out: Path) -> str:
    """"absent", or the seed of the complete run at ``out``; AssertionError for anything else."""
    if not out.exists():
        return "absent"
    try:
        manifest = verify_run(out)
    except CLIError as exc:
        raise AssertionError(f"{out} exists but is not a complete run: {exc}") from None
    assert sorted(p.name for p in out.iterdir()) == sorted([*manifest["files"], "run.json"]), "extra or missing files"
    return f"seed {manifest['config']['seed']}"


def _leftovers(folder: Path, name: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(f".{name}."))


def _check_leftovers(folder: Path, name: str) -> int:
    """A temporary folder is never a usable run unless it is a complete one; returns how many."""
    found = _leftovers(folder, name)
    for tmp in found:
        if tmp.is_dir() and (tmp / "run.json").exists():
            verify_run(tmp)  # complete (killed after run.json, before the rename): consistent
        elif tmp.is_dir():
            with pytest.raises(CLIError):
                verify_run(tmp)  # predict would refuse it
    return len(found)


@pytest.fixture
def tiny(tmp_path, make_blobs):
    path = tmp_path / "tiny.csv"
    make_blobs(n=30, classes=2).drop(columns=["truth", "kind"]).to_csv(path, index=False)
    return path


def test_sigkill_fresh_and_overwrite_never_leaves_a_mix(tiny, tmp_path, cli):
    seed = int(os.environ.get("PSEUDOLABEL_KILL_SEED", random.randrange(10**6)))
    rng = random.Random(seed)
    forker = Forker(tmp_path)
    try:
        # calibration: how long a whole fit takes in a forked process
        code, total = forker.run(["fit", tiny, *FIT, "--out", tmp_path / "calib", "--seed", "1"], tmp_path / "calib.log")
        assert code == 0, (tmp_path / "calib.log").read_text()
        pristine = tmp_path / "calib"
        old_manifest = (pristine / "run.json").read_bytes()
        outcomes = {"fresh": {}, "overwrite": {}}
        leftovers = kills = 0
        for mode in ("fresh", "overwrite"):
            out = tmp_path / mode
            done = 0
            for attempt in range(3 * KILLS_PER_MODE):
                if done == KILLS_PER_MODE:
                    break
                if mode == "overwrite":
                    if out.exists():
                        shutil.rmtree(out)
                    shutil.copytree(pristine, out)
                args = ["fit", tiny, *FIT, "--out", out, "--seed", "2"] + (["--overwrite"] if mode == "overwrite" else [])
                delay = rng.uniform(0.1 * total, 1.02 * total)  # the run folder exists from ~0
                started = time.perf_counter()
                pid = forker.start(args, tmp_path / f"{mode}-{attempt}.log")
                time.sleep(delay)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                code, _ = forker.wait()
                if code == 0:  # it finished first: fits got faster than the calibration (a loaded machine)
                    total = min(total, time.perf_counter() - started)
                if code == -signal.SIGKILL:
                    done += 1
                    kills += 1
                state = _state(out)
                where = f"seed {seed}, {mode} attempt {attempt}, kill after {delay:.3f}s of {total:.3f}s"
                if mode == "fresh":
                    assert state in ("absent", "seed 2"), where
                else:
                    assert state in ("seed 1", "seed 2"), where
                    if state == "seed 1":
                        assert (out / "run.json").read_bytes() == old_manifest, where  # the old run, untouched
                if code == 0:
                    assert state == "seed 2", where
                outcomes[mode][state] = outcomes[mode].get(state, 0) + 1
                leftovers += _check_leftovers(tmp_path, mode)
                if state == "absent":
                    res = cli("predict", out, tiny, "--out", tmp_path / "p.csv")
                    assert res.code == 2 and "not found" in res.text, where
                if mode == "fresh" and out.exists():
                    shutil.rmtree(out)
            assert done == KILLS_PER_MODE, f"seed {seed}: only {done} of {KILLS_PER_MODE} runs were killed in time"
        # kills landed while the run folder was being built (its temporary sibling was left behind)
        assert kills == 2 * KILLS_PER_MODE and leftovers > 0, (seed, outcomes)
        # the next fit tidies up every leftover of the killed runs
        code, _ = forker.run(["fit", tiny, *FIT, "--out", tmp_path / "overwrite", "--overwrite"], tmp_path / "final.log")
        log = (tmp_path / "final.log").read_text()
        assert code == 0, log
        assert "removed" in log and _leftovers(tmp_path, "overwrite") == []
        code, _ = forker.run(["fit", tiny, *FIT, "--out", tmp_path / "fresh"], tmp_path / "final2.log")
        assert code == 0 and _leftovers(tmp_path, "fresh") == []
        res = cli("predict", tmp_path / "fresh", tiny, "--out", tmp_path / "p.csv")
        assert res.code == 0, res
        # SIGTERM unwinds like Ctrl-C: exit 130, the previous run whole, no leftovers (a fit that
        # finished before the signal, on a machine busier earlier than now, is tried again sooner)
        delay = 0.3 * total
        for _ in range(6):
            before = (tmp_path / "fresh" / "run.json").read_bytes()
            pid = forker.start(["fit", tiny, *FIT, "--out", tmp_path / "fresh", "--overwrite", "--seed", "5"], tmp_path / "term.log")
            time.sleep(delay)
            os.kill(pid, signal.SIGTERM)
            code, _ = forker.wait()
            log = (tmp_path / "term.log").read_text()
            if code != 0:
                break
            delay /= 2
        assert code == 130 and "interrupted" in log, log
        assert (tmp_path / "fresh" / "run.json").read_bytes() == before and _leftovers(tmp_path, "fresh") == []
    finally:
        forker.close()


def test_sigkill_of_the_real_command_while_it_replaces_a_run(tiny, tmp_path, cli):
    overwrite = True
    out = tmp_path / "run"
    env = _env()
    first = cli("fit", tiny, *FIT, "--out", out, "--seed", "1")  # the run to replace (in-process: quicker)
    assert first.code == 0, first
    before = (out / "run.json").read_bytes()
    args = [sys.executable, "-m", "pseudolabel.cli", "fit", str(tiny), *FIT, "--out", str(out), "--seed", "2"]
    p = subprocess.Popen(args + (["--overwrite"] if overwrite else []), env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    for line in p.stdout:  # kill while the run is being written
        if "writing the run" in line:
            time.sleep(random.uniform(0.0, 0.3))
            p.send_signal(signal.SIGKILL)
            break
    p.wait(timeout=300)
    state = _state(out)
    if p.returncode == -signal.SIGKILL:
        assert state in (("seed 1", "seed 2") if overwrite else ("absent", "seed 2"))
        if state == "seed 1":
            assert (out / "run.json").read_bytes() == before
    else:
        assert p.returncode == 0 and state == "seed 2"
