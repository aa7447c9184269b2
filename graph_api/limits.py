"""Hostile-query limits: size (before parsing), tokens, aliases, depth, introspection and cost.

Size is checked by an ASGI middleware on the raw body, so a 1 MB query is refused
without being read whole or parsed. The rest are GraphQL validation rules, so
nothing is executed when a limit is hit.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    validate,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

EXPENSIVE_FIELDS = {"impact": 200, "dependencies": 200, "paths": 200, "singlePointsOfFailure": 500, "topology": 100}


def create_limits_rule(max_depth: int, max_introspection_depth: int, max_cost: int,
                       page_cap: int, max_fields: int) -> type[ValidationRule]:
    """A validation rule refusing documents that nest too deep, abuse introspection or cost too much.

    Cost: each field costs 1 (expensive analyses more); a field with a ``first``
    argument multiplies its children's cost by it (the page cap when it is a variable).
    Field count: the spec's OverlappingFieldsCanBeMerged rule is quadratic in sibling
    fields, so documents with more than ``max_fields`` selections are refused first.
    """

    class LimitsRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            doc = context.document
            self.fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
            fields = sum(_count_fields(d.selection_set) for d in doc.definitions
                         if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode))
            if fields > max_fields:
                self.report_error(GraphQLError(
                    f"Document has {fields} field selections; the limit is {max_fields}."))
                return
            for op in doc.definitions:
                if isinstance(op, OperationDefinitionNode):
                    self.check(op)

        def check(self, op: OperationDefinitionNode) -> None:
            name = op.name.value if op.name else "anonymous"
            self.schema_roots = 0
            try:
                depth, intro_depth, cost = self.walk(op.selection_set, 0, False, frozenset())
            except _Refused as refused:
                self.report_error(GraphQLError(f"'{name}' {refused}", [op]))
                return
            if depth > max_depth:
                self.report_error(GraphQLError(f"'{name}' exceeds maximum operation depth of {max_depth}", [op]))
            elif intro_depth > max_introspection_depth:
                self.report_error(GraphQLError(
                    f"'{name}' exceeds maximum introspection depth of {max_introspection_depth}", [op]))
            elif cost > max_cost:
                self.report_error(GraphQLError(
                    f"'{name}' is too expensive: estimated cost {cost} exceeds {max_cost}; "
                    "ask for smaller pages or fewer nested lists", [op]))

        def walk(self, sel: SelectionSetNode | None, level: int, intro: bool,
                 visited: frozenset[str]) -> tuple[int, int, int]:
            """(depth of ordinary fields, depth inside introspection, cost) of a selection set."""
            if sel is None:
                return 0, 0, 0
            if level > max(max_depth, max_introspection_depth) + 5:
                raise _Refused(f"exceeds maximum introspection depth of {max_introspection_depth}" if intro
                               else f"exceeds maximum operation depth of {max_depth}")
            depth = intro_depth = cost = 0
            for node in sel.selections:
                if isinstance(node, FieldNode):
                    fname = node.name.value
                    is_intro = intro or fname.startswith("__")
                    if fname == "__schema":
                        self.schema_roots += 1
                        if self.schema_roots > 1:
                            raise _Refused("one __schema selection per operation")
                    d, i, c = self.walk(node.selection_set, level + 1, is_intro, visited)
                    mult = self.multiplier(node)
                    cost += EXPENSIVE_FIELDS.get(fname, 1) + mult * c
                    if node.selection_set is not None:
                        if is_intro:
                            intro_depth = max(intro_depth, 1 + max(i, d))
                        else:
                            depth = max(depth, 1 + d)
                            intro_depth = max(intro_depth, i)
                elif isinstance(node, InlineFragmentNode):
                    d, i, c = self.walk(node.selection_set, level, intro, visited)
                    depth, intro_depth, cost = max(depth, d), max(intro_depth, i), cost + c
                elif isinstance(node, FragmentSpreadNode):
                    frag_name = node.name.value
                    if frag_name in visited:
                        continue  # the spec's NoFragmentCycles rule reports it
                    frag = self.fragments.get(frag_name)
                    if frag is not None:
                        d, i, c = self.walk(frag.selection_set, level, intro, visited | {frag_name})
                        depth, intro_depth, cost = max(depth, d), max(intro_depth, i), cost + c
                if cost > max_cost * 10:
                    raise _Refused(f"is too expensive: estimated cost exceeds {max_cost}; "
                                   "ask for smaller pages or fewer nested lists")
            return depth, intro_depth, cost

        @staticmethod
        def multiplier(node: FieldNode) -> int:
            for arg in node.arguments or ():
                if arg.name.value in ("first", "last", "limit", "maxPaths"):
                    if isinstance(arg.value, IntValueNode):
                        return max(1, min(int(arg.value.value), page_cap * 10))
                    return page_cap
            return 1

    return LimitsRule


class _Refused(Exception):
    pass


def _count_fields(sel: SelectionSetNode | None) -> int:
    if sel is None:
        return 0
    total = 0
    stack = [sel]
    while stack:
        current = stack.pop()
        for node in current.selections:
            if isinstance(node, FieldNode):
                total += 1
            if isinstance(node, FieldNode | InlineFragmentNode) and node.selection_set is not None:
                stack.append(node.selection_set)
    return total


class _PerDocument:
    """Validation errors per (schema, document, rules), keyed by the objects' identity, LRU-bounded.

    The parser cache hands out one DocumentNode per query text, so identity is enough;
    an lru_cache keyed by the document would hash the whole syntax tree on every request
    (graphql-core's Node hash is recursive), which cost more than the validation it saved.
    The objects are kept in the entry, so an id is never reused while its entry lives.
    Used from the event loop only.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[int, int], tuple[Any, DocumentNode, tuple[Any, ...], list[GraphQLError]]] = (
            OrderedDict())

    def errors(self, schema: GraphQLSchema, document: DocumentNode, rules: tuple[Any, ...],
               compute: Callable[[], list[GraphQLError]]) -> list[GraphQLError]:
        key = (id(schema), id(document))
        entry = self._entries.get(key)
        if entry is not None and entry[0] is schema and entry[1] is document and entry[2] == rules:
            self._entries.move_to_end(key)
            return entry[3]
        found = compute()
        self._entries[key] = (schema, document, rules, found)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return found


