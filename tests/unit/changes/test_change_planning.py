"""Planning on a real ingested estate: impact, services, owners, conflicts, windows, lifecycle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cmdb.changes import (
    ChangeAction,
    ChangeFilter,
    ChangeNotFound,
    ChangeOutcome,
    ChangeState,
    InvalidChange,
    InvalidTransition,
    NewChange,
    NoSnapshot,
    WindowKind,
)
from cmdb.changes.plan import FindingKind
from tests.integration.stores.neo4j_fixture import neo4j_store
from tests.unit.changes.change_scenario import DAY, HOUR, T0, Scenario

START = T0 + DAY  # changes are planned for the next day


def test_plan_grades_and_explains_impact_and_names_services_and_owners(scenario: Scenario) -> None:
    uid = scenario.change("patch i-web1", ["i-web1"], START)
    plan = scenario.service.plan(uid)
    # By hand: i-web1 down; the pool keeps 2 of 3 with min_up 2 -> degraded, no margin left;
    # web-app runs on the degraded pool, checkout depends on the degraded web-app.
    assert {(i.name, i.grade, i.depth) for i in plan.impacted} == {
        ("i-web1", "down", 0), ("web-pool", "degraded", 1), ("web-app", "degraded", 2),
        ("checkout", "degraded", 3),
    }
    pool = next(i for i in plan.impacted if i.name == "web-pool")
    assert pool.explanation == "2 of 3 up, min_up 2 -> degraded"
    assert pool.margin == 0
    checkout = next(i for i in plan.impacted if i.name == "checkout")
    assert [h.name for h in checkout.path] == ["i-web1", "web-pool", "web-app", "checkout"]
    assert [h.rel_type for h in checkout.path] == [None, "HAS_MEMBER", "RUNS_ON", "DEPENDS_ON"]
    assert {(s.name, s.grade, s.owner, s.criticality) for s in plan.services} == {
        ("web-app", "degraded", "team-web", None), ("checkout", "degraded", "team-shop", "critical"),
    }
    assert plan.owners == ("team-shop", "team-web")
    assert plan.conflicts == () and plan.findings == ()
    assert scenario.service.get(uid).state is ChangeState.PLANNED
    assert scenario.repo.latest_plan(uid) == plan


def test_changes_on_different_cis_sharing_a_service_through_the_graph_conflict_when_windows_overlap(
    scenario: Scenario,
) -> None:
    a = scenario.change("patch i-web1", ["i-web1"], START)
    b = scenario.change("replace orders disk", ["orders-host"], START + HOUR)  # overlaps a by one hour
    scenario.service.plan(b)
    plan_a = scenario.service.plan(a)
    checkout = scenario.named("checkout")
    assert [(c.change_uid, c.shared_cis, c.shared_services) for c in plan_a.conflicts] == [
        (b, (checkout,), (checkout,)),
    ]
    plan_b = scenario.service.plan(b)
    assert [(c.change_uid, c.shared_cis) for c in plan_b.conflicts] == [(a, (checkout,))]
    conflicts = plan_a.risk.factor("conflicts")
    assert (conflicts.value, conflicts.points) == (1.0, 10.0)  # 10 per conflict (docs/change-planning.md)


def test_the_same_changes_in_disjoint_windows_do_not_conflict(scenario: Scenario) -> None:
    a = scenario.change("patch i-web1", ["i-web1"], START)
    b = scenario.change("replace orders disk", ["orders-host"], START + 2 * HOUR)  # starts when a ends
    scenario.service.plan(b)
    assert scenario.service.plan(a).conflicts == ()
    assert scenario.service.plan(b).conflicts == ()


def test_overlapping_changes_without_shared_impact_do_not_conflict(scenario: Scenario) -> None:
    a = scenario.change("patch i-web1", ["i-web1"], START)
    c = scenario.change("reboot hr-host", ["hr-host"], START)
    scenario.service.plan(c)
    assert scenario.service.plan(a).conflicts == ()


def test_drafts_and_closed_changes_do_not_compete_for_a_window(scenario: Scenario) -> None:
    a = scenario.change("patch i-web1", ["i-web1"], START)
    scenario.change("draft on orders", ["orders-host"], START)  # never planned: still a draft
    cancelled = scenario.change("cancelled on orders", ["orders-host"], START)
    scenario.service.plan(cancelled)
    scenario.service.cancel(cancelled)
    assert scenario.service.plan(a).conflicts == ()


def test_a_change_inside_a_blackout_on_an_impacted_service_is_flagged(scenario: Scenario) -> None:
    checkout = scenario.named("checkout")
    blackout = scenario.service.add_window(WindowKind.BLACKOUT, "year-end freeze", (checkout,),
                                           START - HOUR, START + 3 * HOUR)
    inside = scenario.change("patch i-web1", ["i-web1"], START)
    plan = scenario.service.plan(inside)
    assert [(f.kind, f.window_uid, f.subjects) for f in plan.blackout_violations] == [
        (FindingKind.BLACKOUT, blackout.uid, (checkout,)),
    ]
    blackout_factor = plan.risk.factor("blackout")
    assert (blackout_factor.value, blackout_factor.points) == (1.0, 25.0)  # 25 per violation
    # Same blackout, a change that does not reach checkout: not flagged.
    elsewhere = scenario.change("reboot hr-host", ["hr-host"], START)
    assert scenario.service.plan(elsewhere).findings == ()
    # Same change, after the blackout: not flagged.
    later = scenario.change("patch i-web1 later", ["i-web1"], START + 3 * HOUR)
    assert scenario.service.plan(later).findings == ()
    # The blackout withdrawn: the change inside it is no longer flagged.
    scenario.service.remove_window(blackout.uid)
    assert scenario.service.plan(inside).findings == ()
    with pytest.raises(ChangeNotFound):
        scenario.service.remove_window(blackout.uid)


def test_a_change_outside_its_cis_maintenance_window_is_flagged(scenario: Scenario) -> None:
    host = scenario.named("orders-host")
    window = scenario.service.add_window(WindowKind.MAINTENANCE, "sunday night", (host,), START, START + 4 * HOUR)
    inside = scenario.change("inside", ["orders-host"], START + HOUR)
    assert scenario.service.plan(inside).findings == ()
    outside = scenario.change("outside", ["orders-host"], START + 3 * HOUR)  # runs past the window's end
    assert [(f.kind, f.window_uid, f.subjects) for f in scenario.service.plan(outside).findings] == [
        (FindingKind.OUTSIDE_MAINTENANCE, window.uid, (host,)),
    ]


def test_lifecycle_transitions_and_typed_errors(scenario: Scenario) -> None:
    svc = scenario.service
    uid = scenario.change("patch i-web1", ["i-web1"], START)
    with pytest.raises(InvalidTransition) as err:
        svc.approve(uid, "cab")  # a draft must be planned first
    assert (err.value.current, err.value.wanted) == ("draft", "approved")
    with pytest.raises(InvalidTransition):
        svc.start(uid)
    with pytest.raises(NoSnapshot):
        svc.drift(uid)
    svc.plan(uid)
    snapshot = svc.approve(uid, "cab").snapshot
    assert snapshot is not None and snapshot.approved_by == "cab" and svc.get(uid).state is ChangeState.APPROVED
    with pytest.raises(InvalidTransition):
        svc.approve(uid, "cab")  # already approved
    scenario.h.clock.now = START  # the window opens
    svc.start(uid)
    with pytest.raises(InvalidTransition):
        svc.cancel(uid)  # a running change finishes; it is not cancelled
    done = svc.complete(uid, ChangeOutcome.FAILED)
    assert (done.state, done.outcome) == (ChangeState.DONE, ChangeOutcome.FAILED)
    with pytest.raises(InvalidTransition):
        svc.plan(uid)
    with pytest.raises(ChangeNotFound):
        svc.get("nope")


def test_invalid_changes_are_refused_with_the_field_named(scenario: Scenario) -> None:
    with pytest.raises(InvalidChange) as err:
        scenario.service.create(_new(cis=("no-such-ci",)))
    assert err.value.field == "cis"
    with pytest.raises(InvalidChange) as err:
        scenario.service.create(_new(cis=(scenario.named("i-web1"),), end=START - 1))
    assert err.value.field == "window"


def test_changes_are_listed_by_state_ci_and_window(scenario: Scenario) -> None:
    a = scenario.change("a", ["i-web1"], START)
    b = scenario.change("b", ["orders-host"], START + DAY)
    scenario.service.plan(b)
    svc = scenario.service
    assert [c.uid for c in svc.changes()] == [a, b]
    assert [c.uid for c in svc.changes(ChangeFilter(states=(ChangeState.PLANNED,)))] == [b]
    assert [c.uid for c in svc.changes(ChangeFilter(ci=scenario.named("i-web1")))] == [a]
    window = svc.get(b).window
    assert [c.uid for c in svc.changes(ChangeFilter(overlapping=window))] == [b]


def _new(cis: tuple[str, ...], end: int = START + HOUR) -> NewChange:
    return NewChange(title="t", cis=cis, action=ChangeAction.OUTAGE, start=START, end=end, requester="alice")


@pytest.fixture(params=["sqlite", "neo4j"])
def scenario(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Scenario]:
    """Planning runs on the estate in SQLite and in Neo4j (its topology index loaded from there)."""
    if request.param == "sqlite":
        s = Scenario(tmp_path)
        yield s
        s.close()
        return
    with neo4j_store(request.getfixturevalue("neo4j_server")) as store:
        s = Scenario(tmp_path, store=store)
        yield s
        s.repo.close()
