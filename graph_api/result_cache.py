"""A bounded cache of GraphQL results for queries answered from the topology index alone.

Impact, dependency, path and single-point-of-failure queries read nothing but the
index's current :class:`~cmdb.topology.snapshot.Topology` view, and the index
publishes a new view object on every applied change set that changes anything
(``TopologyIndex.apply``; a batch that changes nothing keeps the view, and then the
answers cannot change either). The view's identity is therefore the graph version:
an entry is served only while the view it was computed on is still the current
one, and the whole cache is dropped the first time a request sees a newer view.

Key: (query text, operation name, variables, role). Only successful results of
query operations whose root fields are all index-only analyses are kept; anything
that reads the store (``ci``, ``cis``, ``topology``, ...) is never cached. Bounded
by entries and by the number of list items held at any depth (a 10,000-CI report counts
10,000, and 10,000 more per step of explanation path if the query asks for paths).

What it is for: the same question asked again before the graph changes (a change
review page refreshed, several people looking at the same incident, a dashboard).
It does nothing for a stream of distinct questions.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from graphql import ExecutionResult, FieldNode, OperationDefinitionNode, OperationType
from prometheus_client import Counter
from strawberry.extensions import SchemaExtension

INDEX_ONLY_FIELDS = frozenset({"impact", "dependencies", "paths", "singlePointsOfFailure", "__typename"})
CACHE_HEADER = "x-cmdb-cache"

_Key = tuple[str, str | None, bytes, str]


class ResultCache:
    """LRU of result data per graph version; every method is safe from any thread."""

    def __init__(self, version: Callable[[], object], max_entries: int, max_items: int,
                 outcomes: Counter | None = None) -> None:
        self._version = version
        self._entries: OrderedDict[_Key, tuple[dict[str, Any], int]] = OrderedDict()
        self._seen: object = None  # the version the entries belong to
        self._items = 0
        self.max_entries = max_entries
        self.max_items = max_items
        self._lock = threading.Lock()
        self._outcomes = outcomes

    def version(self) -> object:
        return self._version()

    def get(self, key: _Key, version: object) -> dict[str, Any] | None:
        with self._lock:
            if version is not self._seen:
                if version is self._version():
                    self._reset(version)  # the graph changed: every entry is of an older version
                return None
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: _Key, version: object, data: dict[str, Any]) -> None:
        """Keep ``data`` if the graph is still at ``version`` (the one it was computed on)."""
        weight = _weight(data)
        if weight > self.max_items // 8:
            return  # one huge report would evict everything else
        with self._lock:
            if version is not self._version() or version is not self._seen:
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self._items -= old[1]
            self._entries[key] = (data, weight)
            self._items += weight
            while len(self._entries) > self.max_entries or self._items > self.max_items:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._items -= dropped

    def key(self, query: str | None, operation_name: str | None, variables: Any, context: Any) -> _Key | None:
        """The cache key of a request, or None (no query text, no principal, variables not JSON)."""
        principal = getattr(context, "principal", None)
        if query is None or principal is None:
            return None
        try:
            encoded = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # orjson.JSONEncodeError: not JSON (cannot come from an HTTP body)
            return None
        return (query, operation_name, encoded, principal.role.value)

    def lookup(self, query: str | None, operation_name: str | None, variables: Any, context: Any) -> dict[str, Any] | None:
        """A kept answer for this request, counted as a hit; None otherwise (not counted: the
        request then runs, and the extension counts it as a miss if it is cacheable at all)."""
        key = self.key(query, operation_name, variables, context)
        data = self.get(key, self.version()) if key is not None else None
        if data is not None:
            self.count("hit")
        return data

    def count(self, outcome: str) -> None:
        if self._outcomes is not None:
            self._outcomes.labels(outcome).inc()

    def __len__(self) -> int:
        return len(self._entries)

    def _reset(self, version: object) -> None:
        self._entries.clear()
        self._items = 0
        self._seen = version


def _weight(data: dict[str, Any]) -> int:
    """1 + every list item at any depth (impacted CIs, their explanation paths' steps, ...)."""
    total = 1
    stack: list[Any] = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(v for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            total += len(value)
            stack.extend(v for v in value if isinstance(v, dict | list))
    return total


def _index_only(operation: OperationDefinitionNode) -> bool:
    if operation.operation is not OperationType.QUERY:
        return False
    return all(isinstance(node, FieldNode) and node.name.value in INDEX_ONLY_FIELDS
               for node in operation.selection_set.selections)


class CachedResults(SchemaExtension):
    """Serve and keep results of index-only queries; marks the HTTP answer ``X-Cmdb-Cache: hit|miss``."""

    def __init__(self, cache: ResultCache) -> None:
        self.cache = cache

    def on_execute(self) -> Iterator[None]:
        # Over HTTP a hit is answered before execution starts (graph_api.app); this path
        # serves callers of schema.execute and keeps every cacheable result.
        ctx = self.execution_context
        key = self._key()
        if key is None:
            yield
            return
        version = self.cache.version()
        data = self.cache.get(key, version)
        if data is not None:
            # Shared with other requests: the HTTP layer only serialises it, nobody mutates it.
            ctx.result = ExecutionResult(data=data, errors=None)
            self._mark("hit")
            yield
            return
        yield
        result = ctx.result
        if isinstance(result, ExecutionResult) and not result.errors and isinstance(result.data, dict):
            self.cache.put(key, version, result.data)
        self._mark("miss")

    def _key(self) -> _Key | None:
        ctx = self.execution_context
        if ctx.graphql_document is None or ctx.pre_execution_errors:
            return None
        operations = [d for d in ctx.graphql_document.definitions if isinstance(d, OperationDefinitionNode)]
        if ctx.operation_name is not None:
            operations = [op for op in operations if op.name is not None and op.name.value == ctx.operation_name]
        if len(operations) != 1 or not _index_only(operations[0]):
            return None
        return self.cache.key(ctx.query, ctx.operation_name, ctx.variables, ctx.context)

    def _mark(self, outcome: str) -> None:
        self.cache.count(outcome)
        response = getattr(self.execution_context.context, "response", None)
        if response is not None:
            response.headers[CACHE_HEADER] = outcome
