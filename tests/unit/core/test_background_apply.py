"""Batches applied in the background while the next is built (cmdb/applier.py).

The result must be exactly what applying every batch inline gives: same CIs,
relationships, history, keys and sightings. The batch being built reads the
store while the previous batch may not have committed yet; a short delay in the
worker's apply (test-only) makes sure those reads really happen before the
commit, so the in-flight view is what gets tested.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import cmdb.ingest
from cmdb.ingest import Ingestor
from cmdb.model import ChangeSet, RunStatus
from cmdb.store.sqlite import SQLiteStore
from discovery.synthetic import EstateSpec, SyntheticEstate
from schema import load_schema
from tests.builders import T0, Clock, obs


class SlowApplyStore(SQLiteStore):
    """The real SQLite store; its apply waits a little first and records the thread it ran in."""

    def __init__(self, path: Path, fail_on: int | None = None) -> None:
        super().__init__(path, load_schema())
        self.threads: set[str] = set()
        self.calls = 0
        self.fail_on = fail_on

    def apply(self, changes: ChangeSet) -> None:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        time.sleep(0.003)
        if self.calls == self.fail_on:  # a fault that cannot be produced on demand with SQLite
            raise ConnectionError("store connection lost")
        super().apply(changes)


def dump(path: Path) -> dict[str, list[Any]]:
    with sqlite3.connect(path) as conn:
        return {
            table: sorted(conn.execute(f"SELECT {columns} FROM {table}").fetchall(), key=repr)
            for table, columns in {
                "cis": "*", "rels": "*", "id_keys": "*", "sightings": "*", "ci_attrs": "*",
                "history": "subject_uid, subject_kind, action, changes, source, run_id, at",
                "runs": "run_id, source, scope, status, counts, errors",
            }.items()
        }


def ingest_estate(path: Path, background: bool, monkeypatch: pytest.MonkeyPatch) -> SlowApplyStore:
    counter = itertools.count()
    monkeypatch.setattr(cmdb.ingest, "new_uid", lambda: f"{next(counter):032x}")  # same uids in both stores
    store = SlowApplyStore(path)
    ingestor = Ingestor(store, load_schema(), clock=Clock(T0), batch_size=23, background_apply=background)
    estate = SyntheticEstate(EstateSpec.for_size(400, seed=3))
    for _ in range(2):  # a first load, then the same again (evidence of every relationship moves)
        for source, scope, items in estate.streams():
            run = ingestor.start_run(source, scope)
            report = ingestor.ingest(run, items)
            assert report.rejected == []
            ingestor.finish_run(run, complete=True)
    return store


def test_background_apply_gives_exactly_the_inline_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inline = ingest_estate(tmp_path / "inline.sqlite", False, monkeypatch)
    background = ingest_estate(tmp_path / "background.sqlite", True, monkeypatch)
    assert inline.threads == {"MainThread"}
    assert {name.rsplit("_", 1)[0] for name in background.threads} == {"cmdb-apply"}
    assert background.calls == inline.calls > 50
    inline_rows, background_rows = dump(tmp_path / "inline.sqlite"), dump(tmp_path / "background.sqlite")
    assert len(inline_rows["cis"]) > 300 and len(inline_rows["rels"]) > 600
    assert background_rows == inline_rows


def test_a_failed_background_batch_raises_and_keeps_the_committed_ones(tmp_path: Path) -> None:
    store = SlowApplyStore(tmp_path / "cmdb.sqlite", fail_on=3)
    ingestor = Ingestor(store, load_schema(), clock=Clock(T0), batch_size=2, background_apply=True)
    items = [obs("host", {"instance_id": f"i-{n}"}, scope="eu") for n in range(10)]
    run = ingestor.start_run("aws", "eu")
    with pytest.raises(ConnectionError, match="store connection lost"):
        ingestor.ingest(run, items)
    # Batches 1 and 2 committed; the third failed, and nothing after it was applied.
    stored = {ci.attributes["instance_id"] for batch in store.iter_cis() for ci in batch}
    assert stored == {"i-0", "i-1", "i-2", "i-3"}
    assert store.calls == 3

    # The run goes on: the same items again are all applied and all sighted by it.
    report = ingestor.ingest(run, items)
    assert (report.created, report.unchanged) == (6, 4)
    ingestor.finish_run(run, complete=False)
    with sqlite3.connect(tmp_path / "cmdb.sqlite") as conn:
        sighted = conn.execute("SELECT COUNT(*) FROM sightings WHERE run_id = ?", (run.run_id,)).fetchone()[0]
    assert sighted == 10
    assert store.get_run(run.run_id) is not None
    assert store.get_run(run.run_id).status is RunStatus.INCOMPLETE  # type: ignore[union-attr]
