"""benchmarks/replay_guard.py: the default at any guard level, replayed exactly from hand-made runs."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "replay_guard.py"


def _load():
    spec = importlib.util.spec_from_file_location("replay_guard", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(dataset, seed, method, acc, guard=None):
    rec = {"dataset": dataset, "budget": 4, "seed": seed, "method": method, "status": "ok",
           "metrics": {"accuracy": acc / 100}, "extras": {}}
    if guard is not None:
        rec["extras"]["guard"] = guard
    return rec


ANCHORS = {"supervised_tuned": 60.0, "sklearn_self_training": 61.0, "sklearn_label_spreading": 50.0}
# digits (tune group): seed 0's option gains 10 on strong evidence (p 0.01, 100 held-out rows);
# seed 1's loses 10 on weak evidence (p 0.15, 8 held-out rows)
STRONG_AND_WEAK = (("digits", 0, 70.0, {"gain_lower_bound": 0.05, "p_value": 0.01, "n_heldout": 100}),
                   ("digits", 1, 50.0, {"gain_lower_bound": 0.20, "p_value": 0.15, "n_heldout": 8}))


def _results(tmp_path, options) -> str:
    """A results.json with the three anchors at ``ANCHORS`` and ``pseudolabel_keep`` at each
    ``(dataset, seed, accuracy, guard)`` given."""
    runs = []
    for dataset, seed, acc, guard in options:
        runs += [_run(dataset, seed, m, a) for m, a in ANCHORS.items()]
        runs.append(_run(dataset, seed, "pseudolabel_keep", acc, guard))
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"runs": runs}))
    return str(path)


def _rows(text: str) -> dict[str, list[str]]:
    return {cells[1].strip(): [c.strip() for c in cells[2:-1]]
            for cells in (line.split("|") for line in text.splitlines() if line.startswith("| ") and "level" not in line)}


def test_replay_keeps_an_option_only_at_levels_and_sizes_that_admit_it(tmp_path, capsys):
    path = _results(tmp_path, STRONG_AND_WEAK)
    _load().main([path, "--levels", "0.05,0.2", "--min-heldout", "0,30", "--ceiling", "--by-group"])
    out = capsys.readouterr().out
    assert "\ntune — pseudolabel_keep: 2 runs in 1 cells" in out  # digits is in the tune group
    rows = _rows(out.split("\ntune")[0])
    # at 0.05 only seed 0 is kept: mean (70 + 60) / 2 = 65 → +5 vs the floor, +4 vs the best anchor (61)
    assert rows["0.05"] == ["1/2", "+5.00", "+5.00", "0", "+4.00"]
    # at 0.2 both: (70 + 50) / 2 = 60 → +0 vs the floor
    assert rows["0.2"] == ["2/2", "+0.00", "+0.00", "0", "-1.00"]
    # asking for 30 held-out rows drops seed 1's weak keep again
    assert rows["0.2, n ≥ 30"] == ["1/2", "+5.00", "+5.00", "0", "+4.00"]
    # the oracle keeps the better of option and floor per seed: (70 + 60) / 2
    assert rows["ceiling (test-split oracle)"] == ["1/2", "+5.00", "+5.00", "0", "+4.00"]


def test_replay_lowers_the_level_to_risk_over_disagreement(tmp_path, capsys):
    # seed 0's option changes 2% of the unlabeled predictions and gains 2 (p 0.15);
    # seed 1's changes 30% and loses 10 (p 0.1): at risk 0.01 its level is 0.01 / 0.3 = 0.033
    path = _results(tmp_path, (
        ("digits", 0, 62.0, {"gain_lower_bound": 0.05, "p_value": 0.15, "n_heldout": 50, "disagreement": 0.02}),
        ("digits", 1, 50.0, {"gain_lower_bound": 0.20, "p_value": 0.10, "n_heldout": 50, "disagreement": 0.30})))
    _load().main([path, "--levels", "0.2", "--risks", "none,0.01,0.002"])
    rows = _rows(capsys.readouterr().out)
    assert rows["0.2"] == ["2/2", "-4.00", "-4.00", "1", "-5.00"]  # (62 + 50) / 2 = 56
    assert rows["0.2, risk 0.01"] == ["1/2", "+1.00", "+1.00", "0", "+0.00"]  # seed 0 only: level min(0.2, 0.5) = 0.2
    assert rows["0.2, risk 0.002"] == ["0/2", "+0.00", "+0.00", "0", "-1.00"]  # seed 0's level 0.1 < 0.15 too


def test_replay_risks_need_the_recorded_disagreement(tmp_path):
    import pytest

    runs = [_run("digits", 0, "supervised_tuned", 60.0),
            _run("digits", 0, "pseudolabel_keep", 62.0, {"gain_lower_bound": 0.05, "p_value": 0.15, "n_heldout": 50})]
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"runs": runs}))
    with pytest.raises(SystemExit, match="needs extras.guard.disagreement"):
        _load().main([str(path), "--risks", "0.01"])


def test_replay_rank_sorts_safe_settings_by_mean_gain(tmp_path, capsys):
    path = _results(tmp_path, STRONG_AND_WEAK)
    _load().main([path, "--levels", "0.2,0.05", "--min-heldout", "0,30", "--rank"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "level" not in line]
    # safe rows first, best mean gain first, three decimals; 0.2 with no minimum keeps the loss (cell at +0.00 vs
    # the floor: safe too, but a lower mean gain)
    assert [line.split("|")[1].strip() for line in lines] == ["0.05", "0.2, n ≥ 30", "0.05, n ≥ 30", "0.2"]  # ties keep their order
    assert lines[0].endswith("| +4.000 |") and lines[-1].endswith("| -1.000 |")


def test_replay_rank_puts_a_setting_with_a_cell_below_minus_one_last_whatever_its_gain(tmp_path, capsys):
    # digits: seed 0's option gains 30 on weak evidence (p 0.15); iris: seed 0's loses 10 at p 0.15 too
    weak = {"gain_lower_bound": 0.1, "p_value": 0.15, "n_heldout": 50}
    path = _results(tmp_path, (("digits", 0, 90.0, weak), ("iris", 0, 50.0, weak)))
    _load().main([path, "--levels", "0.2,0.1", "--rank"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "level" not in line]
    # at 0.2 both are kept: mean (+29 − 11) / 2 = +9 over the best anchor, but iris is 10 below the floor;
    # at 0.1 neither: −1 — the safe row comes first all the same
    assert [line.split("|")[1].strip() for line in lines] == ["0.1", "0.2"]
    assert lines[0].endswith("| 0 | -1.000 |") and lines[1].endswith("| 1 | +9.000 |")


def test_replay_lists_the_runs_behind_the_losses(tmp_path, capsys):
    # seed 1's option loses 10 points: kept at 0.2 (p 0.15) but not at 0.05, nor with 30 held-out labels asked
    path = _results(tmp_path, STRONG_AND_WEAK)
    _load().main([path, "--levels", "0.05,0.2", "--min-heldout", "0,30", "--losses", "5"])
    listed = capsys.readouterr().out.split("more than 5 points below the floor")[1]
    assert "| digits / 4 / 1 | -10.0 | 8 | 0.150 | – | 0.2 |" in listed
    assert "digits / 4 / 0" not in listed  # it gained
