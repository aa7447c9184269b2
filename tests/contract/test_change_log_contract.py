"""The store-owned change log, on every store (SQLite, FalkorDB, real Neo4j): written with each
apply, positions consecutive in commit order under concurrent writers, pruned past retention,
and "reload whole" for a reader whose next entry is gone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from cmdb.model import ChangeSet, Lifecycle, rel_uid
from cmdb.store.change_feed import ChangeFeedStore, FeedEntry, ReloadWhole
from cmdb.store.protocol import EdgeRow, GraphStore, NodeRow
from cmdb.topology import TopologyIndex
from cmdb.topology.follower import ChangeFollower
from schema import load_schema
from tests.contract.test_store_contract import make_ci, make_rel

SCHEMA = load_schema()


def _log(store: GraphStore) -> ChangeFeedStore:
    assert isinstance(store, ChangeFeedStore), f"{type(store).__name__} keeps no change log"
    return store


def _all(store: GraphStore, after: int = 0) -> list[FeedEntry]:
    log = _log(store)
    entries: list[FeedEntry] = []
    while True:
        page = log.read_change_feed(after, 7)  # small pages: the paging is exercised too
        if not page:
            return entries
        entries += page
        after = page[-1].seq


def _stored(store: GraphStore) -> tuple[set[NodeRow], set[EdgeRow]]:
    return {r for b in store.iter_nodes() for r in b}, {r for b in store.iter_edges() for r in b}


def _next_ms(after: float) -> None:
    """Return once the clock has left the millisecond ``after`` (ms) was in: waits on the clock, bounded."""
    deadline = time.monotonic() + 1
    while int(time.time() * 1000) <= int(after):
        assert time.monotonic() < deadline


def test_each_apply_appends_the_rows_it_left_in_the_store(store: GraphStore) -> None:
    log = _log(store)
    assert log.change_feed_position() == 0 and log.read_change_feed(0) == []
    store.apply(ChangeSet(cis=[make_ci("a", "application", name="shop", owner="web-team", min_up="2")]))
    store.apply(ChangeSet(cis=[make_ci("h", name="web-1")],
                          relationships=[make_rel("a", "RUNS_ON", "h", method="traffic", confidence=0.4)]))
    entries = _all(store)
    assert [e.seq for e in entries] == [1, 2] and log.change_feed_position() == 2
    nodes, edges = _stored(store)
    assert set(entries[0].nodes) == {r for r in nodes if r.uid == "a"} and entries[0].edges == []
    assert set(entries[1].nodes) == {r for r in nodes if r.uid == "h"}
    assert set(entries[1].edges) == edges == {EdgeRow("a", "RUNS_ON", "h", "traffic", 0.4, "active")}
    assert log.read_change_feed(1) == entries[1:] and log.read_change_feed(2) == []


def test_a_deleted_relationship_is_logged_retired_and_bookkeeping_alone_logs_nothing(store: GraphStore) -> None:
    log = _log(store)
    store.apply(ChangeSet(cis=[make_ci("a", "application", name="shop"), make_ci("h")],
                          relationships=[make_rel("a", "RUNS_ON", "h")]))
    store.apply(ChangeSet(keys=[("k#x", "h")]))  # no topology row: no entry
    assert log.change_feed_position() == 1
    store.apply(ChangeSet(deleted=[("rel", rel_uid("a", "RUNS_ON", "h"))]))
    [entry] = log.read_change_feed(1)
    assert entry.seq == 2 and entry.nodes == []
    assert entry.edges == [EdgeRow("a", "RUNS_ON", "h", "declared", 0.0, Lifecycle.RETIRED.value)]


def test_concurrent_writers_get_unique_consecutive_positions_one_per_change_set(store: GraphStore) -> None:
    """Four threads (each store call its own transaction, SQLite connection or driver session)
    apply ten ChangeSets each at once: positions 1..40, no gap, one entry per ChangeSet."""
    writers, per_writer = 4, 10
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(w: int) -> None:
        try:
            start.wait(timeout=30)
            for i in range(per_writer):
                store.apply(ChangeSet(cis=[make_ci(f"w{w}-{i}-{k}", name=f"n{w}-{i}-{k}") for k in range(3)]))
        except BaseException as exc:  # reported below, with the thread's error
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures, failures
    entries = _all(store)
    assert [e.seq for e in entries] == list(range(1, writers * per_writer + 1))
    assert _log(store).change_feed_position() == writers * per_writer
    assert {frozenset(n.uid for n in e.nodes) for e in entries} == {
        frozenset(f"w{w}-{i}-{k}" for k in range(3)) for w in range(writers) for i in range(per_writer)}
    # Each writer's own ChangeSets appear in the order it applied them (commit order).
    for w in range(writers):
        mine = [e.nodes[0].uid.split("-")[1] for e in entries if e.nodes[0].uid.startswith(f"w{w}-")]
        assert mine == [str(i) for i in range(per_writer)]


def test_past_retention_entries_are_pruned_and_a_reader_behind_gets_reload_whole(store: GraphStore) -> None:
    log = _log(store)
    log.retention_ms = 0  # every entry written in an earlier millisecond goes with the next write
    for i in range(3):
        store.apply(ChangeSet(cis=[make_ci(f"h{i}", name=f"web-{i}")]))
        _next_ms(time.time() * 1000)  # the next entry is written in a later millisecond
    assert log.change_feed_position() == 3  # the position survives the pruning
    assert [e.seq for e in log.read_change_feed(2)] == [3]
    for behind in (0, 1):
        with pytest.raises(ReloadWhole) as answer:
            log.read_change_feed(behind)
        assert answer.value.position == 3
    with pytest.raises(ReloadWhole):  # a reader ahead of the store (it was replaced)
        log.read_change_feed(9)


def _same_as_fresh(follower: ChangeFollower, store: GraphStore) -> None:
    fresh = TopologyIndex.load(store, SCHEMA)
    uids = sorted(r.uid for b in store.iter_nodes() for r in b)
    assert len(follower.index) == len(fresh) == len(uids)
    view, other = follower.index.view(), fresh.view()
    assert {view.nodes.uids[i] for i in range(view.n)} == {other.nodes.uids[i] for i in range(other.n)}


@pytest.mark.parametrize("behind_retention", [False, True])
def test_a_follower_ends_where_the_store_is_reloading_when_behind(store: GraphStore, behind_retention: bool) -> None:
    from tests.unit.topology.test_index import answers

    log = _log(store)
    store.apply(ChangeSet(cis=[make_ci("a", "application", name="shop", min_up="1")]))
    follower = ChangeFollower.load(log, SCHEMA)  # type: ignore[arg-type]
    assert follower.position == 1
    if behind_retention:
        log.retention_ms = 0
    write: Callable[[ChangeSet], None] = store.apply
    for i in range(3):
        write(ChangeSet(cis=[make_ci(f"h{i}")], relationships=[make_rel("a", "RUNS_ON", f"h{i}")]))
        _next_ms(time.time() * 1000)
    write(ChangeSet(deleted=[("rel", rel_uid("a", "RUNS_ON", "h0"))]))
    follower.catch_up()
    assert follower.position == log.change_feed_position() == 5
    assert follower.reloads == (1 if behind_retention else 0)
    _same_as_fresh(follower, store)
    uids = ["a", "h0", "h1", "h2"]
    assert answers(follower.index, uids) == answers(TopologyIndex.load(store, SCHEMA), uids)
