"""The development suite's verdict: does the default gain on data it was never tuned on?

Per (dataset, budget) cell, means over seeds of the default (``pseudolabel``), the strong supervised
floor (``supervised_tuned``) and the two scikit-learn anchors; ``gain`` = default − the best of the
three, ``vs floor`` = default − supervised_tuned. The bar (issue "a default that gains"): on the
confirm group, the mean gain over cells is ≥ 2 points and no cell's ``vs floor`` is below −1 point.
Tune and confirm groups are reported separately (``pseudolabel.data.datasets.DEV_TUNE`` /
``DEV_CONFIRM``).
"""

from __future__ import annotations

import numpy as np

from pseudolabel.data.datasets import (
    DEV_CONFIRM,
    DEV_CONFIRM2,
    DEV_CONFIRM3,
    DEV_CONFIRM4,
    DEV_CONFIRM5,
    DEV_CONFIRM6,
    DEV_CONFIRM7,
    DEV_CONFIRM8,
    DEV_CONFIRM9,
    DEV_TUNE,
)
from pseudolabel.ops.selection_test import risk_level

DEFAULT = "pseudolabel"
FLOOR = "supervised_tuned"
ANCHORS = ("supervised_tuned", "sklearn_self_training", "sklearn_label_spreading")
MIN_MEAN_GAIN = 2.0
"""Points of accuracy the default must gain over the best anchor, averaged over confirm cells."""
MAX_CELL_LOSS = 1.0
"""Points below the supervised floor no confirm cell may fall (mean over seeds)."""


def replay_keeps(guard: dict, alpha: float, least: int = 0, risk: float | None = None) -> bool:
    """Whether ``SelfTrainer(guard_alpha=alpha, guard_min_heldout=least, guard_risk=risk)`` keeps the
    option a ``fallback=False`` run recorded in ``guard`` (its ``guard_``): a positive bound, a
    p-value within the level, enough held-out labels (``benchmarks/replay_guard.py``,
    ``benchmarks/replay_demo.py``). Missing numbers count against keeping."""
    p = guard.get("p_value")
    level = risk_level(alpha, risk, guard.get("disagreement") or 0.0)
    return ((guard.get("gain_lower_bound") or -1) > 0 and (p if p is not None else 1) <= level
            and (guard.get("n_heldout") or 0) >= least)


GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tune", DEV_TUNE), ("confirm", DEV_CONFIRM), ("confirm2", DEV_CONFIRM2), ("confirm3", DEV_CONFIRM3),
    ("confirm4", DEV_CONFIRM4), ("confirm5", DEV_CONFIRM5), ("confirm6", DEV_CONFIRM6),
    ("confirm7", DEV_CONFIRM7), ("confirm8", DEV_CONFIRM8), ("confirm9", DEV_CONFIRM9),
)
"""The development suite's dataset groups, in the order they were fixed in the code."""

SEED_START: dict[str, int] = {"tune": 0, "confirm": 100, "confirm2": 300, "confirm3": 400, "confirm4": 500,
                              "confirm5": 600, "confirm6": 700, "confirm7": 800, "confirm8": 900, "confirm9": 1000}
"""Each group's first seed (``pseudolabel bench --suite dev-<group>``): the tune group is tuned on
seeds 0–4; every confirm group gets fresh ones. The first confirm group was run again at 200–204
(``--seed-start 200``) after its first look; each later group was fixed in the code before its
first run, after the one before it had been looked at."""


def _means(results: dict) -> dict[tuple, dict[str, float]]:
    cells: dict[tuple, dict[str, list]] = {}
    for r in results.get("runs", []):
        if r.get("status") != "ok" or r.get("budget") == "all":
            continue
        cells.setdefault((r["dataset"], r["budget"]), {}).setdefault(r["method"], []).append(r["metrics"]["accuracy"])
    return {k: {m: 100.0 * float(np.mean(v)) for m, v in ms.items()} for k, ms in cells.items()}


