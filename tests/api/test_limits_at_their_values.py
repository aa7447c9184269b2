"""Every documented limit at its value (accepted) and one past it (refused), over real HTTP.

The numbers are the documented ones (docs/api.md), written here rather than read
from the code, so raising a limit in the code fails these tests.
"""

from __future__ import annotations

from typing import Any

import pytest

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
