"""Two cheap checks behind the track-(b) notes in docs/neural.md (AG News, 10 labels per class).

* ``--check max-length``: the LP-FT start model (frozen FlexMatch + DA model on top of the MiniLM
  encoder, no training step) scored on the test set with texts cut at 64, 128 and 256 tokens;
  the frozen embeddings use 256, the fine-tuning track trains at 64.
* ``--check teachers``: accuracy on the unlabeled pool (hidden train labels, never the test set)
  of the frozen FlexMatch + DA MLP, a kNN-graph teacher, ERASE, their averages, and the MLP's
  most confident 30/50/70%: is there a better teacher on the frozen embeddings to start from?
* ``--check students``: does a fine-tuned student end better than the teacher it learns from?
  Pool accuracy (hidden train labels, never the test set) of the frozen FlexMatch + DA start and
  of the LP-FT student after 800 steps, for the EMA teacher (the track-(b) recipe), the fixed
  start teacher (``teacher="start"``) and the start teacher with class-balanced top-50% selection,
  plus the average of start and student probabilities. Development seeds only (7, 8).

    PYTHONPATH=src python benchmarks/neural/ag_news_checks.py --check max-length --seeds 0 --threads 2
    PYTHONPATH=src python benchmarks/neural/ag_news_checks.py --check teachers --seeds 7 8 9 --threads 1
    PYTHONPATH=src python benchmarks/neural/ag_news_checks.py --check students --seeds 7 --students start --threads 1
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from ag_news import METHODS, TRACKS  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from pseudolabel.data.datasets import load_ag_news, sample_labels  # noqa: E402
from pseudolabel.learn.neural import ConsistencyClassifier  # noqa: E402
from pseudolabel.learn.neural.text import embed_frozen  # noqa: E402
from pseudolabel.teachers.erase import EraseTeacher  # noqa: E402
from pseudolabel.teachers.graph import GraphTeacher  # noqa: E402

FROZEN = dict(TRACKS["frozen"], **METHODS["flexmatch+da"])  # the track-(a) model that fine-tuning starts from


def check_max_length(d, seed: int, threads: int) -> None:
    y = sample_labels(np.asarray(d.y_train), 10, seed)
    frozen = ConsistencyClassifier(**FROZEN, n_threads=threads, random_state=seed).fit(d.X_train, y)
    print(f"seed {seed} frozen model (256-token embeddings): test error {100 * (frozen.predict(d.X_test) != d.y_test).mean():.2f}%")
    start = ConsistencyClassifier(text="finetune", init_from=frozen, hidden_sizes=(256,), max_length=64, max_steps=0,
                                  n_threads=threads, random_state=seed, **{k: FROZEN[k] for k in ("select", "refine")})
    start.fit(d.X_train, y)
    for length in (64, 128, 256):
        start.text_backbone_.max_length = length
        t = time.process_time()
        err = (start.predict(d.X_test) != d.y_test).mean()
        print(f"seed {seed} LP-FT start model at {length} tokens: test error {100 * err:.2f}%  ({time.process_time() - t:.0f} CPU-s)", flush=True)


def check_teachers(d, seed: int, threads: int) -> None:
    yt = np.asarray(d.y_train)
    E = embed_frozen(d.X_train)
    y = sample_labels(yt, 10, seed)
    pool = np.flatnonzero(y < 0)
    frozen = ConsistencyClassifier(**FROZEN, n_threads=threads, random_state=seed).fit(d.X_train, y)
    p_mlp = frozen.predict_proba(d.X_train)
    p_graph = GraphTeacher().transduce(E, y)
    p_erase = EraseTeacher().transduce(E, y)

    def acc(p, rows):
        return float((p[rows].argmax(1) == yt[rows]).mean())

    out = {"mlp": acc(p_mlp, pool), "graph": acc(p_graph, pool), "erase": acc(p_erase, pool),
           "mlp+graph": acc(p_mlp + p_graph, pool), "mlp+erase": acc(p_mlp + p_erase, pool)}
    conf = p_mlp.max(axis=1)
    for q in (0.3, 0.5, 0.7):
        top = pool[conf[pool] >= np.quantile(conf[pool], 1 - q)]
        out[f"mlp, most confident {int(100 * q)}%"] = acc(p_mlp, top)
    out["share of pool with mlp confidence > 0.95"] = float((conf[pool] > 0.95).mean())
    print(f"seed {seed} pool: " + ", ".join(f"{k} {v:.3f}" for k, v in out.items()), flush=True)


STUDENTS = {  # the track-(b) fine-tuning recipe with another teacher / selector
    "ema": {},
    "start": dict(teacher="start"),
    "start+topk50": dict(teacher="start", select="topk(k=0.5)"),
}


def check_students(d, seed: int, threads: int, students: list[str], steps: int = 800) -> None:
    yt = np.asarray(d.y_train)
    y = sample_labels(yt, 10, seed)
    pool = np.flatnonzero(y < 0)
    frozen = ConsistencyClassifier(**FROZEN, n_threads=threads, random_state=seed).fit(d.X_train, y)
    p_start = frozen.predict_proba(np.asarray(d.X_train, dtype=object)[pool])
    print(f"seed {seed} pool accuracy of the frozen start: {(p_start.argmax(1) == yt[pool]).mean():.4f}", flush=True)
    for name in students:
        params = dict(TRACKS["finetune"], **METHODS["flexmatch+da"], max_steps=steps, max_epochs=None,
                      init_from=frozen, hidden_sizes=TRACKS["frozen"]["hidden_sizes"], n_threads=threads, random_state=seed)
        params.update(STUDENTS[name])
        t = time.process_time()
        clf = ConsistencyClassifier(**params).fit(d.X_train, y)
        p = clf.pseudo_labels_.probs  # the returned student's probabilities on the pool rows
        print(f"seed {seed} student ({name} teacher): pool accuracy {(p.argmax(1) == yt[pool]).mean():.4f}, "
              f"averaged with the start {((p + p_start).argmax(1) == yt[pool]).mean():.4f}, "
              f"mask ratio last epoch {clf.history_[-1]['mask_ratio']:.3f}  ({time.process_time() - t:.0f} CPU-s)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", choices=["max-length", "teachers", "students"], required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--students", nargs="+", choices=sorted(STUDENTS), default=sorted(STUDENTS), help="--check students: which")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    d = load_ag_news(test_fields="title+description")
    print(f"threads: torch {args.threads}, BLAS {args.threads} (threadpoolctl)")
    with threadpool_limits(args.threads):
        for seed in args.seeds:
            if args.check == "students":
                check_students(d, seed, args.threads, args.students)
            else:
                (check_max_length if args.check == "max-length" else check_teachers)(d, seed, args.threads)


if __name__ == "__main__":
    main()
