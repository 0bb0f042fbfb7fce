"""``results.md`` (mean ± std tables per dataset) and plots from a benchmark's results dict.

Both work on the dict :func:`pseudolabel.bench.runner.run_bench` returns or on a ``results.json``
read back, so tables and plots can be regenerated without rerunning anything
(``python -m pseudolabel.bench --report results/bench/results.json``).
"""

from __future__ import annotations

import math
from pathlib import Path

from pseudolabel.bench.dev import markdown_section as dev_markdown_section
from pseudolabel.bench.metrics import COVERAGE_GRID, summarize

FULL = "all"
REFERENCE_BEST = ("supervised", "fully_supervised")


def _num(v) -> float:
    return math.nan if v is None else float(v)


def _cell(stat: dict | None, scale: float = 100.0, digits: int = 1) -> str:
    if not stat or stat.get("n", 0) == 0 or math.isnan(_num(stat.get("mean"))):
        return "–"
    mu = _num(stat["mean"]) * scale
    if stat["n"] > 1:
        return f"{mu:.{digits}f} ± {_num(stat['std']) * scale:.{digits}f}"
    return f"{mu:.{digits}f}"


def _index(results: dict) -> dict:
    rows = results.get("summary") or summarize(results["runs"])
    return {(r["dataset"], r["budget"], r["method"]): r for r in rows}


def _methods_in_order(results: dict, dataset: str) -> list[str]:
    seen = dict.fromkeys(r["method"] for r in results["runs"] if r["dataset"] == dataset)
    return list(seen)


def _budgets(results: dict, dataset: str) -> list[int]:
    return sorted({r["budget"] for r in results["runs"] if r["dataset"] == dataset and r["budget"] != FULL})


def _row(idx: dict, dataset: str, budget, method: str) -> dict | None:
    key = (dataset, FULL if method == "fully_supervised" else budget, method)
    return idx.get(key)


def _best(idx: dict, dataset: str, budget, methods: list[str], metric: str = "accuracy") -> str | None:
    """The method with the highest mean ``metric`` (fully supervised excluded: it is the ceiling)."""
    best, best_v = None, -math.inf
    for m in methods:
        if m == "fully_supervised":
            continue
        r = _row(idx, dataset, budget, m)
        v = _num(r[metric]["mean"]) if r and r[metric]["n"] else math.nan
        if not math.isnan(v) and v > best_v:
            best, best_v = m, v
    return best


