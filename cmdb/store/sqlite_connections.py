"""One SQLite connection per thread, closed when its thread ends.

SQLite connections are cheap to keep but each holds file descriptors (the
database, its WAL and shared-memory files). A long-running process whose work
runs on fresh threads (the scheduler starts threads per run) must not keep the
connection of every thread that ever touched the store.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import weakref
from collections.abc import Callable


class _Owned:
    """A thread's connection, closed when the thread ends.

    The thread-local holds the only reference to this object, so it is freed as
    soon as its thread's locals are (a sqlite3 connection itself sits in
    reference cycles and would wait for a garbage collection, keeping its files open).
    """

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def close(self) -> None:
        with contextlib.suppress(sqlite3.ProgrammingError):
            self.conn.close()

    def __del__(self) -> None:
        self.close()


class ThreadConnections:
    """Each thread's own connection to ``path``, set up by ``configure`` on first use."""

    def __init__(self, path: str, configure: Callable[[sqlite3.Connection], None]) -> None:
        self.path = path
        self._configure = configure
        self._local = threading.local()
        self._live: weakref.WeakSet[_Owned] = weakref.WeakSet()  # lets close_all reach the live ones
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        owned: _Owned | None = getattr(self._local, "owned", None)
        if owned is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._configure(conn)
            owned = self._local.owned = _Owned(conn)
            with self._lock:
                self._live.add(owned)
        return owned.conn

    def live(self) -> int:
        """How many connections are open (for tests and diagnostics)."""
        with self._lock:
            return len(self._live)

    def close_all(self) -> None:
        with self._lock:
            for owned in list(self._live):
                owned.close()
            self._live.clear()
        self._local = threading.local()
