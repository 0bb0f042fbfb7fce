"""The HTML report on any AuditRecord: fits the page, bounded plots, intervals beside every
estimated precision, the chosen configuration at the top, axes from 0, legends off the data."""

import base64
import re
import struct

import numpy as np
import pytest

from pseudolabel.audit.report import (
    DPI,
    MAX_CLASS_BARS,
    MAX_FIG_WIDTH,
    build_figures,
    class_groups,
    heldout_metrics,
    precision_text,
    render_report,
    wilson_interval,
)
from pseudolabel.core.audit import AuditRecord, HeldOut
from pseudolabel.core.record import PseudoLabels


def record(n_classes=3, n=60, *, heldout=(4, 7), fallback=False, step="round", seed=0) -> AuditRecord:
    """A synthetic record: ``heldout=(k, m)`` gives m accepted held-out rows, k of them right."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(n_classes), size=n)
    weight = (rng.random(n) > 0.3).astype(float)
    pl = PseudoLabels.from_probs(probs, weight, np.arange(n_classes), source="graph", index=np.arange(n) + 10)
    k, m = heldout
    y = rng.integers(0, n_classes, m)
    label = y.copy()
    label[k:] = (y[k:] + 1) % n_classes
    ho = HeldOut(y, label, np.ones(m), np.full(m, 0.8))
    history = [
        {step: r, "selected": 20 + r, "coverage": 0.5, "heldout_accuracy": 0.6 + 0.01 * r,
         "supervised_heldout_accuracy": 0.55, "heldout_pl_precision": k / m, "heldout_pl_coverage": 1.0,
         "a_rather_long_column_name_that_widens_the_table": 1.0 * r}
        for r in range(4)
    ]
    decision = {"heldout_accuracy": 0.857, "supervised_heldout_accuracy": 0.571, "p_value": 0.25,
                "n_heldout": m, "n_options": 9, "fallback": fallback}
    candidates = [
        {"teacher": "graph", "refine": "calibrate,sinkhorn", "select": "gmm", "heldout_accuracy": 0.857, "best_round": 2, "chosen": True},
        {"teacher": "self", "refine": "calibrate", "select": "freematch", "heldout_accuracy": 0.714, "best_round": 1, "chosen": False},
    ]
    return AuditRecord(classes=np.arange(n_classes), pseudo_labels=pl, n_labeled=m, n_unlabeled=n, heldout=ho,
                       history=history, step=step, chosen_step=2, candidates=candidates, decision=decision,
                       config={"select": "gmm", "teacher": "graph", "refine": "calibrate,sinkhorn"})


def _png_sizes(html: str) -> dict[str, tuple[int, int]]:
    sizes = {}
    for data, alt in re.findall(r"<img src='data:image/png;base64,([^']+)' alt='(\w+)'>", html):
        raw = base64.b64decode(data)
        sizes[alt] = struct.unpack(">II", raw[16:24])
    return sizes


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(4, 7)
    assert (round(lo, 3), round(hi, 3)) == (0.25, 0.842)
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(0, 10)[0] == 0.0
    assert all(np.isnan(wilson_interval(0, 0)))
    assert precision_text(4, 7) == "57.1% (4 of 7; 95% CI 25.0%–84.2%)"


def test_estimated_precision_shows_sample_size_and_interval_everywhere():
    rec = record(heldout=(4, 7))
    html = render_report(rec)
    assert "57.1%" in html and "4 of 7 held-out; 95% CI 25.0%–84.2%" in html  # the headline
    m = heldout_metrics(rec)
    assert (m["n_accepted"], m["n_correct"]) == (7, 4) and np.allclose(m["precision_ci95"], wilson_interval(4, 7))
    # the rounds table: n and the interval beside the precision column
    head = html[html.index("<h2>Rounds</h2>"):]
    head = head[: head.index("</thead>")]
    assert "heldout pl precision n" in head and "heldout pl precision 95% CI" in head
    assert "0.25–0.84" in html
    # the classes table: held-out precision per class with its n and interval
    classes = html[html.index("<h2>Classes</h2>"):]
    assert "n (held-out)" in classes[: classes.index("</thead>")] and "95% CI" in classes[: classes.index("</thead>")]


def test_chosen_configuration_is_at_the_top():
    html = render_report(record())
    top = html[: html.index("<span class='kpi'>")]
    assert "class='chosen'" in top and "teacher=graph, refine=calibrate,sinkhorn, select=gmm" in top
    assert "chosen round 2" in top and "best of 2 configurations" in top
    assert ("Held-out accuracy 0.857 vs 0.571 supervised-only, n=7 held-out rows, p=0.25 that the chosen option beats "
            "supervised-only, corrected for all 9 options compared (sign-flip max-T test)") in top
    assert "<h2>Configurations compared</h2>" in html and html.index("Configurations compared") < html.index("<h2>Plots")


def test_the_decision_box_gives_the_level_and_the_share_of_predictions_changed():
    rec = record()
    rec.decision.update(level=0.0278, disagreement=0.18)
    import html

    top = render_report(rec)
    top = html.unescape(top[: top.index("<span class='kpi'>")])
    assert ("sign-flip max-T test), needed ≤ 0.0278; the chosen option predicts another class than the supervised model "
            "on 18.0% of the unlabeled rows (the most keeping it can change accuracy)") in top
    rec.decision.update(fallback=True)
    assert "the best self-training option (not kept) predicts another class" in html.unescape(render_report(rec))


def test_fallback_box_says_when_there_were_too_few_labels_to_judge():
    rec = record(fallback=True)  # 7 held-out rows
    rec.decision.update(min_heldout=30)
    top = render_report(rec)
    assert "Only 7 labeled rows could be held out, fewer than the 30 a gain is trusted on; label more rows." in top
    rec.decision.update(min_heldout=0)
    assert "could be held out" not in render_report(rec)


def test_fallback_box_gives_the_numbers_and_the_way_to_keep_self_training():
    html = render_report(record(fallback=True))
    top = html[: html.index("<span class='kpi'>")]
    assert "Model returned: supervised only" in top
    assert "not clearly better than supervised-only training (held-out accuracy 0.857 vs 0.571" in top
    assert "n=7 held-out rows" in top and "p=0.25" in top and "--no-fallback" in top
    assert "did not beat" not in html


def test_every_table_scrolls_inside_its_box():
    html = render_report(record(n_classes=30), ids=np.array([f"row-{i}" for i in range(100)]), queries=np.arange(5))
    assert html.count("<table>") >= 4
    assert html.count("<table>") == html.count("<div class='scroll") and "overflow-x:auto" in html
    assert "max-width:100%" in html and ".card img{max-width:100%" in html


def test_many_classes_give_at_most_40_bar_groups_and_a_bounded_image():
    rec = record(n_classes=500, n=3000)
    names = [f"class-{i}" for i in range(500)]
    figs = build_figures(rec, {n: 2 for n in names}, names)
    ax = figs["classes"].axes[0]
    assert len(ax.patches) == 2 * MAX_CLASS_BARS  # human + pseudo bar per group
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert len(ticks) == MAX_CLASS_BARS and ticks[-1] == "others (461 classes)"
    assert figs["classes"].get_size_inches()[0] <= MAX_FIG_WIDTH
    for f in figs.values():
        f.clf()
    sizes = _png_sizes(render_report(rec, class_names=names))
    assert sizes["classes"][0] <= MAX_FIG_WIDTH * DPI + 200  # was 19,432 px with 500 classes
    assert max(w for w, _ in sizes.values()) <= MAX_FIG_WIDTH * DPI + 200


def test_class_groups_keep_the_largest_classes_in_order_and_sum_the_rest():
    names, human, pseudo = class_groups(list("abcdef"), np.array([5, 0, 1, 9, 0, 0]), np.array([0, 1, 0, 1, 7, 0]), max_bars=4)
    assert names == ["a", "d", "e", "others (3 classes)"]
    assert human.tolist() == [5, 9, 0, 1] and pseudo.tolist() == [0, 1, 7, 1]
    assert class_groups(list("ab"), np.ones(2), np.ones(2))[0] == ["a", "b"]


def test_axes_start_at_zero_and_legends_stay_off_the_data():
    figs = build_figures(record(), {"0": 3, "1": 2, "2": 2})
    assert set(figs) == {"confidence", "classes", "reliability", "coverage", "rounds"}
    for name, fig in figs.items():
        renderer = fig.canvas.get_renderer()
        fig.canvas.draw()
        for ax in fig.axes:
            assert ax.get_ylim()[0] == 0, (name, ax.get_ylim())
        legends = [a.get_legend() for a in fig.axes if a.get_legend() is not None] + list(fig.legends)
        assert legends, name
        for legend in legends:
            box = legend.get_window_extent(renderer)
            for ax in fig.axes:
                assert not box.overlaps(ax.get_window_extent(renderer)), f"{name}: legend over the data"


def test_neural_style_record_without_candidates():
    rec = record(step="epoch")
    rec.candidates = []
    rec.decision = {"rule": "latest epoch within the tolerance", "heldout_accuracy": 0.8, "n_heldout": 7, "fallback": False}
    html = render_report(rec)
    assert "<h2>Epochs</h2>" in html and "chosen epoch 2" in html and "Rule: latest epoch within the tolerance" in html
    assert "Configurations compared" not in html


@pytest.mark.parametrize("heldout", [None, (0, 0)])
def test_no_heldout_estimate_says_so(heldout):
    rec = record()
    if heldout is None:
        rec.heldout = None
    else:
        rec.heldout = HeldOut(np.array([0, 1]), np.array([-1, -1]), np.zeros(2), np.full(2, 0.4))
    html = render_report(rec)
    assert ("no held-out labels" in html) if heldout is None else ("no held-out row was accepted" in html)
