"""Secrets sent through the API (a manual edit, a collector batch) are redacted before they are stored:
the answers, the history and the store's file never hold them."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.conftest import Api
from tests.api.test_mutations import _create

SECRET = "Api5ecretPlanted"


def test_secrets_sent_through_the_api_are_never_stored(api: Api) -> None:
    made = _create(api, "application", {"app_id": "app-redact"},
                   {"name": "redact-app", "description": f"DSN postgres://app:{SECRET}1@db/app",
                    "tags": {"api_token": f"{SECRET}2", "team": "pay"}})
    assert made["__typename"] == "CIPayload", made
    uid = made["ci"]["uid"]
    assert made["ci"]["attributes"]["tags"] == {"api_token": "[REDACTED]", "team": "pay"}
    r = httpx.post(f"{api.url}/api/v1/collect", headers=api.headers("collector"), timeout=30, json={
        "source": "aws", "scope": "acct-redact", "complete": False, "items": [
            {"class": "cloud_instance", "source": "aws", "scope": "acct-redact", "identifiers": {"instance_id": "i-red"},
             "attributes": {"name": "red-1", "user_data": f"export TOKEN={SECRET}3",
                            "state": f"running --secret={SECRET}4"}}]})
    assert r.status_code == 200 and r.json()["errors"] == [], r.text
    red = api.uid("red-1")
    answers = ""
    for u in (uid, red):
        answers += api.gql("query($u: ID!) { ci(uid: $u) { attributes } history(uid: $u) { changes } }",
                           {"u": u}).text
    assert "postgres://app:[REDACTED]@db/app" in answers and "--secret=[REDACTED]" in answers
    assert "user_data" not in answers and SECRET not in answers
    inner = api.store._inner
    if hasattr(inner, "path"):  # SQLite: the store file, its WAL and shared memory
        path = Path(inner.path)
        stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    else:  # a server store: everything it holds, read back whole
        stored = repr([*inner.iter_cis(), *inner.iter_relationships(), *inner.iter_history()]).encode()
        assert b"red-1" in stored  # the read-back does hold the CI written above
    assert SECRET.encode() not in stored
