"""Run the Neo4j transport against FalkorDB's experimental Bolt endpoint.

FalkorDB binds its Bolt port on every interface, so this script is meant to run
inside a private network namespace (``unshare --net``) where only loopback
exists; ``test_neo4j_transport_bolt.py`` starts it that way. It prints one JSON
object: what each step returned, or the error it raised.
"""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from dataclasses import astuple
from pathlib import Path
from typing import Any

from cmdb.model import CI, Action, ChangeSet, CIQuery, HistoryEntry, Relationship, RelEvidence, ScanRun, rel_uid
from cmdb.store.cypher.falkordb_server import FalkorDBServer
from cmdb.store.cypher.falkordb_transport import FalkorDBTransport
from cmdb.store.cypher.neo4j_transport import Neo4jOptions, Neo4jTransport
from cmdb.store.cypher.store import CypherStore
from cmdb.store.protocol import Direction
from schema import load_schema

BOLT_PORT = 7687  # inside the private namespace; FalkorDB takes ports below 32768 only
T0 = 1_767_225_600_000


def sample() -> ChangeSet:
    cis = [
        CI("h1", "host", {"name": "web-1", "fqdn": "web-1.example.com", "cpu_count": 4}, created_at=T0, updated_at=T0),
        CI("h2", "host", {"name": "web-2", "fqdn": "web-2.example.com", "cpu_count": 8}, created_at=T0, updated_at=T0),
        CI("a1", "application", {"name": "shop"}, created_at=T0, updated_at=T0),
    ]
    rels = [
        Relationship(rel_uid("a1", "RUNS_ON", h), "RUNS_ON", "a1", h, {}, RelEvidence(["aws"], T0, T0, 1, "declared", 1.0))
        for h in ("h1", "h2")
    ]
    history = [HistoryEntry(c.uid, "ci", Action.CREATE, {"name": [None, c.attributes["name"]]}, "aws", "r1", T0)
               for c in cis]
    return ChangeSet(cis=cis, keys=[("app#1||shop", "a1")], relationships=rels, history=history)


def step(results: dict[str, Any], name: str, fn: Any) -> Any:
    try:
        value = fn()
        results[name] = {"ok": value}
        return value
    except Exception as exc:  # report exactly what fails
        results[name] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(limit=3)}
        return None


def main() -> int:
    results: dict[str, Any] = {}
    schema = load_schema()
    with tempfile.TemporaryDirectory() as tmp:
        server = FalkorDBServer(Path(tmp), module_args=("BOLT_PORT", str(BOLT_PORT))).start()
        try:
            # The Bolt endpoint ignores the database name and uses the graph "falkordb", where the
            # Neo4j transport puts topology and bookkeeping alike: read it in the single-graph layout.
            native = CypherStore(FalkorDBTransport(port=server.port, graph="falkordb", bookkeeping_graph="falkordb"),
                                 schema)
            native.init_schema()  # FalkorDB DDL through the native client
            transport = Neo4jTransport(Neo4jOptions(uri=f"bolt://127.0.0.1:{BOLT_PORT}", user="falkordb",
                                                    password="", database="bolt", connection_timeout=10,
                                                    max_retry_seconds=2))
            step(results, "read", lambda: transport.read("UNWIND range(1, $n) AS i RETURN i", {"n": 3}))
            transport.sent = []  # from here on, only what the store sends
            store = CypherStore(transport, schema, batch_size=2)  # small: parameters over ~4 KB crash it
            step(results, "apply", lambda: store.apply(sample()))
            step(results, "get_cis", lambda: sorted((c.uid, c.ci_class, c.attributes.get("name"))
                                                   for c in store.get_cis(["h1", "h2", "a1", "zz"]).values()))
            step(results, "neighbours", lambda: sorted(
                (r.source_uid, r.type, r.target_uid) for r in store.neighbours(["a1"], Direction.OUT)))
            step(results, "find_keys", lambda: store.find_keys(["app#1||shop"]))
            step(results, "search", lambda: [c.uid for c in store.search(CIQuery(classes=("host",))).items])
            step(results, "history", lambda: [(h.action.value, h.changes) for h in store.history("a1")])
            step(results, "save_run", lambda: store.save_run(ScanRun("r1", "aws", "s1", T0)))
            step(results, "get_run", lambda: (lambda r: r and r.run_id)(store.get_run("r1")))
            # What the native client sees of what went over Bolt.
            step(results, "graphs", lambda: sorted(
                g.decode() if isinstance(g, bytes) else g for g in native.transport.execute("GRAPH.LIST")))  # type: ignore[attr-defined]
            step(results, "native_get_cis", lambda: sorted(native.get_cis(["h1", "h2", "a1"])))
            step(results, "native_counts", lambda: list(astuple(native.counts())))
            results["sent"] = transport.sent
            transport.close()
            native.close()
        finally:
            server.stop()
    json.dump(results, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
