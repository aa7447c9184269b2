"""Exports of a change plan and of a change: Markdown for a CAB meeting, CSV for spreadsheets, JSON for tools.

``to_markdown`` / ``to_csv`` / ``to_json`` export one plan. ``change_to_markdown`` /
``change_to_csv`` / ``change_to_json`` export what a CAB reads about a change: its
record (description, model, state, plans, approvers and times, review) and, side
by side and labelled, the **approved** snapshot and the **current** preview.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cmdb.changes.drift import DriftReport
from cmdb.changes.model import Change, TimeWindow
from cmdb.changes.plan import ChangePlan, FindingKind, Snapshot

if TYPE_CHECKING:
    from cmdb.changes.service import ChangeView

CSV_COLUMNS = ("section", "uid", "name", "class", "grade", "depth", "owner", "detail")
#: The change export adds which plan a row belongs to: ``approved`` (the snapshot), ``current`` (the preview),
#: or empty for the change record itself.
CHANGE_CSV_COLUMNS = (*CSV_COLUMNS, "plan")


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _span(window: TimeWindow) -> str:
    return f"{_when(window.start)} - {_when(window.end)}"


def _cell(value: object) -> str:
    """A Markdown table cell: pipes escaped, newlines flattened."""
    return str("" if value is None else value).replace("|", "\\|").replace("\n", " ")


def to_json(plan: ChangePlan) -> str:
    """The whole plan as JSON (the same document the snapshot keeps)."""
    return json.dumps(plan.model_dump(mode="json"), indent=2, sort_keys=True)


def to_csv(plan: ChangePlan) -> str:
    """One row per flag, impacted CI, service, conflict, window finding and risk factor (``section`` says which)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in _plan_rows(plan):
        writer.writerow(row)
    return out.getvalue()


def _plan_rows(plan: ChangePlan) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = [
        ("flag", "version", "version", "", "", "", "", str(plan.version)),
        ("flag", "truncated", "truncated", "", "", "", "",
         f"true ({', '.join(plan.truncated_by)})" if plan.truncated else "false"),
        ("flag", "uncertain", "uncertain", "", "", "", "",
         ("true: " + "; ".join(plan.uncertainty)) if plan.uncertain else "false"),
    ]
    writer = _Rows(rows)
    for item in plan.impacted:
        writer.writerow(("impact", item.uid, item.name, item.ci_class, item.grade, item.depth, "", item.explanation))
    for svc in plan.services:
        writer.writerow(("service", svc.uid, svc.name, svc.ci_class, svc.grade, "", svc.owner or "",
                         f"criticality {svc.criticality or 'unknown'}"))
    for conflict in plan.conflicts:
        writer.writerow(("conflict", conflict.change_uid, conflict.title, "", "", "", "",
                         f"{conflict.state.value}; {_span(conflict.window)}; shares {len(conflict.shared_cis)} CI(s);"
                         f" {conflict.reason}"))
    for spof in plan.single_points_of_failure:
        writer.writerow(("single_point_of_failure", spof.uid, spof.name, spof.ci_class, "", "", "",
                         f"alone takes down {', '.join(spof.service_names)}" + ("; changed" if spof.changed else "")))
    if plan.combined is not None:
        for combined in plan.combined.impacted:
            writer.writerow(("combined", combined.uid, combined.name, combined.ci_class, combined.grade, "", "",
                             f"alone: {combined.alone or 'not impacted'}"
                             + ("; worse together" if combined in plan.combined.worse else "")))
    for finding in plan.findings:
        writer.writerow((finding.kind.value, finding.window_uid, finding.label, "", "", "", "",
                         f"{_span(finding.window)}; on {', '.join(finding.subjects)}"))
    for factor in plan.risk.factors:
        writer.writerow(("risk", factor.name, factor.name, "", "", "", "", f"{factor.points:g} points: {factor.detail}"))
    for floor in plan.risk.floors:
        writer.writerow(("risk", "floor", "floor", "", "", "", "", floor))
    writer.writerow(("risk", "score", "score", "", plan.risk.level, "", "", f"{plan.risk.score:g}"))
    return rows


