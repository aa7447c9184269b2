"""Exports: the Markdown stands on its own for a CAB; CSV and JSON carry the same facts."""

from __future__ import annotations

import csv
import io
import json

from cmdb.changes import ChangePlan, WindowKind
from cmdb.changes.export import (
    CHANGE_CSV_COLUMNS,
    CSV_COLUMNS,
    change_to_csv,
    change_to_json,
    change_to_markdown,
    drift_to_markdown,
    to_csv,
    to_json,
    to_markdown,
)
from tests.unit.changes.change_scenario import DAY, HOUR, T0, Scenario

START = T0 + DAY  # 2026-01-02 00:00 UTC


def _plan(scenario: Scenario) -> ChangePlan:
    checkout = scenario.named("checkout")
    scenario.service.add_window(WindowKind.BLACKOUT, "year-end freeze", (checkout,), START, START + DAY)
    other = scenario.change("replace orders disk", ["orders-host"], START)
    scenario.service.plan(other)
    return scenario.service.plan(scenario.change("patch i-web1", ["i-web1"], START, requester="alice"))


def test_markdown_has_every_section_with_its_values(scenario: Scenario) -> None:
    plan = _plan(scenario)
    md = to_markdown(plan)
    sections = [line for line in md.splitlines() if line.startswith("#")]
    assert sections == ["# Change plan: patch i-web1", "## Impact summary", "## Services", "## Owners to notify",
                        "## Single points of failure", "## Conflicts", "## Combined impact of the slot",
                        "## Windows", "## Risk"]
    assert "- **Action:** outage of i-web1" in md
    assert "- **Window:** 2026-01-02 00:00 UTC - 2026-01-02 02:00 UTC" in md
    assert "- **Requester:** alice" in md
    assert "4 CI(s) impacted: 1 down, 3 degraded; 2 application(s) or business service(s); 2 owner(s) to notify." in md
    assert "| web-pool | cluster | degraded | 1 | 2 of 3 up, min_up 2 -> degraded |" in md
    assert "| checkout | business_service | degraded | critical | team-shop |" in md
    assert "| web-app | application | degraded | unknown | team-web |" in md
    assert "- team-shop\n- team-web\n" in md
    other = plan.conflicts[0]
    assert (f"| replace orders disk (`{other.change_uid}`) | planned | 2026-01-02 00:00 UTC - 2026-01-02 02:00 UTC"
            " | checkout | checkout | both changes impact the same services in overlapping windows: checkout"
            " (business_service): degraded here, down under 'replace orders disk' |") in md
    # By hand: the pool alone takes web-app (runs only on it) and checkout (needs all its inputs) down.
    assert "- **web-pool** (cluster): alone takes down web-app, checkout\n" in md
    assert "- **web-app** (application): alone takes down checkout\n" in md
    # Together with the orders disk: i-web1, orders-host, orders-app and checkout down; pool and web-app
    # degraded. Checkout is already down under the orders change alone: nothing is worse together.
    assert "the slot takes 4 CI(s) down and degrades 2." in md
    assert "Nothing fares worse together than under one change alone." in md
    assert "- **BLACKOUT violated:** year-end freeze (2026-01-02 00:00 UTC - 2026-01-03 00:00 UTC) on checkout" in md
    assert f"- **Risk:** {plan.risk.level.upper()} (score {plan.risk.score:g})" in md
    assert plan.risk.score == 75  # 22.5 criticality + 7.5 breadth + 10 margin + 10 conflict + 25 blackout
    for factor in plan.risk.factors:
        assert f"| {factor.name} | {factor.value:g} | {factor.points:g} |" in md
    assert "| conflicts | 1 | 10 | overlapping changes sharing impact: replace orders disk |" in md
    assert "| blackout | 1 | 25 | inside blackout: year-end freeze |" in md


