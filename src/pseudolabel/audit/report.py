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


def heldout_metrics(source) -> dict:
    """Precision / coverage / calibration of the held-out rows' pseudo-labels (empty when none)."""
    rec = as_audit_record(source)
    ho = rec.heldout
    if ho is None or len(ho) == 0:
        return {}
    q = pseudo_label_quality(ho.label, ho.weight, ho.confidence, ho.y, len(rec.classes))
    q["source"] = ho.source
    return q


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figures(rec: AuditRecord, y_labeled_counts: dict) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figs = {}
    pl = rec.pseudo_labels
    classes = [str(c) for c in rec.classes]

    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    acc = pl.accepted
    bins = np.linspace(0, 1, 26)
    ax.hist(pl.confidence[acc], bins=bins, alpha=0.8, label=f"accepted ({acc.sum()})", color="#2a7ab0")
    ax.hist(pl.confidence[~acc], bins=bins, alpha=0.6, label=f"rejected ({(~acc).sum()})", color="#d08c2a")
    ax.set_xlabel("confidence")
    ax.set_ylabel("unlabeled rows")
    ax.set_title("Pseudo-label confidence")
    ax.legend()
    figs["confidence"] = _png(fig)

    fig, ax = plt.subplots(figsize=(max(5.2, 0.45 * len(classes) + 2), 3.4))
    x = np.arange(len(classes))
    human = np.array([y_labeled_counts.get(c, 0) for c in classes])
    pseudo = np.bincount(pl.label[acc], minlength=len(classes))[: len(classes)]
    ax.bar(x - 0.2, human, width=0.4, label="labeled (human)", color="#555")
    ax.bar(x + 0.2, pseudo, width=0.4, label="pseudo-labeled", color="#2a7ab0")
    ax.set_xticks(x, classes, rotation=45 if len(classes) > 8 else 0, ha="right" if len(classes) > 8 else "center")
    ax.set_yscale("symlog")
    ax.set_ylabel("rows")
    ax.set_title("Class counts")
    ax.legend()
    figs["classes"] = _png(fig)

    ho = rec.heldout
    if ho is not None and len(ho):
        accepted = ho.accepted
        correct = ho.label == ho.y
        conf, corr = ho.confidence[accepted], correct[accepted]
        r = reliability(conf, corr, RELIABILITY_BINS)
        fig, ax = plt.subplots(figsize=(4.2, 4.0))
        ok = r["count"] > 0
        centers = (r["edges"][:-1] + r["edges"][1:]) / 2
        ax.bar(centers[ok], r["accuracy"][ok], width=0.9 / RELIABILITY_BINS, color="#2a7ab0", alpha=0.85, label="accuracy")
        ax.plot([0, 1], [0, 1], "--", color="#999", label="perfect calibration")
        for c_, a_, n_ in zip(centers[ok], r["accuracy"][ok], r["count"][ok], strict=True):
            ax.text(c_, min(a_ + 0.02, 1.02), str(int(n_)), ha="center", fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.08)
        ax.set_xlabel("confidence")
        ax.set_ylabel("accuracy on held-out labels")
        ax.set_title(f"Reliability (ECE {expected_calibration_error(conf, corr):.3f})")
        ax.legend(loc="upper left", fontsize=8)
        figs["reliability"] = _png(fig)

        curve = accuracy_coverage(ho.confidence, correct)
        fig, ax = plt.subplots(figsize=(4.6, 3.6))
        ax.plot(curve["coverage"], curve["accuracy"], color="#2a7ab0")
        ax.set_xlabel("coverage (most confident fraction)")
        ax.set_ylabel("accuracy on held-out labels")
        ax.set_ylim(max(0.0, float(curve["accuracy"].min()) - 0.05) if len(curve["accuracy"]) else 0, 1.01)
        ax.set_title("Accuracy vs coverage")
        ax.grid(alpha=0.3)
        figs["coverage"] = _png(fig)

    hist = rec.history
    if hist:
        step = rec.step
        rounds = [h.get(step, i) for i, h in enumerate(hist)]
        fig, ax = plt.subplots(figsize=(5.2, 3.4))
        ax.plot(rounds, [h.get("heldout_accuracy", np.nan) for h in hist], "o-", label="held-out accuracy", color="#2a7ab0")
        if "heldout_pl_precision" in hist[0]:
            ax.plot(rounds, [h["heldout_pl_precision"] for h in hist], "s--", label="held-out pseudo-label precision", color="#3a9a5a")
        if "supervised_heldout_accuracy" in hist[0]:
            ax.plot(rounds, [h["supervised_heldout_accuracy"] for h in hist], ":", color="#999", label="supervised only")
        if rec.chosen_step is not None:
            ax.axvline(rec.chosen_step, color="#d08c2a", alpha=0.6, label=f"chosen {step}")
        ax.set_xlabel(step)
        ax.set_xticks(rounds)
        ax.set_ylabel("accuracy")
        ax2 = ax.twinx()
        if "selected" in hist[0]:
            ax2.bar(rounds, [h["selected"] for h in hist], alpha=0.15, color="#555")
            ax2.set_ylabel("pseudo-labels accepted")
        ax.set_title("Rounds")
        ax.legend(fontsize=7, loc="lower right")
        figs["rounds"] = _png(fig)
    return figs


