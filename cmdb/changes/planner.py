"""Planning a change: graded impact, services and owners, conflicts, windows, risk.

The planner asks the impact engine what the change's CIs take down, then reads the
store for what the index does not hold (criticality, evidence of the relationships
on the explanation paths) and the change repository for other changes, windows and
past failures. Scoring is delegated to :mod:`cmdb.changes.risk`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Protocol

from cmdb.changes.errors import InvalidChange
from cmdb.changes.model import (
    OPEN_STATES,
    Change,
    ChangeFilter,
    ChangeOutcome,
    ChangeState,
    WindowKind,
)
from cmdb.changes.plan import (
    ChangePlan,
    CIFact,
    CombinedImpact,
    CombinedItem,
    Conflict,
    EdgeFact,
    FindingKind,
    Hop,
    PlannedImpact,
    ServiceNotice,
    SharedImpact,
    SinglePoint,
    TopologyFacts,
    WindowFinding,
)
from cmdb.changes.repository import ChangeRepository
from cmdb.changes.risk import MarginRisk, RiskInputs, RiskRules, ServiceRisk, score
from cmdb.impact.errors import ImpactError
from cmdb.impact.models import ImpactedCI, ImpactReport, ImpactRequest, PathStep, SpofReport
from cmdb.model import CI, rel_uid
from cmdb.observation import now_ms
from cmdb.store.protocol import Direction, GraphStore
from schema import ImpactDirection, Schema

_DAY_MS = 86_400_000
_UNCERTAIN = frozenset({"traffic", "inferred"})


_GRADE_RANK = {"degraded": 1, "down": 2}
#: Services examined for single points of failure per plan (each is one bounded analysis).
SPOF_SERVICES = 50


class ImpactEngine(Protocol):
    """What planning needs of the impact engine (``cmdb.impact.ImpactService``)."""

    def impact(self, request: ImpactRequest) -> ImpactReport:
        ...

    def single_points_of_failure(self, service_uid: str, max_depth: int = 10, max_nodes: int = 2_000,
                                 rel_types: tuple[str, ...] | None = None,
                                 min_confidence: float = 0.0) -> SpofReport:
        ...


def _worse(a: str | None, b: str | None) -> str | None:
    """The worse of two grades (None: not impacted)."""
    return max((a, b), key=lambda g: _GRADE_RANK.get(g or "", 0))


def _redundancy_margin(ci: ImpactedCI) -> int | None:
    # Seam for cmdb.impact: the redundancy arithmetic is read from the typed field the
    # impact engine fills (``ImpactedCI.redundancy``), never parsed from the explanation text.
    return ci.redundancy.margin if ci.redundancy is not None else None


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Bounds of the impact computation and which changes compete for a window."""

    max_depth: int = 8
    max_nodes: int = 10_000
    min_confidence: float = 0.0
    rel_types: tuple[str, ...] | None = None
    conflict_states: tuple[ChangeState, ...] = OPEN_STATES


def _hop(step: PathStep) -> Hop:
    return Hop(uid=step.uid, name=step.name, ci_class=step.ci_class, rel_type=step.rel_type,
               rel_source=step.rel_source, rel_target=step.rel_target)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


