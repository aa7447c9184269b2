"""Thin projections of ``cmdb.changes`` records, plans and drift reports."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Optional

import strawberry

from cmdb.changes import Approval as ApprovalModel
from cmdb.changes import Change as ChangeModel
from cmdb.changes import ChangeAction as ChangeActionModel
from cmdb.changes import ChangeModelKind as ChangeModelKindModel
from cmdb.changes import ChangeOutcome as ChangeOutcomeModel
from cmdb.changes import ChangePlan as ChangePlanModel
from cmdb.changes import ChangeState as ChangeStateModel
from cmdb.changes import ChangeWindow as ChangeWindowModel
from cmdb.changes import DriftReport as DriftReportModel
from cmdb.changes import Snapshot as SnapshotModel
from cmdb.changes import TimeWindow as TimeWindowModel
from cmdb.changes import WindowKind as WindowKindModel
from cmdb.changes.drift import AttributeChange as AttributeChangeModel
from cmdb.changes.drift import EdgeChange as EdgeChangeModel
from cmdb.changes.drift import GradeChange as GradeChangeModel
from cmdb.changes.export import to_csv, to_json, to_markdown
from cmdb.changes.model import Review as ReviewModel
from cmdb.changes.plan import CombinedImpact as CombinedImpactModel
from cmdb.changes.plan import CombinedItem as CombinedItemModel
from cmdb.changes.plan import FindingKind as FindingKindModel
from cmdb.changes.plan import Hop as HopModel
from graph_api.analysis.types import Grade
from graph_api.fields import resolver
from graph_api.scalars import Long

# strawberry.enum marks each domain enum as a GraphQL enum in place; the aliases name them for the types below.
strawberry.enum(ChangeActionModel, name="ChangeAction")
strawberry.enum(ChangeStateModel, name="ChangeState")
strawberry.enum(ChangeOutcomeModel, name="ChangeOutcome")
strawberry.enum(WindowKindModel, name="WindowKind")
strawberry.enum(ChangeModelKindModel, name="ChangeModelKind",
                description="ITIL 4 change models: standard (pre-approved template), normal, emergency.")
strawberry.enum(FindingKindModel, name="FindingKind")
ChangeAction = ChangeActionModel
ChangeState = ChangeStateModel
ChangeOutcome = ChangeOutcomeModel
WindowKind = WindowKindModel
ChangeModelKind = ChangeModelKindModel
FindingKind = FindingKindModel


@strawberry.enum(description="Export formats of a change plan.")
class PlanFormat(Enum):
    MARKDOWN = "markdown"
    CSV = "csv"
    JSON = "json"


def iso(ms: int) -> str:
    """An instant as ISO 8601 in UTC with its offset."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


@strawberry.type(description="A half-open window [start, end) in epoch milliseconds (and as ISO 8601, UTC).")
class TimeWindow:
    start: Long
    end: Long
    starts_at: str
    ends_at: str

    @classmethod
    def of(cls, w: TimeWindowModel) -> TimeWindow:
        return cls(start=Long(w.start), end=Long(w.end), starts_at=iso(w.start), ends_at=iso(w.end))


@strawberry.type(description="One approver's approval of one plan version.")
class Approval:
    approver: str
    at: Long
    plan_version: int
    groups: list[str]

    @classmethod
    def of(cls, a: ApprovalModel) -> Approval:
        return cls(approver=a.approver, at=Long(a.at), plan_version=a.plan_version, groups=list(a.groups))


@strawberry.type(description="Post-implementation review: actual start and end, outcome, incidents.")
class ChangeReview:
    actual_start: Long
    actual_end: Long
    outcome: ChangeOutcome
    incidents: list[str]
    notes: str

    @classmethod
    def of(cls, r: ReviewModel) -> ChangeReview:
        return cls(actual_start=Long(r.actual_start), actual_end=Long(r.actual_end), outcome=r.outcome,
                   incidents=list(r.incidents), notes=r.notes)


