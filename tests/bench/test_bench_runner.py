"""The harness end to end: the smoke suite, outputs, failure isolation, missing data."""

import json
import os
import time

import pytest

from pseudolabel.bench import runner
from pseudolabel.bench.methods import METHODS, BenchMethod
from pseudolabel.bench.report import markdown
from pseudolabel.bench.runner import SUITES, load_results, run_bench


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    from rich.console import Console

    res = run_bench(suite="smoke", out_dir=out, console=Console(quiet=True))
    return out, res


def test_smoke_suite_writes_every_output(smoke):
    out, res = smoke
    for name in ("results.json", "results.md", "accuracy_vs_labels.png", "pl_precision_coverage.png"):
        assert (out / name).stat().st_size > 0, name
    saved = load_results(out / "results.json")
    assert saved["suite"] == "smoke" and saved["command"].startswith("run_bench(suite='smoke'")
    for key in ("machine", "versions", "threads", "date", "protocol", "datasets", "summary"):
        assert key in saved
    assert saved["machine"]["cores"] >= 1 and saved["threads"]["per_run"] == 1
    runs = saved["runs"]
    assert {(r["dataset"], r["budget"], r["method"], r["seed"]) for r in runs} == {
        ("digits", 4, "supervised", 0), ("digits", 4, "pseudolabel", 0)
    }
    assert all(r["status"] == "ok" for r in runs)
    for r in runs:
        assert r["metrics"]["seconds"] > 0 and r["metrics"]["peak_mb"] > 0 and r["metrics"]["fit_mb"] >= 0


def test_smoke_suite_numbers_are_the_known_ones(smoke):
    """digits, 4 labels per class, seed 0: the default SelfTrainer beats supervised-only by a wide,
    seed-stable margin (93.9% vs 71.9% here; bounds leave room for library versions)."""
    _, res = smoke
    acc = {r["method"]: r["metrics"]["accuracy"] for r in res["runs"]}
    assert acc["supervised"] < 0.85 < 0.90 < acc["pseudolabel"]
    pl = next(r for r in res["runs"] if r["method"] == "pseudolabel")["metrics"]
    # the GMM loss gate of the graph candidate keeps 98% of the pool, 95.6% of it right
    assert pl["pl_coverage"] > 0.95 and pl["pl_precision"] > 0.9


def test_markdown_has_tables_and_the_command(smoke):
    out, res = smoke
    md = (out / "results.md").read_text()
    assert "`run_bench(suite='smoke'" in md
    assert "| method | 4/class |" in md and "| pseudolabel | **" in md
    # regenerating from the JSON gives the same document
    assert markdown(load_results(out / "results.json")) == md


def _sleepy(ctx):
    time.sleep(60)


def _broken(ctx):
    raise RuntimeError("broken on purpose")


def _crash(ctx):
    os._exit(3)


@pytest.fixture
def fake_methods(monkeypatch):
    for name, fn in (("sleepy", _sleepy), ("broken", _broken), ("crash", _crash)):
        monkeypatch.setitem(METHODS, name, BenchMethod(name, "test", "test", fn))
    # the fake methods exist only in this process, so children must be forked from it (the runner
    # uses a fork server, which would not see them); none of them runs OpenMP code
    monkeypatch.setattr(runner, "_start_method", lambda: "fork")
    monkeypatch.setitem(SUITES, "tiny", {"datasets": ["digits"], "methods": ["supervised"], "seeds": 1, "labels_per_class": [2]})


def test_failures_are_recorded_and_do_not_stop_the_run(tmp_path, fake_methods):
    from rich.console import Console

    res = run_bench(suite="tiny", methods=["broken", "crash", "sleepy", "supervised"], out_dir=tmp_path,
                    console=Console(quiet=True), timeout=3, plots=False)
    status = {r["method"]: r["status"] for r in res["runs"]}
    assert status == {"broken": "error", "crash": "crashed", "sleepy": "timeout", "supervised": "ok"}
    err = next(r for r in res["runs"] if r["method"] == "broken")["error"]
    assert "RuntimeError: broken on purpose" in err
    md = (tmp_path / "results.md").read_text()
    assert "## Failed runs" in md and "broken on purpose" in md


def test_in_process_mode_matches_isolated_scores(tmp_path, fake_methods):
    from rich.console import Console

    a = run_bench(suite="tiny", out_dir=tmp_path / "a", console=Console(quiet=True), plots=False)
    b = run_bench(suite="tiny", out_dir=tmp_path / "b", console=Console(quiet=True), plots=False, isolate=False)
    assert a["runs"][0]["metrics"]["accuracy"] == b["runs"][0]["metrics"]["accuracy"]


