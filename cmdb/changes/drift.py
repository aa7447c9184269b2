"""Drift: what changed in the topology and in the impact since a plan was approved.

``diff`` compares the approved snapshot with a plan recomputed now. The topology
part compares the relationships around the CIs impacted then or now, and the
attributes of the CIs at their ends; the impact part compares grades, services,
owners, conflicts and risk.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from cmdb.changes.plan import ChangePlan, EdgeFact, Snapshot, TopologyFacts, WindowFinding


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EdgeChange(_Frozen):
    """A relationship that appeared, disappeared (retired, stale or deleted) or changed its evidence."""

    uid: str
    type: str
    source: str
    target: str
    source_name: str
    target_name: str
    before: str | None = None  # "active", "stale (config 1.00)", ... None when it did not exist
    after: str | None = None

    def describe(self) -> str:
        return f"{self.source_name} -[{self.type}]-> {self.target_name}"


class AttributeChange(_Frozen):
    """One decisive attribute of a CI that changed (status, criticality, min_up, owner)."""

    uid: str
    name: str
    attribute: str
    before: str | None
    after: str | None


class GradeChange(_Frozen):
    uid: str
    name: str
    before: str | None  # None: not impacted then
    after: str | None  # None: not impacted now
    before_explanation: str | None = None
    after_explanation: str | None = None


class FactorChange(_Frozen):
    """A risk factor whose points moved since approval, with both detail lines (the reason in words)."""

    name: str
    points_before: float
    points_after: float
    detail_before: str
    detail_after: str


class DriftReport(_Frozen):
    """Exactly what differs between the approved plan and the plan computed now."""

    change_uid: str
    approved_at: int
    computed_at: int
    relationships_added: tuple[EdgeChange, ...] = ()
    relationships_removed: tuple[EdgeChange, ...] = ()
    relationships_changed: tuple[EdgeChange, ...] = ()
    ci_changes: tuple[AttributeChange, ...] = ()
    impacted_added: tuple[GradeChange, ...] = ()
    impacted_removed: tuple[GradeChange, ...] = ()
    grade_changes: tuple[GradeChange, ...] = ()
    services_added: tuple[GradeChange, ...] = ()
    services_removed: tuple[GradeChange, ...] = ()
    service_grade_changes: tuple[GradeChange, ...] = ()
    owners_added: tuple[str, ...] = ()
    owners_removed: tuple[str, ...] = ()
    conflicts_added: tuple[str, ...] = ()  # change uids
    conflicts_removed: tuple[str, ...] = ()
    risk_before: float = 0.0
    risk_after: float = 0.0
    level_before: str = ""
    level_after: str = ""
    risk_factor_changes: tuple[FactorChange, ...] = ()
    findings_added: tuple[str, ...] = ()  # window findings (blackouts...) that appeared, in words
    findings_removed: tuple[str, ...] = ()
    reapproval: str | None = None  # why the approval no longer holds (None: it does)

    @property
    def drifted(self) -> bool:
        """True when anything that matters to the approval differs."""
        return bool(
            self.relationships_added or self.relationships_removed or self.relationships_changed
            or self.ci_changes or self.impacted_added or self.impacted_removed or self.grade_changes
            or self.services_added or self.services_removed or self.service_grade_changes
            or self.owners_added or self.owners_removed or self.conflicts_added or self.conflicts_removed
            or self.risk_before != self.risk_after or self.findings_added or self.findings_removed
        )


def _state(edge: EdgeFact | None) -> str | None:
    if edge is None:
        return None
    return f"{edge.status} ({edge.method} {edge.confidence:.2f})"


def _edge_change(edge: EdgeFact, before: EdgeFact | None, after: EdgeFact | None) -> EdgeChange:
    return EdgeChange(uid=edge.uid, type=edge.type, source=edge.source, target=edge.target,
                      source_name=edge.source_name, target_name=edge.target_name,
                      before=_state(before), after=_state(after))


def topology_diff(
    then: TopologyFacts, now: TopologyFacts, impacted_then: set[str], approved_at: int
) -> tuple[list[EdgeChange], list[EdgeChange], list[EdgeChange], list[AttributeChange]]:
    """Relationships added, removed and changed, and CI attribute changes, between two fact sets.

    ``now`` must cover the CIs impacted then and now. A live relationship missing
    from ``then`` counts as added when it touches a CI impacted then (``then`` held
    all of those) or was first seen after the approval; one that existed before but
    only entered the neighbourhood because its CI became impacted is not a change.
    """
    old = {e.uid: e for e in then.relationships}
    new = {e.uid: e for e in now.relationships}
    added: list[EdgeChange] = []
    removed: list[EdgeChange] = []
    changed: list[EdgeChange] = []
    for uid in sorted(set(old) | set(new)):
        before, after = old.get(uid), new.get(uid)
        live_before = before is not None and before.status == "active"
        live_after = after is not None and after.status == "active"
        edge = after or before
        assert edge is not None
        if live_after and not live_before:
            if before is not None or edge.source in impacted_then or edge.target in impacted_then \
                    or edge.first_seen > approved_at:
                added.append(_edge_change(edge, before, after))
        elif live_before and not live_after:
            removed.append(_edge_change(edge, before, after))
        elif live_before and live_after and before is not None and after is not None and (
                before.method != after.method or abs(before.confidence - after.confidence) > 1e-9):
            changed.append(_edge_change(edge, before, after))
    old_cis = {c.uid: c for c in then.cis}
    new_cis = {c.uid: c for c in now.cis}
    attributes: list[AttributeChange] = []
    for uid in sorted(old_cis):
        was = old_cis[uid]
        cur = new_cis.get(uid)
        for attr in ("status", "criticality", "min_up", "owner"):
            a = getattr(was, attr)
            b = getattr(cur, attr) if cur is not None else ("deleted" if attr == "status" else None)
            if a != b and not (cur is None and attr != "status"):
                attributes.append(AttributeChange(uid=uid, name=was.name, attribute=attr, before=a, after=b))
    return added, removed, changed, attributes


def diff(snapshot: Snapshot, current: ChangePlan, now_facts: TopologyFacts) -> DriftReport:
    """The drift of ``current`` (and ``now_facts``, around the CIs impacted then or now) from ``snapshot``."""
    then = snapshot.plan
    old = then.impacted_by_uid()
    new = current.impacted_by_uid()
    added, removed, changed, attributes = topology_diff(then.topology, now_facts, set(old), snapshot.approved_at)

    def grade_change(uid: str) -> GradeChange:
        a, b = old.get(uid), new.get(uid)
        item = b or a
        assert item is not None
        return GradeChange(uid=uid, name=item.name, before=a.grade if a else None, after=b.grade if b else None,
                           before_explanation=a.explanation if a else None,
                           after_explanation=b.explanation if b else None)

    old_svc = {s.uid: s for s in then.services}
    new_svc = {s.uid: s for s in current.services}

    def service_change(uid: str) -> GradeChange:
        a, b = old_svc.get(uid), new_svc.get(uid)
        item = b or a
        assert item is not None
        return GradeChange(uid=uid, name=item.name, before=a.grade if a else None, after=b.grade if b else None)

    old_factors = {f.name: f for f in then.risk.factors}
    factor_changes = tuple(
        FactorChange(name=f.name, points_before=old_factors[f.name].points, points_after=f.points,
                     detail_before=old_factors[f.name].detail, detail_after=f.detail)
        for f in current.risk.factors
        if f.name in old_factors and (old_factors[f.name].points != f.points or old_factors[f.name].detail != f.detail)
    )

    def finding(f: WindowFinding) -> str:
        return f"{f.kind.value}: {f.label}"

    old_findings = {finding(f) for f in then.findings}
    new_findings = {finding(f) for f in current.findings}
    old_conf = {c.change_uid for c in then.conflicts}
    new_conf = {c.change_uid for c in current.conflicts}
    return DriftReport(
        change_uid=then.change_uid,
        approved_at=snapshot.approved_at,
        computed_at=current.computed_at,
        relationships_added=tuple(added),
        relationships_removed=tuple(removed),
        relationships_changed=tuple(changed),
        ci_changes=tuple(attributes),
        impacted_added=tuple(grade_change(u) for u in sorted(set(new) - set(old))),
        impacted_removed=tuple(grade_change(u) for u in sorted(set(old) - set(new))),
        grade_changes=tuple(grade_change(u) for u in sorted(set(old) & set(new))
                            if old[u].grade != new[u].grade or old[u].explanation != new[u].explanation),
        services_added=tuple(service_change(u) for u in sorted(set(new_svc) - set(old_svc))),
        services_removed=tuple(service_change(u) for u in sorted(set(old_svc) - set(new_svc))),
        service_grade_changes=tuple(service_change(u) for u in sorted(set(old_svc) & set(new_svc))
                                    if old_svc[u].grade != new_svc[u].grade),
        owners_added=tuple(sorted(set(current.owners) - set(then.owners))),
        owners_removed=tuple(sorted(set(then.owners) - set(current.owners))),
        conflicts_added=tuple(sorted(new_conf - old_conf)),
        conflicts_removed=tuple(sorted(old_conf - new_conf)),
        risk_before=then.risk.score,
        risk_after=current.risk.score,
        level_before=then.risk.level,
        level_after=current.risk.level,
        risk_factor_changes=factor_changes,
        findings_added=tuple(sorted(new_findings - old_findings)),
        findings_removed=tuple(sorted(old_findings - new_findings)),
    )
