"""The stratified audit of a run's accepted pseudo-labels: the sample design (stored once per run in
the label store) and the unbiased precision estimate from the rows people have checked.

Strata are confidence bands (:data:`pseudolabel.query.audit_sample.N_STRATA`); within a stratum
the rows are in a seeded random order and a stratum counts its *contiguous checked prefix* of that
order, so the checked rows of each stratum are always a simple random sample of it — even when
some sample rows were labeled through another queue first (they count once the prefix reaches
them). The estimator and its Wilson interval are :func:`pseudolabel.ops.stratified.stratified_proportion`.
"""

from __future__ import annotations

import numpy as np

from pseudolabel.ops.stratified import confidence_strata, stratified_order, stratified_proportion
from pseudolabel.query.audit_sample import N_STRATA
from pseudolabel.store.sqlite import LabelStore, row_key

SAMPLE_SIZE = 1000
"""Rows of the audit order kept in the store (far more than anyone checks; the estimate needs dozens)."""
SEED = 0


def run_key(view) -> str:
    return view.path.resolve().as_posix()


def ensure_design(store: LabelStore, view, seed: int = SEED) -> None:
    """Draw and record the run's audit sample unless the store has it already."""
    key = run_key(view)
    sizes, _ = store.audit_design(key)
    if sizes:
        return
    acc = view.accepted_pseudo()
    if len(acc) == 0:
        return
    strata = confidence_strata(acc["confidence"].to_numpy(), N_STRATA)
    order = stratified_order(strata, seed)[:SAMPLE_SIZE]
    rows = [(acc.index[i], int(strata[i]), pos, row_key(acc["label"].iloc[i])) for pos, i in enumerate(order)]
    store.save_audit_design(key, {int(h): int((strata == h).sum()) for h in np.unique(strata)}, rows)


def audit_queue(store: LabelStore, view) -> list[dict]:
    """The audit sample in checking order, rows without a human label only."""
    ensure_design(store, view)
    _, rows = store.audit_design(run_key(view))
    labeled = store.labels()
    return [r for r in rows if r["row_id"] not in labeled]


def audit_estimate(store: LabelStore, view) -> dict:
    """Precision of the run's accepted pseudo-labels from the checked audit rows (see module doc)."""
    ensure_design(store, view)
    sizes, rows = store.audit_design(run_key(view))
    if not sizes:
        return {"ready": False, "text": "no accepted pseudo-labels to audit", "n_checked": 0}
    labels = store.labels()
    checked: dict[int, int] = {h: 0 for h in sizes}
    correct: dict[int, int] = {h: 0 for h in sizes}
    open_prefix = dict.fromkeys(sizes, True)
    for r in rows:
        h = r["stratum"]
        if not open_prefix[h]:
            continue
        human = labels.get(r["row_id"])
        if human is None:
            open_prefix[h] = False
            continue
        checked[h] += 1
        correct[h] += int(human == r["pseudo_label"])
    out = stratified_proportion(sizes, checked, correct)
    n_acc = sum(sizes.values())
    if "estimate" not in out:
        out["text"] = f"not yet: {out.get('reason', '')} (audit queue)"
    elif out["ready"]:
        out["text"] = (f"{out['estimate']:.1%} (95% CI {out['low']:.1%}–{out['high']:.1%}; {out['n_checked']} checked "
                       f"of {n_acc:,} accepted, stratified random sample)")
    else:
        out["text"] = (f"provisional {out['estimate']:.1%} ({out['n_checked']} checked; {out['reason']} — "
                       "keep checking the audit queue)")
    out["n_accepted"] = n_acc
    return out
