"""Every documented limit at its value (accepted) and one past it (refused), over real HTTP;
then the body-size middleware and the validation extension in-process.

The numbers are the documented ones (docs/api.md), written here rather than read
from the code, so raising a limit in the code fails these tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from graphql import GraphQLError, parse

from graph_api.limits import BodyLimit, _PerDocument
from graph_api.schema import build_schema
from graph_api.settings import ApiSettings
from schema import load_schema
from tests.api.conftest import Api

MAX_DEPTH = 10
MAX_INTROSPECTION_DEPTH = 15
MAX_ALIASES = 50
PAGE_CAP = 500
IMPACT_MAX_DEPTH = 10
IMPACT_MAX_NODES = 50_000
MAX_COST = 1_000_000


def _errors(api: Api, query: str, variables: dict[str, Any] | None = None) -> list[str]:
    response = api.gql(query, variables)
    assert response.status_code in (200, 400), response.text
    return [e["message"] for e in response.json().get("errors") or []]


def _parents(depth: int) -> str:
    """``ci`` then parents: ``depth`` nested fields with selections (the rule's depth)."""
    inner = "uid"
    for _ in range(depth - 1):
        inner = f"parent {{ {inner} }}"
    return f'query Deep {{ ci(uid: "x") {{ {inner} }} }}'


def test_depth_at_its_limit_is_accepted_and_one_more_is_refused(api: Api) -> None:
    assert _errors(api, _parents(MAX_DEPTH)) == []
    assert _errors(api, _parents(MAX_DEPTH + 1)) == [f"'Deep' exceeds maximum operation depth of {MAX_DEPTH}"]


def _introspection(depth: int) -> str:
    inner = "name"
    for _ in range(depth - 4):
        inner = f"ofType {{ {inner} }}"
    return f"query Intro {{ __schema {{ types {{ fields {{ type {{ {inner} }} }} }} }} }}"


def test_introspection_depth_at_its_limit_is_accepted_and_one_more_is_refused(api: Api) -> None:
    assert _errors(api, _introspection(MAX_INTROSPECTION_DEPTH)) == []
    assert _errors(api, _introspection(MAX_INTROSPECTION_DEPTH + 1)) == [
        f"'Intro' exceeds maximum introspection depth of {MAX_INTROSPECTION_DEPTH}"]


def _aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


def test_aliases_at_their_limit_are_accepted_and_one_more_is_refused(api: Api) -> None:
    assert _errors(api, _aliases(MAX_ALIASES)) == []
    assert _errors(api, _aliases(MAX_ALIASES + 1)) == [
        f"{MAX_ALIASES + 1} aliases found. Allowed: {MAX_ALIASES}"]


def _costing(extra: int) -> str:
    """A query whose estimated cost, by the documented rule (docs/api.md), is 999 501 + ``extra``.

    A field costs 1 plus its children's cost times the items it may return (its size argument):
    ``otherUid`` 1; inner ``neighbours(first: 497)`` 1 + 497 = 498; ``ci`` 1 + 498 = 499;
    outer ``neighbours(first: 4)`` 1 + 4 * 499 = 1997; ``node`` 1998; ``edges`` 1999;
    ``cis(first: 500)`` 1 + 500 * 1999 = 999 501; and each root ``__typename`` 1.
    """
    typenames = " __typename" * extra
    return ("query Costly { cis(first: 500) { edges { node { neighbours(first: 4) { ci { "
            f"neighbours(first: 497) {{ otherUid }} }} }} }} }} }}{typenames} }}")


def test_cost_at_its_limit_is_accepted_and_one_more_is_refused(api: Api) -> None:
    assert _errors(api, _costing(MAX_COST - 999_501)) == []
    assert _errors(api, _costing(MAX_COST - 999_501 + 1)) == [
        f"'Costly' is too expensive: estimated cost {MAX_COST + 1} exceeds {MAX_COST}; "
        "ask for smaller pages, fewer nodes or fewer nested lists"]


def test_page_size_at_the_cap_is_accepted_and_one_more_is_refused(api: Api) -> None:
    query = "query($n: Int!) { cis(first: $n) { edges { node { uid } } } }"
    assert _errors(api, query, {"n": PAGE_CAP}) == []
    assert _errors(api, query, {"n": PAGE_CAP + 1}) == [f"first must be between 0 and {PAGE_CAP}"]


@pytest.mark.parametrize("argument,limit,message", [
    ("maxDepth", IMPACT_MAX_DEPTH, f"maxDepth must be between 0 and {IMPACT_MAX_DEPTH}"),
    ("maxNodes", IMPACT_MAX_NODES, f"maxNodes must be between 1 and {IMPACT_MAX_NODES}"),
])
def test_impact_bounds_at_their_value_and_one_past(api: Api, argument: str, limit: int, message: str) -> None:
    db_main = api.uid("db-main")
    query = f"query($u: [ID!]!, $v: Int!) {{ impact(uids: $u, {argument}: $v) {{ truncated }} }}"
    at_limit = api.gql(query, {"u": [db_main], "v": limit}).json()
    assert not at_limit.get("errors"), at_limit
    assert at_limit["data"]["impact"]["truncated"] is False
    past = api.gql(query, {"u": [db_main], "v": limit + 1}).json()
    assert [(e["message"], e["extensions"]["code"]) for e in past["errors"]] == [(message, "INVALID_ARGUMENT")]


# In-process: the body-size middleware driven as ASGI by this test, and the validation
# extension through the schema itself (no server), quick enough for the mutation run
# (docs/testing.md). The served path is covered by the HTTP tests above and tests/api/test_hostile.py.

LIMIT = 10  # bytes, for the middleware's own tests; the served /graphql limit (100 KB) is test_hostile's


def _refusal(limit: int) -> list[dict[str, Any]]:
    body = json.dumps({"errors": [{"message": f"Request too large: the limit is {limit} bytes.",
                                   "extensions": {"code": "REQUEST_TOO_LARGE"}}]}).encode()
    return [{"type": "http.response.start", "status": 413,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]},
            {"type": "http.response.body", "body": body}]


