"""Bearer tokens: no or bad token gets only an authentication error; each role's allowed and refused operations."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import HTTPException, Request

from cmdb.store.tokens_sqlite import SQLiteTokenStore
from cmdb.tokens import Role, TokenService
from graph_api.auth import CanAdmin, CanEdit, CanView, Principal, Unauthenticated, authenticate, bearer, require
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


# In-process: the header parsing, authentication and REST role check called directly with a
# request built from an ASGI scope and a real token store (quick enough for the mutation run).

def _request(authorization: str | None) -> Request:
    headers = [(b"authorization", authorization.encode())] if authorization is not None else []
    return Request({"type": "http", "method": "GET", "path": "/graphql", "headers": headers, "query_string": b""})


@pytest.mark.parametrize("header,token", [
    (None, None), ("", None), ("Bearer", None), ("Bearer    ", None), ("Basic dXNlcjpwYXNz", None),
    ("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER  abc  ", "abc"), ("Bearer a b", "a b"),
])
def test_the_bearer_token_is_read_from_the_header_whatever_the_schemes_case(header: str | None,
                                                                              token: str | None) -> None:
    assert bearer(_request(header)) == token


def _refused_as_unauthenticated(call: Callable[[], object]) -> None:
    with pytest.raises(Unauthenticated) as refused:
        call()
    detail: object = refused.value.detail  # typed str by Starlette; ours is the GraphQL error body
    assert (refused.value.status_code, detail, refused.value.headers) == (
        401, {"errors": [{"message": "Authentication required: send a valid bearer token.",
                          "extensions": {"code": "UNAUTHENTICATED"}}]}, {"WWW-Authenticate": 'Bearer realm="cmdb"'})


def test_a_valid_token_authenticates_as_its_principal_and_anything_else_gets_401(tmp_path: Path) -> None:
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite")
    tokens = TokenService(store)
    collector, collector_secret = tokens.create("scanner", Role.COLLECTOR, ["aws", "ssh"], ["acct-*"])
    editor, editor_secret = tokens.create("someone", Role.EDITOR)
    assert authenticate(_request(f"Bearer {collector_secret}"), tokens) == Principal(
        collector.token_id, "scanner", Role.COLLECTOR, ("aws", "ssh"), ("acct-*",))
    assert authenticate(_request(f"Bearer {editor_secret}"), tokens) == Principal(editor.token_id, "someone", Role.EDITOR)
    tokens.revoke(editor.token_id)
    for header in (None, "Bearer", f"Bearer {editor_secret}", "Bearer cmdb_abc_def", f"Basic {collector_secret}"):
        _refused_as_unauthenticated(lambda: authenticate(_request(header), tokens))  # noqa: B023
    store.close()


def test_a_rest_role_check_refuses_below_the_role_with_403_and_without_a_principal_with_401() -> None:
    _refused_as_unauthenticated(lambda: require(None, Role.VIEWER))
    for held, needed in ((Role.VIEWER, Role.EDITOR), (Role.COLLECTOR, Role.VIEWER), (Role.EDITOR, Role.ADMIN)):
        with pytest.raises(HTTPException) as refused:
            require(Principal("t", "n", held), needed)
        detail: object = refused.value.detail
        assert (refused.value.status_code, detail) == (403, {"errors": [{
            "message": f"Forbidden: this needs the {needed.value} role.", "extensions": {"code": "FORBIDDEN"}}]})
    for held, needed in ((Role.VIEWER, Role.VIEWER), (Role.ADMIN, Role.EDITOR), (Role.EDITOR, Role.VIEWER)):
        require(Principal("t", "n", held), needed)


def test_a_permission_refusing_a_role_names_the_role_it_needs() -> None:
    viewer = SimpleNamespace(context=SimpleNamespace(principal=Principal("t", "n", Role.VIEWER)))
    for permission, allowed, message in ((CanView(), True, "Forbidden: this needs the viewer role."),
                                         (CanEdit(), False, "Forbidden: this needs the editor role."),
                                         (CanAdmin(), False, "Forbidden: this needs the admin role.")):
        assert (permission.has_permission(None, viewer), permission.message) == (allowed, message)
        assert permission.error_extensions == {"code": "FORBIDDEN"}


def test_a_principal_writes_what_its_binding_allows() -> None:
    collector = Principal("t", "scanner", Role.COLLECTOR, ("aws",), ("acct-*", "lab"))
    assert [collector.may_write(source, scope) for source, scope in (
        ("aws", "acct-1"), ("aws", "lab"), ("aws", "labs"), ("ssh", "acct-1"), ("manual", "acct-1"))] == [
        True, True, False, False, False]
    assert Principal("t", "n", Role.ADMIN).may_write("manual", "anything") is True
    assert Principal("t", "n", Role.EDITOR).may_write("aws", "acct-1") is False
