"""External labeler sampled k times: majority and confidence-weighted votes (TTRL, SCOPE).

TTRL (Zuo et al. 2025, "TTRL: Test-Time Reinforcement Learning") samples an LLM n times per
prompt and takes the mode as the pseudo-label, logging the vote share as its confidence. SCOPE
(2025, "Confidence-weighted pseudo-labels for test-time RL", szu-tera/SCOPE) weights each vote
by the response's confidence. For classification with any stochastic labeler (an LLM, a crowd, a
rule set), each item gets k answers ``a_r ∈ {0..C−1, abstain}`` with confidences ``κ_r``::

    score_c = Σ_r κ_r 1[a_r = c]        (majority: κ_r = 1)
    share_c = score_c / Σ_r κ_r          abstentions count in the denominator, never win
    label   = argmax_c score_c           (−1 when every answer abstains)

**Confidence direction.** κ must grow with confidence. SCOPE's code weights votes by the mean
*surprisal* of the sampled tokens (it asks vLLM for ``logprobs=0``), which gives *more* weight to
less confident answers; here κ is ``exp(mean log-prob)`` of the answer's tokens (see
``llm_client``) or any non-negative score where larger means surer. (answer, κ) pairs travel
together, so an unparseable answer becomes an abstention *with its own* κ instead of shifting the
pairing (the SCOPE filtering pitfall).

The teacher's probabilities are ``share`` with the abstained mass spread uniformly over the
classes, so rows sum to 1, the argmax is the vote winner and abstentions lower the confidence.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import importlib
import inspect
import json
import re
import sqlite3
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from pseudolabel.core.registry import register
from pseudolabel.ops.aio import run_coroutine
from pseudolabel.ops.files import cache_dir

ABSTAIN = -1
RULES = ("confidence", "majority")


@dataclass
class VoteResult:
    """Per item: ``probs`` (n, C) on the simplex, ``share`` (n, C) vote shares (abstentions in the
    denominator), ``label`` (n,) winner or −1, ``confidence`` (n,) the winner's share."""

    probs: np.ndarray
    share: np.ndarray
    label: np.ndarray
    confidence: np.ndarray


