"""GraphQL latency by operation name, type and root field (issue 25 item 4).

One histogram observation per operation, parse and validation included, labelled
with the operation's name (client-chosen: the first ``MAX_NAMES`` distinct names
are kept, later ones count as ``other``, so a client cannot blow up the series),
its type, and the root fields it selects (from the schema: bounded; three at most,
sorted, joined by ``+``). A result-cache hit over HTTP is answered before any
execution: it shows in the HTTP latency and the cache counter, not here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from graphql import FieldNode, OperationDefinitionNode
from prometheus_client import Histogram
from strawberry.extensions import SchemaExtension

MAX_NAMES = 200
_MAX_ROOT_FIELDS = 3


class OperationNames:
    """The operation names a histogram may carry as label values (the first ``limit`` seen)."""

    def __init__(self, limit: int = MAX_NAMES) -> None:
        self.limit = limit
        self._names: set[str] = set()
        self._lock = threading.Lock()

    def label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        with self._lock:
            if name in self._names:
                return name
            if len(self._names) < self.limit:
                self._names.add(name[:100])
                return name[:100]
        return "other"


class OperationTiming(SchemaExtension):
    """Times each operation and observes it under its name, type and root fields."""

    def __init__(self, histogram: Histogram, names: OperationNames) -> None:
        self.histogram = histogram
        self.names = names

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is None:  # unparsable: nothing to name
            return
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if ctx.operation_name is not None:
            operations = [op for op in operations if op.name is not None and op.name.value == ctx.operation_name]
        if len(operations) != 1:
            return
        op = operations[0]
        fields = sorted({s.name.value for s in op.selection_set.selections if isinstance(s, FieldNode)})
        root = "+".join(fields[:_MAX_ROOT_FIELDS]) + ("+..." if len(fields) > _MAX_ROOT_FIELDS else "")
        name = self.names.label(op.name.value if op.name is not None else None)
        self.histogram.labels(name, op.operation.value, root or "none").observe(time.perf_counter() - started)
