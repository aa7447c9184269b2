"""The Cypher store: one set of statements, two transports (Neo4j, FalkorDB)."""

from cmdb.store.cypher.store import CypherStore

__all__ = ["CypherStore"]