_limits_cached = _PerDocument(256)
_validate_cached = _PerDocument(256)


class LimitsFirst(SchemaExtension):
    """Run the cheap limit rules before the spec's validation rules, and stop there if they fail;
    otherwise run (and cache) the full validation.

    The spec's OverlappingFieldsCanBeMerged rule is quadratic in the number of
    sibling fields: 1000 aliases would cost seconds before any limit rule reported.
    """

    def __init__(self, rules: list[type[ASTValidationRule]]) -> None:
        self.rules = tuple(rules)

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and ctx.pre_execution_errors is None:
            schema = ctx.schema._schema
            errors = _limits_cached.errors(schema, document, self.rules,
                                           lambda: validate(schema, document, list(self.rules)))
            ctx.pre_execution_errors = errors or _validate_cached.errors(
                schema, document, tuple(ctx.validation_rules),
                lambda: validate_document(schema, document, ctx.validation_rules))
        yield


class BodyLimit:
    """ASGI middleware: refuse request bodies (and GET queries) above a per-path limit with HTTP 413."""

    def __init__(self, app: ASGIApp, limits: dict[str, int]) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"].rstrip("/") or "/")
        if limit is None:
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > limit:
            await _too_large(send, limit)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > limit:
                        await _too_large(send, limit)
                        return
                except ValueError:
                    await _too_large(send, limit)
                    return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    raise _BodyTooLarge()
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if refused and not started:
                await _too_large(send, limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"errors": [{"message": f"Request too large: the limit is {limit} bytes.",
                                   "extensions": {"code": "REQUEST_TOO_LARGE"}}]}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
