"""apply_many on Neo4j: batches applied in order, each atomically, the next one built while one is written;
and the evidence an older store kept as one JSON list, still given back by an abandoned run."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cmdb.model import CI, ChangeSet, Relationship, RelEvidence, RunStatus, ScanRun, rel_uid
from cmdb.store.cypher.codec import dumps
from cmdb.store.cypher.neo4j_server import Neo4jServer
from cmdb.store.cypher.store import CypherStore
from cmdb.store.cypher.transport import Unit
from cmdb.store.transfer import import_store
from schema import load_schema
from tests.integration.stores.neo4j_fixture import neo4j_store
from tests.integration.stores.test_store_transfer import build_estate, dump

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from store_load import ci_batches, rel_batches


def _content(store: CypherStore) -> tuple[Any, ...]:
    return (store.counts(), [c for b in store.iter_cis() for c in b], [r for b in store.iter_relationships() for r in b],
            [(h.seq, h.subject_uid) for b in store.iter_history() for h in b], sorted(k for b in store.iter_keys() for k in b))


def test_apply_many_matches_one_apply_after_another(neo4j_server: Neo4jServer) -> None:
    batches = [*ci_batches(1200, 250), ChangeSet(), *rel_batches(1200, 2400, 500)]
    with neo4j_store(neo4j_server, batch_size=300) as bulk:
        assert bulk.apply_many(iter(batches)) == len(batches) - 1  # the empty one is skipped
        built = _content(bulk)
    with neo4j_store(neo4j_server, batch_size=300) as one:
        for changes in batches:
            one.apply(changes)
        assert _content(one) == built
    assert [h[0] for h in built[3]] == list(range(1, 1201))


def test_apply_many_stops_at_the_first_batch_that_fails_to_build(neo4j_server: Neo4jServer) -> None:
    good = list(ci_batches(30, 10))

    def batches() -> Iterator[ChangeSet]:
        yield good[0]
        yield good[1]
        yield ChangeSet(cis=[CI("bad", "host", {"weird": object()})])
        yield good[2]

    with neo4j_store(neo4j_server) as store:
        with pytest.raises(TypeError):
            store.apply_many(batches())
        assert store.counts().cis == 20  # the two batches before the failing one, nothing after


def test_a_create_batch_whose_cis_exist_is_written_again_as_upserts(neo4j_server: Neo4jServer) -> None:
    batches = list(ci_batches(600, 200))
    with neo4j_store(neo4j_server, batch_size=300) as store:
        store.apply(batches[0])
        assert store.apply_many(iter(batches)) == 3  # the first batch again: its CREATE breaks the constraint
        counts = store.counts()
        assert (counts.cis, counts.history) == (600, 800)
        assert sorted(k for page in store.iter_keys() for k in page) == sorted({k for b in batches for k in b.keys})


def test_an_abandoned_run_gives_back_evidence_an_older_store_kept_as_json(neo4j_server: Neo4jServer) -> None:
    """Stores written before kept a relationship's earlier evidence as one JSON list (``prev_evidence``)."""
    before = RelEvidence(["aws"], 5, 9, 2, "declared", 1.0)
    during = RelEvidence(["aws", "ssh"], 5, 20, 3, "observed", 0.9)
    uid = rel_uid("a", "DEPENDS_ON", "b")
    with neo4j_store(neo4j_server) as store:
        store.apply(ChangeSet(cis=[CI("a", "host", {"name": "a"}, created_at=5), CI("b", "host", {"name": "b"}, created_at=5)],
                              relationships=[Relationship(uid, "DEPENDS_ON", "a", "b", {}, during, last_run="r2")]))
        # As the older version left it mid-run: the evidence as JSON, the run before, no prev_<name> properties.
        store.transport.write([Unit("MATCH (:CI)-[r]->(:CI) SET r.prev_evidence = $json, r.prev_run = 'r1'",
                                    {"json": dumps([before.sources, before.first_seen, before.last_seen, before.times_seen,
                                                    before.method, before.confidence])})])
        # A later batch of the same run keeps it.
        later = RelEvidence(["aws", "ssh"], 5, 21, 4, "observed", 0.9)
        store.apply(ChangeSet(relationships=[Relationship(uid, "DEPENDS_ON", "a", "b", {}, later, last_run="r2")]))
        store.abandon_run(ScanRun("r2", "ssh", "lab", 10, status=RunStatus.ABANDONED, finished_at=30))
        got = store.get_relationships([uid])[uid]
        assert (got.evidence, got.last_run) == (before, "r1")
        left = store.transport.read("MATCH (:CI)-[r]->(:CI) RETURN keys(r)", {})
        assert not {k for (names,) in left for k in names if k.startswith("prev_")}


def test_sqlite_to_neo4j_and_back_is_lossless(tmp_path: Path, neo4j_server: Neo4jServer) -> None:
    """``cmdb import`` goes through apply_many: runs saved and batches built beside the writes."""
    source = build_estate(tmp_path / "src.sqlite")
    first = dump(source)
    with neo4j_store(neo4j_server) as target:
        import_store(target, load_schema(), io.BytesIO(first).readlines(), batch_size=150)
        assert dump(target) == first
