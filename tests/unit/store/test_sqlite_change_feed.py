"""The SQLite store's change feed: off by default, exact rows per apply, the flag shared by every writer, pruning."""

from __future__ import annotations

import time
from pathlib import Path

from cmdb.model import ChangeSet, rel_uid
from cmdb.observation import Method
from cmdb.store.change_feed import ChangeFeedStore
from cmdb.store.protocol import EdgeRow, NodeRow
from cmdb.store.sqlite import SQLiteStore
from tests.builders import Harness, obs, ref, rel


def _estate(h: Harness) -> tuple[str, str]:
    h.run([obs("application", {"name": "shop"}, {"owner": "web-team", "min_up": 2}, source="manual", scope="hand")],
          source="manual", scope="hand")
    h.run([obs("host", {"instance_id": "i-1"}, {"name": "web-1"}),
           rel("RUNS_ON", ref("application", name="shop"), ref("host", instance_id="i-1"),
               method=Method.TRAFFIC, confidence=0.4)])
    return h.find("application", name="shop").uid, h.find("host", instance_id="i-1").uid


def _stored_rows(store: SQLiteStore) -> tuple[set[NodeRow], set[EdgeRow]]:
    return ({r for batch in store.iter_nodes() for r in batch}, {r for batch in store.iter_edges() for r in batch})


def test_off_by_default_nothing_is_recorded(harness: Harness) -> None:
    assert isinstance(harness.store, ChangeFeedStore)
    _estate(harness)
    assert not harness.store.change_feed_enabled()
    assert harness.store.change_feed_position() == 0
    assert harness.store.read_change_feed(0) == []


def test_each_apply_records_the_rows_iter_nodes_and_iter_edges_give(harness: Harness) -> None:
    harness.store.set_change_feed(True)
    app, host = _estate(harness)
    entries = harness.store.read_change_feed(0)
    # Two ingest batches wrote topology rows (the application, then the host and the relationship).
    assert [e.seq for e in entries] == [1, 2]
    assert harness.store.change_feed_position() == 2
    nodes, edges = _stored_rows(harness.store)
    assert set(entries[0].nodes) == {r for r in nodes if r.uid == app} and entries[0].edges == []
    assert set(entries[1].nodes) == {r for r in nodes if r.uid == host}
    assert set(entries[1].edges) == edges == {EdgeRow(app, "RUNS_ON", host, "traffic", 0.4, "active")}
    assert NodeRow(app, "application", "active", "shop", "2", "web-team") in nodes
    assert harness.store.read_change_feed(1) == entries[1:]
    assert harness.store.read_change_feed(2) == []


def test_a_deleted_relationship_is_recorded_as_retired(harness: Harness) -> None:
    app, host = _estate(harness)
    harness.store.set_change_feed(True)
    harness.store.apply(ChangeSet(deleted=[("rel", rel_uid(app, "RUNS_ON", host))]))
    [entry] = harness.store.read_change_feed(0)
    assert entry.nodes == [] and entry.edges == [EdgeRow(app, "RUNS_ON", host, "declared", 0.0, "retired")]


def test_a_changeset_without_topology_rows_records_nothing(harness: Harness) -> None:
    harness.store.set_change_feed(True)
    harness.store.apply(ChangeSet(keys=[("k#x", "u1")]))
    assert harness.store.change_feed_position() == 0


def test_the_flag_reaches_a_writer_that_opened_before_it_was_set(tmp_path: Path) -> None:
    writer = Harness(tmp_path / "cmdb.sqlite")
    other = SQLiteStore(tmp_path / "cmdb.sqlite")
    try:
        _estate(writer)
        assert writer.store.change_feed_position() == 0
        other.set_change_feed(True)  # e.g. `cmdb serve --workers 2` started beside a running scheduler
        writer.run([obs("host", {"instance_id": "i-2"})])
        assert other.change_feed_position() == 1
        [entry] = other.read_change_feed(0)
        assert [n.uid for n in entry.nodes] == [writer.find("host", instance_id="i-2").uid]
        other.set_change_feed(False)
        writer.run([obs("host", {"instance_id": "i-3"})])
        assert other.change_feed_position() == 1
    finally:
        other.close()
        writer.store.close()


def test_old_entries_are_pruned_and_the_position_survives(harness: Harness) -> None:
    store = harness.store
    store.set_change_feed(True)
    store.retention_ms = 0  # every entry older than the one being written goes
    for i in range(3):
        scope = f"s{i}"  # one scope per run: nothing ages, each run writes one entry
        harness.run([obs("host", {"instance_id": f"i-{i}"}, scope=scope)], scope=scope)
        time.sleep(0.002)
    assert store.change_feed_position() == 3
    assert [e.seq for e in store.read_change_feed(0)] == [3]
