"""What the Cypher store needs from a database connection, whatever the engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, NamedTuple, Protocol

from cmdb.store.cypher.ddl import IndexSpec
from cmdb.store.cypher.statements import TOPOLOGY

Row = tuple[Any, ...]


class Unit(NamedTuple):
    """One statement and its parameters, part of an atomic write.

    ``part`` says what the statement touches (``statements.TOPOLOGY`` or
    ``BOOKKEEPING``): FalkorDB keeps the two in separate graphs.
    """

    statement: str
    params: Mapping[str, Any]
    part: str = TOPOLOGY


class Prepared(NamedTuple):
    """A write serialised ahead of sending: one query text per part (``None``: nothing there)."""

    topology: str | None
    bookkeeping: str | None


class TransientStoreError(RuntimeError):
    """The database could not answer now; the caller may retry the whole write."""


class StoreUnavailable(TransientStoreError):
    """No server could be reached (down, restarting, no leader yet); the caller may retry later."""


class ConstraintViolation(RuntimeError):
    """A write broke a uniqueness constraint; it was undone whole."""


class WriteLockLost(TransientStoreError):
    """The store's write lock expired under a batch before its write: nothing of the batch was written."""


class CypherTransport(Protocol):
    """A connection to one graph: reads, atomic writes, DDL and a durability hook."""

    engine: str  # "neo4j" or "falkordb": picks the DDL dialect

    def read(self, statement: str, params: Mapping[str, Any], part: str = TOPOLOGY) -> list[Row]:
        """Run a read-only statement on ``part``; rows come back as tuples in RETURN order."""
        ...

    def write(self, units: Sequence[Unit]) -> list[Row]:
        """Run ``units``, all or nothing; return the last unit's rows.

        Only the last unit may have a RETURN clause, and a write that returns rows
        touches one part. Neo4j runs it as one transaction. FalkorDB runs one query
        per part, topology first, each undone whole on an error; the bookkeeping
        query is sent only once the topology query has succeeded.
        """
        ...

    def exclusive(self, lock: Unit) -> AbstractContextManager[None]:
        """Hold the store's write lock, across processes, for the ``with`` block on this thread.

        Every read and write the thread makes inside sees what the writers before it
        committed, and no other holder writes in between: an ingest batch's key lookups
        and its write. Neo4j: one explicit transaction that starts with ``lock`` (a write
        on the one lock node), committed when the block ends, rolled back on an error.
        FalkorDB: a lease key on the server (it has no multi-query transactions); each
        write inside stays atomic on its own. Re-entering on the same thread is a no-op.
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


class PreparingTransport(CypherTransport, Protocol):
    """A transport that serialises a write apart from sending it (FalkorDB), for bulk loads."""

    def prepare(self, units: Sequence[Unit]) -> Prepared:
        """The query texts of a write; serialisation errors raise here, before anything is sent."""
        ...

    def send_part(self, part: str, text: str) -> list[Row]:
        """Run one prepared query on ``part``, atomically."""
        ...
