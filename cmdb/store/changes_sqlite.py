"""Change records in SQLite: the store's own file (own tables), or one beside it.

Tables are prefixed ``chg_`` so they never collide with the graph store's.
Plans and snapshots are kept as JSON documents (they are read whole).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from cmdb.changes.model import Change, ChangeFilter, ChangeWindow, TimeWindow
from cmdb.changes.plan import ChangePlan, Snapshot
from cmdb.store.sqlite_connections import ThreadConnections

_DDL = """
CREATE TABLE IF NOT EXISTS chg_changes (
    uid TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    requester TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chg_changes_window ON chg_changes(start_ms, end_ms);
CREATE TABLE IF NOT EXISTS chg_change_cis (
    ci_uid TEXT NOT NULL,
    change_uid TEXT NOT NULL,
    PRIMARY KEY (ci_uid, change_uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chg_change_cis_change ON chg_change_cis(change_uid);
CREATE TABLE IF NOT EXISTS chg_windows (
    uid TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chg_window_subjects (
    subject_uid TEXT NOT NULL,
    window_uid TEXT NOT NULL,
    PRIMARY KEY (subject_uid, window_uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chg_window_subjects_window ON chg_window_subjects(window_uid);
CREATE TABLE IF NOT EXISTS chg_plans (
    change_uid TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (change_uid, kind)
);
"""

_CHUNK = 500


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")


class SQLiteChangeRepository:
    """ChangeRepository on one SQLite file (WAL; one connection per thread)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connections = ThreadConnections(self.path, _configure)
        conn = self._conn()
        conn.executescript(_DDL)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(chg_changes)")}
        if "revision" not in columns:  # a file written before revisions existed
            conn.execute("ALTER TABLE chg_changes ADD COLUMN revision INTEGER NOT NULL DEFAULT 0")

    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    def close(self) -> None:
        self._connections.close_all()

    def _write(self, statements: list[tuple[str, Any]], guard: tuple[str, Any] | None = None) -> bool:
        """Run ``statements`` in one write transaction; with ``guard``, only when it returns a row.

        BEGIN IMMEDIATE takes SQLite's write lock before the guard reads, so the check
        and the writes are one atomic step across threads and processes.
        """
        conn = self._conn()
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if guard is not None and conn.execute(*guard).fetchone() is None:
                    conn.execute("ROLLBACK")
                    return False
                for sql, params in statements:
                    if isinstance(params, list):
                        conn.executemany(sql, params)
                    else:
                        conn.execute(sql, params)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return True

    # -- changes ---------------------------------------------------------------------
    @staticmethod
    def _change_rows(change: Change) -> list[tuple[str, Any]]:
        return [
            ("INSERT INTO chg_changes(uid, state, requester, start_ms, end_ms, body, revision) VALUES (?,?,?,?,?,?,?)"
             " ON CONFLICT(uid) DO UPDATE SET state=excluded.state, requester=excluded.requester,"
             " start_ms=excluded.start_ms, end_ms=excluded.end_ms, body=excluded.body, revision=excluded.revision",
             (change.uid, change.state.value, change.requester, change.window.start, change.window.end,
              change.model_dump_json(), change.revision)),
            ("DELETE FROM chg_change_cis WHERE change_uid = ?", (change.uid,)),
            ("INSERT OR IGNORE INTO chg_change_cis(ci_uid, change_uid) VALUES (?, ?)",
             [(ci, change.uid) for ci in change.cis]),
        ]

    def save_change(self, change: Change) -> None:
        self._write(self._change_rows(change))

    def commit_change(self, change: Change, expected_revision: int, plan: ChangePlan | None = None,
                      snapshot: Snapshot | None = None) -> bool:
        rows = self._change_rows(change)
        if plan is not None:
            rows.append(("INSERT OR REPLACE INTO chg_plans(change_uid, kind, at, body) VALUES (?, 'latest', ?, ?)",
                         (plan.change_uid, plan.computed_at, plan.model_dump_json())))
        if snapshot is not None:
            rows.append(("INSERT OR REPLACE INTO chg_plans(change_uid, kind, at, body) VALUES (?, 'approved', ?, ?)",
                         (snapshot.change_uid, snapshot.approved_at, snapshot.model_dump_json())))
        return self._write(rows, guard=("SELECT 1 FROM chg_changes WHERE uid = ? AND revision = ?",
                                        (change.uid, expected_revision)))

    def get_change(self, uid: str) -> Change | None:
        row = self._conn().execute("SELECT body FROM chg_changes WHERE uid = ?", (uid,)).fetchone()
        return Change.model_validate_json(row[0]) if row else None

    def list_changes(self, query: ChangeFilter) -> list[Change]:
        where: list[str] = []
        params: list[Any] = []
        if query.states:
            where.append(f"state IN ({','.join('?' * len(query.states))})")
            params.extend(s.value for s in query.states)
        if query.ci:
            where.append("uid IN (SELECT change_uid FROM chg_change_cis WHERE ci_uid = ?)")
            params.append(query.ci)
        if query.overlapping is not None:
            where.append("start_ms < ? AND end_ms > ?")
            params.extend([query.overlapping.end, query.overlapping.start])
        if query.requester:
            where.append("requester = ?")
            params.append(query.requester)
        if query.after is not None:
            where.append("(start_ms > ? OR (start_ms = ? AND uid > ?))")
            params.extend([query.after[0], query.after[0], query.after[1]])
        sql = "SELECT body FROM chg_changes" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY start_ms, uid LIMIT ?"
        params.append(query.limit)
        return [Change.model_validate_json(r[0]) for r in self._conn().execute(sql, params)]

    # -- windows -----------------------------------------------------------------------
    def save_window(self, window: ChangeWindow) -> None:
        self._write([
            ("INSERT INTO chg_windows(uid, kind, start_ms, end_ms, body) VALUES (?,?,?,?,?)"
             " ON CONFLICT(uid) DO UPDATE SET kind=excluded.kind, start_ms=excluded.start_ms,"
             " end_ms=excluded.end_ms, body=excluded.body",
             (window.uid, window.kind.value, window.window.start, window.window.end, window.model_dump_json())),
            ("DELETE FROM chg_window_subjects WHERE window_uid = ?", (window.uid,)),
            ("INSERT OR IGNORE INTO chg_window_subjects(subject_uid, window_uid) VALUES (?, ?)",
             [(s, window.uid) for s in window.subjects]),
        ])

    def delete_window(self, uid: str) -> bool:
        exists = self._conn().execute("SELECT 1 FROM chg_windows WHERE uid = ?", (uid,)).fetchone() is not None
        self._write([("DELETE FROM chg_windows WHERE uid = ?", (uid,)),
                     ("DELETE FROM chg_window_subjects WHERE window_uid = ?", (uid,))])
        return exists

    def windows_for(self, subjects: list[str], overlapping: TimeWindow | None = None) -> list[ChangeWindow]:
        found: dict[str, ChangeWindow] = {}
        conn = self._conn()
        unique = sorted(set(subjects))
        for i in range(0, len(unique), _CHUNK):
            chunk = unique[i : i + _CHUNK]
            sql = ("SELECT w.uid, w.body FROM chg_windows w JOIN chg_window_subjects s ON s.window_uid = w.uid"
                   f" WHERE s.subject_uid IN ({','.join('?' * len(chunk))})")
            params: list[Any] = list(chunk)
            if overlapping is not None:
                sql += " AND w.start_ms < ? AND w.end_ms > ?"
                params.extend([overlapping.end, overlapping.start])
            for uid, body in conn.execute(sql, params):
                found.setdefault(uid, ChangeWindow.model_validate_json(body))
        return sorted(found.values(), key=lambda w: (w.window.start, w.uid))

    def list_windows(self) -> list[ChangeWindow]:
        rows = self._conn().execute("SELECT body FROM chg_windows ORDER BY start_ms, uid")
        return [ChangeWindow.model_validate_json(r[0]) for r in rows]

    # -- plans and snapshots -------------------------------------------------------------
    def save_plan(self, plan: ChangePlan) -> None:
        self._write([("INSERT OR REPLACE INTO chg_plans(change_uid, kind, at, body) VALUES (?, 'latest', ?, ?)",
                      (plan.change_uid, plan.computed_at, plan.model_dump_json()))])

    def latest_plan(self, change_uid: str) -> ChangePlan | None:
        row = self._conn().execute(
            "SELECT body FROM chg_plans WHERE change_uid = ? AND kind = 'latest'", (change_uid,)).fetchone()
        return ChangePlan.model_validate_json(row[0]) if row else None

    def save_snapshot(self, snapshot: Snapshot) -> None:
        self._write([("INSERT OR REPLACE INTO chg_plans(change_uid, kind, at, body) VALUES (?, 'approved', ?, ?)",
                      (snapshot.change_uid, snapshot.approved_at, snapshot.model_dump_json()))])

    def get_snapshot(self, change_uid: str) -> Snapshot | None:
        row = self._conn().execute(
            "SELECT body FROM chg_plans WHERE change_uid = ? AND kind = 'approved'", (change_uid,)).fetchone()
        return Snapshot.model_validate_json(row[0]) if row else None
