"""Query `me`: the caller's token name and role, what the web interface uses to hide controls."""

from __future__ import annotations

from tests.api.conftest import Api

ME = "{ me { name role canEdit canAdmin } }"


def test_me_names_the_token_and_its_role(api: Api) -> None:
    assert api.data(ME, role="viewer")["me"] == {"name": "test-viewer", "role": "VIEWER", "canEdit": False, "canAdmin": False}
    assert api.data(ME, role="editor")["me"] == {"name": "test-editor", "role": "EDITOR", "canEdit": True, "canAdmin": False}
    assert api.data(ME, role="admin")["me"] == {"name": "test-admin", "role": "ADMIN", "canEdit": True, "canAdmin": True}


def test_me_without_a_valid_token_is_refused(api: Api) -> None:
    assert api.gql(ME, role=None).status_code == 401
    assert api.gql(ME, role="revoked").status_code == 401
    body = api.gql(ME, role="collector").json()  # a collector token only feeds observations
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