def _table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    columns = columns or list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            if isinstance(v, float):
                v = "–" if np.isnan(v) else f"{v:.4g}"
            cells.append(f"<td>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.grid{display:flex;flex-wrap:wrap;gap:1em} .card{border:1px solid #e3e3e3;border-radius:6px;padding:.6em}
table{border-collapse:collapse;font-size:.85em} td,th{border:1px solid #ddd;padding:.25em .5em;text-align:right}
th{background:#f5f5f5} .kpi{display:inline-block;margin:.3em 1.2em .3em 0}.kpi b{font-size:1.3em;display:block}
.warn{background:#fff4e0;border-left:4px solid #d08c2a;padding:.5em 1em} code{background:#f3f3f3;padding:0 .2em}
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
) -> str:
    """HTML text of the report for a fitted learner (anything with ``audit_record()``) or an
    :class:`~pseudolabel.core.audit.AuditRecord`.

    ``queries``: positions (into the pseudo-label record) of the rows suggested for labeling next.
    """
    rec = as_audit_record(source)
    pl = rec.pseudo_labels
    classes = [str(c) for c in rec.classes]
    y_counts: dict = {}
    if y_labeled is not None:
        vals, cnt = np.unique(np.asarray([str(v) for v in y_labeled]), return_counts=True)
        y_counts = dict(zip(vals.tolist(), cnt.tolist(), strict=True))
    figs = _figures(rec, y_counts)
    ho = heldout_metrics(rec)
    summary = pl.summary()
    kpis = [
        ("rows", f"{rec.n_labeled + rec.n_unlabeled:,}"),
        ("labeled", f"{rec.n_labeled:,}"),
        ("unlabeled", f"{rec.n_unlabeled:,}"),
        ("pseudo-labels accepted", f"{summary['accepted']:,} ({summary['coverage']:.1%})"),
        ("est. precision (held-out)", f"{ho['precision']:.1%}" if ho and not np.isnan(ho.get("precision", np.nan)) else "–"),
        ("ECE (held-out)", f"{ho['ece']:.3f}" if ho and not np.isnan(ho.get("ece", np.nan)) else "–"),
        (f"chosen {rec.step}", "–" if rec.chosen_step is None else str(rec.chosen_step)),
    ]
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p>{html.escape(data_name)}</p>",
        "<div>" + "".join(f"<span class='kpi'><b>{html.escape(v)}</b>{html.escape(k)}</span>" for k, v in kpis) + "</div>",
    ]
    if rec.decision.get("fallback", False):
        parts.append(
            "<p class='warn'>Self-training did not beat supervised-only training on held-out labels, so the "
            "returned model is the supervised one. Its predictions are listed as rejected pseudo-labels (weight 0) "
            "because nothing was trained on them.</p>"
        )
    if ho:
        parts.append(
            f"<p>Quality estimates come from {html.escape(ho['source'])}: labeled rows hidden from a fold's run and "
            "pseudo-labeled like any unlabeled row, then compared with their true label. No test data is used.</p>"
        )
    parts.append("<h2>Plots</h2><div class='grid'>")
    for key, caption in [
        ("confidence", "Confidence of pseudo-labels on the unlabeled rows."),
        ("classes", "Labeled vs pseudo-labeled rows per class (log scale)."),
        ("reliability", "Confidence vs accuracy of held-out pseudo-labels; bar labels are counts."),
        ("coverage", "Accuracy when keeping only the most confident fraction."),
        ("rounds", "Per round: held-out accuracy and pseudo-label precision, accepted count (bars)."),
    ]:
        if key in figs:
            parts.append(f"<div class='card'><img src='{figs[key]}' alt='{key}'><br><small>{caption}</small></div>")
    parts.append("</div>")
    parts.append(f"<h2>{rec.step.capitalize()}s</h2>")
    parts.append(_table([{k: v for k, v in h.items()} for h in rec.history]))
    per_class = []
    pc = ho.get("per_class_precision") if ho else None
    for j, c in enumerate(classes):
        per_class.append(
            {
                "class": c,
                "labeled": y_counts.get(c, 0),
                "pseudo-labeled": int(((pl.label == j) & pl.accepted).sum()),
                "mean confidence": float(pl.confidence[(pl.label == j) & pl.accepted].mean()) if ((pl.label == j) & pl.accepted).any() else float("nan"),
                "held-out precision": pc[j] if pc else float("nan"),
            }
        )
    parts.append("<h2>Classes</h2>" + _table(per_class))
    acc_idx = np.flatnonzero(pl.accepted)
    if len(acc_idx):
        worst = acc_idx[np.argsort(pl.confidence[acc_idx])[:20]]
        id_values = np.asarray(ids) if ids is not None else None
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
        id_values = np.asarray(ids) if ids is not None else None
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
