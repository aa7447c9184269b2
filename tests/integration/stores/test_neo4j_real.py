"""What only a real Neo4j shows: read-committed isolation under concurrent
writers, bookmarks across sessions, routing and direct URIs, and the server's
error codes as the store's typed errors."""

from __future__ import annotations

import threading
from collections import Counter

import neo4j
import pytest

from cmdb.model import Action, ChangeSet, HistoryEntry
from cmdb.store.cypher.neo4j_server import Neo4jServer
from cmdb.store.cypher.store import CypherStore
from cmdb.store.cypher.transport import ConstraintViolation, Unit
from tests.builders import T0
from tests.integration.stores.neo4j_fixture import neo4j_store, neo4j_transport

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
