"""The development suite's verdict and its table of alternatives, on hand-made runs."""

from pseudolabel.bench.dev import alternatives, markdown_section, verdict


def _runs(cells):
    runs = []
    for (dataset, budget), accs in cells.items():
        for method, acc in accs.items():
            runs.append({"dataset": dataset, "budget": budget, "method": method, "seed": 0, "status": "ok",
                         "metrics": {"accuracy": acc / 100}})
    return {"runs": runs}


ANCH = {"supervised_tuned": 60.0, "sklearn_self_training": 62.0, "sklearn_label_spreading": 50.0}


def test_verdict_needs_the_mean_gain_and_no_cell_below_the_floor():
    res = _runs({("mnist", 4): {**ANCH, "pseudolabel": 70.0}, ("sst2", 4): {**ANCH, "pseudolabel": 58.5}})
    v = verdict(res)["confirm"]
    assert abs(v["mean_gain"] - ((70 - 62) + (58.5 - 62)) / 2) < 1e-9
    assert abs(v["worst_vs_floor"] + 1.5) < 1e-9 and v["worst_cell"] == "sst2 / 4"
    assert not v["bar_met"]  # mean gain 2.25 but one cell 1.5 points below the floor
    res = _runs({("mnist", 4): {**ANCH, "pseudolabel": 70.0}, ("sst2", 4): {**ANCH, "pseudolabel": 59.5}})
    assert verdict(res)["confirm"]["bar_met"]


def test_alternatives_compare_on_the_cells_where_both_ran():
    res = _runs({("digits", 4): {**ANCH, "pseudolabel": 66.0, "pseudolabel_z1": 64.0},
                 ("trec", 4): {**ANCH, "pseudolabel": 61.0},  # no alternative here: not counted
                 ("letter", 4): {**ANCH, "pseudolabel": 59.0, "pseudolabel_z1": 61.0}})
    (row,) = alternatives(res)
    assert row["method"] == "pseudolabel_z1" and row["cells"] == 2 and row["datasets"] == ["digits", "letter"]
    assert abs(row["pseudolabel_z1"]["mean_gain"] - ((64 - 62) + (61 - 62)) / 2) < 1e-9
    assert abs(row["pseudolabel"]["mean_gain"] - ((66 - 62) + (59 - 62)) / 2) < 1e-9
    worst, cell = row["pseudolabel"]["worst_vs_floor"]
    assert abs(worst + 1.0) < 1e-9 and cell == "letter / 4"
    text = "\n".join(markdown_section(res))
    assert "| pseudolabel_z1 | 2 (digits, letter) | +0.50 | +1.0 (letter / 4) | +0.50 | -1.0 (letter / 4) |" in text
