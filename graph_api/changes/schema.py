"""Queries ``changes``, ``change``, ``changePlan``, ``changeSnapshot``, ``changeExport``, ``changeDrift``,
``changeWindows``; mutations ``createChange``, ``describeChange``, ``planChange``, ``approveChange``,
``moveChange``, ``startChange``, ``completeChange``, ``reviewChange``, ``cancelChange``,
``declareChangeWindow``, ``removeChangeWindow``. Requester and approver are the caller, never an argument.

Resolvers call ``cmdb.changes.ChangeService`` off the event loop; expected failures
are typed (query errors with ``extensions.code``, mutation result unions).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Optional, TypeVar

import strawberry
from strawberry.types import Info

from cmdb.changes import (
    ApprovalConflict,
    ApprovalOutcome,
    ApprovalRefused,
    CannotStart,
    ChangeError,
    ChangeFilter,
    ChangeNotFound,
    ChangeService,
    InvalidChange,
    InvalidTransition,
    NewChange,
    NoSnapshot,
    Review,
    TimeWindow,
)
from cmdb.changes.export import change_to_csv, change_to_json, change_to_markdown
from cmdb.changes.timeparse import parse_instant
from cmdb.changes.wiring import build_change_service
from graph_api.auth import CanEdit, CanView
from graph_api.blocking import run_blocking
from graph_api.changes.inputs import (
    ApprovalRecorded,
    ApprovalRefusedError,
    ApproveResult,
    CannotStartError,
    ChangeConflictError,
    ChangeFilterInput,
    ChangeResult,
    CreateChangeInput,
    InvalidTransitionError,
    PlanResult,
    RemoveWindowResult,
    ReviewInput,
    WindowRemoved,
    WindowResult,
)
from graph_api.changes.types import (
    Change,
    ChangeOutcome,
    ChangePlan,
    ChangeSnapshot,
    ChangeState,
    ChangeWindow,
    DriftReport,
    PlanFormat,
    WindowKind,
)
from graph_api.context import ApiContext
from graph_api.errors import DomainError, NotConfiguredError, NotFoundError, ValidationError, present
from graph_api.fields import mutation, resolver
from graph_api.scalars import Long
from graph_api.services import AppServices

T = TypeVar("T")


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


def _review(outcome: Any, given: ReviewInput) -> Review:
    start = _instant("actualStart", given.actual_start, None)
    end = _instant("actualEnd", given.actual_end, None)
    try:
        return Review(actual_start=start, actual_end=end, outcome=outcome, incidents=tuple(given.incidents),
                      notes=given.notes)
    except ValueError as exc:
        raise InvalidChange("actualEnd", "the actual end must not be before the actual start") from exc


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
    if isinstance(exc, ApprovalConflict):
        return DomainError("CONFLICT", str(exc))
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
    """The typed GraphQL error for a change-planning failure, or None.

    Typed ``Any`` on purpose: each mutation's result union lists the errors its use case can raise,
    a subset of the classes below, which no single static type here can express.
    """
    if isinstance(exc, _NotConfigured):
        return NotConfiguredError(message="change planning needs the impact engine (topology index)",
                                  capability="impact engine")
    if isinstance(exc, ChangeNotFound):
        return NotFoundError(message=str(exc), key=exc.uid)
    if isinstance(exc, InvalidTransition):
        return InvalidTransitionError(message=str(exc), current=ChangeState(exc.current),
                                      wanted=ChangeState(exc.wanted))
    if isinstance(exc, ApprovalConflict):
        return ChangeConflictError(message=str(exc), expected=exc.expected, actual=exc.actual)
    if isinstance(exc, ApprovalRefused):
        return ApprovalRefusedError(message=str(exc), reason=exc.reason)
    if isinstance(exc, CannotStart):
        return CannotStartError(message=str(exc), reason=exc.reason)
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
    """The authenticated caller's name: requester and approver are never free fields."""
    principal = info.context.principal
    if principal is None:  # the permission classes refuse anonymous callers before this
        raise DomainError("UNAUTHENTICATED", "authentication required")
    return principal.name


def _instant(field: str, iso: str | None, ms: int | None, required: bool = True) -> int:
    """Epoch ms from an ISO 8601 text with an offset (preferred) or epoch ms; a clear ValidationError else."""
    if iso is not None and ms is not None:
        raise InvalidChange(field, "give the time once: ISO 8601 or epoch milliseconds, not both")
    if iso is not None:
        try:
            return parse_instant(iso)
        except ValueError as exc:
            raise InvalidChange(field, str(exc)) from exc
    if ms is None:
        raise InvalidChange(field, "a time is required (ISO 8601 with an offset)")
    return int(ms)


