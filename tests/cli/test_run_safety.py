"""Why #2-#4: inputs are never touched, a run is whole or refused, errors are named (no traceback)."""

import json
import os
import shutil
import subprocess
import sys

import joblib
import pytest

from pseudolabel.cli import fit as fit_module
from pseudolabel.cli.rundir import sha256_file


@pytest.fixture
def run_copy(blobs_run, tmp_path):
    """A private copy of the session's run, free to damage."""
    path, out = blobs_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    return path, copy


def _rehash(run):
    """Make run.json agree with the files again (a consistent but wrong run)."""
    m = json.loads((run / "run.json").read_text())
    for name in m["files"]:
        m["files"][name] = {"bytes": (run / name).stat().st_size, "sha256": sha256_file(run / name)}
    (run / "run.json").write_text(json.dumps(m))


# ---------------------------------------------------------------- Why #2: inputs are never modified


def test_predict_never_overwrites_its_input(blobs_run, cli, tmp_path):
    path, out = blobs_run
    before = path.read_bytes()
    for target in (path, str(path).replace("/data.csv", "/./data.csv")):
        res = cli("predict", out, path, "--out", target, "--overwrite")
        assert res.code == 2 and "is the input" in res.text, res
    link = tmp_path / "link.csv"
    os.link(path, link)  # another name for the same file
    res = cli("predict", out, link, "--out", path, "--overwrite")
    assert res.code == 2 and "is the input" in res.text
    assert path.read_bytes() == before


def test_predict_refuses_an_existing_file_unless_overwrite(blobs_run, cli, tmp_path):
    path, out = blobs_run
    existing = tmp_path / "scores.csv"
    existing.write_text("keep me")
    res = cli("predict", out, path, "--out", existing)
    assert res.code == 2 and "already exists" in res.text and "--overwrite" in res.text
    assert existing.read_text() == "keep me"
    assert cli("predict", out, path, "--out", existing, "--overwrite").code == 0
    assert existing.read_text().startswith("id,label,confidence")


def test_predict_refuses_to_write_into_the_run_or_a_bad_suffix(blobs_run, cli, tmp_path):
    path, out = blobs_run
    before = {p.name: sha256_file(p) for p in out.iterdir()}
    res = cli("predict", out, path, "--out", out / "scores.csv")
    assert res.code == 2 and "inside" in res.text
    res = cli("predict", out, path, "--out", out / "pseudo_labels.parquet", "--overwrite")
    assert res.code == 2 and "inside" in res.text
    res = cli("predict", out, path, "--out", tmp_path / "scores.xlsx")
    assert res.code == 2 and "unknown file type '.xlsx'" in res.text
    assert {p.name: sha256_file(p) for p in out.iterdir()} == before


# ---------------------------------------------------------------- Why #3: predict refuses anything incomplete


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda run: (run / "run.json").unlink(), "no run.json, so it is not a complete run"),
        (lambda run: (run / "metrics.json").unlink(), "lacks metrics.json, which its manifest lists"),
        (lambda run: (run / "run.json").write_text('{"format": "pseudolabel-run", "form'), "run.json is damaged"),
        (lambda run: (run / "run.json").write_text(
            json.dumps({**json.loads((run / "run.json").read_text()), "status": "building"})), r"is not complete \(status 'building'\)"),
        (lambda run: (run / "model.joblib").write_bytes((run / "model.joblib").read_bytes()[:1000]),
         "model.joblib in .* differs from the run's manifest"),
        (lambda run: (run / "pseudo_labels.parquet").write_bytes(b"x"), "pseudo_labels.parquet in .* differs"),
        (lambda run: (run / "run.json").write_text(json.dumps({"format": "pseudolabel-run", "format_version": 99})),
         "has run format 99"),
    ],
)
def test_predict_refuses_an_incomplete_or_modified_run(run_copy, cli, tmp_path, damage, message):
    import re

    path, run = run_copy
    damage(run)
    res = cli("predict", run, path, "--out", tmp_path / "s.csv")
    assert res.code == 2 and re.search(message, res.text), res
    assert "Traceback" not in res.text and not (tmp_path / "s.csv").exists()


