"""ChangeFollower: an index kept current from the store's change feed equals a fresh load, whoever wrote.

Each "process" here is its own SQLiteStore instance on one file (its own connections),
as two API workers or a server and ``cmdb ingest`` are.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmdb.ingest import Ingestor
from cmdb.model import ChangeSet, rel_uid
from cmdb.observation import Method
from cmdb.store.sqlite import SQLiteStore
from cmdb.topology import TopologyIndex
from cmdb.topology.follower import ChangeFollower
from tests.builders import Harness, obs, ref, rel
from tests.unit.topology.test_index import SCHEMA, answers


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Harness, Harness]]:
    """Two writers on one file."""
    a, b = Harness(tmp_path / "cmdb.sqlite"), Harness(tmp_path / "cmdb.sqlite")
    yield a, b
    a.store.close()
    b.store.close()


def _uids(store: SQLiteStore) -> list[str]:
    return sorted(r.uid for batch in store.iter_nodes() for r in batch)


def _same_as_fresh(follower: ChangeFollower, store: SQLiteStore) -> None:
    uids = _uids(store)
    assert len(follower.index) == len(uids)
    assert answers(follower.index, uids) == answers(TopologyIndex.load(store, SCHEMA), uids)


def _stack(h: Harness, n: int, scope: str = "s1") -> None:
    """An application on n hosts, its traffic to a database."""
    h.run([obs("application", {"name": "shop"}, {"min_up": 1}, source="manual", scope="hand"),
           obs("database", {"db_id": "orders"}, source="manual", scope="hand")], source="manual", scope="hand")
    h.run([obs("host", {"instance_id": f"i-{i}"}, scope=scope) for i in range(n)]
          + [rel("RUNS_ON", ref("application", name="shop"), ref("host", instance_id=f"i-{i}"), scope=scope)
             for i in range(n)], scope=scope)
    h.run([rel("CONNECTS_TO", ref("application", name="shop"), ref("database", db_id="orders"), source="manual",
               scope="flows", method=Method.TRAFFIC, confidence=0.5)], source="manual", scope="flows")


def test_changes_another_process_writes_reach_the_index(pair: tuple[Harness, Harness]) -> None:
    a, b = pair
    follower = ChangeFollower.load(b.sqlite, SCHEMA)
    assert len(follower.index) == 0
    _stack(a, 3)
    assert follower.catch_up() == a.sqlite.change_feed_position() > 0
    _same_as_fresh(follower, b.sqlite)
    shop = a.find("application", name="shop").uid
    host0 = a.find("host", instance_id="i-0").uid
    # The traffic edge's confidence grows with the next run that sees it; the index follows.
    a.run([rel("CONNECTS_TO", ref("application", name="shop"), ref("database", db_id="orders"), source="manual",
               scope="flows", method=Method.TRAFFIC, confidence=0.5)], source="manual", scope="flows")
    a.store.apply(ChangeSet(deleted=[("rel", rel_uid(shop, "RUNS_ON", host0))]))
    follower.catch_up()
    _same_as_fresh(follower, b.sqlite)
    assert follower.catch_up() == 0  # nothing new: one query, nothing applied


def test_own_and_other_writes_interleaved_end_where_the_store_is(pair: tuple[Harness, Harness]) -> None:
    a, b = pair
    follower = ChangeFollower.load(b.sqlite, SCHEMA)
    b.ingestor.listeners.append(follower.after_apply)
    _stack(a, 2)
    shop = a.find("application", name="shop").uid
    host1 = a.find("host", instance_id="i-1").uid
    # b deletes a relationship a wrote, then a writes it again: only the order of the feed gets this right.
    deletion = ChangeSet(deleted=[("rel", rel_uid(shop, "RUNS_ON", host1))])
    b.store.apply(deletion)
    follower.after_apply(deletion)  # as b's listeners would be told
    a.run([rel("RUNS_ON", ref("application", name="shop"), ref("host", instance_id="i-1"))])
    b.run([obs("host", {"instance_id": "i-9"}, scope="b"),
           rel("RUNS_ON", ref("application", name="shop"), ref("host", instance_id="i-9"), scope="b")], scope="b")
    assert follower.position == b.sqlite.change_feed_position()
    _same_as_fresh(follower, b.sqlite)
    assert follower.reloads == 0


def test_a_follower_whose_next_entry_was_pruned_reloads(pair: tuple[Harness, Harness]) -> None:
    a, b = pair
    follower = ChangeFollower.load(b.sqlite, SCHEMA)
    a.sqlite.retention_ms = 0
    _stack(a, 2)
    # The store prunes entries written before the current millisecond (retention 0); entries of
    # the millisecond the next write lands in would stay. Wait, bounded, until the clock has left
    # the millisecond of the newest entry, so the next write prunes every earlier one.
    newest = a.sqlite.read_change_feed(a.sqlite.change_feed_position() - 1)[0].at
    deadline = time.monotonic() + 5
    while int(time.time() * 1000) <= newest:
        assert time.monotonic() < deadline, "the clock did not advance in 5 s"
    a.run([obs("host", {"instance_id": "i-7"}, scope="s7")], scope="s7")
    assert [e.seq for e in a.sqlite.read_change_feed(a.sqlite.change_feed_position() - 1)] == [
        a.sqlite.change_feed_position()]
    follower.catch_up()
    assert follower.reloads == 1 and follower.position == a.sqlite.change_feed_position()
    _same_as_fresh(follower, b.sqlite)


def test_following_in_the_background(pair: tuple[Harness, Harness]) -> None:
    a, b = pair
    follower = ChangeFollower.load(b.sqlite, SCHEMA)
    follower.follow(interval=0.02)
    try:
        _stack(a, 2)
        deadline = time.monotonic() + 10
        while follower.position < a.sqlite.change_feed_position():
            assert time.monotonic() < deadline, "the background follower did not catch up in 10 s"
            time.sleep(0.01)
    finally:
        follower.stop()
    _same_as_fresh(follower, b.sqlite)


def test_an_ingestor_with_the_follower_as_listener_sees_its_own_batches(tmp_path: Path) -> None:
    h = Harness(tmp_path / "cmdb.sqlite")
    try:
        follower = ChangeFollower.load(h.sqlite, SCHEMA)
        ingestor = Ingestor(h.store, SCHEMA, clock=h.clock, listeners=[follower.after_apply])
        with ingestor.run("aws", "s1") as run:
            run.ingest([obs("host", {"instance_id": "i-1"})])
        assert follower.position == h.sqlite.change_feed_position() == 1
        _same_as_fresh(follower, h.sqlite)
    finally:
        h.store.close()