def _window_of(start_iso: str | None, start: int | None, end_iso: str | None, end: int | None) -> tuple[int, int]:
    return _instant("startsAt", start_iso, start), _instant("endsAt", end_iso, end)


@strawberry.type
class ChangeQueries:
    @resolver(description="Changes by window start, filtered.", permission_classes=[CanView])
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
            try:
                overlapping = TimeWindow(start=f.overlapping_start, end=f.overlapping_end)
            except ValueError as exc:
                raise DomainError("INVALID_ARGUMENT", "overlappingStart and overlappingEnd must lie between 1970 "
                                  "and 9999", field="overlappingStart") from exc
        query = ChangeFilter(states=tuple(f.states or ()), ci=str(f.ci) if f.ci else None, overlapping=overlapping,
                             requester=f.requester, after=_after(after), limit=first + 1)
        found = await _query(info, lambda s: s.changes(query)) if first else []
        page = found[:first]
        return ChangeConnection(
            edges=[ChangeEdge(cursor=_cursor(c), node=Change.of(c)) for c in page],
            page_info=ChangePageInfo(has_next_page=len(found) > first, end_cursor=_cursor(page[-1]) if page else None),
        )

    @resolver(description="One change by uid (null if none).", permission_classes=[CanView])
    async def change(self, info: Info[ApiContext, None], uid: strawberry.ID) -> Optional[Change]:  # noqa: UP045
        def get(s: ChangeService) -> Any:
            return s.repository.get_change(str(uid))

        found = await _query(info, get)
        return Change.of(found) if found else None

    @resolver(description="The latest plan of a change (null if never planned).", permission_classes=[CanView])
    async def change_plan(self, info: Info[ApiContext, None],
                          uid: strawberry.ID) -> Optional[ChangePlan]:  # noqa: UP045
        view = await _query(info, lambda s: s.show(str(uid)))
        return ChangePlan.of(view.plan) if view.plan else None

    @resolver(description="Recompute an approved change's plan and report what changed since approval.",
              permission_classes=[CanView])
    async def change_drift(self, info: Info[ApiContext, None], uid: strawberry.ID) -> DriftReport:
        return DriftReport.of(await _query(info, lambda s: s.drift(str(uid))))

    @resolver(description="The plan kept when the change was approved (null if never approved).",
              permission_classes=[CanView])
    async def change_snapshot(self, info: Info[ApiContext, None],
                              uid: strawberry.ID) -> Optional[ChangeSnapshot]:  # noqa: UP045
        view = await _query(info, lambda s: s.show(str(uid)))
        return ChangeSnapshot.of(view.snapshot) if view.snapshot else None

    @resolver(description="The change for a CAB: record, approvals, the approved snapshot and the current "
                          "preview side by side, as Markdown, CSV or JSON.", permission_classes=[CanView])
    async def change_export(self, info: Info[ApiContext, None], uid: strawberry.ID,
                            format: PlanFormat = PlanFormat.MARKDOWN) -> str:
        view = await _query(info, lambda s: s.show(str(uid)))
        exporter = {"markdown": change_to_markdown, "csv": change_to_csv, "json": change_to_json}[format.value]
        return exporter(view)

    @resolver(description="Declared maintenance and blackout windows.", permission_classes=[CanView])
    async def change_windows(self, info: Info[ApiContext, None]) -> list[ChangeWindow]:
        return [ChangeWindow.of(w) for w in await _query(info, lambda s: s.windows())]