def test_a_damaged_model_that_matches_its_manifest_is_a_named_error(run_copy, cli, tmp_path):
    path, run = run_copy
    (run / "model.joblib").write_bytes((run / "model.joblib").read_bytes()[:2000])  # truncated
    _rehash(run)
    res = cli("predict", run, path, "--out", tmp_path / "s.csv")
    assert res.code == 2 and "model.joblib in" in res.text and "could not be loaded" in res.text, res
    joblib.dump({"something": "else"}, run / "model.joblib")  # loads, but is not a model bundle
    _rehash(run)
    res = cli("predict", run, path, "--out", tmp_path / "s.csv")
    assert res.code == 2 and "is not a model written by" in res.text, res


def test_a_run_of_the_old_layout_or_no_run_is_refused(run_copy, cli, tmp_path):
    path, run = run_copy
    res = cli("predict", tmp_path / "nowhere", path, "--out", tmp_path / "s.csv")
    assert res.code == 2 and "not found" in res.text
    res = cli("predict", path, path, "--out", tmp_path / "s.csv")
    assert res.code == 2 and "is not a folder" in res.text


def test_a_failed_write_leaves_the_previous_run_whole(run_copy, cli, fast, tmp_path, monkeypatch):
    path, run = run_copy
    before = {p.name: sha256_file(p) for p in run.iterdir()}

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "report.html"))

    monkeypatch.setattr(fit_module, "write_report", disk_full)
    res = cli("fit", path, "--target", "y", "--out", run, "--overwrite", *fast)
    assert res.code == 3 and "No space left on device" in res.text and "Traceback" not in res.text, res
    assert {p.name: sha256_file(p) for p in run.iterdir()} == before
    assert sorted(p.name for p in run.parent.iterdir()) == ["run"]  # the half-built run is gone
    res = cli("fit", path, "--target", "y", "--out", tmp_path / "fresh", *fast)
    assert res.code == 3 and not (tmp_path / "fresh").exists()


def test_stale_temporaries_are_cleaned_and_live_ones_named(blobs_run, cli, fast, tmp_path):
    path, _ = blobs_run
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    dead = p.pid
    (tmp_path / f".run.tmp-{dead}-0a0b").mkdir()
    (tmp_path / f".run.tmp-{dead}-0a0b" / "model.joblib").write_bytes(b"x" * 1000)
    (tmp_path / f".run.tmp-{os.getppid()}-0c0d").mkdir()  # a writer that still runs
    res = cli("fit", path, "--target", "y", "--out", tmp_path / "run", *fast)
    assert res.code == 0, res
    assert "removed 1 temporary" in res.text and f".run.tmp-{dead}-0a0b" in res.text
    assert f"is being written by process {os.getppid()}" in res.text
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".run.tmp-{os.getppid()}-0c0d", "run"]


def test_predict_points_at_a_run_moved_aside_by_an_interrupted_overwrite(blobs_run, cli, tmp_path):
    path, out = blobs_run
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    shutil.copytree(out, tmp_path / f".run.old-{p.pid}-beef")
    res = cli("predict", tmp_path / "run", path, "--out", tmp_path / "s.csv")
    assert res.code == 2 and f".run.old-{p.pid}-beef" in res.text and "restores it" in res.text


# ---------------------------------------------------------------- Why #4: named errors, never a traceback


@pytest.mark.parametrize("bad", ["/proc/pseudolabel-test/run", "FILE/sub"])
def test_an_impossible_out_fails_before_reading_or_fitting(table, cli, fast, tmp_path, monkeypatch, bad):
    path, _ = table
    bad = bad.replace("FILE", str(path))

    def boom(*a, **k):
        raise AssertionError("the data was read before --out was checked")

    monkeypatch.setattr(fit_module, "load_table", boom)
    res = cli("fit", path, "--target", "y", "--out", bad, *fast)
    assert res.code == 2 and f"--out {bad}" in res.text, res
    assert "Traceback" not in res.text and res.exception is None


