"""``create_app`` used as a library (no follower given) follows the store's change log too: one path.

The app loads its own follower of the store's change log and catches it up before each
request; its own writes (a mutation through its ingestor) reach its index through that log,
as a write by another process on the same file does. Answers carry the position.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from cmdb.ingest import Ingestor
from cmdb.store.sqlite import SQLiteStore
from cmdb.store.tokens_sqlite import SQLiteTokenStore
from cmdb.tokens import Role, TokenService
from graph_api.app import create_app
from graph_api.settings import ApiSettings
from schema import load_schema
from tests.api.conftest import served_in_thread
from tests.api.estate import seed
from tests.builders import obs, ref, rel

IMPACT = "query($u: [ID!]!) { impact(uids: $u) { impacted { name } } }"
RELATE = """mutation($s: ID!, $d: ID!) { relate(sourceUid: $s, type: DEPENDS_ON, targetUid: $d) {
  __typename } }"""
CREATE = """mutation { createCi(ciClass: APPLICATION, identifiers: {app_id: "app-lib"}, attributes: {name: "lib-app"}) {
  ... on CIPayload { ci { uid } } } }"""


def test_an_app_built_without_a_follower_follows_the_log_for_its_own_and_others_writes(tmp_path: Path) -> None:
    catalog = load_schema()
    store = SQLiteStore(tmp_path / "cmdb.sqlite", catalog)
    seed(Ingestor(store, catalog))
    token_store = SQLiteTokenStore(tmp_path / "tokens.sqlite")
    tokens = TokenService(token_store)
    viewer = {"Authorization": f"Bearer {tokens.create('viewer', Role.VIEWER)[1]}"}
    editor = {"Authorization": f"Bearer {tokens.create('editor', Role.EDITOR)[1]}"}
    ingestor = Ingestor(store, catalog)
    other = SQLiteStore(tmp_path / "cmdb.sqlite", catalog)  # another process's connection to the file
    try:
        app = create_app(store, catalog, token_store, settings=ApiSettings(store_threads=0), ingestor=ingestor)
        with served_in_thread(app) as url:
            def post(query: str, variables: dict[str, object], headers: dict[str, str]) -> httpx.Response:
                reply = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables},
                                   headers=headers, timeout=30)
                assert reply.status_code == 200 and not reply.json().get("errors"), reply.text
                return reply

            db = next(ci.uid for batch in store.iter_cis() for ci in batch if ci.attributes.get("name") == "db-main")
            before = post(IMPACT, {"u": [db]}, viewer)
            assert before.json()["extensions"]["changeLog"]["position"] == store.change_feed_position() > 0

            # A write by another process reaches the next answer, without asking for its position.
            with Ingestor(other, catalog).run("manual", "other") as run:
                run.ingest([obs("application", {"app_id": "app-other"}, {"name": "other-app"}, source="manual",
                                scope="other"),
                            rel("DEPENDS_ON", ref("application", app_id="app-other"), ref("database", db_id="db-main"),
                                source="manual", scope="other")])
            after_other = post(IMPACT, {"u": [db]}, viewer)
            assert after_other.json()["extensions"]["changeLog"]["position"] == other.change_feed_position()
            assert "other-app" in {i["name"] for i in after_other.json()["data"]["impact"]["impacted"]}

            # The app's own write: its answer's position is the log's, which the index reached.
            made = post(CREATE, {}, editor).json()["data"]["createCi"]["ci"]["uid"]
            related = post(RELATE, {"s": made, "d": db}, editor)
            assert related.json()["data"]["relate"] == {"__typename": "RelationshipPayload"}
            assert int(related.headers["x-cmdb-log-position"]) == store.change_feed_position()
            impacted = {i["name"] for i in post(IMPACT, {"u": [db]}, viewer).json()["data"]["impact"]["impacted"]}
            assert {"other-app", "lib-app"} <= impacted
            assert [listener.__name__ for listener in ingestor.listeners] == ["after_apply"]  # the app's follower
    finally:
        other.close()
        store.close()
        token_store.close()
