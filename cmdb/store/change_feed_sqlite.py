"""The SQLite store's change log (see ``cmdb.store.change_feed``): a table of entries, one per apply.

Always written: every ``apply`` that touches a topology row appends its entry in
the same transaction. ``seq`` is an AUTOINCREMENT key: writers are serialised
(``BEGIN IMMEDIATE``) and a rolled-back insert gives its seq back, so seqs are
consecutive in commit order, and ``sqlite_sequence`` keeps the newest one even
when every entry has been pruned.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from cmdb.model import ChangeSet
from cmdb.store.change_feed import RETENTION_MS, FeedEntry, checked_page, decode, encode, topology_rows

DDL = """
CREATE TABLE IF NOT EXISTS change_feed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS change_feed_at ON change_feed(at);
"""

_POSITION = "SELECT seq FROM sqlite_sequence WHERE name = 'change_feed'"


class SQLiteChangeFeed:
    """The change-log half of ``SQLiteStore`` (it provides ``_conn`` and ``_transaction``)."""

    if TYPE_CHECKING:
        _conn: Callable[[], sqlite3.Connection]
        _transaction: Callable[[], contextlib.AbstractContextManager[sqlite3.Connection]]

    retention_ms: int = RETENTION_MS

    def change_feed_position(self) -> int:
        row = self._conn().execute(_POSITION).fetchone()
        return int(row[0]) if row is not None else 0

    def read_change_feed(self, after: int, limit: int = 100) -> list[FeedEntry]:
        conn = self._conn()
        own = not conn.in_transaction  # one read transaction: the position and the page from one snapshot
        if own:
            conn.execute("BEGIN")
        try:
            row = conn.execute(_POSITION).fetchone()
            rows = conn.execute(
                "SELECT seq, at, payload FROM change_feed WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)).fetchall()
        finally:
            if own:
                conn.execute("COMMIT")
        newest = int(row[0]) if row is not None else 0
        return checked_page(after, newest, [FeedEntry(seq, at, *decode(payload)) for seq, at, payload in rows])

    def _record_change(self, conn: sqlite3.Connection, changes: ChangeSet) -> None:
        """Inside ``apply``'s transaction: append the ChangeSet's topology rows."""
        if not (changes.cis or changes.relationships or changes.deleted):
            return
        nodes, edges = topology_rows(changes)
        if not nodes and not edges:
            return
        now = int(time.time() * 1000)
        conn.execute("INSERT INTO change_feed(at, payload) VALUES (?, ?)", (now, encode(nodes, edges)))
        conn.execute("DELETE FROM change_feed WHERE at < ?", (now - self.retention_ms,))