def test_bad_arguments_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown suite 'huge'.*smoke, quick, standard"):
        run_bench(suite="huge", out_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown dataset.*'cifar'.*known: digits"):
        run_bench(suite="smoke", datasets=["cifar"], out_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown bench method"):
        run_bench(suite="smoke", methods=["magic"], out_dir=tmp_path)


def test_missing_data_folder(tmp_path, monkeypatch):
    from rich.console import Console

    empty = tmp_path / "nodata"
    empty.mkdir()
    # asked for by name: the error names what is missing and how to point at it
    with pytest.raises(FileNotFoundError, match=r"sentence_cls folder not found.*--data-dir"):
        run_bench(suite="smoke", datasets=["trec"], data_dir=empty, out_dir=tmp_path / "a", console=Console(quiet=True))
    # part of a suite's defaults: skipped with the reason recorded
    monkeypatch.setitem(SUITES, "textonly", {"datasets": ["trec"], "methods": ["supervised"], "seeds": 1, "labels_per_class": [4]})
    res = run_bench(suite="textonly", data_dir=empty, out_dir=tmp_path / "b", console=Console(quiet=True))
    assert res["runs"] == [] and res["skipped"][0]["dataset"] == "trec"
    assert "sentence_cls" in json.loads((tmp_path / "b" / "results.json").read_text())["skipped"][0]["reason"]


def test_unavailable_methods_are_skipped_with_reason(tmp_path, monkeypatch):
    from rich.console import Console

    monkeypatch.setitem(METHODS, "needs_x", BenchMethod("needs_x", "pseudolabel", "", lambda c: None, requires=("teacher:not_there",)))
    monkeypatch.setitem(SUITES, "tiny2", {"datasets": ["digits"], "methods": ["needs_x"], "seeds": 1, "labels_per_class": [2]})
    res = run_bench(suite="tiny2", out_dir=tmp_path, console=Console(quiet=True), plots=False)
    assert res["runs"] == [] and res["skipped"] == [{"method": "needs_x", "reason": "teacher 'not_there' is not registered"}]


def test_budget_larger_than_smallest_class_is_skipped(tmp_path, monkeypatch):
    from rich.console import Console

    monkeypatch.setitem(SUITES, "big", {"datasets": ["digits"], "methods": ["supervised"], "seeds": 1, "labels_per_class": [2, 5000]})
    res = run_bench(suite="big", out_dir=tmp_path, console=Console(quiet=True), plots=False)
    assert {r["budget"] for r in res["runs"]} == {2}
    assert any(s.get("budget") == 5000 for s in res["skipped"])


def test_a_run_from_python_records_the_python_call():
    cmd = runner._command("quick", ["digits", "trec"], ["supervised"], 2, [4, 10], "out/x", None, 1, 1, 3600.0)
    assert cmd == ("run_bench(suite='quick', datasets=['digits', 'trec'], methods=['supervised'], seeds=2, "
                   "labels_per_class=[4, 10], out_dir='out/x', threads=1, n_jobs=1, timeout=3600.0)")


def test_module_entry_point_lists_and_rebuilds_reports(smoke, capsys):
    from pseudolabel.bench.__main__ import main

    assert main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert "sklearn_label_spreading" in listed and "suite quick" in listed
    out, _ = smoke
    (out / "results.md").unlink()
    assert main(["--report", str(out / "results.json"), "--no-plots"]) == 0
    assert (out / "results.md").exists()


def test_update_replaces_the_same_runs_and_keeps_the_rest(tmp_path, fake_methods):
    from rich.console import Console

    quiet = Console(quiet=True)
    with pytest.raises(ValueError, match="--update needs an earlier"):
        run_bench(suite="tiny", out_dir=tmp_path, console=quiet, plots=False, update=True, isolate=False)
    first = run_bench(suite="tiny", methods=["supervised", "broken"], out_dir=tmp_path, console=quiet, plots=False, isolate=False)
    assert {r["method"]: r["status"] for r in first["runs"]} == {"supervised": "ok", "broken": "error"}
    # the "broken" method gets fixed; only it is re-run
    fixed = BenchMethod("broken", "test", "fixed now", METHODS["supervised"].build, kind="supervised")
    METHODS["broken"] = fixed  # the fixture restores METHODS afterwards
    run_bench(suite="tiny", methods=["broken"], out_dir=tmp_path, console=quiet, plots=False, isolate=False, update=True)
    saved = load_results(tmp_path / "results.json")
    assert sorted((r["method"], r["status"]) for r in saved["runs"]) == [("broken", "ok"), ("supervised", "ok")]
    assert saved["command"] == first["command"]
    (upd,) = saved["updates"]
    assert upd["runs_replaced"] == 1 and upd["runs_added"] == 1 and upd["command"].endswith("update=True)")
    assert saved["methods"]["broken"]["description"] == "fixed now" and "supervised" in saved["methods"]
    assert all("git" in r for r in saved["runs"])
    md = (tmp_path / "results.md").read_text()
    assert "- Updated " in md and "re-ran 1 runs, replacing 1" in md and "## Failed runs" not in md
