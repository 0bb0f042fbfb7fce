"""``pseudolabel bench --suite scale``: wall time, peak memory, accuracy and kNN recall from 10^4 to
10^6 rows, scikit-learn side by side, and labeling throughput of 10^7 rows.

Datasets (``--datasets``, default all four):

- ``synthetic20``, ``synthetic64``: Gaussian clusters mapped to classes (:func:`make_clusters`, as
  ``benchmarks/graph_scale.py``): 50 unit-variance clusters in 20 or 64 dimensions, cluster c →
  class c mod 10, 10 labeled rows per class; the rest is the pool whose labels are scored.
- ``mnist``: MNIST PCA-50 (``load_features("mnist")``, the 60,000 train images). Sizes up to 60,000
  take a seeded random subset; larger sizes add rows interpolated between a train row and one of
  its 10 nearest same-class train rows (:func:`mnist_rows`), 10 labels per class.
- ``predict``: a generated Parquet file of ``--sizes``' largest value × 10 rows (10^7 by default;
  20 float features, an id column, 2^20-row groups) scored by ``label_dataset`` with the model of
  a fitted run whose student is the default one (standardised logistic regression), with the
  local engine (streaming) and with the Ray engine on a local instance of ``--threads`` CPUs. The
  generated files live in ``$PSEUDOLABEL_SCALE_WORK`` (default: ``<tmp>/pseudolabel-scale``) and are
  reused by later runs.

Methods (``--methods``, default all that apply): ``graph`` (``GraphTeacher().transduce``, kNN backend
``auto``: exact below 50,000 rows, blocked IVF above), ``graph_exact`` (the same on exact faiss
search, the reference for accuracy), ``sklearn_label_spreading`` (``LabelSpreading(kernel="knn",
n_neighbors=7)``), ``self_trainer`` (``SelfTrainer()`` defaults) and ``sklearn_self_training``
(``SelfTrainingClassifier(LogisticRegression())``); ``predict_local`` and ``predict_ray``.

Every run executes in its own child process (fresh interpreter) with ``--threads`` BLAS/OpenMP
threads, and is killed after ``--timeout`` seconds (recorded as ``timeout``; larger sizes of that
method are then skipped). Peak memory is the child's peak RSS (Linux ``VmHWM``) over the whole
run, data included; ``data_mb`` is its RSS once the data is loaded. recall@7 is measured for the
``graph`` runs on an approximate graph: the neighbours the graph's search gives 2,000 sampled rows
against faiss's exact search. The machine's 1-minute load average is recorded before and after
each run: the machine is shared, so figures are only comparable at a similar load; CPU seconds
of the child are recorded beside wall seconds.

Outputs in ``--out``: ``scale.json`` (every run, the command, machine, versions, threads),
``scale.md`` (tables) and ``scale_time_vs_rows.png`` (log-log time vs rows per dataset).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pseudolabel.ops.files import atomic_path

N_CENTERS, N_CLASSES, LABELS_PER_CLASS = 50, 10, 10
SIZES = (10_000, 100_000, 200_000, 1_000_000)
DATASETS = ("synthetic20", "synthetic64", "mnist", "predict")
GRAPH_METHODS = ("graph", "graph_exact", "sklearn_label_spreading", "self_trainer", "sklearn_self_training")
PREDICT_METHODS = ("predict_local", "predict_ray")
METHODS = (*GRAPH_METHODS, *PREDICT_METHODS)
EXACT_MAX = 200_000
"""``graph_exact`` runs up to this size unless it is the only method asked for: exact search is
n² d (10^6 × 64 rows: ~1.3·10^14 flops, most of an hour of this machine)."""
MNIST_NEIGHBOURS = 10
PREDICT_FEATURES = 20
PREDICT_ROW_GROUP = 1 << 20
RECALL_SAMPLE = 2000
K = 7
DEFAULT_TIMEOUT = 900.0
BARS = {
    "graph_200k_x20_seconds": 10.0,
    "graph_1m_x64_seconds": 120.0,
    "graph_1m_x64_peak_mb": 4096.0,
    "graph_accuracy_points_vs_exact": 1.0,
    "predict_peak_mb": 1024.0,
    "predict_rows_per_minute": 1_000_000.0,
}
"""The issue's "done when" bars, checked in ``scale.md``."""


