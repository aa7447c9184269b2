"""Answers carry the change-log position they reflect; a request may ask for at least a position
(read-your-writes across replicas), on SQLite and on real Neo4j.

The write comes from another connection to the same database, as from another replica or
``cmdb ingest``: this server learns of it only through the store's change log.
"""

from __future__ import annotations

import httpx

from cmdb.ingest import Ingestor
from cmdb.store.change_feed import ChangeFeedStore
from schema import load_schema
from tests.api.conftest import Api
from tests.builders import obs, ref, rel

IMPACT = "query($u: [ID!]!) { impact(uids: $u) { impacted { name } } }"


def _impact(api: Api, uid: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{api.url}/graphql", json={"query": IMPACT, "variables": {"u": [uid]}},
                      headers={**api.headers("viewer"), **headers}, timeout=30)


def test_an_answer_carries_its_position_and_min_position_shows_another_writers_change(api: Api) -> None:
    assert api.open_store is not None
    db_main = api.uid("db-main")
    first = _impact(api, db_main, {})
    assert first.status_code == 200, first.text
    seen = first.json()["extensions"]["changeLog"]["position"]
    assert int(first.headers["x-cmdb-log-position"]) == seen > 0  # the seeded estate was logged

    other = api.open_store()
    try:
        assert isinstance(other, ChangeFeedStore)
        with Ingestor(other, load_schema()).run("manual", "ryw") as run:
            run.ingest([
                obs("application", {"app_id": "app-ryw"}, {"name": "ryw-app"}, source="manual", scope="ryw"),
                rel("DEPENDS_ON", ref("application", app_id="app-ryw"), ref("database", db_id="db-main"),
                    source="manual", scope="ryw"),
            ])
        written = other.change_feed_position()
    finally:
        other.close()
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