def vote(answers, n_classes: int, confidences=None, rule: str = "confidence") -> VoteResult:
    """Aggregate k answers per item. ``answers`` (n, k) class indices with −1 = abstain;
    ``confidences`` (n, k) non-negative κ (ignored by ``rule="majority"``)."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    a = np.asarray(answers, dtype=np.int64)
    if a.ndim != 2:
        raise ValueError(f"answers must have shape (n_items, k), got {a.shape}")
    if (a >= n_classes).any() or (a < ABSTAIN).any():
        raise ValueError(f"answers must be class indices in [0, {n_classes - 1}] or -1 (abstain)")
    if rule == "majority" or confidences is None:
        kappa = np.ones(a.shape)
    else:
        kappa = np.asarray(confidences, dtype=np.float64)
        if kappa.shape != a.shape:
            raise ValueError(f"confidences must have the shape of answers {a.shape}, got {kappa.shape}")
        if (kappa < 0).any() or not np.isfinite(kappa).all():
            raise ValueError("confidences must be finite and >= 0 (larger = more confident)")
    n = len(a)
    ok = a >= 0
    flat = (np.arange(n)[:, None] * n_classes + np.where(ok, a, 0)).ravel()
    score = np.bincount(flat, weights=(kappa * ok).ravel(), minlength=n * n_classes).reshape(n, n_classes)
    total = kappa.sum(axis=1)
    share = np.divide(score, total[:, None], out=np.zeros_like(score), where=total[:, None] > 0)
    won = score.sum(axis=1) > 0
    label = np.where(won, score.argmax(axis=1), ABSTAIN)
    confidence = np.where(won, share.max(axis=1), 0.0)
    probs = share + (1.0 - share.sum(axis=1, keepdims=True)) / n_classes
    return VoteResult(probs=probs, share=share, label=label, confidence=confidence)


def bootstrap_stability(answers, n_classes: int, confidences=None, rule: str = "confidence", n_boot: int = 100, random_state=None) -> np.ndarray:
    """Fraction of bootstrap resamples of each item's k answers whose winner equals the full vote's."""
    a = np.asarray(answers, dtype=np.int64)
    kappa = np.ones(a.shape) if confidences is None else np.asarray(confidences, dtype=np.float64)
    full = vote(a, n_classes, kappa, rule).label
    rng = np.random.default_rng(random_state)
    n, k = a.shape
    same = np.zeros(n)
    for _ in range(int(n_boot)):  # loop over resamples; each vote is vectorised over items
        pick = rng.integers(0, k, size=(n, k))
        res = vote(np.take_along_axis(a, pick, 1), n_classes, np.take_along_axis(kappa, pick, 1), rule)
        same += res.label == full
    return same / max(int(n_boot), 1)


def parse_answer(answer, classes=None) -> int:
    """Class index of one answer: an int index, a class name (case-, space- and punctuation-
    insensitive; else the only class name found as a whole word in the text) or −1 (abstain)."""
    if answer is None:
        return ABSTAIN
    if isinstance(answer, bool):
        raise TypeError("a labeler answer must be a class index, a class name or None, not a bool")
    if isinstance(answer, int | np.integer):
        k = None if classes is None else len(classes)
        return int(answer) if 0 <= int(answer) and (k is None or int(answer) < k) else ABSTAIN
    if classes is None:
        raise ValueError("text answers need classes=[...] (class names in encoded order) to be parsed")
    norm = _norm(str(answer))
    names = [_norm(str(c)) for c in classes]
    if norm in names:
        return names.index(norm)
    found = [i for i, c in enumerate(names) if c and re.search(rf"(?<!\w){re.escape(c)}(?!\w)", norm)]
    return found[0] if len(found) == 1 else ABSTAIN


def _norm(text: str) -> str:
    """Lower case, punctuation to spaces, runs of whitespace collapsed."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


