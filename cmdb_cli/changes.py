"""``cmdb change ...``: record, plan, approve and export changes; check drift before implementing.

Who acts: the OS user running the command (``getpass.getuser()``). An admin listed
in the change models' ``cli_admins`` may act for someone else with ``--as NAME``
(e.g. to record a CAB decision taken in a meeting); anyone else is refused. Times
are ISO 8601 with an offset (``2027-02-08T22:00+01:00``, ``...Z``); nothing else.
"""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

# light: no planner, no numpy
from cmdb.changes.model import ChangeAction, ChangeModelKind, ChangeOutcome, ChangeState, WindowKind
from cmdb_cli.context import console, err_console, open_store, print_json, schema

if TYPE_CHECKING:
    from cmdb.changes import Change, ChangeService, Review
    from cmdb.changes.plan import ChangePlan
    from cmdb.store.protocol import GraphStore


StoreOpt = typer.Option(None, "--store", help="Store URL (default: CMDB_STORE_URL or the embedded SQLite file).")
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of text.")
AsOpt = typer.Option(None, "--as", help="Act as this person instead of the OS user (cli_admins only).")
#: Exit code of a lost compare-and-set (the change moved on meanwhile: read it again and retry).
EXIT_CONFLICT = 4
FORMATS = ("markdown", "csv", "json")


@contextlib.contextmanager
def _service(store_url: str | None) -> Iterator[tuple[ChangeService, GraphStore]]:
    """The change service over the store and a freshly loaded topology index; typed errors exit 1."""
    from cmdb.changes import ApprovalConflict, ChangeError
    from cmdb.changes.wiring import build_change_service
    from cmdb.impact import ImpactService
    from cmdb.topology.index import TopologyIndex

    store = open_store(store_url)
    cat = schema()
    index = TopologyIndex.load(store, cat)
    service = build_change_service(store, cat, ImpactService(index, cat))
    try:
        yield service, store
    except ApprovalConflict as exc:
        err_console.print(f"[red]conflict:[/red] {exc}")
        raise typer.Exit(code=EXIT_CONFLICT) from exc
    except ChangeError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    finally:
        service.repository.close()
        store.close()


