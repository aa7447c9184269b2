"""A batch holding items no store can encode: each such item is rejected with its index and field,
every other item of the batch is applied (``POST /api/v1/collect`` over real HTTP)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.api.conftest import Api

SOURCE, SCOPE = "aws", "poison-1"


def _bucket(name: str, **attributes: Any) -> dict[str, Any]:
    return {"class": "bucket", "source": SOURCE, "scope": SCOPE, "identifiers": {"bucket_name": name},
            "attributes": {"name": name, **attributes}}


def _nested(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"a": [value]}
    return value


def test_unencodable_items_are_rejected_alone(api: Api) -> None:
    items = [
        _bucket("poison-ok-1"),
        _bucket("poison-deep", tags=_nested(300)),  # 600 levels of JSON: past every encoder's limit
        _bucket("poison-big", tags={"n": 2**70}),  # an integer beyond 64 bits
        _bucket("poison-ok-2", region="eu-west-1"),
        _bucket("poison-surrogate", region="eu-\ud800"),  # a lone surrogate (a valid JSON escape)
        {"kind": "rel", "type": "USES", "source": SOURCE, "scope": SCOPE,
         "from": {"class": "bucket", "identifiers": {"bucket_name": "poison-ok-1"}},
         "to": {"class": "bucket", "identifiers": {"bucket_name": "poison-\udfff"}}},
        {"kind": "rel", "type": "USES", "source": SOURCE, "scope": SCOPE,
         "from": {"class": "bucket", "identifiers": {"bucket_name": "poison-ok-1"}},
         "to": {"class": "bucket", "identifiers": {"bucket_name": "poison-ok-2"}}, "attributes": {"n": -(2**64)}},
        {"kind": "rel", "type": "USES", "source": SOURCE, "scope": SCOPE,
         "from": {"class": "bucket", "identifiers": {"bucket_name": "poison-ok-1"}},
         "to": {"class": "bucket", "identifiers": {"bucket_name": "poison-ok-2"}}},
    ]
    # json.dumps writes the lone surrogates as \\ud800 escapes, as a collector's encoder would
    body = json.dumps({"source": SOURCE, "scope": SCOPE, "complete": False, "items": items})
    r = httpx.post(f"{api.url}/api/v1/collect", content=body,
                   headers={**api.headers("collector"), "content-type": "application/json"}, timeout=60)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert {(e["index"], e["field"]) for e in answer["errors"]} == {
        (1, "attributes.tags"), (2, "attributes.tags"), (4, "attributes.region"),
        (5, "to.identifiers"), (6, "attributes")}, answer["errors"]
    by_index = {e["index"]: e["message"] for e in answer["errors"]}
    assert "nested deeper than" in by_index[1]
    assert "beyond 64 bits" in by_index[2] and "beyond 64 bits" in by_index[6]
    assert "lone surrogate" in by_index[4] and "lone surrogate" in by_index[5]
    assert answer["counts"]["created"] == 2 and answer["counts"]["relationships_created"] == 1
    found = api.data('{ cis(filter: {text: "poison-"}, first: 50) { edges { node { name } } } }')["cis"]["edges"]
    assert {e["node"]["name"] for e in found} == {"poison-ok-1", "poison-ok-2"}
