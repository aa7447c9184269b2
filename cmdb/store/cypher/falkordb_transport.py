"""FalkorDB through its native client (``falkordb`` over the Redis protocol).

FalkorDB has no multi-statement transactions, but one query is atomic: it is
undone whole on a runtime error. So an atomic write of several units is sent as
one query, the units chained with ``WITH count(*)`` (which always yields one
row, so a unit with no input rows does not stop the next one).

By default the store is one graph: CIs, relationships and the bookkeeping
nodes (keys, history, sightings, runs), so every write is one atomic query,
as the GraphStore protocol asks of ``apply``.

Opt-in (``bookkeeping_graph=`` here, ``?bookkeeping_graph=`` in the store URL):
the bookkeeping nodes in a second graph. FalkorDB runs one write at a time per
graph, so the two are written by two server threads and traversals walk a
graph of CIs alone; but a write touching both is two queries (the topology
first, the bookkeeping only once it succeeded), so a server error or a dropped
connection between them leaves that batch's CIs without their keys and
history, and re-running the batch would then create them again. A store
already written in that layout (``<graph>_bookkeeping`` exists) is opened in it.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
from falkordb import FalkorDB
from redis.exceptions import BusyLoadingError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cmdb.store.cypher.ddl import IndexSpec, falkordb_index
from cmdb.store.cypher.statements import BOOKKEEPING, TOPOLOGY
from cmdb.store.cypher.transport import (
    ConstraintViolation,
    Prepared,
    Row,
    StoreUnavailable,
    TransientStoreError,
    Unit,
    WriteLockLost,
)

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_RETRIES = 5
# Escapes FalkorDB reads literally; an escaped backslash is matched first so it is kept.
_ESCAPE = re.compile(rb'\\\\|\\u00([0-9a-fA-F]{2})|\\([bfr])')
_RAW = {b"b": b"\b", b"f": b"\f", b"r": b"\r"}
_TO_UNESCAPE = re.compile(rb"\\[ubfr]")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# The write lock: a server key holding its holder's token, with a lease so that a holder
# killed mid-batch (SIGKILL, a lost machine) frees it. Extended on every statement the
# holder sends; extended or deleted only by the holder (compare-and-set in one script).
WRITE_LOCK_LEASE_MS = 30_000
WRITE_LOCK_WAIT_S = 600.0  # a writer waiting longer than this gives up (TransientStoreError)
_EXTEND = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def _unescape(match: re.Match[bytes]) -> bytes:
    if match.group(1) is not None:
        code = int(match.group(1), 16)
        if code == 0:  # the server reads the query as a C string
            raise ValueError("FalkorDB cannot store a NUL character in a string")
        return bytes([code])
    if match.group(2) is not None:
        return _RAW[match.group(2)]
    return match.group(0)


def _nested(value: Any) -> bool:
    kind = type(value)
    return kind is dict or (kind is list and bool(value) and type(value[0]) in (dict, list))


def _map_keys(value: Any, keys: set[Any]) -> None:
    """The map keys inside ``value``, a batch at a time where it can.

    Lists are taken to be uniform: the first element says whether (and in which
    positions) the elements hold maps. A key missed that way stays quoted in
    the text and the server refuses the query whole (nothing is written); a
    key collected needlessly costs one pass over the text, nothing more, since
    only a map key can look like ``"name":`` in JSON.
    """
    kind = type(value)
    if kind is dict:
        keys.update(value)
        for item in value.values():
            if _nested(item):
                _map_keys(item, keys)
    elif kind is list and value:
        first = value[0]
        if type(first) is dict:
            keys.update(*value)
            for key, item in first.items():
                if _nested(item):
                    for element in value:
                        _map_keys(element.get(key), keys)
        elif type(first) is list:
            for i, item in enumerate(first):
                if type(item) is dict:
                    keys.update(*(row[i] for row in value))
                elif _nested(item):
                    for row in value:
                        _map_keys(row[i], keys)


def _literal(value: Any) -> bytes:
    """A Cypher literal: orjson's JSON with map keys unquoted.

    In JSON every quote inside a string is escaped, so ``"name":`` (unescaped
    quotes, then a colon) can only be a map key: a plain replace per key name
    is exact. Write rows are lists (codec.py), so only attribute names remain.
    Escapes FalkorDB reads literally (``\\u00XX``, ``\\b``, ``\\f``, ``\\r``)
    become raw bytes; the text search separator, in every CI row, directly when
    no escaped backslash could make that ambiguous.
    """
    data = orjson.dumps(value)
    keys: set[Any] = set()
    if _nested(value):
        _map_keys(value, keys)
    for key in keys:
        if type(key) is not str or not _KEY.match(key):
            raise ValueError(f"parameter map key {key!r} is not a plain name")
        data = data.replace(b'"' + key.encode() + b'":', b"`" + key.encode() + b"`:")
    if b"\\\\" not in data:
        data = data.replace(b"\\u001f", b"\x1f")
    if _TO_UNESCAPE.search(data):  # one pass, not one per escape
        data = _ESCAPE.sub(_unescape, data)
    return data


def params_header(params: Mapping[str, Any]) -> str:
    """``CYPHER name=value ...`` for a query, serialised with orjson.

    JSON is Cypher's literal syntax but for map keys (quoted in JSON, plain or
    backticked in Cypher) and ``\\u`` escapes; both are rewritten. Several
    times faster than the client's pure-Python serialiser, which dominated
    write CPU time. Map keys must be plain names (a ``ValueError`` otherwise).
    """
    parts = []
    for name, value in params.items():
        if not _KEY.match(name):
            raise ValueError(f"parameter name {name!r} is not a plain name")
        parts.append(f"{name}=" + _literal(value).decode())
    return ("CYPHER " + " ".join(parts) + " ") if parts else ""


def compose(units: Sequence[Unit]) -> tuple[str, dict[str, Any]]:
    """One query and one parameter map running ``units`` in order, atomically."""
    if len(units) == 1:
        return units[0].statement, dict(units[0].params)
    parts: list[str] = []
    params: dict[str, Any] = {}
    for i, unit in enumerate(units):
        prefix = f"u{i}_"
        parts.append(_PARAM.sub(lambda m, p=prefix: f"${p}{m.group(1)}", unit.statement))  # type: ignore[misc]  # default arg binds this unit's prefix
        params.update({prefix + k: v for k, v in unit.params.items()})
        if i < len(units) - 1:
            parts.append(f"WITH count(*) AS _w{i}")
    return " ".join(parts), params


class FalkorDBTransport:
    """One CMDB in a FalkorDB server: the topology graph and its bookkeeping graph."""

    engine = "falkordb"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6379,
        graph: str = "cmdb",
        username: str | None = None,
        password: str | None = None,
        ssl: bool = False,
        socket_timeout: float | None = 300.0,
        bookkeeping_graph: str | None = None,
    ) -> None:
        try:
            self._db = FalkorDB(host=host, port=port, username=username, password=password, ssl=ssl,
                                socket_timeout=socket_timeout)
        except (RedisConnectionError, RedisTimeoutError) as exc:  # the client connects at once
            raise StoreUnavailable(f"FalkorDB at {host}:{port} cannot be reached: {exc}") from exc
        self.graph_name = graph
        if bookkeeping_graph is None:
            bookkeeping_graph = f"{graph}_bookkeeping" if self._split_layout(graph) else graph
        self.bookkeeping_graph_name = bookkeeping_graph
        self.split = self.bookkeeping_graph_name != graph
        self._names = {TOPOLOGY: graph, BOOKKEEPING: self.bookkeeping_graph_name}
        self._by_name = {name: self._db.select_graph(name) for name in dict.fromkeys(self._names.values())}
        self._graphs = {part: self._by_name[name] for part, name in self._names.items()}
        self.lock_key = f"cmdb:write_lock:{graph}"
        self.lock_lease_ms = WRITE_LOCK_LEASE_MS
        self._local = threading.local()  # per thread: the write lock's token while exclusive() holds it

    def _split_layout(self, graph: str) -> bool:
        """Whether ``graph`` was written in the two-graph layout (its bookkeeping graph exists)."""
        names = {n.decode() if isinstance(n, bytes) else str(n) for n in self._db.list_graphs()}
        return f"{graph}_bookkeeping" in names

    # -- statements ----------------------------------------------------------------
    def read(self, statement: str, params: Mapping[str, Any], part: str = TOPOLOGY) -> list[Row]:
        graph = self._graphs[part]
        self._keep_lock()
        # Reads are safe to repeat after a dropped connection.
        for attempt in range(_RETRIES):
            try:
                result = graph.ro_query(params_header(params) + statement)
                return [tuple(row) for row in result.result_set]
            except (RedisConnectionError, RedisTimeoutError, BusyLoadingError) as exc:
                if attempt == _RETRIES - 1:
                    raise TransientStoreError(str(exc)) from exc
                time.sleep(0.1 * 2**attempt)
        raise AssertionError("unreachable")

    def write(self, units: Sequence[Unit]) -> list[Row]:
        if not units:
            return []
        return self.send(self.prepare(units))

    def prepare(self, units: Sequence[Unit]) -> Prepared:
        """The query texts for a write (serialisation errors raise here, before any write)."""
        if not self.split:
            return Prepared(self._text(units), None)
        topology = [u for u in units if u.part == TOPOLOGY]
        bookkeeping = [u for u in units if u.part != TOPOLOGY]
        return Prepared(self._text(topology) if topology else None,
                        self._text(bookkeeping) if bookkeeping else None)

    @staticmethod
    def _text(units: Sequence[Unit]) -> str:
        statement, params = compose(units)
        return params_header(params) + statement

    def send(self, prepared: Prepared) -> list[Row]:
        """Run a prepared write: the topology query, then, once it succeeded, the bookkeeping one."""
        self._keep_lock()
        rows: list[Row] = []
        if prepared.topology is not None:
            rows = self.send_part(TOPOLOGY, prepared.topology)
        if prepared.bookkeeping is not None:
            rows = self.send_part(BOOKKEEPING, prepared.bookkeeping)
        return rows

    def send_part(self, part: str, text: str) -> list[Row]:
        """Run one prepared query on the graph of ``part`` (atomic: undone whole on an error)."""
        graph = self._graphs[part]
        for attempt in range(_RETRIES):
            try:
                result = graph.query(text)
                return [tuple(row) for row in result.result_set]
            except BusyLoadingError as exc:
                # The server is loading its snapshot: nothing ran; try again.
                if attempt == _RETRIES - 1:
                    raise TransientStoreError(str(exc)) from exc
                time.sleep(0.2 * 2**attempt)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                # Not retried: the query may have run. The caller re-runs the batch.
                raise TransientStoreError(str(exc)) from exc
            except ResponseError as exc:
                if "unique constraint violation" in str(exc).lower():
                    raise ConstraintViolation(str(exc)) from exc
                raise
        raise AssertionError("unreachable")

    # -- the write lock ----------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive(self, lock: Unit) -> Iterator[None]:
        """Hold the store's write lock (a lease key on the server) for the block.

        FalkorDB runs one query at a time per graph, each atomic, but has no
        transaction spanning several: two processes could both look a key up, find
        it missing, and both create its CI. Holding this lock across the lookups and
        the write serialises those, as a transaction would. ``lock`` (Neo4j's lock
        statement) has no use here. A holder that dies frees the lock when its lease
        runs out; a holder whose lease ran out before it wrote raises
        :class:`WriteLockLost` having written nothing.
        """
        del lock
        if getattr(self._local, "token", None) is not None:
            yield
            return
        token = uuid.uuid4().hex
        redis = self._db.connection
        deadline = time.monotonic() + WRITE_LOCK_WAIT_S
        pause = 0.002
        while not redis.set(self.lock_key, token, nx=True, px=self.lock_lease_ms):
            if time.monotonic() > deadline:
                raise TransientStoreError(f"the store's write lock was not free within {WRITE_LOCK_WAIT_S:.0f} s")
            time.sleep(pause)  # another writer's batch: typically a few milliseconds to a second
            pause = min(pause * 2, 0.05)
        self._local.token = token
        try:
            yield
        finally:
            self._local.token = None
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError):  # else the lease frees it
                redis.eval(_RELEASE, 1, self.lock_key, token)

    def _keep_lock(self) -> None:
        """Inside exclusive(): extend the lease before a statement, or fail if another writer took the lock."""
        token = getattr(self._local, "token", None)
        if token is None:
            return
        if not self._db.connection.eval(_EXTEND, 1, self.lock_key, token, self.lock_lease_ms):
            raise WriteLockLost(f"the store's write lock expired under this batch (lease {self.lock_lease_ms} ms)")

    def execute(self, *args: Any) -> Any:
        """A raw server command (for tools and tests)."""
        return self._db.connection.execute_command(*args)

    # -- schema --------------------------------------------------------------------
    def _existing(self, part: str) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, str]]]:
        indexes: set[tuple[str, str, str]] = set()
        constraints: set[tuple[str, str, str]] = set()
        try:
            index_rows = self.read("CALL db.indexes()", {}, part)
        except ResponseError as exc:
            if "empty key" in str(exc):  # the graph does not exist yet
                return indexes, constraints
            raise
        for row in index_rows:
            label, props, entity = row[0], row[1], row[6]
            for prop in props:
                indexes.add((str(entity), str(label), str(prop)))
        for row in self.read("CALL db.constraints()", {}, part):
            kind, label, props, entity = row[0], row[1], row[2], row[3]
            if kind == "UNIQUE" and len(props) == 1:
                constraints.add((str(entity), str(label), str(props[0])))
        return indexes, constraints

    def ensure_schema(self, specs: Sequence[IndexSpec]) -> list[str]:
        """Each spec on the graph of its part (``IndexSpec.part``); both graphs exist afterwards."""
        existing: dict[str, tuple[set[tuple[str, str, str]], set[tuple[str, str, str]]]] = {}  # by graph
        created: list[str] = []
        for spec in specs:
            graph_name = self._names[spec.part]
            if graph_name not in existing:  # one graph may hold both parts: read it once
                existing[graph_name] = self._existing(spec.part)
            indexes, constraints = existing[graph_name]
            entity = "RELATIONSHIP" if spec.relationship else "NODE"
            if (entity, spec.label, spec.prop) not in indexes:
                statement = falkordb_index(spec)
                self._graphs[spec.part].query(statement)
                indexes.add((entity, spec.label, spec.prop))
                created.append(statement)
            if spec.unique and (entity, spec.label, spec.prop) not in constraints:
                self.execute("GRAPH.CONSTRAINT", "CREATE", graph_name, "UNIQUE", entity, spec.label,
                             "PROPERTIES", 1, spec.prop)
                constraints.add((entity, spec.label, spec.prop))
                created.append(f"GRAPH.CONSTRAINT CREATE {graph_name} UNIQUE {entity} {spec.label} {spec.prop}")
        return created

    # -- durability ------------------------------------------------------------------
    def checkpoint(self, timeout: float = 600.0) -> None:
        """BGSAVE and wait until that snapshot is on disk (see TESTBEDS durability)."""
        deadline = time.monotonic() + timeout
        before = self._persistence()
        saves = int(before.get("rdb_saves", 0))
        while True:
            try:
                self.execute("BGSAVE")
                break
            except ResponseError as exc:  # another save, an AOF rewrite or a module's child process
                busy = "in progress" in str(exc) or "child process" in str(exc)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                # If a save that started before our writes finishes, ours still has to run.
                saves = int(self._persistence().get("rdb_saves", saves))
        while time.monotonic() < deadline:
            info = self._persistence()
            if int(info.get("rdb_bgsave_in_progress", 0)) == 0 and int(info.get("rdb_saves", 0)) > saves:
                if info.get("rdb_last_bgsave_status") != "ok":
                    raise RuntimeError("FalkorDB snapshot failed (rdb_last_bgsave_status is not ok)")
                return
            time.sleep(0.02)
        raise TimeoutError("FalkorDB snapshot did not finish in time")

    def _persistence(self) -> dict[str, Any]:
        info: dict[str, Any] = self.execute("INFO", "persistence")
        return info

    def drop(self) -> None:
        """Delete both graphs (tests and ``cmdb import --replace``)."""
        for graph in self._by_name.values():
            try:
                graph.delete()
            except ResponseError as exc:
                if "empty key" not in str(exc).lower() and "invalid graph" not in str(exc).lower():
                    raise

    def close(self) -> None:
        self._db.connection.close()
