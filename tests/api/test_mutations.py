"""Manual edits as the source ``manual`` through the Ingestor (precedence and history apply)."""

from __future__ import annotations

import httpx

from tests.api.conftest import Api

CREATE = """mutation($c: CIClassName!, $i: JSON!, $a: JSON, $p: ID) {
  createCi(ciClass: $c, identifiers: $i, attributes: $a, parentUid: $p) {
    __typename
    ... on CIPayload { changed runId ci { uid name ciClass attributes } }
    ... on ValidationError { field message }
    ... on NotFoundError { key message }
  } }"""
UPDATE = """mutation($u: ID!, $a: JSON!) { updateCi(uid: $u, attributes: $a) {
  __typename ... on CIPayload { changed ci { attributes } } ... on ValidationError { field message }
  ... on NotFoundError { key } } }"""
RELATE = """mutation($s: ID!, $t: RelationshipTypeName!, $d: ID!) { relate(sourceUid: $s, type: $t, targetUid: $d) {
  __typename ... on RelationshipPayload { changed relationship { type sourceUid targetUid evidence { method sources } } }
  ... on ValidationError { field message } ... on NotFoundError { key } } }"""
RETIRE = """mutation($u: ID!) { retireCi(uid: $u, reason: "decommissioned") {
  __typename ... on CIPayload { changed ci { lifecycle } } ... on NotFoundError { key } } }"""


def _create(api: Api, cls: str, ids: dict, attrs: dict | None = None, parent: str | None = None) -> dict:  # type: ignore[type-arg]
    return api.data(CREATE, {"c": cls.upper(), "i": ids, "a": attrs, "p": parent}, role="editor")["createCi"]  # type: ignore[no-any-return]


def test_create_update_relate_retire_with_history(api: Api) -> None:
    made = _create(api, "application", {"app_id": "app-mut"}, {"name": "mut-app", "version": "1"})
    assert made["__typename"] == "CIPayload" and made["changed"] is True
    app = made["ci"]
    assert (app["name"], app["ciClass"], app["attributes"]["version"]) == ("mut-app", "APPLICATION", "1")

    again = _create(api, "application", {"app_id": "app-mut"}, {"name": "mut-app", "version": "1"})
    assert again["ci"]["uid"] == app["uid"] and again["changed"] is False  # identified, not duplicated

    updated = api.data(UPDATE, {"u": app["uid"], "a": {"version": "2", "owner": "team-mut"}}, role="editor")["updateCi"]
    assert updated["changed"] is True
    assert (updated["ci"]["attributes"]["version"], updated["ci"]["attributes"]["owner"]) == ("2", "team-mut")

    db = api.uid("db-main")
    related = api.data(RELATE, {"s": app["uid"], "t": "DEPENDS_ON", "d": db}, role="editor")["relate"]
    assert related["__typename"] == "RelationshipPayload"
    assert related["relationship"]["evidence"] == {"method": "declared", "sources": ["manual"]}
    assert (related["relationship"]["sourceUid"], related["relationship"]["targetUid"]) == (app["uid"], db)
    # the topology index follows the edit: the new app is impacted by db-main
    impacted = api.data("query($u: [ID!]!) { impact(uids: $u) { impacted { uid } } }", {"u": [db]})["impact"]
    assert app["uid"] in {i["uid"] for i in impacted["impacted"]}

    retired = api.data(RETIRE, {"u": app["uid"]}, role="editor")["retireCi"]
    assert retired == {"__typename": "CIPayload", "changed": True, "ci": {"lifecycle": "RETIRED"}}

    history = api.data("query($u: ID!) { history(uid: $u) { action source changes } }", {"u": app["uid"]})["history"]
    assert [(h["action"], h["source"]) for h in history] == [
        ("create", "manual"), ("update", "manual"), ("retire", "manual")]
    assert history[1]["changes"]["version"] == ["1", "2"]
    assert history[2]["changes"]["status"] == ["active", "retired"]
    runs = api.data('{ scanRuns(source: "manual", scope: "api", limit: 100) { status job } }')["scanRuns"]
    assert runs and {r["status"] for r in runs} == {"INCOMPLETE"}  # manual edits never age anything


def test_manual_value_wins_over_lower_priority_collector(api: Api) -> None:
    made = _create(api, "bucket", {"bucket_name": "prec-bucket"}, {"name": "prec-bucket", "region": "eu-west-1"})
    uid = made["ci"]["uid"]
    body = {"source": "aws", "scope": "prec", "complete": False, "items": [
        {"class": "bucket", "source": "aws", "scope": "prec", "identifiers": {"bucket_name": "prec-bucket"},
         "attributes": {"region": "us-east-1", "versioning": True}}]}
    r = httpx.post(f"{api.url}/api/v1/collect", json=body, headers=api.headers("collector"))
    assert r.status_code == 200 and r.json()["errors"] == []
    ci = api.data("query($u: ID!) { ci(uid: $u) { attributes } }", {"u": uid})["ci"]
    assert ci["attributes"]["region"] == "eu-west-1"  # manual (priority 100) beats aws (80)
    assert ci["attributes"]["versioning"] is True  # an attribute manual never wrote is taken


def test_edit_errors_are_typed(api: Api) -> None:
    bad_attr = _create(api, "application", {"app_id": "app-bad"}, {"no_such_attribute": 1})
    assert bad_attr["__typename"] == "ValidationError"
    assert bad_attr["field"] == "attributes.no_such_attribute"
    abstract = _create(api, "device", {"serial_number": "X"})
    assert abstract["__typename"] == "ValidationError" and "abstract" in abstract["message"]
    missing = api.data(UPDATE, {"u": "no-such-uid", "a": {"name": "x"}}, role="editor")["updateCi"]
    assert missing == {"__typename": "NotFoundError", "key": "no-such-uid"}
    missing_parent = _create(api, "filesystem", {"mount_point": "/data"}, parent="no-such-uid")
    assert missing_parent["__typename"] == "NotFoundError"
    dependent = _create(api, "filesystem", {"mount_point": "/data"})
    assert dependent["__typename"] == "ValidationError" and dependent["field"] == "parent"
    nope = api.data(RETIRE, {"u": "no-such-uid"}, role="editor")["retireCi"]
    assert nope == {"__typename": "NotFoundError", "key": "no-such-uid"}


def test_create_dependent_ci_inside_parent(api: Api) -> None:
    host = api.uid("db-host")
    fs = _create(api, "filesystem", {"mount_point": "/var/lib/pg"}, {"fs_type": "xfs"}, parent=host)
    assert fs["__typename"] == "CIPayload"
    data = api.data("query($u: ID!) { ci(uid: $u) { parentUid parent { name } } }", {"u": fs["ci"]["uid"]})["ci"]
    assert data == {"parentUid": host, "parent": {"name": "db-host"}}
    upd = api.data(UPDATE, {"u": fs["ci"]["uid"], "a": {"size_mb": 1024}}, role="editor")["updateCi"]
    assert upd["ci"]["attributes"]["size_mb"] == 1024


def test_trigger_discovery(api: Api) -> None:
    q = """mutation($j: String!) { triggerDiscovery(job: $j) { __typename
             ... on DiscoveryStarted { job handle } ... on NotFoundError { key } } }"""
    ok = api.data(q, {"j": "aws-prod"}, role="admin")["triggerDiscovery"]
    assert ok["__typename"] == "DiscoveryStarted" and ok["handle"].startswith("run-aws-prod-")
    assert "aws-prod" in api.triggered
    assert api.data(q, {"j": "nope"}, role="admin")["triggerDiscovery"] == {"__typename": "NotFoundError", "key": "nope"}
