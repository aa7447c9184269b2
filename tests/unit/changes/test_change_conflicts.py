"""Living conflicts: both sides see them whatever the order; moves, cancellations and later blackouts
re-check them; the slot's combined impact shows what overlapping changes do together."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmdb.changes import ChangeAction, ChangeState, WindowKind
from cmdb.changes.export import change_to_markdown
from tests.unit.changes.change_scenario import DAY, HOUR, T0, Scenario

START = T0 + 2 * DAY
RANK = {None: 0, "degraded": 1, "down": 2}


def _conflicts(scenario: Scenario, uid: str) -> list[str]:
    plan = scenario.repo.latest_plan(uid)
    assert plan is not None
    return [c.change_uid for c in plan.conflicts]


def test_a_change_planned_before_its_rival_learns_of_the_conflict(scenario: Scenario) -> None:
    svc = scenario.service
    a = scenario.change("patch i-web1", ["i-web1"], START)
    svc.plan(a)
    assert _conflicts(scenario, a) == []
    b = scenario.change("replace orders disk", ["orders-host"], START + HOUR)
    svc.plan(b)
    # a was not planned again, yet its latest plan (and its export) now name b, with the reason.
    assert _conflicts(scenario, a) == [b] and _conflicts(scenario, b) == [a]
    plan_a = scenario.repo.latest_plan(a)
    assert plan_a is not None and plan_a.version == 2
    assert plan_a.conflicts[0].reason == ("both changes impact the same services in overlapping windows: "
                                          "checkout (business_service): degraded here, down under "
                                          "'replace orders disk'")
    assert "replace orders disk" in change_to_markdown(svc.show(a))
    # Moving b out of the window clears the conflict on both sides; moving it back restores it.
    svc.reschedule(b, START + 5 * HOUR, START + 6 * HOUR)
    assert _conflicts(scenario, a) == [] and _conflicts(scenario, b) == []
    svc.reschedule(b, START + HOUR, START + 2 * HOUR)
    assert _conflicts(scenario, a) == [b]
    svc.cancel(b)
    assert _conflicts(scenario, a) == []


def test_a_blackout_declared_after_approval_reflags_the_change(scenario: Scenario) -> None:
    svc = scenario.service
    uid = scenario.change("patch i-web1", ["i-web1"], START)
    svc.plan(uid)
    svc.approve(uid, "bob")
    svc.add_window(WindowKind.BLACKOUT, "quarter close", (scenario.named("checkout"),), START - HOUR, START + DAY)
    change = svc.get(uid)
    # 40 (medium) + 25 blackout = 65 (high): the approval no longer holds.
    assert (change.state, change.reapproval_reason) == (
        ChangeState.PLANNED, "risk rose from medium (40) to high (65)")
    latest = scenario.repo.latest_plan(uid)
    assert latest is not None and [f.label for f in latest.findings] == ["quarter close"]
    snapshot = scenario.repo.get_snapshot(uid)
    assert snapshot is not None and snapshot.plan.findings == ()  # the approved snapshot is kept as it was
    md = change_to_markdown(svc.show(uid))
    assert "| Blackouts | none | quarter close |" in md
    assert "| Risk | medium (40) | high (65) |" in md
    assert "needs re-approval: risk rose from medium (40) to high (65)" in md


def test_two_degraded_restarts_take_the_pool_down_together(scenario: Scenario) -> None:
    svc = scenario.service
    a = scenario.change("restart i-web1", ["i-web1"], START, action=ChangeAction.RESTART)
    b = scenario.change("restart i-web2", ["i-web2"], START + HOUR, action=ChangeAction.RESTART)
    svc.plan(a)
    plan_b = svc.plan(b)
    # Alone, each leaves the pool 2 of 3 up: degraded, and checkout degraded.
    assert {(i.name, i.grade) for i in plan_b.impacted} == {
        ("i-web2", "down"), ("web-pool", "degraded"), ("web-app", "degraded"), ("checkout", "degraded")}
    combined = plan_b.combined
    assert combined is not None and combined.changes == (b, a)
    # Together: 1 of 3 up, min_up 2 -> the pool is down, and web-app and checkout with it.
    assert {(i.name, i.grade, i.alone) for i in combined.worse} == {
        ("web-pool", "down", "degraded"), ("web-app", "down", "degraded"), ("checkout", "down", "degraded")}
    pool = next(i for i in combined.worse if i.name == "web-pool")
    assert pool.explanation == "1 of 3 up, min_up 2 -> down"
    plan_a = scenario.repo.latest_plan(a)
    assert plan_a is not None and plan_a.combined is not None
    assert {i.name for i in plan_a.combined.worse} == {"web-pool", "web-app", "checkout"}
    assert "| web-pool | cluster | down | degraded | 1 of 3 up, min_up 2 -> down |" in change_to_markdown(svc.show(a))


# -- property: combined impact is the impact of the union, and never better than any one change ---------------
_CANDIDATES = ("i-web1", "i-web2", "i-web3", "orders-host", "hr-host", "web-pool", "orders-app")
_slots = itertools.count()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(_CANDIDATES), min_size=1, max_size=3, unique=True), min_size=2,
                max_size=4))
def test_combined_impact_is_the_union_and_at_least_as_bad_as_each_change(scenario: Scenario,
                                                                         sets: list[list[str]]) -> None:
    svc = scenario.service
    slot = START + next(_slots) * 10 * DAY  # each example in its own slot: examples never overlap
    uids = [scenario.change(f"c{i}", names, slot + i * HOUR, hours=len(sets) + 1) for i, names in enumerate(sets)]
    for uid in uids:
        svc.plan(uid)
    union = tuple(dict.fromkeys(scenario.named(n) for names in sets for n in names))
    expected = {ci.uid: ci.grade.value for ci in scenario.planner.impact_of(svc.get(uids[0]).model_copy(
        update={"cis": union})).impacted}
    for uid in uids:
        plan = scenario.repo.latest_plan(uid)
        assert plan is not None and plan.combined is not None
        assert set(plan.combined.changes) == set(uids)
        together = {i.uid: i.grade for i in plan.combined.impacted}
        assert together == expected  # the impact of the union of their CIs
        for own in plan.impacted:
            assert RANK[together.get(own.uid)] >= RANK[own.grade]  # at least as bad as alone
        worse = {i.uid for i in plan.combined.worse}
        alone = {i.uid: i.alone for i in plan.combined.impacted}
        assert worse == {u for u, g in together.items() if RANK[g] > RANK[alone[u]]}
    for uid in uids:
        svc.cancel(uid)


def test_property_slots_do_not_leak(tmp_path: Path) -> None:
    """The property test's examples live in distinct slots: a change there never sees another example's."""
    s = Scenario(tmp_path)
    try:
        a = s.change("a", ["i-web1"], START)
        b = s.change("b", ["i-web1"], START + 10 * DAY)
        s.service.plan(a)
        assert s.service.plan(b).combined is None
    finally:
        s.close()