class ChangePlanner:
    """Computes a :class:`ChangePlan` for a change (pure read: it saves nothing)."""

    def __init__(
        self,
        impact: ImpactEngine,
        store: GraphStore,
        repository: ChangeRepository,
        schema: Schema,
        rules: RiskRules | None = None,
        options: PlanOptions | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.impact_engine = impact
        self.store = store
        self.repository = repository
        self.schema = schema
        self.rules = rules or RiskRules()
        self.options = options or PlanOptions()
        self.clock = clock
        self._propagating = frozenset(
            name for name, rel in schema.relationships.items() if rel.impact is not ImpactDirection.NONE
        )

    # -- impact ------------------------------------------------------------------------------
    def impact_of(self, change: Change) -> ImpactReport:
        """The impact engine's report for the change's CIs, with the planner's bounds."""
        opts = self.options
        try:
            return self.impact_engine.impact(ImpactRequest(
                uids=change.cis, max_depth=opts.max_depth, max_nodes=opts.max_nodes,
                rel_types=opts.rel_types, min_confidence=opts.min_confidence,
            ))
        except ImpactError as exc:
            raise InvalidChange("cis", str(exc)) from exc

    # -- the plan --------------------------------------------------------------------------
    def plan(self, change: Change) -> ChangePlan:
        """Impact, services and owners, conflicts, the slot's combined impact, window findings,
        single points of failure and the scored risk of ``change``, with what it does not know."""
        now = self.clock()
        report = self.impact_of(change)
        impacted_uids = [ci.uid for ci in report.impacted]
        cis = self.store.get_cis(impacted_uids)
        impacted = tuple(self._planned(ci) for ci in report.impacted)
        services = tuple(
            ServiceNotice(uid=s.uid, name=s.name, ci_class=s.ci_class, grade=s.grade.value, owner=s.owner,
                          criticality=_text(cis[s.uid].attributes.get("criticality")) if s.uid in cis else None)
            for s in report.services
        )
        owners = tuple(sorted(set(report.owners) | {s.owner for s in services if s.owner}))
        rivals = self._overlapping(change)
        conflicts = tuple(self._conflicts(report, {s.uid for s in services}, rivals))
        combined = self._combined(change, report, rivals)
        findings = tuple(self._window_findings(change, impacted_uids))
        stale, weak = self._weak_data(report.impacted, cis, now)
        failed = self._recent_failures(change)
        changed = set(change.cis)
        spofs, spof_note = self._single_points(report)
        truncated_by = tuple(t.value for t in report.truncated_by) or (("max_nodes",) if report.truncated else ())
        uncertainty: list[str] = []
        if truncated_by:
            uncertainty.append(f"impact truncated by {', '.join(truncated_by)} (max_depth {self.options.max_depth}, "
                               f"max_nodes {self.options.max_nodes}): more CIs and services may be impacted")
        if stale:
            uncertainty.append(f"stale evidence: {'; '.join(stale[:5])}" + (
                f" (+{len(stale) - 5} more)" if len(stale) > 5 else ""))
        if weak:
            uncertainty.append(f"low-confidence evidence: {'; '.join(weak[:5])}" + (
                f" (+{len(weak) - 5} more)" if len(weak) > 5 else ""))
        if spof_note:
            uncertainty.append(spof_note)
        risk = score(RiskInputs(
            action=change.action,
            impacted_beyond_change=sum(1 for uid in impacted_uids if uid not in changed),
            services=tuple(ServiceRisk(s.name, s.grade, s.criticality) for s in services),
            # A CI that needs every input (size == required) has no redundancy to lose: its inputs show up
            # as single points of failure instead.
            margins=tuple(MarginRisk(p.name, p.margin) for p in impacted
                          if p.margin is not None and p.uid not in changed
                          and (p.margin >= 0 or p.redundant_group)),
            single_points=tuple(f"{p.name} (takes down {', '.join(p.service_names)})" for p in spofs if p.changed),
            failed_changes=tuple(c.title for c in failed),
            stale=tuple(stale),
            low_confidence=tuple(weak),
            conflicts=tuple(c.title for c in conflicts),
            blackouts=tuple(f.label for f in findings if f.kind is FindingKind.BLACKOUT),
            truncated=truncated_by,
        ), self.rules)
        return ChangePlan(
            change_uid=change.uid, title=change.title, action=change.action, window=change.window,
            requester=change.requester, cis=change.cis, computed_at=now, impacted=impacted,
            truncated=report.truncated, services=services, owners=owners, conflicts=conflicts,
            findings=findings, risk=risk, topology=self.topology_facts(impacted_uids),
            truncated_by=truncated_by, uncertain=bool(uncertainty), uncertainty=tuple(uncertainty),
            single_points_of_failure=spofs, combined=combined,
        )

    @staticmethod
    def _planned(ci: ImpactedCI) -> PlannedImpact:
        group = ci.redundancy
        return PlannedImpact(
            uid=ci.uid, name=ci.name, ci_class=ci.ci_class, grade=ci.grade.value, depth=ci.depth,
            explanation=ci.explanation, path=tuple(_hop(s) for s in ci.path), margin=_redundancy_margin(ci),
            group_up=group.up if group else None, group_size=group.size if group else None,
            group_required=group.required if group else None,
        )

    # -- single points of failure ------------------------------------------------------------
    def _single_points(self, report: ImpactReport) -> tuple[tuple[SinglePoint, ...], str | None]:
        """Impacted CIs whose loss alone takes one of the impacted services down."""
        impacted = report.by_uid()
        services = report.services[:SPOF_SERVICES]
        note = None
        if len(report.services) > SPOF_SERVICES:
            note = (f"single points of failure checked for {SPOF_SERVICES} of {len(report.services)} "
                    "impacted services")
        takes_down: dict[str, list[tuple[str, str]]] = {}
        opts = self.options
        for svc in services:
            try:
                found = self.impact_engine.single_points_of_failure(
                    svc.uid, max_depth=opts.max_depth, rel_types=opts.rel_types,
                    min_confidence=opts.min_confidence)
            except ImpactError:
                continue
            if found.truncated and note is None:
                note = f"single points of failure of {svc.name} checked on a truncated dependency graph"
            for spof in found.spofs:
                if spof.uid in impacted:
                    takes_down.setdefault(spof.uid, []).append((svc.uid, svc.name))
        changed = {ci.uid for ci in report.impacted if ci.depth == 0}
        points = tuple(
            SinglePoint(uid=uid, name=impacted[uid].name, ci_class=impacted[uid].ci_class,
                        services=tuple(s for s, _ in svcs), service_names=tuple(n for _, n in svcs),
                        changed=uid in changed)
            for uid, svcs in sorted(takes_down.items(), key=lambda kv: (impacted[kv[0]].depth, impacted[kv[0]].name))
        )
        return points, note

    # -- conflicts and the slot ------------------------------------------------------------------
    def _overlapping(self, change: Change) -> list[tuple[Change, ImpactReport]]:
        """Open changes whose window overlaps this one's, with their own impact."""
        others = self.repository.list_changes(ChangeFilter(
            states=self.options.conflict_states, overlapping=change.window, limit=1000))
        found: list[tuple[Change, ImpactReport]] = []
        for other in others:
            if other.uid == change.uid:
                continue
            try:
                found.append((other, self.impact_of(other)))
            except InvalidChange:
                continue  # its CIs are gone from the graph: nothing left to share
        return found

    def _conflicts(self, ours: ImpactReport, services: set[str],
                   rivals: list[tuple[Change, ImpactReport]]) -> Iterable[Conflict]:
        """Overlapping open changes whose impact shares a CI or service with this one's, and why."""
        mine = ours.by_uid()
        for other, theirs in rivals:
            their = theirs.by_uid()
            shared = sorted(set(mine) & set(their))
            if not shared:
                continue
            their_services = {s.uid for s in theirs.services}
            both_services = sorted(set(shared) & services & their_services)
            items = tuple(SharedImpact(uid=u, name=mine[u].name, ci_class=mine[u].ci_class,
                                       ours=mine[u].grade.value, theirs=their[u].grade.value,
                                       service=u in both_services) for u in shared)
            yield Conflict(
                change_uid=other.uid, title=other.title, state=other.state, window=other.window,
                shared_cis=tuple(shared), shared_services=tuple(both_services), shared=items,
                reason=_conflict_reason(other, items),
            )

    def _combined(self, change: Change, ours: ImpactReport,
                  rivals: list[tuple[Change, ImpactReport]]) -> CombinedImpact | None:
        """The impact of the union of the CIs of this change and every overlapping open change."""
        if not rivals:
            return None
        union = tuple(dict.fromkeys([*change.cis, *(ci for other, _ in rivals for ci in other.cis)]))
        together = self.impact_of(change.model_copy(update={"cis": union}))
        alone: dict[str, str] = {}
        for report in (ours, *(r for _, r in rivals)):
            for ci in report.impacted:
                alone[ci.uid] = _worse(alone.get(ci.uid), ci.grade.value) or ci.grade.value
        service_uids = {s.uid for s in together.services}
        items = tuple(CombinedItem(uid=ci.uid, name=ci.name, ci_class=ci.ci_class, grade=ci.grade.value,
                                   alone=alone.get(ci.uid), explanation=ci.explanation,
                                   service=ci.uid in service_uids) for ci in together.impacted)
        worse = tuple(i for i in items if _GRADE_RANK[i.grade] > _GRADE_RANK.get(i.alone or "", 0))
        return CombinedImpact(changes=(change.uid, *(o.uid for o, _ in rivals)), cis=union, impacted=items,
                              worse=worse, truncated=together.truncated)

    # -- windows -----------------------------------------------------------------------------
    def _window_findings(self, change: Change, impacted: list[str]) -> Iterable[WindowFinding]:
        impacted_set = set(impacted)
        for window in self.repository.windows_for(impacted, overlapping=change.window):
            if window.kind is WindowKind.BLACKOUT:
                yield WindowFinding(kind=FindingKind.BLACKOUT, window_uid=window.uid, label=window.label,
                                    window=window.window,
                                    subjects=tuple(s for s in window.subjects if s in impacted_set))
        # A changed CI that declares maintenance windows expects its changes inside one of them.
        maintenance = [w for w in self.repository.windows_for(list(change.cis)) if w.kind is WindowKind.MAINTENANCE]
        outside: dict[str, list[str]] = {}
        for ci in change.cis:
            own = [w for w in maintenance if ci in w.subjects]
            if own and not any(w.window.contains(change.window) for w in own):
                for w in own:
                    outside.setdefault(w.uid, []).append(ci)
        for window in maintenance:
            if window.uid in outside:
                yield WindowFinding(kind=FindingKind.OUTSIDE_MAINTENANCE, window_uid=window.uid, label=window.label,
                                    window=window.window, subjects=tuple(outside[window.uid]))

    # -- risk inputs ---------------------------------------------------------------------------
    def _recent_failures(self, change: Change) -> list[Change]:
        """Failed changes on any of the same CIs that failed within the lookback before this one starts.

        Keyed by when each actually failed (its review's actual end, else when it was
        closed), not by its planned window: a change planned long ago that failed last
        week is a recent failure.
        """
        lookback = int(self.rules.failed_changes.lookback_days * _DAY_MS)
        found: dict[str, tuple[int, Change]] = {}
        for ci in change.cis:
            for other in self.repository.list_changes(ChangeFilter(states=(ChangeState.DONE,), ci=ci, limit=1000)):
                failed_at = other.failed_at
                if other.uid == change.uid or other.outcome is not ChangeOutcome.FAILED or failed_at is None:
                    continue
                if change.window.start - lookback <= failed_at <= change.window.start:
                    found[other.uid] = (failed_at, other)
        return [c for _, c in sorted(found.values(), key=lambda fc: (fc[0], fc[1].uid))]

    def _weak_data(self, impacted: list[ImpactedCI], cis: dict[str, CI], now: int) -> tuple[list[str], list[str]]:
        """Stale CIs and old or low-confidence relationships on the explanation paths."""
        dq = self.rules.data_quality
        stale: list[str] = []
        weak: list[str] = []
        for ci in impacted:
            stored = cis.get(ci.uid)
            if stored is not None and stored.status.value != "active":
                stale.append(f"{ci.name} is {stored.status.value}")
        hops: dict[str, tuple[str, str, str]] = {}
        names = {ci.uid: ci.name for ci in impacted}
        for ci in impacted:
            for step in ci.path:
                if step.rel_type and step.rel_source and step.rel_target:
                    hops[rel_uid(step.rel_source, step.rel_type, step.rel_target)] = (
                        step.rel_source, step.rel_type, step.rel_target)
        rels = self.store.get_relationships(list(hops))
        for uid in sorted(hops):
            src, rtype, dst = hops[uid]
            label = f"{names.get(src, src)} -[{rtype}]-> {names.get(dst, dst)}"
            rel = rels.get(uid)
            if rel is None:
                continue
            age_days = (now - rel.evidence.last_seen) / _DAY_MS
            if rel.status.value != "active" or age_days > dq.stale_after_days:
                stale.append(f"{label} last seen {age_days:.0f} day(s) ago")
            if rel.evidence.method in _UNCERTAIN and rel.evidence.confidence < dq.low_confidence_below:
                weak.append(f"{label} ({rel.evidence.method}, confidence {rel.evidence.confidence:.2f})")
        return stale, weak

    # -- topology facts ----------------------------------------------------------------------------
    def topology_facts(self, uids: Collection[str]) -> TopologyFacts:
        """Every propagating relationship touching ``uids`` (stale ones included) and the CIs at their ends."""
        rels = [r for r in self.store.neighbours(list(uids), Direction.BOTH) if r.type in self._propagating]
        ends = set(uids) | {r.source_uid for r in rels} | {r.target_uid for r in rels}
        cis = self.store.get_cis(ends)

        def name(uid: str) -> str:
            ci = cis.get(uid)
            return ci.name if ci is not None else uid

        edges = tuple(
            EdgeFact(uid=r.uid, type=r.type, source=r.source_uid, target=r.target_uid,
                     source_name=name(r.source_uid), target_name=name(r.target_uid), status=r.status.value,
                     method=r.evidence.method, confidence=r.evidence.confidence, first_seen=r.evidence.first_seen)
            for r in sorted(rels, key=lambda r: r.uid)
        )
        facts = tuple(
            CIFact(uid=ci.uid, name=ci.name, ci_class=ci.ci_class, status=ci.status.value,
                   criticality=_text(ci.attributes.get("criticality")), min_up=_text(ci.attributes.get("min_up")),
                   owner=_text(ci.attributes.get("owner")))
            for ci in sorted(cis.values(), key=lambda c: c.uid)
        )
        return TopologyFacts(relationships=edges, cis=facts)


def _conflict_reason(other: Change, shared: tuple[SharedImpact, ...]) -> str:
    """Which shared service (else CI) makes ``other`` a conflict, and how each change grades it."""
    named = [i for i in shared if i.service] or list(shared)
    parts = [f"{i.name} ({i.ci_class}): {i.ours} here, {i.theirs} under {other.title!r}" for i in named[:3]]
    more = f" (+{len(named) - 3} more)" if len(named) > 3 else ""
    what = "services" if named and named[0].service else "CIs"
    return f"both changes impact the same {what} in overlapping windows: {'; '.join(parts)}{more}"
