"""What planning a change answers: typed, serialisable plan objects.

A :class:`ChangePlan` is a thin, JSON-round-trippable projection of the impact
report plus what change planning adds (owners, conflicts, window findings, risk,
and the topology facts the drift check compares later).
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from cmdb.changes.model import ChangeAction, ChangeState, TimeWindow


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Hop(_Frozen):
    """One CI on an explanation path and the stored relationship that led to it."""

    uid: str
    name: str
    ci_class: str
    rel_type: str | None = None
    rel_source: str | None = None
    rel_target: str | None = None


class PlannedImpact(_Frozen):
    """An impacted CI with its grade, depth, explanation path and redundancy margin left.

    ``margin``: for a CI graded through a redundancy group, how many more inputs may
    fail before it goes down (``up - required``; negative when down); None otherwise.
    """

    uid: str
    name: str
    ci_class: str
    grade: str  # "down" | "degraded"
    depth: int
    explanation: str
    path: tuple[Hop, ...] = ()
    margin: int | None = None


class ServiceNotice(_Frozen):
    """An impacted application or business service, its owner to notify and its criticality."""

    uid: str
    name: str
    ci_class: str
    grade: str
    owner: str | None = None
    criticality: str | None = None


class Conflict(_Frozen):
    """Another open change whose window overlaps and whose impact shares CIs or services."""

    change_uid: str
    title: str
    state: ChangeState
    window: TimeWindow
    shared_cis: tuple[str, ...]  # uids impacted by both changes (services included)
    shared_services: tuple[str, ...]  # the services among them


class FindingKind(str, Enum):
    BLACKOUT = "blackout"  # the change window overlaps a blackout on an impacted CI or service
    OUTSIDE_MAINTENANCE = "outside_maintenance"  # a changed CI declares maintenance windows; none holds the change


class WindowFinding(_Frozen):
    kind: FindingKind
    window_uid: str
    label: str
    window: TimeWindow
    subjects: tuple[str, ...]  # the impacted (or changed) CIs the window is declared on


class RiskFactor(_Frozen):
    """One documented factor of the risk score: the measured value and the points it adds."""

    name: str
    value: float
    points: float
    detail: str


class RiskAssessment(_Frozen):
    score: float  # 0..max_score
    level: str  # low | medium | high | critical (thresholds in the rules)
    factors: tuple[RiskFactor, ...]
    multiplier: float = 1.0  # the action's weight applied to the factors' sum

    def factor(self, name: str) -> RiskFactor:
        """The factor called ``name`` (KeyError when the rules do not define it)."""
        for item in self.factors:
            if item.name == name:
                return item
        raise KeyError(name)


class EdgeFact(_Frozen):
    """A stored relationship around the impacted CIs, as it was when the plan was computed."""

    uid: str
    type: str
    source: str
    target: str
    source_name: str
    target_name: str
    status: str
    method: str
    confidence: float
    first_seen: int = 0


class CIFact(_Frozen):
    """The attributes of an impacted CI that decide impact and risk."""

    uid: str
    name: str
    ci_class: str
    status: str
    criticality: str | None = None
    min_up: str | None = None
    owner: str | None = None


class TopologyFacts(_Frozen):
    """The neighbourhood of the impact: every relationship touching an impacted CI, and those CIs."""

    relationships: tuple[EdgeFact, ...] = ()
    cis: tuple[CIFact, ...] = ()


class ChangePlan(_Frozen):
    """The answer to "what does this change touch, with whom to talk, and how risky is it"."""

    change_uid: str
    title: str
    action: ChangeAction
    window: TimeWindow
    requester: str
    cis: tuple[str, ...]
    computed_at: int
    impacted: tuple[PlannedImpact, ...]
    truncated: bool
    services: tuple[ServiceNotice, ...]
    owners: tuple[str, ...]
    conflicts: tuple[Conflict, ...]
    findings: tuple[WindowFinding, ...]
    risk: RiskAssessment
    topology: TopologyFacts = Field(default_factory=TopologyFacts)

    @property
    def blackout_violations(self) -> tuple[WindowFinding, ...]:
        """The findings that put the change inside a blackout."""
        return tuple(f for f in self.findings if f.kind is FindingKind.BLACKOUT)

    def impacted_by_uid(self) -> dict[str, PlannedImpact]:
        return {item.uid: item for item in self.impacted}


class Snapshot(_Frozen):
    """The plan kept with a change when it was approved (what drift compares against)."""

    change_uid: str
    approved_at: int
    approved_by: str
    plan: ChangePlan
