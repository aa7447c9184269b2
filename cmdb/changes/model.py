"""Change requests and the windows declared on CIs: first-class, typed records.

A change is a set of CIs, an action and a planned window, moved through a small
lifecycle (``TRANSITIONS``). Maintenance and blackout windows are declared on CIs
or services; planning checks a change's window against them. Times are epoch
milliseconds.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cmdb.changes.errors import InvalidTransition
from cmdb.model import new_uid


class ChangeAction(str, Enum):
    """What the change does to its CIs (every action is planned as if the CIs go down)."""

    OUTAGE = "outage"
    RESTART = "restart"
    MODIFY = "modify"
    DECOMMISSION = "decommission"


class ChangeState(str, Enum):
    DRAFT = "draft"
    PLANNED = "planned"
    APPROVED = "approved"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class ChangeOutcome(str, Enum):
    """How a finished change went; failed changes raise the risk of later ones on the same CIs."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ChangeModelKind(str, Enum):
    """ITIL 4 change models: pre-approved templates, CAB-routed changes, and urgent fixes."""

    STANDARD = "standard"
    NORMAL = "normal"
    EMERGENCY = "emergency"


class WindowKind(str, Enum):
    MAINTENANCE = "maintenance"  # changes to these CIs are expected inside such windows
    BLACKOUT = "blackout"  # no change may touch these CIs (or what they impact) inside it


#: The lifecycle: state -> the states it may move to. Planning again keeps a planned
#: change planned; an approved change keeps its snapshot until it is done or
#: cancelled (``drift`` compares against it).
TRANSITIONS: dict[ChangeState, frozenset[ChangeState]] = {
    ChangeState.DRAFT: frozenset({ChangeState.PLANNED, ChangeState.CANCELLED}),
    ChangeState.PLANNED: frozenset({ChangeState.PLANNED, ChangeState.APPROVED, ChangeState.CANCELLED}),
    # back to planned: drift, a move or a blackout voided the approval (re-approval needed)
    ChangeState.APPROVED: frozenset({ChangeState.IN_PROGRESS, ChangeState.CANCELLED, ChangeState.PLANNED}),
    ChangeState.IN_PROGRESS: frozenset({ChangeState.DONE}),
    ChangeState.DONE: frozenset(),
    ChangeState.CANCELLED: frozenset(),
}

#: States of changes that still compete for their window (conflict candidates by default).
OPEN_STATES = (ChangeState.PLANNED, ChangeState.APPROVED, ChangeState.IN_PROGRESS)


#: 9999-12-31T23:59:59.999Z: the last instant a calendar (and every export) can show.
MAX_MS = 253_402_300_799_999


class TimeWindow(BaseModel):
    """A half-open interval ``[start, end)`` in epoch milliseconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int = Field(ge=0, le=MAX_MS)
    end: int = Field(ge=0, le=MAX_MS)

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.end <= self.start:
            raise ValueError("window end must be after its start")
        return self

    def overlaps(self, other: TimeWindow) -> bool:
        """True when the two windows share at least one millisecond (touching ends do not)."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: TimeWindow) -> bool:
        """True when ``other`` lies entirely inside this window."""
        return self.start <= other.start and other.end <= self.end


class Approval(BaseModel):
    """One approver's approval of one plan version (``groups``: the groups the approver acted for)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    approver: str = Field(min_length=1)
    at: int
    plan_version: int
    groups: tuple[str, ...] = ()


class Review(BaseModel):
    """Post-implementation review: what really happened (it feeds the failure history)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actual_start: int = Field(ge=0)
    actual_end: int = Field(ge=0)
    outcome: ChangeOutcome
    incidents: tuple[str, ...] = ()  # incident references or short texts
    notes: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Review:
        if self.actual_end < self.actual_start:
            raise ValueError("actual end must not be before actual start")
        return self


class Change(BaseModel):
    """A change request: CIs touched, action, planned window, requester and lifecycle state.

    ``revision`` grows with every write of the record: writes are compare-and-set on
    it, so two approvers racing on one version cannot both win. ``plan_version`` is
    the version of the latest plan; an approval names the plan version it approves.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    uid: str = Field(default_factory=new_uid)
    title: str = Field(min_length=1)
    cis: tuple[str, ...] = Field(min_length=1)
    action: ChangeAction
    window: TimeWindow
    requester: str = Field(min_length=1)
    state: ChangeState = ChangeState.DRAFT
    outcome: ChangeOutcome | None = None
    description: str = ""
    created_at: int = 0
    updated_at: int = 0
    model: ChangeModelKind = ChangeModelKind.NORMAL
    template: str | None = None  # the standard change template it instantiates
    implementation_plan: str = ""
    backout_plan: str = ""
    test_plan: str = ""
    revision: int = 0
    plan_version: int = 0
    approvals: tuple[Approval, ...] = ()
    reapproval_reason: str | None = None  # set when drift, a move or a blackout voided the approval
    recorded_after_fact: bool = False  # an emergency change recorded once its window had passed
    review: Review | None = None
    completed_at: int | None = None

    @property
    def failed_at(self) -> int | None:
        """When the change failed: its reviewed actual end, else when it was closed; None unless it failed."""
        if self.outcome is not ChangeOutcome.FAILED:
            return None
        if self.review is not None:
            return self.review.actual_end
        return self.completed_at if self.completed_at is not None else self.updated_at

    def moved_to(self, state: ChangeState, at: int, outcome: ChangeOutcome | None = None) -> Change:
        """This change in ``state``; raises InvalidTransition when the lifecycle forbids it."""
        if state not in TRANSITIONS[self.state]:
            raise InvalidTransition(self.uid, self.state.value, state.value)
        update: dict[str, object] = {"state": state, "updated_at": at}
        if outcome is not None:
            update["outcome"] = outcome
        if state is ChangeState.DONE:
            update["completed_at"] = at
        return self.model_copy(update=update)


class ChangeWindow(BaseModel):
    """A maintenance or blackout window declared on CIs or services (``subjects``: their uids)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uid: str = Field(default_factory=new_uid)
    kind: WindowKind
    label: str = Field(min_length=1)
    subjects: tuple[str, ...] = Field(min_length=1)
    window: TimeWindow


class ChangeFilter(BaseModel):
    """What ``changes(...)`` lists: every given criterion must hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    states: tuple[ChangeState, ...] = ()
    ci: str | None = None  # changes touching this CI
    overlapping: TimeWindow | None = None  # changes whose window overlaps this one
    requester: str | None = None
    after: tuple[int, str] | None = None  # keyset cursor: (window start, uid) to start after
    limit: int = Field(default=100, ge=1, le=1001)
