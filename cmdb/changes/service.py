"""ChangeService: the use cases of change planning (create, plan, approve, drift, list...).

Every state change goes through :meth:`Change.moved_to`, so an invalid transition
is an :class:`InvalidTransition`, never a silent overwrite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cmdb.changes.drift import DriftReport, diff
from cmdb.changes.errors import ChangeNotFound, InvalidChange, InvalidTransition, NoSnapshot
from cmdb.changes.model import (
    TRANSITIONS,
    Change,
    ChangeAction,
    ChangeFilter,
    ChangeOutcome,
    ChangeState,
    ChangeWindow,
    TimeWindow,
    WindowKind,
)
from cmdb.changes.plan import ChangePlan, Snapshot
from cmdb.changes.planner import ChangePlanner
from cmdb.changes.repository import ChangeRepository
from cmdb.observation import now_ms


@dataclass(frozen=True, slots=True)
class NewChange:
    """What a requester gives to create a change."""

    title: str
    cis: tuple[str, ...]
    action: ChangeAction
    start: int
    end: int
    requester: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class ChangeView:
    """A change with its latest plan and its approved snapshot, when it has them."""

    change: Change
    plan: ChangePlan | None
    snapshot: Snapshot | None


class ChangeService:
    """Records changes and windows, plans and approves changes, reports drift."""

    def __init__(self, planner: ChangePlanner, repository: ChangeRepository,
                 clock: Callable[[], int] = now_ms) -> None:
        self.planner = planner
        self.repository = repository
        self.clock = clock

    # -- records ---------------------------------------------------------------------------
    def _window(self, start: int, end: int) -> TimeWindow:
        try:
            return TimeWindow(start=start, end=end)
        except ValueError as exc:
            raise InvalidChange("window", "the window must end after it starts (epoch ms >= 0)") from exc

    def _known(self, uids: tuple[str, ...], field: str) -> None:
        if not uids:
            raise InvalidChange(field, "name at least one CI")
        found = self.planner.store.get_cis(uids)
        missing = sorted(set(uids) - set(found))
        if missing:
            raise InvalidChange(field, f"unknown CI(s): {', '.join(missing)}")

    def create(self, new: NewChange) -> Change:
        """Record a draft change after checking its CIs exist and its window is well formed."""
        if not new.title.strip():
            raise InvalidChange("title", "a change needs a title")
        if not new.requester.strip():
            raise InvalidChange("requester", "a change needs a requester")
        cis = tuple(dict.fromkeys(new.cis))
        self._known(cis, "cis")
        now = self.clock()
        change = Change(title=new.title, cis=cis, action=new.action, window=self._window(new.start, new.end),
                        requester=new.requester, description=new.description, created_at=now, updated_at=now)
        self.repository.save_change(change)
        return change

    def get(self, uid: str) -> Change:
        """The change ``uid`` or ChangeNotFound."""
        change = self.repository.get_change(uid)
        if change is None:
            raise ChangeNotFound("change", uid)
        return change

    def show(self, uid: str) -> ChangeView:
        """The change with its latest plan and approved snapshot."""
        change = self.get(uid)
        return ChangeView(change, self.repository.latest_plan(uid), self.repository.get_snapshot(uid))

    def changes(self, query: ChangeFilter | None = None) -> list[Change]:
        """Changes matching ``query`` (all, by window start, when None)."""
        return self.repository.list_changes(query or ChangeFilter())

    def add_window(self, kind: WindowKind, label: str, subjects: tuple[str, ...], start: int, end: int) -> ChangeWindow:
        """Declare a maintenance or blackout window on CIs or services."""
        if not label.strip():
            raise InvalidChange("label", "a window needs a label")
        subjects = tuple(dict.fromkeys(subjects))
        self._known(subjects, "subjects")
        window = ChangeWindow(kind=kind, label=label, subjects=subjects, window=self._window(start, end))
        self.repository.save_window(window)
        return window

    def windows(self) -> list[ChangeWindow]:
        """Every declared window, by start."""
        return self.repository.list_windows()

    def remove_window(self, uid: str) -> None:
        """Withdraw a window; ChangeNotFound when there is none with that uid."""
        if not self.repository.delete_window(uid):
            raise ChangeNotFound("window", uid)

    # -- lifecycle ----------------------------------------------------------------------------
    def _move(self, change: Change, state: ChangeState, outcome: ChangeOutcome | None = None) -> Change:
        moved = change.moved_to(state, self.clock(), outcome)
        self.repository.save_change(moved)
        return moved

    def plan(self, uid: str) -> ChangePlan:
        """Compute the plan of a change and keep it as its latest; a draft becomes planned.

        Planning an approved or running change previews it without touching its
        state or snapshot; a done or cancelled change cannot be planned.
        """
        change = self.get(uid)
        if change.state in (ChangeState.DONE, ChangeState.CANCELLED):
            raise InvalidTransition(uid, change.state.value, ChangeState.PLANNED.value)
        plan = self.planner.plan(change)  # first: a change whose CIs left the graph stays a draft
        if change.state is ChangeState.DRAFT:
            self._move(change, ChangeState.PLANNED)
        self.repository.save_plan(plan)
        return plan

    def approve(self, uid: str, approver: str) -> Snapshot:
        """Approve a planned change: recompute its plan and keep it as the snapshot drift compares with."""
        change = self.get(uid)
        if ChangeState.APPROVED not in _allowed(change):
            raise InvalidTransition(uid, change.state.value, ChangeState.APPROVED.value)
        if not approver.strip():
            raise InvalidChange("approver", "an approval needs an approver")
        plan = self.planner.plan(change)
        approved = self._move(change, ChangeState.APPROVED)
        snapshot = Snapshot(change_uid=uid, approved_at=approved.updated_at, approved_by=approver, plan=plan)
        self.repository.save_plan(plan)
        self.repository.save_snapshot(snapshot)
        return snapshot

    def start(self, uid: str) -> Change:
        """An approved change begins."""
        return self._move(self.get(uid), ChangeState.IN_PROGRESS)

    def complete(self, uid: str, outcome: ChangeOutcome) -> Change:
        """A running change ends, succeeded or failed (failures weigh on later changes to the same CIs)."""
        return self._move(self.get(uid), ChangeState.DONE, outcome)

    def cancel(self, uid: str) -> Change:
        return self._move(self.get(uid), ChangeState.CANCELLED)

    # -- drift --------------------------------------------------------------------------------
    def drift(self, uid: str) -> DriftReport:
        """Recompute the plan of an approved change and report what changed since its approval."""
        change = self.get(uid)
        snapshot = self.repository.get_snapshot(uid)
        if snapshot is None:
            raise NoSnapshot(uid)
        current = self.planner.plan(change)
        around = {i.uid for i in snapshot.plan.impacted} | {i.uid for i in current.impacted}
        return diff(snapshot, current, self.planner.topology_facts(sorted(around)))


def _allowed(change: Change) -> frozenset[ChangeState]:
    return TRANSITIONS[change.state]
