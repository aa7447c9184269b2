"""Change planning over real HTTP: create, plan (conflicts through a shared service), approve, drift, list."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api

T = 1_893_456_000_000  # 2030-01-01T00:00:00Z
HOUR = 3_600_000

CREATE = """mutation($i: CreateChangeInput!) { createChange(input: $i) {
  __typename ... on Change { uid state requester action window { start end } }
  ... on ValidationError { field message } } }"""
PLAN = """mutation($u: ID!) { planChange(uid: $u) { __typename
  ... on ChangePlan { impacted { name grade depth explanation margin path { name relType } }
    services { name grade owner } owners conflicts { changeUid title sharedCis sharedServices }
    findings { kind label } risk { score level factors { name value points detail } } export(format: MARKDOWN) }
  ... on InvalidTransitionError { current wanted } ... on NotFoundError { key } } }"""
APPROVE = """mutation($u: ID!) { approveChange(uid: $u) { __typename
  ... on ChangeSnapshot { approvedBy plan { risk { score } } }
  ... on InvalidTransitionError { current wanted message } } }"""
DRIFT = """query($u: ID!) { changeDrift(uid: $u) { drifted riskBefore riskAfter relationshipsAdded { sourceName }
  gradeChanges { name before after } } }"""


def _create(api: Api, title: str, cis: list[str], start: int, role: str = "editor") -> dict[str, Any]:
    variables = {"i": {"title": title, "cis": cis, "action": "OUTAGE", "start": start, "end": start + 2 * HOUR}}
    return api.data(CREATE, variables, role=role)["createChange"]  # type: ignore[no-any-return]


def test_plan_conflict_approve_drift_and_list(api: Api) -> None:
    web1, db_host, checkout = api.uid("web-1"), api.uid("db-host"), api.uid("checkout")
    first = _create(api, "patch web-1", [web1], T)
    assert (first["__typename"], first["state"], first["requester"]) == ("Change", "DRAFT", "test-editor")
    second = _create(api, "firmware db-host", [db_host], T + HOUR)  # overlaps the first by an hour
    assert api.data(PLAN, {"u": second["uid"]}, role="editor")["planChange"]["__typename"] == "ChangePlan"

    plan = api.data(PLAN, {"u": first["uid"]}, role="editor")["planChange"]
    impacted = {(i["name"], i["grade"], i["depth"]) for i in plan["impacted"]}
    assert {("web-1", "DOWN", 0), ("web-pool", "DEGRADED", 1), ("shop", "DEGRADED", 2),
            ("checkout", "DEGRADED", 3)} <= impacted
    pool = next(i for i in plan["impacted"] if i["name"] == "web-pool")
    assert (pool["explanation"], pool["margin"]) == ("2 of 3 up, min_up 2 -> degraded", 0)
    assert {("checkout", "DEGRADED", "team-shop"), ("shop", "DEGRADED", "team-shop")} <= {
        (s["name"], s["grade"], s["owner"]) for s in plan["services"]}
    assert "team-shop" in plan["owners"]
    # Different CIs, overlapping windows, sharing checkout (and shop) through the graph.
    conflict = next(c for c in plan["conflicts"] if c["changeUid"] == second["uid"])
    assert checkout in conflict["sharedServices"] and checkout in conflict["sharedCis"]
    factors = {f["name"]: f for f in plan["risk"]["factors"]}
    assert factors["conflicts"]["value"] >= 1 and factors["conflicts"]["points"] > 0
    assert "## Conflicts" in plan["export"] and "firmware db-host" in plan["export"]

    snapshot = api.data(APPROVE, {"u": first["uid"]}, role="editor")["approveChange"]
    assert (snapshot["__typename"], snapshot["approvedBy"]) == ("ChangeSnapshot", "test-editor")
    drift = api.data(DRIFT, {"u": first["uid"]})["changeDrift"]
    assert drift["drifted"] is False and drift["relationshipsAdded"] == [] and drift["gradeChanges"] == []

    listed = api.data("""query($c: ID!) { changes(filter: {ci: $c, states: [APPROVED]}, first: 10) {
                         edges { node { uid state } } pageInfo { hasNextPage } } }""", {"c": web1})["changes"]
    assert [e["node"] for e in listed["edges"]] == [{"uid": first["uid"], "state": "APPROVED"}]
    page = api.data("{ changes(first: 1) { edges { cursor } pageInfo { hasNextPage endCursor } } }")["changes"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = api.data("query($a: String) { changes(first: 10, after: $a) { edges { node { uid } } } }",
                    {"a": page["pageInfo"]["endCursor"]})["changes"]["edges"]
    assert page["edges"][0]["cursor"] not in {e["node"]["uid"] for e in rest}


def test_typed_errors_and_roles(api: Api) -> None:
    web2 = api.uid("web-2")
    draft = _create(api, "draft only", [web2], T + 100 * HOUR)
    refused = api.data(APPROVE, {"u": draft["uid"]}, role="editor")["approveChange"]
    assert (refused["__typename"], refused["current"], refused["wanted"]) == (
        "InvalidTransitionError", "DRAFT", "APPROVED")
    missing = api.data(PLAN, {"u": "no-such-change"}, role="editor")["planChange"]
    assert missing == {"__typename": "NotFoundError", "key": "no-such-change"}
    bad = _create(api, "bad", ["no-such-ci"], T)
    assert (bad["__typename"], bad["field"]) == ("ValidationError", "cis")
    no_snapshot = api.gql(DRIFT, {"u": draft["uid"]}).json()
    assert no_snapshot["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    forbidden = api.gql(CREATE, {"i": {"title": "x", "cis": [web2], "action": "OUTAGE", "start": T,
                                       "end": T + HOUR}}, role="viewer").json()
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_blackout_window_flags_a_change_and_can_be_withdrawn(api: Api) -> None:
    checkout, web3 = api.uid("checkout"), api.uid("web-3")
    declared = api.data("""mutation($s: [ID!]!, $a: Long!, $b: Long!) { declareChangeWindow(kind: BLACKOUT,
        label: "freeze", subjects: $s, start: $a, end: $b) { __typename ... on ChangeWindow { uid kind } } }""",
                        {"s": [checkout], "a": T + 500 * HOUR, "b": T + 600 * HOUR}, role="editor")
    window = declared["declareChangeWindow"]
    assert (window["__typename"], window["kind"]) == ("ChangeWindow", "BLACKOUT")
    change = _create(api, "patch web-3 in the freeze", [web3], T + 510 * HOUR)
    plan = api.data(PLAN, {"u": change["uid"]}, role="editor")["planChange"]
    assert plan["findings"] == [{"kind": "BLACKOUT", "label": "freeze"}]
    removed = api.data('mutation($u: ID!) { removeChangeWindow(uid: $u) { __typename } }', {"u": window["uid"]},
                       role="editor")["removeChangeWindow"]
    assert removed["__typename"] == "WindowRemoved"
    assert api.data(PLAN, {"u": change["uid"]}, role="editor")["planChange"]["findings"] == []
