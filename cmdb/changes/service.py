"""ChangeService: the use cases of change enablement (create, plan, approve, start, complete, drift...).

Every state change goes through :meth:`Change.moved_to`, so an invalid transition
is an :class:`InvalidTransition`, never a silent overwrite; every write of a
change is a compare-and-set on its revision (:meth:`ChangeRepository.commit_change`),
so two approvers racing on one plan version cannot both win. Planning, moving or
cancelling a change, and declaring a window, re-plan the open changes whose
windows overlap (conflicts are living: both sides see them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cmdb.changes.approval import ApprovalOutcome, reapproval_reason, vet_approval
from cmdb.changes.drift import DriftReport, diff
from cmdb.changes.errors import (
    ApprovalConflict,
    CannotStart,
    ChangeNotFound,
    InvalidChange,
    InvalidTransition,
    NoSnapshot,
)
from cmdb.changes.model import (
    OPEN_STATES,
    Approval,
    Change,
    ChangeAction,
    ChangeFilter,
    ChangeModelKind,
    ChangeOutcome,
    ChangeState,
    ChangeWindow,
    Review,
    TimeWindow,
    WindowKind,
)
from cmdb.changes.plan import ChangePlan, Snapshot
from cmdb.changes.planner import ChangePlanner
from cmdb.changes.policy import ChangePolicy, approval_status, level_rank, load_policy
from cmdb.changes.repository import ChangeRepository
from cmdb.observation import now_ms

_HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class NewChange:
    """What a requester gives to create a change (``requester``: the authenticated caller, set by the caller's
    interface, never taken from free input)."""

    title: str
    cis: tuple[str, ...]
    action: ChangeAction
    start: int
    end: int
    requester: str
    description: str = ""
    model: ChangeModelKind = ChangeModelKind.NORMAL
    template: str | None = None
    implementation_plan: str = ""
    backout_plan: str = ""
    test_plan: str = ""


@dataclass(frozen=True, slots=True)
class ChangeView:
    """A change with its latest plan and its approved snapshot, when it has them."""

    change: Change
    plan: ChangePlan | None
    snapshot: Snapshot | None


def _material(plan: ChangePlan) -> dict[str, object]:
    """What a re-plan compares to decide whether the plan changed (not when it was computed)."""
    return plan.model_dump(mode="json", exclude={"computed_at", "version", "topology"})


class ChangeService:
    """Records changes and windows, plans, routes approvals, starts and closes changes, reports drift."""

    def __init__(self, planner: ChangePlanner, repository: ChangeRepository,
                 clock: Callable[[], int] = now_ms, policy: ChangePolicy | None = None) -> None:
        self.planner = planner
        self.repository = repository
        self.clock = clock
        self.policy = policy if policy is not None else load_policy()

    # -- records ---------------------------------------------------------------------------
    def _window(self, start: int, end: int) -> TimeWindow:
        try:
            return TimeWindow(start=start, end=end)
        except ValueError as exc:
            raise InvalidChange("window", "the window must end after it starts, between 1970 and 9999") from exc

    def _known(self, uids: tuple[str, ...], field: str) -> None:
        if not uids:
            raise InvalidChange(field, "name at least one CI")
        found = self.planner.store.get_cis(uids)
        missing = sorted(set(uids) - set(found))
        if missing:
            raise InvalidChange(field, f"unknown CI(s): {', '.join(missing)}")

    def _timing(self, kind: ChangeModelKind, window: TimeWindow, now: int) -> bool:
        """Check the window against now and the model's lead time; True when recorded after the fact."""
        model = self.policy.model_of(kind)
        if window.start < now:
            if model.allow_past_window:
                return True
            raise InvalidChange("start", "the window starts in the past; only an emergency change may be "
                                         "recorded after the fact")
        lead = int(model.lead_time_hours * _HOUR_MS)
        if window.start - now < lead:
            raise InvalidChange("start", f"a {kind.value} change needs {model.lead_time_hours:g} h of lead time; "
                                         f"this window starts in {(window.start - now) / _HOUR_MS:.1f} h")
        return False

    def create(self, new: NewChange) -> Change:
        """Record a draft change after checking its CIs, its window, its model's lead time and template."""
        if not new.title.strip():
            raise InvalidChange("title", "a change needs a title")
        if not new.requester.strip():
            raise InvalidChange("requester", "a change needs a requester")
        if new.model is ChangeModelKind.STANDARD:
            template = self.policy.templates.get(new.template or "")
            if template is None:
                known = ", ".join(sorted(self.policy.templates)) or "none configured"
                raise InvalidChange("template", f"a standard change instantiates a template ({known})")
            if new.action not in template.actions:
                raise InvalidChange("action", f"template {new.template} allows "
                                              f"{', '.join(a.value for a in template.actions)}")
        elif new.template is not None:
            raise InvalidChange("template", "only a standard change instantiates a template")
        cis = tuple(dict.fromkeys(new.cis))
        self._known(cis, "cis")
        now = self.clock()
        window = self._window(new.start, new.end)
        after_fact = self._timing(new.model, window, now)
        change = Change(title=new.title, cis=cis, action=new.action, window=window, requester=new.requester,
                        description=new.description, created_at=now, updated_at=now, model=new.model,
                        template=new.template, implementation_plan=new.implementation_plan,
                        backout_plan=new.backout_plan, test_plan=new.test_plan, revision=1,
                        recorded_after_fact=after_fact)
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

    def describe(self, uid: str, *, description: str | None = None, implementation_plan: str | None = None,
                 backout_plan: str | None = None, test_plan: str | None = None) -> Change:
        """Set the change's description and its implementation, backout and test plans (before approval)."""
        change = self.get(uid)
        if change.state not in (ChangeState.DRAFT, ChangeState.PLANNED):
            raise InvalidTransition(uid, change.state.value, change.state.value)
        update = {k: v for k, v in (("description", description), ("implementation_plan", implementation_plan),
                                    ("backout_plan", backout_plan), ("test_plan", test_plan)) if v is not None}
        return self._commit(change, change.model_copy(update=update))

    # -- windows -----------------------------------------------------------------------------
    def add_window(self, kind: WindowKind, label: str, subjects: tuple[str, ...], start: int, end: int) -> ChangeWindow:
        """Declare a maintenance or blackout window; the open changes it overlaps are re-planned (re-flagged)."""
        if not label.strip():
            raise InvalidChange("label", "a window needs a label")
        subjects = tuple(dict.fromkeys(subjects))
        self._known(subjects, "subjects")
        window = ChangeWindow(kind=kind, label=label, subjects=subjects, window=self._window(start, end))
        self.repository.save_window(window)
        self._refresh_overlapping([window.window])
        return window

    def windows(self) -> list[ChangeWindow]:
        """Every declared window, by start."""
        return self.repository.list_windows()

    def remove_window(self, uid: str) -> None:
        """Withdraw a window; ChangeNotFound when there is none with that uid."""
        found = [w for w in self.repository.list_windows() if w.uid == uid]
        if not self.repository.delete_window(uid):
            raise ChangeNotFound("window", uid)
        self._refresh_overlapping([w.window for w in found])

    # -- writes ----------------------------------------------------------------------------------
    def _commit(self, before: Change, after: Change, plan: ChangePlan | None = None,
                snapshot: Snapshot | None = None) -> Change:
        """Write ``after`` if nobody wrote ``before``'s revision meanwhile (else ApprovalConflict)."""
        written = after.model_copy(update={"revision": before.revision + 1, "updated_at": self.clock()})
        if not self.repository.commit_change(written, before.revision, plan=plan, snapshot=snapshot):
            current = self.repository.get_change(before.uid)
            raise ApprovalConflict(before.uid, before.revision, current.revision if current else -1)
        return written

    def _versioned(self, change: Change, plan: ChangePlan) -> ChangePlan:
        return plan.model_copy(update={"version": change.plan_version + 1})

    # -- planning ----------------------------------------------------------------------------
    def plan(self, uid: str) -> ChangePlan:
        """Compute the plan of a change and keep it as its latest; a draft becomes planned.

        A new plan version voids the approvals given to the previous one. Planning an
        approved or running change previews it without touching its snapshot; an
        approved one whose preview raises its risk level or its services goes back to
        planned for re-approval. A done or cancelled change cannot be planned. A standard change within its
        template's risk is approved by planning. The overlapping open changes are
        re-planned, so both sides of a conflict see it.
        """
        change = self.get(uid)
        if change.state in (ChangeState.DONE, ChangeState.CANCELLED):
            raise InvalidTransition(uid, change.state.value, ChangeState.PLANNED.value)
        computed = self.planner.plan(change)  # first: a change whose CIs left the graph stays a draft
        plan = self._versioned(change, computed)
        updated = change.model_copy(update={"plan_version": plan.version})
        snapshot = None
        if change.state in (ChangeState.DRAFT, ChangeState.PLANNED):
            updated = updated.moved_to(ChangeState.PLANNED, self.clock()).model_copy(
                update={"plan_version": plan.version, "approvals": ()})
            updated, snapshot = self._pre_approve(updated, plan)
        elif change.state is ChangeState.APPROVED:
            updated = self._voided(change, updated, computed)
        self._commit(change, updated, plan=plan, snapshot=snapshot)
        self._refresh_overlapping([change.window], skip={uid})
        return plan

    def _pre_approve(self, change: Change, plan: ChangePlan) -> tuple[Change, Snapshot | None]:
        """A standard change whose risk stays within its template's is approved by its template."""
        model = self.policy.model_of(change.model)
        template = self.policy.templates.get(change.template or "")
        if not model.pre_approved or template is None:
            return change, None
        if level_rank(plan.risk.level) > level_rank(template.max_risk):
            return change, None
        now = self.clock()
        approval = Approval(approver=f"template:{change.template}", at=now, plan_version=plan.version)
        approved = change.moved_to(ChangeState.APPROVED, now).model_copy(
            update={"approvals": (approval,), "reapproval_reason": None})
        return approved, Snapshot(change_uid=change.uid, approved_at=now, approved_by=approval.approver, plan=plan,
                                  approvals=(approval,))

    def _refresh_overlapping(self, windows: Iterable[TimeWindow], skip: set[str] | None = None) -> None:
        """Re-plan every open change overlapping ``windows`` that has a plan (one level: no cascade)."""
        seen = set(skip or ())
        for window in windows:
            for other in self.repository.list_changes(ChangeFilter(states=OPEN_STATES, overlapping=window,
                                                                   limit=1000)):
                if other.uid in seen:
                    continue
                seen.add(other.uid)
                try:
                    self._refresh(other)
                except (InvalidChange, ApprovalConflict):
                    continue  # its CIs left the graph, or someone else is writing it: their plan wins

    def _refresh(self, change: Change) -> None:
        """Re-plan one change; an approved change whose risk or services grew goes back for re-approval."""
        latest = self.repository.latest_plan(change.uid)
        computed = self.planner.plan(change)
        if latest is not None and _material(latest) == _material(computed):
            return
        plan = self._versioned(change, computed)
        updated = change.model_copy(update={"plan_version": plan.version})
        if change.state is ChangeState.PLANNED:
            updated = updated.model_copy(update={"approvals": ()})
        elif change.state is ChangeState.APPROVED:
            updated = self._voided(change, updated, computed)
        self._commit(change, updated, plan=plan)

    def _voided(self, change: Change, updated: Change, computed: ChangePlan) -> Change:
        """``updated`` sent back to planned when ``computed`` voids the change's approval, else as it is."""
        snapshot = self.repository.get_snapshot(change.uid)
        reason = reapproval_reason(snapshot.plan, computed) if snapshot is not None else None
        if reason is None:
            return updated
        return updated.moved_to(ChangeState.PLANNED, self.clock()).model_copy(
            update={"plan_version": updated.plan_version, "approvals": (), "reapproval_reason": reason})

    # -- approval ----------------------------------------------------------------------------------
    def approve(self, uid: str, approver: str, plan_version: int | None = None) -> ApprovalOutcome:
        """Record ``approver``'s approval of the change's latest plan (``plan_version``: the version they read).

        Refused when the approver is the requester (separation of duties, per the
        change's model), approved this version already, or lacks the role the risk
        level needs. The approval is a compare-and-set: when the plan version moved,
        or another approval was written since the change was read, ApprovalConflict.
        When the routing of the plan's risk level is satisfied the change becomes
        approved and the plan is kept as the snapshot drift compares with.
        """
        change = self.get(uid)
        if change.state is not ChangeState.PLANNED:
            if plan_version is not None and plan_version == change.plan_version:
                # The approver read this version while it was planned: someone else's approval won.
                raise ApprovalConflict(uid, plan_version, change.plan_version, "plan version",
                                       f"it is {change.state.value} now")
            raise InvalidTransition(uid, change.state.value, ChangeState.APPROVED.value)
        approver = approver.strip()
        if not approver:
            raise InvalidChange("approver", "an approval needs an approver")
        if plan_version is not None and plan_version != change.plan_version:
            raise ApprovalConflict(uid, plan_version, change.plan_version, "plan version")
        plan = self.repository.latest_plan(uid)
        if plan is None or plan.version != change.plan_version:
            raise InvalidTransition(uid, change.state.value, ChangeState.APPROVED.value)
        current, groups = vet_approval(self.policy, change, plan, approver)
        now = self.clock()
        approvals = (*current, Approval(approver=approver, at=now, plan_version=change.plan_version, groups=groups))
        status = approval_status(self.policy, change.model, plan.risk.level, approvals)
        updated = change.model_copy(update={"approvals": approvals})
        snapshot = None
        if status.satisfied:
            updated = updated.moved_to(ChangeState.APPROVED, now).model_copy(
                update={"approvals": approvals, "reapproval_reason": None})
            snapshot = Snapshot(change_uid=uid, approved_at=now, approved_by=", ".join(a.approver for a in approvals),
                                plan=plan, approvals=approvals)
        written = self._commit(change, updated, snapshot=snapshot)
        return ApprovalOutcome(written, snapshot, status)

    # -- implementation ----------------------------------------------------------------------------
    def start(self, uid: str) -> Change:
        """An approved change begins: inside its window, and only if its plan has not drifted into a higher
        risk level or more services since approval (then it goes back to planned for re-approval)."""
        change = self.get(uid)
        if change.state is not ChangeState.APPROVED:
            raise InvalidTransition(uid, change.state.value, ChangeState.IN_PROGRESS.value)
        now = self.clock()
        w = change.window
        if not change.recorded_after_fact and not w.start <= now < w.end:
            when = "opens later" if now < w.start else "has closed"
            raise CannotStart(uid, f"its window {when} (window [{w.start}, {w.end}), now {now}); move it first")
        snapshot = self.repository.get_snapshot(uid)
        if snapshot is not None and not change.recorded_after_fact:
            current = self.planner.plan(change)
            reason = reapproval_reason(snapshot.plan, current)
            if reason is not None:
                plan = self._versioned(change, current)
                back = change.moved_to(ChangeState.PLANNED, now).model_copy(
                    update={"plan_version": plan.version, "approvals": (), "reapproval_reason": reason})
                self._commit(change, back, plan=plan)
                raise CannotStart(uid, f"it needs re-approval: {reason}")
        return self._commit(change, change.moved_to(ChangeState.IN_PROGRESS, now))

    def complete(self, uid: str, outcome: ChangeOutcome, review: Review | None = None) -> Change:
        """A running change ends, succeeded or failed; ``review`` records what really happened (failures
        weigh on later changes to the same CIs from when they failed)."""
        change = self.get(uid)
        if review is not None and review.outcome is not outcome:
            raise InvalidChange("outcome", f"the review says {review.outcome.value}, not {outcome.value}")
        done = change.moved_to(ChangeState.DONE, self.clock(), outcome)
        return self._commit(change, done.model_copy(update={"review": review}))

    def record_review(self, uid: str, review: Review) -> Change:
        """The post-implementation review of a done change (its outcome follows the review)."""
        change = self.get(uid)
        if change.state is not ChangeState.DONE:
            raise InvalidTransition(uid, change.state.value, ChangeState.DONE.value)
        return self._commit(change, change.model_copy(update={"review": review, "outcome": review.outcome}))

    def cancel(self, uid: str) -> Change:
        change = self.get(uid)
        cancelled = self._commit(change, change.moved_to(ChangeState.CANCELLED, self.clock()))
        self._refresh_overlapping([change.window], skip={uid})
        return cancelled

    def reschedule(self, uid: str, start: int, end: int) -> Change:
        """Move a change that has not started to another window; an approved one needs re-approval."""
        change = self.get(uid)
        if change.state not in (ChangeState.DRAFT, ChangeState.PLANNED, ChangeState.APPROVED):
            raise InvalidTransition(uid, change.state.value, change.state.value)
        window = self._window(start, end)
        after_fact = self._timing(change.model, window, self.clock())
        moved = change.model_copy(update={"window": window, "recorded_after_fact": after_fact})
        plan = None
        if change.state is not ChangeState.DRAFT:
            plan = self._versioned(change, self.planner.plan(moved))
            moved = moved.model_copy(update={"plan_version": plan.version, "approvals": ()})
            if change.state is ChangeState.APPROVED:
                moved = moved.moved_to(ChangeState.PLANNED, self.clock()).model_copy(
                    update={"reapproval_reason": "the window moved"})
        written = self._commit(change, moved, plan=plan)
        self._refresh_overlapping([change.window, window], skip={uid})
        return written

    # -- drift --------------------------------------------------------------------------------
    def drift(self, uid: str) -> DriftReport:
        """Recompute the plan of an approved change and report what changed since its approval."""
        change = self.get(uid)
        snapshot = self.repository.get_snapshot(uid)
        if snapshot is None:
            raise NoSnapshot(uid)
        current = self.planner.plan(change)
        around = {i.uid for i in snapshot.plan.impacted} | {i.uid for i in current.impacted}
        report = diff(snapshot, current, self.planner.topology_facts(sorted(around)))
        return report.model_copy(update={"reapproval": reapproval_reason(snapshot.plan, current)})
