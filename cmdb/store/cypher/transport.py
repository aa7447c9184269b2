"""What the Cypher store needs from a database connection, whatever the engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from cmdb.store.cypher.ddl import IndexSpec

Row = tuple[Any, ...]


class Unit(NamedTuple):
    """One statement and its parameters, part of an atomic write."""

    statement: str
    params: Mapping[str, Any]


class TransientStoreError(RuntimeError):
    """The database could not answer now; the caller may retry the whole write."""


class ConstraintViolation(RuntimeError):
    """A write broke a uniqueness constraint; it was undone whole."""


class CypherTransport(Protocol):
    """A connection to one graph: reads, atomic writes, DDL and a durability hook."""

    engine: str  # "neo4j" or "falkordb": picks the DDL dialect

    def read(self, statement: str, params: Mapping[str, Any]) -> list[Row]:
        """Run a read-only statement; rows come back as tuples in RETURN order."""
        ...

    def write(self, units: Sequence[Unit]) -> list[Row]:
        """Run ``units`` as one transaction, all or nothing; return the last unit's rows.

        Only the last unit may have a RETURN clause.
        """
        ...

    def ensure_schema(self, specs: Sequence[IndexSpec]) -> list[str]:
        """Create the indexes and constraints that are missing; return what was created."""
        ...

    def checkpoint(self) -> None:
        """Make everything written so far survive a crash of the server."""
        ...

    def close(self) -> None:
        ...