@strawberry.type(description="A change request: CIs touched, action, window, requester, lifecycle state, model, "
                             "plans, approvals and review.")
class Change:
    uid: strawberry.ID
    title: str
    cis: list[strawberry.ID]
    action: ChangeAction
    window: TimeWindow
    requester: str
    state: ChangeState
    outcome: Optional[ChangeOutcome]  # noqa: UP045
    description: str
    created_at: Long
    updated_at: Long
    model: ChangeModelKind
    template: Optional[str]  # noqa: UP045
    implementation_plan: str
    backout_plan: str
    test_plan: str
    revision: int
    plan_version: int
    approvals: list[Approval]
    reapproval_reason: Optional[str]  # noqa: UP045
    recorded_after_fact: bool
    review: Optional[ChangeReview]  # noqa: UP045
    completed_at: Optional[Long]  # noqa: UP045

    @classmethod
    def of(cls, c: ChangeModel) -> Change:
        return cls(uid=strawberry.ID(c.uid), title=c.title, cis=[strawberry.ID(u) for u in c.cis], action=c.action,
                   window=TimeWindow.of(c.window), requester=c.requester, state=c.state, outcome=c.outcome,
                   description=c.description, created_at=Long(c.created_at), updated_at=Long(c.updated_at),
                   model=c.model, template=c.template, implementation_plan=c.implementation_plan,
                   backout_plan=c.backout_plan, test_plan=c.test_plan, revision=c.revision,
                   plan_version=c.plan_version, approvals=[Approval.of(a) for a in c.approvals],
                   reapproval_reason=c.reapproval_reason, recorded_after_fact=c.recorded_after_fact,
                   review=ChangeReview.of(c.review) if c.review else None,
                   completed_at=Long(c.completed_at) if c.completed_at is not None else None)


@strawberry.type(description="A maintenance or blackout window declared on CIs or services.")
class ChangeWindow:
    uid: strawberry.ID
    kind: WindowKind
    label: str
    subjects: list[strawberry.ID]
    window: TimeWindow

    @classmethod
    def of(cls, w: ChangeWindowModel) -> ChangeWindow:
        return cls(uid=strawberry.ID(w.uid), kind=w.kind, label=w.label,
                   subjects=[strawberry.ID(s) for s in w.subjects], window=TimeWindow.of(w.window))


@strawberry.type(description="One CI on an explanation path and the relationship that led to it.")
class PlanHop:
    uid: strawberry.ID
    name: str
    ci_class: str
    rel_type: Optional[str]  # noqa: UP045
    rel_source: Optional[strawberry.ID]  # noqa: UP045
    rel_target: Optional[strawberry.ID]  # noqa: UP045

    @classmethod
    def of(cls, h: HopModel) -> PlanHop:
        return cls(uid=strawberry.ID(h.uid), name=h.name, ci_class=h.ci_class, rel_type=h.rel_type,
                   rel_source=strawberry.ID(h.rel_source) if h.rel_source else None,
                   rel_target=strawberry.ID(h.rel_target) if h.rel_target else None)


@strawberry.type(description="An impacted CI: grade, depth, explanation path, and the redundancy margin left.")
class PlannedImpact:
    uid: strawberry.ID
    name: str
    ci_class: str
    grade: Grade
    depth: int
    explanation: str
    path: list[PlanHop]
    margin: Optional[int]  # noqa: UP045


@strawberry.type(description="An impacted application or business service, its owner to notify and criticality.")
class ServiceNotice:
    uid: strawberry.ID
    name: str
    ci_class: str
    grade: Grade
    owner: Optional[str]  # noqa: UP045
    criticality: Optional[str]  # noqa: UP045


@strawberry.type(description="A CI both changes impact, with the grade each gives it.")
class SharedImpact:
    uid: strawberry.ID
    name: str
    ci_class: str
    ours: Grade
    theirs: Grade
    service: bool


