"""What only a real Neo4j shows: read-committed isolation under concurrent
writers, bookmarks across sessions, routing and direct URIs, and the server's
error codes as the store's typed errors."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import astuple
from pathlib import Path

import pytest

from cmdb.model import Action, ChangeSet, HistoryEntry
from cmdb.store.cypher.neo4j_server import Neo4jServer
from cmdb.store.cypher.store import CypherStore
from cmdb.store.cypher.transport import ConstraintViolation, Unit
from tests.builders import T0
from tests.integration.stores.neo4j_fixture import clear_indexes, neo4j_store, neo4j_transport

WRITERS = 4
BATCHES = 25
ROWS = 5


def history_batch(writer: int, batch: int) -> ChangeSet:
    return ChangeSet(history=[
        HistoryEntry(f"w{writer}-b{batch}-{i}", "ci", Action.UPDATE, {"name": ["a", "b"]}, "aws", f"r{writer}", T0)
        for i in range(ROWS)
    ])


def test_concurrent_writers_get_distinct_gapless_history_sequence_numbers(neo4j_server: Neo4jServer) -> None:
    """Each writer its own store (driver, sessions), all appending history at once.

    Read committed lets two transactions read the counter before either writes it;
    only a statement that locks the counter before reading it gives every entry its
    own number.
    """
    with neo4j_store(neo4j_server):
        pass  # an empty database with its constraints
    stores = [CypherStore(neo4j_transport(neo4j_server)) for _ in range(WRITERS)]
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait(timeout=60)
            for b in range(BATCHES):
                stores[n].apply(history_batch(n, b))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    try:
        assert errors == []
        entries = [h for page in stores[0].iter_history() for h in page]
        seqs = Counter(h.seq for h in entries)
        assert {seq for seq, n in seqs.items() if n > 1} == set()
        assert set(seqs) == set(range(1, WRITERS * BATCHES * ROWS + 1))
        # Within one batch, entries keep their order.
        for n in range(WRITERS):
            for b in range(BATCHES):
                mine = [h.seq for h in entries if h.subject_uid.startswith(f"w{n}-b{b}-")]
                assert mine == sorted(mine) and len(mine) == ROWS
    finally:
        for store in stores:
            store.close()


@pytest.mark.parametrize("scheme", ["bolt", "neo4j"])
def test_direct_and_routing_uris_both_reach_the_store(neo4j_server: Neo4jServer, scheme: str) -> None:
    from cmdb.store.factory import open_store

    with neo4j_store(neo4j_server):
        pass
    store = open_store(f"{scheme}://127.0.0.1:{neo4j_server.port}", env={})
    try:
        store.apply(history_batch(0, 0))
        assert [h.subject_uid for page in store.iter_history() for h in page] == [f"w0-b0-{i}" for i in range(ROWS)]
    finally:
        store.close()


def test_sessions_share_bookmarks_so_a_read_follows_every_write(neo4j_server: Neo4jServer) -> None:
    with neo4j_store(neo4j_server) as store:
        transport = store.transport
        assert isinstance(transport, type(neo4j_transport(neo4j_server)))
        before = set(transport.bookmarks.get_bookmarks())
        store.apply(history_batch(0, 0))
        after_write = set(transport.bookmarks.get_bookmarks())
        assert after_write and after_write != before  # the write's commit is what later sessions wait for
        # A read in a new session is given those bookmarks and sees the write.
        assert len(store.history("w0-b0-0")) == 1
        # ...and reading adds no commit of its own to wait for.
        assert set(transport.bookmarks.get_bookmarks()) == after_write


def test_a_uniqueness_violation_is_a_constraint_violation_and_writes_nothing(neo4j_server: Neo4jServer) -> None:
    with neo4j_store(neo4j_server) as store:
        store.transport.write([Unit(store.statements.upsert_runs, {"rows": [
            {"run_id": "r1", "source": "aws", "scope": "s1", "started_at": T0, "job": None, "finished_at": None,
             "status": "running", "counts": "{}", "errors": "[]"}]})])
        with pytest.raises(ConstraintViolation, match="ConstraintValidationFailed"):
            store.transport.write([
                Unit("CREATE (:CmdbKey {key: 'k', uid: 'u'})", {}),
                Unit("CREATE (:CmdbRun {run_id: 'r1'})", {}),
            ])
        assert store.find_keys(["k"]) == {}  # the first statement was rolled back with the second


def test_no_server_is_store_unavailable(neo4j_server: Neo4jServer) -> None:
    from cmdb.store.cypher.falkordb_server import free_port
    from cmdb.store.cypher.neo4j_transport import Neo4jOptions, Neo4jTransport
    from cmdb.store.cypher.transport import StoreUnavailable

    transport = Neo4jTransport(Neo4jOptions(uri=f"bolt://127.0.0.1:{free_port()}", max_retry_seconds=0.5,
                                            connection_timeout=2))
    try:
        with pytest.raises(StoreUnavailable):
            transport.read("RETURN 1", {})
    finally:
        transport.close()


def test_the_topology_index_loads_the_same_from_neo4j_as_from_sqlite(neo4j_server: Neo4jServer, tmp_path: Path) -> None:
    from cmdb.topology.index import TopologyIndex
    from tests.builders import Harness
    from tests.unit.changes.change_scenario import base_items, pool_items

    def load(h: Harness) -> tuple[set[tuple[str, str, str]], tuple[int, ...]]:
        h.run(base_items(), source="sample", scope="base")
        h.run(pool_items(), source="aws", scope="pool")
        index = TopologyIndex.load(h.store, h.schema)
        view = index.view()
        assert index.stats is not None
        return {(view.name(n), view.class_name(n), view.status(n)) for n in range(len(index))}, astuple(index.stats)

    sqlite = Harness(tmp_path / "cmdb.sqlite")
    try:
        expected = load(sqlite)
    finally:
        sqlite.store.close()
    with neo4j_store(neo4j_server) as store:
        got = load(Harness(tmp_path / "unused", store=store))
    assert len(expected[0]) > 10
    assert got == expected


def test_every_statement_sent_to_neo4j_is_in_the_linted_catalogue(neo4j_server: Neo4jServer, tmp_path: Path) -> None:
    """The linter gate (test_cypher_lint.py) checks the catalogue; this checks the catalogue is what is sent.

    A workload touching every store method the product uses: schema, ingest with
    aging over several runs, purge-free reads, search shapes, export.
    """
    import io

    from cmdb.model import CIQuery
    from cmdb.store.cypher.ddl import NEO4J_AWAIT_INDEXES, NEO4J_SHOW_INDEXES, neo4j_ddl
    from cmdb.store.cypher.statements import Statements, attribute_list_as_map
    from cmdb.store.transfer import export_store
    from schema import load_schema
    from tests.builders import DAY, Harness
    from tests.unit.changes.change_scenario import base_items, pool_items

    with neo4j_store(neo4j_server):
        pass
    clear_indexes(neo4j_server)
    transport = neo4j_transport(neo4j_server)
    transport.sent = []
    store = CypherStore(transport, load_schema(), batch_size=7)  # small: several pages per read
    try:
        assert store.init_schema()  # created from scratch: the DDL is sent too
        h = Harness(tmp_path / "unused", store=store)
        for members in ((1, 2, 3), (1, 2), (1,), (1,), (1,)):
            h.run(base_items(), source="sample", scope="base")
            h.run(pool_items(members), source="aws", scope="pool")
            h.clock.advance(DAY)
        uid = h.all_cis()[0].uid
        # Searches with attribute filters are linted in one shape per operator (test_cypher_lint.py).
        store.search(CIQuery(classes=("cloud_instance",), text="web"))
        store.neighbours([uid])
        store.history(uid)
        store.get_relationships([r.uid for r in h.all_rels()][:3])
        export_store(store, io.BytesIO())
    finally:
        store.close()
    schema = load_schema()
    catalogue = {text for _, text in Statements(schema).catalogue()} | set(neo4j_ddl(schema))
    catalogue |= {NEO4J_SHOW_INDEXES, NEO4J_AWAIT_INDEXES}
    # CI statements naming their attributes are checked in their map form (attribute_list_as_map).
    sent = {attribute_list_as_map(text) for text in transport.sent}
    assert len(sent) > 30
    assert sent <= catalogue, sorted(sent - catalogue)


LOCK = "MATCH (c:CmdbCounter {name: $name}) SET c.value = c.value + 1"


def test_a_deadlock_is_retried_by_the_managed_transaction(neo4j_server: Neo4jServer) -> None:
    """A real deadlock (Neo.TransientError.Transaction.DeadlockDetected) hits the transport's
    transaction; the driver runs the transaction function again and the write succeeds."""
    import neo4j

    with neo4j_store(neo4j_server) as store:
        store.transport.write([Unit("CREATE (:CmdbCounter {name: 'a', value: 0}), (:CmdbCounter {name: 'b', value: 0})",
                                    {})])
        transport = store.transport
        holds_b, holds_a = threading.Event(), threading.Event()
        attempts: list[int] = []
        holder_error: list[BaseException] = []

        def holder() -> None:
            try:
                with neo4j.GraphDatabase.driver(neo4j_server.url, auth=None) as driver, driver.session() as session:
                    tx = session.begin_transaction()
                    tx.run(LOCK, name="b").consume()
                    holds_b.set()
                    assert holds_a.wait(timeout=120)
                    tx.run(LOCK, name="a").consume()  # waits for the transport's first attempt
                    tx.commit()
            except BaseException as exc:
                holder_error.append(exc)

        def blocked_transactions() -> int:
            with neo4j.GraphDatabase.driver(neo4j_server.url, auth=None) as driver:
                records, _, _ = driver.execute_query(
                    "SHOW TRANSACTIONS YIELD status WHERE status STARTS WITH 'Blocked' RETURN count(*) AS n")
            return int(records[0]["n"])

        def work(tx: neo4j.ManagedTransaction) -> int:
            attempts.append(1)
            tx.run(LOCK, name="a").consume()
            if len(attempts) == 1:
                holds_a.set()
                deadline = time.monotonic() + 120
                while blocked_transactions() == 0:  # the holder now waits for "a"
                    assert time.monotonic() < deadline, "the holder never blocked"
                    time.sleep(0.05)
            tx.run(LOCK, name="b").consume()  # closes the cycle on the first attempt
            return len(attempts)

        thread = threading.Thread(target=holder)
        thread.start()
        assert holds_b.wait(timeout=120)
        assert transport._run(neo4j.WRITE_ACCESS, work) == 2  # type: ignore[attr-defined]
        thread.join(timeout=120)
        assert holder_error == []
        rows = store.transport.read("MATCH (c:CmdbCounter) WHERE c.name IN ['a', 'b'] RETURN c.name, c.value "
                                    "ORDER BY c.name", {})
        assert rows == [("a", 2), ("b", 2)]  # the holder's and the retried write, once each
