"""Bearer tokens: no or bad token gets only an authentication error; each role's allowed and refused operations."""

from __future__ import annotations

import os

import httpx
import pytest

from tests.api.conftest import Api

QUERY = "{ cis(first: 1) { edges { node { uid } } } }"
CREATE = 'mutation { createCi(ciClass: LOCATION, identifiers: {site_code: "AUTH-%s"}) { __typename } }'
TRIGGER = 'mutation { triggerDiscovery(job: "aws-prod") { __typename } }'


def _assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body == {"errors": [{"message": "Authentication required: send a valid bearer token.",
                                "extensions": {"code": "UNAUTHENTICATED"}}]}


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer nonsense"},
    {"Authorization": "Bearer cmdb_abc_def"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer"},
], ids=["none", "malformed", "unknown", "basic", "empty"])
def test_no_or_bad_token_gets_only_401(api: Api, headers: dict[str, str]) -> None:
    _assert_unauthenticated(httpx.post(f"{api.url}/graphql", json={"query": QUERY}, headers=headers))
    _assert_unauthenticated(httpx.get(f"{api.url}/graphql", params={"query": QUERY}, headers=headers))
    _assert_unauthenticated(httpx.post(f"{api.url}/api/v1/collect", headers=headers,
                                       json={"source": "sample", "scope": "x", "items": []}))
    _assert_unauthenticated(httpx.get(f"{api.url}/metrics", headers=headers))


def test_revoked_token_is_refused(api: Api) -> None:
    _assert_unauthenticated(api.gql(QUERY, role="revoked"))


def test_malformed_json_without_token_is_still_401(api: Api) -> None:
    _assert_unauthenticated(httpx.post(f"{api.url}/graphql", content=b"{not json",
                                       headers={"content-type": "application/json"}))


def test_graphiql_page_is_served_but_runs_nothing_without_token(api: Api) -> None:
    page = httpx.get(f"{api.url}/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


def test_healthz_needs_no_token(api: Api) -> None:
    # "worker": the answering process (several with `cmdb serve --workers N`); here the test's own.
    # "log_position": how far this server has followed the store's change log (the seeded estate and more).
    health = httpx.get(f"{api.url}/healthz").json()
    assert isinstance(health.pop("log_position"), int)
    assert health == {"status": "ok", "impact": True, "worker": os.getpid()}


def _codes(response: httpx.Response) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in response.json().get("errors") or []]


@pytest.mark.parametrize("role,can_read,can_edit,can_admin", [
    ("viewer", True, False, False),
    ("editor", True, True, False),
    ("admin", True, True, True),
    ("collector", False, False, False),
])
def test_role_matrix(api: Api, role: str, can_read: bool, can_edit: bool, can_admin: bool) -> None:
    read = api.gql(QUERY, role=role)
    assert read.status_code == 200
    assert (_codes(read) == []) is can_read, read.text
    if not can_read:
        assert _codes(read) == ["FORBIDDEN"]
        assert read.json()["data"] is None

    edit = api.gql(CREATE % role, role=role)
    if can_edit:
        assert edit.json()["data"]["createCi"]["__typename"] == "CIPayload"
    else:
        assert _codes(edit) == ["FORBIDDEN"]
        assert "needs the editor role" in edit.json()["errors"][0]["message"]

    admin = api.gql(TRIGGER, role=role)
    if can_admin:
        assert admin.json()["data"]["triggerDiscovery"]["__typename"] == "DiscoveryStarted"
    else:
        assert _codes(admin) == ["FORBIDDEN"]

    collect = httpx.post(f"{api.url}/api/v1/collect", headers=api.headers(role),
                         json={"source": "sample", "scope": f"auth-{role}", "complete": False, "items": []})
    assert collect.status_code == (200 if role in ("collector", "admin") else 403), collect.text

    metrics = httpx.get(f"{api.url}/metrics", headers=api.headers(role))
    assert metrics.status_code == (200 if can_read else 403)


def test_forbidden_field_inside_allowed_query_is_refused(api: Api) -> None:
    """A collector may not read CIs even through a nested field."""
    r = api.gql("{ ci(uid: \"x\") { uid } }", role="collector")
    assert _codes(r) == ["FORBIDDEN"]
