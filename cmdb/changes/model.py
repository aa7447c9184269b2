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


class WindowKind(str, Enum):
    MAINTENANCE = "maintenance"  # changes to these CIs are expected inside such windows
    BLACKOUT = "blackout"  # no change may touch these CIs (or what they impact) inside it


#: The lifecycle: state -> the states it may move to. Planning again keeps a planned
#: change planned; an approved change keeps its snapshot until it is done or
#: cancelled (``drift`` compares against it).
TRANSITIONS: dict[ChangeState, frozenset[ChangeState]] = {
    ChangeState.DRAFT: frozenset({ChangeState.PLANNED, ChangeState.CANCELLED}),
    ChangeState.PLANNED: frozenset({ChangeState.PLANNED, ChangeState.APPROVED, ChangeState.CANCELLED}),
    ChangeState.APPROVED: frozenset({ChangeState.IN_PROGRESS, ChangeState.CANCELLED}),
    ChangeState.IN_PROGRESS: frozenset({ChangeState.DONE}),
    ChangeState.DONE: frozenset(),
    ChangeState.CANCELLED: frozenset(),
}

#: States of changes that still compete for their window (conflict candidates by default).
OPEN_STATES = (ChangeState.PLANNED, ChangeState.APPROVED, ChangeState.IN_PROGRESS)


class TimeWindow(BaseModel):
    """A half-open interval ``[start, end)`` in epoch milliseconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int = Field(ge=0)
    end: int = Field(ge=0)

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


class Change(BaseModel):
    """A change request: CIs touched, action, planned window, requester and lifecycle state."""

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

    def moved_to(self, state: ChangeState, at: int, outcome: ChangeOutcome | None = None) -> Change:
        """This change in ``state``; raises InvalidTransition when the lifecycle forbids it."""
        if state not in TRANSITIONS[self.state]:
            raise InvalidTransition(self.uid, self.state.value, state.value)
        update: dict[str, object] = {"state": state, "updated_at": at}
        if outcome is not None:
            update["outcome"] = outcome
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
