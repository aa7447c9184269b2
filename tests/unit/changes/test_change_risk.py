"""Risk: each factor moves the score in the documented direction; rules are configurable."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmdb.changes import ChangeAction, ChangeOutcome, InvalidChange, Review, RiskAssessment, RiskRules, load_risk_rules
from cmdb.changes.risk import (
    BLACKOUT,
    BREADTH,
    CONFLICTS,
    CRITICALITY,
    DATA_QUALITY,
    FACTOR_NAMES,
    FAILED_CHANGES,
    REDUNDANCY,
    MarginRisk,
    RiskInputs,
    ServiceRisk,
    score,
)
from cmdb.observation import Method
from tests.builders import obs, rel
from tests.unit.changes.change_scenario import DAY, HOUR, REPORTING, T0, WEB_APP, Scenario

START = T0 + DAY
BASE = RiskInputs(action=ChangeAction.OUTAGE, impacted_beyond_change=2,
                  services=(ServiceRisk("shop", "degraded", "medium"),))

# One step "more risky" per factor, as docs/change-planning.md describes.
MORE = {
    CRITICALITY: replace(BASE, services=(ServiceRisk("shop", "down", "critical"),)),
    BREADTH: replace(BASE, impacted_beyond_change=12),
    REDUNDANCY: replace(BASE, margins=(MarginRisk("pool", 0),)),
    FAILED_CHANGES: replace(BASE, failed_changes=("last week's patch",)),
    DATA_QUALITY: replace(BASE, low_confidence=("a -[DEPENDS_ON]-> b (traffic, 0.40)",)),
    CONFLICTS: replace(BASE, conflicts=("db upgrade",)),
    BLACKOUT: replace(BASE, blackouts=("freeze",)),
}


def test_every_factor_is_shown() -> None:
    assessed = score(BASE, RiskRules())
    assert tuple(f.name for f in assessed.factors) == FACTOR_NAMES
    # Hand-checked: medium degraded service 10 * 0.5 = 5; breadth 2 * 0.5 + 1 * 3 = 4.
    assert [f.points for f in assessed.factors] == [5.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert (assessed.score, assessed.level) == (9.0, "low")


# The points each step of MORE adds, and the score it makes, by the numbers of docs/change-planning.md
# (BASE: criticality 5, breadth 4, score 9).
DOCUMENTED_STEP = {
    CRITICALITY: (40.0, 44.0),  # a down critical service: 40
    BREADTH: (9.0, 14.0),  # 12 CIs x 0.5 + 1 service x 3
    REDUNDANCY: (10.0, 19.0),  # margin 0: 10
    FAILED_CHANGES: (10.0, 19.0),  # 10 per failed change
    DATA_QUALITY: (3.0, 12.0),  # 3 per low-confidence edge
    CONFLICTS: (10.0, 19.0),  # 10 per conflict
    BLACKOUT: (25.0, 34.0),  # 25 per violation
}


@pytest.mark.parametrize("factor", FACTOR_NAMES)
def test_each_factor_raises_the_score_by_its_documented_points(factor: str) -> None:
    rules = RiskRules()
    before, after = score(BASE, rules), score(MORE[factor], rules)
    assert (after.factor(factor).points, after.score) == DOCUMENTED_STEP[factor]
    others = [f for f in FACTOR_NAMES if f not in (factor, BREADTH)]  # breadth counts services too
    assert [after.factor(f).points for f in others] == [before.factor(f).points for f in others]


@pytest.mark.parametrize("criticality,grade,points", [
    ("critical", "down", 40.0), ("high", "down", 25.0), ("medium", "down", 10.0), ("low", "down", 2.0),
    (None, "down", 5.0), ("critical", "degraded", 20.0), ("low", "degraded", 1.0),
])
def test_criticality_weights_are_the_documented_ones(criticality: str | None, grade: str, points: float) -> None:
    inputs = RiskInputs(action=ChangeAction.OUTAGE, impacted_beyond_change=0,
                        services=(ServiceRisk("svc", grade, criticality),))
    assert score(inputs, RiskRules()).factor(CRITICALITY).points == points


def test_every_documented_cap() -> None:
    """Each factor's cap, reached by many of its items (docs/change-planning.md's table)."""
    many = tuple(f"x{i}" for i in range(20))
    inputs = RiskInputs(
        action=ChangeAction.OUTAGE, impacted_beyond_change=100,
        services=tuple(ServiceRisk(f"s{i}", "down", "critical") for i in range(3)),
        margins=tuple(MarginRisk(f"m{i}", 0) for i in range(5)), failed_changes=many, stale=many,
        conflicts=many, blackouts=many)
    assessed = score(inputs, RiskRules())
    assert {f.name: f.points for f in assessed.factors} == {
        CRITICALITY: 50.0, BREADTH: 20.0, REDUNDANCY: 20.0, FAILED_CHANGES: 20.0, DATA_QUALITY: 15.0,
        CONFLICTS: 20.0, BLACKOUT: 25.0}
    assert (assessed.score, assessed.level) == (100.0, "critical")  # max_score 100


@pytest.mark.parametrize("action,multiplier", [
    (ChangeAction.OUTAGE, 1.0), (ChangeAction.DECOMMISSION, 1.25), (ChangeAction.MODIFY, 0.9),
    (ChangeAction.RESTART, 0.75),
])
def test_action_multipliers_are_the_documented_ones(action: ChangeAction, multiplier: float) -> None:
    # Discountable 20 (breadth: 40 CIs x 0.5), nothing else.
    assert score(RiskInputs(action=action, impacted_beyond_change=40), RiskRules()).score == 20.0 * multiplier


@pytest.mark.parametrize("cis,conflicts,blackouts,failed,points,level", [
    # breadth 0.5 per CI, conflicts 10 each, blackout 25, failed changes 10 each
    (9, 2, 0, 0, 24.5, "low"), (10, 2, 0, 0, 25.0, "medium"),
    (9, 2, 1, 0, 49.5, "medium"), (10, 2, 1, 0, 50.0, "high"),
    (39, 2, 1, 1, 74.5, "high"), (40, 2, 1, 1, 75.0, "critical"),
])
def test_levels_start_at_the_documented_scores(cis: int, conflicts: int, blackouts: int, failed: int,
                                               points: float, level: str) -> None:
    inputs = RiskInputs(action=ChangeAction.OUTAGE, impacted_beyond_change=cis,
                        conflicts=tuple(f"c{i}" for i in range(conflicts)),
                        blackouts=tuple(f"b{i}" for i in range(blackouts)),
                        failed_changes=tuple(f"f{i}" for i in range(failed)))
    assessed = score(inputs, RiskRules())
    assert (assessed.score, assessed.level) == (points, level)


def test_thin_margin_counts_less_than_no_margin_and_ample_margin_nothing() -> None:
    rules = RiskRules()
    points = [score(replace(BASE, margins=(MarginRisk("pool", m),)), rules).factor(REDUNDANCY).points
              for m in (0, 1, 2)]
    assert points == [10.0, 4.0, 0.0]


def test_action_multiplier_and_caps() -> None:
    rules = RiskRules()
    restart = score(replace(MORE[CONFLICTS], action=ChangeAction.RESTART), rules)
    outage = score(MORE[CONFLICTS], rules)
    # By hand: discountable 5 + 4 = 9, conflicts 10 (never discounted): outage 19, restart 0.75 * 9 + 10.
    assert (outage.score, restart.score) == (19.0, 16.75)
    many = score(replace(BASE, conflicts=tuple(f"c{i}" for i in range(10))), rules)
    assert many.factor(CONFLICTS).points == rules.conflicts.cap


def test_rules_load_from_yaml_and_a_zero_weight_silences_a_factor(tmp_path: Path) -> None:
    path = tmp_path / "risk.yaml"
    path.write_text("conflicts: {per_conflict: 0}\nlevels: {medium: 5}\n", encoding="utf-8")
    rules = load_risk_rules(path)
    assert rules.conflicts.per_conflict == 0 and rules.breadth == RiskRules().breadth
    assert score(MORE[CONFLICTS], rules).score == score(BASE, rules).score
    assert score(BASE, rules).level == "medium"
    path.write_text("conflicts: {per_conflit: 3}\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load_risk_rules(path)
    with pytest.raises(InvalidChange):
        load_risk_rules(tmp_path / "missing.yaml")


# -- the planner measures each factor on the real graph ------------------------------------------

def _fail(scenario: Scenario, title: str, start: int, failed_at: int) -> str:
    """A change on i-web1 in [start, start + 2 h) that ran until ``failed_at`` and failed (with its review)."""
    svc = scenario.service
    uid = scenario.change(title, ["i-web1"], start)
    svc.plan(uid)
    svc.approve(uid, "carol")
    scenario.h.clock.now = start
    svc.start(uid)
    scenario.h.clock.now = failed_at
    svc.complete(uid, ChangeOutcome.FAILED, Review(actual_start=start, actual_end=failed_at,
                                                   outcome=ChangeOutcome.FAILED, incidents=("INC-1042",)))
    return uid


def test_failure_history_is_keyed_by_when_the_change_failed(scenario: Scenario) -> None:
    svc = scenario.service
    # A migration planned for START + 2 h overran and failed 20 days later (its review says so).
    _fail(scenario, "migrate web nodes", START, START + 20 * DAY)
    # 100 days after its planned window, 80 days after it failed: inside the 90-day lookback.
    later = START + 100 * DAY
    scenario.h.clock.now = later - 2 * DAY
    uid = scenario.change("patch i-web1", ["i-web1"], later)
    factor = svc.plan(uid).risk.factor(FAILED_CHANGES)
    assert (factor.value, factor.points) == (1.0, 10.0)
    assert factor.detail == "failed in the last 90 days: migrate web nodes"
    # 120 days after it failed: outside the lookback; a success never counts.
    much_later = START + 140 * DAY
    scenario.h.clock.now = much_later - 2 * DAY
    uid2 = scenario.change("patch i-web1 again", ["i-web1"], much_later)
    assert svc.plan(uid2).risk.factor(FAILED_CHANGES).value == 0
    ok = scenario.change("a good patch", ["i-web1"], much_later + DAY)
    svc.plan(ok)
    svc.approve(ok, "carol")
    scenario.h.clock.now = much_later + DAY
    svc.start(ok)
    svc.complete(ok, ChangeOutcome.SUCCEEDED)
    scenario.h.clock.now = much_later - DAY
    assert svc.plan(uid2).risk.factor(FAILED_CHANGES).value == 0


def _points(risk: RiskAssessment) -> dict[str, float]:
    """The factors that scored, by name."""
    return {f.name: f.points for f in risk.factors if f.points}


def test_a_low_confidence_edge_on_the_impact_path_raises_risk(scenario: Scenario) -> None:
    svc = scenario.service
    uid = scenario.change("patch i-web1", ["i-web1"], START)
    before = svc.plan(uid).risk
    s: dict[str, Any] = {"source": "sample", "scope": "base"}
    scenario.h.run([obs("application", {"app_id": "app-reporting"}, {"name": "reporting"}, **s),
                    rel("DEPENDS_ON", REPORTING, WEB_APP, method=Method.TRAFFIC, confidence=0.5, **s)],
                   complete=False, **s)
    plan = svc.plan(uid)
    after = plan.risk
    assert after.factor(DATA_QUALITY).detail == (
        "low confidence: reporting -[DEPENDS_ON]-> web-app (traffic, confidence 0.50)")
    # By the documented rules (outage, x1.0): reporting now impacted, unknown criticality, degraded 5 x 0.5;
    # breadth 4 CIs x 0.5 + 3 services x 3; the low-confidence edge 3.
    assert (_points(before), before.score) == ({CRITICALITY: 22.5, BREADTH: 7.5, REDUNDANCY: 10}, 40)
    assert (_points(after), after.score) == ({CRITICALITY: 25, BREADTH: 11, REDUNDANCY: 10, DATA_QUALITY: 3}, 49)
    assert plan.uncertain and plan.uncertainty == (
        "low-confidence evidence: reporting -[DEPENDS_ON]-> web-app (traffic, confidence 0.50)",)


def test_stale_evidence_on_the_impact_path_raises_risk(scenario: Scenario) -> None:
    svc = scenario.service
    uid = scenario.change("patch i-web1", ["i-web1"], START)
    fresh = svc.plan(uid).risk
    assert fresh.factor(DATA_QUALITY).points == 0
    scenario.h.clock.advance(20 * DAY)  # nothing re-observed for 20 days (> 14)
    stale = svc.plan(uid).risk
    assert stale.factor(DATA_QUALITY).value == 3  # the three hops i-web1 -> pool -> web-app -> checkout
    assert (_points(fresh), fresh.score) == ({CRITICALITY: 22.5, BREADTH: 7.5, REDUNDANCY: 10}, 40)
    assert (_points(stale), stale.score) == ({CRITICALITY: 22.5, BREADTH: 7.5, REDUNDANCY: 10, DATA_QUALITY: 9}, 49)


def test_criticality_of_impacted_services_raises_risk(scenario: Scenario) -> None:
    svc = scenario.service
    payroll = scenario.change("reboot hr-host", ["hr-host"], START, hours=1)
    low = svc.plan(payroll).risk
    assert low.factor(CRITICALITY).detail == "hr-app (unknown, down): 5; payroll (low, down): 2"
    s: dict[str, Any] = {"source": "sample", "scope": "base"}
    # A later observation by the same source (at the same instant, the value itself would break the tie).
    scenario.h.clock.advance(60_000)
    scenario.h.run([obs("business_service", {"service_id": "svc-payroll"}, {"criticality": "high"},
                        at=scenario.h.clock.now, **s)], complete=False, **s)
    high = svc.plan(payroll).risk
    assert high.factor(CRITICALITY).points == 5 + 25
    # Breadth 2 CIs x 0.5 + 2 services x 3; web-pool's margin 0: 10.
    assert (_points(low), low.score) == ({CRITICALITY: 7, BREADTH: 7, REDUNDANCY: 10}, 24)
    assert (_points(high), high.score) == ({CRITICALITY: 30, BREADTH: 7, REDUNDANCY: 10}, 47)


def test_breadth_and_redundancy_are_measured_from_the_impact(scenario: Scenario) -> None:
    svc = scenario.service
    one = svc.plan(scenario.change("patch i-web1", ["i-web1"], START)).risk
    assert one.factor(REDUNDANCY).detail == "no margin left: web-pool"
    two = svc.plan(scenario.change("patch i-web1 and orders-host", ["i-web1", "orders-host"], START + 5 * HOUR)).risk
    assert (one.factor(BREADTH).value, two.factor(BREADTH).value) == (3, 4)
    assert (_points(one), one.score) == ({CRITICALITY: 22.5, BREADTH: 7.5, REDUNDANCY: 10}, 40)
    # Two groups with no margin left: 2 x 10 (the cap, 20); breadth 4 x 0.5 + 3 x 3.
    assert (_points(two), two.score) == ({CRITICALITY: 47.5, BREADTH: 11, REDUNDANCY: 20}, 78.5)


# -- property: adding any risky fact never lowers the score ----------------------------------------
_names = st.lists(st.text(min_size=1, max_size=5), max_size=6).map(tuple)
_inputs = st.builds(
    RiskInputs,
    action=st.sampled_from(list(ChangeAction)),
    impacted_beyond_change=st.integers(0, 200),
    services=st.lists(st.builds(ServiceRisk, name=st.just("s"), grade=st.sampled_from(["down", "degraded"]),
                                criticality=st.sampled_from([None, "low", "medium", "high", "critical", "odd"])),
                      max_size=5).map(tuple),
    margins=st.lists(st.builds(MarginRisk, name=st.just("m"), margin=st.integers(0, 3)), max_size=5).map(tuple),
    failed_changes=_names, stale=_names, low_confidence=_names, conflicts=_names, blackouts=_names,
)


@settings(max_examples=100, deadline=None)
@given(_inputs, st.sampled_from(["failed_changes", "stale", "low_confidence", "conflicts", "blackouts"]))
def test_one_more_risky_fact_never_lowers_the_score(inputs: RiskInputs, field: str) -> None:
    rules = RiskRules()
    one_more: dict[str, Any] = {field: (*getattr(inputs, field), "one more")}
    more = replace(inputs, **one_more)
    before, after = score(inputs, rules), score(more, rules)
    assert after.score >= before.score
    assert 0 <= before.score <= rules.max_score
