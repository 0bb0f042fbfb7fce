"""A small run directory (digits as 8×8 pixel rows, 3 labels per class) and a live review server."""

import os
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

N_ROWS = 240


def make_table(path: Path) -> Path:
    from sklearn.datasets import load_digits

    d = load_digits()
    frame = pd.DataFrame(d.data[:N_ROWS], columns=[f"px{i}" for i in range(64)])
    frame.insert(0, "row", [f"r{i:03d}" for i in range(N_ROWS)])
    labeled = np.zeros(N_ROWS, bool)
    for c in range(10):
        labeled[np.flatnonzero(d.target[:N_ROWS] == c)[:3]] = True
    frame["digit"] = pd.array(np.where(labeled, d.target[:N_ROWS], -1), dtype="Int64")
    frame.loc[~labeled, "digit"] = pd.NA
    frame.to_csv(path, index=False)
    return path


def fit_run(data: Path, out: Path, *extra: str) -> Path:
    from typer.testing import CliRunner

    from pseudolabel.cli import app

    res = CliRunner().invoke(app, ["fit", str(data), "--target", "digit", "--id", "row", "--out", str(out),
                                   "--max-rounds", "2", "--cv", "2", *extra])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="session")
def base_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("review")
    data = make_table(root / "digits.csv")
    return fit_run(data, root / "run")


@pytest.fixture
def run_dir(base_run, tmp_path) -> Path:
    """A private copy of the run (its own store), the data file beside it."""
    import shutil

    shutil.copy(base_run.parent / "digits.csv", tmp_path / "digits.csv")
    out = tmp_path / "run"
    shutil.copytree(base_run, out, ignore=shutil.ignore_patterns("labels.db*", "retrains"))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """The review app under uvicorn in a thread of this process."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("review server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


def server_process(run_dir: Path, port: int, *extra: str):
    """``pseudolabel review`` as a child process (for the kill test)."""
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "pseudolabel.cli", "review", str(run_dir), "--port", str(port),
                             "--user", "tester", *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_http(url: str, proc=None, timeout: float = 60) -> None:
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read().decode()[-2000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


@pytest.fixture
def helpers():
    from types import SimpleNamespace

    return SimpleNamespace(ServerThread=ServerThread, server_process=server_process, wait_http=wait_http,
                           free_port=free_port, fit_run=fit_run, make_table=make_table)