def test_unwritable_out_folder_is_found_before_the_fit(table, cli, fast, tmp_path, monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    path, _ = table
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    monkeypatch.setattr(fit_module, "load_table", lambda *a, **k: pytest.fail("read before the --out check"))
    res = cli("fit", path, "--target", "y", "--out", ro / "run", *fast)
    assert res.code == 2 and "not writable" in res.text


def test_predict_checks_its_out_before_loading_the_model(blobs_run, cli, tmp_path):
    path, out = blobs_run
    res = cli("predict", out, path, "--out", f"{path}/scores.csv")
    assert res.code == 2 and "is a file, not a folder" in res.text
    res = cli("predict", out, path, "--out", "/proc/pseudolabel-test/scores.csv")
    assert res.code == 2 and "--out /proc/pseudolabel-test/scores.csv" in res.text


def test_header_only_and_one_class_are_named(blobs_run, cli, fast, tmp_path):
    path, out = blobs_run
    header = tmp_path / "header.csv"
    header.write_text(path.read_text().splitlines()[0] + "\n")
    res = cli("predict", out, header, "--out", tmp_path / "s.csv")
    assert res.code == 2 and "header but no rows" in res.text
    res = cli("fit", header, "--target", "y", "--out", tmp_path / "r", *fast)
    assert res.code == 2 and "header but no rows" in res.text
    lines = path.read_text().splitlines()
    one = tmp_path / "one.csv"
    one.write_text("\n".join([lines[0]] + [ln.rsplit(",", 1)[0] + ("," + "0" if i % 3 == 0 else ",") for i, ln in enumerate(lines[1:])]) + "\n")
    res = cli("fit", one, "--target", "y", "--out", tmp_path / "r", *fast)
    assert res.code == 2 and "only one class is labeled in target 'y' (0, 20 rows)" in res.text, res
    assert not (tmp_path / "r").exists()


def test_debug_shows_the_traceback_and_internal_errors_are_one_line(table, cli, fast, tmp_path, monkeypatch):
    path, _ = table
    res = cli("fit", path, "--target", "nope", "--out", tmp_path / "r", "--debug")
    assert res.code == 2 and "Traceback" in res.text and "--target 'nope' is not a column" in res.text

    def bug(*a, **k):
        raise KeyError("oops")

    monkeypatch.setattr(fit_module, "make_model", bug)
    res = cli("fit", path, "--target", "y", "--out", tmp_path / "r", *fast)
    assert res.code == 1 and "internal error (KeyError: 'oops')" in res.text and "--debug" in res.text
    assert "Traceback" not in res.text and not (tmp_path / "r").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["data.csv"]
    res = cli("fit", path, "--target", "y", "--out", tmp_path / "r", *fast, env={"PSEUDOLABEL_DEBUG": "1"})
    assert res.code == 1 and "Traceback" in res.text

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(fit_module, "make_model", interrupted)
    res = cli("fit", path, "--target", "y", "--out", tmp_path / "r", *fast)
    assert res.code == 130 and "interrupted" in res.text and not (tmp_path / "r").exists()


def test_predict_removes_the_temporary_file_a_killed_predict_left(blobs_run, cli, tmp_path):
    path, out = blobs_run
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    stale = tmp_path / f".scores.csv.{p.pid}.k2j4.tmp"
    stale.write_bytes(b"x" * 100_000)
    res = cli("predict", out, path, "--out", tmp_path / "scores.csv")
    assert res.code == 0 and "removed 1 temporary" in res.text and stale.name in res.text, res
    assert sorted(q.name for q in tmp_path.iterdir()) == ["scores.csv"]
