"""Hostile queries are refused with a clear error before anything runs, and the server stays healthy.

No durations are asserted: each request has a bounded wait (an httpx timeout); how fast
refusals are is measured by bench/hostile_validation.py (docs/benchmarks.md).
"""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import Api

BOUND = 10.0  # seconds any answer may take here (a bound on the wait, not a measure)


def _refused(api: Api, query: str, expect: str, role: str = "viewer") -> dict:  # type: ignore[type-arg]
    r = api.gql(query, role=role, timeout=BOUND)
    body = r.json()
    assert body.get("data") is None, body
    messages = " ".join(e["message"] for e in body["errors"])
    assert expect in messages, messages
    _healthy(api)
    return body  # type: ignore[no-any-return]


def _healthy(api: Api) -> None:
    assert httpx.get(f"{api.url}/healthz", timeout=BOUND).json()["status"] == "ok"


def test_depth_50(api: Api) -> None:
    inner = "uid"
    for _ in range(25):
        inner = f"neighbours {{ ci {{ {inner} }} }}"
    _refused(api, f'{{ ci(uid: "x") {{ {inner} }} }}', "exceeds maximum operation depth of 10")


def test_depth_through_fragments(api: Api) -> None:
    frags = "\n".join(f"fragment F{i} on CI {{ neighbours {{ ci {{ ...F{i + 1} }} }} }}" for i in range(20))
    _refused(api, f'{{ ci(uid: "x") {{ ...F0 }} }}\n{frags}\nfragment F20 on CI {{ uid }}',
             "exceeds maximum operation depth")


def test_1000_aliases(api: Api) -> None:
    fields = " ".join(f'a{i}: ci(uid: "x") {{ uid }}' for i in range(1000))
    _refused(api, f"{{ {fields} }}", "more than 3000 tokens")  # the cheapest limit fires first
    fields = " ".join(f"a{i}: __typename" for i in range(900))
    _refused(api, f"{{ {fields} }}", "900 aliases found. Allowed: 50")
    fields = " ".join(f'a{i}: ci(uid: "x") {{ uid }}' for i in range(51))
    _refused(api, f"{{ {fields} }}", "51 aliases found. Allowed: 50")


def test_huge_page_size(api: Api) -> None:
    body = _refused(api, "{ cis(first: 1000000) { edges { node { uid } } } }", "first must be between 0 and 500")
    assert body["errors"][0]["extensions"] == {"code": "INVALID_ARGUMENT", "field": "first"}


def test_cost_of_nested_lists(api: Api) -> None:
    _refused(api, "{ cis(first: 500) { edges { node { neighbours(first: 500) { ci { neighbours(first: 500) { ci { uid } } } } } } } }",
             "too expensive")


def test_one_megabyte_query(api: Api) -> None:
    query = "{ ci(uid: \"" + "x" * 1_000_000 + "\") { uid } }"
    r = api.gql(query, timeout=BOUND)
    assert r.status_code == 413
    assert r.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    _healthy(api)


def test_many_tokens(api: Api) -> None:
    fields = " ".join("a" for _ in range(22_000))
    _refused(api, f'{{ ci(uid: "x") {{ {fields} }} }}', "more than 3000 tokens")


def test_many_sibling_fields(api: Api) -> None:
    """The spec's overlapping-fields rule is quadratic: thousands of siblings are refused before it runs."""
    fields = " ".join("uid" for _ in range(2_400))
    _refused(api, f'{{ ci(uid: "x") {{ {fields} }} }}', "field selections; the limit is 1000")


@pytest.mark.parametrize("payload", [b"{not json", b"", b"[1,2", b'{"query": 5}', b"\xff\xfe", b'"{ uid }"', b"7",
                                     b'{"query": "{ __typename }", "operationName": ["a"]}', b"[" * 3000 + b"]" * 3000])
def test_malformed_json(api: Api, payload: bytes) -> None:
    r = httpx.post(f"{api.url}/graphql", content=payload, timeout=BOUND,
                   headers={**api.headers("viewer"), "content-type": "application/json"})
    assert r.status_code == 400, (r.status_code, r.text)
    _healthy(api)


