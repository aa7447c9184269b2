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
    GraphQLError,
    GraphQLSchema,
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
