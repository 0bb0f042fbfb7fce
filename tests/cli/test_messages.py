"""Why #6: messages that say what happened, with numbers, and only suggest flags the command has."""

import json
import re
from types import SimpleNamespace

import pandas as pd
import pytest
import typer

from pseudolabel.cli import app
from pseudolabel.cli.fit import RoundProgress, fallback_message


def test_fallback_message_gives_the_numbers_and_the_real_flag():
    model = SimpleNamespace(guard_={"heldout_accuracy": 0.857, "supervised_heldout_accuracy": 0.571, "p_value": 0.25,
                                    "n_heldout": 7, "heldout_wins": 2, "heldout_losses": 0, "gain_lower_bound": -0.012, "z": 0.5,
                                    "n_options": 9, "alpha": 0.2})
    msg = fallback_message(model)
    assert ("not clearly better than supervised-only training (held-out 0.857 vs 0.571, n=7, gain lower bound -0.012 "
            "at z=0.5, p=0.25 over 9 options (needed <= 0.2))") in msg
    assert "--no-fallback" in msg and "fallback=False" not in msg
    model.guard_.update(heldout_accuracy=0.5)
    assert "was worse than supervised-only training (held-out 0.500 vs 0.571" in fallback_message(model)


def test_a_fallback_run_says_why_and_no_fallback_keeps_self_training(fallback_run, cli, fast, tmp_path):
    path, out, res = fallback_run
    g = json.loads((out / "metrics.json").read_text())["guard"]
    numbers = f"held-out {g['heldout_accuracy']:.3f} vs {g['supervised_heldout_accuracy']:.3f}, n={g['n_heldout']}"
    # the default guard also scores the held-out rows at the unlabeled rows' class mix, and says so
    numbers += (f", gain {g['gain_at_pool_mix']:+.3f} at the unlabeled rows' estimated class mix "
                f"(p={g['p_value_at_pool_mix']:.3f} there)")
    text = " ".join(res.text.split())  # the console may wrap long lines
    assert f"better than supervised-only training ({numbers}, gain lower bound" in text, res
    assert "pass --no-fallback to keep self-training" in res.text
    assert "did not beat" not in res.text and "fallback=False" not in res.text
    assert "supervised only (fallback" in res.text  # the summary says so too
    res = cli("fit", path, "--target", "y", "--out", tmp_path / "kept", "--no-fallback", *fast)
    assert res.code == 0, res
    metrics = json.loads((tmp_path / "kept" / "metrics.json").read_text())
    assert metrics["fallback_to_supervised"] is False and metrics["pseudo_labels"]["accepted"] > 0
    assert json.loads((tmp_path / "kept" / "run.json").read_text())["config"]["fallback"] is False


def test_progress_and_summary_report_the_same_round(blobs_run):
    _, out = blobs_run
    metrics = json.loads((out / "metrics.json").read_text())
    text = (out.parent / "fit.log").read_text()
    m = re.search(r"done: (\w+), round (\d+): ([\d,]+) accepted", text)
    assert m, text
    assert int(m.group(2)) == metrics["best_round"] and int(m.group(3).replace(",", "")) == metrics["pseudo_labels"]["accepted"]
    assert m.group(1) == metrics["config"]["teacher"]
    s = re.search(r"chosen round\s*│\s*(\d+)", text)
    a = re.search(r"accepted pseudo-labels\s*│\s*([\d,]+) /", text)
    assert s and a and int(s.group(1)) == metrics["best_round"] and a.group(1) == m.group(3)
    # how sure the decision was, in numbers: the max-T p-value over the options compared
    g = metrics["guard"]
    sure = re.search(r"how sure\s*│\s*p = ([\d.e-]+) that", text)
    assert sure and float(sure.group(1)) == float(f"{g['p_value']:.3g}")
    assert f"over {g['n_options']} options" in re.sub(r"\s*│\s*", " ", text)


def test_round_progress_counts_configurations():
    lines = []

    class FakeProgress:
        def add_task(self, description, total):
            lines.append(("total", total))
            return 0

        def update(self, task, completed, description):
            lines.append((completed, description))

    p = RoundProgress(FakeProgress(), n_configs=3, max_rounds=2)
    for r in (0, 1, 2, 0, 1, 0):  # the second configuration stopped early
        p({"round": r, "selected": 10 * r, "heldout_accuracy": 0.5})
    p.finish("done: graph, round 1: 10 accepted")
    assert lines[0] == ("total", 9)
    assert lines[4] == (4, "configuration 2/3, round 0: 0 accepted, held-out acc 0.500")
    assert lines[6] == (7, "configuration 3/3, round 0: 0 accepted, held-out acc 0.500")
    assert lines[-1] == (9, "done: graph, round 1: 10 accepted")


