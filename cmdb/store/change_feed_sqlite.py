"""The SQLite store's change feed (see ``cmdb.store.change_feed``): a table of entries, one per apply.

The ``change_feed`` meta flag is read inside each write transaction, so a writer
that opened the file before the feed was turned on appends from its next apply.
``seq`` is an AUTOINCREMENT key: writers are serialised (``BEGIN IMMEDIATE``),
so seqs are consecutive in commit order and ``sqlite_sequence`` keeps the newest
one even when every entry has been pruned.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from cmdb.model import ChangeSet
from cmdb.store.change_feed import RETENTION_MS, FeedEntry, decode, encode, topology_rows

DDL = """
CREATE TABLE IF NOT EXISTS change_feed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS change_feed_at ON change_feed(at);
"""

_FLAG = "SELECT 1 FROM meta WHERE key = 'change_feed' AND value = 'on'"


class SQLiteChangeFeed:
    """The change-feed half of ``SQLiteStore`` (it provides ``_conn`` and ``_transaction``)."""

    if TYPE_CHECKING:
        _conn: Callable[[], sqlite3.Connection]
        _transaction: Callable[[], contextlib.AbstractContextManager[sqlite3.Connection]]

    retention_ms: int = RETENTION_MS

    def set_change_feed(self, enabled: bool) -> None:
        with self._transaction() as conn:
            conn.execute("INSERT INTO meta(key, value) VALUES ('change_feed', ?)"
                         " ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("on" if enabled else "off",))

    def change_feed_enabled(self) -> bool:
        return self._conn().execute(_FLAG).fetchone() is not None

    def change_feed_position(self) -> int:
        row = self._conn().execute("SELECT seq FROM sqlite_sequence WHERE name = 'change_feed'").fetchone()
        return int(row[0]) if row is not None else 0

    def read_change_feed(self, after: int, limit: int = 100) -> list[FeedEntry]:
        rows = self._conn().execute(
            "SELECT seq, at, payload FROM change_feed WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)).fetchall()
        return [FeedEntry(seq, at, *decode(payload)) for seq, at, payload in rows]

    def _record_change(self, conn: sqlite3.Connection, changes: ChangeSet) -> None:
        """Inside ``apply``'s transaction: append the ChangeSet's topology rows if the feed is on."""
        if not (changes.cis or changes.relationships or changes.deleted):
            return
        if conn.execute(_FLAG).fetchone() is None:
            return
        nodes, edges = topology_rows(changes)
        if not nodes and not edges:
            return
        now = int(time.time() * 1000)
        conn.execute("INSERT INTO change_feed(at, payload) VALUES (?, ?)", (now, encode(nodes, edges)))
        conn.execute("DELETE FROM change_feed WHERE at < ?", (now - self.retention_ms,))