class _Rows:
    """A list that takes rows the way csv.writer does (one call per row)."""

    def __init__(self, rows: list[tuple[object, ...]]) -> None:
        self.rows = rows

    def writerow(self, row: tuple[object, ...]) -> None:
        self.rows.append(row)


def to_markdown(plan: ChangePlan) -> str:
    """A self-contained CAB document: change, impact summary, services, owners, conflicts, the slot's
    combined impact, single points of failure, windows, risk, and what the plan does not know."""
    changed = _changed_names(plan)
    lines = [
        f"# Change plan: {plan.title}",
        "",
        f"- **Change:** `{plan.change_uid}` (plan version {plan.version})",
        f"- **Action:** {plan.action.value} of {', '.join(changed)}",
        f"- **Window:** {_span(plan.window)}",
        f"- **Requester:** {plan.requester}",
        f"- **Risk:** {plan.risk.level.upper()} (score {plan.risk.score:g})"
        + (" — **UNCERTAIN**" if plan.uncertain else ""),
        f"- **Computed:** {_when(plan.computed_at)}",
        "",
    ]
    lines += _plan_sections(plan, "##")
    return "\n".join(lines) + "\n"


def _changed_names(plan: ChangePlan) -> list[str]:
    names = plan.impacted_by_uid()
    return [names[u].name if u in names else u for u in plan.cis]


