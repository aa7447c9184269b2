"""``POST /api/v1/collect``: one scan run per batch, per-item errors naming the field."""

from __future__ import annotations

import httpx

from tests.api.conftest import Api


def _post(api: Api, body: object, role: str = "collector") -> httpx.Response:
    return httpx.post(f"{api.url}/api/v1/collect", json=body, headers=api.headers(role), timeout=30)


def test_batch_becomes_one_run_with_per_item_errors(api: Api) -> None:
    items = [
        {"class": "bucket", "source": "aws", "scope": "acct-1", "identifiers": {"bucket_name": "logs-1"},
         "attributes": {"name": "logs-1", "region": "eu-west-1"}},
        {"class": "bucket", "source": "aws", "scope": "acct-1", "identifiers": {"bucket_name": "logs-2"},
         "attributes": {"versioning": "maybe"}},
        {"class": "no_such_class", "source": "aws", "scope": "acct-1", "identifiers": {"x": "y"}},
        {"kind": "rel", "type": "USES", "source": "aws", "scope": "acct-1",
         "from": {"class": "bucket", "identifiers": {"bucket_name": "logs-1"}},
         "to": {"class": "database", "identifiers": {"db_id": "db-main"}}},
    ]
    r = _post(api, {"source": "aws", "scope": "acct-1", "complete": True, "items": items})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "incomplete"  # rejected items: the run is not the whole truth, never ages
    assert body["counts"]["created"] == 1 and body["counts"]["rejected"] == 2
    assert body["counts"]["relationships_created"] == 1
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, "attributes.versioning"), (2, "class")]
    runs = api.data('{ scanRuns(source: "aws", scope: "acct-1") { runId status counts } }')["scanRuns"]
    assert [r["runId"] for r in runs] == [body["run_id"]]
    metrics = httpx.get(f"{api.url}/metrics", headers=api.headers("viewer")).text
    assert 'cmdb_collect_items_total{outcome="rejected",source="aws"}' in metrics
    assert 'cmdb_http_requests_total{method="POST",path="/api/v1/collect",status="200"}' in metrics


def test_complete_clean_batch_finishes_complete(api: Api) -> None:
    items = [{"class": "queue", "source": "aws", "scope": "acct-2", "identifiers": {"queue_id": "q-1"}}]
    body = _post(api, {"source": "aws", "scope": "acct-2", "complete": True, "items": items}).json()
    assert body["status"] == "complete" and body["errors"] == []


def test_bad_envelopes(api: Api) -> None:
    r = _post(api, {"source": "nope", "scope": "s", "items": []})
    assert r.status_code == 422 and r.json()["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    r = _post(api, {"scope": "s", "items": []})
    assert r.status_code == 422 and "source" in r.json()["errors"][0]["message"]
    r = httpx.post(f"{api.url}/api/v1/collect", content=b"{oops", headers={**api.headers("collector"),
                                                                            "content-type": "application/json"})
    assert r.status_code == 422
    item = {"class": "queue", "source": "aws", "scope": "other", "identifiers": {"queue_id": "q-x"}}
    body = _post(api, {"source": "aws", "scope": "acct-3", "items": [item]}).json()
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(0, "scope")]
