"""A self-contained HTML report of a self-training run (plots embedded as PNG data URIs).

It answers the questions a user has before trusting pseudo-labels: how many were accepted, how
confident they are, whether that confidence is honest (reliability on held-out labels), how
accuracy trades against coverage, how the rounds went, and which rows to look at first.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np

from pseudolabel.core.audit import AuditRecord
from pseudolabel.ops.calibration import accuracy_coverage, expected_calibration_error, reliability
from pseudolabel.ops.files import atomic_path
from pseudolabel.ops.metrics import pseudo_label_quality

RELIABILITY_BINS = 10
"""Bars in the reliability diagram (coarser than the ECE's 15 bins: held-out sets are small)."""


def as_audit_record(source) -> AuditRecord:
    """The :class:`~pseudolabel.core.audit.AuditRecord` of a fitted learner (or the record itself)."""
    if isinstance(source, AuditRecord):
        return source
    if hasattr(source, "audit_record"):
        return source.audit_record()
    raise TypeError(
        f"cannot report on {type(source).__name__}: pass an AuditRecord or a fitted learner with audit_record() "
        "(SelfTrainer, ConsistencyClassifier)"
    )


Z95 = 1.959963984540054
"""Normal quantile of a two-sided 95% interval."""


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval of a proportion ``k / n`` (``(nan, nan)`` when ``n == 0``).

    Unlike ``p ± z·sqrt(p(1−p)/n)`` it stays inside [0, 1] and is honest for small ``n``: 4 of 7
    correct gives 25%–84%, not a point estimate of 57%."""
    if n <= 0:
        return float("nan"), float("nan")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k <= 0 else max(0.0, centre - half)
    hi = 1.0 if k >= n else min(1.0, centre + half)
    return float(lo), float(hi)


def precision_text(k: int, n: int, *, percent: bool = True) -> str:
    """``"57.1% (4 of 7; 95% CI 25.0–84.2%)"``: an estimated precision with its sample and interval."""
    if n <= 0:
        return "– (no held-out pseudo-labels)"
    lo, hi = wilson_interval(k, n)
    if percent:
        return f"{k / n:.1%} ({k} of {n}; 95% CI {lo:.1%}–{hi:.1%})"
    return f"{k / n:.3f} (n={n}; 95% CI {lo:.2f}–{hi:.2f})"


def heldout_metrics(source) -> dict:
    """Precision / coverage / calibration of the held-out rows' pseudo-labels (empty when none),
    with the counts behind the precision (``n_accepted``, ``n_correct``) and its 95% Wilson
    interval (``precision_ci95``)."""
    rec = as_audit_record(source)
    ho = rec.heldout
    if ho is None or len(ho) == 0:
        return {}
    q = pseudo_label_quality(ho.label, ho.weight, ho.confidence, ho.y, len(rec.classes))
    acc = ho.accepted
    k, n = int((ho.label[acc] == ho.y[acc]).sum()), int(acc.sum())
    q.update(n_heldout=len(ho), n_accepted=n, n_correct=k, precision_ci95=list(wilson_interval(k, n)), source=ho.source)
    per_class = []
    for c in range(len(rec.classes)):
        sel = acc & (ho.label == c)
        per_class.append({"n": int(sel.sum()), "correct": int((ho.y[sel] == c).sum())})
    q["per_class_counts"] = per_class
    return q


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


DPI = 110
MAX_CLASS_BARS = 40
"""Most bar groups in the class-count plot: the largest classes, then one "others" group."""
MAX_FIG_WIDTH = 11.0
"""Inches; with DPI this keeps every plot within ~1,250 px (the page is 1,100 px wide)."""


def _legend_below(ax, ncol: int = 2, handles=None, labels=None):
    """A legend under the axes (outside the data area, so it never covers data)."""
    kwargs = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.2), "ncol": ncol, "fontsize": 8, "frameon": False}
    if handles is not None:
        return ax.legend(handles, labels, **kwargs)
    return ax.legend(**kwargs)


def class_groups(names: list[str], human: np.ndarray, pseudo: np.ndarray, max_bars: int = MAX_CLASS_BARS):
    """At most ``max_bars`` groups: the classes with the most rows (labeled + pseudo-labeled), in
    class order, then ``"others (N classes)"`` summing the rest. Returns names, human, pseudo."""
    k = len(names)
    if k <= max_bars:
        return list(names), np.asarray(human), np.asarray(pseudo)
    total = np.asarray(human) + np.asarray(pseudo)
    keep = np.sort(np.argsort(-total, kind="stable")[: max_bars - 1])
    rest = np.setdiff1d(np.arange(k), keep)
    return ([names[i] for i in keep] + [f"others ({len(rest)} classes)"],
            np.append(np.asarray(human)[keep], np.asarray(human)[rest].sum()),
            np.append(np.asarray(pseudo)[keep], np.asarray(pseudo)[rest].sum()))


def build_figures(rec: AuditRecord, y_labeled_counts: dict, class_names: list[str] | None = None) -> dict:
    """The report's matplotlib figures by name (confidence, classes, reliability, coverage, rounds).

    Every y axis starts at 0; legends sit below the axes, outside the data."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figs = {}
    pl = rec.pseudo_labels
    classes = class_names or [str(c) for c in rec.classes]

    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    acc = pl.accepted
    bins = np.linspace(0, 1, 26)
    ax.hist(pl.confidence[acc], bins=bins, alpha=0.8, label=f"accepted ({acc.sum():,})", color="#2a7ab0")
    ax.hist(pl.confidence[~acc], bins=bins, alpha=0.6, label=f"rejected ({(~acc).sum():,})", color="#d08c2a")
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("confidence")
    ax.set_ylabel("unlabeled rows")
    ax.set_title("Pseudo-label confidence")
    _legend_below(ax)
    figs["confidence"] = fig

    human = np.array([y_labeled_counts.get(c, 0) for c in classes])
    pseudo = np.bincount(pl.label[acc], minlength=len(classes))[: len(classes)]
    names, human, pseudo = class_groups(classes, human, pseudo)
    fig, ax = plt.subplots(figsize=(min(MAX_FIG_WIDTH, max(5.2, 0.28 * len(names) + 2)), 3.6))
    x = np.arange(len(names))
    ax.bar(x - 0.2, human, width=0.4, label="labeled (human)", color="#555")
    ax.bar(x + 0.2, pseudo, width=0.4, label="pseudo-labeled", color="#2a7ab0")
    rotate = len(names) > 8 or max((len(n) for n in names), default=0) > 8
    ax.set_xticks(x, [n if len(n) <= 24 else n[:23] + "…" for n in names], rotation=60 if rotate else 0,
                  ha="right" if rotate else "center", fontsize=7 if len(names) > 20 else 9)
    ax.set_ylim(bottom=0)
    if len(names) < len(classes):  # an "others" group much taller than the classes shown: clip it, marked
        shown_max = max(float(np.max(human[:-1], initial=0)), float(np.max(pseudo[:-1], initial=0)), 1.0)
        others_max = max(float(human[-1]), float(pseudo[-1]))
        if others_max > 1.5 * shown_max:
            top = 1.3 * shown_max
            ax.set_ylim(0, top)
            ax.text(x[-1], top * 0.97, f"off scale:\n{int(human[-1]):,} / {int(pseudo[-1]):,}", ha="right", va="top",
                    fontsize=7, color="#b00")
    ax.set_ylabel("rows")
    ax.set_title("Class counts" + (f" (top {len(names) - 1} of {len(classes)} classes)" if len(names) < len(classes) else ""))
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.08), ncol=2, fontsize=8, frameon=False)
    figs["classes"] = fig

    ho = rec.heldout
    if ho is not None and len(ho):
        accepted = ho.accepted
        correct = ho.label == ho.y
        conf, corr = ho.confidence[accepted], correct[accepted]
        r = reliability(conf, corr, RELIABILITY_BINS)
        fig, ax = plt.subplots(figsize=(4.2, 4.0))
        ok = r["count"] > 0
        centers = (r["edges"][:-1] + r["edges"][1:]) / 2
        ax.bar(centers[ok], r["accuracy"][ok], width=0.9 / RELIABILITY_BINS, color="#2a7ab0", alpha=0.85, label="accuracy (bar label: rows)")
        ax.plot([0, 1], [0, 1], "--", color="#999", label="perfect calibration")
        for c_, a_, n_ in zip(centers[ok], r["accuracy"][ok], r["count"][ok], strict=True):
            ax.text(c_, min(a_ + 0.02, 1.02), str(int(n_)), ha="center", fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.08)
        ax.set_xlabel("confidence")
        ax.set_ylabel("accuracy on held-out labels")
        ax.set_title(f"Reliability (ECE {expected_calibration_error(conf, corr):.3f}, n={int(accepted.sum())})")
        _legend_below(ax, ncol=1)
        figs["reliability"] = fig

        curve = accuracy_coverage(ho.confidence, correct)
        fig, ax = plt.subplots(figsize=(4.6, 3.6))
        if len(curve["accuracy"]):
            m = np.arange(1, len(curve["accuracy"]) + 1)
            k = np.round(curve["accuracy"] * m).astype(int)
            band = np.array([wilson_interval(int(a), int(b)) for a, b in zip(k, m, strict=True)])
            ax.fill_between(curve["coverage"], band[:, 0], band[:, 1], color="#2a7ab0", alpha=0.15, label="95% interval")
        ax.plot(curve["coverage"], curve["accuracy"], color="#2a7ab0", label="accuracy")
        ax.set_xlabel("coverage (most confident fraction)")
        ax.set_ylabel("accuracy on held-out labels")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_title(f"Accuracy vs coverage (n={len(ho)})")
        ax.grid(alpha=0.3)
        _legend_below(ax)
        figs["coverage"] = fig

    hist = rec.history
    if hist:
        step = rec.step
        rounds = [h.get(step, i) for i, h in enumerate(hist)]
        fig, ax = plt.subplots(figsize=(5.6, 3.6))
        ax2 = None
        if "selected" in hist[0]:  # bars behind the lines, on their own axis (from 0)
            ax2 = ax.twinx()
            ax2.bar(rounds, [h.get("selected", 0) for h in hist], alpha=0.15, color="#555", label="pseudo-labels accepted")
            ax2.set_ylim(bottom=0)
            ax2.set_ylabel("pseudo-labels accepted")
            ax.set_zorder(ax2.get_zorder() + 1)
            ax.patch.set_visible(False)
        ax.plot(rounds, [_num(h.get("heldout_accuracy")) for h in hist], "o-", label="held-out accuracy", color="#2a7ab0")
        if "heldout_pl_precision" in hist[0]:
            prec = np.array([_num(h.get("heldout_pl_precision")) for h in hist])
            ax.plot(rounds, prec, "s--", label="held-out pseudo-label precision", color="#3a9a5a")
            n_ho = len(rec.heldout) if rec.heldout is not None else 0
            if n_ho:
                band = np.array([wilson_interval(*_round_counts(h, n_ho)) for h in hist])
                ax.fill_between(rounds, band[:, 0], band[:, 1], color="#3a9a5a", alpha=0.12, label="precision 95% interval")
        if "supervised_heldout_accuracy" in hist[0]:
            ax.plot(rounds, [_num(h.get("supervised_heldout_accuracy")) for h in hist], ":", color="#999", label="supervised only")
        if rec.chosen_step is not None:
            ax.axvline(rec.chosen_step, color="#d08c2a", alpha=0.6, label=f"chosen {step}")
        ax.set_xlabel(step)
        if len(rounds) <= 20:
            ax.set_xticks(rounds)
        ax.set_ylabel("accuracy / precision")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{step.capitalize()}s")
        handles, labels = ax.get_legend_handles_labels()
        if ax2 is not None:
            h2, l2 = ax2.get_legend_handles_labels()
            handles, labels = handles + h2, labels + l2
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=7, frameon=False)
        figs["rounds"] = fig
    return figs


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _round_counts(h: dict, n_heldout: int) -> tuple[int, int]:
    """(correct, accepted) held-out pseudo-labels of one round, from its precision and coverage."""
    cov, prec = _num(h.get("heldout_pl_coverage")), _num(h.get("heldout_pl_precision"))
    if not (np.isfinite(cov) and np.isfinite(prec)):
        return 0, 0
    n = int(round(cov * n_heldout))
    return int(round(prec * n)), n