@strawberry.type(description="Another open change whose window overlaps and whose impact shares CIs or services; "
                             "`reason` says which and how each grades it.")
class Conflict:
    change_uid: strawberry.ID
    title: str
    state: ChangeState
    window: TimeWindow
    shared_cis: list[strawberry.ID]
    shared_services: list[strawberry.ID]
    shared: list[SharedImpact]
    reason: str


@strawberry.type(description="A CI the slot impacts: its grade with every overlapping change together, and alone.")
class CombinedItem:
    uid: strawberry.ID
    name: str
    ci_class: str
    grade: Grade
    alone: Optional[Grade]  # noqa: UP045
    explanation: str
    service: bool


@strawberry.type(description="What the slot does together: the impact of the union of the overlapping open "
                             "changes' CIs; `worse`: CIs worse together than under any one change alone.")
class CombinedImpact:
    changes: list[strawberry.ID]
    cis: list[strawberry.ID]
    impacted: list[CombinedItem]
    worse: list[CombinedItem]
    truncated: bool

    @classmethod
    def of(cls, c: CombinedImpactModel) -> CombinedImpact:
        def item(i: CombinedItemModel) -> CombinedItem:
            return CombinedItem(uid=strawberry.ID(i.uid), name=i.name, ci_class=i.ci_class, grade=Grade(i.grade),
                                alone=Grade(i.alone) if i.alone else None, explanation=i.explanation,
                                service=i.service)

        return cls(changes=[strawberry.ID(u) for u in c.changes], cis=[strawberry.ID(u) for u in c.cis],
                   impacted=[item(i) for i in c.impacted], worse=[item(i) for i in c.worse], truncated=c.truncated)


@strawberry.type(description="An impacted CI whose loss alone takes an impacted service down.")
class SinglePoint:
    uid: strawberry.ID
    name: str
    ci_class: str
    services: list[strawberry.ID]
    service_names: list[str]
    changed: bool


@strawberry.type(description="A blackout the change violates, or a maintenance window it falls outside of.")
class WindowFinding:
    kind: FindingKind
    window_uid: strawberry.ID
    label: str
    window: TimeWindow
    subjects: list[strawberry.ID]


@strawberry.type(description="One documented risk factor: what it measured and the points it added.")
class RiskFactor:
    name: str
    value: float
    points: float
    detail: str


@strawberry.type(description="The risk score (capped factor points: the discountable ones x the action's "
                             "multiplier, plus conflicts and blackout), its level and the floors that raised it.")
class RiskAssessment:
    score: float
    level: str
    multiplier: float
    factors: list[RiskFactor]
    floors: list[str]


