"""Folders that are whole or absent: atomic_dir, the replace step, and the leftovers of killed writers."""

import os
import subprocess
import sys

import pytest

from pseudolabel.ops import files
from pseudolabel.ops.files import (
    atomic_dir,
    atomic_path,
    clean_stale,
    exchange,
    replace_dir,
    stale_siblings,
)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_new_folder_appears_only_when_complete(tmp_path):
    out = tmp_path / "run"
    with atomic_dir(out) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".run.tmp-") and not out.exists()
        (tmp / "a.txt").write_text("a")
    assert (out / "a.txt").read_text() == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_failure_leaves_nothing_and_keeps_the_old_folder(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as tmp:
            (tmp / "a.txt").write_text("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_dir(out, replace=True) as tmp:
            (tmp / "new.txt").write_text("new")
            raise KeyboardInterrupt
    assert [p.name for p in out.iterdir()] == ["old.txt"] and sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize("can_exchange", [True, False])
def test_replace_swaps_in_the_new_folder(tmp_path, monkeypatch, can_exchange):
    if not can_exchange:
        monkeypatch.setattr(files, "exchange", lambda a, b: False)
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(FileExistsError):
        with atomic_dir(out) as tmp:
            (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    with atomic_dir(out, replace=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_an_empty_existing_folder_is_simply_replaced(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with atomic_dir(out) as tmp:
        (tmp / "x").write_text("x")
    assert [p.name for p in out.iterdir()] == ["x"]


def test_fallback_restores_the_old_folder_when_the_second_rename_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "exchange", lambda a, b: False)
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("old")
    tmp = tmp_path / ".run.tmp-1-ab"
    tmp.mkdir()
    real_rename = os.rename
    calls = []

    def flaky(a, b):
        calls.append((a, b))
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_rename(a, b)

    monkeypatch.setattr(files.os, "rename", flaky)
    with pytest.raises(OSError, match="No space"):
        replace_dir(tmp, out, replace=True)
    assert [p.name for p in out.iterdir()] == ["old.txt"]


def test_exchange_swaps_two_folders(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "1").write_text("a")
    if not exchange(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    assert (b / "1").read_text() == "a" and not (a / "1").exists()


def test_stale_siblings_of_dead_writers_are_removed_and_a_moved_aside_run_restored(tmp_path):
    dead = _dead_pid()
    out = tmp_path / "run"
    (tmp_path / f".run.tmp-{dead}-abcd").mkdir()
    (tmp_path / f".run.tmp-{os.getppid()}-beef").mkdir()  # a live writer (our parent process)
    aside = tmp_path / f".run.old-{dead}-cafe"
    aside.mkdir()
    (aside / "run.json").write_text("{}")
    (tmp_path / f".scores.csv.{dead}.x1y2.tmp").write_text("partial")
    (tmp_path / "unrelated.tmp").write_text("keep")
    kinds = sorted((s.kind, s.alive) for s in stale_siblings(out))
    assert kinds == [("old", False), ("tmp", False), ("tmp", True)]
    removed, alive, restored = clean_stale(out)
    assert restored == aside and (out / "run.json").exists()  # out was absent: the old run is back
    assert [s.kind for s in removed] == ["tmp"] and [s.pid for s in alive] == [os.getppid()]
    removed, _, _ = clean_stale(tmp_path / "scores.csv")
    assert [s.kind for s in removed] == ["file"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["run", f".run.tmp-{os.getppid()}-beef", "unrelated.tmp"])


def test_atomic_path_temporaries_carry_the_pid(tmp_path):
    with atomic_path(tmp_path / "f.csv") as tmp:
        assert tmp.name.startswith(f".f.csv.{os.getpid()}.") and tmp.name.endswith(".tmp")
        tmp.write_text("x")
    assert (tmp_path / "f.csv").read_text() == "x"
