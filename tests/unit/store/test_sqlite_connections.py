"""A thread's SQLite connection ends with the thread: no file descriptor outlives it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cmdb.store.changes_sqlite import SQLiteChangeRepository
from cmdb.store.sqlite import SQLiteStore
from schema import load_schema


def _open_fds(under: Path) -> int:
    """This process's file descriptors open on files under ``under`` (the test's store files only:
    other tests' leftovers opening or closing meanwhile must not count)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed since the listing
            continue
        count += target.startswith(str(under))
    return count


def _in_fresh_threads(work: object, count: int) -> None:
    for _ in range(count):
        thread = threading.Thread(target=work)  # type: ignore[arg-type]
        thread.start()
        thread.join()


def test_connections_of_finished_threads_are_closed(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "cmdb.sqlite", load_schema())
    try:
        _in_fresh_threads(lambda: store.list_runs(limit=1), 3)  # warm-up: WAL and shared-memory files exist
        before = _open_fds(tmp_path)
        _in_fresh_threads(lambda: store.list_runs(limit=1), 200)
        assert _open_fds(tmp_path) == before
        assert store._connections.live() == 1  # the creating thread's own
    finally:
        store.close()
    assert store._connections.live() == 0


def test_a_live_thread_keeps_its_one_connection(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "cmdb.sqlite", load_schema())
    first = store._conn()
    store.list_runs(limit=1)
    assert store._conn() is first and store._connections.live() == 1
    store.close()


def test_the_change_repository_closes_them_too(tmp_path: Path) -> None:
    changes = SQLiteChangeRepository(tmp_path / "changes.sqlite")
    try:
        _in_fresh_threads(lambda: changes._conn().execute("SELECT 1").fetchall(), 3)
        before = _open_fds(tmp_path)
        _in_fresh_threads(lambda: changes._conn().execute("SELECT 1").fetchall(), 200)
        assert _open_fds(tmp_path) == before
        assert changes._connections.live() == 1
    finally:
        changes.close()
