"""Approval integrity: separation of duties, routing by risk level, compare-and-set on the plan version,
re-approval after drift, starting only inside the window, change models and their lead times."""

from __future__ import annotations

from typing import Any

import pytest

from cmdb.changes import (
    ApprovalConflict,
    ApprovalRefused,
    CannotStart,
    ChangeAction,
    ChangeModelKind,
    ChangeState,
    InvalidChange,
    InvalidTransition,
    NewChange,
    WindowKind,
)
from tests.builders import obs, rel
from tests.unit.changes.change_scenario import BILLING, DAY, HOUR, T0, WEB_APP, Scenario

START = T0 + 2 * DAY


def test_the_requester_cannot_approve_their_own_normal_change(scenario: Scenario) -> None:
    svc = scenario.service
    uid = scenario.change("patch i-web1", ["i-web1"], START, requester="alice")
    svc.plan(uid)
    with pytest.raises(ApprovalRefused) as err:
        svc.approve(uid, "alice")
    assert err.value.reason == "separation of duties: the requester cannot approve their own change"
    assert svc.get(uid).state is ChangeState.PLANNED and svc.get(uid).approvals == ()
    outcome = svc.approve(uid, "bob")
    assert outcome.snapshot is not None and outcome.snapshot.approved_by == "bob"


def test_approvals_are_routed_by_risk_level(scenario: Scenario) -> None:
    svc = scenario.service
    # medium (40): one approver.
    medium = scenario.change("patch i-web1", ["i-web1"], START)
    assert svc.plan(medium).risk.level == "medium"
    assert svc.approve(medium, "bob").snapshot is not None
    # high: orders-host outage, 45 + 7 + 10 (single point of failure) = 62: two approvers, or one CAB member.
    high = scenario.change("replace orders disk", ["orders-host"], START + DAY)
    plan = svc.plan(high)
    assert (plan.risk.score, plan.risk.level) == (62.0, "high")
    first = svc.approve(high, "bob")
    assert first.snapshot is None and first.status.missing == "1 more approver(s) or one member of cab"
    assert svc.get(high).state is ChangeState.PLANNED
    with pytest.raises(ApprovalRefused, match="already approved plan version 1"):
        svc.approve(high, "bob")
    second = svc.approve(high, "zoe")
    assert second.snapshot is not None
    assert [a.approver for a in second.snapshot.approvals] == ["bob", "zoe"]
    assert second.snapshot.approved_by == "bob, zoe"
    high2 = scenario.change("replace orders disk again", ["orders-host"], START + 3 * DAY)
    svc.plan(high2)
    by_cab = svc.approve(high2, "carol")  # carol sits on the CAB
    assert by_cab.snapshot is not None and by_cab.snapshot.approvals[0].groups == ("cab",)
    # critical: decommissioning orders-host (62 x 1.25 = 77.5) needs the change-manager role.
    critical = scenario.change("decommission orders-host", ["orders-host"], START + 5 * DAY,
                               action=ChangeAction.DECOMMISSION)
    assert svc.plan(critical).risk.level == "critical"
    with pytest.raises(ApprovalRefused, match="needs an approver with role change-manager"):
        svc.approve(critical, "carol")
    assert svc.approve(critical, "erin").snapshot is not None


def test_approval_is_a_compare_and_set_on_the_plan_version(scenario: Scenario) -> None:
    svc = scenario.service
    uid = scenario.change("patch i-web1", ["i-web1"], START)
    assert svc.plan(uid).version == 1
    assert svc.plan(uid).version == 2  # planning again makes a new version
    with pytest.raises(ApprovalConflict) as err:
        svc.approve(uid, "bob", plan_version=1)  # bob reviewed version 1
    assert (err.value.expected, err.value.actual) == (1, 2)
    assert svc.approve(uid, "bob", plan_version=2).snapshot is not None
    with pytest.raises(ApprovalConflict, match="it is approved now"):
        svc.approve(uid, "dave", plan_version=2)  # dave read version 2 too, but bob's approval won