def _figures(rec: AuditRecord, y_labeled_counts: dict, class_names: list[str] | None = None) -> dict[str, str]:
    return {k: _png(f) for k, f in build_figures(rec, y_labeled_counts, class_names).items()}


def _cell(v) -> str:
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, float | np.floating):
        return "–" if not np.isfinite(v) else f"{v:.4g}"
    if v is None:
        return "–"
    return str(v)


def _table(rows: list[dict], columns: list[str] | None = None, *, tall: bool = False) -> str:
    """An HTML table in a box that scrolls (sideways, and down when ``tall``) instead of overflowing the page."""
    if not rows:
        return "<p><em>none</em></p>"
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for r in rows:
        cells = "".join(f"<td>{html.escape(_cell(r.get(c, '')))}</td>" for c in columns)
        body.append("<tr>" + cells + "</tr>")
    cls = "scroll tall" if tall else "scroll"
    return f"<div class='{cls}'><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


def _history_rows(rec: AuditRecord) -> list[dict]:
    """The rounds/epochs table: every history key, with the pseudo-label precision's n and interval."""
    n_ho = len(rec.heldout) if rec.heldout is not None else 0
    rows = []
    for h in rec.history:
        row = {}
        for k, v in h.items():
            row[k.replace("_", " ")] = v
            if k == "heldout_pl_precision" and n_ho:
                k_, n_ = _round_counts(h, n_ho)
                lo, hi = wilson_interval(k_, n_)
                row["heldout pl precision n"] = n_
                row["heldout pl precision 95% CI"] = f"{lo:.2f}–{hi:.2f}" if n_ else "–"
        rows.append(row)
    return rows


