"""Neo4j through the official ``neo4j`` driver.

Sessions per call, managed transactions (``execute_read`` / ``execute_write``)
which the driver retries on transient errors and leader changes, routing
(``neo4j://``) and direct (``bolt://``) URIs, basic auth and TLS options. Every
session shares one bookmark manager, so a read sees every write this transport
committed before it, on a cluster's secondaries too. The server's error codes
become the store's typed errors (:mod:`cmdb.store.cypher.transport`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import neo4j
from neo4j import GraphDatabase, ManagedTransaction, Transaction, TrustCustomCAs, TrustSystemCAs
from neo4j.exceptions import ConstraintError, ServiceUnavailable, SessionExpired, TransientError

from cmdb.store.cypher.ddl import NEO4J_AWAIT_INDEXES, NEO4J_SHOW_INDEXES, IndexSpec, neo4j_ddl_for
from cmdb.store.cypher.statements import TOPOLOGY
from cmdb.store.cypher.transport import ConstraintViolation, Row, StoreUnavailable, TransientStoreError, Unit

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Neo4jOptions:
    """How to reach Neo4j. ``encrypted`` applies to ``bolt://`` / ``neo4j://``;
    ``+s`` / ``+ssc`` schemes carry their own TLS setting."""

    uri: str
    user: str | None = None
    password: str | None = None
    database: str | None = None
    encrypted: bool = False
    ca_file: str | None = None  # trust this CA instead of the system store
    max_retry_seconds: float = 30.0
    connection_timeout: float = 30.0
    fetch_size: int = 1000


def driver_config(options: Neo4jOptions) -> dict[str, Any]:
    """The driver's keyword configuration for ``options`` (TLS only where the scheme leaves it open)."""
    config: dict[str, Any] = {
        "max_transaction_retry_time": options.max_retry_seconds,
        "connection_timeout": options.connection_timeout,
        "fetch_size": options.fetch_size,
        # The server's notifications (e.g. a property key no node has yet, which is every
        # optional attribute of a young store) would be logged at WARNING for each query.
        "notifications_min_severity": "OFF",
    }
    scheme = options.uri.split("://", 1)[0]
    if "+" not in scheme:
        config["encrypted"] = options.encrypted
        if options.encrypted:
            config["trusted_certificates"] = (
                TrustCustomCAs(options.ca_file) if options.ca_file else TrustSystemCAs()
            )
    return config


def typed_error(exc: Exception) -> Exception:
    """The store's error for a driver error, or ``exc`` itself when it has none.

    Constraint violations (``Neo.ClientError.Schema.ConstraintValidationFailed``):
    the transaction was rolled back whole. Transient errors (deadlocks, lock
    timeouts, a leader switch, ``Neo.TransientError.*``) reach here only once the
    managed transaction's retries are spent. No server or a lost connection:
    unavailable.
    """
    if isinstance(exc, ConstraintError):
        return ConstraintViolation(f"{exc.code}: {exc.message}")
    if isinstance(exc, (ServiceUnavailable, SessionExpired)):
        return StoreUnavailable(str(exc))
    if isinstance(exc, TransientError):
        return TransientStoreError(f"{exc.code}: {exc.message}")
    return exc


