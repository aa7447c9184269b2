"""The Cypher stores' write lock (``CypherStore.write_batch``) on real servers.

A batch undone by a failure that re-running mends raises ``IdentityConflict``
having written nothing, so the ingestor identifies it again (the
``GraphStore.write_batch`` contract). The process-level test is
``tests/integration/runs/test_concurrent_ingest_cypher.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cmdb.errors import IdentityConflict
from cmdb.model import CI, Action, ChangeSet, HistoryEntry
from cmdb.store.cypher.falkordb_server import FalkorDBServer
from cmdb.store.cypher.falkordb_transport import FalkorDBTransport
from cmdb.store.cypher.neo4j_server import Neo4jServer
from cmdb.store.cypher.store import CypherStore
from schema import load_schema
from tests.builders import T0
from tests.integration.runs.test_ingest_interrupted import _wait_for
from tests.integration.stores.neo4j_fixture import neo4j_store


def created(uid: str, name: str) -> ChangeSet:
    """A new application CI with its key and its ``create`` entry (written with CREATE: no lookup)."""
    ci = CI(uid=uid, ci_class="application", attributes={"name": name}, created_at=T0, updated_at=T0)
    return ChangeSet(cis=[ci], keys=[(f"application|name={name}", uid)],
                     history=[HistoryEntry(uid, "ci", Action.CREATE, {"name": [None, name]}, "manual", "r1", T0)])


def test_neo4j_a_batch_breaking_a_uniqueness_constraint_is_undone_whole_as_an_identity_conflict(
        neo4j_server: Neo4jServer) -> None:
    with neo4j_store(neo4j_server) as store:
        store.apply(created("u-old", "old"))
        with pytest.raises(IdentityConflict), store.write_batch():
            assert store.find_keys(["application|name=old"]) == {"application|name=old": ["u-old"]}
            store.apply(created("u-new", "new"))  # committed only with the batch
            store.apply(created("u-old", "old-again"))  # CREATE of an existing uid: the constraint fails
        assert sorted(store.get_cis(["u-old", "u-new"])) == ["u-old"]
        assert store.find_keys(["application|name=new", "application|name=old-again"]) == {}
        # The lock is free again: the next batch commits.
        with store.write_batch():
            store.apply(created("u-new", "new"))
        assert sorted(store.get_cis(["u-old", "u-new"])) == ["u-new", "u-old"]


def test_falkordb_a_batch_whose_lock_lease_ran_out_writes_nothing_and_is_an_identity_conflict(tmp_path: Path) -> None:
    with FalkorDBServer(tmp_path / "falkordb") as server:
        transport = FalkorDBTransport(port=server.port, graph="cmdb")
        store = CypherStore(transport, load_schema())
        other = CypherStore(FalkorDBTransport(port=server.port, graph="cmdb"), load_schema())
        try:
            store.init_schema()
            transport.lock_lease_ms = 300  # real expiry on the server, shortened for the test
            with pytest.raises(IdentityConflict, match="lease"), store.write_batch():
                assert store.find_keys(["application|name=a"]) == {}
                # The server expires the key (statements of the holder would have extended it).
                _wait_for(lambda: transport.execute("EXISTS", transport.lock_key) == 0, "the lease to run out")
                with other.write_batch():  # another writer takes the free lock and registers the thing
                    other.apply(created("u-other", "a"))
                store.apply(created("u-mine", "a"))  # its lookup is stale: refused before sending
            assert store.find_keys(["application|name=a"]) == {"application|name=a": ["u-other"]}
            assert sorted(store.get_cis(["u-other", "u-mine"])) == ["u-other"]
            assert transport.execute("EXISTS", transport.lock_key) == 0  # released by its holder
        finally:
            store.close()
            other.close()