def make_clusters(n: int, d: int = 64, seed: int = 0, *, n_centers: int = N_CENTERS, n_classes: int = N_CLASSES,
                  labels_per_class: int = LABELS_PER_CLASS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic data with a known answer (as ``benchmarks/graph_scale.py``): ``n`` rows from
    ``n_centers`` unit-variance Gaussian clusters (centres ~ N(0, 2.5²) per coordinate) in ``d``
    dimensions, cluster ``c`` → class ``c % n_classes``. Returns ``(X float32, y_partial, y_true)``
    with ``labels_per_class`` labeled rows per class (``-1`` elsewhere)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_centers, d)) * 2.5
    comp = rng.integers(0, n_centers, n)
    y = comp % n_classes
    X = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 100_000):  # chunks: no n × d float64 temporary
        stop = min(n, start + 100_000)
        X[start:stop] = centers[comp[start:stop]] + rng.normal(size=(stop - start, d))
    return X, _partial(y, labels_per_class, rng), y


def _partial(y: np.ndarray, per_class: int, rng) -> np.ndarray:
    ys = np.full(len(y), -1)
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        ys[rng.choice(rows, min(per_class, len(rows)), replace=False)] = c
    return ys


def mnist_rows(n: int, data_dir=None, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MNIST PCA-50 train rows at size ``n``: a seeded random subset up to 60,000; above it, the
    60,000 rows plus ``n − 60,000`` new rows, each on the segment between a train row and one of its
    10 nearest train rows of the same class, at a uniform random position (SMOTE-style
    interpolation, Chawla et al. 2002).

    Jittered copies (a row plus small Gaussian noise) were tried first and are not used: at 10^6
    rows each image had 16 near-duplicates closer than any other image, the 7-NN graph fell apart
    into 60,000 islands of copies, and label spreading from 100 labels reached 12% (a property of
    the data, not of the graph: exact search gives the same islands)."""
    from pseudolabel.bench.features import load_features

    f = load_features("mnist", data_dir)
    base, y_base = np.ascontiguousarray(f.X_train, dtype=np.float32), np.asarray(f.y_train)
    rng = np.random.default_rng(seed)
    if n <= len(base):
        rows = np.sort(rng.choice(len(base), n, replace=False))
        X, y = base[rows], y_base[rows]
    else:
        import faiss

        nbr = np.empty((len(base), MNIST_NEIGHBOURS), dtype=np.int64)
        for c in np.unique(y_base):
            rows = np.flatnonzero(y_base == c)
            _, idx = faiss.knn(base[rows], base[rows], MNIST_NEIGHBOURS + 1)
            nbr[rows] = rows[idx[:, 1:]]  # column 0 is the row itself
        extra = n - len(base)
        src = rng.integers(0, len(base), extra)
        dst = nbr[src, rng.integers(0, MNIST_NEIGHBOURS, extra)]
        lam = rng.random(extra, dtype=np.float32)[:, None]
        X = np.concatenate([base, base[src] + lam * (base[dst] - base[src])])
        y = np.concatenate([y_base, y_base[src]])
    return X, _partial(y, LABELS_PER_CLASS, rng), y


def load_data(dataset: str, n: int, data_dir=None):
    if dataset == "synthetic20":
        return make_clusters(n, 20)
    if dataset == "synthetic64":
        return make_clusters(n, 64)
    if dataset == "mnist":
        return mnist_rows(n, data_dir)
    raise ValueError(f"unknown scale dataset {dataset!r}; choose from {DATASETS}")


# ------------------------------------------------------------------------------------ child runs
def _recall(teacher, X_rows: int) -> float | None:
    """recall@K of the graph's neighbour search on sampled rows, against exact search (only when
    the graph was approximate)."""
    from pseudolabel.ops import knn

    Z = teacher.Z_
    if teacher.backend != "auto" or len(Z) < knn.EXACT_MAX_ROWS:
        return None
    import faiss

    sample = np.random.default_rng(1).choice(len(Z), min(RECALL_SAMPLE, len(Z)), replace=False)
    _, approx = knn.knn_search(Z, Z[sample], K + 1)  # the same cells and probes as the graph's search
    _, exact = faiss.knn(Z[sample], Z, K + 1)
    hits = [len((set(a) - {s}) & (set(e) - {s})) / K for a, e, s in zip(approx, exact, sample, strict=True)]
    return float(np.mean(hits))


def _run_method(method: str, X, ys):
    """Fit ``method`` on (X, ys); returns (predicted labels of every row, the fitted object)."""
    if method in ("graph", "graph_exact"):
        from pseudolabel.teachers import GraphTeacher

        teacher = GraphTeacher(backend="auto" if method == "graph" else "faiss")
        return teacher.transduce(X, ys, n_classes=N_CLASSES).argmax(axis=1), teacher
    if method == "sklearn_label_spreading":
        from sklearn.semi_supervised import LabelSpreading

        ls = LabelSpreading(kernel="knn", n_neighbors=K, max_iter=100).fit(X, ys)
        return ls.transduction_, ls
    if method == "self_trainer":
        from pseudolabel import SelfTrainer

        model = SelfTrainer(random_state=0).fit(X, ys)
        return model.predict(X), model
    if method == "sklearn_self_training":
        from sklearn.linear_model import LogisticRegression
        from sklearn.semi_supervised import SelfTrainingClassifier

        model = SelfTrainingClassifier(LogisticRegression()).fit(X, ys)
        return model.predict(X), model
    raise ValueError(f"unknown method {method!r}")


def _child_fit(spec: dict) -> dict:
    import warnings

    from threadpoolctl import threadpool_limits

    from pseudolabel.bench import env

    warnings.simplefilter("ignore")
    X, ys, y = load_data(spec["dataset"], spec["n"], spec.get("data_dir"))
    data_mb = env.rss_mb()
    with threadpool_limits(limits=spec["threads"]):
        c0, t0 = time.process_time(), time.perf_counter()
        pred, fitted = _run_method(spec["method"], X, ys)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        unl = ys < 0
        out = {"seconds": seconds, "cpu_seconds": cpu, "accuracy": float((np.asarray(pred)[unl] == y[unl]).mean()),
               "peak_mb": env.peak_rss_mb(), "data_mb": data_mb, "dims": int(X.shape[1])}
        if spec["method"] == "graph":
            out["recall_at_7"] = _recall(fitted, len(X))
            out["knn_backend"] = "ivf" if out["recall_at_7"] is not None else "exact"
    return out


def make_predict_data(path: Path, rows: int, seed: int = 0) -> Path:
    """``rows`` × (id + 20 float features) in Parquet, written in row groups of 2^20 rows (once;
    reused when a file of that many rows is already there)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tmp = path.with_name(path.name + ".tmp")
    schema = pa.schema([("id", pa.int64()), *[(f"x{j}", pa.float64()) for j in range(PREDICT_FEATURES)]])
    with pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, rows, PREDICT_ROW_GROUP):
            m = min(PREDICT_ROW_GROUP, rows - start)
            X = rng.normal(size=(m, PREDICT_FEATURES))
            cols = {"id": np.arange(start, start + m, dtype=np.int64), **{f"x{j}": X[:, j] for j in range(PREDICT_FEATURES)}}
            writer.write_table(pa.table(cols, schema=schema), row_group_size=PREDICT_ROW_GROUP)
    os.replace(tmp, path)
    return path


