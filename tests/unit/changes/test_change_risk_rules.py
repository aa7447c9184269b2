"""Every documented risk rule holds, with the numbers written down by hand (docs/change-planning.md)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from cmdb.changes import ChangeAction, PlanOptions, RiskRules
from cmdb.changes.planner import ChangePlanner
from cmdb.changes.risk import BLACKOUT, REDUNDANCY, RiskInputs, score
from tests.builders import obs, ref, rel
from tests.unit.changes.change_scenario import DAY, ORDERS_APP, T0, Scenario

START = T0 + DAY
PG = ref("database", db_id="db-pg1")
INVENTORY = ref("application", app_id="app-inventory")
BILLING_APP = ref("application", app_id="app-billing")
INVOICING = ref("business_service", service_id="svc-invoicing")
CHECKOUT = ref("business_service", service_id="svc-checkout")


def add_primary_database(scenario: Scenario) -> None:
    """pg-primary, the one database behind orders-app, inventory-app and billing-app; checkout (critical) needs
    orders and inventory, invoicing (high) needs billing."""
    s: dict[str, Any] = {"source": "sample", "scope": "base"}
    scenario.h.run([
        obs("database", {"db_id": "db-pg1"}, {"name": "pg-primary", "engine": "postgres"}, **s),
        obs("application", {"app_id": "app-inventory"}, {"name": "inventory-app", "owner": "team-stock"}, **s),
        obs("application", {"app_id": "app-billing"}, {"name": "billing-app", "owner": "team-finance"}, **s),
        obs("business_service", {"service_id": "svc-invoicing"},
            {"name": "invoicing", "owner": "team-finance", "criticality": "high"}, **s),
        rel("DEPENDS_ON", ORDERS_APP, PG, **s), rel("DEPENDS_ON", INVENTORY, PG, **s),
        rel("DEPENDS_ON", BILLING_APP, PG, **s), rel("DEPENDS_ON", CHECKOUT, INVENTORY, **s),
        rel("DEPENDS_ON", INVOICING, BILLING_APP, **s),
    ], complete=False, **s)


# -- the blackout floor --------------------------------------------------------------------------

def test_a_blackout_alone_makes_a_restart_at_least_medium_and_is_not_discounted() -> None:
    rules = RiskRules()
    alone = score(RiskInputs(action=ChangeAction.RESTART, impacted_beyond_change=0, blackouts=("freeze",)), rules)
    # Before: 0.75 x 25 = 18.75 (low). The blackout's 25 points are not discounted by the restart's 0.75.
    assert (alone.score, alone.level, alone.factor(BLACKOUT).points) == (25.0, "medium", 25.0)
    gentle = rules.model_copy(update={"blackout": rules.blackout.model_copy(update={"per_violation": 5.0})})
    floored = score(RiskInputs(action=ChangeAction.RESTART, impacted_beyond_change=0, blackouts=("freeze",)), gentle)
    # 5 points would be low: the floor lifts it to the medium bound (25) and says so.
    assert (floored.score, floored.level, floored.floors) == (25.0, "medium", ("inside a blackout: at least medium (25)",))


def test_the_action_discount_applies_to_everything_but_blackout_and_conflicts() -> None:
    inputs = RiskInputs(action=ChangeAction.RESTART, impacted_beyond_change=4, blackouts=("freeze",),
                        conflicts=("db upgrade",))
    # Breadth 4 x 0.5 = 2 (x 0.75 = 1.5), blackout 25, conflicts 10: 36.5.
    assert score(inputs, RiskRules()).score == 36.5
    assert score(replace(inputs, action=ChangeAction.OUTAGE), RiskRules()).score == 37.0


# -- the redundancy factor ----------------------------------------------------------------------

def test_a_fully_down_group_weighs_like_no_margin_not_zero(scenario: Scenario) -> None:
    one = scenario.service.plan(scenario.change("restart i-web1", ["i-web1"], START, action=ChangeAction.RESTART))
    two = scenario.service.plan(scenario.change("restart i-web1 and i-web2", ["i-web1", "i-web2"], START + DAY,
                                                action=ChangeAction.RESTART))
    assert (one.risk.factor(REDUNDANCY).points, one.risk.factor(REDUNDANCY).detail) == (10.0, "no margin left: web-pool")
    # 1 of 3 up, min_up 2: the pool is down (margin -1). Before: 0 points, "unaffected or ample".
    pool = two.impacted_by_uid()[scenario.named("web-pool")]
    assert (pool.grade, pool.explanation, pool.margin) == ("down", "1 of 3 up, min_up 2 -> down", -1)
    factor = two.risk.factor(REDUNDANCY)
    assert (factor.points, factor.detail) == (10.0, "redundancy group down: web-pool")
    # Restart, x0.75: (22.5 + 7.5 + 10) x 0.75 = 30 with margin 0; (45 + 7.5 + 10) x 0.75 = 46.875 with the pool down.
    assert (one.risk.score, two.risk.score) == (30, 46.88)


def test_decommissioning_a_single_point_of_failure_counts_as_no_margin(scenario: Scenario) -> None:
    plan = scenario.service.plan(scenario.change("decommission orders-host", ["orders-host"], START,
                                                 action=ChangeAction.DECOMMISSION))
    factor = plan.risk.factor(REDUNDANCY)
    assert (factor.value, factor.points) == (1.0, 10.0)
    assert factor.detail == "single point of failure changed: orders-host (takes down orders-app, checkout)"
    assert {(p.name, p.service_names, p.changed) for p in plan.single_points_of_failure} == {
        ("orders-host", ("orders-app", "checkout"), True), ("orders-app", ("checkout",), False)}
    # By hand: criticality orders-app (unknown, down) 5 + checkout (critical, down) 40 = 45; breadth
    # 2 x 0.5 + 2 x 3 = 7; redundancy 10: 62 x 1.25 = 77.5, critical.
    assert (plan.risk.score, plan.risk.level) == (77.5, "critical")


# -- knowing less never scores lower --------------------------------------------------------------

def test_decommissioning_the_primary_database_never_scores_lower_as_the_budget_shrinks(scenario: Scenario) -> None:
    add_primary_database(scenario)
    uid = scenario.change("decommission pg-primary", ["pg-primary"], START, action=ChangeAction.DECOMMISSION)
    change = scenario.service.get(uid)
    full = scenario.service.plan(uid)
    assert {(i.name, i.grade) for i in full.impacted} == {
        ("pg-primary", "down"), ("orders-app", "down"), ("inventory-app", "down"), ("billing-app", "down"),
        ("checkout", "down"), ("invoicing", "down")}
    # By hand: criticality 5 + 5 + 5 + 40 + 25 = 80, capped 50; breadth 5 x 0.5 + 5 x 3 = 17.5; pg-primary is a
    # single point of failure of all five services: 10. (50 + 17.5 + 10) x 1.25 = 96.875.
    assert (full.risk.score, full.risk.level, full.truncated, full.uncertain) == (96.88, "critical", False, False)
    assert full.single_points_of_failure[0].name == "pg-primary"
    assert set(full.single_points_of_failure[0].service_names) == {
        "orders-app", "inventory-app", "billing-app", "checkout", "invoicing"}
    s = scenario
    for budget in (1, 2, 3, 4, 5):
        planner = ChangePlanner(s.planner.impact_engine, s.h.store, s.repo, s.h.schema,
                                options=PlanOptions(max_nodes=budget), clock=s.h.clock)
        cut = planner.plan(change)
        assert cut.truncated and cut.truncated_by == ("max_nodes",), budget
        assert (cut.risk.score, cut.risk.level) == (100.0, "critical"), budget
        assert cut.uncertain and cut.uncertainty[0].startswith("impact truncated by max_nodes"), budget
        assert cut.risk.floors[-1].startswith("impact cut short (max_nodes)"), budget
    shallow = ChangePlanner(s.planner.impact_engine, s.h.store, s.repo, s.h.schema,
                            options=PlanOptions(max_depth=1), clock=s.h.clock).plan(change)
    # Depth 1 reaches the three applications, not the business services behind them.
    assert {i.name for i in shallow.impacted} == {"pg-primary", "orders-app", "inventory-app", "billing-app"}
    assert (shallow.truncated_by, shallow.risk.score, shallow.uncertain) == (("max_depth",), 100.0, True)


def test_stale_evidence_marks_the_plan_uncertain_with_the_reason(scenario: Scenario) -> None:
    uid = scenario.change("patch i-web1", ["i-web1"], START + 30 * DAY)
    assert scenario.service.plan(uid).uncertain is False
    scenario.h.clock.advance(20 * DAY)  # nothing re-observed for 20 days (> 14)
    plan = scenario.service.plan(uid)
    assert plan.uncertain and len(plan.uncertainty) == 1
    kind, _, facts = plan.uncertainty[0].partition(": ")
    assert kind == "stale evidence"
    assert set(facts.split("; ")) == {  # the stored relationships, as stored (source -> target)
        "web-pool -[HAS_MEMBER]-> i-web1 last seen 20 day(s) ago", "web-app -[RUNS_ON]-> web-pool last seen 20 day(s) ago",
        "checkout -[DEPENDS_ON]-> web-app last seen 20 day(s) ago"}


@pytest.mark.parametrize("action", list(ChangeAction))
def test_every_action_keeps_the_blackout_floor(action: ChangeAction) -> None:
    assessed = score(RiskInputs(action=action, impacted_beyond_change=0, blackouts=("freeze",)), RiskRules())
    assert assessed.level != "low"
