"""FalkorDB's layouts: one graph (the default: every write one atomic query) and the opt-in
two graphs, the topology (CIs, relationships) and its bookkeeping graph (keys, history,
sightings, runs). The same writes read back the same in both."""

from __future__ import annotations

import io
from pathlib import Path

from cmdb.ingest import Ingestor
from cmdb.store.cypher import change_log_statements as change_log
from cmdb.store.cypher.falkordb_server import FalkorDBServer
from cmdb.store.cypher.falkordb_transport import FalkorDBTransport
from cmdb.store.cypher.statements import BOOKKEEPING, BOOKKEEPING_LABELS, TOPOLOGY, Statements
from cmdb.store.cypher.store import CypherStore
from cmdb.store.transfer import export_store, import_store
from labs.synthetic import EstateSpec, SyntheticEstate
from schema import load_schema
from tests.builders import DAY, Clock


def ingest_twice(store: CypherStore) -> None:
    """Creates, then updates, missed runs and aging: every kind of write, keys and sightings included."""
    clock = Clock()
    ingestor = Ingestor(store, store.schema, clock=clock, batch_size=50)
    for round_ in range(2):
        for source, scope, stream in SyntheticEstate(EstateSpec.for_size(150, 4.0, seed=5)).streams():
            items = list(stream)
            with ingestor.run(source, scope) as run:
                run.ingest(items[: len(items) - 7 * round_])  # the second round misses a few
        clock.advance(DAY)


def labels(store: CypherStore, part: str) -> set[str]:
    rows = store.transport.read("MATCH (n) UNWIND labels(n) AS label RETURN DISTINCT label", {}, part)
    return {r[0] for r in rows}


def export(store: CypherStore) -> bytes:
    out = io.BytesIO()
    export_store(store, out)
    return out.getvalue()


def test_bookkeeping_lives_in_its_own_graph_and_reads_back_as_one_store(tmp_path: Path) -> None:
    schema = load_schema()
    with FalkorDBServer(tmp_path / "falkordb") as server:
        split = CypherStore(FalkorDBTransport(port=server.port, graph="cmdb", bookkeeping_graph="cmdb_bookkeeping"),
                            schema, batch_size=40)
        split.init_schema()
        ingest_twice(split)
        first = export(split)
        # The same estate imported (apply_many) into the single-graph layout reads back the same.
        single = CypherStore(FalkorDBTransport(port=server.port, graph="one"), schema, batch_size=40)
        single.init_schema()
        import_store(single, schema, io.BytesIO(first).readlines(), batch_size=60)
        assert export(single) == first
        assert split.counts() == single.counts()
        assert split.counts().history > split.counts().cis > 0

        names = {n.decode() if isinstance(n, bytes) else n for n in split.transport.execute("GRAPH.LIST")}  # type: ignore[attr-defined]
        assert names == {"cmdb", "cmdb_bookkeeping", "one"}
        class_labels = set(Statements(schema).all_class_labels) | {"CI", *change_log.LABELS}
        assert "CI" in labels(split, TOPOLOGY) <= class_labels
        assert labels(split, BOOKKEEPING) == BOOKKEEPING_LABELS
        assert labels(single, TOPOLOGY) == labels(split, TOPOLOGY) | BOOKKEEPING_LABELS  # one graph holds both
        split.transport.drop()  # type: ignore[attr-defined]
        names = {n.decode() if isinstance(n, bytes) else n for n in split.transport.execute("GRAPH.LIST")}  # type: ignore[attr-defined]
        assert names == {"one"}


def test_a_store_is_one_graph_unless_it_was_written_in_two(tmp_path: Path) -> None:
    """The default layout is one graph; a store written in two graphs is reopened in two."""
    schema = load_schema()
    with FalkorDBServer(tmp_path / "falkordb") as server:
        fresh = CypherStore(FalkorDBTransport(port=server.port, graph="new"), schema)
        assert fresh.transport.bookkeeping_graph_name == "new"  # type: ignore[attr-defined]
        split = CypherStore(FalkorDBTransport(port=server.port, graph="two", bookkeeping_graph="two_bookkeeping"),
                            schema)
        split.init_schema()
        ingest_twice(split)
        before = export(split)
        reopened = CypherStore(FalkorDBTransport(port=server.port, graph="two"), schema)
        assert reopened.transport.bookkeeping_graph_name == "two_bookkeeping"  # type: ignore[attr-defined]
        assert export(reopened) == before
