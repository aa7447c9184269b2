"""Risk scoring of a change plan: documented, configurable rules and a pure scoring function.

The score is the sum of the discountable factors' points (each capped) times the
action's multiplier, plus the blackout and conflict points (never discounted: a
gentle action inside a freeze is still inside the freeze), capped at
``max_score``. Floors: a blackout violation makes the change at least ``medium``;
an impact cut short by the node or depth budget scores ``max_score`` (what lies
beyond the budget is unknown, and knowing less must never score lower). Every factor is reported with the
value it measured and the points it added, so a CAB sees why. The rules are a
pydantic model: defaults here, overrides from a YAML file (``load_risk_rules``).
docs/change-planning.md documents each factor and the direction it moves the score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from cmdb.changes.errors import InvalidChange
from cmdb.changes.model import ChangeAction
from cmdb.changes.plan import RiskAssessment, RiskFactor

CRITICALITY = "criticality"
BREADTH = "breadth"
REDUNDANCY = "redundancy_margin"
FAILED_CHANGES = "recent_failed_changes"
DATA_QUALITY = "data_quality"
CONFLICTS = "conflicts"
BLACKOUT = "blackout"

FACTOR_NAMES = (CRITICALITY, BREADTH, REDUNDANCY, FAILED_CHANGES, DATA_QUALITY, CONFLICTS, BLACKOUT)
#: Factors the action's multiplier never discounts (a restart inside a blackout is inside the blackout).
UNDISCOUNTED = frozenset({CONFLICTS, BLACKOUT})


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CriticalityRule(_Rule):
    """Points per impacted service by its ``criticality`` attribute; degraded services count a fraction."""

    levels: dict[str, float] = Field(default_factory=lambda: {"critical": 40.0, "high": 25.0, "medium": 10.0,
                                                              "low": 2.0})
    unknown: float = Field(default=5.0, ge=0)  # a service with no (or an unknown) criticality
    degraded_factor: float = Field(default=0.5, ge=0, le=1)
    cap: float = Field(default=50.0, ge=0)


class BreadthRule(_Rule):
    """Points per impacted CI (beyond the changed ones) and per impacted service."""

    per_ci: float = Field(default=0.5, ge=0)
    per_service: float = Field(default=3.0, ge=0)
    cap: float = Field(default=20.0, ge=0)


class RedundancyRule(_Rule):
    """Points per CI left with no margin (margin 0, a group fully down, a changed single point of failure)
    or a thin one (margin 1)."""

    no_margin: float = Field(default=10.0, ge=0)
    thin_margin: float = Field(default=4.0, ge=0)
    cap: float = Field(default=20.0, ge=0)


class FailedChangesRule(_Rule):
    """Points per failed change on the same CIs that failed within ``lookback_days`` before this one starts.

    When it failed: the actual end of its post-implementation review, else when it was closed."""

    lookback_days: float = Field(default=90.0, gt=0)
    per_change: float = Field(default=10.0, ge=0)
    cap: float = Field(default=20.0, ge=0)


class DataQualityRule(_Rule):
    """Points per weak fact on an impact path: a stale CI, an old or a low-confidence relationship."""

    low_confidence_below: float = Field(default=0.8, ge=0, le=1)  # traffic/inferred edges under this
    stale_after_days: float = Field(default=14.0, gt=0)  # a relationship not seen for this long is stale
    per_stale: float = Field(default=3.0, ge=0)
    per_low_confidence: float = Field(default=3.0, ge=0)
    cap: float = Field(default=15.0, ge=0)


class ConflictRule(_Rule):
    per_conflict: float = Field(default=10.0, ge=0)
    cap: float = Field(default=20.0, ge=0)


class BlackoutRule(_Rule):
    per_violation: float = Field(default=25.0, ge=0)
    cap: float = Field(default=25.0, ge=0)


class RiskLevels(_Rule):
    """Lower bounds of each level (below ``medium``: low)."""

    medium: float = 25.0
    high: float = 50.0
    critical: float = 75.0


class RiskRules(_Rule):
    """Every knob of the risk score (see docs/change-planning.md)."""

    criticality: CriticalityRule = Field(default_factory=CriticalityRule)
    breadth: BreadthRule = Field(default_factory=BreadthRule)
    redundancy: RedundancyRule = Field(default_factory=RedundancyRule)
    failed_changes: FailedChangesRule = Field(default_factory=FailedChangesRule)
    data_quality: DataQualityRule = Field(default_factory=DataQualityRule)
    conflicts: ConflictRule = Field(default_factory=ConflictRule)
    blackout: BlackoutRule = Field(default_factory=BlackoutRule)
    action_multipliers: dict[ChangeAction, float] = Field(default_factory=lambda: {
        ChangeAction.OUTAGE: 1.0, ChangeAction.DECOMMISSION: 1.25, ChangeAction.MODIFY: 0.9,
        ChangeAction.RESTART: 0.75,
    })
    levels: RiskLevels = Field(default_factory=RiskLevels)
    max_score: float = Field(default=100.0, gt=0)


def load_risk_rules(path: str | Path | None = None) -> RiskRules:
    """The rules in the YAML file at ``path`` (partial: defaults fill the rest), or the defaults."""
    if path is None:
        return RiskRules()
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidChange("risk_rules", f"cannot read {path}: {exc}") from exc
    return RiskRules.model_validate(raw)


@dataclass(frozen=True, slots=True)
class ServiceRisk:
    name: str
    grade: str
    criticality: str | None


@dataclass(frozen=True, slots=True)
class MarginRisk:
    name: str
    margin: int


@dataclass(frozen=True, slots=True)
class RiskInputs:
    """What the planner measured; ``score`` turns it into points with the rules."""

    action: ChangeAction
    impacted_beyond_change: int  # impacted CIs that are not the changed CIs themselves
    services: tuple[ServiceRisk, ...] = ()
    margins: tuple[MarginRisk, ...] = ()  # impacted CIs graded through a redundancy group (margin < 0: down)
    single_points: tuple[str, ...] = ()  # changed CIs that alone take an impacted service down
    failed_changes: tuple[str, ...] = ()  # titles of recent failed changes on the same CIs
    stale: tuple[str, ...] = field(default=())  # descriptions of stale facts on impact paths
    low_confidence: tuple[str, ...] = field(default=())  # descriptions of weak relationships on paths
    conflicts: tuple[str, ...] = ()  # titles of conflicting changes
    blackouts: tuple[str, ...] = ()  # labels of violated blackout windows
    truncated: tuple[str, ...] = ()  # why the impact was cut short (empty: it was not)


def _names(items: tuple[str, ...], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def score(inputs: RiskInputs, rules: RiskRules) -> RiskAssessment:
    """Score a plan's measured inputs: one factor per rule, each shown with its points."""
    factors: list[RiskFactor] = []

    crit = rules.criticality
    raw = 0.0
    parts: list[str] = []
    for svc in inputs.services:
        level = (svc.criticality or "").lower()
        base = crit.levels.get(level, crit.unknown)
        pts = base if svc.grade == "down" else base * crit.degraded_factor
        raw += pts
        parts.append(f"{svc.name} ({level or 'unknown'}, {svc.grade}): {pts:g}")
    factors.append(RiskFactor(name=CRITICALITY, value=float(len(inputs.services)), points=min(raw, crit.cap),
                              detail="; ".join(parts) or "no application or business service impacted"))

    br = rules.breadth
    raw = inputs.impacted_beyond_change * br.per_ci + len(inputs.services) * br.per_service
    factors.append(RiskFactor(
        name=BREADTH, value=float(inputs.impacted_beyond_change), points=min(raw, br.cap),
        detail=f"{inputs.impacted_beyond_change} CI(s) impacted beyond the changed ones, "
               f"{len(inputs.services)} service(s)"))

    red = rules.redundancy
    # A group already down (margin < 0) has no margin either: it must weigh at least what
    # margin 0 weighs, or taking more members down would lower the score.
    none_left = tuple(m.name for m in inputs.margins if m.margin == 0)
    gone = tuple(m.name for m in inputs.margins if m.margin < 0)
    thin = tuple(m.name for m in inputs.margins if m.margin == 1)
    spof = inputs.single_points
    raw = (len(none_left) + len(gone) + len(spof)) * red.no_margin + len(thin) * red.thin_margin
    detail = []
    if none_left:
        detail.append(f"no margin left: {_names(none_left)}")
    if gone:
        detail.append(f"redundancy group down: {_names(gone)}")
    if spof:
        detail.append(f"single point of failure changed: {_names(spof)}")
    if thin:
        detail.append(f"one failure from down: {_names(thin)}")
    factors.append(RiskFactor(name=REDUNDANCY, value=float(len(none_left) + len(gone) + len(spof) + len(thin)),
                              points=min(raw, red.cap),
                              detail="; ".join(detail) or "redundancy margins unaffected or ample"))

    fc = rules.failed_changes
    factors.append(RiskFactor(
        name=FAILED_CHANGES, value=float(len(inputs.failed_changes)),
        points=min(len(inputs.failed_changes) * fc.per_change, fc.cap),
        detail=(f"failed in the last {fc.lookback_days:g} days: {_names(inputs.failed_changes)}"
                if inputs.failed_changes else "no recent failed change on these CIs")))

    dq = rules.data_quality
    raw = len(inputs.stale) * dq.per_stale + len(inputs.low_confidence) * dq.per_low_confidence
    detail = []
    if inputs.stale:
        detail.append(f"stale: {_names(inputs.stale)}")
    if inputs.low_confidence:
        detail.append(f"low confidence: {_names(inputs.low_confidence)}")
    factors.append(RiskFactor(name=DATA_QUALITY, value=float(len(inputs.stale) + len(inputs.low_confidence)),
                              points=min(raw, dq.cap),
                              detail="; ".join(detail) or "impact paths rest on fresh, confident data"))

    cf = rules.conflicts
    factors.append(RiskFactor(
        name=CONFLICTS, value=float(len(inputs.conflicts)),
        points=min(len(inputs.conflicts) * cf.per_conflict, cf.cap),
        detail=f"overlapping changes sharing impact: {_names(inputs.conflicts)}" if inputs.conflicts
        else "no conflicting change"))

    bo = rules.blackout
    factors.append(RiskFactor(
        name=BLACKOUT, value=float(len(inputs.blackouts)),
        points=min(len(inputs.blackouts) * bo.per_violation, bo.cap),
        detail=f"inside blackout: {_names(inputs.blackouts)}" if inputs.blackouts else "no blackout violated"))

    multiplier = rules.action_multipliers.get(inputs.action, 1.0)
    discounted = sum(f.points for f in factors if f.name not in UNDISCOUNTED)
    fixed = sum(f.points for f in factors if f.name in UNDISCOUNTED)
    total = round(min(rules.max_score, multiplier * discounted + fixed), 2)
    lv = rules.levels
    floors: list[str] = []
    if inputs.blackouts and total < lv.medium:
        total = lv.medium
        floors.append(f"inside a blackout: at least medium ({lv.medium:g})")
    if inputs.truncated:
        total = rules.max_score
        floors.append(f"impact cut short ({', '.join(inputs.truncated)}): what lies beyond is unknown, "
                      f"scored at the maximum ({rules.max_score:g})")
    return RiskAssessment(score=total, level=level_of(total, rules), factors=tuple(factors), multiplier=multiplier,
                          floors=tuple(floors))


def level_of(total: float, rules: RiskRules) -> str:
    """The level a score falls in, by the rules' lower bounds."""
    lv = rules.levels
    return "critical" if total >= lv.critical else "high" if total >= lv.high else (
        "medium" if total >= lv.medium else "low")