def _config_text(config: dict) -> str:
    """``teacher=graph, refine=…, select=…`` (those three first, when present)."""
    first = [k for k in ("teacher", "refine", "select") if k in config]
    keys = first + [k for k in config if k not in first]
    return ", ".join(f"{k}={config[k]}" for k in keys) if config else "(not recorded)"


def _chosen_html(rec: AuditRecord) -> str:
    """The top box: which model was returned and why (configuration, step, guard)."""
    d = rec.decision or {}
    step = rec.step
    cfg = _config_text(rec.config)
    acc, sup, p, n = (d.get(k) for k in ("heldout_accuracy", "supervised_heldout_accuracy", "p_value", "n_heldout"))
    numbers = ""
    if acc is not None and sup is not None and np.isfinite(_num(acc)) and np.isfinite(_num(sup)):
        numbers = f"held-out accuracy {_num(acc):.3f} vs {_num(sup):.3f} supervised-only"
        if n is not None:
            numbers += f", n={int(n)} held-out rows"
        if d.get("pool_prior") is not None and np.isfinite(_num(d.get("gain_at_pool_mix"))):
            numbers += (f", gain {_num(d['gain_at_pool_mix']):+.3f} with those rows weighed to the unlabeled rows' "
                        "estimated class mix")
            if np.isfinite(_num(d.get("p_value_at_pool_mix"))):
                numbers += f" (p={_num(d['p_value_at_pool_mix']):.2g} there)"
        lb = d.get("gain_lower_bound")
        if lb is not None and np.isfinite(_num(lb)):
            numbers += f", gain lower bound {_num(lb):+.3f} (mean paired gain − {_num(d.get('z')):g} standard errors)"
        if p is not None and np.isfinite(_num(p)):
            numbers += f", p={_num(p):.3g} that the chosen option beats supervised-only"
            if d.get("n_options"):
                numbers += f", corrected for all {int(_num(d['n_options']))} options compared (sign-flip max-T test)"
            level = _num(d.get("level"))
            if np.isfinite(level):
                numbers += f", needed ≤ {level:.3g}"
        if np.isfinite(_num(d.get("disagreement"))):
            which = "the best self-training option (not kept)" if d.get("fallback", False) else "the chosen option"
            numbers += (f"; {which} predicts another class than the supervised model on "
                        f"{_num(d['disagreement']):.1%} of the unlabeled rows (the most keeping it can change accuracy)")
    elif acc is not None and np.isfinite(_num(acc)):
        numbers = f"held-out accuracy {_num(acc):.3f}" + (f" (n={int(n)})" if n is not None else "")
    chosen = "–" if rec.chosen_step is None else str(rec.chosen_step)
    if d.get("fallback", False):
        verdict = "worse than" if _num(acc) < _num(sup) else "no better than" if _num(acc) == _num(sup) else "not clearly better than"
        few = ""
        if n is not None and _num(n) < _num(d.get("min_heldout")):
            few = (f"Only {int(_num(n))} labeled rows could be held out, fewer than the {int(_num(d['min_heldout']))} a "
                   "gain is trusted on; label more rows. ")
            level = _num(d.get("level"))
            if _num(d.get("gain_lower_bound")) > 0 and np.isfinite(level) and _num(p) <= level:
                verdict = "better than (on too few labels to trust)"
        text = (f"<b>Model returned: supervised only.</b> {few}Self-training (best configuration: {html.escape(cfg)}) was "
                f"{verdict} supervised-only training ({html.escape(numbers)}); the supervised model was kept and "
                "no pseudo-label was accepted. <code>fallback=False</code> (CLI: <code>--no-fallback</code>) keeps "
                "self-training.")
        return f"<div class='chosen warn'>{text}</div>"
    text = f"<b>Model returned:</b> {html.escape(cfg)}; chosen {step} {html.escape(chosen)}"
    n_cand = len(rec.candidates or [])
    if n_cand > 1:
        text += f", the best of {n_cand} configurations on held-out accuracy (table below)"
    if numbers:
        text += f". {html.escape(numbers[0].upper() + numbers[1:])}"
    if d.get("rule"):
        text += f". Rule: {html.escape(str(d['rule']))}"
    return f"<div class='chosen'>{text}.</div>"


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.grid{display:flex;flex-wrap:wrap;gap:1em} .card{border:1px solid #e3e3e3;border-radius:6px;padding:.6em;max-width:100%;box-sizing:border-box}
.card img{max-width:100%;height:auto}
.scroll{max-width:100%;overflow-x:auto;border:1px solid #eee} .scroll.tall{max-height:28em;overflow-y:auto}
table{border-collapse:collapse;font-size:.85em} td,th{border:1px solid #ddd;padding:.25em .5em;text-align:right;white-space:nowrap}
th{background:#f5f5f5;position:sticky;top:0} .kpi{display:inline-block;margin:.3em 1.2em .3em 0;vertical-align:top}.kpi b{font-size:1.3em;display:block}
.kpi small{display:block;color:#666}
.chosen{background:#eef5fb;border-left:4px solid #2a7ab0;padding:.5em 1em;margin:.8em 0}
.warn{background:#fff4e0;border-left:4px solid #d08c2a;padding:.5em 1em} code{background:#f3f3f3;padding:0 .2em}
pre{max-width:100%;overflow-x:auto}
"""


def render_report(
    source,
    *,
    title: str = "pseudolabel run",
    data_name: str = "",
    ids=None,
    y_labeled=None,
    config: dict | None = None,
    queries: np.ndarray | None = None,
    class_names: list[str] | None = None,
) -> str:
    """HTML text of the report for a fitted learner (anything with ``audit_record()``) or an
    :class:`~pseudolabel.core.audit.AuditRecord`.

    ``queries``: positions (into the pseudo-label record) of the rows suggested for labeling next.
    ``class_names``: how to print each class (default ``str`` of ``classes``); ``y_labeled``
    holds the human labels (as classes, or as those names).
    """
    rec = as_audit_record(source)
    pl = rec.pseudo_labels
    classes = list(class_names) if class_names is not None else [str(c) for c in rec.classes]
    if len(classes) != len(rec.classes):
        raise ValueError(f"class_names has {len(classes)} names for {len(rec.classes)} classes")
    to_name = {str(c): name for c, name in zip(rec.classes, classes, strict=True)}
    y_counts: dict = {}
    if y_labeled is not None:
        vals, cnt = np.unique(np.asarray([str(v) for v in y_labeled]), return_counts=True)
        for v, c in zip(vals.tolist(), cnt.tolist(), strict=True):
            name = to_name.get(v, v)
            y_counts[name] = y_counts.get(name, 0) + c
    figs = _figures(rec, y_counts, classes)
    ho = heldout_metrics(rec)
    summary = pl.summary()
    prec_kpi, prec_sub = "–", "no held-out labels"
    if ho and ho["n_accepted"]:
        lo, hi = ho["precision_ci95"]
        prec_kpi = f"{ho['precision']:.1%}"
        prec_sub = f"{ho['n_correct']} of {ho['n_accepted']} held-out; 95% CI {lo:.1%}–{hi:.1%}"
    elif ho:
        prec_sub = "no held-out row was accepted"
    kpis = [
        ("rows", f"{rec.n_labeled + rec.n_unlabeled:,}", ""),
        ("labeled", f"{rec.n_labeled:,}", ""),
        ("unlabeled", f"{rec.n_unlabeled:,}", ""),
        ("pseudo-labels accepted", f"{summary['accepted']:,} ({summary['coverage']:.1%})", ""),
        ("est. precision (held-out)", prec_kpi, prec_sub),
        ("ECE (held-out)", f"{ho['ece']:.3f}" if ho and np.isfinite(_num(ho.get("ece"))) else "–",
         f"n={ho['n_accepted']}" if ho else ""),
        (f"chosen {rec.step}", "–" if rec.chosen_step is None else str(rec.chosen_step), ""),
    ]
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p>{html.escape(data_name)}</p>",
        _chosen_html(rec),
        "<div>" + "".join(f"<span class='kpi'><b>{html.escape(v)}</b>{html.escape(k)}"
                          + (f"<small>{html.escape(sub)}</small>" if sub else "") + "</span>" for k, v, sub in kpis) + "</div>",
    ]
    if ho:
        parts.append(
            f"<p>Quality estimates come from {html.escape(ho['source'])} ({ho['n_heldout']} rows): labeled rows hidden from "
            "a fold's run and pseudo-labeled like any unlabeled row, then compared with their true label. No test data "
            "is used. Intervals are 95% Wilson score intervals; with few held-out rows they are wide, and the estimate "
            "deserves that much doubt.</p>"
        )
    if len(rec.candidates or []) > 1:
        cand_rows = [dict(c) for c in rec.candidates]
        first = [k for k in ("teacher", "refine", "select") if any(k in c for c in cand_rows)]
        columns = first + [k for k in dict.fromkeys(k for c in cand_rows for k in c) if k not in first]
        parts.append("<h2>Configurations compared</h2>" + _table(cand_rows, columns))
    parts.append("<h2>Plots</h2><div class='grid'>")
    for key, caption in [
        ("confidence", "Confidence of pseudo-labels on the unlabeled rows."),
        ("classes", "Labeled vs pseudo-labeled rows per class (axis from 0)."),
        ("reliability", "Confidence vs accuracy of held-out pseudo-labels; bar labels are counts."),
        ("coverage", "Accuracy when keeping only the most confident fraction of held-out rows, with its 95% interval."),
        ("rounds", f"Per {rec.step}: held-out accuracy and pseudo-label precision (95% interval band), accepted count (bars)."),
    ]:
        if key in figs:
            parts.append(f"<div class='card'><img src='{figs[key]}' alt='{key}'><br><small>{caption}</small></div>")
    parts.append("</div>")
    parts.append(f"<h2>{rec.step.capitalize()}s</h2>")
    parts.append(_table(_history_rows(rec)))
    per_class = []
    pcc = ho.get("per_class_counts") if ho else None
    for j, c in enumerate(classes):
        sel = (pl.label == j) & pl.accepted
        row = {
            "class": c,
            "labeled": y_counts.get(c, 0),
            "pseudo-labeled": int(sel.sum()),
            "mean confidence": float(pl.confidence[sel].mean()) if sel.any() else float("nan"),
        }
        if pcc is not None:
            k_, n_ = pcc[j]["correct"], pcc[j]["n"]
            lo, hi = wilson_interval(k_, n_)
            row["held-out precision"] = k_ / n_ if n_ else float("nan")
            row["n (held-out)"] = n_
            row["95% CI"] = f"{lo:.2f}–{hi:.2f}" if n_ else "–"
        per_class.append(row)
    parts.append("<h2>Classes</h2>" + _table(per_class, tall=len(per_class) > 20))
    acc_idx = np.flatnonzero(pl.accepted)
    id_values = np.asarray(ids) if ids is not None else None
    if len(acc_idx):
        worst = acc_idx[np.argsort(pl.confidence[acc_idx], kind="stable")[:20]]
        rows = [
            {
                "id": (id_values[pl.index[i]] if id_values is not None else int(pl.index[i])),
                "pseudo-label": classes[pl.label[i]],
                "confidence": float(pl.confidence[i]),
                "weight": float(pl.weight[i]),
                "round": int(pl.round[i]),
            }
            for i in worst
        ]
        parts.append("<h2>Accepted pseudo-labels to check first (least confident)</h2>" + _table(rows))
    if queries is not None and len(queries):
        rows = [
            {
                "id": (id_values[pl.index[i]] if id_values is not None else int(pl.index[i])),
                "current guess": classes[int(pl.probs[i].argmax())],
                "confidence": float(pl.probs[i].max()),
            }
            for i in queries
        ]
        parts.append(
            "<h2>Rows to label next</h2><p>Uncertain rows in dense regions, one per k-means cell "
            "(density-weighted uncertainty): labeling these helps most.</p>" + _table(rows)
        )
    if config:
        parts.append("<h2>Configuration</h2><pre>" + html.escape(json.dumps(config, indent=2, default=str)) + "</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(source, path: str | Path, **kwargs) -> Path:
    """Render the report (see :func:`render_report`) and write it atomically."""
    text = render_report(source, **kwargs)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
