"""Replay the default's guard at other levels from one bench run, exactly.

``pseudolabel_keep`` is the default ``SelfTrainer()`` with ``fallback=False``: the option the default
chooses, always kept, with the guard's numbers in ``extras.guard`` (gain lower bound, max-T p-value).
The default's fallback *is* ``supervised_tuned`` (same model, same seed), so the default at level α
scores ``pseudolabel_keep`` where ``gain_lower_bound > 0 and p_value <= α`` and ``supervised_tuned``
elsewhere — no refit needed. This is how ``GUARD_ALPHA`` was first chosen on the tune group, and
how it, ``GUARD_RISK`` and ``GUARD_MIN_HELDOUT`` were chosen together on the extended tune group
(``--rank``, BENCHMARKS.md "What shaped the default").

    python benchmarks/replay_guard.py results/dev-guard/results.json results/dev/results.json
    python benchmarks/replay_guard.py results/dev-guard-brier/results.json results/dev-guard/results.json \
        results/dev/results.json --method pseudolabel_keep_brier

``--risks none,0.005,0.01`` adds rows for ``SelfTrainer(guard_risk=...)``: the level becomes
``min(α, risk / δ)``, ``δ`` the recorded share of unlabeled rows on which the option and the floor
disagree (``extras.guard.disagreement``, recorded from commit 5803536 on).
``--losses 6`` lists the runs behind the bad cells: every run some setting keeps that lost more
than 6 points against the floor, with its held-out labels, p-value, ``δ`` and the settings keeping it.
``--min-heldout 0,30,50`` adds rows for a rule that never keeps an option judged on fewer held-out
labeled rows. ``--by-group`` repeats the table for each development group present (``bench.dev.GROUPS``).
``--ceiling`` adds the best any keep-or-fall-back rule could do with the same chosen options: per
run, the better of the option and the floor *on the test split* (an oracle — it says whether a
better decision alone could reach a target, or whether the options themselves must improve).

Every results.json given is read (the first one wins for a run present twice); they must hold
``--method``, ``supervised_tuned`` and, for the gain over the best of {supervised_tuned,
SelfTraining, LabelSpreading} per cell, the scikit-learn anchors on the same datasets, budgets
and seeds.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from pseudolabel.bench.dev import ANCHORS, GROUPS, replay_keeps
from pseudolabel.bench.runner import load_results

LEVELS = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0)


def _runs(path: str) -> list[dict]:
    return [r for r in load_results(path)["runs"] if r.get("status") == "ok"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+")
    ap.add_argument("--method", default="pseudolabel_keep", help="a fallback=False variant of the default")
    ap.add_argument("--levels", default=",".join(map(str, LEVELS)))
    ap.add_argument("--min-heldout", default="0",
                    help="comma-separated minimum numbers of held-out labeled rows below which the option is never "
                         "kept (a rule that asks for more evidence on small label sets); one table row per level and minimum")
    ap.add_argument("--risks", default="none",
                    help="comma-separated guard_risk values (none = off): the level is min(alpha, risk / disagreement)")
    ap.add_argument("--rank", action="store_true",
                    help="print the rows sorted by mean gain over the best anchor, to three decimals, safe rows "
                         "(no cell below -1 vs the floor) first: how a rule picks among settings (the --ceiling row, "
                         "not a setting, is left out)")
    ap.add_argument("--losses", type=float, default=None, metavar="POINTS",
                    help="list every run that some setting keeps and that lost more than POINTS against the floor "
                         "on the test split, with its held-out labels, p-value, disagreement and the settings keeping it")
    ap.add_argument("--by-group", action="store_true",
                    help="also one table per development group present (tune, confirm, confirm2, ...)")
    ap.add_argument("--ceiling", action="store_true",
                    help="add the ceiling of any keep-or-fall-back rule for this option: per run, the better of the "
                         "option and the floor on the test split (an oracle, not a method)")
    args = ap.parse_args(argv)
    levels = [float(a) for a in args.levels.split(",")]
    risks = [None if a.strip().lower() == "none" else float(a) for a in args.risks.split(",")]

    acc: dict = {}
    guard: dict = {}
    method = args.method
    for r in [run for path in args.results for run in _runs(path)]:
        key = (r["dataset"], r["budget"], r["seed"])
        acc.setdefault(r["method"], {}).setdefault(key, 100 * r["metrics"]["accuracy"])
        if r["method"] == method:
            guard[key] = r["extras"].get("guard", {})
    keys = sorted(k for k in acc.get(method, {}) if k in acc.get("supervised_tuned", {}))
    if not keys:
        raise SystemExit(f"no (dataset, budget, seed) with both {method} and supervised_tuned")
    anchors = [a for a in ANCHORS if a in acc]
    parts = [("all", keys)]
    if args.by_group:
        parts += [(g, [k for k in keys if k[0] in names]) for g, names in GROUPS]
    minimums = [int(m) for m in args.min_heldout.split(",")]
    for name, part in parts:
        if part:
            _table(name, part, acc, guard, method, anchors, levels, args.ceiling, minimums, risks, args.rank)
    if args.losses is not None:
        _losses(keys, acc, guard, method, levels, minimums, risks, args.losses)


def _setting(alpha: float, least: int, risk: float | None) -> str:
    return f"{alpha:g}" + (f", n ≥ {least}" if least else "") + (f", risk {risk:g}" if risk is not None else "")


def _losses(keys: list, acc: dict, guard: dict, method: str, levels: list, minimums: list, risks: list,
            points: float) -> None:
    """The runs behind the bad cells: kept by some setting, and more than ``points`` below the floor."""
    print(f"\nruns kept by some setting and more than {points:g} points below the floor on the test split")
    print("| dataset / budget / seed | vs floor | held-out labels | p | δ | kept at |")
    print("|---|---|---|---|---|---|")
    for k in sorted(keys, key=lambda k: acc[method][k] - acc["supervised_tuned"][k]):
        loss = acc[method][k] - acc["supervised_tuned"][k]
        g = guard[k]
        at = [_setting(a, m, r) for r in risks for m in minimums for a in levels if replay_keeps(g, a, m, r)]
        if loss < -points and at:
            delta = g.get("disagreement")
            print(f"| {k[0]} / {k[1]} / {k[2]} | {loss:+.1f} | {g.get('n_heldout')} | {g.get('p_value', float('nan')):.3f} | "
                  f"{'–' if delta is None else f'{delta:.3f}'} | {'; '.join(at)} |")


def _table(name: str, keys: list, acc: dict, guard: dict, method: str, anchors: list, levels: list, ceiling: bool,
           minimums: list[int], risks: list | None = None, rank: bool = False) -> None:
    cells = sorted({k[:2] for k in keys})
    print(f"\n{name} — {method}: {len(keys)} runs in {len(cells)} cells; anchors: {', '.join(anchors)}")
    lines: list[tuple] = []

    def row(label: str, kept: int, per_cell: dict) -> None:
        vs_floor, vs_best = [], []
        for c in cells:
            seeds = [k for k in keys if k[:2] == c]
            ours = float(np.mean(per_cell[c]))
            vs_floor.append(ours - float(np.mean([acc["supervised_tuned"][k] for k in seeds])))
            best = max(float(np.mean([acc[a][k] for k in seeds if k in acc[a]])) for a in anchors
                       if all(k in acc[a] for k in seeds))
            vs_best.append(ours - best)
        lines.append((label, kept, float(np.mean(vs_floor)), min(vs_floor), sum(v < -1 for v in vs_floor), float(np.mean(vs_best))))

    for risk in risks or [None]:
        if risk is not None and any(guard[k].get("disagreement") is None for k in keys):
            raise SystemExit(f"--risks needs extras.guard.disagreement in every {method} run (bench runs from commit 5803536 on)")
        for least in minimums:
            for alpha in levels:
                kept = 0
                per_cell: dict = defaultdict(list)
                for k in keys:
                    keep = replay_keeps(guard[k], alpha, least, risk)
                    kept += keep
                    per_cell[k[:2]].append(acc[method][k] if keep else acc["supervised_tuned"][k])
                row(_setting(alpha, least, risk), kept, per_cell)
    if ceiling:
        # not a method: each run keeps whichever of the option and the floor scored higher on the test split
        per_cell = defaultdict(list)
        for k in keys:
            per_cell[k[:2]].append(max(acc[method][k], acc["supervised_tuned"][k]))
        row("ceiling (test-split oracle)", sum(acc[method][k] > acc["supervised_tuned"][k] for k in keys), per_cell)
    if rank:
        lines = sorted((x for x in lines if not x[0].startswith("ceiling")), key=lambda x: (x[4] > 0, -x[5]))
    print("| level α | kept | mean vs floor | worst cell vs floor | cells < −1 vs floor | mean vs best anchor |")
    print("|---|---|---|---|---|---|")
    for label, kept, mean_floor, worst, below, mean_best in lines:
        print(f"| {label} | {kept}/{len(keys)} | {mean_floor:+.2f} | {worst:+.2f} | {below} | "
              + (f"{mean_best:+.3f} |" if rank else f"{mean_best:+.2f} |"))

if __name__ == "__main__":
    main()
