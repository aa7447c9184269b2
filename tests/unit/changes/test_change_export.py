"""Exports: the Markdown stands on its own for a CAB; CSV and JSON carry the same facts."""

from __future__ import annotations

import csv
import io

from cmdb.changes import ChangePlan, WindowKind
from cmdb.changes.export import CSV_COLUMNS, drift_to_markdown, to_csv, to_json, to_markdown
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