def _fragment_bomb(levels: int) -> str:
    frags = ["fragment F0 on Query { a: __typename }"]
    frags += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return f"{{ ...F{levels} }}\n" + "\n".join(frags)


def test_fragment_bomb(api: Api) -> None:
    """2^40 fields once expanded, 1.7 KB written: judged with each fragment walked once."""
    _refused(api, _fragment_bomb(40), "is too expensive")
    # Small enough to cost little, the same shape is refused for its aliases and its expanded size,
    # each counted through the memoised fragments.
    _refused(api, _fragment_bomb(11), "2048 aliases found. Allowed: 50")
    _refused(api, _fragment_bomb(11).replace("a: __typename", "__typename"),
             "2048 field selections once fragments are expanded")


def test_missing_arguments_are_costed_at_their_defaults(api: Api) -> None:
    """``neighbours`` without ``first`` returns up to 100 (its default): costed so, not as 1."""
    nested = "{ ci(uid: \"x\") { neighbours%s { ci { neighbours%s { ci { neighbours%s { otherUid } } } } } } }"
    explicit = _refused(api, nested % (("(first: 100)",) * 3), "is too expensive")
    implicit = _refused(api, nested % (("",) * 3), "is too expensive")
    assert explicit["errors"][0]["message"] == implicit["errors"][0]["message"]
    answer = api.gql(nested % (("(first: 5)",) * 3)).json()
    assert answer["data"] == {"ci": None} and "errors" not in answer


def test_analyses_are_costed_by_what_they_may_return(api: Api) -> None:
    fifty = " ".join(f'i{i}: impact(uids: ["x"]) {{ truncated }}' for i in range(50))
    _refused(api, f"{{ {fifty} }}", "asks for 50 analyses")
    # maxNodes is the size of the answer: 50,000 impacted CIs with their paths is too much ...
    _refused(api, '{ impact(uids: ["x"], maxNodes: 50000) { impacted { uid name grade depth explanation '
                  "path { uid name ciClass relType } } } }", "is too expensive")
    # ... the default 10,000 with the same selection is not (NOT_FOUND: the query ran).
    r = api.gql('{ impact(uids: ["x"]) { impacted { uid name grade depth explanation path { uid name ciClass relType } } } }')
    assert r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_introspection_abuse(api: Api) -> None:
    deep = "name"
    for _ in range(30):
        deep = f"ofType {{ {deep} }}"
    _refused(api, f"{{ __schema {{ types {{ fields {{ type {{ {deep} }} }} }} }} }}",
             "exceeds maximum introspection depth")
    _refused(api, "{ a: __schema { types { name } } b: __schema { types { name } } }", "one __schema")
    many = " ".join(f"t{i}: __type(name: \"CI\") {{ name }}" for i in range(100))
    _refused(api, f"{{ {many} }}", "aliases found")


def test_standard_introspection_still_works(api: Api) -> None:
    """GraphiQL's own introspection query (depth ~13 inside __schema) stays allowed."""
    from graphql import get_introspection_query

    data = api.data(get_introspection_query())
    names = {t["name"] for t in data["__schema"]["types"]}
    assert {"CI", "DeviceCI", "CIClassName", "Relationship", "ImpactReport"} <= names


def test_uncomparable_filter_value_is_a_typed_error(api: Api) -> None:
    r = api.gql('{ cis(filter: {attributes: [{attribute: "cpu_count", op: GT, value: {a: 1}}]}) { edges { cursor } } }')
    (err,) = r.json()["errors"]
    assert err["extensions"] == {"code": "INVALID_ARGUMENT", "field": "filter.attributes"}
    assert "string, number or boolean" in err["message"]


def test_unexpected_errors_are_masked(api: Api) -> None:
    r = api.gql('{ ci(uid: "explode-uid") { uid } }')
    assert r.status_code == 200
    (err,) = r.json()["errors"]
    assert err["message"] == "Unexpected error."
    assert "secret" not in r.text and "extensions" not in err
    _healthy(api)
