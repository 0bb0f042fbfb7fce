"""`LabelStore`: every human label in one SQLite file — append-only, versioned, never lost.

Schema (``SCHEMA_VERSION``):

* ``events`` – one row per decision, never updated or deleted (triggers refuse it): ``seq``,
  ``row_id``, ``label`` (NULL = the row's label was withdrawn by an undo), ``previous`` (the row's
  label before), ``version`` (the row's version after this event: 1, 2, …), ``action`` (``label``,
  ``accept``, ``correct``, ``undo``, ``import``), ``user``, ``ts`` (UTC ISO-8601), ``strategy`` (the
  queue that proposed the row), ``suggestion`` and ``confidence`` (what the model showed),
  ``run`` (the run whose model it was), ``source`` (``review``, ``import``, ``labelstudio``, ``api``);
* ``current`` – a view: each row's latest event (its label and version);
* ``meta`` – ``classes`` (JSON), ``target``, ``created``; ``audit_strata`` / ``audit_rows`` – the
  stratified audit sample of a run (strata sizes and each sampled row's stratum and position);
  ``skips`` – rows a user skipped (not labels).

Durability: WAL journal, ``synchronous=FULL`` (a commit is on disk before it returns), every
write one ``BEGIN IMMEDIATE`` transaction, so a process killed mid-write loses nothing that was
committed and leaves no partial event. Concurrency: a write names the version of the row it saw
(``expected_version``); if the row moved on meanwhile, :class:`VersionConflict` says who changed
it to what, and nothing is written.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 15_000
"""How long a writer waits for another one's transaction before giving up (SQLite busy timeout)."""
ACTIONS = ("label", "accept", "correct", "undo", "import")
SOURCES = ("review", "import", "labelstudio", "api")
MAX_LABEL_LENGTH = 200
MAX_FIELD_LENGTH = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    row_id TEXT NOT NULL,
    label TEXT,
    previous TEXT,
    version INTEGER NOT NULL CHECK (version >= 1),
    action TEXT NOT NULL,
    user TEXT NOT NULL,
    ts TEXT NOT NULL,
    strategy TEXT,
    suggestion TEXT,
    confidence REAL,
    run TEXT,
    source TEXT NOT NULL,
    UNIQUE (row_id, version)
);
CREATE INDEX IF NOT EXISTS events_row ON events (row_id, seq);
CREATE INDEX IF NOT EXISTS events_user ON events (user, seq);
CREATE VIEW IF NOT EXISTS current AS
    SELECT e.* FROM events e
    JOIN (SELECT row_id, MAX(seq) AS seq FROM events GROUP BY row_id) last USING (row_id, seq);
CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the label history is append-only: events cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the label history is append-only: events cannot be deleted'); END;
CREATE TABLE IF NOT EXISTS audit_strata (run TEXT NOT NULL, stratum INTEGER NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (run, stratum));
CREATE TABLE IF NOT EXISTS audit_rows (run TEXT NOT NULL, row_id TEXT NOT NULL, stratum INTEGER NOT NULL,
    position INTEGER NOT NULL, pseudo_label TEXT NOT NULL, PRIMARY KEY (run, row_id));
CREATE TABLE IF NOT EXISTS skips (user TEXT NOT NULL, row_id TEXT NOT NULL, ts TEXT NOT NULL);
"""


class StoreError(ValueError):
    """A request the store refuses; nothing was written."""


class UnknownClass(StoreError):
    pass


class VersionConflict(StoreError):
    """The row changed since the writer looked at it: ``current`` is its latest event."""

    def __init__(self, row_id: str, expected: int, current: dict | None):
        self.row_id, self.expected, self.current = row_id, expected, current
        if current is None:
            what = "has no label any more"
        else:
            what = (f"is now at version {current['version']}: {current['user']} set it to {current['label']!r} "
                    f"({current['action']}) at {current['ts']}")
        super().__init__(f"row {row_id!r} changed while you were looking at it (you saw version {expected}); it {what}. "
                         "Your label was not saved: reload the row, then label it again if it is still wrong.")


@dataclass(frozen=True)
class Label:
    """A label to write: ``row_id`` → ``label`` (None withdraws it), and its provenance."""

    row_id: str
    label: str | None
    action: str = "label"
    expected_version: int | None = None
    strategy: str | None = None
    suggestion: str | None = None
    confidence: float | None = None
    run: str | None = None
    user: str | None = None  # overrides write()'s user (an import from a tool with several annotators)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def row_key(value) -> str:
    """The store's key of a row id: its text (``5``, ``"a7"``); integral floats lose the ``.0``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "item"):
        return row_key(value.item())
    return str(value)


