"""Drift: approve, change the topology through real ingest, and see exactly those differences."""

from __future__ import annotations

from typing import Any

from cmdb.changes.drift import AttributeChange, GradeChange
from tests.builders import obs, rel
from tests.unit.changes.change_scenario import BILLING, DAY, HOUR, T0, WEB_APP, Scenario, pool_items

START = T0 + 2 * DAY


def _edges(changes: tuple) -> set[tuple[str, str, str]]:  # type: ignore[type-arg]
    return {(e.source_name, e.type, e.target_name) for e in changes}


def test_no_drift_right_after_approval(scenario: Scenario) -> None:
    uid = scenario.change("patch i-web1", ["i-web1"], START)
    scenario.service.plan(uid)
    scenario.service.approve(uid, "cab")
    report = scenario.service.drift(uid)
    assert not report.drifted


def test_drift_reports_an_added_dependency_and_a_removed_redundant_instance(scenario: Scenario) -> None:
    svc = scenario.service
    uid = scenario.change("patch i-web1", ["i-web1"], START)
    svc.plan(uid)
    snapshot = svc.approve(uid, "cab").snapshot
    assert snapshot is not None
    assert {(i.name, i.grade) for i in snapshot.plan.impacted} == {
        ("i-web1", "down"), ("web-pool", "degraded"), ("web-app", "degraded"), ("checkout", "degraded")}

    # 1. A new business service starts depending on web-app.
    scenario.h.clock.advance(HOUR)
    s: dict[str, Any] = {"source": "sample", "scope": "base", "at": T0 + HOUR}
    scenario.h.run([obs("business_service", {"service_id": "svc-billing"}, {"name": "billing", "owner": "team-billing"},
                        **s),
                    rel("DEPENDS_ON", BILLING, WEB_APP, **s)], source="sample", scope="base", complete=False)
    # 2. i-web3 leaves the pool: two complete runs of the pool's scope no longer see it (stale after 2).
    for _ in range(2):
        scenario.h.clock.advance(HOUR)
        scenario.h.run(pool_items(members=(1, 2), at=scenario.h.clock.now), source="aws", scope="pool")

    report = svc.drift(uid)
    web3 = scenario.named("i-web3")
    assert _edges(report.relationships_added) == {("billing", "DEPENDS_ON", "web-app")}
    assert _edges(report.relationships_removed) == {("web-pool", "HAS_MEMBER", "i-web3")}
    assert report.relationships_removed[0].after == "stale (declared 1.00)"
    assert report.relationships_changed == ()
    assert report.ci_changes == (AttributeChange(uid=web3, name="i-web3", attribute="status", before="active",
                                                 after="stale"),)
    # Impact, by hand: the pool keeps 1 of 2 with min_up 2 -> down; web-app runs on it -> down;
    # checkout needs all its dependencies (100%) -> down; billing depends on web-app -> down.
    assert {(g.name, g.before, g.after) for g in report.impacted_added} == {("billing", None, "down")}
    assert report.impacted_removed == ()
    assert {(g.name, g.before, g.after) for g in report.grade_changes} == {
        ("web-pool", "degraded", "down"), ("web-app", "degraded", "down"), ("checkout", "degraded", "down")}
    pool = next(g for g in report.grade_changes if g.name == "web-pool")
    assert (pool.before_explanation, pool.after_explanation) == (
        "2 of 3 up, min_up 2 -> degraded", "1 of 2 up, min_up 2 -> down")
    assert report.services_added == (GradeChange(uid=scenario.named("billing"), name="billing", before=None,
                                                 after="down"),)
    assert {(g.name, g.before, g.after) for g in report.service_grade_changes} == {
        ("web-app", "degraded", "down"), ("checkout", "degraded", "down")}
    assert report.owners_added == ("team-billing",) and report.owners_removed == ()
    assert report.conflicts_added == report.conflicts_removed == ()
    # By the documented rules (outage, x1.0): 22.5 + 7.5 + 10 before; criticality 50 (its cap) + breadth 11 + 10 after.
    assert (report.risk_before, report.risk_after) == (40, 71)
    # The reason, not just a number: each factor that moved, with its detail then and now.
    moved = {f.name: (f.points_before, f.points_after) for f in report.risk_factor_changes}
    assert moved == {"criticality": (22.5, 50.0), "breadth": (7.5, 11.0), "redundancy_margin": (10.0, 10.0)}
    redundancy = next(f for f in report.risk_factor_changes if f.name == "redundancy_margin")
    assert (redundancy.detail_before, redundancy.detail_after) == (
        "no margin left: web-pool", "single point of failure changed: i-web1 (takes down web-app, checkout, billing)")
    assert report.reapproval == ("risk rose from medium (40) to high (71); newly impacted services: billing; "
                                 "services now down (were degraded): web-app, checkout")
    # The snapshot is untouched: drift compares, it does not re-approve.
    assert scenario.repo.get_snapshot(uid) == snapshot
