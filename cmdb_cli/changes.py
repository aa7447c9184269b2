"""``cmdb change ...``: record, plan, approve and export changes; check drift before implementing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from cmdb.changes.model import ChangeAction, ChangeOutcome, ChangeState, WindowKind  # light: no planner, no numpy
from cmdb_cli.context import console, err_console, open_store, print_json, schema

if TYPE_CHECKING:
    from cmdb.changes import Change, ChangeService
    from cmdb.changes.plan import ChangePlan
    from cmdb.store.protocol import GraphStore


StoreOpt = typer.Option(None, "--store", help="Store URL (default: CMDB_STORE_URL or the embedded SQLite file).")
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of text.")
FORMATS = ("markdown", "csv", "json")


@contextlib.contextmanager
def _service(store_url: str | None) -> Iterator[tuple[ChangeService, GraphStore]]:
    """The change service over the store and a freshly loaded topology index; typed errors exit 1."""
    from cmdb.changes import ChangeError
    from cmdb.changes.wiring import build_change_service
    from cmdb.impact import ImpactService
    from cmdb.topology.index import TopologyIndex

    store = open_store(store_url)
    cat = schema()
    index = TopologyIndex.load(store, cat)
    service = build_change_service(store, cat, ImpactService(index, cat))
    try:
        yield service, store
    except ChangeError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    finally:
        service.repository.close()
        store.close()


def _time(text: str) -> int:
    """Epoch milliseconds from digits or an ISO 8601 time (UTC when no offset is given)."""
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is neither epoch milliseconds nor an ISO 8601 time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


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
    start: str = typer.Option(..., "--start", help="Window start: ISO 8601 (UTC default) or epoch ms."),
    end: str = typer.Option(..., "--end", help="Window end: ISO 8601 (UTC default) or epoch ms."),
    requester: str = typer.Option(..., "--requester", help="Who asks for the change."),
    description: str = typer.Option("", "--description", help="Free text for the CAB."),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Record a draft change."""
    from cmdb.changes import NewChange

    with _service(store_url) as (service, store):
        change = service.create(NewChange(title=title, cis=tuple(_resolve(store, c) for c in cis),
                                          action=action,
                                          start=_time(start), end=_time(end), requester=requester,
                                          description=description))
    if as_json:
        print_json(_change_dict(change))
    else:
        console.print(f"created change {change.uid} ({change.state.value})")


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
    """Show a change, its latest plan and its approval snapshot."""
    from cmdb.changes.export import to_markdown

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
    if view.snapshot:
        console.print(f"approved by {view.snapshot.approved_by} at {_when(view.snapshot.approved_at)}")
    if view.plan:
        console.out(to_markdown(view.plan), end="", highlight=False)
    else:
        console.print("not planned yet: run `cmdb change plan`")


def approve(
    uid: str = typer.Argument(..., help="The change's uid."),
    approver: str = typer.Option(..., "--by", help="Who approves (the CAB, a manager)."),
    store_url: str | None = StoreOpt,
) -> None:
    """Approve a planned change and snapshot its plan (what `drift` compares with)."""
    with _service(store_url) as (service, _):
        snap = service.approve(uid, approver)
    console.print(f"approved {uid}: risk {snap.plan.risk.score:g} ({snap.plan.risk.level}), "
                  f"{len(snap.plan.impacted)} CI(s) impacted")


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
    """Export the change's latest plan (planned now if it has none) for a CAB meeting or a spreadsheet."""
    from cmdb.changes.export import to_csv, to_json, to_markdown

    with _service(store_url) as (service, _):
        view = service.show(uid)
        result = view.plan or service.plan(uid)
    text = {"markdown": to_markdown, "csv": to_csv, "json": to_json}[fmt](result)
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
    """Mark an approved change as in progress."""
    with _service(store_url) as (service, _):
        service.start(uid)
    console.print(f"{uid} in progress")


def complete(
    uid: str = typer.Argument(...),
    outcome: ChangeOutcome = typer.Option(..., "--outcome", help="succeeded or failed."),
    store_url: str | None = StoreOpt,
) -> None:
    """Mark a running change done, with its outcome (failures raise the risk of later changes)."""

    with _service(store_url) as (service, _):
        service.complete(uid, outcome)
    console.print(f"{uid} done ({outcome.value})")


def cancel(uid: str = typer.Argument(...), store_url: str | None = StoreOpt) -> None:
    """Cancel a change that has not started."""
    with _service(store_url) as (service, _):
        service.cancel(uid)
    console.print(f"{uid} cancelled")


def window_add(
    kind: WindowKind = typer.Option(..., "--kind", help="maintenance or blackout."),
    label: str = typer.Option(..., "--label"),
    subjects: list[str] = typer.Option(..., "--ci", help="A CI or service (uid or unique name); repeat."),
    start: str = typer.Option(..., "--start"),
    end: str = typer.Option(..., "--end"),
    store_url: str | None = StoreOpt,
) -> None:
    """Declare a maintenance or blackout window on CIs or services."""

    with _service(store_url) as (service, store):
        window = service.add_window(kind, label, tuple(_resolve(store, s) for s in subjects), _time(start), _time(end))
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
    for name, command in (("create", create), ("plan", plan), ("show", show), ("approve", approve),
                          ("drift", drift), ("export", export), ("list", list_changes), ("start", start),
                          ("complete", complete), ("cancel", cancel)):
        change_app.command(name)(command)
    window_app = typer.Typer(help="Maintenance and blackout windows on CIs and services.", no_args_is_help=True)
    window_app.command("add")(window_add)
    window_app.command("list")(window_list)
    window_app.command("remove")(window_remove)
    change_app.add_typer(window_app, name="window")
    app.add_typer(change_app, name="change")
