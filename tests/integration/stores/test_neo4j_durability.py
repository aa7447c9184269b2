"""Neo4j durability: the server SIGKILLed in the middle of an ingest run.

Neo4j commits each batch durably when its transaction returns (write-ahead
transaction log; recovery on the next start). After the crash and a restart from
the data directory: every finished run is intact with its history, every batch
of the interrupted run is there whole or not at all (each CI with its keys and
its ``create`` entry, each entry with its CI), the interrupted run is not
complete, and re-running it ends in exactly the estate an uninterrupted ingest
produces (no duplicates). Marking the interrupted run abandoned is the run
bookkeeping's work, not the store's.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cmdb.ingest import Ingestor
from cmdb.model import Action, ChangeSet, RunStatus
from cmdb.store.cypher.neo4j_server import Neo4jServer
from cmdb.store.cypher.neo4j_transport import Neo4jOptions, Neo4jTransport
from cmdb.store.cypher.store import CypherStore
from schema import load_schema
from tests.builders import Clock
from tests.integration.stores.test_falkordb_durability import content, ingest, reference_content, streams

SIZE = 400  # the largest run is ~300 items: six batches of 50


class CrashDuring:
    """Passes writes through; once armed, SIGKILLs the server while the n-th ``apply`` is being sent."""

    def __init__(self, store: CypherStore, server: Neo4jServer) -> None:
        self.store, self.server = store, server
        self.armed_at: int | None = None
        self.applied = 0

    def apply(self, changes: ChangeSet) -> None:
        if self.armed_at is not None and self.applied >= self.armed_at:
            # The kill races the transaction: it lands before, during or after its commit,
            # and each must leave the batch whole or absent.
            threading.Thread(target=self.server.kill).start()
        self.store.apply(changes)
        self.applied += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def open_store(server: Neo4jServer) -> CypherStore:
    # Short retries: the server is gone for good, the driver need not wait 30 s for it.
    options = Neo4jOptions(uri=server.url, max_retry_seconds=2, connection_timeout=5)
    return CypherStore(Neo4jTransport(options), load_schema(), batch_size=500)


def history_of(store: CypherStore, run_ids: set[str]) -> list[tuple[Any, ...]]:
    return [(h.seq, h.subject_uid, h.action, h.changes, h.run_id) for page in store.iter_history() for h in page
            if h.run_id in run_ids]


@pytest.mark.timeout(900)
def test_sigkill_mid_ingest_keeps_finished_runs_and_whole_batches(tmp_path: Path) -> None:
    schema = load_schema()
    plan = streams(SIZE)
    interrupted = max(range(len(plan)), key=lambda i: len(plan[i][2]))  # the largest run
    before, during, after = plan[:interrupted], plan[interrupted], plan[interrupted + 1:]

    data_dir = tmp_path / "neo4j"
    server = Neo4jServer(data_dir).start()
    try:
        store = open_store(server)
        store.init_schema()
        crashing = CrashDuring(store, server)
        ingestor = Ingestor(crashing, schema, clock=Clock(), batch_size=50)
        for source, scope, items in before:
            ingest(ingestor, source, scope, items)
        finished_runs = {r.run_id: r for r in store.list_runs(limit=1000)}
        assert len(finished_runs) == len(before)
        finished_history = history_of(store, set(finished_runs))
        assert finished_history

        crashing.armed_at = crashing.applied + 3  # SIGKILL in the middle of the largest run
        run = ingestor.start_run(during[0], during[1])
        with pytest.raises(Exception):  # noqa: B017 - the server is gone: whatever the client raises
            ingestor.ingest(run, during[2])
        assert crashing.applied >= 3  # it really was mid-run: batches of this run had been written
        store.close()
    finally:
        server.kill()

    restarted = Neo4jServer(data_dir).start()  # recovers from the transaction log
    try:
        store = open_store(restarted)
        # Finished runs intact, with their history, numbered as before.
        assert {r.run_id: r for r in store.list_runs(limit=1000) if r.run_id in finished_runs} == finished_runs
        assert history_of(store, set(finished_runs)) == finished_history
        left = store.get_run(run.run_id)
        assert left is not None and left.status is not RunStatus.COMPLETE
        # Nothing half-applied: every CI with a key and its create entry, every create entry with its CI.
        cis = {ci.uid for page in store.iter_cis() for ci in page}
        keyed = {uid for page in store.iter_keys() for _, uid in page}
        created = Counter(h.subject_uid for page in store.iter_history() for h in page
                          if h.action is Action.CREATE and h.subject_kind == "ci")
        assert cis == set(created)
        assert cis <= keyed
        assert {uid for uid, n in created.items() if n > 1} == set()
        seqs = [h.seq for page in store.iter_history() for h in page]
        assert len(seqs) == len(set(seqs))

        ingestor = Ingestor(store, schema, clock=Clock(), batch_size=50)
        for source, scope, items in [during, *after]:
            ingest(ingestor, source, scope, items)
        recovered = content(store)
        store.close()
    finally:
        restarted.stop()

    expected = reference_content(tmp_path / "reference.sqlite", plan, batch_size=50)
    assert recovered[0] == expected[0]  # the same CIs, each once
    assert recovered[1] == expected[1]  # the same relationships
    assert recovered[2] == expected[2]  # history: the interrupted run's batches are not recorded twice
    assert recovered[3] == expected[3] + 1  # the runs, and the interrupted one