def _load_range(results: dict) -> str:
    loads = sorted(r["load_average"] for r in results["runs"] if r.get("load_average") is not None)
    if not loads:
        return "n/a"
    median = loads[len(loads) // 2]
    text = f"median {median:.1f}, range {loads[0]:.1f}–{loads[-1]:.1f}"
    cores = results.get("machine", {}).get("usable_cores") or 0
    if cores and median > cores:
        text += f" (above the {cores} cores: other processes shared the CPU, wall times are inflated)"
    return text


def markdown(results: dict) -> str:
    idx = _index(results)
    mach, ver, thr = results.get("machine", {}), results.get("versions", {}), results.get("threads", {})
    cmd = results.get("command", "")
    lines = [
        f"# pseudolabel bench — suite `{results.get('suite')}`",
        "",
        f"- Command: `{cmd}` (equivalently `python -m pseudolabel.bench {cmd.split(' bench ', 1)[-1] if ' bench ' in cmd else ''}`)",
        f"- Date: {results.get('date')}; code: {results.get('git') or 'n/a'}; total {results.get('total_seconds', '–')} s",
        *[f"- Updated {u.get('date')} (code {u.get('git') or 'n/a'}, "
          + (f"{u['total_seconds']} s" if u.get("total_seconds") is not None else "stopped before its last dataset")
          + f"): `{u.get('command')}` re-ran {u.get('runs_added')} runs, replacing {u.get('runs_replaced')}; "
          "every run in `results.json` records its code revision"
          for u in results.get("updates", [])],
        f"- Machine: {mach.get('cpu')}, {mach.get('usable_cores')} usable cores, {mach.get('memory_gib')} GiB RAM, no GPU; {mach.get('platform')}",
        f"- Threads: {thr.get('per_run')} BLAS/OpenMP/torch thread(s) per run, {thr.get('n_jobs')} run(s) at a time; env {thr.get('environment')}",
        f"- Machine load: 1-minute load average at the start of the runs {_load_range(results)}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in ver.items() if v),
        f"- Protocol: seeds {results.get('protocol', {}).get('seeds')}; labeled rows drawn per class from the train split "
        "(stratified, seeded), the rest of the train split is the unlabeled pool; scores on the test split, never "
        "used inside a run (which defaults earlier test results shaped: BENCHMARKS.md); student: " + str(results.get("protocol", {}).get("student")) + ".",
        "- Cells: mean ± sample std over seeds. Time = fit + predict on the test split. Memory = peak RSS of the "
        "run's worker process above its RSS just before the fit. PL = pseudo-labels on the unlabeled pool: "
        "precision (coverage) against the hidden true labels.",
        "",
    ]
    datasets = list(results.get("datasets", {}))
    if datasets:
        lines += _summary_table(results, idx, datasets)
    lines += dev_markdown_section(results)
    lines += _matrix_section(results, idx, datasets)
    for d in datasets:
        lines += _dataset_section(results, idx, d)
    lines += ["## Methods", "", "| method | family | what |", "| --- | --- | --- |"]
    for name, m in results.get("methods", {}).items():
        lines.append(f"| {name} | {m['family']} | {m['description']} |")
    lines.append("")
    if results.get("skipped"):
        lines += ["## Skipped", ""]
        for s in results["skipped"]:
            what = s.get("method") or s.get("dataset")
            if "budget" in s:
                what = f"{what} at {s['budget']} labels/class"
            lines.append(f"- {what}: {s['reason']}")
        lines.append("")
    failed = [r for r in results["runs"] if r["status"] != "ok"]
    if failed:
        lines += ["## Failed runs", ""]
        for r in failed:
            last = (r.get("error") or "").strip().splitlines()[-1:] or [""]
            lines.append(f"- {r['dataset']} / {r['budget']} / {r['method']} / seed {r['seed']}: {r['status']}: `{last[0][:200]}`")
        lines.append("")
    return "\n".join(lines)


def _summary_table(results: dict, idx: dict, datasets: list[str]) -> list[str]:
    lines = [
        "## Summary: test accuracy (%)",
        "",
        "| dataset | labels/class | supervised | best scikit-learn | best pseudolabel | fully supervised |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    fams = results.get("methods", {})
    for d in datasets:
        methods = _methods_in_order(results, d)
        sk = [m for m in methods if fams.get(m, {}).get("family") == "scikit-learn"]
        pl = [m for m in methods if fams.get(m, {}).get("family") in ("pseudolabel", "neural", "matrix")]
        full = _row(idx, d, FULL, "fully_supervised")
        for b in _budgets(results, d):
            cells = [d, str(b)]
            sup = _row(idx, d, b, "supervised")
            cells.append(_cell(sup["accuracy"]) if sup else "–")
            for group in (sk, pl):
                m = _best(idx, d, b, group)
                cells.append(f"{_cell(_row(idx, d, b, m)['accuracy'])} {m}" if m else "–")
            cells.append(_cell(full["accuracy"]) if full else "–")
            lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def _matrix_cells(results: dict) -> dict[str, tuple[str, str]]:
    """Matrix method name -> (teacher, selector), in the order the suite ran them."""
    out = {}
    for name, m in results.get("methods", {}).items():
        if m.get("family") == "matrix" and name.startswith("m_"):
            teacher, _, select = name[2:].partition("_")
            out[name] = (teacher, select)
    return out


def _matrix_section(results: dict, idx: dict, datasets: list[str]) -> list[str]:
    """Teacher × selector pivots (the ``matrix`` suite): one grid per dataset and budget, then the
    mean gain over supervised-only and the mean rank across all of them."""
    cells = _matrix_cells(results)
    if not cells:
        return []
    teachers = list(dict.fromkeys(t for t, _ in cells.values()))
    selects = list(dict.fromkeys(s for _, s in cells.values()))
    name_of = {v: k for k, v in cells.items()}
    lines = [
        "## Teacher × selector",
        "",
        "Each cell: test accuracy % (mean over seeds) · pseudo-label precision % / coverage % on the pool. "
        "Every combination is `SelfTrainer(teacher=t, select=s, fallback=False)` with the teacher's default "
        "refiners; **bold** = best in the grid.",
        "",
    ]
    gains: dict[str, list[float]] = {n: [] for n in cells}
    ranks: dict[str, list[float]] = {n: [] for n in cells}
    for d in datasets:
        for b in _budgets(results, d):
            sup = _row(idx, d, b, "supervised")
            sup_acc = _num(sup["accuracy"]["mean"]) if sup else math.nan
            acc = {n: _num(r["accuracy"]["mean"]) if (r := _row(idx, d, b, n)) and r["n_ok"] else math.nan for n in cells}
            ok = sorted((v, n) for n, v in acc.items() if not math.isnan(v))
            if not ok:
                continue
            for pos, (v, n) in enumerate(sorted(ok, reverse=True)):
                ranks[n].append(pos + 1)
                gains[n].append(v - sup_acc)
            best = ok[-1][1]
            lines += [f"### {d}, {b} labels/class (supervised only: {sup_acc * 100:.1f})", "",
                      "| teacher | " + " | ".join(selects) + " |", "| --- |" + " --- |" * len(selects)]
            for t in teachers:
                row = []
                for s_ in selects:
                    n = name_of.get((t, s_))
                    r = _row(idx, d, b, n) if n else None
                    if not r or not r["n_ok"]:
                        row.append("–")
                        continue
                    c = f"{acc[n] * 100:.1f}"
                    c = f"**{c}**" if n == best else c
                    if r["pl_coverage"]["n"]:
                        prec = _num(r["pl_precision"]["mean"]) * 100 if r["pl_precision"]["n"] else math.nan
                        c += f" · {'–' if math.isnan(prec) else f'{prec:.0f}'}/{_num(r['pl_coverage']['mean']) * 100:.0f}"
                    row.append(c)
                lines.append(f"| {t} | " + " | ".join(row) + " |")
            lines.append("")
    lines += ["### Across datasets and budgets", "",
              "Mean accuracy gain over supervised-only (points) and mean rank within each grid (1 = best).", "",
              "| teacher | " + " | ".join(selects) + " |", "| --- |" + " --- |" * len(selects)]
    for t in teachers:
        row = []
        for s_ in selects:
            n = name_of.get((t, s_))
            g, r = gains.get(n) or [], ranks.get(n) or []
            row.append(f"{sum(g) / len(g) * 100:+.1f} · rank {sum(r) / len(r):.1f}" if g else "–")
        lines.append(f"| {t} | " + " | ".join(row) + " |")
    return lines + [""]


def _dataset_section(results: dict, idx: dict, d: str) -> list[str]:
    info = results["datasets"][d]
    methods = _methods_in_order(results, d)
    budgets = _budgets(results, d)
    head = "| method | " + " | ".join(f"{b}/class" for b in budgets) + " |"
    sep = "| --- |" + " --- |" * len(budgets)
    lines = [
        f"## {d}",
        "",
        f"{info['n_train']} train / {info['n_test']} test rows, {info['n_classes']} classes; features: "
        f"{info['features']}; split: {info.get('split', '')}.",
        "",
    ]

    def table(title, fmt, skip_full=False, bold_metric=None):
        out = [f"### {title}", "", head, sep]
        best = {b: _best(idx, d, b, methods, bold_metric) for b in budgets} if bold_metric else {}
        for m in methods:
            if skip_full and m == "fully_supervised":
                continue
            cells = []
            for b in budgets:
                r = _row(idx, d, b, m)
                c = fmt(r) if r and r["n_ok"] else ("failed" if r else "–")
                cells.append(f"**{c}**" if best.get(b) == m and c not in ("–", "failed") else c)
            out.append(f"| {m} | " + " | ".join(cells) + " |")
        return out + [""]

    def pl_fmt(r):
        if r["pl_coverage"]["n"] == 0:
            return "–"
        prec = _cell(r["pl_precision"]) if r["pl_precision"]["n"] else "none accepted"
        cov = _num(r["pl_coverage"]["mean"]) * 100
        fb = r.get("fallback") or {}
        note = ""
        if fb.get("n") and _num(fb.get("mean")) > 0:
            note = f" · fallback {round(_num(fb['mean']) * fb['n'])}/{fb['n']}"
        return f"{prec} ({cov:.0f}%){note}"

    def cost_fmt(r):
        sec = _num(r["seconds"]["mean"])
        mb = _num(r["fit_mb"]["mean"])
        return f"{sec:.2f} s · +{mb:.0f} MB" if not math.isnan(mb) else f"{sec:.2f} s"

    lines += table("Test accuracy (%)", lambda r: _cell(r["accuracy"]), bold_metric="accuracy")
    lines += table("Macro-F1 (%)", lambda r: _cell(r["macro_f1"]), bold_metric="macro_f1")
    lines += table("Pseudo-labels on the pool: precision % (coverage)", pl_fmt, skip_full=True)
    lines += table("Cost per run: seconds (fit + predict) · peak memory over baseline", cost_fmt)
    return lines


def write_markdown(results: dict, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(markdown(results), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- plots
def _styles(methods: list[str], fams: dict) -> dict[str, dict]:
    """One fixed colour per method (the same in every panel and figure); dashed = scikit-learn."""
    import matplotlib

    tab20 = matplotlib.colormaps["tab20"].colors
    # the strong colours first; grey (pair 7) is the supervised reference's
    palette = [c for i, c in enumerate(tab20[0::2]) if i != 7] + [c for i, c in enumerate(tab20[1::2]) if i != 7]
    out, k = {}, 0
    for m in methods:
        if m == "supervised":
            out[m] = {"color": "0.35", "linestyle": ":", "marker": "s"}
            continue
        fam = fams.get(m, "")
        out[m] = {"color": palette[k % len(palette)], "linestyle": "--" if fam == "scikit-learn" else "-",
                  "marker": "^" if fam == "scikit-learn" else "o"}
        k += 1
    return out


def _legend(fig, handles: dict) -> None:
    fig.legend(list(handles.values()), list(handles), loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)


def write_plots(results: dict, out_dir: str | Path) -> list[Path]:
    """``accuracy_vs_labels.png`` and ``pl_precision_coverage.png``; returns the paths written."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    idx = _index(results)
    fams = {k: v.get("family", "") for k, v in results.get("methods", {}).items()}
    datasets = [d for d in results.get("datasets", {}) if _budgets(results, d)]
    if not datasets:
        return []
    styles = _styles(list(dict.fromkeys(r["method"] for r in results["runs"])), fams)
    paths = []

    # accuracy vs labels per class
    ncol = min(3, len(datasets))
    nrow = math.ceil(len(datasets) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.8 * nrow), squeeze=False)
    handles = {}
    for ax, d in zip(axes.flat, datasets, strict=False):
        budgets = _budgets(results, d)
        for m in _methods_in_order(results, d):
            if m == "fully_supervised":
                r = _row(idx, d, FULL, m)
                if r and r["accuracy"]["n"]:
                    handles[m] = ax.axhline(_num(r["accuracy"]["mean"]) * 100, color="k", linestyle="-.", linewidth=1)
                continue
            xs, ys, es = [], [], []
            for b in budgets:
                r = _row(idx, d, b, m)
                if r and r["accuracy"]["n"]:
                    xs.append(b)
                    ys.append(_num(r["accuracy"]["mean"]) * 100)
                    es.append(_num(r["accuracy"]["std"]) * 100)
            if xs:
                handles[m] = ax.errorbar(xs, ys, yerr=es, capsize=2, markersize=4, linewidth=1.2, label=m, **styles[m])
        ax.set_xscale("log")
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.minorticks_off()
        ax.set_title(d)
        ax.set_xlabel("labels per class")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(datasets):]:
        ax.axis("off")
    fig.tight_layout()
    _legend(fig, handles)
    paths.append(_save(fig, out_dir / "accuracy_vs_labels.png", dpi=90))

    # pseudo-label precision vs coverage: rows = datasets, columns = budgets
    all_budgets = sorted({b for d in datasets for b in _budgets(results, d)})
    fig, axes = plt.subplots(len(datasets), len(all_budgets), figsize=(4.2 * len(all_budgets), 3.4 * len(datasets)), squeeze=False)
    handles = {}
    grid = [float(c) * 100 for c in COVERAGE_GRID]
    for i, d in enumerate(datasets):
        for j, b in enumerate(all_budgets):
            ax = axes[i, j]
            if b not in _budgets(results, d):
                ax.axis("off")
                continue
            for m in _methods_in_order(results, d):
                r = _row(idx, d, b, m)
                if not r or m == "fully_supervised" or not r.get("pl_curve"):
                    continue
                st = styles[m]
                line = ax.plot(grid, [_num(v) * 100 for v in r["pl_curve"]], linewidth=1.1, linestyle=st["linestyle"],
                               color=st["color"], label=m)[0]
                handles.setdefault(m, line)
                if r["pl_precision"]["n"]:
                    ax.plot(_num(r["pl_coverage"]["mean"]) * 100, _num(r["pl_precision"]["mean"]) * 100, marker=st["marker"],
                            color=line.get_color(), markersize=7, markeredgecolor="k")
            ax.set_title(f"{d}, {b} labels/class", fontsize=10)
            ax.set_xlabel("coverage of the pool (%)")
            ax.set_ylabel("pseudo-label precision (%)")
            ax.set_xlim(0, 101)
            ax.grid(alpha=0.3)
    fig.suptitle("Lines: precision of the most confident c% of the pool (ranked by each method's confidence); "
                 "markers: the pseudo-labels each method accepted (mean over seeds)", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    _legend(fig, handles)
    paths.append(_save(fig, out_dir / "pl_precision_coverage.png", dpi=72))
    return paths


def _save(fig, path: Path, dpi: int) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    _shrink_png(path)
    return path


def _shrink_png(path: Path) -> None:
    """Re-save with a 128-colour palette: a few line colours need no 24-bit RGB (4-5× smaller files)."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow comes with matplotlib
        return
    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
