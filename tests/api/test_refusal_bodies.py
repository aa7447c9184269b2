"""What a refused caller receives, to the letter: the REST endpoints' 403 body, and the
GraphQL permission check when no principal reached it (defence in depth behind the 401)."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest

from cmdb.tokens import Role
from graph_api.auth import CanAdmin, CanEdit, CanView, Principal
from tests.api.conftest import Api


@pytest.mark.parametrize("path,method,role,needed", [
    ("/api/v1/collect", "post", "viewer", "collector"),
    ("/metrics", "get", "collector", "viewer"),
])
def test_a_rest_endpoint_refuses_with_the_documented_403_body(api: Api, path: str, method: str, role: str,
                                                              needed: str) -> None:
    kwargs = {"json": {"source": "sample", "scope": "refusal", "complete": False, "items": []}} if method == "post" else {}
    response = httpx.request(method.upper(), f"{api.url}{path}", headers=api.headers(role), **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 403
    assert response.json() == {"errors": [{"message": f"Forbidden: this needs the {needed} role.",
                                           "extensions": {"code": "FORBIDDEN"}}]}


def _info(principal: Principal | None) -> SimpleNamespace:
    return SimpleNamespace(context=SimpleNamespace(principal=principal) if principal else SimpleNamespace())


@pytest.mark.parametrize("permission", [CanView, CanEdit, CanAdmin])
def test_a_permission_without_a_principal_refuses_and_says_why(permission: type[CanView]) -> None:
    check = permission()
    assert check.has_permission(None, _info(None)) is False
    assert check.message == "Authentication required."


@pytest.mark.parametrize("role,allowed", [
    (Role.COLLECTOR, set()), (Role.VIEWER, {"viewer"}), (Role.EDITOR, {"viewer", "editor"}),
    (Role.ADMIN, {"viewer", "editor", "admin"}),
])
def test_each_permission_class_against_each_role(role: Role, allowed: set[str]) -> None:
    principal = Principal("t-1", "someone", role)
    granted = {p.role.value for p in (CanView(), CanEdit(), CanAdmin()) if p.has_permission(None, _info(principal))}
    assert granted == allowed