@dataclass
class _Exchange:
    """One request through ``BodyLimit`` around an app that reads the whole body, then answers 200 with it."""

    scope: dict[str, Any]
    chunks: list[dict[str, Any]]
    answer_first: bool = False  # the app starts its answer before reading the body
    read: bytes = b""
    called: bool = False
    sent: list[MutableMapping[str, Any]] = field(default_factory=list)

    async def _app(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True
        if scope["type"] == "lifespan":  # the startup handshake, through the receive and send it was given
            message = await receive()
            await send({"type": f"{message['type']}.complete"})
            return
        if self.answer_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            message = await receive()
            self.read += message.get("body", b"")
            if not message.get("more_body"):
                break
        if not self.answer_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": self.read})

    def run(self, limits: dict[str, int] | None = None) -> _Exchange:
        pending = list(self.chunks)

        async def receive() -> dict[str, Any]:
            return pending.pop(0)

        async def send(message: MutableMapping[str, Any]) -> None:
            self.sent.append(message)

        asyncio.run(BodyLimit(self._app, {"/graphql": LIMIT} if limits is None else limits)(self.scope, receive, send))
        return self


def _http(path: str = "/graphql", headers: list[tuple[bytes, bytes]] | None = None, query: bytes = b"") -> dict[str, Any]:
    return {"type": "http", "path": path, "headers": headers or [], "query_string": query}


def _body(*parts: bytes) -> list[dict[str, Any]]:
    return [{"type": "http.request", "body": part, "more_body": i < len(parts) - 1} for i, part in enumerate(parts)]


def _answered(read: bytes) -> list[dict[str, Any]]:
    return [{"type": "http.response.start", "status": 200, "headers": []}, {"type": "http.response.body", "body": read}]


def test_a_streamed_body_at_the_limit_reaches_the_app_and_one_byte_more_is_refused() -> None:
    at = _Exchange(_http(), _body(b"12345", b"67890")).run()
    assert (at.read, at.sent) == (b"1234567890", _answered(b"1234567890"))
    past = _Exchange(_http(), _body(b"12345", b"678901")).run()
    assert past.sent == _refusal(LIMIT)
    # A chunk may come without its body (ASGI's default is empty).
    bare = _Exchange(_http(), [{"type": "http.request", "more_body": True}, *_body(b"1234567890")]).run()
    assert bare.sent == _answered(b"1234567890")


def test_a_declared_length_past_the_limit_is_refused_before_the_app_runs() -> None:
    at = _Exchange(_http(headers=[(b"host", b"x"), (b"content-length", b"10")]), _body(b"1234567890")).run()
    assert at.sent == _answered(b"1234567890")
    # No headers at all (a malformed scope) is no declared length.
    bare = _Exchange({"type": "http", "path": "/graphql", "query_string": b""}, _body(b"1234567890")).run()
    assert bare.sent == _answered(b"1234567890")
    for declared in (b"11", b"ten"):
        past = _Exchange(_http(headers=[(b"host", b"x"), (b"content-length", declared)]), _body(b"1")).run()
        assert (past.called, past.sent) == (False, _refusal(LIMIT)), declared


def test_a_query_string_past_the_limit_is_refused() -> None:
    at = _Exchange(_http(query=b"q=45678901"), _body(b"")).run()
    assert at.sent == _answered(b"")
    past = _Exchange(_http(query=b"q=456789012"), _body(b"")).run()
    assert (past.called, past.sent) == (False, _refusal(LIMIT))


def test_the_limit_is_per_path_with_or_without_its_trailing_slash() -> None:
    assert _Exchange(_http("/graphql/"), _body(b"12345678901")).run().sent == _refusal(LIMIT)
    assert _Exchange(_http("/other"), _body(b"12345678901")).run().sent == _answered(b"12345678901")
    assert _Exchange(_http("/graphqlX"), _body(b"12345678901")).run().sent == _answered(b"12345678901")
    assert _Exchange(_http("/"), _body(b"123456")).run({"/": 5}).sent == _refusal(5)


def test_scopes_other_than_http_pass_through_untouched() -> None:
    lifespan = _Exchange({"type": "lifespan"}, [{"type": "lifespan.startup"}]).run()
    assert lifespan.sent == [{"type": "lifespan.startup.complete"}]


def test_a_body_overflowing_after_the_answer_started_gets_no_second_answer() -> None:
    late = _Exchange(_http(), _body(b"12345", b"678901"), answer_first=True).run()
    assert late.sent == [{"type": "http.response.start", "status": 200, "headers": []}]


def test_the_limit_rules_run_first_and_alone_and_the_spec_rules_after_them() -> None:
    schema = build_schema(ApiSettings(), load_schema())

    def messages(query: str) -> tuple[Any, list[str]]:
        result = schema.execute_sync(query)
        return result.data, [e.message for e in result.errors or []]

    too_deep = _parents(MAX_DEPTH + 1).replace('ci(uid: "x") {', 'ci(uid: "x") { nope')
    within = _parents(MAX_DEPTH).replace('ci(uid: "x") {', 'ci(uid: "x") { nope')
    for _ in range(2):  # the second time from the caches of parsed documents and of their errors
        assert messages(too_deep) == (None, [f"'Deep' exceeds maximum operation depth of {MAX_DEPTH}"])
        assert messages(within) == (None, ["Cannot query field 'nope' on type 'CI'. Did you mean 'name'?"])
        assert messages("{ __typename }") == ({"__typename": "Query"}, [])
        assert messages("{ ci(uid: ") == (None, ["Syntax Error: Unexpected <EOF>."])


def test_validation_errors_are_kept_per_schema_document_and_rules_least_recently_used_first_out() -> None:
    cache = _PerDocument(2)
    schema = build_schema(ApiSettings(), load_schema())._schema
    one, two, three = parse("{ a }"), parse("{ b }"), parse("{ c }")
    computed: list[str] = []

    def errors(document: Any, rules: tuple[Any, ...] = ()) -> list[GraphQLError]:
        name = document.definitions[0].selection_set.selections[0].name.value
        def compute() -> list[GraphQLError]:
            computed.append(name)
            return [GraphQLError(name)]

        return cache.errors(schema, document, rules, compute)

    assert [e.message for e in errors(one)] == ["a"]
    assert errors(one) is errors(one)
    assert [e.message for e in errors(two)] == ["b"]
    assert computed == ["a", "b"]
    errors(one)  # now the most recently used
    errors(three)  # a third entry: "b" goes
    assert computed == ["a", "b", "c"]
    errors(one)
    errors(three)
    assert computed == ["a", "b", "c"]
    errors(two)
    assert computed == ["a", "b", "c", "b"]
    errors(two, ("another rule",))
    assert computed == ["a", "b", "c", "b", "b"]
    # One document validated against two schemas (two apps in one process): both kept.
    both = _PerDocument(4)
    other: Any = object()
    def validated() -> list[GraphQLError]:
        computed.append("both")
        return []

    for against in (schema, other, schema, other):
        both.errors(against, one, (), validated)
    assert computed.count("both") == 2
