"""Change enablement over real HTTP: the caller is the requester, separation of duties, typed errors,
conflicts through a shared service, the approved snapshot readable beside the current preview."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api

T = 1_893_456_000_000  # 2030-01-01T00:00:00Z
HOUR = 3_600_000

CREATE = """mutation($i: CreateChangeInput!) { createChange(input: $i) {
  __typename ... on Change { uid state requester action model planVersion window { start end startsAt endsAt } }
  ... on ValidationError { field message } } }"""
PLAN = """mutation($u: ID!) { planChange(uid: $u) { __typename
  ... on ChangePlan { version impacted { name grade depth explanation margin path { name relType } }
    services { name grade owner } owners conflicts { changeUid title sharedCis sharedServices reason
      shared { name ours theirs service } }
    findings { kind label } risk { score level floors factors { name value points detail } }
    uncertain uncertainty truncated singlePointsOfFailure { name serviceNames changed }
    combined { changes worse { name grade alone } } export(format: MARKDOWN) }
  ... on InvalidTransitionError { current wanted } ... on NotFoundError { key } } }"""
APPROVE = """mutation($u: ID!, $v: Int) { approveChange(uid: $u, planVersion: $v) { __typename
  ... on ChangeSnapshot { approvedBy approvals { approver planVersion } plan { version risk { score level } } }
  ... on ApprovalRecorded { level missing }
  ... on ApprovalRefusedError { reason }
  ... on ChangeConflictError { expected actual message }
  ... on InvalidTransitionError { current wanted message } } }"""
DRIFT = """query($u: ID!) { changeDrift(uid: $u) { drifted riskBefore riskAfter reapproval relationshipsAdded { sourceName }
  gradeChanges { name before after } } }"""
PLANS = {"implementationPlan": "apply the patch, reboot", "backoutPlan": "boot the previous kernel"}


def _create(api: Api, title: str, cis: list[str], start: int, role: str = "editor",
            **extra: Any) -> dict[str, Any]:
    variables = {"i": {"title": title, "cis": cis, "action": "OUTAGE", "start": start, "end": start + 2 * HOUR,
                       **PLANS, **extra}}
    return api.data(CREATE, variables, role=role)["createChange"]  # type: ignore[no-any-return]


def test_plan_conflict_approve_drift_and_list(api: Api) -> None:
    web1, db_host, checkout = api.uid("web-1"), api.uid("db-host"), api.uid("checkout")
    first = _create(api, "patch web-1", [web1], T)
    assert (first["__typename"], first["state"], first["requester"], first["model"]) == (
        "Change", "DRAFT", "test-editor", "NORMAL")
    assert (first["window"]["startsAt"], first["window"]["endsAt"]) == ("2030-01-01T00:00:00Z", "2030-01-01T02:00:00Z")
    second = _create(api, "firmware db-host", [db_host], T + HOUR)  # overlaps the first by an hour
    assert api.data(PLAN, {"u": second["uid"]}, role="editor")["planChange"]["__typename"] == "ChangePlan"

    plan = api.data(PLAN, {"u": first["uid"]}, role="editor")["planChange"]
    assert {(i["name"], i["grade"], i["depth"]) for i in plan["impacted"]} == {
        ("web-1", "DOWN", 0), ("web-pool", "DEGRADED", 1), ("shop", "DEGRADED", 2), ("checkout", "DEGRADED", 3)}
    pool = next(i for i in plan["impacted"] if i["name"] == "web-pool")
    assert (pool["explanation"], pool["margin"]) == ("2 of 3 up, min_up 2 -> degraded", 0)
    assert {(s["name"], s["grade"], s["owner"]) for s in plan["services"]} == {
        ("checkout", "DEGRADED", "team-shop"), ("shop", "DEGRADED", "team-shop")}
    assert plan["owners"] == ["team-shop"]
    # Different CIs, overlapping windows, sharing checkout and shop through the graph; db-host alone takes
    # db-main, shop and checkout down.
    conflict = next(c for c in plan["conflicts"] if c["changeUid"] == second["uid"])
    assert checkout in conflict["sharedServices"] and checkout in conflict["sharedCis"]
    assert {(s["name"], s["ours"], s["theirs"], s["service"]) for s in conflict["shared"]} == {
        ("shop", "DEGRADED", "DOWN", True), ("checkout", "DEGRADED", "DOWN", True)}
    assert conflict["reason"].startswith("both changes impact the same services in overlapping windows: ")
    # By hand: criticality 2.5 + 2.5 (unknown, degraded), breadth 3 x 0.5 + 2 x 3 = 7.5, no margin on the pool 10,
    # one conflict 10 (not discounted), and the estate was observed on 2026-01-01, more than 14 days ago: the three
    # hops web-1 -> web-pool -> shop -> checkout are stale, 3 x 3 = 9: 41.5, medium, and uncertain.
    assert (plan["risk"]["score"], plan["risk"]["level"], plan["risk"]["floors"]) == (41.5, "medium", [])
    assert (plan["uncertain"], plan["truncated"], plan["version"]) == (True, False, 1)
    assert [u.split(":")[0] for u in plan["uncertainty"]] == ["stale evidence"]
    assert {(p["name"], tuple(p["serviceNames"]), p["changed"]) for p in plan["singlePointsOfFailure"]} == {
        ("web-pool", ("shop", "checkout"), False), ("shop", ("checkout",), False)}
    assert plan["combined"]["changes"] == [first["uid"], second["uid"]]
    assert plan["combined"]["worse"] == []  # checkout is already down under the firmware change alone
    assert "## Conflicts" in plan["export"] and "firmware db-host" in plan["export"]

    # The second change, planned first, now sees the conflict too (living conflicts).
    theirs = api.data("query($u: ID!) { changePlan(uid: $u) { conflicts { changeUid } } }",
                      {"u": second["uid"]})["changePlan"]
    assert theirs["conflicts"] == [{"changeUid": first["uid"]}]

    own = api.data(APPROVE, {"u": first["uid"], "v": 1}, role="editor")["approveChange"]
    assert own == {"__typename": "ApprovalRefusedError",
                   "reason": "separation of duties: the requester cannot approve their own change"}
    stale = api.data(APPROVE, {"u": first["uid"], "v": 0}, role="approver")["approveChange"]
    assert (stale["__typename"], stale["expected"], stale["actual"]) == ("ChangeConflictError", 0, 1)
    snapshot = api.data(APPROVE, {"u": first["uid"], "v": 1}, role="approver")["approveChange"]
    assert snapshot == {"__typename": "ChangeSnapshot", "approvedBy": "test-approver",
                        "approvals": [{"approver": "test-approver", "planVersion": 1}],
                        "plan": {"version": 1, "risk": {"score": 41.5, "level": "medium"}}}
    drift = api.data(DRIFT, {"u": first["uid"]})["changeDrift"]
    assert drift["drifted"] is False and drift["relationshipsAdded"] == [] and drift["reapproval"] is None

    # The approved snapshot stays readable, labelled, beside the current preview.
    read = api.data("""query($u: ID!) { changeSnapshot(uid: $u) { approvedBy plan { version } }
                       change(uid: $u) { state planVersion approvals { approver } } }""", {"u": first["uid"]})
    assert read["changeSnapshot"] == {"approvedBy": "test-approver", "plan": {"version": 1}}
    assert read["change"] == {"state": "APPROVED", "planVersion": 1, "approvals": [{"approver": "test-approver"}]}
    md = api.data('query($u: ID!) { changeExport(uid: $u) }', {"u": first["uid"]})["changeExport"]
    assert "| | Approved snapshot | Current preview |" in md and "| Risk | medium (41.5) | medium (41.5) |" in md

    listed = api.data("""query($c: ID!) { changes(filter: {ci: $c, states: [APPROVED]}, first: 10) {
                         edges { node { uid state } } pageInfo { hasNextPage } } }""", {"c": web1})["changes"]
    assert [e["node"] for e in listed["edges"]] == [{"uid": first["uid"], "state": "APPROVED"}]
    page = api.data("{ changes(first: 1) { edges { cursor } pageInfo { hasNextPage endCursor } } }")["changes"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = api.data("query($a: String) { changes(first: 10, after: $a) { edges { node { uid } } } }",
                    {"a": page["pageInfo"]["endCursor"]})["changes"]["edges"]
    assert page["edges"][0]["cursor"] not in {e["node"]["uid"] for e in rest}


def test_the_requester_is_never_a_free_field(api: Api) -> None:
    web2 = api.uid("web-2")
    body = api.gql(CREATE, {"i": {"title": "x", "cis": [web2], "action": "OUTAGE", "start": T + 300 * HOUR,
                                  "end": T + 301 * HOUR, "requester": "someone-else"}}, role="editor").json()
    assert body["data"] is None
    assert "not to include unknown field 'requester'" in body["errors"][0]["message"]


def test_bad_times_are_typed_validation_errors(api: Api) -> None:
    web2 = api.uid("web-2")

    def create(**window: Any) -> dict[str, Any]:
        created: dict[str, Any] = api.data(CREATE, {"i": {"title": "t", "cis": [web2], "action": "OUTAGE", **window}},
                                           role="editor")["createChange"]
        return created

    basic = create(startsAt="20270208", endsAt="2030-01-05T00:00Z")
    assert basic == {"__typename": "ValidationError", "field": "startsAt",
                     "message": "'20270208' is not an ISO 8601 date and time with an offset "
                                "(e.g. 2027-02-08T22:00+01:00 or 2027-02-08T21:00Z)"}
    assert create(startsAt="2030-01-05T00:00", endsAt="2030-01-05T02:00Z")["field"] == "startsAt"  # no offset
    past = create(startsAt="2020-01-05T00:00Z", endsAt="2020-01-05T02:00Z")
    assert (past["field"], past["message"]) == (
        "start", "the window starts in the past; only an emergency change may be recorded after the fact")
    huge = create(start=9_000_000_000_000_000, end=9_000_000_000_000_001)  # year 287,000: no calendar shows it
    assert huge["field"] == "window"
    iso = create(startsAt="2030-01-05T01:00+01:00", endsAt="2030-01-05T02:00Z")
    assert iso["window"]["start"] == T + 4 * 24 * HOUR
    after_fact = create(startsAt="2020-01-05T00:00Z", endsAt="2020-01-05T02:00Z", model="EMERGENCY")
    assert (after_fact["__typename"], after_fact["model"]) == ("Change", "EMERGENCY")


def test_typed_errors_and_roles(api: Api) -> None:
    web2 = api.uid("web-2")
    draft = _create(api, "draft only", [web2], T + 100 * HOUR)
    refused = api.data(APPROVE, {"u": draft["uid"]}, role="approver")["approveChange"]
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
    huge = api.gql("{ changes(filter: {overlappingStart: 1, overlappingEnd: 9000000000000000}) { edges { cursor } } }"
                   ).json()
    assert huge["errors"][0]["extensions"] == {"code": "INVALID_ARGUMENT", "field": "overlappingStart"}
    start = api.data("""mutation($u: ID!) { startChange(uid: $u) { __typename
                        ... on InvalidTransitionError { current } } }""", {"u": draft["uid"]}, role="editor")
    assert start["startChange"] == {"__typename": "InvalidTransitionError", "current": "DRAFT"}


def test_blackout_window_flags_a_change_and_can_be_withdrawn(api: Api) -> None:
    checkout, web3 = api.uid("checkout"), api.uid("web-3")
    change = _create(api, "patch web-3 in the freeze", [web3], T + 510 * HOUR)
    assert api.data(PLAN, {"u": change["uid"]}, role="editor")["planChange"]["findings"] == []
    # Declared after the change was planned: the change is re-flagged without planning it again.
    declared = api.data("""mutation($s: [ID!]!) { declareChangeWindow(kind: BLACKOUT, label: "freeze", subjects: $s,
        startsAt: "2030-01-21T20:00Z", endsAt: "2030-01-26T00:00Z") { __typename ... on ChangeWindow { uid kind } } }""",
                        {"s": [checkout]}, role="editor")
    window = declared["declareChangeWindow"]
    assert (window["__typename"], window["kind"]) == ("ChangeWindow", "BLACKOUT")
    latest = api.data("query($u: ID!) { changePlan(uid: $u) { version findings { kind label } risk { floors } } }",
                      {"u": change["uid"]})["changePlan"]
    assert (latest["version"], latest["findings"]) == (2, [{"kind": "BLACKOUT", "label": "freeze"}])
    removed = api.data('mutation($u: ID!) { removeChangeWindow(uid: $u) { __typename } }', {"u": window["uid"]},
                       role="editor")["removeChangeWindow"]
    assert removed["__typename"] == "WindowRemoved"
    assert api.data(PLAN, {"u": change["uid"]}, role="editor")["planChange"]["findings"] == []