def make_predict_run(run_dir: Path, seed: int = 0) -> Path:
    """A fitted run as ``pseudolabel fit`` stores it: ``SelfTrainer`` with the default student
    (teacher ``"self"``: the student's own predictions, so ``predict_proba`` is the student's)
    on 5,000 rows of the predict table's distribution, 3 classes, 30 labels."""
    import joblib
    import pandas as pd

    from pseudolabel import SelfTrainer, __version__
    from pseudolabel.data.io import encode_target

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(5000, PREDICT_FEATURES))
    truth = (X[:, :3] @ np.array([1.0, -1.0, 0.5]) > 0).astype(int) + (X[:, 3] > 1).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(PREDICT_FEATURES)])
    y = np.full(len(X), None, dtype=object)
    for c in range(3):
        y[np.flatnonzero(truth == c)[:10]] = ["a", "b", "c"][c]
    target = encode_target(pd.Series(y, name="label"))
    model = SelfTrainer(teacher="self", random_state=seed).fit(frame, target.y)
    run_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump({"model": model, "codec": target.codec, "target": "label", "id_column": "id",
                 "columns": list(frame.columns), "na_values": [], "version": __version__}, run_dir / "model.joblib")
    return run_dir


def _child_predict(spec: dict) -> dict:
    import pyarrow.parquet as pq

    from pseudolabel.bench import env
    from pseudolabel.distributed import label_dataset, load_run

    data, run = Path(spec["data"]), Path(spec["run"])
    sink = Path(spec["sink"])
    base_mb = env.rss_mb()
    t0 = time.perf_counter()
    if spec["method"] == "predict_local":
        m = label_dataset(run, data, sink / "local.parquet", threads=1)
    else:
        m = label_dataset(run, data, sink / "ray", engine="ray", num_cpus=spec["threads"], threads=1)
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "rows": m["rows"], "rows_per_minute": m["rows"] / seconds * 60, "peak_mb": env.peak_rss_mb(),
           "data_mb": base_mb, "batch_rows": m["batch_rows"], "manifest_seconds": m["seconds"], "engine_info": {
               k: m[k] for k in ("actors", "cluster_cpus", "read") if k in m}}
    out["student_only"] = getattr(load_run(run).model, "teacher_weight_", 0) in (0, 0.0) or getattr(load_run(run).model, "teacher_", None) is None
    if spec["method"] == "predict_ray":
        # identical labels: compare with the local engine's output when it is there
        local = sink / "local.parquet"
        if local.exists():
            from pseudolabel.distributed import read_labels

            a = pq.read_table(local, columns=["id", "label"]).to_pandas()
            b = read_labels(sink / "ray", columns=["id", "label"]).to_pandas()
            out["identical_to_local"] = bool(len(a) == len(b) and (a["id"].to_numpy() == b["id"].to_numpy()).all()
                                             and (a["label"].to_numpy() == b["label"].to_numpy()).all())
        out["peak_mb_note"] = "driver process only; Ray workers are separate processes"
    return out


