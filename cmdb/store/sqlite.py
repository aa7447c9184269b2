"""The embedded default store: one SQLite file in WAL mode, no server.

One connection per thread (WAL lets readers run beside the single writer); every
``apply`` is one transaction, so a reader never sees half a batch.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from cmdb.model import (
    CI,
    Action,
    ChangeSet,
    CIHead,
    CIQuery,
    HistoryEntry,
    Lifecycle,
    Page,
    Provenance,
    Relationship,
    RelEvidence,
    RunStatus,
    ScanRun,
    Sighting,
)
from cmdb.store.change_feed_sqlite import DDL as _FEED_DDL
from cmdb.store.change_feed_sqlite import SQLiteChangeFeed
from cmdb.store.protocol import AgingCandidate, Direction, EdgeRow, NodeRow, StoreCounts
from cmdb.store.sqlite_connections import ThreadConnections
from schema import Schema

log = logging.getLogger(__name__)

_CHUNK = 500  # host parameters per IN (...) list, well under SQLite's limit

_DDL = """
CREATE TABLE IF NOT EXISTS cis (
    uid TEXT PRIMARY KEY,
    class TEXT NOT NULL,
    status TEXT NOT NULL,
    name TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    parent_uid TEXT,
    duplicate_of TEXT,
    attrs TEXT NOT NULL,
    prov TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cis_class ON cis(class, uid);
CREATE INDEX IF NOT EXISTS cis_name ON cis(name);
CREATE TABLE IF NOT EXISTS id_keys (
    key TEXT NOT NULL,
    uid TEXT NOT NULL,
    PRIMARY KEY (key, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS id_keys_uid ON id_keys(uid);
CREATE TABLE IF NOT EXISTS rels (
    uid TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    src TEXT NOT NULL,
    dst TEXT NOT NULL,
    status TEXT NOT NULL,
    attrs TEXT NOT NULL,
    evidence TEXT NOT NULL,
    last_run TEXT,
    prev_evidence TEXT,
    prev_run TEXT
);
CREATE INDEX IF NOT EXISTS rels_src ON rels(src, type);
CREATE INDEX IF NOT EXISTS rels_dst ON rels(dst, type);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_uid TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    action TEXT NOT NULL,
    changes TEXT NOT NULL,
    source TEXT NOT NULL,
    run_id TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS history_subject ON history(subject_uid, seq);
CREATE TABLE IF NOT EXISTS sightings (
    subject_uid TEXT NOT NULL,
    source TEXT NOT NULL,
    scope TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    run_id TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    missed INTEGER NOT NULL DEFAULT 0,
    prev_run_id TEXT,
    prev_seen_at INTEGER,
    prev_missed INTEGER,
    PRIMARY KEY (subject_uid, source, scope)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sightings_scope ON sightings(source, scope, subject_uid);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    scope TEXT NOT NULL,
    job TEXT,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    status TEXT NOT NULL,
    counts TEXT NOT NULL,
    errors TEXT NOT NULL,
    owner TEXT,
    heartbeat_at INTEGER,
    job_run_id TEXT,
    scan_started_at INTEGER,
    scan_finished_at INTEGER
);
CREATE TABLE IF NOT EXISTS ci_attrs (
    name TEXT NOT NULL,
    value,
    uid TEXT NOT NULL,
    PRIMARY KEY (name, value, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ci_attrs_uid ON ci_attrs(uid);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_scope ON runs(source, scope, started_at);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_at);
CREATE INDEX IF NOT EXISTS runs_running ON runs(started_at) WHERE status = 'running';
"""

# Columns added after the tables first shipped: (table, column, type), added to older files on open.
# The ``prev_*`` columns hold what a sighting or a relationship's evidence was before its last
# run, so that a run closed as abandoned can be taken back (``abandon_run``).
_ADDED_COLUMNS = (
    ("rels", "prev_evidence", "TEXT"), ("rels", "prev_run", "TEXT"),
    ("sightings", "prev_run_id", "TEXT"), ("sightings", "prev_seen_at", "INTEGER"),
    ("sightings", "prev_missed", "INTEGER"),
    ("runs", "owner", "TEXT"), ("runs", "heartbeat_at", "INTEGER"),
    ("runs", "job_run_id", "TEXT"), ("runs", "scan_started_at", "INTEGER"), ("runs", "scan_finished_at", "INTEGER"),
)

_WAL_SIZE_LIMIT = 8 * 1024 * 1024  # bytes a reset WAL is cut back to (journal_size_limit)
_CHECKPOINT_BUSY_MS = 200  # how long a checkpoint waits for readers before trying again next time

_OPS = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _dumps(value: Any) -> str:
    # No lenient fallback: a value that is not plain JSON is a bug upstream, and
    # failing here rolls the whole batch back.
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


_loads = orjson.loads


_ATTRIBUTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _attr_expr(name: str) -> str:
    """``json_extract(attrs, '$.name')`` for a validated attribute name (literal, so indexes apply)."""
    if not _ATTRIBUTE_NAME.fullmatch(name):
        raise ValueError(f"invalid attribute name {name!r}")
    return f"json_extract(attrs, '$.{name}')"


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


# A run seeing a relationship or a sighting again first keeps what it was before that
# run (``prev_*``, once per run: later batches of the same run leave it), so that the run
# can be taken back if it is abandoned. UPDATE's right-hand sides read the row as it was.
_UPSERT_REL = (
    "INSERT INTO rels(uid, type, src, dst, status, attrs, evidence, last_run) VALUES (?,?,?,?,?,?,?,?)"
    " ON CONFLICT(uid) DO UPDATE SET"
    " prev_evidence=CASE WHEN rels.last_run IS excluded.last_run THEN rels.prev_evidence ELSE rels.evidence END,"
    " prev_run=CASE WHEN rels.last_run IS excluded.last_run THEN rels.prev_run ELSE rels.last_run END,"
    " status=excluded.status, attrs=excluded.attrs, evidence=excluded.evidence, last_run=excluded.last_run"
)
_UPDATE_REL = (  # parameters: status, attrs, evidence, last run, uid
    "UPDATE rels SET prev_evidence = CASE WHEN last_run IS ?4 THEN prev_evidence ELSE evidence END,"
    " prev_run = CASE WHEN last_run IS ?4 THEN prev_run ELSE last_run END,"
    " status = ?1, attrs = ?2, evidence = ?3, last_run = ?4 WHERE uid = ?5"
)
_SIGHT_UIDS = (  # "WHERE true": SQLite's parser needs it between an upsert's SELECT and ON CONFLICT
    "INSERT INTO sightings(subject_uid, source, scope, subject_kind, run_id, seen_at, missed)"
    " SELECT j.value, ?, ?, ?, ?, ?, 0 FROM json_each(?) AS j WHERE true"
    " ON CONFLICT(subject_uid, source, scope) DO UPDATE SET"
    " prev_run_id=CASE WHEN sightings.run_id = excluded.run_id THEN sightings.prev_run_id ELSE sightings.run_id END,"
    " prev_seen_at=CASE WHEN sightings.run_id = excluded.run_id THEN sightings.prev_seen_at"
    " ELSE sightings.seen_at END,"
    " prev_missed=CASE WHEN sightings.run_id = excluded.run_id THEN sightings.prev_missed ELSE sightings.missed END,"
    " run_id=excluded.run_id, seen_at=MAX(sightings.seen_at, excluded.seen_at), missed=0"
)
_LIFECYCLE = {m.value: m for m in Lifecycle}
_ACTIVE = Lifecycle.ACTIVE.value
_EMPTY = "{}"
_CI_COLUMNS = "uid, class, status, name, created_at, updated_at, parent_uid, duplicate_of, attrs, prov"
_REL_COLUMNS = "uid, type, src, dst, status, attrs, evidence, last_run"


# The decoders index columns by position (the order of _CI_COLUMNS / _REL_COLUMNS,
# which is also the tables' order for SELECT *): they run once per CI and per
# relationship an ingest reads, so they take plain tuples as well as Rows.
def _ci_from_row(row: sqlite3.Row | tuple[Any, ...]) -> CI:
    return CI(
        row[0], row[1], _loads(row[8]),
        {k: Provenance(*v) for k, v in _loads(row[9]).items()},
        _LIFECYCLE[row[2]], row[4], row[5], row[6], row[7],
    )


def _ci_row(ci: CI) -> tuple[Any, ...]:
    prov = {k: ([p.source, p.observed_at, True] if p.hearsay else [p.source, p.observed_at]) for k, p in ci.provenance.items()}
    name = ci.attributes.get("name")
    return (
        ci.uid, ci.ci_class, ci.status.value, None if name is None else str(name), ci.created_at,
        ci.updated_at, ci.parent_uid, ci.duplicate_of, _dumps(ci.attributes), _dumps(prov),
    )


def _rel_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Relationship:
    attrs = row[5]
    return Relationship(
        row[0], row[1], row[2], row[3], {} if attrs == _EMPTY else _loads(attrs),
        RelEvidence(*_loads(row[6])), _LIFECYCLE[row[4]], row[7],
    )


def _rel_row(rel: Relationship) -> tuple[Any, ...]:
    return (rel.uid, rel.type, rel.source_uid, rel.target_uid, *_rel_state(rel), rel.last_run)


def _rel_state(rel: Relationship) -> tuple[str, str, str]:
    """The columns a relationship seen again rewrites, but its last run: status, attributes, evidence."""
    ev = rel.evidence
    status = rel.status
    return (
        # Enum.value is a descriptor call; nearly every relationship written is active.
        _ACTIVE if status is Lifecycle.ACTIVE else status.value,
        _dumps(rel.attributes) if rel.attributes else _EMPTY,
        orjson.dumps((ev.sources, ev.first_seen, ev.last_seen, ev.times_seen, ev.method, ev.confidence)).decode(),
    )


def _history_from_row(row: sqlite3.Row) -> HistoryEntry:
    return HistoryEntry(
        subject_uid=row["subject_uid"],
        subject_kind=row["subject_kind"],
        action=Action(row["action"]),
        changes=_loads(row["changes"]),
        source=row["source"],
        run_id=row["run_id"],
        at=row["at"],
        seq=row["seq"],
    )


def _run_from_row(row: sqlite3.Row) -> ScanRun:
    return ScanRun(
        run_id=row["run_id"],
        source=row["source"],
        scope=row["scope"],
        job=row["job"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        status=RunStatus(row["status"]),
        counts=_loads(row["counts"]),
        errors=_loads(row["errors"]),
        owner=row["owner"],
        heartbeat_at=row["heartbeat_at"],
        job_run_id=row["job_run_id"],
        scan_started_at=row["scan_started_at"],
        scan_finished_at=row["scan_finished_at"],
    )


def _configure(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA cache_size=-65536")
    # Checkpoint (and fsync) every ~40 MB of WAL rather than every 4 MB:
    # ingest commits a batch at a time and would otherwise checkpoint constantly.
    conn.execute("PRAGMA wal_autocheckpoint=10000")
    # A WAL is reused from its start after a checkpoint but never shrinks by itself: cut it
    # back to this size whenever it is reset, so one big ingest does not leave a large file.
    conn.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")


class SQLiteStore(SQLiteChangeFeed):
    """GraphStore on one SQLite file (with a change feed, ``cmdb.store.change_feed``)."""

    def __init__(self, path: str | Path, schema: Schema | None = None) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._connections = ThreadConnections(self.path, _configure)
        self._local = threading.local()  # per thread: inside a write transaction?
        # Reentrant: a thread inside write_batch() may save its run or apply.
        self._write_lock = threading.RLock()
        conn = self._conn()
        self._add_columns(conn)
        conn.executescript(_DDL + _FEED_DDL)
        self._migrate_evidence(conn)
        self._indexed = self._index_attributes(conn, schema)

    # -- connections -------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection inside one write transaction: committed, or rolled back on any error.

        Inside another one on the same thread (``write_batch``), the outer one decides.
        """
        local = self._local
        if getattr(local, "in_transaction", False):
            yield self._conn()
            return
        with self._write_lock:
            conn = self._conn()
            # IMMEDIATE: the database's write lock now, across processes, before any read
            # (busy-waits up to the connection's timeout while another process writes).
            conn.execute("BEGIN IMMEDIATE")
            local.in_transaction = True
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # SQLite rolls back by itself on some errors (SQLITE_FULL, SQLITE_IOERR, a read-only
                # file): a ROLLBACK then fails with "cannot rollback - no transaction is active",
                # which would hide the real error. Roll back only what is still open.
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        log.warning("rollback after a failed write failed too", exc_info=True)
                raise
            finally:
                local.in_transaction = False

    @contextlib.contextmanager
    def write_batch(self) -> Iterator[None]:
        """One write transaction (``BEGIN IMMEDIATE``) holding a batch's key lookups and its apply.

        Taking the write lock before the lookups serialises identification across
        processes, not only threads: a second ingest waits, then finds the keys the
        first one registered.
        """
        with self._transaction():
            yield

    @staticmethod
    def _add_columns(conn: sqlite3.Connection) -> None:
        """Add the columns of ``_ADDED_COLUMNS`` a file created before them lacks."""
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table, column, kind in _ADDED_COLUMNS:
            if table not in tables:
                continue  # a new file: the DDL creates it whole
            if column not in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
                try:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                except sqlite3.OperationalError as exc:  # another process opening the file added it first
                    if "duplicate column" not in str(exc):
                        raise

    def _migrate_evidence(self, conn: sqlite3.Connection) -> None:
        """Rewrite relationship evidence stored as JSON objects (files before 2026-11-22) as arrays.

        The array, in ``RelEvidence`` field order, is written and read on every
        relationship an ingest touches: half the encoding and decoding of the object.
        """
        if conn.execute("SELECT 1 FROM meta WHERE key = 'evidence_format' AND value = 'array'").fetchone():
            return
        with self._transaction() as conn:
            conn.execute(
                "UPDATE rels SET evidence = json_array(json(json_extract(evidence, '$.sources')),"
                " json_extract(evidence, '$.first_seen'), json_extract(evidence, '$.last_seen'),"
                " json_extract(evidence, '$.times_seen'), json_extract(evidence, '$.method'),"
                " json_extract(evidence, '$.confidence')) WHERE json_type(evidence) = 'object'")
            conn.execute("INSERT INTO meta(key, value) VALUES ('evidence_format', 'array')"
                         " ON CONFLICT(key) DO UPDATE SET value = excluded.value")

    def _index_attributes(self, conn: sqlite3.Connection, schema: Schema | None) -> frozenset[str]:
        """The attributes the schema marks ``indexed``, kept in ``ci_attrs`` for search.

        One narrow (name, value, uid) table instead of an expression index per
        attribute: SQLite re-parses a CI's JSON for every expression index on
        every write, which made each CI insert cost ~27 JSON parses. When the
        schema's set changes, the table is rebuilt from the CIs in one transaction.
        """
        row = conn.execute("SELECT value FROM meta WHERE key = 'indexed_attributes'").fetchone()
        stored = frozenset(_loads(row[0])) if row is not None else None
        if schema is None:
            return stored or frozenset()
        names = frozenset(a.name for c in schema.classes.values() for a in c.attributes.values() if a.indexed)
        if stored == names:
            return names
        for name in names:
            _attr_expr(name)  # validates the name
        with self._transaction() as conn:
            for (index,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'cis_attr_%'").fetchall():
                conn.execute(f'DROP INDEX IF EXISTS "{index}"')  # the earlier per-attribute indexes
            conn.execute("DELETE FROM ci_attrs")
            conn.execute(
                "INSERT OR IGNORE INTO ci_attrs(name, value, uid) SELECT j.key,"
                " CASE WHEN j.type IN ('array', 'object') THEN j.value WHEN j.type = 'true' THEN 1"
                " WHEN j.type = 'false' THEN 0 ELSE j.atom END, cis.uid"
                f" FROM cis, json_each(cis.attrs) AS j WHERE j.key IN ({_marks(len(names))}) AND j.type != 'null'",
                sorted(names))
            conn.execute("INSERT INTO meta(key, value) VALUES ('indexed_attributes', ?)"
                         " ON CONFLICT(key) DO UPDATE SET value = excluded.value", (_dumps(sorted(names)),))
        return names

    def close(self) -> None:
        self._connections.close_all()

    def checkpoint(self) -> bool:
        """Copy the WAL into the database file and truncate the WAL (``PRAGMA wal_checkpoint(TRUNCATE)``).

        For long-running writers (the scheduler after each job run and purge): without it a
        WAL under frequent small commits is checkpointed only passively and keeps its size.
        Waits at most ``_CHECKPOINT_BUSY_MS`` for readers and writers; returns False when
        they kept it from finishing (the next call tries again).
        """
        if self.path == ":memory:":
            return True
        conn = self._conn()
        conn.execute(f"PRAGMA busy_timeout={_CHECKPOINT_BUSY_MS}")
        try:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.OperationalError:  # locked: another connection is checkpointing or writing
            return False
        finally:
            conn.execute("PRAGMA busy_timeout=30000")  # the connection's own (sqlite3.connect(timeout=30))
        return not busy

    # -- identification and writes ---------------------------------------------------
    def find_keys(self, keys: Collection[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for key, uid in self._select_in("id_keys", "key, uid", "key", keys):
            found.setdefault(key, []).append(uid)
        return found

    def _tuples(self) -> sqlite3.Cursor:
        """A cursor on this thread's connection returning plain tuples (cheaper than Rows)."""
        cursor = self._conn().cursor()
        cursor.row_factory = None
        return cursor

    def _select_in(self, table: str, columns: str, key: str, values: Collection[str]) -> Iterable[tuple[Any, ...]]:
        """``columns`` (plain tuples, in no particular order) of the rows of ``table`` whose ``key`` is in ``values``.

        The values go as one JSON array, walked (CROSS JOIN keeps it the outer loop)
        and looked up in the key's index: one statement, prepared once, where
        ``key IN (?, ?, ...)`` is a new statement for every length and has SQLite sort
        the values into a temporary index first (~20% more CPU for the reads of a
        no-change re-ingest). A NUL character does not come through json_each intact,
        so values holding one are asked for that other way.
        """
        distinct = list(set(values))
        array = orjson.dumps(distinct).decode()
        cursor = self._tuples()
        if "\\u0000" not in array:
            qualified = ", ".join(f"{table}.{column.strip()}" for column in columns.split(","))
            return cursor.execute(
                f"SELECT {qualified} FROM json_each(?) AS j CROSS JOIN {table} ON {table}.{key} = j.value", (array,))
        return [row for chunk in _chunks(distinct)
                for row in cursor.execute(f"SELECT {columns} FROM {table} WHERE {key} IN ({_marks(len(chunk))})", chunk)]

    def get_cis(self, uids: Collection[str]) -> dict[str, CI]:
        return {row[0]: _ci_from_row(row) for row in self._select_in("cis", _CI_COLUMNS, "uid", uids)}

    def get_ci_heads(self, uids: Collection[str]) -> dict[str, CIHead]:
        return {row[0]: CIHead._make(row) for row in self._select_in("cis", "uid, class, created_at", "uid", uids)}

    def get_relationships(self, uids: Collection[str]) -> dict[str, Relationship]:
        return {row[0]: _rel_from_row(row) for row in self._select_in("rels", _REL_COLUMNS, "uid", uids)}

    def apply(self, changes: ChangeSet) -> None:
        if not changes:
            return
        with self._transaction() as conn:
            if changes.deleted:
                self._delete(conn, changes.deleted)
            if changes.dropped_sightings:
                conn.executemany("DELETE FROM sightings WHERE subject_uid = ?", [(u,) for u in changes.dropped_sightings])
            if changes.restored_sightings:
                self._restore_sightings(conn, changes.restored_sightings)
            if changes.cis:
                conn.executemany(
                    "INSERT INTO cis(uid, class, status, name, created_at, updated_at, parent_uid, duplicate_of, attrs, prov)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(uid) DO UPDATE SET class=excluded.class,"
                    " status=excluded.status, name=excluded.name, updated_at=excluded.updated_at,"
                    " parent_uid=excluded.parent_uid, duplicate_of=excluded.duplicate_of,"
                    " attrs=excluded.attrs, prov=excluded.prov",
                    [_ci_row(ci) for ci in changes.cis],
                )
                if self._indexed:
                    conn.executemany("DELETE FROM ci_attrs WHERE uid = ?", [(ci.uid,) for ci in changes.cis])
                    conn.executemany("INSERT OR IGNORE INTO ci_attrs(name, value, uid) VALUES (?, ?, ?)",
                                     self._attr_rows(changes.cis))
            if changes.removed_keys:
                conn.executemany("DELETE FROM id_keys WHERE key = ? AND uid = ?", changes.removed_keys)
            if changes.keys:
                conn.executemany("INSERT OR IGNORE INTO id_keys(key, uid) VALUES (?, ?)", changes.keys)
            if changes.relationships:
                self._write_relationships(conn, changes)
            if changes.history:
                conn.executemany(
                    "INSERT INTO history(subject_uid, subject_kind, action, changes, source, run_id, at)"
                    " VALUES (?,?,?,?,?,?,?)",
                    [
                        (h.subject_uid, h.subject_kind, h.action.value, _dumps(h.changes), h.source, h.run_id, h.at)
                        for h in changes.history
                    ],
                )
            if changes.sightings:
                self._sight(conn, changes.sightings)
            self._record_change(conn, changes)

    @staticmethod
    def _write_relationships(conn: sqlite3.Connection, changes: ChangeSet) -> None:
        """Relationships the batch created are upserted; the others, known to exist, updated by uid.

        An update binds five values instead of eight and skips the insert attempt:
        every relationship a run sees again is rewritten (its evidence counts runs).
        Should one of them be gone after all, the upsert writes them all.
        """
        created = {h.subject_uid for h in changes.history if h.subject_kind == "rel" and h.action is Action.CREATE}
        new: list[tuple[Any, ...]] = []
        seen_again: list[tuple[Any, ...]] = []
        for rel in changes.relationships:
            if rel.uid in created:
                new.append(_rel_row(rel))
            else:
                seen_again.append((*_rel_state(rel), rel.last_run, rel.uid))
        if seen_again:
            updated = conn.executemany(_UPDATE_REL, seen_again).rowcount
            if updated != len(seen_again):
                new.extend(_rel_row(rel) for rel in changes.relationships if rel.uid not in created)
        if new:
            conn.executemany(_UPSERT_REL, new)

    @staticmethod
    def _sight(conn: sqlite3.Connection, sightings: Sequence[Sighting]) -> None:
        """Upsert sightings, one statement per (source, scope, kind, run, time) with the uids as a JSON array.

        A batch's sightings share everything but the subject, and binding six
        parameters per row from Python cost more than SQLite's own work (~3.7 s
        of 494k sightings per no-change re-ingest of the 100k estate; ~2.3 s so).
        """
        groups: dict[tuple[str, str, str, str, int], list[str]] = {}
        for s in sightings:
            key = (s.source, s.scope, s.subject_kind, s.run_id, s.seen_at)
            uids = groups.get(key)
            if uids is None:
                uids = groups[key] = []
            uids.append(s.subject_uid)
        for (source, scope, kind, run_id, seen_at), uids in groups.items():
            conn.execute(_SIGHT_UIDS, (source, scope, kind, run_id, seen_at, orjson.dumps(uids).decode()))

    def _attr_rows(self, cis: Sequence[CI]) -> list[tuple[str, Any, str]]:
        """(name, value, uid) of each indexed attribute a CI carries, valued as json_extract would give it."""
        rows = []
        indexed = self._indexed
        for ci in cis:
            for name, value in ci.attributes.items():
                if name in indexed and value is not None:
                    if isinstance(value, bool):
                        value = int(value)
                    elif isinstance(value, (list, dict)):
                        value = orjson.dumps(value).decode()
                    rows.append((name, value, ci.uid))
        return rows

    @staticmethod
    def _delete(conn: sqlite3.Connection, deleted: Sequence[tuple[str, str]]) -> None:
        ci_uids = [(uid,) for kind, uid in deleted if kind == "ci"]
        rel_uids = [(uid,) for kind, uid in deleted if kind == "rel"]
        conn.executemany("DELETE FROM cis WHERE uid = ?", ci_uids)
        conn.executemany("DELETE FROM id_keys WHERE uid = ?", ci_uids)
        conn.executemany("DELETE FROM ci_attrs WHERE uid = ?", ci_uids)
        conn.executemany("DELETE FROM rels WHERE uid = ?", rel_uids)
        conn.executemany("DELETE FROM sightings WHERE subject_uid = ?", ci_uids + rel_uids)

    # -- reads --------------------------------------------------------------------------
    def search(self, query: CIQuery) -> Page:
        where: list[str] = []
        params: list[Any] = []
        if query.classes:
            where.append(f"class IN ({_marks(len(query.classes))})")
            params.extend(query.classes)
        if query.statuses:
            where.append(f"status IN ({_marks(len(query.statuses))})")
            params.extend(s.value for s in query.statuses)
        if query.text:
            # Values only: matching the JSON text would also match attribute names.
            where.append("(uid = ? OR name LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM json_tree(cis.attrs) AS t"
                         " WHERE t.atom IS NOT NULL AND t.atom LIKE ? ESCAPE '\\'))")
            escaped = query.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.extend([query.text, f"%{escaped}%", f"%{escaped}%"])
        for flt in query.filters:
            expr = _attr_expr(flt.attribute)
            if flt.attribute in self._indexed and (flt.op == "contains" or flt.op in _OPS):
                op = "LIKE" if flt.op == "contains" else _OPS[flt.op]
                where.append(f"uid IN (SELECT uid FROM ci_attrs WHERE name = ? AND value {op} ?)")
                params.extend([flt.attribute, f"%{flt.value}%" if flt.op == "contains" else flt.value])
            elif flt.op == "contains":
                where.append(f"{expr} LIKE ?")
                params.append(f"%{flt.value}%")
            elif flt.op in _OPS:
                where.append(f"{expr} {_OPS[flt.op]} ?")
                params.append(flt.value)
            else:
                raise ValueError(f"unknown filter operator {flt.op!r}")
        if query.after:
            where.append("uid > ?")
            params.append(query.after)
        sql = "SELECT * FROM cis"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY uid LIMIT ?"
        params.append(query.limit + 1)
        rows = self._conn().execute(sql, params).fetchall()
        items = [_ci_from_row(r) for r in rows[: query.limit]]
        return Page(items=items, has_next=len(rows) > query.limit, end_cursor=items[-1].uid if items else None)

    def neighbours(
        self,
        uids: Collection[str],
        direction: Direction = Direction.BOTH,
        types: Collection[str] | None = None,
        include_inactive: bool = False,
    ) -> list[Relationship]:
        conn = self._conn()
        seen: dict[str, Relationship] = {}
        columns = {Direction.OUT: ("src",), Direction.IN: ("dst",), Direction.BOTH: ("src", "dst")}[direction]
        type_list = list(types) if types else []
        for chunk in _chunks(list(set(uids))):
            for column in columns:
                sql = f"SELECT * FROM rels WHERE {column} IN ({_marks(len(chunk))})"
                params: list[Any] = list(chunk)
                if type_list:
                    sql += f" AND type IN ({_marks(len(type_list))})"
                    params.extend(type_list)
                if not include_inactive:
                    sql += " AND status != 'retired'"
                for row in conn.execute(sql, params):
                    seen.setdefault(row["uid"], _rel_from_row(row))
        return sorted(seen.values(), key=lambda r: r.uid)

    def history(self, uid: str, limit: int = 1000) -> list[HistoryEntry]:
        rows = self._conn().execute(
            "SELECT * FROM history WHERE subject_uid = ? ORDER BY seq LIMIT ?", (uid, limit)
        )
        return [_history_from_row(r) for r in rows]

    def _paged(self, sql_first: str, sql_next: str, key: str, batch_size: int) -> Iterator[list[sqlite3.Row]]:
        # Own connection: a generator suspended between batches must not hold the
        # thread's connection in the middle of a statement.
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            rows = conn.execute(sql_first, (batch_size,)).fetchall()
            while rows:
                yield rows
                if len(rows) < batch_size:
                    break
                rows = conn.execute(sql_next, (rows[-1][key], batch_size)).fetchall()
        finally:
            conn.close()

    def iter_nodes(self, batch_size: int = 50_000) -> Iterator[list[NodeRow]]:
        cols = ("uid, class, status, name, json_extract(attrs, '$.min_up') AS min_up,"
                " json_extract(attrs, '$.owner') AS owner, json_extract(attrs, '$.uplink') AS uplink FROM cis")
        for rows in self._paged(f"SELECT {cols} ORDER BY uid LIMIT ?",
                                f"SELECT {cols} WHERE uid > ? ORDER BY uid LIMIT ?", "uid", batch_size):
            yield [
                NodeRow(r["uid"], r["class"], r["status"], r["name"],
                        None if r["min_up"] is None else str(r["min_up"]),
                        None if r["owner"] is None else str(r["owner"]),
                        None if r["uplink"] is None else bool(r["uplink"]))
                for r in rows
            ]

    def iter_edges(self, batch_size: int = 50_000) -> Iterator[list[EdgeRow]]:
        cols = ("uid, src, type, dst, json_extract(evidence, '$[4]') AS method,"
                " json_extract(evidence, '$[5]') AS confidence, status FROM rels")
        for rows in self._paged(f"SELECT {cols} ORDER BY uid LIMIT ?",
                                f"SELECT {cols} WHERE uid > ? ORDER BY uid LIMIT ?", "uid", batch_size):
            yield [EdgeRow(r["src"], r["type"], r["dst"], r["method"], float(r["confidence"]), r["status"]) for r in rows]

    def iter_cis(self, batch_size: int = 5_000) -> Iterator[list[CI]]:
        for rows in self._paged("SELECT * FROM cis ORDER BY uid LIMIT ?",
                                "SELECT * FROM cis WHERE uid > ? ORDER BY uid LIMIT ?", "uid", batch_size):
            yield [_ci_from_row(r) for r in rows]

    def iter_relationships(self, batch_size: int = 5_000) -> Iterator[list[Relationship]]:
        for rows in self._paged("SELECT * FROM rels ORDER BY uid LIMIT ?",
                                "SELECT * FROM rels WHERE uid > ? ORDER BY uid LIMIT ?", "uid", batch_size):
            yield [_rel_from_row(r) for r in rows]

    def iter_history(self, batch_size: int = 5_000) -> Iterator[list[HistoryEntry]]:
        for rows in self._paged("SELECT * FROM history ORDER BY seq LIMIT ?",
                                "SELECT * FROM history WHERE seq > ? ORDER BY seq LIMIT ?", "seq", batch_size):
            yield [_history_from_row(r) for r in rows]

    def counts(self) -> StoreCounts:
        conn = self._conn()

        def count(table: str) -> int:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

        return StoreCounts(count("cis"), count("rels"), count("history"), count("runs"))

    # -- scan runs --------------------------------------------------------------------
    def save_run(self, run: ScanRun) -> None:
        with self._write_lock:
            self._save_run(self._conn(), run)

    @staticmethod
    def _save_run(conn: sqlite3.Connection, run: ScanRun) -> None:
        conn.execute(
            "INSERT INTO runs(run_id, source, scope, job, started_at, finished_at, status, counts, errors, owner,"
            " heartbeat_at, job_run_id, scan_started_at, scan_finished_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(run_id) DO UPDATE SET"
            " finished_at=excluded.finished_at, status=excluded.status, counts=excluded.counts,"
            " errors=excluded.errors, job=excluded.job, owner=excluded.owner, heartbeat_at=excluded.heartbeat_at,"
            " job_run_id=excluded.job_run_id, scan_started_at=excluded.scan_started_at,"
            " scan_finished_at=excluded.scan_finished_at",
            (run.run_id, run.source, run.scope, run.job, run.started_at, run.finished_at, run.status.value,
             _dumps(run.counts), _dumps(run.errors), run.owner, run.heartbeat_at, run.job_run_id,
             run.scan_started_at, run.scan_finished_at),
        )

    def unfinished_runs(self) -> list[ScanRun]:
        rows = self._conn().execute("SELECT * FROM runs WHERE status = 'running' ORDER BY started_at, run_id")
        return [_run_from_row(r) for r in rows]

    def abandon_run(self, run: ScanRun) -> None:
        # No index on the run columns (they would cost every ingest): two scans, once per abandoned run.
        with self._transaction() as conn:
            self._save_run(conn, run)
            conn.execute(
                "UPDATE sightings SET run_id = prev_run_id, seen_at = prev_seen_at, missed = prev_missed + missed,"
                " prev_run_id = NULL, prev_seen_at = NULL, prev_missed = NULL"
                " WHERE run_id = ? AND prev_run_id IS NOT NULL", (run.run_id,))
            conn.execute(
                "UPDATE rels SET evidence = prev_evidence, last_run = prev_run, prev_evidence = NULL, prev_run = NULL"
                " WHERE last_run = ? AND prev_evidence IS NOT NULL", (run.run_id,))

    def sighting_scopes(self, source: str, prefix: str) -> list[str]:
        # A loose index scan on sightings_scope (source, scope, ...): one probe per distinct scope.
        rows = self._conn().execute(
            "WITH RECURSIVE s(scope) AS ("
            " SELECT (SELECT MIN(scope) FROM sightings WHERE source = ?1 AND scope >= ?2)"
            " UNION ALL SELECT (SELECT MIN(scope) FROM sightings WHERE source = ?1 AND scope > s.scope)"
            " FROM s WHERE s.scope IS NOT NULL AND substr(s.scope, 1, length(?2)) = ?2)"
            " SELECT scope FROM s WHERE scope IS NOT NULL AND substr(scope, 1, length(?2)) = ?2",
            (source, prefix)).fetchall()
        return [r[0] for r in rows]

    def get_run(self, run_id: str) -> ScanRun | None:
        row = self._conn().execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _run_from_row(row) if row else None

    def list_runs(self, source: str | None = None, scope: str | None = None, limit: int = 50,
                  job: str | None = None) -> list[ScanRun]:
        where, params = [], []  # type: list[str], list[Any]
        if job:
            where.append("job = ?")
            params.append(job)
        if source:
            where.append("source = ?")
            params.append(source)
        if scope:
            where.append("scope = ?")
            params.append(scope)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY started_at DESC, run_id DESC LIMIT ?"
        params.append(limit)
        return [_run_from_row(r) for r in self._conn().execute(sql, params)]

    # -- identification keys and sightings, for export and import ---------------------
    def iter_keys(self, batch_size: int = 5_000) -> Iterator[list[tuple[str, str]]]:
        for rows in self._pages("SELECT key, uid FROM id_keys ORDER BY key, uid", batch_size):
            yield [(r[0], r[1]) for r in rows]

    def iter_sightings(self, batch_size: int = 5_000) -> Iterator[list[tuple[Sighting, int]]]:
        # The Cypher store's order: by the JSON of (subject, source, scope), its sighting id.
        sql = ("SELECT subject_uid, subject_kind, source, scope, run_id, seen_at, missed FROM sightings"
               " ORDER BY json_array(subject_uid, source, scope)")
        for rows in self._pages(sql, batch_size):
            yield [(Sighting(r[0], r[1], r[2], r[3], r[4], r[5]), int(r[6])) for r in rows]

    def _pages(self, sql: str, batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
        """One ordered statement read in pages, on its own connection (see ``_paged``).

        For orders no index serves (sightings by the JSON of their key, the Cypher store's
        order): keyset pages as in ``_paged`` would sort the whole table once per page.
        """
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        try:
            cursor = conn.execute(sql)
            while rows := cursor.fetchmany(batch_size):
                yield rows
        finally:
            conn.close()

    def restore_sightings(self, sightings: Sequence[tuple[Sighting, int]]) -> None:
        with self._transaction() as conn:
            self._restore_sightings(conn, sightings)

    @staticmethod
    def _restore_sightings(conn: sqlite3.Connection, sightings: Sequence[tuple[Sighting, int]]) -> None:
        conn.executemany(
            "INSERT INTO sightings(subject_uid, source, scope, subject_kind, run_id, seen_at, missed)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT(subject_uid, source, scope) DO UPDATE SET"
            " subject_kind=excluded.subject_kind, run_id=excluded.run_id, seen_at=excluded.seen_at,"
            " missed=excluded.missed",
            [(s.subject_uid, s.source, s.scope, s.subject_kind, s.run_id, s.seen_at, missed)
             for s, missed in sightings],
        )

    def sightings_of(self, uids: Collection[str]) -> list[tuple[Sighting, int]]:
        rows = self._select_in("sightings", "subject_uid, subject_kind, source, scope, run_id, seen_at, missed",
                               "subject_uid", list(set(uids)))
        return sorted(((Sighting(*row[:6]), int(row[6])) for row in rows),
                      key=lambda pair: (pair[0].subject_uid, pair[0].source, pair[0].scope))

    # -- aging primitives --------------------------------------------------------------
    def prune_runs(self, finished_before: int) -> int:
        """Delete run records finished before the cutoff, keeping each (source, scope)'s newest run."""
        with self._transaction() as conn:
            return conn.execute(
                "DELETE FROM runs WHERE finished_at IS NOT NULL AND finished_at < ? AND run_id NOT IN ("
                " SELECT run_id FROM runs AS r WHERE r.started_at = ("
                "  SELECT MAX(started_at) FROM runs AS n WHERE n.source = r.source AND n.scope = r.scope))",
                (finished_before,),
            ).rowcount

    def prune_history(self, before: int) -> int:
        """Delete history entries older than the cutoff, keeping each subject's newest entry (its last state)."""
        with self._transaction() as conn:
            return conn.execute(
                "DELETE FROM history WHERE at < ? AND seq NOT IN (SELECT MAX(seq) FROM history GROUP BY subject_uid)",
                (before,),
            ).rowcount

    def mark_missed(self, source: str, scope: str, run_id: str) -> int:
        with self._write_lock:
            cur = self._conn().execute(
                "UPDATE sightings SET missed = missed + 1 WHERE source = ? AND scope = ? AND run_id != ?",
                (source, scope, run_id),
            )
            return cur.rowcount

    def aging_candidates(
        self, source: str, scope: str, run_id: str, after_uid: str | None, limit: int
    ) -> list[AgingCandidate]:
        conn = self._conn()
        rows = conn.execute(
            "SELECT subject_uid, subject_kind FROM sightings WHERE source = ? AND scope = ? AND subject_uid > ?"
            " AND run_id != ? ORDER BY subject_uid LIMIT ?",
            (source, scope, after_uid or "", run_id, limit),
        ).fetchall()
        if not rows:
            return []
        uids = [r["subject_uid"] for r in rows]
        marks = _marks(len(uids))
        summary = {
            r[0]: (int(r[1]), int(r[2]))
            for r in conn.execute(
                f"SELECT subject_uid, MIN(missed), MAX(seen_at) FROM sightings WHERE subject_uid IN ({marks})"
                " GROUP BY subject_uid", uids)
        }
        ci_info = {r[0]: (r[1], r[2]) for r in conn.execute(f"SELECT uid, class, status FROM cis WHERE uid IN ({marks})", uids)}
        rel_info = {r[0]: r[1] for r in conn.execute(f"SELECT uid, status FROM rels WHERE uid IN ({marks})", uids)}
        result: list[AgingCandidate] = []
        for row in rows:
            uid = row["subject_uid"]
            missed, last_seen = summary[uid]
            if row["subject_kind"] == "ci":
                if uid not in ci_info:
                    continue
                cls, status = ci_info[uid]
                result.append(AgingCandidate("ci", uid, cls, status, missed, last_seen))
            else:
                if uid not in rel_info:
                    continue
                result.append(AgingCandidate("rel", uid, None, rel_info[uid], missed, last_seen))
        return result