def verdict(results: dict) -> dict:
    """Per group: the cells, the mean gain, the worst cell against the floor and whether the bar is met."""
    means = _means(results)
    out = {}
    for group, names in GROUPS:
        rows = []
        for (d, b), m in sorted(means.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            if d not in names or DEFAULT not in m or not all(a in m for a in ANCHORS):
                continue
            best = max(ANCHORS, key=lambda a: m[a])
            rows.append({"dataset": d, "budget": b, **{a: m[a] for a in ANCHORS}, DEFAULT: m[DEFAULT],
                         "best_anchor": best, "gain": m[DEFAULT] - m[best], "vs_floor": m[DEFAULT] - m[FLOOR]})
        if not rows:
            continue
        mean_gain = float(np.mean([r["gain"] for r in rows]))
        worst = min(rows, key=lambda r: r["vs_floor"])
        out[group] = {"cells": rows, "mean_gain": mean_gain, "worst_vs_floor": worst["vs_floor"],
                      "worst_cell": f"{worst['dataset']} / {worst['budget']}",
                      "bar_met": mean_gain >= MIN_MEAN_GAIN and worst["vs_floor"] >= -MAX_CELL_LOSS}
    return out


def alternatives(results: dict) -> list[dict]:
    """Every other ``pseudolabel*`` method against the default on the cells where both ran (the
    alternatives the default was chosen among): mean gain over the best anchor, worst cell against
    the floor, for the alternative and for the default on the same cells."""
    means = _means(results)
    methods = sorted({m for ms in means.values() for m in ms if m.startswith(DEFAULT) and m != DEFAULT})
    out = []
    for method in methods:
        cells = [(k, m) for k, m in sorted(means.items()) if method in m and DEFAULT in m and all(a in m for a in ANCHORS)]
        if not cells:
            continue
        row = {"method": method, "cells": len(cells), "datasets": sorted({k[0] for k, _ in cells})}
        for name in (method, DEFAULT):
            gains = [m[name] - max(m[a] for a in ANCHORS) for _, m in cells]
            floor = [(m[name] - m[FLOOR], f"{k[0]} / {k[1]}") for k, m in cells]
            row[name] = {"mean_gain": float(np.mean(gains)), "worst_vs_floor": min(floor)}
        out.append(row)
    return out


def markdown_section(results: dict) -> list[str]:
    v = verdict(results)
    if not v:
        return []
    lines = ["## Development suite verdict", "",
             f"Bar: mean gain over the best of {{{', '.join(ANCHORS)}}} ≥ {MIN_MEAN_GAIN:g} points and no cell more "
             f"than {MAX_CELL_LOSS:g} point below `{FLOOR}` (means over seeds). Gain = `{DEFAULT}` − best anchor.", ""]
    for group, g in v.items():
        lines += [f"### {group} group", "",
                  "| dataset | labels/class | tuned supervised | sklearn self-training | sklearn label spreading | pseudolabel | gain | vs floor |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in g["cells"]:
            cells = [f"**{r[a]:.1f}**" if a == r["best_anchor"] else f"{r[a]:.1f}" for a in ANCHORS]
            lines.append(f"| {r['dataset']} | {r['budget']} | " + " | ".join(cells) + f" | {r[DEFAULT]:.1f} | {r['gain']:+.1f} | {r['vs_floor']:+.1f} |")
        met = "met" if g["bar_met"] else "not met"
        lines += ["", f"Mean gain {g['mean_gain']:+.2f} points over {len(g['cells'])} cells; worst cell against the floor "
                      f"{g['worst_vs_floor']:+.1f} ({g['worst_cell']}): bar **{met}**.", ""]
    alts = alternatives(results)
    if alts:
        lines += ["### Alternatives to the default, on the cells where they ran", "",
                  "| method | cells (datasets) | mean gain | worst vs floor | default's mean gain | default's worst vs floor |",
                  "| --- | --- | ---: | ---: | ---: | ---: |"]
        for a in alts:
            alt, base = a[a["method"]], a[DEFAULT]
            lines.append(f"| {a['method']} | {a['cells']} ({', '.join(a['datasets'])}) | {alt['mean_gain']:+.2f} | "
                         f"{alt['worst_vs_floor'][0]:+.1f} ({alt['worst_vs_floor'][1]}) | {base['mean_gain']:+.2f} | "
                         f"{base['worst_vs_floor'][0]:+.1f} ({base['worst_vs_floor'][1]}) |")
        lines.append("")
    return lines