def test_csv_rows_by_section(scenario: Scenario) -> None:
    plan = _plan(scenario)
    rows = list(csv.DictReader(io.StringIO(to_csv(plan))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert {(r["name"], r["grade"]) for r in rows if r["section"] == "impact"} == {
        ("i-web1", "down"), ("web-pool", "degraded"), ("web-app", "degraded"), ("checkout", "degraded")}
    assert {(r["name"], r["owner"]) for r in rows if r["section"] == "service"} == {
        ("checkout", "team-shop"), ("web-app", "team-web")}
    assert [r["name"] for r in rows if r["section"] == "conflict"] == ["replace orders disk"]
    assert [r["name"] for r in rows if r["section"] == "blackout"] == ["year-end freeze"]
    risk = {r["uid"]: r for r in rows if r["section"] == "risk"}
    assert risk["score"]["detail"] == f"{plan.risk.score:g}"
    assert set(risk) == {f.name for f in plan.risk.factors} | {"score"}


def test_json_round_trips(scenario: Scenario) -> None:
    plan = _plan(scenario)
    assert ChangePlan.model_validate_json(to_json(plan)) == plan


def test_drift_markdown(scenario: Scenario) -> None:
    uid = scenario.change("patch i-web1", ["i-web1"], START + 2 * HOUR)
    scenario.service.plan(uid)
    scenario.service.approve(uid, "cab")
    assert "No drift" in drift_to_markdown(scenario.service.drift(uid))


# -- the change for a CAB: record, approvals, approved snapshot beside the current preview --------------------

def _approved_then_replanned(scenario: Scenario) -> str:
    svc = scenario.service
    uid = scenario.change("patch i-web1", ["i-web1"], START, requester="alice")
    svc.describe(uid, description="kernel patch for CVE-2026-0001", test_plan="checkout smoke test")
    svc.plan(uid)
    scenario.h.clock.advance(HOUR)
    svc.approve(uid, "bob")
    other = scenario.change("replace orders disk", ["orders-host"], START + HOUR)  # a rival appears later
    svc.plan(other)
    return uid


def test_change_markdown_shows_record_approvals_and_both_plans_labelled(scenario: Scenario) -> None:
    uid = _approved_then_replanned(scenario)
    md = change_to_markdown(scenario.service.show(uid))
    sections = [line for line in md.splitlines() if line.startswith("## ")]
    assert sections[:6] == ["## Description", "## Implementation plan", "## Backout plan", "## Test plan",
                            "## Approved snapshot and current preview",
                            "## Current preview (plan version 2, computed 2026-01-01 01:00 UTC)"]
    # The rival's conflict raised the risk a level: the approval no longer holds (the snapshot is kept).
    assert "- **State:** planned — needs re-approval: risk rose from medium (40) to high (50)" in md
    assert "- **Model:** normal" in md and "- **Requester:** alice" in md
    assert "- **Approved:** bob at 2026-01-01 01:00 UTC (plan version 1)" in md
    assert "kernel patch for CVE-2026-0001" in md and "checkout smoke test" in md
    assert "| Plan version | 1 | 2 |" in md
    # Approved without a conflict; the preview now shows the rival: 40 + 10 = 50, high.
    assert "| Conflicts | none | replace orders disk |" in md
    assert "| Risk | medium (40) | high (50) |" in md
    assert "| Uncertain | no | no |" in md and "| Truncated | no | no |" in md


def test_change_csv_labels_each_plan_row_and_carries_the_flags(scenario: Scenario) -> None:
    uid = _approved_then_replanned(scenario)
    rows = list(csv.DictReader(io.StringIO(change_to_csv(scenario.service.show(uid)))))
    assert tuple(rows[0]) == CHANGE_CSV_COLUMNS
    assert rows[0]["detail"] == "kernel patch for CVE-2026-0001" and rows[0]["grade"] == "planned"
    assert [r["detail"] for r in rows if r["uid"] == "reapproval"] == ["risk rose from medium (40) to high (50)"]
    assert [(r["uid"], r["detail"]) for r in rows if r["section"] == "approval"] == [
        ("bob", "2026-01-01 01:00 UTC; plan version 1")]
    flags = {(r["plan"], r["uid"]): r["detail"] for r in rows if r["section"] == "flag"}
    assert flags == {("approved", "version"): "1", ("approved", "truncated"): "false",
                     ("approved", "uncertain"): "false", ("current", "version"): "2",
                     ("current", "truncated"): "false", ("current", "uncertain"): "false"}
    assert [r["plan"] for r in rows if r["section"] == "conflict"] == ["current"]
    scores = {r["plan"]: (r["grade"], r["detail"]) for r in rows if r["section"] == "risk" and r["uid"] == "score"}
    assert scores == {"approved": ("medium", "40"), "current": ("high", "50")}


def test_change_json_has_the_record_the_snapshot_and_the_preview(scenario: Scenario) -> None:
    uid = _approved_then_replanned(scenario)
    doc = json.loads(change_to_json(scenario.service.show(uid)))
    assert set(doc) == {"change", "approved", "current"}
    assert doc["change"]["description"] == "kernel patch for CVE-2026-0001"
    assert doc["approved"]["approved_by"] == "bob" and doc["approved"]["plan"]["version"] == 1
    assert (doc["current"]["version"], doc["current"]["uncertain"], doc["current"]["truncated"]) == (2, False, False)


def test_truncated_plans_say_so_in_every_format(scenario: Scenario) -> None:
    from cmdb.changes import PlanOptions
    from cmdb.changes.planner import ChangePlanner

    s = scenario
    planner = ChangePlanner(s.planner.impact_engine, s.h.store, s.repo, s.h.schema,
                            options=PlanOptions(max_nodes=2), clock=s.h.clock)
    plan = planner.plan(s.service.get(s.change("patch i-web1", ["i-web1"], START)))
    assert plan.truncated and plan.uncertain
    assert "**The answer is truncated** (max_nodes)" in to_markdown(plan)
    assert "- **Risk:** CRITICAL (score 100) — **UNCERTAIN**" in to_markdown(plan)
    rows = {r["uid"]: r["detail"] for r in csv.DictReader(io.StringIO(to_csv(plan))) if r["section"] == "flag"}
    assert rows["truncated"] == "true (max_nodes)" and rows["uncertain"].startswith("true: impact truncated by")
    assert json.loads(to_json(plan))["truncated_by"] == ["max_nodes"]
