"""`cmdb ingest -` SIGKILLed mid-run on the Cypher stores (Neo4j, FalkorDB): real processes, a real signal.

Nothing in the killed process runs, so its run stays ``running`` until the store
is next opened for writing: that writer closes it as ``abandoned`` (its process
is gone) and takes back what it did to the sightings (run, time seen, missed
runs) and to the relationships' evidence (times seen, sources, confidence), as
on SQLite (``test_ingest_interrupted.py``). The batch the killed run committed
stays (its CIs exist); only its sightings stop counting.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import astuple
from pathlib import Path
from typing import Any

import pytest

from cmdb.model import RunStatus
from cmdb.store.cypher.falkordb_server import FalkorDBServer
from cmdb.store.cypher.falkordb_transport import FalkorDBTransport
from cmdb.store.cypher.neo4j_server import Neo4jServer
from cmdb.store.cypher.store import CypherStore
from schema import load_schema
from tests.integration.runs.test_ingest_interrupted import APPS, CMDB, _items, _text, _wait_for
from tests.integration.stores.neo4j_fixture import neo4j_store


@contextmanager
def cypher_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[CypherStore, str]]:
    """An empty store of ``kind`` with its schema, and the URL `cmdb` opens it by."""
    if kind == "neo4j":
        server: Neo4jServer = request.getfixturevalue("neo4j_server")
        with neo4j_store(server) as store:
            yield store, server.url
        return
    with FalkorDBServer(tmp_path / "falkordb") as falkordb:
        store = CypherStore(FalkorDBTransport(port=falkordb.port, graph="cmdb"), load_schema())
        try:
            store.init_schema()
            yield store, f"falkordb://127.0.0.1:{falkordb.port}/cmdb"
        finally:
            store.close()


def _env(data_dir: Path, url: str) -> dict[str, str]:
    return {**os.environ, "CMDB_DATA_DIR": str(data_dir), "CMDB_STORE_URL": url}


def _ingest(env: dict[str, str], text: str, scope: str = "apps") -> None:
    result = subprocess.run([CMDB, "ingest", "-", "--source", "manual", "--scope", scope], input=text,
                            capture_output=True, text=True, env=env, timeout=600, check=False)
    assert result.returncode == 0, result.stderr


def _sightings(store: CypherStore) -> list[tuple[Any, ...]]:
    return sorted((*astuple(s), missed) for page in store.iter_sightings() for s, missed in page if s.scope == "apps")


def _evidence(store: CypherStore) -> list[tuple[Any, ...]]:
    return sorted((r.uid, astuple(r.evidence), r.last_run) for page in store.iter_relationships() for r in page)


def _running_run_with_a_batch(store: CypherStore) -> Callable[[], str | None]:
    def probe() -> str | None:
        running = {r.run_id for r in store.list_runs(scope="apps") if r.status is RunStatus.RUNNING}
        if not running:
            return None
        sighted = {s.run_id for page in store.iter_sightings() for s, _ in page}
        return next(iter(running & sighted), None)
    return probe


@pytest.mark.timeout(900)
@pytest.mark.parametrize("kind", ["neo4j", "falkordb"])
def test_a_killed_ingest_is_abandoned_by_the_next_writer_and_its_sightings_do_not_count(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    items = _items(APPS)
    with cypher_store(kind, tmp_path, request) as (store, url):
        env = _env(tmp_path / "data", url)
        _ingest(env, _text(items))
        before_sightings, before_evidence = _sightings(store), _evidence(store)
        [first] = store.list_runs()
        assert first.status is RunStatus.COMPLETE
        assert {s[4] for s in before_sightings} == {first.run_id} and len(before_sightings) == 2 * APPS - 1

        # The same estate again, killed once its first batch (2,000 items re-sighted) is committed;
        # its stdin stays open, so it waits for the rest of its second batch.
        proc = subprocess.Popen([CMDB, "ingest", "-", "--source", "manual", "--scope", "apps"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert proc.stdin is not None
            proc.stdin.write(_text(items))
            proc.stdin.flush()
            killed = _wait_for(_running_run_with_a_batch(store), "the first batch of the run")
            proc.kill()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        mid_sightings, mid_evidence = _sightings(store), _evidence(store)
        assert sum(1 for s in mid_sightings if s[4] == killed) >= 2000  # it really was mid-run
        assert sum(1 for r in mid_evidence if r[2] == killed) >= 999  # and counted evidence
        assert {e[1][3] for e in mid_evidence if e[2] == killed} == {2}  # times seen, counted twice
        assert store.get_run(killed).status is RunStatus.RUNNING  # type: ignore[union-attr]

        # The next writer (another ingest, another scope) closes it as abandoned.
        _ingest(env, _text([{"kind": "ci", "source": "manual", "scope": "other", "class": "application",
                             "identifiers": {"name": "elsewhere"}}]), scope="other")
        runs = {r.run_id: r for r in store.list_runs()}
        assert runs[killed].status is RunStatus.ABANDONED
        assert len(runs[killed].errors) == 1 and runs[killed].errors[0].startswith("abandoned: its process (")
        assert sorted(r.status.value for r in runs.values()) == ["abandoned", "complete", "complete"]

        # What the killed run sighted counts neither for aging nor as evidence: as before it.
        assert _sightings(store) == before_sightings
        assert _evidence(store) == before_evidence