def _plan_sections(plan: ChangePlan, h: str) -> list[str]:
    """The body of a plan document, its headings at level ``h``."""
    names = plan.impacted_by_uid()
    down = [i for i in plan.impacted if i.grade == "down"]
    degraded = [i for i in plan.impacted if i.grade == "degraded"]

    def name(uid: str) -> str:
        return names[uid].name if uid in names else uid

    lines = [f"{h} Impact summary", "",
             f"{len(plan.impacted)} CI(s) impacted: {len(down)} down, {len(degraded)} degraded; "
             f"{len(plan.services)} application(s) or business service(s); {len(plan.owners)} owner(s) to notify."
             + (f" **The answer is truncated** ({', '.join(plan.truncated_by) or 'depth or node budget'}): "
                "impact may be wider." if plan.truncated else ""),
             ""]
    if plan.uncertain:
        lines += ["**Uncertain:** " + "; ".join(plan.uncertainty), ""]
    lines += ["| CI | Class | Grade | Depth | Why |", "|---|---|---|---|---|"]
    lines += [f"| {_cell(i.name)} | {i.ci_class} | {i.grade} | {i.depth} | {_cell(i.explanation)} |"
              for i in plan.impacted]
    lines += ["", f"{h} Services", ""]
    if plan.services:
        lines += ["| Service | Class | Grade | Criticality | Owner |", "|---|---|---|---|---|"]
        lines += [f"| {_cell(s.name)} | {s.ci_class} | {s.grade} | {_cell(s.criticality or 'unknown')} "
                  f"| {_cell(s.owner or 'no owner recorded')} |" for s in plan.services]
    else:
        lines.append("No application or business service is impacted.")
    lines += ["", f"{h} Owners to notify", ""]
    lines += [f"- {o}" for o in plan.owners] or ["No owner recorded on the impacted services."]
    lines += ["", f"{h} Single points of failure", ""]
    if plan.single_points_of_failure:
        lines += [f"- **{_cell(p.name)}** ({p.ci_class}){' — changed by this change' if p.changed else ''}: "
                  f"alone takes down {', '.join(p.service_names)}" for p in plan.single_points_of_failure]
    else:
        lines.append("No impacted CI alone takes an impacted service down.")
    lines += ["", f"{h} Conflicts", ""]
    if plan.conflicts:
        lines += ["| Change | State | Window | Shared services | Shared CIs | Why |", "|---|---|---|---|---|---|"]
        for c in plan.conflicts:
            shared_services = ", ".join(name(u) for u in c.shared_services) or "-"
            shared = ", ".join(name(u) for u in c.shared_cis)
            lines.append(f"| {_cell(c.title)} (`{c.change_uid}`) | {c.state.value} | {_span(c.window)} "
                         f"| {_cell(shared_services)} | {_cell(shared)} | {_cell(c.reason)} |")
    else:
        lines.append("No other open change overlaps this window with a shared impact.")
    lines += ["", f"{h} Combined impact of the slot", ""]
    if plan.combined is None:
        lines.append("No other open change overlaps this window.")
    else:
        cb = plan.combined
        lines.append(f"With the {len(cb.changes) - 1} overlapping open change(s), the slot takes "
                     f"{sum(1 for i in cb.impacted if i.grade == 'down')} CI(s) down and degrades "
                     f"{sum(1 for i in cb.impacted if i.grade == 'degraded')}"
                     + (" (truncated)." if cb.truncated else "."))
        if cb.worse:
            lines += ["", "Worse together than under any one change alone:", "",
                      "| CI | Class | Together | Alone | Why |", "|---|---|---|---|---|"]
            lines += [f"| {_cell(i.name)} | {i.ci_class} | {i.grade} | {i.alone or 'not impacted'} "
                      f"| {_cell(i.explanation)} |" for i in cb.worse]
        else:
            lines += ["", "Nothing fares worse together than under one change alone."]
    lines += ["", f"{h} Windows", ""]
    if plan.findings:
        for f in plan.findings:
            what = "BLACKOUT violated" if f.kind is FindingKind.BLACKOUT else "Outside maintenance window"
            on = ", ".join(name(u) for u in f.subjects)
            lines.append(f"- **{what}:** {f.label} ({_span(f.window)}) on {on}")
    else:
        lines.append("No blackout violated; the change respects declared maintenance windows.")
    lines += [
        "", f"{h} Risk", "",
        f"Score **{plan.risk.score:g}** ({plan.risk.level}): the discountable factors' points"
        f" x {plan.risk.multiplier:g} (the weight of action {plan.action.value}), plus conflicts and blackout.",
    ]
    lines += [f"Floor: {f}." for f in plan.risk.floors]
    lines += ["", "| Factor | Value | Points | Detail |", "|---|---|---|---|"]
    lines += [f"| {f.name} | {f.value:g} | {f.points:g} | {_cell(f.detail)} |" for f in plan.risk.factors]
    return lines


# -- the change, for a CAB ------------------------------------------------------------------------

def _summary_rows(approved: ChangePlan | None, current: ChangePlan | None) -> list[tuple[str, str, str]]:
    def facts(p: ChangePlan | None) -> list[str]:
        if p is None:
            return ["-"] * 12
        down = sum(1 for i in p.impacted if i.grade == "down")
        return [str(p.version), _when(p.computed_at), f"{p.risk.level} ({p.risk.score:g})",
                "yes: " + "; ".join(p.uncertainty) if p.uncertain else "no",
                f"yes ({', '.join(p.truncated_by)})" if p.truncated else "no",
                f"{len(p.impacted)} ({down} down)",
                ", ".join(f"{s.name} ({s.grade})" for s in p.services) or "none",
                ", ".join(p.owners) or "none",
                ", ".join(c.title for c in p.conflicts) or "none",
                ", ".join(f.label for f in p.findings if f.kind is FindingKind.BLACKOUT) or "none",
                ", ".join(s.name for s in p.single_points_of_failure) or "none",
                ", ".join(i.name for i in p.combined.worse) if p.combined and p.combined.worse else "none"]

    labels = ["Plan version", "Computed", "Risk", "Uncertain", "Truncated", "CIs impacted", "Services",
              "Owners", "Conflicts", "Blackouts", "Single points of failure", "Worse together in the slot"]
    return list(zip(labels, facts(approved), facts(current), strict=True))


