"""A write the disk refuses is reported as itself, not as the failed ROLLBACK that followed it.

SQLite rolls a transaction back by itself on SQLITE_FULL; the store's own ROLLBACK then
failed with "cannot rollback - no transaction is active" and hid the real error. The
full disk is SQLite's own: ``PRAGMA max_page_count`` caps the file, and the next write
that needs a page fails with SQLITE_FULL exactly as on a full disk. (The store's
per-thread connection is reached through ``_conn()`` to set the pragma.)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cmdb.ingest import Ingestor
from cmdb.observation import Item
from cmdb.store.sqlite import SQLiteStore
from schema import load_schema
from tests.builders import obs


def _items(n: int, start: int = 0) -> list[Item]:
    return [obs("virtual_machine", {"fqdn": f"vm-{i}.example.com"}, {"name": f"vm-{i}", "description": "x" * 2000},
                source="sample", scope="s") for i in range(start, start + n)]


def test_full_disk_is_reported_as_full_disk(tmp_path: Path) -> None:
    catalog = load_schema()
    store = SQLiteStore(tmp_path / "cmdb.sqlite", catalog)
    ingestor = Ingestor(store, catalog)
    run = ingestor.start_run("sample", "s")
    ingestor.ingest(run, _items(5))
    conn = store._conn()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
        ingestor.ingest(run, _items(200, start=5))
    conn.execute("PRAGMA max_page_count = 1073741823")
    # nothing of the refused batch is stored; the store still takes writes
    names = {c.attributes["name"] for batch in store.iter_cis() for c in batch}
    assert names == {f"vm-{i}" for i in range(5)}
    ingestor.ingest(run, _items(1, start=500))
    assert "vm-500" in {c.attributes["name"] for batch in store.iter_cis() for c in batch}
    store.close()


def test_read_only_database_is_reported_as_read_only(tmp_path: Path) -> None:
    catalog = load_schema()
    store = SQLiteStore(tmp_path / "cmdb.sqlite", catalog)
    ingestor = Ingestor(store, catalog)
    run = ingestor.start_run("sample", "s")
    store._conn().execute("PRAGMA query_only = 1")
    with pytest.raises(sqlite3.OperationalError, match="readonly database"):
        ingestor.ingest(run, _items(3))
    store._conn().execute("PRAGMA query_only = 0")
    store.close()