# ------------------------------------------------------------------------------------ cache
class AnswerCache:
    """On-disk answers keyed by a hash of (labeler identity, item, k): a rerun makes no request.

    SQLite (standard library): safe when two processes share the file, and every answer is
    committed as soon as it arrives, so an interrupted run loses nothing it already paid for.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._con:
            self._con.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def get(self, key: str):
        with self._lock:
            row = self._con.execute("SELECT value FROM answers WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value) -> None:
        with self._lock, self._con:
            self._con.execute("INSERT OR REPLACE INTO answers (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def __len__(self) -> int:
        with self._lock:
            return int(self._con.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        self._con.close()


def cache_key(identity, item, k: int) -> str:
    blob = json.dumps({"labeler": identity, "item": item, "k": int(k)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _jsonable(item):
    if isinstance(item, np.ndarray):
        return item.tolist()
    if isinstance(item, np.generic):
        return item.item()
    return item


def _resolve_labeler(labeler):
    """A callable/async labeler from an object, an ``"module:function"`` path or an OpenAI dict."""
    if labeler is None:
        raise ValueError(
            "ExternalLabeler needs labeler=: a function (item, k) -> k answers, an OpenAIChatLabeler, "
            "a dict of OpenAIChatLabeler arguments, or a 'module:function' path"
        )
    if isinstance(labeler, dict):
        from pseudolabel.teachers.llm_client import OpenAIChatLabeler

        return OpenAIChatLabeler(**labeler)
    if isinstance(labeler, str):
        if ":" not in labeler:
            raise ValueError(f"labeler path must look like 'package.module:function', got {labeler!r}")
        mod, attr = labeler.split(":", 1)
        return getattr(importlib.import_module(mod), attr)
    if not (callable(labeler) or hasattr(labeler, "alabel")):
        raise TypeError(f"labeler must be callable (item, k) -> answers, got {type(labeler).__name__}")
    return labeler


# ------------------------------------------------------------------------------------ teacher
@register("teacher", "labeler")
class ExternalLabeler(BaseEstimator):
    """Pseudo-labels from an external labeler (LLM, crowd, rules) asked k times per item.

    labeler : ``fn(item, k) -> k answers`` (sync or ``async``), where an answer is a class index,
        a class name, ``None`` (abstain) or an ``(answer, confidence)`` pair; or an
        :class:`~pseudolabel.teachers.llm_client.OpenAIChatLabeler` (or a dict of its arguments,
        or a ``"module:function"`` path, for the CLI).
    classes : class names in encoded (sorted-label) order; needed to parse text answers.
    k : answers per item (TTRL/SCOPE use 64 for maths; 5–10 suffice for classification).
    rule : ``"confidence"`` (SCOPE, κ-weighted) or ``"majority"`` (TTRL).
    cache : folder of the answer cache (``None`` = ``$PSEUDOLABEL_CACHE`` or ``~/.cache/pseudolabel``,
        ``False`` = memory only).
    name : identity of a plain callable in the cache key (default: its module and name); change it
        when the callable's behaviour changes.
    max_concurrency : items in flight at once (threads for sync callables, a semaphore for async).
    max_retries, backoff : retries with exponential backoff when a plain callable raises (the
        HTTP client retries 429/5xx/timeouts itself).
    items : when ``X`` is numeric (inside ``SelfTrainer``), the item of each row of ``X`` by
        position (e.g. the texts whose embeddings are ``X``); ``predict_proba`` then only knows
        rows seen in ``transduce``, so use ``SelfTrainer(..., teacher_weight=0)``.
    query_labeled : also ask about rows that already carry a label (else they get one-hot).
    n_bootstrap : bootstrap resamples for ``stability_`` (0 = off).

    **What X is**: a sequence of items (texts, or any JSON-serialisable objects) passed to the
    labeler as they are, or numeric rows matched to ``items``.
    """

    def __init__(
        self,
        labeler=None,
        classes=None,
        k: int = 5,
        rule: str = "confidence",
        cache=None,
        name: str | None = None,
        max_concurrency: int = 8,
        max_retries: int = 2,
        backoff: float = 0.5,
        items=None,
        query_labeled: bool = False,
        n_bootstrap: int = 0,
        random_state=None,
    ):
        self.labeler = labeler
        self.classes = classes
        self.k = k
        self.rule = rule
        self.cache = cache
        self.name = name
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.backoff = backoff
        self.items = items
        self.query_labeled = query_labeled
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state

    # ------------------------------------------------------------------ plumbing
    def _identity(self, fn):
        if hasattr(fn, "cache_identity"):
            return fn.cache_identity()
        if self.name is not None:
            return str(self.name)
        target = fn.func if hasattr(fn, "func") else fn
        return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', type(target).__name__)}"

    def _store(self):
        if self.cache is False:
            return None
        if getattr(self, "_cache_obj", None) is None or self._cache_path != self.cache:
            root = cache_dir(None if self.cache in (None, True) else self.cache)
            self._cache_obj = AnswerCache(root / "labeler" / "answers.sqlite")
            self._cache_path = self.cache
        return self._cache_obj

    def _rows_to_items(self, X) -> list:
        if self.items is None:
            if isinstance(X, str):
                raise TypeError("X must be a sequence of items (e.g. texts), not a single string")
            arr = np.asarray(X, dtype=object) if not hasattr(X, "dtype") else np.asarray(X)
            if arr.ndim == 2 and arr.dtype.kind in "fiub":
                raise ValueError(
                    "ExternalLabeler got a numeric matrix: pass the items (e.g. texts) as X, or give "
                    "items=<texts aligned with the rows of X> when X holds their features"
                )
            return [_jsonable(v) for v in (X.tolist() if hasattr(X, "tolist") else list(X))]
        Xn = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
        items = list(self.items)
        if len(items) != len(Xn):
            raise ValueError(f"items has {len(items)} entries but X has {len(Xn)} rows; items must align with X by position")
        self._row_items = {Xn[i].tobytes(): items[i] for i in range(len(Xn))}
        return [_jsonable(v) for v in items]

    def _lookup(self, X) -> list:
        if self.items is None:
            return self._rows_to_items(X)
        Xn = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
        table = getattr(self, "_row_items", {})
        missing = [i for i in range(len(Xn)) if Xn[i].tobytes() not in table]
        if missing:
            raise ValueError(
                f"{len(missing)} rows of X were not seen in transduce, so their items are unknown; with "
                "items=..., call predict_proba on those rows only, or use SelfTrainer(..., teacher_weight=0)"
            )
        return [_jsonable(table[Xn[i].tobytes()]) for i in range(len(Xn))]

    def _fetch(self, items: list) -> list:
        """Raw responses ``[[answer, κ], ...]`` for each item: memory, then disk, then the labeler."""
        fn = _resolve_labeler(self.labeler)
        k = int(self.k)
        if k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")
        ident = self._identity(fn)
        keys = [cache_key(ident, it, k) for it in items]
        memo = self.__dict__.setdefault("_memo", {})
        store = self._store()
        out: dict[str, list] = {}
        todo: dict[str, object] = {}
        for key, it in zip(keys, items, strict=True):
            if key in out or key in todo:
                continue
            hit = memo.get(key)
            if hit is None and store is not None:
                hit = store.get(key)
            if hit is None:
                todo[key] = it
            else:
                out[key] = hit
        self.n_queried_ = len(todo)
        if todo:
            fresh = self._query(fn, todo, k, store)
            out.update(fresh)
        memo.update(out)
        return [out[key] for key in keys]

    def _query(self, fn, todo: dict, k: int, store) -> dict:
        classes = None if self.classes is None else [str(c) for c in self.classes]
        done: dict[str, list] = {}
        errors: list[BaseException] = []

        def keep(key, raw):
            resp = _normalise_responses(raw, k)
            done[key] = resp
            if store is not None:
                store.put(key, resp)

        limit = max(1, int(self.max_concurrency))
        if hasattr(fn, "alabel") or inspect.iscoroutinefunction(fn):

            async def main():
                sem = asyncio.Semaphore(limit)
                opener = fn.session(limit) if hasattr(fn, "session") else nullcontext(None)
                async with opener as session:

                    async def one(key, item):
                        async with sem:
                            if hasattr(fn, "alabel"):
                                raw = await fn.alabel(session, item, k, classes)
                            else:
                                raw = await self._retry_async(fn, item, k)
                        keep(key, raw)

                    results = await asyncio.gather(*(one(key, it) for key, it in todo.items()), return_exceptions=True)
                errors.extend(r for r in results if isinstance(r, BaseException))

            run_coroutine(main())
        else:
            with concurrent.futures.ThreadPoolExecutor(limit) as pool:
                futures = {pool.submit(self._retry_sync, fn, it, k): key for key, it in todo.items()}
                for fut in concurrent.futures.as_completed(futures):
                    try:
                        keep(futures[fut], fut.result())
                    except Exception as exc:  # noqa: BLE001 - reported below with the count
                        errors.append(exc)
        if errors:
            raise RuntimeError(
                f"the labeler failed on {len(errors)} of {len(todo)} items (answers received so far are "
                f"cached; rerun to continue). First error: {errors[0]!r}"
            ) from errors[0]
        return done

    def _retry_sync(self, fn, item, k):
        for attempt in range(int(self.max_retries) + 1):
            try:
                return fn(item, k)
            except Exception:
                if attempt >= int(self.max_retries):
                    raise
                time.sleep(float(self.backoff) * 2**attempt)

    async def _retry_async(self, fn, item, k):
        for attempt in range(int(self.max_retries) + 1):
            try:
                return await fn(item, k)
            except Exception:
                if attempt >= int(self.max_retries):
                    raise
                await asyncio.sleep(float(self.backoff) * 2**attempt)

    def _vote_items(self, items: list, n_classes: int) -> VoteResult:
        responses = self._fetch(items)
        k = int(self.k)
        answers = np.full((len(items), k), ABSTAIN, dtype=np.int64)
        kappa = np.zeros((len(items), k))
        for i, resp in enumerate(responses):  # parsing is per answer (strings); the vote is vectorised
            for r, (ans, conf) in enumerate(resp[:k]):
                answers[i, r] = parse_answer(ans, self.classes)
                kappa[i, r] = conf
        if (answers >= n_classes).any():
            raise ValueError(f"the labeler answered a class index >= n_classes ({n_classes})")
        self.answers_, self.confidences_ = answers, kappa
        return vote(answers, n_classes, kappa, self.rule)

    # ------------------------------------------------------------------ teacher API
    def _n_classes(self, y, n_classes) -> int:
        if n_classes is not None:
            K = int(n_classes)
        elif self.classes is not None:
            K = len(self.classes)
        elif y is not None and (np.asarray(y) >= 0).any():
            K = int(np.asarray(y).max()) + 1
        else:
            raise ValueError("cannot tell the number of classes: pass classes=[...] or n_classes=")
        if self.classes is not None and len(self.classes) != K:
            raise ValueError(f"classes has {len(self.classes)} names but the task has {K} classes")
        return K

    def transduce(self, X, y=None, sample_weight=None, *, n_classes: int | None = None) -> np.ndarray:
        """Probabilities for every row of ``X``; rows with a label get one-hot unless ``query_labeled``."""
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {self.rule!r}")
        items = self._rows_to_items(X)
        n = len(items)
        y = np.full(n, -1, dtype=np.int64) if y is None else np.asarray(y, dtype=np.int64)
        if len(y) != n:
            raise ValueError(f"y has {len(y)} entries but X has {n} rows")
        K = self._n_classes(y, n_classes)
        self.n_classes_ = K
        ask = np.ones(n, dtype=bool) if self.query_labeled else (y < 0)
        probs = np.zeros((n, K))
        lab = np.flatnonzero(~ask)
        probs[lab, y[lab]] = 1.0
        self.vote_share_ = np.where(ask, 0.0, 1.0)
        self.vote_label_ = np.where(ask, ABSTAIN, y)
        rows = np.flatnonzero(ask)
        if len(rows):
            res = self._vote_items([items[i] for i in rows], K)
            probs[rows] = res.probs
            self.vote_share_[rows] = res.confidence
            self.vote_label_[rows] = res.label
            if int(self.n_bootstrap) > 0:
                self.stability_ = np.ones(n)
                self.stability_[rows] = bootstrap_stability(
                    self.answers_, K, self.confidences_, self.rule, int(self.n_bootstrap), self.random_state
                )
        return probs

    def fit(self, X, y=None, sample_weight=None, *, n_classes: int | None = None) -> ExternalLabeler:
        """Nothing is learned; records the class count (and, with ``items``, the row → item map)."""
        if self.items is not None:
            self._rows_to_items(X)
        self.n_classes_ = self._n_classes(y, n_classes)
        return self

    @property
    def predicts_new_rows(self) -> bool:
        """False in ``items`` mode (rows map to stored items); SelfTrainer then gives it no
        weight in ``predict_proba`` by default."""
        return self.items is None

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "n_classes_")
        items = self._lookup(X)
        return self._vote_items(items, self.n_classes_).probs if items else np.zeros((0, self.n_classes_))

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_cache_obj", None)  # an open SQLite connection is not copyable; reopened on use
        return state


def _normalise_responses(raw, k: int) -> list:
    """A labeler's return value → exactly k ``[answer, κ]`` pairs (missing answers abstain, κ 1)."""
    if raw is None or isinstance(raw, str | bytes) or not hasattr(raw, "__iter__"):
        raise TypeError(f"a labeler must return a list of k answers per item; got {raw!r}")
    out = []
    for r in list(raw)[:k]:
        if isinstance(r, tuple | list) and len(r) == 2:
            ans, conf = r
        else:
            ans, conf = r, 1.0
        ans = _jsonable(ans)
        conf = float(1.0 if conf is None else conf)
        if not np.isfinite(conf) or conf < 0:
            raise ValueError(f"answer confidence must be finite and >= 0 (larger = surer); got {conf}")
        out.append([ans, conf])
    out += [[None, 1.0]] * (k - len(out))
    return out