def test_two_writers_of_one_revision_exactly_one_wins(scenario: Scenario) -> None:
    """The repository's compare-and-set, interleaved by hand: both read revision r, both write r + 1."""
    from cmdb.store.changes_sqlite import SQLiteChangeRepository

    uid = scenario.change("patch i-web1", ["i-web1"], START)
    other = SQLiteChangeRepository(scenario.h.sqlite.path)  # a second connection, as another process has
    try:
        read_a, read_b = scenario.repo.get_change(uid), other.get_change(uid)
        assert read_a is not None and read_b is not None and read_a.revision == read_b.revision == 1
        won = scenario.repo.commit_change(read_a.model_copy(update={"revision": 2, "description": "a"}), 1)
        lost = other.commit_change(read_b.model_copy(update={"revision": 2, "description": "b"}), 1)
        assert (won, lost) == (True, False)
        stored = other.get_change(uid)
        assert stored is not None and (stored.revision, stored.description) == (2, "a")
    finally:
        other.close()


def test_a_change_starts_only_inside_its_window(scenario: Scenario) -> None:
    svc = scenario.service
    uid = scenario.change("patch i-web1", ["i-web1"], START)
    svc.plan(uid)
    svc.approve(uid, "bob")
    scenario.h.clock.now = START - DAY  # a day early
    with pytest.raises(CannotStart, match="its window opens later"):
        svc.start(uid)
    scenario.h.clock.now = START + 2 * HOUR  # the window [START, START + 2 h) has closed
    with pytest.raises(CannotStart, match="its window has closed"):
        svc.start(uid)
    assert svc.get(uid).state is ChangeState.APPROVED
    scenario.h.clock.now = START + HOUR
    assert svc.start(uid).state is ChangeState.IN_PROGRESS


def test_drift_that_adds_a_service_or_raises_the_level_needs_reapproval_before_start(scenario: Scenario) -> None:
    svc = scenario.service
    uid = scenario.change("patch i-web1", ["i-web1"], START)
    svc.plan(uid)
    svc.approve(uid, "bob")
    s: dict[str, Any] = {"source": "sample", "scope": "base"}
    scenario.h.run([obs("business_service", {"service_id": "svc-billing"}, {"name": "billing"}, **s),
                    rel("DEPENDS_ON", BILLING, WEB_APP, **s)], complete=False, **s)
    assert svc.drift(uid).reapproval == "newly impacted services: billing"
    scenario.h.clock.now = START
    with pytest.raises(CannotStart) as err:
        svc.start(uid)
    assert err.value.reason == "it needs re-approval: newly impacted services: billing"
    change = svc.get(uid)
    assert (change.state, change.reapproval_reason, change.approvals, change.plan_version) == (
        ChangeState.PLANNED, "newly impacted services: billing", (), 2)
    assert svc.approve(uid, "bob", plan_version=2).snapshot is not None
    assert svc.start(uid).state is ChangeState.IN_PROGRESS


def test_drift_that_changes_nothing_that_matters_does_not_block(scenario: Scenario) -> None:
    svc = scenario.service
    uid = scenario.change("patch i-web1", ["i-web1"], START)
    svc.plan(uid)
    svc.approve(uid, "bob")
    scenario.h.clock.now = START
    assert svc.start(uid).state is ChangeState.IN_PROGRESS


def test_lead_time_past_windows_and_emergency_changes(scenario: Scenario) -> None:
    svc = scenario.service
    web1 = scenario.named("i-web1")

    def new(start: int, model: ChangeModelKind = ChangeModelKind.NORMAL) -> NewChange:
        return NewChange(title="t", cis=(web1,), action=ChangeAction.RESTART, start=start, end=start + HOUR,
                         requester="alice", model=model, implementation_plan="i", backout_plan="b")

    with pytest.raises(InvalidChange) as err:
        svc.create(new(T0 + 3 * HOUR))  # normal: 24 h of lead time
    assert (err.value.field, err.value.message) == (
        "start", "a normal change needs 24 h of lead time; this window starts in 3.0 h")
    with pytest.raises(InvalidChange) as err:
        svc.create(new(T0 - DAY))
    assert err.value.message == ("the window starts in the past; only an emergency change may be recorded after "
                                 "the fact")
    assert svc.create(new(T0 + 3 * HOUR, ChangeModelKind.EMERGENCY)).recorded_after_fact is False
    after = svc.create(new(T0 - DAY, ChangeModelKind.EMERGENCY))
    assert after.recorded_after_fact is True
    svc.plan(after.uid)
    svc.approve(after.uid, "bob")
    assert svc.start(after.uid).state is ChangeState.IN_PROGRESS  # recorded after the fact: no window check