@strawberry.type(description="A change's plan: impact, services and owners, conflicts, windows, risk.")
class ChangePlan:
    change_uid: strawberry.ID
    title: str
    action: ChangeAction
    window: TimeWindow
    requester: str
    cis: list[strawberry.ID]
    computed_at: Long
    impacted: list[PlannedImpact]
    truncated: bool
    services: list[ServiceNotice]
    owners: list[str]
    conflicts: list[Conflict]
    findings: list[WindowFinding]
    risk: RiskAssessment
    version: int
    truncated_by: list[str]
    uncertain: bool
    uncertainty: list[str]
    single_points_of_failure: list[SinglePoint]
    combined: Optional[CombinedImpact]  # noqa: UP045
    _model: strawberry.Private[ChangePlanModel]

    @resolver(description="The plan as a document: Markdown for a CAB meeting, CSV, or JSON.")
    async def export(self, format: PlanFormat = PlanFormat.MARKDOWN) -> str:
        exporter = {"markdown": to_markdown, "csv": to_csv, "json": to_json}[format.value]
        return exporter(self._model)

    @classmethod
    def of(cls, p: ChangePlanModel) -> ChangePlan:
        def window(w: TimeWindowModel) -> TimeWindow:
            return TimeWindow.of(w)

        return cls(
            change_uid=strawberry.ID(p.change_uid), title=p.title, action=p.action, window=window(p.window),
            requester=p.requester, cis=[strawberry.ID(u) for u in p.cis], computed_at=Long(p.computed_at),
            impacted=[PlannedImpact(uid=strawberry.ID(i.uid), name=i.name, ci_class=i.ci_class, grade=Grade(i.grade),
                                    depth=i.depth, explanation=i.explanation, path=[PlanHop.of(h) for h in i.path],
                                    margin=i.margin) for i in p.impacted],
            truncated=p.truncated,
            services=[ServiceNotice(uid=strawberry.ID(s.uid), name=s.name, ci_class=s.ci_class, grade=Grade(s.grade),
                                    owner=s.owner, criticality=s.criticality) for s in p.services],
            owners=list(p.owners),
            conflicts=[Conflict(change_uid=strawberry.ID(c.change_uid), title=c.title, state=c.state,
                                window=window(c.window), shared_cis=[strawberry.ID(u) for u in c.shared_cis],
                                shared_services=[strawberry.ID(u) for u in c.shared_services],
                                shared=[SharedImpact(uid=strawberry.ID(i.uid), name=i.name, ci_class=i.ci_class,
                                                     ours=Grade(i.ours), theirs=Grade(i.theirs), service=i.service)
                                        for i in c.shared],
                                reason=c.reason) for c in p.conflicts],
            findings=[WindowFinding(kind=f.kind, window_uid=strawberry.ID(f.window_uid), label=f.label,
                                    window=window(f.window), subjects=[strawberry.ID(s) for s in f.subjects])
                      for f in p.findings],
            risk=RiskAssessment(score=p.risk.score, level=p.risk.level, multiplier=p.risk.multiplier,
                                factors=[RiskFactor(name=f.name, value=f.value, points=f.points, detail=f.detail)
                                         for f in p.risk.factors], floors=list(p.risk.floors)),
            version=p.version, truncated_by=list(p.truncated_by), uncertain=p.uncertain,
            uncertainty=list(p.uncertainty),
            single_points_of_failure=[SinglePoint(uid=strawberry.ID(x.uid), name=x.name, ci_class=x.ci_class,
                                                  services=[strawberry.ID(u) for u in x.services],
                                                  service_names=list(x.service_names), changed=x.changed)
                                      for x in p.single_points_of_failure],
            combined=CombinedImpact.of(p.combined) if p.combined is not None else None,
            _model=p,
        )


@strawberry.type(description="The plan kept when the change was approved, with its approvals.")
class ChangeSnapshot:
    change_uid: strawberry.ID
    approved_at: Long
    approved_by: str
    plan: ChangePlan
    approvals: list[Approval]

    @classmethod
    def of(cls, s: SnapshotModel) -> ChangeSnapshot:
        return cls(change_uid=strawberry.ID(s.change_uid), approved_at=Long(s.approved_at),
                   approved_by=s.approved_by, plan=ChangePlan.of(s.plan),
                   approvals=[Approval.of(a) for a in s.approvals])


@strawberry.type(description="A risk factor whose points moved since approval, with both detail lines.")
class FactorChange:
    name: str
    points_before: float
    points_after: float
    detail_before: str
    detail_after: str


@strawberry.type(description="A relationship that appeared, disappeared or changed its evidence since approval.")
class EdgeChange:
    uid: strawberry.ID
    type: str
    source: strawberry.ID
    target: strawberry.ID
    source_name: str
    target_name: str
    before: Optional[str]  # noqa: UP045
    after: Optional[str]  # noqa: UP045

    @classmethod
    def of(cls, e: EdgeChangeModel) -> EdgeChange:
        return cls(uid=strawberry.ID(e.uid), type=e.type, source=strawberry.ID(e.source),
                   target=strawberry.ID(e.target), source_name=e.source_name, target_name=e.target_name,
                   before=e.before, after=e.after)


