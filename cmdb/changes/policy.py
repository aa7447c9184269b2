"""Change models and approval routing, declared in configuration (YAML).

Three models, as ITIL 4 change enablement names them: **standard** changes
instantiate a pre-approved template and are approved by planning when their risk
stays within the template's; **normal** changes are routed to approvers by the
plan's risk level; **emergency** changes have no lead time and may be recorded
after the fact. Each model declares its lead time, whether the requester may
approve (separation of duties), the plans it requires and the approvals each
risk level needs. Defaults: ``change_models.yaml`` beside this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cmdb.changes.errors import InvalidChange
from cmdb.changes.model import Approval, ChangeAction, ChangeModelKind

DEFAULT_PATH = Path(__file__).with_name("change_models.yaml")
LEVELS = ("low", "medium", "high", "critical")
Level = Literal["low", "medium", "high", "critical"]
PlanField = Literal["implementation_plan", "backout_plan", "test_plan"]


def level_rank(level: str) -> int:
    """0 for low .. 3 for critical (an unknown level ranks highest: it is not known to be low)."""
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApprovalRule(_Rule):
    """What one risk level needs: ``approvers`` distinct people, or one of ``or_group``; ``role`` restricts who counts."""

    approvers: int = Field(default=1, ge=1)
    or_group: str | None = None
    role: str | None = None


def _default_approvals() -> dict[Level, ApprovalRule]:
    return {"low": ApprovalRule(), "medium": ApprovalRule(), "high": ApprovalRule(approvers=2),
            "critical": ApprovalRule(approvers=2)}


class ModelPolicy(_Rule):
    lead_time_hours: float = Field(default=0.0, ge=0)
    separation_of_duties: bool = True
    pre_approved: bool = False  # standard changes: approved by planning within their template
    allow_past_window: bool = False  # emergency changes recorded after the fact
    requires: tuple[PlanField, ...] = ()
    approvals: dict[Level, ApprovalRule] = Field(default_factory=_default_approvals)


class StandardTemplate(_Rule):
    description: str = ""
    actions: tuple[ChangeAction, ...] = Field(min_length=1)
    max_risk: Level = "low"


class ChangePolicy(_Rule):
    """The whole configuration: models, standard templates, approver groups, CLI admins."""

    models: dict[ChangeModelKind, ModelPolicy] = Field(default_factory=lambda: {k: ModelPolicy()
                                                                                for k in ChangeModelKind})
    templates: dict[str, StandardTemplate] = Field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    cli_admins: tuple[str, ...] = ()

    def model_of(self, kind: ChangeModelKind) -> ModelPolicy:
        return self.models.get(kind) or ModelPolicy()

    def groups_of(self, person: str) -> tuple[str, ...]:
        return tuple(sorted(g for g, members in self.groups.items() if person in members))


def load_policy(path: str | Path | None = None) -> ChangePolicy:
    """The policy in the YAML file at ``path`` (default: the packaged ``change_models.yaml``)."""
    where = Path(path) if path is not None else DEFAULT_PATH
    try:
        raw = yaml.safe_load(where.read_text(encoding="utf-8")) or {}
        return ChangePolicy.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidChange("change_models", f"cannot read {where}: {exc}") from exc
    except ValidationError as exc:
        raise InvalidChange("change_models", f"{where}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ApprovalStatus:
    """Whether the approvals given satisfy the rule of the plan's risk level, and what is missing."""

    level: str
    rule: ApprovalRule
    satisfied: bool
    missing: str


def approval_status(policy: ChangePolicy, kind: ChangeModelKind, level: str,
                    approvals: tuple[Approval, ...]) -> ApprovalStatus:
    """Evaluate ``approvals`` (distinct approvers of one plan version) against the routing of ``level``."""
    model = policy.model_of(kind)
    rule = model.approvals.get(level) if level in LEVELS else None  # type: ignore[call-overload]  # level is in LEVELS
    if rule is None:  # an unknown level: the strictest rule the model declares
        rule = model.approvals.get("critical") or ApprovalRule(approvers=2)
    people = {a.approver for a in approvals}
    if rule.role is not None:
        counted = {p for p in people if p in policy.groups.get(rule.role, ())}
        ok = len(counted) >= rule.approvers
        missing = "" if ok else (f"{rule.approvers - len(counted)} more approver(s) with role {rule.role}"
                                 f" (members: {', '.join(policy.groups.get(rule.role, ())) or 'none configured'})")
        return ApprovalStatus(level, rule, ok, missing)
    by_group = rule.or_group is not None and any(p in policy.groups.get(rule.or_group, ()) for p in people)
    ok = len(people) >= rule.approvers or by_group
    missing = ""
    if not ok:
        missing = f"{rule.approvers - len(people)} more approver(s)"
        if rule.or_group:
            missing += f" or one member of {rule.or_group}"
    return ApprovalStatus(level, rule, ok, missing)