def _time(text: str) -> int:
    """Epoch milliseconds from an ISO 8601 date and time with an offset; anything else is refused.

    Digits alone are refused: ``20270208`` is neither a time of day nor an offset
    (read as epoch milliseconds it was a moment of 1970), and a time without an
    offset is ambiguous across sites.
    """
    from cmdb.changes.timeparse import parse_instant

    try:
        return parse_instant(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _actor(service: ChangeService, as_: str | None) -> str:
    """The OS user, or ``as_`` when the OS user is one of the policy's ``cli_admins``."""
    user = getpass.getuser()
    if as_ is None or as_ == user:
        return user
    if user not in service.policy.cli_admins:
        raise typer.BadParameter(f"only cli_admins may act as someone else; you are {user!r}", param_hint="--as")
    return as_


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _resolve(store: GraphStore, ref: str) -> str:
    """A CI uid from a uid or an exact, unique name."""
    from cmdb.model import CIQuery

    if store.get_cis([ref]):
        return ref
    page = store.search(CIQuery(text=ref, limit=50))
    named = [ci.uid for ci in page.items if ci.attributes.get("name") == ref]
    if len(named) != 1:
        raise typer.BadParameter(f"{ref!r} is not a CI uid or the name of exactly one CI ({len(named)} match)")
    return named[0]


def _change_dict(change: Change) -> dict[str, Any]:
    return change.model_dump(mode="json")


def _print_plan(plan: ChangePlan, fmt: str) -> None:
    from cmdb.changes.export import to_csv, to_json, to_markdown

    if fmt == "json":
        console.out(to_json(plan), highlight=False)
    elif fmt == "csv":
        console.out(to_csv(plan), end="", highlight=False)
    else:
        console.out(to_markdown(plan), end="", highlight=False)


def _fmt(value: str) -> str:
    if value not in FORMATS:
        raise typer.BadParameter(f"format must be one of {', '.join(FORMATS)}")
    return value


def create(
    title: str = typer.Option(..., "--title", help="What the change does."),
    cis: list[str] = typer.Option(..., "--ci", help="A CI the change touches (uid or unique name); repeat."),
    action: ChangeAction = typer.Option(ChangeAction.OUTAGE, "--action", help="outage, restart, modify, decommission."),
    start: str = typer.Option(..., "--start", help="Window start: ISO 8601 with an offset."),
    end: str = typer.Option(..., "--end", help="Window end: ISO 8601 with an offset."),
    model: ChangeModelKind = typer.Option(ChangeModelKind.NORMAL, "--model", help="standard, normal or emergency."),
    template: str | None = typer.Option(None, "--template", help="The standard change template it instantiates."),
    description: str = typer.Option("", "--description", help="Free text for the CAB."),
    implementation_plan: str = typer.Option("", "--implementation-plan", help="How the change is carried out."),
    backout_plan: str = typer.Option("", "--backout-plan", help="How it is undone if it goes wrong."),
    test_plan: str = typer.Option("", "--test-plan", help="How success is verified."),
    as_: str | None = AsOpt,
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Record a draft change, requested by you (the OS user)."""
    from cmdb.changes import NewChange

    window = (_time(start), _time(end))
    with _service(store_url) as (service, store):
        change = service.create(NewChange(
            title=title, cis=tuple(_resolve(store, c) for c in cis), action=action, start=window[0], end=window[1],
            requester=_actor(service, as_), description=description, model=model, template=template,
            implementation_plan=implementation_plan, backout_plan=backout_plan, test_plan=test_plan))
    if as_json:
        print_json(_change_dict(change))
    else:
        console.print(f"created change {change.uid} ({change.state.value})")


def describe(
    uid: str = typer.Argument(..., help="The change's uid."),
    description: str | None = typer.Option(None, "--description"),
    implementation_plan: str | None = typer.Option(None, "--implementation-plan"),
    backout_plan: str | None = typer.Option(None, "--backout-plan"),
    test_plan: str | None = typer.Option(None, "--test-plan"),
    store_url: str | None = StoreOpt,
) -> None:
    """Set a change's description and its implementation, backout and test plans (before approval)."""
    with _service(store_url) as (service, _):
        service.describe(uid, description=description, implementation_plan=implementation_plan,
                         backout_plan=backout_plan, test_plan=test_plan)
    console.print(f"{uid} updated")


def move(
    uid: str = typer.Argument(..., help="The change's uid."),
    start: str = typer.Option(..., "--start", help="New window start: ISO 8601 with an offset."),
    end: str = typer.Option(..., "--end", help="New window end: ISO 8601 with an offset."),
    store_url: str | None = StoreOpt,
) -> None:
    """Move a change to another window (an approved change goes back for re-approval)."""
    window = (_time(start), _time(end))
    with _service(store_url) as (service, _):
        moved = service.reschedule(uid, *window)
    console.print(f"{uid} moved ({moved.state.value})")


def plan(
    uid: str = typer.Argument(..., help="The change's uid."),
    fmt: str = typer.Option("markdown", "--format", help="markdown, csv or json.", callback=_fmt),
    store_url: str | None = StoreOpt,
) -> None:
    """Plan a change: graded impact, services and owners, conflicts, windows, risk (a draft becomes planned)."""
    with _service(store_url) as (service, _):
        result = service.plan(uid)
    _print_plan(result, fmt)


def show(
    uid: str = typer.Argument(..., help="The change's uid."),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show a change, its approvals, its approval snapshot and its latest plan."""
    from cmdb.changes.export import change_to_markdown

    with _service(store_url) as (service, _):
        view = service.show(uid)
    if as_json:
        print_json({"change": _change_dict(view.change),
                    "plan": view.plan.model_dump(mode="json") if view.plan else None,
                    "snapshot": view.snapshot.model_dump(mode="json") if view.snapshot else None})
        return
    c = view.change
    console.print(f"[bold]{c.title}[/bold] ({c.uid})")
    console.print(f"state {c.state.value}{' / ' + c.outcome.value if c.outcome else ''}; {c.action.value}; "
                  f"{_when(c.window.start)} - {_when(c.window.end)}; requested by {c.requester}")
    if view.plan or view.snapshot:
        console.out(change_to_markdown(view), end="", highlight=False)
    else:
        console.print("not planned yet: run `cmdb change plan`")


def approve(
    uid: str = typer.Argument(..., help="The change's uid."),
    plan_version: int | None = typer.Option(None, "--plan-version",
                                            help="The plan version you reviewed (refused if it moved on)."),
    as_: str | None = AsOpt,
    store_url: str | None = StoreOpt,
) -> None:
    """Approve a planned change as yourself; when its risk level's approvals are complete, its plan is
    snapshotted (what `drift` compares with). Exit 4 when another approval or plan won the race."""
    with _service(store_url) as (service, _):
        outcome = service.approve(uid, _actor(service, as_), plan_version)
    plan = outcome.snapshot.plan if outcome.snapshot else None
    if plan is not None:
        console.print(f"approved {uid}: risk {plan.risk.score:g} ({plan.risk.level}), "
                      f"{len(plan.impacted)} CI(s) impacted")
    else:
        console.print(f"approval recorded on {uid} ({outcome.status.level} risk); still needed: "
                      f"{outcome.status.missing}")


def drift(
    uid: str = typer.Argument(..., help="The change's uid."),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """What changed in the topology and the impact since the change was approved (exit 3 when drifted)."""
    from cmdb.changes.export import drift_to_markdown

    with _service(store_url) as (service, _):
        report = service.drift(uid)
    if as_json:
        print_json(report.model_dump(mode="json") | {"drifted": report.drifted})
    else:
        console.out(drift_to_markdown(report), end="", highlight=False)
    if report.drifted:
        raise typer.Exit(code=3)


def export(
    uid: str = typer.Argument(..., help="The change's uid."),
    fmt: str = typer.Option("markdown", "--format", help="markdown, csv or json.", callback=_fmt),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    store_url: str | None = StoreOpt,
) -> None:
    """Export the change for a CAB: record, approvals, the approved snapshot and the current preview."""
    from cmdb.changes.export import change_to_csv, change_to_json, change_to_markdown

    with _service(store_url) as (service, _):
        view = service.show(uid)
        if view.plan is None and view.change.state.value not in ("done", "cancelled"):
            service.plan(uid)
            view = service.show(uid)
    text = {"markdown": change_to_markdown, "csv": change_to_csv, "json": change_to_json}[fmt](view)
    if output is None:
        console.out(text, end="" if text.endswith("\n") else "\n", highlight=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")


def list_changes(
    states: list[ChangeState] = typer.Option([], "--state", help="Only these states; repeat."),
    ci: str | None = typer.Option(None, "--ci", help="Only changes touching this CI (uid or unique name)."),
    requester: str | None = typer.Option(None, "--requester"),
    limit: int = typer.Option(100, "--limit", min=1, max=1000),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List changes by window start."""
    from cmdb.changes import ChangeFilter

    with _service(store_url) as (service, store):
        found = service.changes(ChangeFilter(states=tuple(states), ci=_resolve(store, ci) if ci else None,
                                             requester=requester, limit=limit))
    if as_json:
        print_json([_change_dict(c) for c in found])
        return
    table = Table("uid", "title", "action", "state", "window", "requester")
    for c in found:
        table.add_row(c.uid, c.title, c.action.value, c.state.value,
                      f"{_when(c.window.start)} - {_when(c.window.end)}", c.requester)
    console.print(table)


def start(uid: str = typer.Argument(...), store_url: str | None = StoreOpt) -> None:
    """Mark an approved change as in progress (inside its window; refused, and sent back for re-approval,
    when its risk level or services grew since approval)."""
    with _service(store_url) as (service, _):
        service.start(uid)
    console.print(f"{uid} in progress")


def complete(
    uid: str = typer.Argument(...),
    outcome: ChangeOutcome = typer.Option(..., "--outcome", help="succeeded or failed."),
    actual_start: str | None = typer.Option(None, "--actual-start", help="When work really began (ISO 8601)."),
    actual_end: str | None = typer.Option(None, "--actual-end", help="When it really ended (ISO 8601)."),
    incidents: list[str] = typer.Option([], "--incident", help="An incident it caused (reference or text); repeat."),
    notes: str = typer.Option("", "--notes", help="Post-implementation review notes."),
    store_url: str | None = StoreOpt,
) -> None:
    """Mark a running change done with its outcome and, given actual times, its post-implementation review
    (a failure raises the risk of later changes on the same CIs, from when it failed)."""
    review = _review(outcome, actual_start, actual_end, incidents, notes)
    with _service(store_url) as (service, _):
        service.complete(uid, outcome, review)
    console.print(f"{uid} done ({outcome.value})")


def review(
    uid: str = typer.Argument(...),
    outcome: ChangeOutcome = typer.Option(..., "--outcome", help="succeeded or failed."),
    actual_start: str = typer.Option(..., "--actual-start", help="When work really began (ISO 8601)."),
    actual_end: str = typer.Option(..., "--actual-end", help="When it really ended (ISO 8601)."),
    incidents: list[str] = typer.Option([], "--incident", help="An incident it caused (reference or text); repeat."),
    notes: str = typer.Option("", "--notes"),
    store_url: str | None = StoreOpt,
) -> None:
    """Record the post-implementation review of a done change."""
    found = _review(outcome, actual_start, actual_end, incidents, notes)
    assert found is not None
    with _service(store_url) as (service, _):
        service.record_review(uid, found)
    console.print(f"{uid} reviewed ({outcome.value})")


def _review(outcome: ChangeOutcome, start: str | None, end: str | None, incidents: list[str],
            notes: str) -> Review | None:
    from cmdb.changes import Review

    if start is None and end is None:
        if incidents or notes:
            raise typer.BadParameter("a review needs --actual-start and --actual-end", param_hint="--actual-start")
        return None
    if start is None or end is None:
        raise typer.BadParameter("give both --actual-start and --actual-end", param_hint="--actual-start")
    try:
        return Review(actual_start=_time(start), actual_end=_time(end), outcome=outcome, incidents=tuple(incidents),
                      notes=notes)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--actual-end") from exc


def cancel(uid: str = typer.Argument(...), store_url: str | None = StoreOpt) -> None:
    """Cancel a change that has not started."""
    with _service(store_url) as (service, _):
        service.cancel(uid)
    console.print(f"{uid} cancelled")


def window_add(
    kind: WindowKind = typer.Option(..., "--kind", help="maintenance or blackout."),
    label: str = typer.Option(..., "--label"),
    subjects: list[str] = typer.Option(..., "--ci", help="A CI or service (uid or unique name); repeat."),
    start: str = typer.Option(..., "--start", help="ISO 8601 with an offset."),
    end: str = typer.Option(..., "--end", help="ISO 8601 with an offset."),
    store_url: str | None = StoreOpt,
) -> None:
    """Declare a maintenance or blackout window on CIs or services (overlapping changes are re-planned)."""
    span = (_time(start), _time(end))
    with _service(store_url) as (service, store):
        window = service.add_window(kind, label, tuple(_resolve(store, s) for s in subjects), *span)
    console.print(f"window {window.uid} ({kind.value}) recorded")


def window_remove(uid: str = typer.Argument(..., help="The window's uid."), store_url: str | None = StoreOpt) -> None:
    """Withdraw a maintenance or blackout window."""
    with _service(store_url) as (service, _):
        service.remove_window(uid)
    console.print(f"window {uid} removed")


def window_list(store_url: str | None = StoreOpt, as_json: bool = JsonOpt) -> None:
    """List declared windows."""
    with _service(store_url) as (service, _):
        windows = service.windows()
    if as_json:
        print_json([w.model_dump(mode="json") for w in windows])
        return
    table = Table("uid", "kind", "label", "window", "on")
    for w in windows:
        table.add_row(w.uid, w.kind.value, w.label, f"{_when(w.window.start)} - {_when(w.window.end)}",
                      ", ".join(w.subjects))
    console.print(table)


def register(app: typer.Typer, discover_app: typer.Typer) -> None:
    """Add ``cmdb change ...`` (and ``cmdb change window ...``)."""
    change_app = typer.Typer(help="Plan changes: impact, conflicts, blackouts, risk; approve; check drift.",
                             no_args_is_help=True)
    for name, command in (("create", create), ("describe", describe), ("plan", plan), ("show", show),
                          ("approve", approve), ("drift", drift), ("export", export), ("list", list_changes),
                          ("move", move), ("start", start), ("complete", complete), ("review", review),
                          ("cancel", cancel)):
        change_app.command(name)(command)
    window_app = typer.Typer(help="Maintenance and blackout windows on CIs and services.", no_args_is_help=True)
    window_app.command("add")(window_add)
    window_app.command("list")(window_list)
    window_app.command("remove")(window_remove)
    change_app.add_typer(window_app, name="window")
    app.add_typer(change_app, name="change")