@strawberry.type(description="A decisive attribute of a CI (status, criticality, min_up, owner) that changed.")
class AttributeChange:
    uid: strawberry.ID
    name: str
    attribute: str
    before: Optional[str]  # noqa: UP045
    after: Optional[str]  # noqa: UP045

    @classmethod
    def of(cls, a: AttributeChangeModel) -> AttributeChange:
        return cls(uid=strawberry.ID(a.uid), name=a.name, attribute=a.attribute, before=a.before, after=a.after)


@strawberry.type(description="A CI or service whose grade differs (null: not impacted then / now).")
class GradeChange:
    uid: strawberry.ID
    name: str
    before: Optional[Grade]  # noqa: UP045
    after: Optional[Grade]  # noqa: UP045
    before_explanation: Optional[str]  # noqa: UP045
    after_explanation: Optional[str]  # noqa: UP045

    @classmethod
    def of(cls, g: GradeChangeModel) -> GradeChange:
        return cls(uid=strawberry.ID(g.uid), name=g.name, before=Grade(g.before) if g.before else None,
                   after=Grade(g.after) if g.after else None, before_explanation=g.before_explanation,
                   after_explanation=g.after_explanation)


@strawberry.type(description="What changed in the topology and the impact since the change was approved.")
class DriftReport:
    change_uid: strawberry.ID
    approved_at: Long
    computed_at: Long
    drifted: bool
    relationships_added: list[EdgeChange]
    relationships_removed: list[EdgeChange]
    relationships_changed: list[EdgeChange]
    ci_changes: list[AttributeChange]
    impacted_added: list[GradeChange]
    impacted_removed: list[GradeChange]
    grade_changes: list[GradeChange]
    services_added: list[GradeChange]
    services_removed: list[GradeChange]
    service_grade_changes: list[GradeChange]
    owners_added: list[str]
    owners_removed: list[str]
    conflicts_added: list[strawberry.ID]
    conflicts_removed: list[strawberry.ID]
    risk_before: float
    risk_after: float
    level_before: str
    level_after: str
    risk_factor_changes: list[FactorChange]
    findings_added: list[str]
    findings_removed: list[str]
    reapproval: Optional[str]  # noqa: UP045

    @classmethod
    def of(cls, d: DriftReportModel) -> DriftReport:
        def grades(items: tuple[GradeChangeModel, ...]) -> list[GradeChange]:
            return [GradeChange.of(g) for g in items]

        def edges(items: tuple[EdgeChangeModel, ...]) -> list[EdgeChange]:
            return [EdgeChange.of(e) for e in items]

        return cls(
            change_uid=strawberry.ID(d.change_uid), approved_at=Long(d.approved_at), computed_at=Long(d.computed_at),
            drifted=d.drifted, relationships_added=edges(d.relationships_added),
            relationships_removed=edges(d.relationships_removed), relationships_changed=edges(d.relationships_changed),
            ci_changes=[AttributeChange.of(a) for a in d.ci_changes], impacted_added=grades(d.impacted_added),
            impacted_removed=grades(d.impacted_removed), grade_changes=grades(d.grade_changes),
            services_added=grades(d.services_added), services_removed=grades(d.services_removed),
            service_grade_changes=grades(d.service_grade_changes), owners_added=list(d.owners_added),
            owners_removed=list(d.owners_removed), conflicts_added=[strawberry.ID(c) for c in d.conflicts_added],
            conflicts_removed=[strawberry.ID(c) for c in d.conflicts_removed], risk_before=d.risk_before,
            risk_after=d.risk_after, level_before=d.level_before, level_after=d.level_after,
            risk_factor_changes=[FactorChange(name=f.name, points_before=f.points_before, points_after=f.points_after,
                                              detail_before=f.detail_before, detail_after=f.detail_after)
                                 for f in d.risk_factor_changes],
            findings_added=list(d.findings_added), findings_removed=list(d.findings_removed),
            reapproval=d.reapproval,
        )
