"""Replay ``pseudolabel demo`` (digits, 4 labels per class, 5 seeds) under other guard settings, exactly.

Each seed is fitted once with the default ``SelfTrainer`` and ``fallback=False`` (the option the
default chooses, always kept, with the guard's numbers in ``guard_``), and once as the reference
supervised model (``TunedLogisticRegression``, the default's fallback). A setting — level α, a
minimum of held-out labels, ``guard_risk`` — keeps the option where ``gain_lower_bound > 0``,
``p_value <= min(α, risk / disagreement)`` and ``n_heldout >=`` the minimum, and the floor elsewhere:
the demo's ``pseudolabel SelfTrainer()`` row at that setting, without refitting. Used to check
that a guard setting chosen on the extended tune group still beats both scikit-learn anchors in
the demo (``GUARD_ALPHA``'s rule)::

    python benchmarks/replay_demo.py --levels 0.2,0.3 --min-heldout 0,30 --risks none,0.01,0.02
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from threadpoolctl import threadpool_limits

from pseudolabel.bench.dev import replay_keeps
from pseudolabel.data.datasets import load_digits_split, sample_labels
from pseudolabel.learn.self_training import SelfTrainer
from pseudolabel.ops.estimators import TunedLogisticRegression, default_student


def fits(seeds: int, per_class: int = 4) -> list[dict]:
    """Per seed: test accuracy of the kept option, the floor and both anchors, and the guard's numbers."""
    out = []
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(seeds):
            data = load_digits_split(seed=seed)
            y = sample_labels(data.y_train, per_class, seed)
            lab = y >= 0

            def score(model, data=data):
                return float((model.predict(data.X_test) == data.y_test).mean())

            option = SelfTrainer(random_state=seed, fallback=False).fit(data.X_train, y)
            out.append({
                "seed": seed,
                "option": score(option),
                "floor": score(TunedLogisticRegression(random_state=seed).fit(data.X_train[lab], y[lab])),
                "self_training": score(SelfTrainingClassifier(default_student()).fit(data.X_train, y)),
                "label_spreading": score(LabelSpreading(kernel="knn").fit(data.X_train, y)),
                "guard": dict(option.guard_),
            })
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--levels", default="0.1,0.15,0.2,0.3,0.5")
    ap.add_argument("--min-heldout", default="0,30,50")
    ap.add_argument("--risks", default="none,0.0025,0.005,0.01,0.02")
    args = ap.parse_args(argv)
    runs = fits(args.seeds)
    ls = float(np.mean([r["label_spreading"] for r in runs]))
    st = float(np.mean([r["self_training"] for r in runs]))
    print(f"digits, 4 labels per class, {args.seeds} seeds: LabelSpreading {ls:.4f}, SelfTrainingClassifier {st:.4f}, "
          f"tuned supervised {np.mean([r['floor'] for r in runs]):.4f}, the option always kept {np.mean([r['option'] for r in runs]):.4f}")
    for r in runs:
        g = r["guard"]
        print(f"  seed {r['seed']}: option {r['option']:.4f} vs floor {r['floor']:.4f}; n={g['n_heldout']}, "
              f"p={g['p_value']:.3g}, δ={g['disagreement']:.3f}, bound {g['gain_lower_bound']:+.3f}")
    print("| level α | minimum held-out | risk | kept | SelfTrainer() | beats both anchors |")
    print("|---|---|---|---|---|---|")
    for alpha in (float(a) for a in args.levels.split(",")):
        for least in (int(m) for m in args.min_heldout.split(",")):
            for risk in (None if a.strip() == "none" else float(a) for a in args.risks.split(",")):
                keep = [replay_keeps(r["guard"], alpha, least, risk) for r in runs]
                score = float(np.mean([r["option"] if k else r["floor"] for r, k in zip(runs, keep, strict=True)]))
                print(f"| {alpha:g} | {least} | {'off' if risk is None else f'{risk:g}'} | {sum(keep)}/{len(runs)} | "
                      f"{score:.4f} | {'yes' if score > max(ls, st) else 'no'} |")


if __name__ == "__main__":
    main()
