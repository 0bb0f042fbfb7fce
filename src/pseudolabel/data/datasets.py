"""Benchmark datasets: loaders over files on local disk (nothing is downloaded).

``digits`` ships inside scikit-learn and ``mnist1d`` is generated offline; MNIST, AG News, TREC-6,
SST-2 and MR are read from a data folder laid out like ``../shared/data`` (``mnist/``,
``ag_news/``, ``sentence_cls/``). The folder is ``data_dir`` if given, else ``$PSEUDOLABEL_DATA``,
else the first of ``<repo>/../shared/data`` and ``<repo>/data`` that exists.
"""

from __future__ import annotations

import csv
import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TEXT_DATASETS = ("ag_news", "trec", "sst2", "mr")
ALL_DATASETS = ("digits", "mnist1d", "mnist", *TEXT_DATASETS)


@dataclass
class Dataset:
    """A train/test split. ``X_*`` are arrays (images flattened to rows) or lists of strings."""

    name: str
    X_train: object
    y_train: np.ndarray
    X_test: object
    y_test: np.ndarray
    classes: list[str]
    modality: str  # "tabular", "image", "sequence" or "text"
    image_shape: tuple[int, ...] | None = None
    meta: dict = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The folder holding ``mnist/``, ``ag_news/`` and ``sentence_cls/``."""
    if path is not None:
        return Path(path)
    env = os.environ.get("PSEUDOLABEL_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]
    for cand in (repo.parent / "shared" / "data", repo / "data", Path.cwd() / "data"):
        if cand.is_dir():
            return cand
    return repo.parent / "shared" / "data"


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(
            f"{what} not found at {path}. Point --data-dir (or $PSEUDOLABEL_DATA) at a folder with "
            "mnist/, ag_news/ and sentence_cls/ laid out as in ../shared/data (see its README.md)"
        )
    return path


# ---------------------------------------------------------------------------- shipped / generated
def load_digits_split(test_size: float = 0.3, seed: int = 0) -> Dataset:
    """scikit-learn's 8×8 digits (1,797 rows) with a fixed stratified held-out split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    return Dataset("digits", Xtr, ytr, Xte, yte, [str(i) for i in range(10)], "image", (8, 8))


