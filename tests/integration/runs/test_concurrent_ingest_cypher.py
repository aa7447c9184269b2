"""Two OS processes ingesting the same things into one Cypher store at once: one CI per thing.

As on SQLite (``test_concurrent_ingest_processes.py``), each `cmdb ingest -`
identifies and applies every batch under the store's write lock
(``CypherStore.write_batch``): on Neo4j one explicit transaction that starts by
writing the lock node, on FalkorDB a lease key on the server. The second process
to reach a batch finds the keys the first one registered. Without the lock
(the code before it) both processes created most things: about 2 x 20,000 CIs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cmdb.store.cypher.falkordb_server import FalkorDBServer
from cmdb.store.cypher.falkordb_transport import FalkorDBTransport
from cmdb.store.cypher.neo4j_server import Neo4jServer
from cmdb.store.cypher.store import CypherStore
from schema import load_schema
from tests.integration.runs.concurrent_ingest import assert_one_ci_per_thing, two_ingests_of_the_same_things
from tests.integration.stores.neo4j_fixture import neo4j_store


def _env(store_url: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "CMDB_DATA_DIR": str(data_dir), "CMDB_STORE_URL": store_url}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_two_processes_ingesting_the_same_items_into_neo4j_make_one_ci_per_thing(
        tmp_path: Path, neo4j_server: Neo4jServer) -> None:
    with neo4j_store(neo4j_server, schema=load_schema()) as store:  # emptied, its constraints made
        names = two_ingests_of_the_same_things(_env(neo4j_server.url, tmp_path / "data"), timeout=1500)
        assert_one_ci_per_thing(store, store.schema, names)


@pytest.mark.timeout(1200)
def test_two_processes_ingesting_the_same_items_into_falkordb_make_one_ci_per_thing(tmp_path: Path) -> None:
    with FalkorDBServer(tmp_path / "falkordb") as server:
        store = CypherStore(FalkorDBTransport(port=server.port, graph="cmdb"), load_schema())
        try:
            store.init_schema()  # made first, so neither process races to make the indexes
            env = _env(f"falkordb://127.0.0.1:{server.port}/cmdb", tmp_path / "data")
            names = two_ingests_of_the_same_things(env, timeout=1500)
            assert_one_ci_per_thing(store, store.schema, names)
        finally:
            store.close()