def child_main() -> None:
    """Entry of a child run: ``python -c 'from pseudolabel.bench.scale import child_main; child_main()' SPEC``."""
    spec = json.loads(sys.argv[1])
    from pseudolabel.bench import env

    env.reset_peak_rss()
    out = _child_predict(spec) if spec["method"] in PREDICT_METHODS else _child_fit(spec)
    print("RESULT " + json.dumps(out), flush=True)


# ---------------------------------------------------------------------------------- the suite
def _child(spec: dict, timeout: float, threads: int) -> dict:
    envvars = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
               "MKL_NUM_THREADS": str(threads), "RAY_USAGE_STATS_ENABLED": "0"}
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", "from pseudolabel.bench.scale import child_main; child_main()",
                               json.dumps(spec)], capture_output=True, text=True, timeout=timeout, env=envvars,
                              start_new_session=True)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "seconds": time.perf_counter() - t0, "timeout": timeout, "load_before": load0,
                "load_after": os.getloadavg()[0]}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return {"status": "error", "error": tail, "load_before": load0, "load_after": os.getloadavg()[0]}
    return {"status": "ok", **json.loads(lines[-1][7:]), "load_before": load0, "load_after": os.getloadavg()[0]}


def run_scale(out_dir, *, datasets=None, methods=None, sizes=None, threads: int = 2, timeout: float | None = None,
              data_dir=None, update: bool = False, plots: bool = True, command: str | None = None, console=None) -> dict:
    """Run the scale suite (see the module doc) and write scale.json, scale.md and the plot."""
    from pseudolabel.bench import env

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    datasets = list(datasets or DATASETS)
    methods = list(methods or METHODS)
    sizes = sorted(int(s) for s in (sizes or SIZES))
    timeout = float(timeout or DEFAULT_TIMEOUT)
    bad = [d for d in datasets if d not in DATASETS] + [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"unknown scale dataset(s)/method(s) {bad}; datasets: {DATASETS}, methods: {METHODS}")
    results = {"suite": "scale", "runs": []}
    path = out / "scale.json"
    if update and path.exists():
        results = json.loads(path.read_text(encoding="utf-8"))
    results.update({"command": command, "date": env.now(), "machine": env.machine(), "versions": env.versions(),
                    "git": env.git_revision(), "threads": threads, "timeout": timeout, "bars": BARS,
                    "protocol": __doc__.split("\n\n", 1)[1]})
    say = console.print if console is not None else print

    def record(row: dict) -> None:
        row["command"] = command
        key = (row["dataset"], row["n"], row["method"])
        if update and path.exists():
            # re-read before writing: another --update run may have recorded runs in the meantime
            results["runs"] = json.loads(path.read_text(encoding="utf-8"))["runs"]
        results["runs"] = [r for r in results["runs"] if (r["dataset"], r["n"], r["method"]) != key] + [row]
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
        shown = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items() if k not in ("engine_info",)}
        say(json.dumps(shown, default=str))

    for dataset in [d for d in datasets if d != "predict"]:
        for method in [m for m in methods if m in GRAPH_METHODS]:
            for n in sizes:
                if method == "graph_exact" and n > EXACT_MAX and methods != ["graph_exact"]:
                    continue  # an hour at 10^6 × 64: only when asked for alone (--methods graph_exact)
                spec = {"dataset": dataset, "n": n, "method": method, "threads": threads, "data_dir": data_dir}
                row = {"dataset": dataset, "n": n, "method": method, **_child(spec, timeout, threads)}
                record(row)
                if row["status"] != "ok":
                    break  # larger sizes would not finish either
    if "predict" in datasets and any(m in PREDICT_METHODS for m in methods):
        rows = 10 * max(sizes)
        # gigabytes of generated input and output: outside the results folder (never committed)
        work = Path(os.environ.get("PSEUDOLABEL_SCALE_WORK") or Path(tempfile.gettempdir()) / "pseudolabel-scale")
        data = make_predict_data(work / f"pool-{rows}.parquet", rows)
        run = make_predict_run(work / "run")
        for method in [m for m in PREDICT_METHODS if m in methods]:
            spec = {"method": method, "data": str(data), "run": str(run), "sink": str(work / "out"), "threads": threads}
            record({"dataset": "predict", "n": rows, "method": method, **_child(spec, timeout, threads)})
    write_scale_markdown(results, out / "scale.md")
    if plots:
        write_scale_plot(results, out / "scale_time_vs_rows.png")
    return results


