"""The change area's typed errors, mutation result unions and inputs (`schema.py` holds the resolvers)."""

from __future__ import annotations

from typing import Annotated, Optional

import strawberry

from graph_api.changes.types import (
    Change,
    ChangeAction,
    ChangeModelKind,
    ChangePlan,
    ChangeSnapshot,
    ChangeState,
    ChangeWindow,
)
from graph_api.errors import NotConfiguredError, NotFoundError, ValidationError
from graph_api.scalars import Long


@strawberry.type(description="The change's lifecycle does not allow this step (e.g. approving a draft).")
class InvalidTransitionError:
    message: str
    current: ChangeState
    wanted: ChangeState


@strawberry.type(description="The change moved on while you decided (another approval won, or a new plan "
                             "version): read it again and retry.")
class ChangeConflictError:
    message: str
    expected: int
    actual: int


@strawberry.type(description="You may not approve this change (separation of duties, role, a second vote).")
class ApprovalRefusedError:
    message: str
    reason: str


@strawberry.type(description="The change may not start now (outside its window, or its approval was voided).")
class CannotStartError:
    message: str
    reason: str


@strawberry.type(description="Your approval was recorded; the plan's risk level needs more before it is approved.")
class ApprovalRecorded:
    change: Change
    level: str
    missing: str


ChangeResult = Annotated[Change | NotFoundError | ValidationError | InvalidTransitionError | ChangeConflictError
                         | CannotStartError | NotConfiguredError, strawberry.union("ChangeResult")]
PlanResult = Annotated[ChangePlan | NotFoundError | ValidationError | InvalidTransitionError | ChangeConflictError
                       | NotConfiguredError, strawberry.union("PlanChangeResult")]
ApproveResult = Annotated[ChangeSnapshot | ApprovalRecorded | NotFoundError | ValidationError
                          | InvalidTransitionError | ChangeConflictError | ApprovalRefusedError
                          | NotConfiguredError, strawberry.union("ApproveChangeResult")]
@strawberry.type(description="The window was withdrawn.")
class WindowRemoved:
    uid: strawberry.ID


RemoveWindowResult = Annotated[WindowRemoved | NotFoundError | NotConfiguredError,
                               strawberry.union("RemoveChangeWindowResult")]
WindowResult = Annotated[ChangeWindow | NotFoundError | ValidationError | NotConfiguredError,
                         strawberry.union("ChangeWindowResult")]


@strawberry.input(description="A change request to record as a draft; its requester is the caller. The window: "
                              "`startsAt`/`endsAt` as ISO 8601 with an offset, or `start`/`end` in epoch ms.")
class CreateChangeInput:
    title: str
    cis: list[strawberry.ID]
    action: ChangeAction
    start: Optional[Long] = None  # noqa: UP045
    end: Optional[Long] = None  # noqa: UP045
    starts_at: Optional[str] = None  # noqa: UP045
    ends_at: Optional[str] = None  # noqa: UP045
    description: str = ""
    model: ChangeModelKind = ChangeModelKind.NORMAL
    template: Optional[str] = None  # noqa: UP045
    implementation_plan: str = ""
    backout_plan: str = ""
    test_plan: str = ""


@strawberry.input(description="Post-implementation review: actual times (ISO 8601 with an offset), incidents.")
class ReviewInput:
    actual_start: str
    actual_end: str
    incidents: list[str] = strawberry.field(default_factory=list)
    notes: str = ""


@strawberry.input(description="Which changes to list; every given criterion must hold.")
class ChangeFilterInput:
    states: Optional[list[ChangeState]] = None  # noqa: UP045
    ci: Optional[strawberry.ID] = None  # noqa: UP045
    overlapping_start: Optional[Long] = None  # noqa: UP045
    overlapping_end: Optional[Long] = None  # noqa: UP045
    requester: Optional[str] = None  # noqa: UP045