@strawberry.type
class ChangeMutations:
    @mutation(description="Record a draft change; the requester is the caller.",
              permission_classes=[CanEdit])
    async def create_change(self, info: Info[ApiContext, None], input: CreateChangeInput) -> ChangeResult:
        requester = _caller(info)

        def create(s: ChangeService) -> Any:
            start, end = _window_of(input.starts_at, input.start, input.ends_at, input.end)
            return s.create(NewChange(
                title=input.title, cis=tuple(str(u) for u in input.cis), action=input.action, start=start, end=end,
                requester=requester, description=input.description, model=input.model, template=input.template,
                implementation_plan=input.implementation_plan, backout_plan=input.backout_plan,
                test_plan=input.test_plan))

        result, error = await _mutate(info, create)
        return error or Change.of(present(result))

    @mutation(description="Set a change's description and implementation, backout and test plans.",
              permission_classes=[CanEdit])
    async def describe_change(self, info: Info[ApiContext, None], uid: strawberry.ID,
                              description: Optional[str] = None,  # noqa: UP045
                              implementation_plan: Optional[str] = None,  # noqa: UP045
                              backout_plan: Optional[str] = None,  # noqa: UP045
                              test_plan: Optional[str] = None) -> ChangeResult:  # noqa: UP045
        result, error = await _mutate(info, lambda s: s.describe(
            str(uid), description=description, implementation_plan=implementation_plan, backout_plan=backout_plan,
            test_plan=test_plan))
        return error or Change.of(present(result))

    @mutation(description="Move a change to another window (an approved one needs re-approval).",
              permission_classes=[CanEdit])
    async def move_change(self, info: Info[ApiContext, None], uid: strawberry.ID,
                          starts_at: Optional[str] = None, ends_at: Optional[str] = None,  # noqa: UP045
                          start: Optional[Long] = None, end: Optional[Long] = None) -> ChangeResult:  # noqa: UP045
        def move(s: ChangeService) -> Any:
            a, b = _window_of(starts_at, start, ends_at, end)
            return s.reschedule(str(uid), a, b)

        result, error = await _mutate(info, move)
        return error or Change.of(present(result))

    @mutation(description="Plan a change: impact, services, owners, conflicts, windows, risk "
                          "(a draft becomes planned).", permission_classes=[CanEdit])
    async def plan_change(self, info: Info[ApiContext, None], uid: strawberry.ID) -> PlanResult:
        result, error = await _mutate(info, lambda s: s.plan(str(uid)))
        return error or ChangePlan.of(present(result))

    @mutation(description="Approve a planned change as the caller (never its requester when the "
                          "model separates duties). `planVersion`: the version you reviewed. When the "
                          "risk level's approvals are complete the plan is snapshotted for `changeDrift`.",
              permission_classes=[CanEdit])
    async def approve_change(self, info: Info[ApiContext, None], uid: strawberry.ID,
                             plan_version: Optional[int] = None) -> ApproveResult:  # noqa: UP045
        approver = _caller(info)
        result, error = await _mutate(info, lambda s: s.approve(str(uid), approver, plan_version))
        if error is not None:
            return error  # type: ignore[no-any-return]  # one of ApproveResult's errors (see _mutation_error)
        assert isinstance(result, ApprovalOutcome)
        if result.snapshot is not None:
            return ChangeSnapshot.of(result.snapshot)
        return ApprovalRecorded(change=Change.of(result.change), level=result.status.level,
                                missing=result.status.missing)

    @mutation(description="An approved change begins.", permission_classes=[CanEdit])
    async def start_change(self, info: Info[ApiContext, None], uid: strawberry.ID) -> ChangeResult:
        result, error = await _mutate(info, lambda s: s.start(str(uid)))
        return error or Change.of(present(result))

    @mutation(description="A running change ends with its outcome.", permission_classes=[CanEdit])
    async def complete_change(self, info: Info[ApiContext, None], uid: strawberry.ID, outcome: ChangeOutcome,
                              review: Optional[ReviewInput] = None) -> ChangeResult:  # noqa: UP045
        def complete(s: ChangeService) -> Any:
            return s.complete(str(uid), outcome, _review(outcome, review) if review is not None else None)

        result, error = await _mutate(info, complete)
        return error or Change.of(present(result))

    @mutation(description="Record the post-implementation review of a done change.",
              permission_classes=[CanEdit])
    async def review_change(self, info: Info[ApiContext, None], uid: strawberry.ID, outcome: ChangeOutcome,
                            review: ReviewInput) -> ChangeResult:
        result, error = await _mutate(info, lambda s: s.record_review(str(uid), _review(outcome, review)))
        return error or Change.of(present(result))

    @mutation(description="Cancel a change that has not started.", permission_classes=[CanEdit])
    async def cancel_change(self, info: Info[ApiContext, None], uid: strawberry.ID) -> ChangeResult:
        result, error = await _mutate(info, lambda s: s.cancel(str(uid)))
        return error or Change.of(present(result))

    @mutation(description="Declare a maintenance or blackout window on CIs or services.",
              permission_classes=[CanEdit])
    async def declare_change_window(self, info: Info[ApiContext, None], kind: WindowKind, label: str,
                                    subjects: list[strawberry.ID],
                                    start: Optional[Long] = None, end: Optional[Long] = None,  # noqa: UP045
                                    starts_at: Optional[str] = None,  # noqa: UP045
                                    ends_at: Optional[str] = None) -> WindowResult:  # noqa: UP045
        def declare(s: ChangeService) -> Any:
            a, b = _window_of(starts_at, start, ends_at, end)
            return s.add_window(kind, label, tuple(str(u) for u in subjects), a, b)

        result, error = await _mutate(info, declare)
        return error or ChangeWindow.of(present(result))

    @mutation(description="Withdraw a maintenance or blackout window.", permission_classes=[CanEdit])
    async def remove_change_window(self, info: Info[ApiContext, None], uid: strawberry.ID) -> RemoveWindowResult:
        _, error = await _mutate(info, lambda s: s.remove_window(str(uid)))
        return error or WindowRemoved(uid=uid)
