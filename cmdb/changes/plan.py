"""What planning a change answers: typed, serialisable plan objects.

A :class:`ChangePlan` is a thin, JSON-round-trippable projection of the impact
report plus what change planning adds (owners, conflicts, window findings, risk,
and the topology facts the drift check compares later).
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from cmdb.changes.model import Approval, ChangeAction, ChangeState, TimeWindow


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
    group_up: int | None = None  # the redundancy arithmetic that graded it: up of size inputs, required needed
    group_size: int | None = None
    group_required: int | None = None

    @property
    def redundant_group(self) -> bool:
        """Graded through a group that tolerates a loss (size > required), not one needing every input."""
        return self.group_size is not None and self.group_required is not None \
            and self.group_size > self.group_required


class ServiceNotice(_Frozen):
    """An impacted application or business service, its owner to notify and its criticality."""

    uid: str
    name: str
    ci_class: str
    grade: str
    owner: str | None = None
    criticality: str | None = None


class SharedImpact(_Frozen):
    """A CI both changes impact, with the grade each gives it."""

    uid: str
    name: str
    ci_class: str
    ours: str  # its grade under this change
    theirs: str  # its grade under the other change
    service: bool = False


class Conflict(_Frozen):
    """Another open change whose window overlaps and whose impact shares CIs or services.

    ``reason`` says in words which shared service or CI makes it a conflict and how
    each change grades it; ``shared`` holds the same per CI.
    """

    change_uid: str
    title: str
    state: ChangeState
    window: TimeWindow
    shared_cis: tuple[str, ...]  # uids impacted by both changes (services included)
    shared_services: tuple[str, ...]  # the services among them
    shared: tuple[SharedImpact, ...] = ()
    reason: str = ""


class CombinedItem(_Frozen):
    """A CI impacted by the slot: its grade when the overlapping changes run together, and alone."""

    uid: str
    name: str
    ci_class: str
    grade: str  # together
    alone: str | None  # the worst grade any one of the changes gives it on its own (None: none does)
    explanation: str = ""
    service: bool = False


class CombinedImpact(_Frozen):
    """What the slot does together: the impact of the union of the CIs of every overlapping open change.

    ``worse`` lists the CIs that fare worse together than under any one change alone
    (two "degraded" restarts of a pool's members that take it down together).
    """

    changes: tuple[str, ...]  # this change first, then the overlapping ones
    cis: tuple[str, ...]  # the union of their CIs
    impacted: tuple[CombinedItem, ...]
    worse: tuple[CombinedItem, ...]
    truncated: bool = False


class SinglePoint(_Frozen):
    """An impacted CI whose loss alone takes an impacted service down."""

    uid: str
    name: str
    ci_class: str
    services: tuple[str, ...]  # uids of the services it alone takes down
    service_names: tuple[str, ...]
    changed: bool  # one of the change's own CIs


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
    multiplier: float = 1.0  # the action's weight applied to the discountable factors' sum
    floors: tuple[str, ...] = ()  # floors that raised the score (blackout, truncated impact), in words

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
    version: int = 0  # the plan's version for its change (1, 2, ...); approvals name it
    truncated_by: tuple[str, ...] = ()  # max_nodes / max_depth
    uncertain: bool = False  # the plan knows less than it should (truncated, stale or weak evidence)
    uncertainty: tuple[str, ...] = ()  # why, in words
    single_points_of_failure: tuple[SinglePoint, ...] = ()
    combined: CombinedImpact | None = None  # None: no other open change overlaps the window

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
    approved_by: str  # the approvers, comma-separated (``approvals`` has each with its time)
    plan: ChangePlan
    approvals: tuple[Approval, ...] = ()