def _fmt(v, spec: str = ".1f") -> str:
    return "–" if v is None else format(v, spec)


def write_scale_markdown(results: dict, path: Path) -> None:
    runs = results["runs"]
    lines = ["# Scale suite", "", f"Command: `{results.get('command')}`", "",
             f"Threads per run: {results.get('threads')}; timeout {results.get('timeout')} s; machine: "
             f"{results.get('machine', {}).get('cpu', '')} ({results.get('machine', {}).get('cores', '?')} cores); "
             f"date {results.get('date')}; revision {results.get('git')}", ""]
    fit = [r for r in runs if r["dataset"] != "predict"]
    if fit:
        lines += ["| dataset | rows | method | wall s | CPU s | peak MB | data MB | accuracy | recall@7 | load before/after |",
                  "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for r in sorted(fit, key=lambda r: (r["dataset"], r["method"], r["n"])):
            if r["status"] != "ok":
                why = f" > {r['timeout']:.0f} s" if r["status"] == "timeout" else f": {r.get('error', '')}"
                lines.append(f"| {r['dataset']} | {r['n']:,} | {r['method']} | {r['status']}{why} "
                             f"| | | | | | {_fmt(r.get('load_before'))}/{_fmt(r.get('load_after'))} |")
                continue
            lines.append(f"| {r['dataset']} | {r['n']:,} | {r['method']} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | "
                         f"{r['peak_mb']:.0f} | {r['data_mb']:.0f} | {100 * r['accuracy']:.2f}% | "
                         f"{_fmt(r.get('recall_at_7'), '.3f')} | {r['load_before']:.1f}/{r['load_after']:.1f} |")
        lines.append("")
    pred = [r for r in runs if r["dataset"] == "predict"]
    if pred:
        lines += ["| rows | engine | wall s | rows/min | peak MB (driver) | identical to local | load before/after |",
                  "| ---: | --- | ---: | ---: | ---: | --- | --- |"]
        for r in pred:
            if r["status"] != "ok":
                lines.append(f"| {r['n']:,} | {r['method']} | {r['status']} | | | | |")
                continue
            lines.append(f"| {r['n']:,} | {r['method']} | {r['seconds']:.1f} | {r['rows_per_minute']:,.0f} | {r['peak_mb']:.0f} | "
                         f"{r.get('identical_to_local', '–')} | {r['load_before']:.1f}/{r['load_after']:.1f} |")
        lines.append("")
    lines += ["## Bars", ""] + [f"- {line}" for line in check_bars(results)] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")


def _ok(runs, dataset, n, method):
    for r in runs:
        if r["dataset"] == dataset and r["n"] == n and r["method"] == method and r["status"] == "ok":
            return r
    return None


def check_bars(results: dict) -> list[str]:
    """One line per "done when" bar that the runs in ``results`` can decide."""
    runs, out = results["runs"], []
    r = _ok(runs, "synthetic20", 200_000, "graph")
    if r:
        out.append(f"graph 200,000 × 20: {r['seconds']:.1f} s (bar ≤ {BARS['graph_200k_x20_seconds']:g} s: "
                   f"{'met' if r['seconds'] <= BARS['graph_200k_x20_seconds'] else 'NOT met'}; load {r['load_before']:.1f})")
    r = _ok(runs, "synthetic64", 1_000_000, "graph")
    if r:
        out.append(f"graph 1,000,000 × 64: {r['seconds']:.1f} s, peak {r['peak_mb']:.0f} MB (bars ≤ 120 s, ≤ 4096 MB: "
                   f"{'met' if r['seconds'] <= 120 and r['peak_mb'] <= 4096 else 'NOT met'}; load {r['load_before']:.1f})")
    for d in ("synthetic20", "synthetic64", "mnist"):
        for n in sorted({r["n"] for r in runs if r["dataset"] == d}):
            a, e = _ok(runs, d, n, "graph"), _ok(runs, d, n, "graph_exact")
            if a and e and a.get("knn_backend") == "ivf":
                gap = 100 * (e["accuracy"] - a["accuracy"])
                out.append(f"{d} {n:,}: approximate graph {100 * a['accuracy']:.2f}% vs exact {100 * e['accuracy']:.2f}% "
                           f"({gap:+.2f} points behind; bar ≤ 1: {'met' if gap <= 1 else 'NOT met'})")
    for method in PREDICT_METHODS:
        r = next((r for r in runs if r["dataset"] == "predict" and r["method"] == method and r["status"] == "ok"), None)
        if r:
            verdict = "met" if r["peak_mb"] < 1024 and r["rows_per_minute"] >= 1e6 else "NOT met"
            out.append(f"{method} {r['n']:,} rows: {r['rows_per_minute']:,.0f} rows/min, peak {r['peak_mb']:.0f} MB"
                       f"{' (driver)' if method == 'predict_ray' else ''} (bars ≥ 1,000,000 rows/min, < 1024 MB: {verdict})")
    st = sorted((r for r in runs if r["method"] == "self_trainer" and r["dataset"] == "synthetic64"), key=lambda r: r["n"])
    if st:
        done = [r for r in st if r["status"] == "ok"]
        desc = ", ".join(f"{r['n']:,}: {r['seconds']:.0f} s" if r["status"] == "ok" else f"{r['n']:,}: {r['status']}" for r in st)
        out.append(f"SelfTrainer() default on synthetic64: {desc}"
                   + ("" if any(r["n"] == 1_000_000 for r in done) else " (bar: finishes at 1,000,000 — NOT met)"))
        base = next((r for r in done if r["n"] == 100_000), None)
        for r in done:
            if base is None or r["n"] <= base["n"]:
                continue
            growth = (r["seconds"] / base["seconds"]) / (r["n"] / base["n"])
            line = (f"SelfTrainer() {base['n']:,} → {r['n']:,} rows: time × {r['seconds'] / base['seconds']:.1f} for rows × "
                    f"{r['n'] / base['n']:.0f} (bar ~linear, ≤ 1.5× the row ratio: {'met' if growth <= 1.5 else 'NOT met'})")
            out.append(line)
    return out


def write_scale_plot(results: dict, path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fit = [r for r in results["runs"] if r["dataset"] != "predict" and r["status"] == "ok"]
    datasets = sorted({r["dataset"] for r in fit})
    if not datasets:
        return None
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for ax, d in zip(axes[0], datasets, strict=True):
        for m in GRAPH_METHODS:
            pts = sorted((r["n"], r["seconds"]) for r in fit if r["dataset"] == d and r["method"] == m)
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=m)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rows")
        ax.set_ylabel("wall seconds")
        ax.set_title(d)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"time vs rows ({results.get('threads')} threads per run)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
