"""Exports of a change plan: Markdown for a CAB meeting, CSV for spreadsheets, JSON for tools."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from cmdb.changes.drift import DriftReport
from cmdb.changes.model import TimeWindow
from cmdb.changes.plan import ChangePlan, FindingKind

CSV_COLUMNS = ("section", "uid", "name", "class", "grade", "depth", "owner", "detail")


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
    """One row per impacted CI, service, conflict, window finding and risk factor (``section`` says which)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for item in plan.impacted:
        writer.writerow(("impact", item.uid, item.name, item.ci_class, item.grade, item.depth, "", item.explanation))
    for svc in plan.services:
        writer.writerow(("service", svc.uid, svc.name, svc.ci_class, svc.grade, "", svc.owner or "",
                         f"criticality {svc.criticality or 'unknown'}"))
    for conflict in plan.conflicts:
        writer.writerow(("conflict", conflict.change_uid, conflict.title, "", "", "", "",
                         f"{conflict.state.value}; {_span(conflict.window)}; shares {len(conflict.shared_cis)} CI(s)"))
    for finding in plan.findings:
        writer.writerow((finding.kind.value, finding.window_uid, finding.label, "", "", "", "",
                         f"{_span(finding.window)}; on {', '.join(finding.subjects)}"))
    for factor in plan.risk.factors:
        writer.writerow(("risk", factor.name, factor.name, "", "", "", "", f"{factor.points:g} points: {factor.detail}"))
    writer.writerow(("risk", "score", "score", "", plan.risk.level, "", "", f"{plan.risk.score:g}"))
    return out.getvalue()


def to_markdown(plan: ChangePlan) -> str:
    """A self-contained CAB document: change, impact summary, services, owners, conflicts, windows, risk."""
    names = plan.impacted_by_uid()
    down = [i for i in plan.impacted if i.grade == "down"]
    degraded = [i for i in plan.impacted if i.grade == "degraded"]
    changed = [names[u].name if u in names else u for u in plan.cis]
    lines = [
        f"# Change plan: {plan.title}",
        "",
        f"- **Change:** `{plan.change_uid}`",
        f"- **Action:** {plan.action.value} of {', '.join(changed)}",
        f"- **Window:** {_span(plan.window)}",
        f"- **Requester:** {plan.requester}",
        f"- **Risk:** {plan.risk.level.upper()} (score {plan.risk.score:g})",
        f"- **Computed:** {_when(plan.computed_at)}",
        "",
        "## Impact summary",
        "",
        f"{len(plan.impacted)} CI(s) impacted: {len(down)} down, {len(degraded)} degraded; "
        f"{len(plan.services)} application(s) or business service(s); {len(plan.owners)} owner(s) to notify."
        + (" **The answer is truncated** (depth or node budget): impact may be wider." if plan.truncated else ""),
        "",
        "| CI | Class | Grade | Depth | Why |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {_cell(i.name)} | {i.ci_class} | {i.grade} | {i.depth} | {_cell(i.explanation)} |"
              for i in plan.impacted]
    lines += ["", "## Services", ""]
    if plan.services:
        lines += ["| Service | Class | Grade | Criticality | Owner |", "|---|---|---|---|---|"]
        lines += [f"| {_cell(s.name)} | {s.ci_class} | {s.grade} | {_cell(s.criticality or 'unknown')} "
                  f"| {_cell(s.owner or 'no owner recorded')} |" for s in plan.services]
    else:
        lines.append("No application or business service is impacted.")
    lines += ["", "## Owners to notify", ""]
    lines += [f"- {o}" for o in plan.owners] or ["No owner recorded on the impacted services."]
    lines += ["", "## Conflicts", ""]
    if plan.conflicts:
        lines += ["| Change | State | Window | Shared services | Shared CIs |", "|---|---|---|---|---|"]
        for c in plan.conflicts:
            shared_services = ", ".join(names[u].name if u in names else u for u in c.shared_services) or "-"
            shared = ", ".join(names[u].name if u in names else u for u in c.shared_cis)
            lines.append(f"| {_cell(c.title)} (`{c.change_uid}`) | {c.state.value} | {_span(c.window)} "
                         f"| {_cell(shared_services)} | {_cell(shared)} |")
    else:
        lines.append("No other open change overlaps this window with a shared impact.")
    lines += ["", "## Windows", ""]
    if plan.findings:
        for f in plan.findings:
            what = "BLACKOUT violated" if f.kind is FindingKind.BLACKOUT else "Outside maintenance window"
            on = ", ".join(names[u].name if u in names else u for u in f.subjects)
            lines.append(f"- **{what}:** {f.label} ({_span(f.window)}) on {on}")
    else:
        lines.append("No blackout violated; the change respects declared maintenance windows.")
    lines += [
        "", "## Risk", "",
        f"Score **{plan.risk.score:g}** ({plan.risk.level}); the sum of the factors' points"
        f" x {plan.risk.multiplier:g} (the weight of action {plan.action.value}).",
        "",
        "| Factor | Value | Points | Detail |",
        "|---|---|---|---|",
    ]
    lines += [f"| {f.name} | {f.value:g} | {f.points:g} | {_cell(f.detail)} |" for f in plan.risk.factors]
    return "\n".join(lines) + "\n"


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
    lines += [f"- new conflict with `{c}`" for c in report.conflicts_added]
    lines += [f"- conflict gone with `{c}`" for c in report.conflicts_removed]
    lines += ["", "## Risk", "",
              f"{report.risk_before:g} ({report.level_before}) -> {report.risk_after:g} ({report.level_after})"]
    return "\n".join(lines) + "\n"