def _record_lines(change: Change, snapshot: Snapshot | None) -> list[str]:
    lines = [
        f"- **Change:** `{change.uid}`",
        f"- **Model:** {change.model.value}" + (f" (template {change.template})" if change.template else ""),
        f"- **State:** {change.state.value}" + (f" ({change.outcome.value})" if change.outcome else "")
        + (f" — needs re-approval: {change.reapproval_reason}" if change.reapproval_reason else ""),
        f"- **Action:** {change.action.value}",
        f"- **Window:** {_span(change.window)}" + (" (recorded after the fact)" if change.recorded_after_fact else ""),
        f"- **Requester:** {change.requester}",
    ]
    if snapshot is not None:
        lines.append("- **Approved:** " + "; ".join(f"{a.approver} at {_when(a.at)} (plan version {a.plan_version})"
                                                     for a in (snapshot.approvals or ())) if snapshot.approvals
                     else f"- **Approved:** {snapshot.approved_by} at {_when(snapshot.approved_at)}")
    pending = [a for a in change.approvals if snapshot is None or a not in snapshot.approvals]
    if pending and change.state.value == "planned":
        lines.append("- **Approvals so far:** " + "; ".join(f"{a.approver} at {_when(a.at)}" for a in pending))
    if snapshot is None:
        lines.append("- **Approved:** not yet")
    lines += ["", "## Description", "", change.description or "(none given)", "",
              "## Implementation plan", "", change.implementation_plan or "(none given)", "",
              "## Backout plan", "", change.backout_plan or "(none given)", "",
              "## Test plan", "", change.test_plan or "(none given)", ""]
    if change.review is not None:
        r = change.review
        lines += ["## Post-implementation review", "",
                  f"- **Outcome:** {r.outcome.value}",
                  f"- **Actual start / end:** {_when(r.actual_start)} / {_when(r.actual_end)}",
                  f"- **Incidents:** {', '.join(r.incidents) or 'none'}"]
        if r.notes:
            lines.append(f"- **Notes:** {r.notes}")
        lines.append("")
    return lines


def change_to_markdown(view: ChangeView) -> str:
    """The change for a CAB: record, approvals, then the approved snapshot and the current preview side by
    side (labelled), then the current preview in full (or the approved plan when there is no preview)."""
    change, snapshot, current = view.change, view.snapshot, view.plan
    approved = snapshot.plan if snapshot is not None else None
    lines = [f"# Change: {change.title}", ""]
    lines += _record_lines(change, snapshot)
    lines += ["## Approved snapshot and current preview", "",
              "| | Approved snapshot | Current preview |", "|---|---|---|"]
    lines += [f"| {label} | {_cell(a)} | {_cell(b)} |" for label, a, b in _summary_rows(approved, current)]
    lines.append("")
    if current is not None:
        lines += [f"## Current preview (plan version {current.version}, computed {_when(current.computed_at)})", ""]
        lines += _plan_sections(current, "###")
    elif approved is not None:
        lines += [f"## Approved snapshot (plan version {approved.version})", ""]
        lines += _plan_sections(approved, "###")
    else:
        lines.append("Not planned yet.")
    return "\n".join(lines) + "\n"


