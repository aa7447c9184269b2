"""Neo4j through the official ``neo4j`` driver.

Sessions per call, managed transactions (``execute_read`` / ``execute_write``)
which the driver retries on transient errors and leader changes, routing
(``neo4j://``) and direct (``bolt://``) URIs, basic auth and TLS options.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import neo4j
from neo4j import GraphDatabase, ManagedTransaction, TrustCustomCAs, TrustSystemCAs
from neo4j.exceptions import ConstraintError, ServiceUnavailable, SessionExpired, TransientError

from cmdb.store.cypher.ddl import IndexSpec, neo4j_ddl_for
from cmdb.store.cypher.statements import TOPOLOGY
from cmdb.store.cypher.transport import ConstraintViolation, Row, TransientStoreError, Unit


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


class Neo4jTransport:
    """One Neo4j database; every statement this sends comes from ``statements`` or ``ddl``."""

    engine = "neo4j"

    def __init__(self, options: Neo4jOptions) -> None:
        self.options = options
        config: dict[str, Any] = {
            "max_transaction_retry_time": options.max_retry_seconds,
            "connection_timeout": options.connection_timeout,
            "fetch_size": options.fetch_size,
        }
        scheme = options.uri.split("://", 1)[0]
        if "+" not in scheme:
            config["encrypted"] = options.encrypted
            if options.encrypted:
                config["trusted_certificates"] = (
                    TrustCustomCAs(options.ca_file) if options.ca_file else TrustSystemCAs()
                )
        auth = neo4j.basic_auth(options.user, options.password or "") if options.user else None
        self._driver = GraphDatabase.driver(options.uri, auth=auth, **config)
        self.sent: list[str] | None = None  # set to a list to record statements (tests)

    def _session(self, access: str) -> neo4j.Session:
        return self._driver.session(database=self.options.database, default_access_mode=access)

    def _note(self, statement: str) -> None:
        if self.sent is not None:
            self.sent.append(statement)

    # -- statements ----------------------------------------------------------------
    def read(self, statement: str, params: Mapping[str, Any], part: str = TOPOLOGY) -> list[Row]:
        # One database holds both parts: ``part`` only matters to FalkorDB.
        self._note(statement)

        def work(tx: ManagedTransaction) -> list[Row]:
            return [tuple(record.values()) for record in tx.run(statement, dict(params))]

        try:
            with self._session(neo4j.READ_ACCESS) as session:
                return session.execute_read(work)
        except (ServiceUnavailable, SessionExpired, TransientError) as exc:
            raise TransientStoreError(str(exc)) from exc

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

        try:
            with self._session(neo4j.WRITE_ACCESS) as session:
                return session.execute_write(work)
        except ConstraintError as exc:  # the transaction was rolled back
            raise ConstraintViolation(str(exc)) from exc
        except (ServiceUnavailable, SessionExpired, TransientError) as exc:
            raise TransientStoreError(str(exc)) from exc

    # -- schema --------------------------------------------------------------------
    def ensure_schema(self, specs: Sequence[IndexSpec]) -> list[str]:
        statements = neo4j_ddl_for(specs)
        with self._session(neo4j.WRITE_ACCESS) as session:
            for statement in statements:
                self._note(statement)
                session.run(statement).consume()  # schema commands run in auto-commit transactions
        return statements

    def checkpoint(self) -> None:
        """Neo4j commits are durable when the transaction returns: nothing to do."""

    def close(self) -> None:
        self._driver.close()
