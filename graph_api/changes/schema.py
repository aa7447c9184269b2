"""Queries ``changes``, ``change``, ``changeDrift``, ``changeWindows``; mutations ``createChange``,
``planChange``, ``approveChange``, ``startChange``, ``completeChange``, ``cancelChange``, ``declareChangeWindow``.

Resolvers call ``cmdb.changes.ChangeService`` off the event loop; expected failures
are typed (query errors with ``extensions.code``, mutation result unions).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Any, Optional, TypeVar

import strawberry
from strawberry.types import Info

from cmdb.changes import (
    ChangeError,
    ChangeFilter,
    ChangeNotFound,
    ChangeService,
    InvalidChange,
    InvalidTransition,
    NewChange,
    NoSnapshot,
    TimeWindow,
)
from cmdb.changes.wiring import build_change_service
from graph_api.auth import CanEdit, CanView
from graph_api.blocking import run_blocking
from graph_api.changes.types import (
    Change,
    ChangeAction,
    ChangeOutcome,
    ChangePlan,
    ChangeSnapshot,
    ChangeState,
    ChangeWindow,
    DriftReport,
    WindowKind,
)
from graph_api.context import ApiContext
from graph_api.errors import DomainError, NotConfiguredError, NotFoundError, ValidationError
from graph_api.scalars import Long
from graph_api.services import AppServices

T = TypeVar("T")


@strawberry.type(description="The change's lifecycle does not allow this step (e.g. approving a draft).")
class InvalidTransitionError:
    message: str
    current: ChangeState
    wanted: ChangeState


ChangeResult = Annotated[Change | NotFoundError | ValidationError | InvalidTransitionError | NotConfiguredError,
                         strawberry.union("ChangeResult")]
PlanResult = Annotated[ChangePlan | NotFoundError | ValidationError | InvalidTransitionError | NotConfiguredError,
                       strawberry.union("PlanChangeResult")]
ApproveResult = Annotated[ChangeSnapshot | NotFoundError | ValidationError | InvalidTransitionError
                          | NotConfiguredError, strawberry.union("ApproveChangeResult")]
@strawberry.type(description="The window was withdrawn.")
class WindowRemoved:
    uid: strawberry.ID


RemoveWindowResult = Annotated[WindowRemoved | NotFoundError | NotConfiguredError,
                               strawberry.union("RemoveChangeWindowResult")]
WindowResult = Annotated[ChangeWindow | NotFoundError | ValidationError | NotConfiguredError,
                         strawberry.union("ChangeWindowResult")]


@strawberry.input(description="A change request to record as a draft.")
class CreateChangeInput:
    title: str
    cis: list[strawberry.ID]
    action: ChangeAction
    start: Long
    end: Long
    description: str = ""
    requester: Optional[str] = None  # noqa: UP045  (default: the caller's token name)


@strawberry.input(description="Which changes to list; every given criterion must hold.")
class ChangeFilterInput:
    states: Optional[list[ChangeState]] = None  # noqa: UP045
    ci: Optional[strawberry.ID] = None  # noqa: UP045
    overlapping_start: Optional[Long] = None  # noqa: UP045
    overlapping_end: Optional[Long] = None  # noqa: UP045
    requester: Optional[str] = None  # noqa: UP045


@strawberry.type
class ChangePageInfo:
    has_next_page: bool
    end_cursor: Optional[str]  # noqa: UP045


@strawberry.type
class ChangeEdge:
    cursor: str
    node: Change


@strawberry.type(description="A Relay connection of changes by window start; `first` is capped by the server.")
class ChangeConnection:
    edges: list[ChangeEdge]
    page_info: ChangePageInfo


# -- wiring ---------------------------------------------------------------------------------
_built: dict[int, tuple[AppServices, ChangeService]] = {}
_built_lock = threading.Lock()


def _service(info: Info[ApiContext, None]) -> ChangeService:
    """The app's ChangeService: ``services.changes`` when the app carries one, else built once per app.

    The per-app cache keeps the AppServices alive beside its service, so an id is never reused.
    """
    services = info.context.services
    given = getattr(services, "changes", None)
    if isinstance(given, ChangeService):
        return given
    if services.impact is None:
        raise _NotConfigured()
    with _built_lock:
        entry = _built.get(id(services))
        if entry is None or entry[0] is not services:
            entry = (services, build_change_service(services.store, services.schema, services.impact))
            _built[id(services)] = entry
        return entry[1]


class _NotConfigured(Exception):
    pass


def _cursor(change: Any) -> str:
    return f"{change.window.start}:{change.uid}"


def _after(cursor: str | None) -> tuple[int, str] | None:
    if not cursor:
        return None
    start, sep, uid = cursor.partition(":")
    if not sep or not start.isdigit() or not uid:
        raise DomainError("INVALID_ARGUMENT", "after is not a cursor of this connection", field="after")
    return int(start), uid


def _query_error(exc: Exception) -> Exception:
    if isinstance(exc, _NotConfigured):
        return DomainError("NOT_CONFIGURED", "change planning needs the impact engine (topology index)")
    if isinstance(exc, ChangeNotFound | NoSnapshot):
        return DomainError("NOT_FOUND", str(exc))
    if isinstance(exc, InvalidChange):
        return DomainError("INVALID_ARGUMENT", str(exc), field=exc.field)
    if isinstance(exc, ChangeError):
        return DomainError("INVALID_ARGUMENT", str(exc))
    return exc


async def _query(info: Info[ApiContext, None], fn: Callable[[ChangeService], T]) -> T:
    try:
        service = _service(info)
        return await run_blocking(fn, service)
    except Exception as exc:
        typed = _query_error(exc)
        if typed is exc:
            raise
        raise typed from exc


def _mutation_error(exc: Exception) -> Any:
    if isinstance(exc, _NotConfigured):
        return NotConfiguredError(message="change planning needs the impact engine (topology index)",
                                  capability="impact engine")
    if isinstance(exc, ChangeNotFound):
        return NotFoundError(message=str(exc), key=exc.uid)
    if isinstance(exc, InvalidTransition):
        return InvalidTransitionError(message=str(exc), current=ChangeState(exc.current),
                                      wanted=ChangeState(exc.wanted))
    if isinstance(exc, InvalidChange):
        return ValidationError(message=exc.message, field=exc.field)
    if isinstance(exc, ChangeError):
        return ValidationError(message=str(exc), field="uid")
    return None


async def _mutate(info: Info[ApiContext, None], fn: Callable[[ChangeService], T]) -> tuple[T | None, Any]:
    try:
        service = _service(info)
        return await run_blocking(fn, service), None
    except Exception as exc:
        typed = _mutation_error(exc)
        if typed is None:
            raise
        return None, typed


def _caller(info: Info[ApiContext, None]) -> str:
    principal = info.context.principal
    return principal.name if principal is not None else "unknown"


@strawberry.type
class ChangeQueries:
    @strawberry.field(description="Changes by window start, filtered.", permission_classes=[CanView])
    async def changes(self, info: Info[ApiContext, None], filter: Optional[ChangeFilterInput] = None,  # noqa: UP045
                      first: int = 50, after: Optional[str] = None) -> ChangeConnection:  # noqa: UP045
        cap = min(info.context.settings.page_cap, 1000)
        if not 0 <= first <= cap:
            raise DomainError("INVALID_ARGUMENT", f"first must be between 0 and {cap}", field="first")
        f = filter or ChangeFilterInput()
        overlapping = None
        if f.overlapping_start is not None or f.overlapping_end is not None:
            if f.overlapping_start is None or f.overlapping_end is None or f.overlapping_end <= f.overlapping_start:
                raise DomainError("INVALID_ARGUMENT", "give both overlappingStart < overlappingEnd",
                                  field="overlappingStart")
            overlapping = TimeWindow(start=f.overlapping_start, end=f.overlapping_end)
        query = ChangeFilter(states=tuple(f.states or ()), ci=str(f.ci) if f.ci else None, overlapping=overlapping,
                             requester=f.requester, after=_after(after), limit=first + 1)
        found = await _query(info, lambda s: s.changes(query)) if first else []
        page = found[:first]
        return ChangeConnection(
            edges=[ChangeEdge(cursor=_cursor(c), node=Change.of(c)) for c in page],
            page_info=ChangePageInfo(has_next_page=len(found) > first, end_cursor=_cursor(page[-1]) if page else None),
        )

    @strawberry.field(description="One change by uid (null if none).", permission_classes=[CanView])
    async def change(self, info: Info[ApiContext, None], uid: strawberry.ID) -> Optional[Change]:  # noqa: UP045
        def get(s: ChangeService) -> Any:
            return s.repository.get_change(str(uid))

        found = await _query(info, get)
        return Change.of(found) if found else None

    @strawberry.field(description="The latest plan of a change (null if never planned).", permission_classes=[CanView])
    async def change_plan(self, info: Info[ApiContext, None],
                          uid: strawberry.ID) -> Optional[ChangePlan]:  # noqa: UP045
        view = await _query(info, lambda s: s.show(str(uid)))
        return ChangePlan.of(view.plan) if view.plan else None

    @strawberry.field(description="Recompute an approved change's plan and report what changed since approval.",
                      permission_classes=[CanView])
    async def change_drift(self, info: Info[ApiContext, None], uid: strawberry.ID) -> DriftReport:
        return DriftReport.of(await _query(info, lambda s: s.drift(str(uid))))

    @strawberry.field(description="Declared maintenance and blackout windows.", permission_classes=[CanView])
    async def change_windows(self, info: Info[ApiContext, None]) -> list[ChangeWindow]:
        return [ChangeWindow.of(w) for w in await _query(info, lambda s: s.windows())]


@strawberry.type
class ChangeMutations:
    @strawberry.mutation(description="Record a draft change (requester: the caller unless given).",
                         permission_classes=[CanEdit])
    async def create_change(self, info: Info[ApiContext, None], input: CreateChangeInput) -> ChangeResult:
        new = NewChange(title=input.title, cis=tuple(str(u) for u in input.cis), action=input.action,
                        start=int(input.start), end=int(input.end), requester=input.requester or _caller(info),
                        description=input.description)
        result, error = await _mutate(info, lambda s: s.create(new))
        return error or Change.of(result)

    @strawberry.mutation(description="Plan a change: impact, services, owners, conflicts, windows, risk "
                                     "(a draft becomes planned).", permission_classes=[CanEdit])
    async def plan_change(self, info: Info[ApiContext, None], uid: strawberry.ID) -> PlanResult:
        result, error = await _mutate(info, lambda s: s.plan(str(uid)))
        return error or ChangePlan.of(result)

    @strawberry.mutation(description="Approve a planned change; its plan is snapshotted for `changeDrift`.",
                         permission_classes=[CanEdit])
    async def approve_change(self, info: Info[ApiContext, None], uid: strawberry.ID) -> ApproveResult:
        approver = _caller(info)
        result, error = await _mutate(info, lambda s: s.approve(str(uid), approver))
        return error or ChangeSnapshot.of(result)

    @strawberry.mutation(description="An approved change begins.", permission_classes=[CanEdit])
    async def start_change(self, info: Info[ApiContext, None], uid: strawberry.ID) -> ChangeResult:
        result, error = await _mutate(info, lambda s: s.start(str(uid)))
        return error or Change.of(result)

    @strawberry.mutation(description="A running change ends with its outcome.", permission_classes=[CanEdit])
    async def complete_change(self, info: Info[ApiContext, None], uid: strawberry.ID,
                              outcome: ChangeOutcome) -> ChangeResult:
        result, error = await _mutate(info, lambda s: s.complete(str(uid), outcome))
        return error or Change.of(result)

    @strawberry.mutation(description="Cancel a change that has not started.", permission_classes=[CanEdit])
    async def cancel_change(self, info: Info[ApiContext, None], uid: strawberry.ID) -> ChangeResult:
        result, error = await _mutate(info, lambda s: s.cancel(str(uid)))
        return error or Change.of(result)

    @strawberry.mutation(description="Declare a maintenance or blackout window on CIs or services.",
                         permission_classes=[CanEdit])
    async def declare_change_window(self, info: Info[ApiContext, None], kind: WindowKind, label: str,
                                    subjects: list[strawberry.ID], start: Long, end: Long) -> WindowResult:
        result, error = await _mutate(info, lambda s: s.add_window(kind, label, tuple(str(u) for u in subjects),
                                                                   int(start), int(end)))
        return error or ChangeWindow.of(result)

    @strawberry.mutation(description="Withdraw a maintenance or blackout window.", permission_classes=[CanEdit])
    async def remove_change_window(self, info: Info[ApiContext, None], uid: strawberry.ID) -> RemoveWindowResult:
        _, error = await _mutate(info, lambda s: s.remove_window(str(uid)))
        return error or WindowRemoved(uid=uid)