def load_mnist1d(n_samples: int = 5000, seed: int = 42) -> Dataset:
    """MNIST-1D (Greydanus 2020), generated offline by the ``mnist1d`` package (80/20 split)."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as exc:
        raise ImportError("mnist1d is not installed: pip install 'pseudolabel[bench]'") from exc
    args = get_dataset_args()
    args.num_samples = n_samples
    args.seed = seed
    d = make_dataset(args)
    return Dataset(
        "mnist1d",
        np.asarray(d["x"], dtype=np.float64),
        np.asarray(d["y"]),
        np.asarray(d["x_test"], dtype=np.float64),
        np.asarray(d["y_test"]),
        [str(i) for i in range(10)],
        "sequence",
        (1, np.asarray(d["x"]).shape[1]),
    )


# ---------------------------------------------------------------------------- MNIST (IDX files)
def read_idx(path: str | os.PathLike | list) -> np.ndarray:
    """Read an IDX file (optionally gzip, optionally split into consecutive gzip parts)."""
    parts = path if isinstance(path, list) else [path]
    raw = b"".join(gzip.decompress(Path(p).read_bytes()) if str(p).split(".part")[0].endswith(".gz") else Path(p).read_bytes() for p in parts)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{parts[0]} is not an IDX file (bad magic number)")
    dtype = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[raw[2]]
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{parts[0]}: header says {dims} but holds {data.size} values")
    return data.reshape(dims)


def load_mnist(root: str | os.PathLike | None = None, flatten: bool = True) -> Dataset:
    """MNIST 60k/10k from IDX files; pixels scaled to [0, 1]."""
    d = _need(data_dir(root) / "mnist", "the MNIST folder")
    train_parts = sorted(d.glob("train-images-idx3-ubyte.gz.part*"))
    train_img = train_parts if train_parts else [_need(d / "train-images-idx3-ubyte.gz", "MNIST train images")]
    Xtr = read_idx(train_img).astype(np.float32) / 255.0
    ytr = read_idx(_need(d / "train-labels-idx1-ubyte.gz", "MNIST train labels")).astype(np.int64)
    Xte = read_idx(_need(d / "t10k-images-idx3-ubyte.gz", "MNIST test images")).astype(np.float32) / 255.0
    yte = read_idx(_need(d / "t10k-labels-idx1-ubyte.gz", "MNIST test labels")).astype(np.int64)
    if flatten:
        Xtr, Xte = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    return Dataset("mnist", Xtr, ytr, Xte, yte, [str(i) for i in range(10)], "image", (1, 28, 28))


# ---------------------------------------------------------------------------- text sets
def load_ag_news(root: str | os.PathLike | None = None) -> Dataset:
    """AG News: the 10,001-row train subset (description text) and the official 7,600-row test
    split (title + description)."""
    d = _need(data_dir(root) / "ag_news", "the AG News folder")
    classes = _need(d / "classes.txt", "ag_news/classes.txt").read_text(encoding="utf-8").split()
    name_to_id = {c: i for i, c in enumerate(classes)}
    texts, labels = [], []
    with open(_need(d / "alps_train_subset10k.tsv", "ag_news/alps_train_subset10k.tsv"), encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line:
                continue
            text, label = line.rsplit("\t", 1)
            texts.append(text)
            labels.append(name_to_id[label])
    test_texts, test_labels = [], []
    with open(_need(d / "test.csv", "ag_news/test.csv"), newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            test_labels.append(int(row[0]) - 1)
            test_texts.append(f"{row[1]} {row[2]}".replace("\\", " "))
    return Dataset("ag_news", texts, np.array(labels), test_texts, np.array(test_labels), classes, "text")


def _read_kim(path: Path) -> tuple[list[str], np.ndarray]:
    """Kim-2014 format: ``<label> <text>`` per line, latin-1 safe."""
    texts, labels = [], []
    for line in path.read_text(encoding="latin-1").split("\n"):  # not splitlines: texts hold \x0c etc.
        if not line.strip():
            continue
        label, text = line.split(" ", 1)
        labels.append(int(label))
        texts.append(text.strip())
    return texts, np.array(labels)


def load_trec(root: str | os.PathLike | None = None) -> Dataset:
    """TREC-6 question type (5,452 train / 500 test)."""
    d = _need(data_dir(root) / "sentence_cls", "the sentence_cls folder")
    Xtr, ytr = _read_kim(_need(d / "TREC.train.all", "sentence_cls/TREC.train.all"))
    Xte, yte = _read_kim(_need(d / "TREC.test.all", "sentence_cls/TREC.test.all"))
    return Dataset("trec", Xtr, ytr, Xte, yte, ["DESC", "ENTY", "ABBR", "HUM", "LOC", "NUM"], "text")


def load_sst2(root: str | os.PathLike | None = None) -> Dataset:
    """SST-2 sentence level (6,920 train / 1,821 test; the 872-row dev set is in ``meta``)."""
    d = _need(data_dir(root) / "sentence_cls", "the sentence_cls folder")
    Xtr, ytr = _read_kim(_need(d / "stsa.binary.train", "sentence_cls/stsa.binary.train"))
    Xte, yte = _read_kim(_need(d / "stsa.binary.test", "sentence_cls/stsa.binary.test"))
    dev = d / "stsa.binary.dev"
    meta = {"dev": _read_kim(dev)} if dev.exists() else {}
    return Dataset("sst2", Xtr, ytr, Xte, yte, ["negative", "positive"], "text", meta=meta)


def load_mr(root: str | os.PathLike | None = None, test_size: float = 0.2, seed: int = 0) -> Dataset:
    """MR movie-review polarity (10,662 rows; no official split: a fixed stratified 80/20 split)."""
    from sklearn.model_selection import train_test_split

    d = _need(data_dir(root) / "sentence_cls", "the sentence_cls folder")
    X, y = _read_kim(_need(d / "rt-polarity.all", "sentence_cls/rt-polarity.all"))
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    return Dataset("mr", list(Xtr), ytr, list(Xte), yte, ["negative", "positive"], "text")


LOADERS = {
    "digits": load_digits_split,
    "mnist1d": load_mnist1d,
    "mnist": load_mnist,
    "ag_news": load_ag_news,
    "trec": load_trec,
    "sst2": load_sst2,
    "mr": load_mr,
}


def load(name: str, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load a benchmark dataset by name (see ``ALL_DATASETS``)."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(LOADERS)}")
    if name in ("digits", "mnist1d"):
        return LOADERS[name]()
    return LOADERS[name](data_dir)


def sample_labels(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Stratified, seeded labeled subset: ``y`` with all but ``per_class`` rows per class set to -1."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    out = np.full(len(y), -1, dtype=np.int64)
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        if len(rows) < per_class:
            raise ValueError(f"class {c} has only {len(rows)} rows, fewer than {per_class} labels per class")
        pick = rng.choice(rows, per_class, replace=False)
        out[pick] = c
    return out
