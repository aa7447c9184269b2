"""Approval rules of one change: who may approve it now, and when a recomputed plan voids an approval.

Pure functions over the change, its plan and the policy; :class:`ChangeService`
reads and writes the records around them.
"""

from __future__ import annotations

from dataclasses import dataclass

from cmdb.changes.errors import ApprovalRefused, InvalidChange
from cmdb.changes.model import Approval, Change
from cmdb.changes.plan import ChangePlan, Snapshot
from cmdb.changes.policy import ApprovalStatus, ChangePolicy, approval_status, level_rank


@dataclass(frozen=True, slots=True)
class ApprovalOutcome:
    """One approval recorded: the change after it, the snapshot when the change became approved, and
    what the routing still needs otherwise."""

    change: Change
    snapshot: Snapshot | None
    status: ApprovalStatus


def vet_approval(policy: ChangePolicy, change: Change, plan: ChangePlan,
                 approver: str) -> tuple[tuple[Approval, ...], tuple[str, ...]]:
    """The approvals already given to ``plan``'s version and the approver's groups, or why ``approver`` may not
    approve ``change`` now (ApprovalRefused; InvalidChange for a plan the model requires and the change lacks)."""
    uid = change.uid
    model = policy.model_of(change.model)
    if model.pre_approved:
        raise ApprovalRefused(uid, approver, f"a standard change is approved by its template; this plan's risk "
                                             f"({plan.risk.level}) exceeds it: raise a normal change instead")
    for field in model.requires:
        if not str(getattr(change, field)).strip():
            raise InvalidChange(field, f"a {change.model.value} change needs its {field.replace('_', ' ')} "
                                       "before approval")
    if model.separation_of_duties and approver == change.requester:
        raise ApprovalRefused(uid, approver, "separation of duties: the requester cannot approve their own change")
    current = tuple(a for a in change.approvals if a.plan_version == change.plan_version)
    if any(a.approver == approver for a in current):
        raise ApprovalRefused(uid, approver, f"already approved plan version {change.plan_version}")
    groups = policy.groups_of(approver)
    rule = approval_status(policy, change.model, plan.risk.level, current).rule
    if rule.role is not None and rule.role not in groups:
        raise ApprovalRefused(uid, approver, f"a {plan.risk.level} risk change needs an approver with role "
                                             f"{rule.role}")
    return current, groups


def reapproval_reason(approved: ChangePlan, current: ChangePlan) -> str | None:
    """Why ``current`` voids the approval of ``approved``: a higher risk level, or services newly impacted
    or impacted worse; None when the approval still holds."""
    reasons: list[str] = []
    if level_rank(current.risk.level) > level_rank(approved.risk.level):
        reasons.append(f"risk rose from {approved.risk.level} ({approved.risk.score:g}) "
                       f"to {current.risk.level} ({current.risk.score:g})")
    then = {s.uid: s for s in approved.services}
    added = [s.name for s in current.services if s.uid not in then]
    worse = [s.name for s in current.services
             if s.uid in then and then[s.uid].grade == "degraded" and s.grade == "down"]
    if added:
        reasons.append(f"newly impacted services: {', '.join(added)}")
    if worse:
        reasons.append(f"services now down (were degraded): {', '.join(worse)}")
    return "; ".join(reasons) or None
