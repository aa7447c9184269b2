"""SQLite's write_batch: one transaction across processes' writers, rolled back whole on an error."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cmdb.model import CI, ChangeSet
from cmdb.store.sqlite import SQLiteStore
from schema import load_schema


def _ci(uid: str) -> CI:
    return CI(uid=uid, ci_class="application", attributes={"name": uid})


def test_a_failed_batch_writes_nothing_and_the_write_lock_is_held_from_the_lookups(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite", load_schema())
    other = sqlite3.connect(tmp_path / "s.sqlite", timeout=0)  # another writer (another process, for SQLite)
    try:
        with pytest.raises(RuntimeError), store.write_batch():
            store.find_keys(["application#|b"])
            # The lock is taken before the lookups: another connection cannot write meanwhile.
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("INSERT INTO meta(key, value) VALUES ('x', 'y')")
            store.apply(ChangeSet(cis=[_ci("b")], keys=[("application#|b", "b")]))
            raise RuntimeError("the batch failed after its apply")
        assert store.get_cis(["b"]) == {} and store.find_keys(["application#|b"]) == {}
        other.execute("INSERT INTO meta(key, value) VALUES ('x', 'y')")  # released
        other.commit()
    finally:
        other.close()
        store.close()
