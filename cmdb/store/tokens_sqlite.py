"""API token rows in a small SQLite file (digests only, never plaintext)."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from cmdb.tokens import Role, StoredToken, TokenInfo

_DDL = """
CREATE TABLE IF NOT EXISTS api_tokens (
    token_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    sources TEXT NOT NULL DEFAULT '[]',
    scopes TEXT NOT NULL DEFAULT '[]'
);
"""
_COLUMNS = "token_id, name, role, digest, created_at, revoked_at, sources, scopes"


class SQLiteTokenStore:
    """TokenStore on one SQLite file; one connection guarded by a lock (tiny, rare writes)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.executescript(_DDL)
        # Files from before tokens were bound: their collector tokens have no binding (they may write nothing).
        have = {row[1] for row in self._conn.execute("PRAGMA table_info(api_tokens)")}
        for column in ("sources", "scopes"):
            if column not in have:
                self._conn.execute(f"ALTER TABLE api_tokens ADD COLUMN {column} TEXT NOT NULL DEFAULT '[]'")

    @staticmethod
    def _row(row: tuple[str, str, str, str, int, int | None, str, str]) -> StoredToken:
        token_id, name, role, digest, created_at, revoked_at, sources, scopes = row
        info = TokenInfo(token_id=token_id, name=name, role=Role(role), created_at=created_at, revoked_at=revoked_at,
                         sources=tuple(json.loads(sources)), scopes=tuple(json.loads(scopes)))
        return StoredToken(info=info, digest=digest)

    def insert(self, token: StoredToken) -> None:
        info = token.info
        with self._lock:
            self._conn.execute(
                f"INSERT INTO api_tokens({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                (info.token_id, info.name, info.role.value, token.digest, info.created_at, info.revoked_at,
                 json.dumps(list(info.sources)), json.dumps(list(info.scopes))),
            )

    def get(self, token_id: str) -> StoredToken | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM api_tokens WHERE token_id = ?",
                (token_id,),
            ).fetchone()
        return self._row(row) if row else None

    def list(self) -> list[TokenInfo]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM api_tokens ORDER BY created_at"
            ).fetchall()
        return [self._row(r).info for r in rows]

    def revoke(self, token_id: str, at: int) -> bool:
        with self._lock:
            cur = self._conn.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL", (at, token_id)
            )
        return cur.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()
