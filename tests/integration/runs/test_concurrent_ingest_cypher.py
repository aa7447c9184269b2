"""Two OS processes ingesting the same things into one Cypher store at once: one CI per thing.

As on SQLite (``test_concurrent_ingest_processes.py``), each `cmdb ingest -`
identifies and applies every batch under the store's write lock
(``CypherStore.write_batch``): on Neo4j one explicit transaction that starts by
writing the lock node, on FalkorDB a lease key on the server. The second process
to reach a batch finds the keys the first one registered. Without the lock
(the code before it) both processes created most things: about 2 x 20,000 CIs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cmdb.identify import keys_for
from cmdb.store.cypher.falkordb_server import FalkorDBServer
from cmdb.store.cypher.falkordb_transport import FalkorDBTransport
from cmdb.store.cypher.neo4j_server import Neo4jServer
from cmdb.store.cypher.store import CypherStore
from schema import load_schema
from tests.integration.stores.neo4j_fixture import neo4j_store

CMDB = str(Path(sys.executable).with_name("cmdb"))
THINGS = 20_000
CHUNK = 500  # lines written to one process, then to the other: their batches interleave


def two_ingests_of_the_same_things(store_url: str, data_dir: Path) -> list[str]:
    """Feed the same THINGS applications to two `cmdb ingest -` at once; check both runs; return the names."""
    env = {**os.environ, "CMDB_DATA_DIR": str(data_dir), "CMDB_STORE_URL": store_url}
    names = [f"app-{i:05d}" for i in range(THINGS)]
    lines = [json.dumps({"kind": "ci", "source": "manual", "scope": "apps", "class": "application",
                         "identifiers": {"name": name}, "attributes": {"owner": "team-a"}}) + "\n" for name in names]
    procs = [subprocess.Popen([CMDB, "ingest", "-", "--source", "manual", "--scope", "apps", "--json"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for _ in range(2)]
    try:
        for start in range(0, THINGS, CHUNK):
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write("".join(lines[start : start + CHUNK]))
                proc.stdin.flush()
        results = []
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=1500)
            assert proc.returncode == 0, stderr
            results.append(json.loads(stdout)["run"])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    # Between them the two runs created every application exactly once.
    assert sum(r["counts"]["created"] for r in results) == THINGS
    assert sum(r["counts"]["unchanged"] + r["counts"]["updated"] for r in results) == THINGS
    assert [r["status"] for r in results] == ["complete", "complete"]
    return names


def assert_one_ci_per_thing(store: CypherStore, names: list[str]) -> None:
    schema = store.schema
    cis = [ci for batch in store.iter_cis() for ci in batch]
    assert len(cis) == THINGS
    assert sorted(ci.attributes["name"] for ci in cis) == names
    assert [ci for ci in cis if ci.duplicate_of is not None or ci.ci_class != "application"] == []
    # Identification keys exact: each application's keys, each held by its one CI.
    expected = sorted((key, ci.uid) for ci in cis for key in keys_for(schema.cls("application"), ci.attributes, None))
    assert sorted(pair for batch in store.iter_keys() for pair in batch) == expected


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_two_processes_ingesting_the_same_items_into_neo4j_make_one_ci_per_thing(
        tmp_path: Path, neo4j_server: Neo4jServer) -> None:
    with neo4j_store(neo4j_server, schema=load_schema()) as store:  # emptied, its constraints made
        names = two_ingests_of_the_same_things(neo4j_server.url, tmp_path / "data")
        assert_one_ci_per_thing(store, names)


@pytest.mark.timeout(1200)
def test_two_processes_ingesting_the_same_items_into_falkordb_make_one_ci_per_thing(tmp_path: Path) -> None:
    with FalkorDBServer(tmp_path / "falkordb") as server:
        store = CypherStore(FalkorDBTransport(port=server.port, graph="cmdb"), load_schema())
        try:
            store.init_schema()  # made first, so neither process races to make the indexes
            names = two_ingests_of_the_same_things(f"falkordb://127.0.0.1:{server.port}/cmdb", tmp_path / "data")
            assert_one_ci_per_thing(store, names)
        finally:
            store.close()
