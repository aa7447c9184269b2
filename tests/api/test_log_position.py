"""Answers carry the change-log position they reflect; a request may ask for at least a position
(read-your-writes across replicas), on SQLite and on real Neo4j.

The write comes from another connection to the same database, as from another replica or
``cmdb ingest``: this server learns of it only through the store's change log.
"""

from __future__ import annotations

import json

import httpx

from cmdb.ingest import Ingestor
from cmdb.store.change_feed import ChangeFeedStore
from schema import load_schema
from tests.api.conftest import Api
from tests.builders import obs, ref, rel

IMPACT = "query($u: [ID!]!) { impact(uids: $u) { impacted { name } } }"


def _impact(api: Api, uid: str, headers: dict[str, str], extensions: object = None) -> httpx.Response:
    body: dict[str, object] = {"query": IMPACT, "variables": {"u": [uid]}}
    if extensions is not None:
        body["extensions"] = extensions
    return httpx.post(f"{api.url}/graphql", json=body, headers={**api.headers("viewer"), **headers}, timeout=30)


def _write_elsewhere(api: Api, app_id: str) -> int:
    """An application depending on db-main, written through another connection; the log position after it."""
    assert api.open_store is not None
    other = api.open_store()
    try:
        assert isinstance(other, ChangeFeedStore)
        with Ingestor(other, load_schema()).run("manual", app_id) as run:
            run.ingest([
                obs("application", {"app_id": app_id}, {"name": app_id}, source="manual", scope=app_id),
                rel("DEPENDS_ON", ref("application", app_id=app_id), ref("database", db_id="db-main"),
                    source="manual", scope=app_id),
            ])
        return other.change_feed_position()
    finally:
        other.close()


def test_an_answer_carries_its_position_and_min_position_shows_another_writers_change(api: Api) -> None:
    db_main = api.uid("db-main")
    first = _impact(api, db_main, {})
    assert first.status_code == 200, first.text
    seen = first.json()["extensions"]["changeLog"]["position"]
    assert int(first.headers["x-cmdb-log-position"]) == seen > 0  # the seeded estate was logged

    written = _write_elsewhere(api, "ryw-app")
    assert written > seen
    answer = _impact(api, db_main, {"X-Cmdb-Min-Position": str(written)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "ryw-app" in {i["name"] for i in body["data"]["impact"]["impacted"]}
    assert body["extensions"]["changeLog"]["position"] >= written
    assert int(answer.headers["x-cmdb-log-position"]) >= written


def test_a_position_not_reached_in_time_is_refused_clearly(api: Api) -> None:
    db_main = api.uid("db-main")
    now = int(_impact(api, db_main, {}).headers["x-cmdb-log-position"])
    # The fixture's server waits at most 1 s (min_position_wait_s) for a position nobody writes.
    far = _impact(api, db_main, {"X-Cmdb-Min-Position": str(now + 1000)})
    assert far.status_code == 503 and far.headers["retry-after"] == "1"
    [error] = far.json()["errors"]
    assert error["extensions"]["code"] == "POSITION_NOT_REACHED"
    assert error["extensions"]["minPosition"] == now + 1000 and error["extensions"]["position"] >= now
    for bad in ("-1", "x", "1.5", "9" * 30):
        refused = _impact(api, db_main, {"X-Cmdb-Min-Position": bad})
        assert refused.status_code == 400 and refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    reached = _impact(api, db_main, {"X-Cmdb-Min-Position": str(now)})
    assert reached.status_code == 200 and not reached.json().get("errors")


def test_min_position_in_the_request_extensions_shows_another_writers_change(api: Api) -> None:
    db_main = api.uid("db-main")
    seen = _impact(api, db_main, {}).json()["extensions"]["changeLog"]["position"]
    written = _write_elsewhere(api, "app-ext-ryw")
    assert written > seen
    answer = _impact(api, db_main, {}, {"changeLog": {"minPosition": written}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "app-ext-ryw" in {i["name"] for i in body["data"]["impact"]["impacted"]}
    assert body["extensions"]["changeLog"]["position"] >= written
    assert int(answer.headers["x-cmdb-log-position"]) >= written
    # The same over GET (extensions as a query parameter), and beside other extensions.
    query = {"query": IMPACT, "variables": json.dumps({"u": [db_main]}),
             "extensions": json.dumps({"changeLog": {"minPosition": written}, "other": 1})}
    got = httpx.get(f"{api.url}/graphql", params=query, headers=api.headers("viewer"), timeout=30)
    assert got.status_code == 200 and got.json()["extensions"]["changeLog"]["position"] >= written, got.text


def test_min_position_in_the_extensions_not_reached_or_malformed_is_refused_clearly(api: Api) -> None:
    db_main = api.uid("db-main")
    now = int(_impact(api, db_main, {}).headers["x-cmdb-log-position"])
    far = _impact(api, db_main, {}, {"changeLog": {"minPosition": now + 1000}})
    assert far.status_code == 503 and far.headers["retry-after"] == "1", far.text
    [error] = far.json()["errors"]
    assert error["extensions"]["code"] == "POSITION_NOT_REACHED"
    assert error["extensions"]["minPosition"] == now + 1000 and error["extensions"]["position"] >= now
    bad_values: list[object] = [{"minPosition": -1}, {"minPosition": "5"}, {"minPosition": 1.5}, {"minPosition": True},
                                {"minPosition": None}, {"minPosition": 2 ** 63}, {"minPosition": 1, "maxPosition": 2},
                                3, []]
    for bad in bad_values:
        refused = _impact(api, db_main, {}, {"changeLog": bad})
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (bad, refused.text)
    for fine in ({}, {"other": {"minPosition": -1}}, {"changeLog": {"minPosition": now}}):
        reached = _impact(api, db_main, {}, fine)
        assert reached.status_code == 200 and not reached.json().get("errors"), (fine, reached.text)