class LabelStore:
    """A label store at ``path`` (created with its schema on first use).

    classes : the label values the store accepts (stored on creation; a later different list is
        refused unless it only adds classes). None = accept any label.
    """

    def __init__(self, path: str | os.PathLike, classes: Iterable | None = None, target: str | None = None):
        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise StoreError(f"label store {self.path} is a directory; pass a file path such as {self.path / 'labels.db'}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(_SCHEMA)
            con.execute("BEGIN IMMEDIATE")
            try:
                meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
                if "schema" not in meta:
                    con.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                    con.execute("INSERT INTO meta VALUES ('created', ?)", (now(),))
                elif int(meta["schema"]) > SCHEMA_VERSION:
                    raise StoreError(f"{self.path} was written by a newer pseudolabel (schema {meta['schema']})")
                if classes is not None:
                    new = [str(c) for c in classes]
                    old = json.loads(meta["classes"]) if "classes" in meta else None
                    if old is None:
                        con.execute("INSERT OR REPLACE INTO meta VALUES ('classes', ?)", (json.dumps(new),))
                    elif old != new:
                        if not set(old) <= set(new):
                            raise StoreError(f"{self.path} holds labels for the classes {old}; the run has {new}")
                        con.execute("UPDATE meta SET value = ? WHERE key = 'classes'", (json.dumps(new),))
                if target is not None and "target" not in meta:
                    con.execute("INSERT INTO meta VALUES ('target', ?)", (str(target),))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # ---------------------------------------------------------------- connections
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        try:
            con.row_factory = sqlite3.Row
            con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if con.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                raise StoreError(f"{self.path}: the file system does not support SQLite's WAL mode")
            con.execute("PRAGMA synchronous = FULL")
            con.execute("PRAGMA foreign_keys = ON")
            yield con
        finally:
            con.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One atomic write transaction (``BEGIN IMMEDIATE``: the write lock up front, so the
        version read inside cannot be overtaken)."""
        with self._connect() as con:
            for attempt in range(5):
                try:
                    con.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:  # busy beyond the timeout: retry a few times
                    if "locked" not in str(exc) or attempt == 4:
                        raise
                    time.sleep(0.05 * (attempt + 1))
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # ---------------------------------------------------------------- reading
    @property
    def classes(self) -> list[str] | None:
        with self._connect() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'classes'").fetchone()
        return None if row is None else json.loads(row[0])

    def meta(self) -> dict:
        with self._connect() as con:
            return dict(con.execute("SELECT key, value FROM meta").fetchall())

    def current(self, row_id=None) -> dict | None | dict[str, dict]:
        """The latest event of ``row_id`` (None if never labeled), or of every row (dict by row id)."""
        with self._connect() as con:
            if row_id is not None:
                row = con.execute("SELECT * FROM current WHERE row_id = ?", (row_key(row_id),)).fetchone()
                return None if row is None else dict(row)
            return {r["row_id"]: dict(r) for r in con.execute("SELECT * FROM current ORDER BY seq")}

    def labels(self) -> dict[str, str]:
        """Row id → current human label (withdrawn labels left out)."""
        return {k: v["label"] for k, v in self.current().items() if v["label"] is not None}

    def version(self, row_id) -> int:
        cur = self.current(row_id)
        return 0 if cur is None else int(cur["version"])

    def versions(self) -> dict[str, int]:
        return {k: int(v["version"]) for k, v in self.current().items()}

    def history(self, row_id=None, user: str | None = None) -> list[dict]:
        """Every event, oldest first (of one row and/or one user)."""
        sql, args = "SELECT * FROM events WHERE 1=1", []
        if row_id is not None:
            sql += " AND row_id = ?"
            args.append(row_key(row_id))
        if user is not None:
            sql += " AND user = ?"
            args.append(user)
        with self._connect() as con:
            return [dict(r) for r in con.execute(sql + " ORDER BY seq", args)]

    def count(self) -> dict:
        with self._connect() as con:
            n_events = con.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            n_labeled = con.execute("SELECT COUNT(*) FROM current WHERE label IS NOT NULL").fetchone()[0]
            by_action = dict(con.execute("SELECT action, COUNT(*) FROM current WHERE label IS NOT NULL GROUP BY action").fetchall())
        return {"events": n_events, "labeled_rows": n_labeled, "by_action": by_action}

    def integrity(self) -> str:
        with self._connect() as con:
            return con.execute("PRAGMA integrity_check").fetchone()[0]

    # ---------------------------------------------------------------- writing
    def _check(self, item: Label, classes: list[str] | None) -> Label:
        if item.action not in ACTIONS:
            raise StoreError(f"unknown action {item.action!r}; expected one of {ACTIONS}")
        rid = row_key(item.row_id)
        if not rid or len(rid) > MAX_FIELD_LENGTH:
            raise StoreError(f"row id must be 1-{MAX_FIELD_LENGTH} characters, got {rid[:40]!r}")
        label = None if item.label is None else str(item.label)
        if label is not None:
            if not label.strip() or len(label) > MAX_LABEL_LENGTH:
                raise StoreError(f"a label must be 1-{MAX_LABEL_LENGTH} characters, got {label[:40]!r}")
            if classes is not None and label not in classes:
                raise UnknownClass(f"unknown class {label!r} for row {rid!r}; the classes are: {', '.join(classes)}")
        for name in ("strategy", "run", "suggestion"):
            v = getattr(item, name)
            if v is not None and len(str(v)) > MAX_FIELD_LENGTH * 5:
                raise StoreError(f"{name} is too long")
        if item.expected_version is not None and int(item.expected_version) < 0:
            raise StoreError("expected_version must be >= 0")
        who = None if item.user is None else str(item.user).strip()
        if who is not None and (not who or len(who) > MAX_FIELD_LENGTH):
            raise StoreError(f"user must be 1-{MAX_FIELD_LENGTH} characters")
        return Label(rid, label, item.action, item.expected_version, item.strategy,
                     None if item.suggestion is None else str(item.suggestion),
                     None if item.confidence is None else float(item.confidence), item.run, who)

    def write(self, items: Iterable[Label], *, user: str, source: str = "review", skip_unchanged: bool = False) -> list[dict]:
        """Write every item in one transaction (all or nothing); returns the new events.

        An item with ``expected_version`` set raises :class:`VersionConflict` if the row's version
        differs; ``skip_unchanged`` skips items whose label equals the row's current one (imports)."""
        if source not in SOURCES:
            raise StoreError(f"unknown source {source!r}; expected one of {SOURCES}")
        user = str(user).strip()
        if not user or len(user) > MAX_FIELD_LENGTH:
            raise StoreError(f"user must be 1-{MAX_FIELD_LENGTH} characters")
        classes = self.classes
        checked = [self._check(i, classes) for i in items]
        written = []
        with self._write() as con:
            ts = now()
            for item in checked:
                cur = con.execute("SELECT * FROM current WHERE row_id = ?", (item.row_id,)).fetchone()
                version = 0 if cur is None else int(cur["version"])
                previous = None if cur is None else cur["label"]
                if item.expected_version is not None and int(item.expected_version) != version:
                    raise VersionConflict(item.row_id, int(item.expected_version), None if cur is None else dict(cur))
                if skip_unchanged and previous == item.label:
                    continue
                if item.label is None and previous is None:
                    raise StoreError(f"row {item.row_id!r} has no label to withdraw")
                who = item.user or user
                row = (item.row_id, item.label, previous, version + 1, item.action, who, ts, item.strategy,
                       item.suggestion, item.confidence, item.run, source)
                seq = con.execute(
                    "INSERT INTO events (row_id, label, previous, version, action, user, ts, strategy, suggestion, "
                    "confidence, run, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row).lastrowid
                written.append({"seq": seq, "row_id": item.row_id, "label": item.label, "previous": previous,
                                "version": version + 1, "action": item.action, "user": who, "ts": ts})
        return written

    def set_label(self, row_id, label, *, user: str, expected_version: int | None = None, action: str = "label",
                  strategy: str | None = None, suggestion=None, confidence: float | None = None, run: str | None = None,
                  source: str = "review") -> dict:
        """Label one row (see :meth:`write`); returns its new event."""
        return self.write([Label(row_id, label, action, expected_version, strategy, suggestion, confidence, run)],
                          user=user, source=source)[0]

    def undo(self, *, user: str, row_id=None, expected_version: int | None = None) -> dict:
        """Take back ``user``'s latest decision (on ``row_id``, or their latest anywhere): a new
        ``undo`` event restores the label the row had before it. Refused (VersionConflict) when
        someone else changed the row since."""
        mine = [e for e in self.history(row_id=row_id, user=user) if e["action"] != "undo"]
        if not mine:
            raise StoreError(f"{user} has no label to undo" + ("" if row_id is None else f" on row {row_key(row_id)!r}"))
        last = mine[-1]
        cur = self.current(last["row_id"])
        if cur["seq"] != last["seq"]:
            if cur["action"] == "undo" and cur["user"] == user:
                raise StoreError(f"your latest label on row {last['row_id']!r} is already undone")
            raise VersionConflict(last["row_id"], last["version"], cur)
        version = last["version"] if expected_version is None else expected_version
        return self.set_label(last["row_id"], last["previous"], user=user, expected_version=version, action="undo",
                              strategy=last["strategy"], run=last["run"])

    def skip(self, row_id, *, user: str) -> None:
        with self._write() as con:
            con.execute("INSERT INTO skips VALUES (?, ?, ?)", (user, row_key(row_id), now()))

    def skipped(self, user: str) -> set[str]:
        with self._connect() as con:
            return {r[0] for r in con.execute("SELECT row_id FROM skips WHERE user = ?", (user,))}

    # ---------------------------------------------------------------- audit sample design
    def save_audit_design(self, run: str, sizes: dict[int, int], rows: list[tuple[str, int, int, str]]) -> None:
        """Record a run's stratified audit sample once (strata sizes; row id, stratum, position, pseudo-label)."""
        with self._write() as con:
            if con.execute("SELECT 1 FROM audit_strata WHERE run = ? LIMIT 1", (run,)).fetchone():
                return
            con.executemany("INSERT INTO audit_strata VALUES (?, ?, ?)", [(run, int(h), int(n)) for h, n in sizes.items()])
            con.executemany("INSERT INTO audit_rows VALUES (?, ?, ?, ?, ?)",
                            [(run, row_key(r), int(h), int(pos), str(pl)) for r, h, pos, pl in rows])

    def audit_design(self, run: str) -> tuple[dict[int, int], list[dict]]:
        with self._connect() as con:
            sizes = {int(h): int(n) for h, n in con.execute("SELECT stratum, size FROM audit_strata WHERE run = ?", (run,))}
            rows = [dict(r) for r in con.execute("SELECT * FROM audit_rows WHERE run = ? ORDER BY position", (run,))]
        return sizes, rows