def _options(name: str) -> set[str]:
    cmd = typer.main.get_command(app).commands[name]
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")} | {"--help"}


def _flags(text: str, command: str) -> set[str]:
    """The flags a message suggests for ``command`` (those after "`pseudolabel fit`" belong to fit)."""
    own = re.sub(r"`pseudolabel fit`( with)? --[\w-]+", "", text) if command != "fit" else text
    return set(re.findall(r"(?<![\w-])--[a-z][\w-]*", own))


def test_every_suggested_flag_exists_on_the_command(table, blobs_run, cli, fast, tmp_path, make_blobs):
    path, df = table
    run_path, run = blobs_run
    bad = tmp_path / "bad.csv"
    df.assign(note=[f"free text {i}" for i in range(len(df))], a=df.a.where(df.index != 3, float("inf"))).to_csv(bad, index=False)
    bad2 = tmp_path / "bad2.csv"
    df.assign(note=[f"free text {i}" for i in range(len(df))]).to_csv(bad2, index=False)
    eu = tmp_path / "eu.csv"
    df.to_csv(eu, index=False, sep=";", decimal=",")
    allb = tmp_path / "all.csv"
    df.assign(y=df.y.fillna(9)).to_csv(allb, index=False)
    fit_calls = [
        [bad, "--target", "y"], [bad2, "--target", "y"], [eu, "--target", "y"], [allb, "--target", "y"],
        [path, "--target", "nope"], [path, "--target", "y", "--impute", "none", "--na-values", "x"],
        [path, "--target", "y", "--out", run],  # exists: --overwrite
        [tmp_path / "latin.csv", "--target", "y"],
    ]
    (tmp_path / "latin.csv").write_bytes("a,y\ncaf\xe9,1\n".encode("latin-1"))
    df_bin = make_blobs().drop(columns="truth")
    df_bin["flag"] = (df_bin.index % 2).astype(int)
    binary = tmp_path / "binary.csv"
    df_bin.to_csv(binary, index=False)
    assert cli("fit", binary, "--target", "y", "--out", tmp_path / "binrun", *fast).code == 0
    df_bin.loc[0, "flag"] = 2
    df_bin.loc[1, "kind"] = "never"
    df_bin.to_csv(binary, index=False)
    predict_calls = [
        [tmp_path / "binrun", binary, "--out", tmp_path / "p.csv"],  # binary column with a 2
        [run, eu, "--out", tmp_path / "p.csv"],  # decimal comma, missing columns
        [run, tmp_path / "latin.csv", "--out", tmp_path / "p.csv"],
        [run, run_path, "--out", run_path],
        [run, run_path, "--out", tmp_path / "p.xlsx"],
        [tmp_path / "nowhere", run_path, "--out", tmp_path / "p.csv"],
    ]
    seen = 0
    for command, calls in (("fit", fit_calls), ("predict", predict_calls)):
        options = _options(command)
        for call in calls:
            args = [command, *call]
            if command == "fit" and "--out" not in call:
                args += ["--out", tmp_path / "o", *fast]
            res = cli(*args)
            assert res.code == 2, res
            flags = _flags(res.text, command)
            seen += len(flags)
            assert flags <= options, (command, flags - options, res.text)
            assert not re.search(r"\b(fallback=|text=\[|categorical=\[|numeric=\[|missing_values|max_categories)", res.text), res.text
    assert seen >= 8  # the messages do suggest flags


def test_command_help_lists_the_flags_messages_use():
    assert {"--no-fallback", "--na-values", "--sep", "--encoding", "--decimal", "--debug", "--overwrite",
            "--categorical", "--numeric", "--text", "--drop", "--impute"} <= _options("fit")
    assert {"--strict", "--overwrite", "--na-values", "--sep", "--encoding", "--decimal", "--debug"} <= _options("predict")