def change_to_csv(view: ChangeView) -> str:
    """The change's record rows, then every plan row of the approved snapshot and of the current preview,
    each labelled in the ``plan`` column."""
    change, snapshot = view.change, view.snapshot
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CHANGE_CSV_COLUMNS)
    record: list[tuple[object, ...]] = [
        ("change", change.uid, change.title, change.model.value, change.state.value, "", change.requester,
         change.description),
        ("change", "window", "window", "", "", "", "", _span(change.window)),
        ("change", "implementation_plan", "implementation plan", "", "", "", "", change.implementation_plan),
        ("change", "backout_plan", "backout plan", "", "", "", "", change.backout_plan),
        ("change", "test_plan", "test plan", "", "", "", "", change.test_plan),
    ]
    if change.reapproval_reason:
        record.append(("change", "reapproval", "needs re-approval", "", "", "", "", change.reapproval_reason))
    for a in (snapshot.approvals if snapshot else change.approvals):
        record.append(("approval", a.approver, a.approver, "", "", "", "",
                        f"{_when(a.at)}; plan version {a.plan_version}"))
    if change.review is not None:
        r = change.review
        record.append(("review", change.uid, r.outcome.value, "", "", "", "",
                       f"{_when(r.actual_start)} - {_when(r.actual_end)}; incidents: {', '.join(r.incidents) or 'none'}"))
    for row in record:
        writer.writerow((*row, ""))
    if snapshot is not None:
        for row in _plan_rows(snapshot.plan):
            writer.writerow((*row, "approved"))
    if view.plan is not None:
        for row in _plan_rows(view.plan):
            writer.writerow((*row, "current"))
    return out.getvalue()


def change_to_json(view: ChangeView) -> str:
    """``{"change": ..., "approved": {snapshot} | null, "current": {plan} | null}``."""
    return json.dumps({
        "change": view.change.model_dump(mode="json"),
        "approved": view.snapshot.model_dump(mode="json") if view.snapshot else None,
        "current": view.plan.model_dump(mode="json") if view.plan else None,
    }, indent=2, sort_keys=True)


def drift_to_markdown(report: DriftReport) -> str:
    """A readable drift report: topology changes, then impact changes, then risk."""
    lines = [f"# Drift of change `{report.change_uid}` since approval ({_when(report.approved_at)})", ""]
    if not report.drifted:
        return "\n".join([*lines, "No drift: topology and impact are as approved."]) + "\n"
    lines += ["## Topology", ""]
    lines += [f"- added: {e.describe()}" for e in report.relationships_added]
    lines += [f"- removed: {e.describe()} (now {e.after or 'gone'})" for e in report.relationships_removed]
    lines += [f"- changed: {e.describe()} ({e.before} -> {e.after})" for e in report.relationships_changed]
    lines += [f"- {c.name}: {c.attribute} {c.before} -> {c.after}" for c in report.ci_changes]
    lines += ["", "## Impact", ""]
    lines += [f"- newly impacted: {g.name} ({g.after}: {g.after_explanation})" for g in report.impacted_added]
    lines += [f"- no longer impacted: {g.name} (was {g.before})" for g in report.impacted_removed]
    lines += [f"- {g.name}: {g.before} -> {g.after} ({g.after_explanation})" for g in report.grade_changes]
    lines += [f"- service added: {g.name} ({g.after})" for g in report.services_added]
    lines += [f"- service removed: {g.name}" for g in report.services_removed]
    lines += [f"- service {g.name}: {g.before} -> {g.after}" for g in report.service_grade_changes]
    lines += [f"- owner to notify: {o}" for o in report.owners_added]
    lines += [f"- owner no longer concerned: {o}" for o in report.owners_removed]
    lines += [f"- new window finding: {f}" for f in report.findings_added]
    lines += [f"- window finding gone: {f}" for f in report.findings_removed]
    lines += [f"- new conflict with `{c}`" for c in report.conflicts_added]
    lines += [f"- conflict gone with `{c}`" for c in report.conflicts_removed]
    lines += ["", "## Risk", "",
              f"{report.risk_before:g} ({report.level_before}) -> {report.risk_after:g} ({report.level_after})", ""]
    lines += [f"- {f.name}: {f.points_before:g} -> {f.points_after:g} ({f.detail_after}; was: {f.detail_before})"
              for f in report.risk_factor_changes]
    if report.reapproval:
        lines += ["", f"**Needs re-approval before it can start:** {report.reapproval}"]
    return "\n".join(lines) + "\n"
