"""Neo4j-backed stores for tests: ONE local Neo4j per test session (the
``neo4j_server`` fixture in ``tests/conftest.py``, started by
:class:`cmdb.store.cypher.neo4j_server.Neo4jServer`), and a store per test on
its database, emptied first (Community has one user database: tests share it
one after another and clear it, which costs milliseconds where a start costs seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import neo4j

from cmdb.store.cypher.neo4j_server import Neo4jServer
from cmdb.store.cypher.neo4j_transport import Neo4jOptions, Neo4jTransport
from cmdb.store.cypher.store import CypherStore
from schema import Schema, load_schema


def clear_database(url: str) -> None:
    """Delete every node and relationship; indexes and constraints stay (``init_schema`` is idempotent)."""
    with neo4j.GraphDatabase.driver(url, auth=None) as driver, driver.session() as session:
        # In pages: one transaction holding a whole large graph would need the heap for it.
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def clear_indexes(server: Neo4jServer) -> None:
    """Drop every index and constraint the store made (the next ``init_schema`` creates them all)."""
    with neo4j.GraphDatabase.driver(server.url, auth=None) as driver:
        records, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN name")
        for record in records:
            driver.execute_query(f"DROP CONSTRAINT `{record['name']}` IF EXISTS")
        records, _, _ = driver.execute_query("SHOW INDEXES YIELD name, type WHERE type = 'RANGE' RETURN name")
        for record in records:
            driver.execute_query(f"DROP INDEX `{record['name']}` IF EXISTS")


def neo4j_transport(server: Neo4jServer, **options: object) -> Neo4jTransport:
    return Neo4jTransport(Neo4jOptions(uri=server.url, **options))  # type: ignore[arg-type]


@contextmanager
def neo4j_store(server: Neo4jServer, batch_size: int = 2000, schema: Schema | None = None) -> Iterator[CypherStore]:
    """A store on the session's Neo4j, empty, its indexes and constraints created."""
    clear_database(server.url)
    store = CypherStore(neo4j_transport(server), schema or load_schema(), batch_size)
    store.init_schema()
    try:
        yield store
    finally:
        store.close()