def test_a_mostly_numeric_column_encoded_as_categories_is_reported(make_blobs, cli, fast, tmp_path):
    df = make_blobs(n=30, every=2).drop(columns="truth")  # 30 rows: 30 distinct values fit under the category limit
    df["a"] = df["a"].round(2).astype(object)
    df.loc[4, "a"] = "1.2.3"
    path = tmp_path / "typo.csv"
    df.to_csv(path, index=False)
    res = cli("fit", path, "--target", "y", "--out", tmp_path / "run", *fast)
    assert res.code == 0, res
    assert "column 'a' was encoded as categories: all but 1 of its values are numbers ('1.2.3' at line 6" in res.text
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["column_kinds"]["a"] == "categorical"
    pd.read_parquet(tmp_path / "run" / "pseudo_labels.parquet")


def test_an_interrupt_that_surfaces_as_another_error_still_exits_130():
    # SIGTERM landing while a C extension is imported surfaces as "ImportError: initialization
    # failed" (seen in test_kill); it is still an interrupt: exit 130, not "internal error"
    from pseudolabel.cli._common import command, terminate

    @command
    def import_interrupted():
        try:
            terminate()  # what the SIGTERM handler does
        except KeyboardInterrupt:
            pass  # swallowed by the import machinery
        raise ImportError("initialization failed")

    @command
    def chained():
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("cleanup failed while unwinding") from None

    @command
    def a_bug():
        raise ImportError("initialization failed")

    for func, code in ((import_interrupted, 130), (chained, 130), (a_bug, 1)):  # the flag does not stick
        with pytest.raises(typer.Exit) as exc:
            func()
        assert exc.value.exit_code == code, func.__name__


def test_fallback_message_says_how_guard_risk_lowered_the_level():
    g = {"heldout_accuracy": 0.95, "supervised_heldout_accuracy": 0.825, "p_value": 0.05, "n_heldout": 40,
         "gain_lower_bound": 0.07, "z": 0.5, "n_options": 11, "alpha": 0.2, "risk": 0.005, "disagreement": 0.18,
         "level": 0.005 / 0.18}
    msg = fallback_message(SimpleNamespace(guard_=g))
    assert ("p=0.05 over 11 options (needed <= 0.0278: the option changes 18.0% of the unlabeled rows' predictions, "
            "so the expected loss from keeping a useless option stays within 0.5 point(s))") in msg
    # only the risk refused it (p 0.05 <= alpha 0.2, bound > 0): the message names the flag that lifts it
    assert msg.endswith("pass --risk off to test it at the plain level, or --no-fallback to keep self-training")
    # when the level stayed at alpha there is nothing to explain, and no --risk to suggest
    g.update(disagreement=0.01, level=0.2)
    assert "(needed <= 0.2)" in fallback_message(SimpleNamespace(guard_=g))
    assert "--risk" not in fallback_message(SimpleNamespace(guard_={**g, "p_value": 0.3, "disagreement": 0.18,
                                                                     "level": 0.005 / 0.18}))


def test_fallback_message_says_when_there_were_too_few_labels_to_judge():
    g = {"heldout_accuracy": 1.0, "supervised_heldout_accuracy": 0.7, "p_value": 0.13, "n_heldout": 10, "min_heldout": 30,
         "gain_lower_bound": 0.22, "z": 0.5, "n_options": 9, "alpha": 0.3}
    msg = fallback_message(SimpleNamespace(guard_=g))
    assert msg.startswith("only 10 labeled rows could be held out, fewer than the 30 a gain is trusted on (held-out 1.000 vs 0.700")
    assert msg.endswith("label more rows, pass --min-labels 0 to let the test decide, or pass --no-fallback to keep self-training")
    # the test itself passed (p 0.13 <= 0.3, bound > 0): only the number of labels refused it
    assert "; self-training looked better, but on too few labels to trust, so the run keeps" in msg
    assert "looked better" not in fallback_message(SimpleNamespace(guard_={**g, "p_value": 0.5}))
    # no fold at all (a class with one label): no numbers to show, and why
    none = fallback_message(SimpleNamespace(guard_={"heldout_accuracy": float("nan"), "supervised_heldout_accuracy": float("nan"),
                                                     "p_value": float("nan"), "n_heldout": 0, "min_heldout": 30}))
    assert none.startswith("only 0 labeled rows could be held out, fewer than the 30 a gain is trusted on (no held-out rows: "
                           "a class has a single label)") and "nan" not in none

    g["n_heldout"] = 30
    assert fallback_message(SimpleNamespace(guard_=g)).startswith("self-training was not clearly better")