def test_normal_changes_need_their_plans_before_approval(scenario: Scenario) -> None:
    svc = scenario.service
    change = svc.create(NewChange(title="t", cis=(scenario.named("i-web1"),), action=ChangeAction.RESTART,
                                  start=START, end=START + HOUR, requester="alice"))
    svc.plan(change.uid)
    with pytest.raises(InvalidChange) as err:
        svc.approve(change.uid, "bob")
    assert (err.value.field, err.value.message) == (
        "implementation_plan", "a normal change needs its implementation plan before approval")
    svc.describe(change.uid, implementation_plan="yum update; reboot", backout_plan="boot the old kernel",
                 test_plan="health check green")
    assert svc.approve(change.uid, "bob").snapshot is not None


def test_standard_changes_are_approved_by_their_template_within_its_risk(scenario: Scenario) -> None:
    svc = scenario.service
    uid = scenario.change("restart i-web1", ["i-web1"], START, action=ChangeAction.RESTART,
                          model=ChangeModelKind.STANDARD, template="restart-redundant-node")
    plan = svc.plan(uid)
    assert plan.risk.level == "medium"  # within the template's max (medium)
    view = svc.show(uid)
    assert view.change.state is ChangeState.APPROVED
    assert view.snapshot is not None and view.snapshot.approved_by == "template:restart-redundant-node"
    # The same template over a freeze: high risk, beyond the template. It stays planned and a person cannot
    # approve it as a standard change.
    svc.add_window(WindowKind.BLACKOUT, "freeze", (scenario.named("checkout"),), START + DAY, START + 2 * DAY)
    frozen = scenario.change("restart i-web2", ["i-web2"], START + DAY, action=ChangeAction.RESTART,
                             model=ChangeModelKind.STANDARD, template="restart-redundant-node")
    assert svc.plan(frozen).risk.level == "high"
    assert svc.get(frozen).state is ChangeState.PLANNED
    with pytest.raises(ApprovalRefused, match="raise a normal change instead"):
        svc.approve(frozen, "carol")
    with pytest.raises(InvalidChange, match="template restart-redundant-node allows restart"):
        scenario.change("outage i-web3", ["i-web3"], START, model=ChangeModelKind.STANDARD,
                        template="restart-redundant-node")
    with pytest.raises(InvalidChange) as err:
        scenario.change("no template", ["i-web3"], START, model=ChangeModelKind.STANDARD)
    assert err.value.field == "template"


def test_moving_an_approved_change_needs_reapproval(scenario: Scenario) -> None:
    svc = scenario.service
    uid = scenario.change("patch i-web1", ["i-web1"], START)
    svc.plan(uid)
    svc.approve(uid, "bob")
    moved = svc.reschedule(uid, START + DAY, START + DAY + HOUR)
    assert (moved.state, moved.reapproval_reason, moved.approvals) == (ChangeState.PLANNED, "the window moved", ())
    with pytest.raises(InvalidTransition):
        svc.start(uid)


def test_previewing_an_approved_change_that_grew_sends_it_back(scenario: Scenario) -> None:
    svc = scenario.service
    uid = scenario.change("patch i-web1", ["i-web1"], START)
    svc.plan(uid)
    svc.approve(uid, "bob")
    assert svc.plan(uid).version == 2 and svc.get(uid).state is ChangeState.APPROVED  # nothing grew: still approved
    s: dict[str, Any] = {"source": "sample", "scope": "base"}
    scenario.h.run([obs("business_service", {"service_id": "svc-billing"}, {"name": "billing"}, **s),
                    rel("DEPENDS_ON", BILLING, WEB_APP, **s)], complete=False, **s)
    preview = svc.plan(uid)
    change = svc.get(uid)
    assert (preview.version, change.state, change.reapproval_reason) == (
        3, ChangeState.PLANNED, "newly impacted services: billing")
    snapshot = scenario.repo.get_snapshot(uid)
    assert snapshot is not None and snapshot.plan.version == 1