class Neo4jTransport:
    """One Neo4j database; every statement this sends comes from ``statements`` or ``ddl``."""

    engine = "neo4j"

    def __init__(self, options: Neo4jOptions) -> None:
        self.options = options
        auth = neo4j.basic_auth(options.user, options.password or "") if options.user else None
        self._driver = GraphDatabase.driver(options.uri, auth=auth, **driver_config(options))
        # Causal consistency across this transport's sessions: each session starts after
        # every transaction committed through the others (reads on a follower wait for them).
        self.bookmarks = GraphDatabase.bookmark_manager()
        self.sent: list[str] | None = None  # set to a list to record statements (tests)
        self._local = threading.local()  # per thread: the explicit transaction of exclusive(), if any

    def _session(self, access: str) -> neo4j.Session:
        return self._driver.session(database=self.options.database, default_access_mode=access,
                                    bookmark_manager=self.bookmarks)

    def _note(self, statement: str) -> None:
        if self.sent is not None:
            self.sent.append(statement)

    def _run(self, access: str, work: Callable[[ManagedTransaction], T]) -> T:
        """``work`` in a managed transaction: retried by the driver on transient errors.

        Inside :meth:`exclusive` on this thread, in its explicit transaction instead (not
        retried: a transient error fails the block, which its caller runs again whole).
        """
        tx: Transaction | None = getattr(self._local, "tx", None)
        if tx is not None:
            try:
                return work(tx)  # type: ignore[arg-type]  # the same run() API
            except (ConstraintError, ServiceUnavailable, SessionExpired, TransientError) as exc:
                raise typed_error(exc) from exc
        try:
            with self._session(access) as session:
                if access == neo4j.READ_ACCESS:
                    return session.execute_read(work)
                return session.execute_write(work)
        except (ConstraintError, ServiceUnavailable, SessionExpired, TransientError) as exc:
            raise typed_error(exc) from exc

    # -- statements ----------------------------------------------------------------
    def read(self, statement: str, params: Mapping[str, Any], part: str = TOPOLOGY) -> list[Row]:
        # One database holds both parts: ``part`` only matters to FalkorDB.
        self._note(statement)

        def work(tx: ManagedTransaction) -> list[Row]:
            return [tuple(record.values()) for record in tx.run(statement, dict(params))]

        return self._run(neo4j.READ_ACCESS, work)

    def write(self, units: Sequence[Unit]) -> list[Row]:
        """All units in one transaction, whatever part each touches."""
        if not units:
            return []
        for unit in units:
            self._note(unit.statement)

        def work(tx: ManagedTransaction) -> list[Row]:
            rows: list[Row] = []
            for i, unit in enumerate(units):
                result = tx.run(unit.statement, dict(unit.params))
                if i == len(units) - 1:
                    rows = [tuple(record.values()) for record in result]
                else:
                    result.consume()
            return rows

        return self._run(neo4j.WRITE_ACCESS, work)

    @contextlib.contextmanager
    def exclusive(self, lock: Unit) -> Iterator[None]:
        """One explicit write transaction for the block, ``lock`` its first statement.

        The lock statement writes the one lock node: Neo4j holds that node's write lock
        until the commit, so a second process's block waits at its first statement and
        then reads everything the first one committed (read committed).
        """
        if getattr(self._local, "tx", None) is not None:
            yield
            return
        try:
            with self._session(neo4j.WRITE_ACCESS) as session:
                tx = session.begin_transaction()
                try:
                    self._note(lock.statement)
                    tx.run(lock.statement, dict(lock.params)).consume()
                    self._local.tx = tx
                    try:
                        yield
                    finally:
                        self._local.tx = None
                    tx.commit()
                finally:
                    tx.close()  # rolls back unless committed
        except (ConstraintError, ServiceUnavailable, SessionExpired, TransientError) as exc:
            raise typed_error(exc) from exc

    # -- schema --------------------------------------------------------------------
    def ensure_schema(self, specs: Sequence[IndexSpec]) -> list[str]:
        """The missing indexes and constraints, created; then wait until every index is online."""
        wanted = dict(zip((spec.name for spec in specs), neo4j_ddl_for(specs), strict=True))
        try:
            with self._session(neo4j.WRITE_ACCESS) as session:
                self._note(NEO4J_SHOW_INDEXES)
                present = {record["name"] for record in session.run(NEO4J_SHOW_INDEXES)}
                created = [statement for name, statement in wanted.items() if name not in present]
                for statement in created:
                    self._note(statement)
                    session.run(statement).consume()  # schema commands run in auto-commit transactions
                # Writes right after init_schema rely on the uniqueness constraints and indexes.
                self._note(NEO4J_AWAIT_INDEXES)
                session.run(NEO4J_AWAIT_INDEXES).consume()
        except (ServiceUnavailable, SessionExpired, TransientError) as exc:
            raise typed_error(exc) from exc
        return created

    def checkpoint(self) -> None:
        """Neo4j commits are durable when the transaction returns: nothing to do."""

    def close(self) -> None:
        self._driver.close()
