"""FalkorDB durability: each ingest run ends with a completed snapshot, so a
SIGKILL of the server in the middle of a run loses at most that run, in either
layout (one graph, the default; or the topology and its bookkeeping graph, which
one snapshot holds both of).

After the crash and a restart from the data directory: every finished run is
intact with its history (the export is byte-identical to the one taken before
the interrupted run), the interrupted run is absent and aged nothing, and
re-running it ends in exactly the estate an uninterrupted ingest produces (no
duplicates).
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cmdb.ingest import Ingestor
from cmdb.model import ChangeSet
from cmdb.store.cypher.falkordb_server import FalkorDBServer
from cmdb.store.cypher.falkordb_transport import FalkorDBTransport
from cmdb.store.cypher.store import CypherStore
from cmdb.store.protocol import GraphStore
from cmdb.store.sqlite import SQLiteStore
from cmdb.store.transfer import export_store
from labs.synthetic import EstateSpec, SyntheticEstate
from schema import load_schema
from tests.builders import Clock

SIZE = 1200


class CrashAfter:
    """Passes writes through; SIGKILLs the server before the n-th ``apply`` once armed."""

    def __init__(self, store: CypherStore, server: FalkorDBServer) -> None:
        self.store, self.server = store, server
        self.armed_at: int | None = None
        self.applied = 0

    def apply(self, changes: ChangeSet) -> None:
        if self.armed_at is not None and self.applied >= self.armed_at:
            self.server.kill()
        self.store.apply(changes)
        self.applied += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def streams(size: int = SIZE) -> list[tuple[str, str, list[Any]]]:
    return [(src, scope, list(items)) for src, scope, items in SyntheticEstate(EstateSpec.for_size(size, 4.0, 5)).streams()]


def ingest(ingestor: Ingestor, source: str, scope: str, items: list[Any]) -> None:
    with ingestor.run(source, scope) as run:
        run.ingest(items)


def dump(store: GraphStore) -> bytes:
    out = io.BytesIO()
    export_store(store, out)
    return out.getvalue()


def graphs(store: CypherStore) -> set[str]:
    names = store.transport.execute("GRAPH.LIST")  # type: ignore[attr-defined]
    return {n.decode() if isinstance(n, bytes) else n for n in names}


def content(store: GraphStore) -> tuple[Counter[str], Counter[tuple[str, str, str]], int, int]:
    """The estate without store-assigned uids: CIs by class and attributes, relationships by their ends."""
    from cmdb.store.cypher.codec import dumps

    canon: dict[str, str] = {}
    for batch in store.iter_cis():
        for ci in batch:
            assert ci.duplicate_of is None
            canon[ci.uid] = dumps([ci.ci_class, ci.attributes, ci.status.value])
    rels = Counter((r.type, canon[r.source_uid], canon[r.target_uid]) for b in store.iter_relationships() for r in b)
    counts = store.counts()
    return Counter(canon.values()), rels, counts.history, counts.runs


def reference_content(path: Path, plan: list[tuple[str, str, list[Any]]],
                      batch_size: int) -> tuple[Counter[str], Counter[tuple[str, str, str]], int, int]:
    """``content`` of the same plan ingested uninterrupted into a fresh SQLite file at ``path``."""
    schema = load_schema()
    reference = SQLiteStore(path, schema)
    try:
        ingestor = Ingestor(reference, schema, clock=Clock(), batch_size=batch_size)
        for source, scope, items in plan:
            ingest(ingestor, source, scope, items)
        return content(reference)
    finally:
        reference.close()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("bookkeeping", [None, "cmdb_bookkeeping"], ids=["one-graph", "two-graphs"])
def test_sigkill_mid_ingest_loses_only_the_run_in_progress(tmp_path: Path, bookkeeping: str | None) -> None:
    schema = load_schema()
    plan = streams()
    interrupted = max(range(len(plan)), key=lambda i: len(plan[i][2]))  # the largest run
    before, during, after = plan[:interrupted], plan[interrupted], plan[interrupted + 1:]

    data_dir = tmp_path / "falkordb"
    server = FalkorDBServer(data_dir).start()
    try:
        store = CypherStore(FalkorDBTransport(port=server.port, graph="cmdb", bookkeeping_graph=bookkeeping), schema,
                            batch_size=500)
        store.init_schema()
        crashing = CrashAfter(store, server)
        ingestor = Ingestor(crashing, schema, clock=Clock(), batch_size=100)
        for source, scope, items in before:
            ingest(ingestor, source, scope, items)
        finished = dump(store)
        finished_runs = {r.run_id for r in store.list_runs(limit=1000)}
        assert len(finished_runs) == len(before)
        finished_counts = store.counts()
        assert finished_counts.history > 0

        crashing.armed_at = crashing.applied + 8  # SIGKILL in the middle of the largest run
        run = ingestor.start_run(during[0], during[1])
        with pytest.raises(Exception):  # noqa: B017 - the server is gone: whatever the client raises
            ingestor.ingest(run, during[2])
        assert crashing.applied > 1  # it really was mid-run: batches of this run had been written
        store.close()
    finally:
        server.kill()

    restarted = FalkorDBServer(data_dir).start()
    try:
        store = CypherStore(FalkorDBTransport(port=restarted.port, graph="cmdb"), schema, batch_size=500)
        # Every graph comes back from the snapshot (with two, the topology and its bookkeeping:
        # keys, history, sightings, runs), as the last finished run left it.
        assert graphs(store) == {"cmdb"} | ({bookkeeping} if bookkeeping else set())
        assert store.counts() == finished_counts
        # Finished runs intact with their history; the interrupted run absent, nothing aged.
        assert dump(store) == finished
        assert {r.run_id for r in store.list_runs(limit=1000)} == finished_runs
        assert store.get_run(run.run_id) is None

        ingestor = Ingestor(store, schema, clock=Clock(), batch_size=100)
        for source, scope, items in [during, *after]:
            ingest(ingestor, source, scope, items)
        recovered = content(store)
        store.close()
    finally:
        restarted.stop()

    expected = reference_content(tmp_path / "reference.sqlite", plan, batch_size=100)
    assert recovered[0] == expected[0]  # the same CIs, each once
    assert recovered[1] == expected[1]  # the same relationships
    assert recovered[2:] == expected[2:]  # history entries and runs
