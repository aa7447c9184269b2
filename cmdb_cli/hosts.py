"""``cmdb discover hosts``: scan Linux hosts over SSH and ingest what they show."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cmdb.ingest import IngestReport
from cmdb.model import RunStatus, ScanRun
from cmdb_cli.context import configure_logging, console, err_console, open_ingestor, open_store, print_json

if TYPE_CHECKING:
    from discovery.base import Progress as ScanProgress


def discover_hosts(
    inventory: str = typer.Option(..., "--inventory", "-i", help="YAML inventory: hosts, CIDR ranges, credential references."),
    store_url: str | None = typer.Option(None, "--store", help="Store URL (default: CMDB_STORE_URL or the embedded SQLite file)."),
    netns: str | None = typer.Option(None, "--netns", help="Connect from inside this network namespace (labs)."),
    record_new_host_keys: bool = typer.Option(
        False, "--record-new-host-keys", help="Trust and record keys of hosts never seen before (trust on first use)."),
    concurrency: int | None = typer.Option(None, "--concurrency", min=1, max=1024, help="Hosts scanned at once."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Scan the inventory's hosts over SSH (one script per host) and ingest hosts, software and dependencies."""
    from discovery.runner import run_scan
    from discovery.ssh.inventory import InventoryError, load_inventory
    from discovery.ssh.netns import NamespaceConnector
    from discovery.ssh.scanner import SSHScanner

    configure_logging()
    try:
        inv = load_inventory(inventory)
    except InventoryError as exc:
        err_console.print(f"[red]invalid inventory:[/red] {exc}")
        raise typer.Exit(2) from None
    if record_new_host_keys:
        inv.host_keys.record_new = True
    if concurrency:
        inv.concurrency = concurrency
    try:
        scanner = SSHScanner(inv, connector=NamespaceConnector(netns) if netns else None)
    except (ValueError, OSError) as exc:
        err_console.print(f"[red]cannot scan:[/red] {exc}")
        raise typer.Exit(2) from None
    store = open_store(store_url)
    reports: dict[str, IngestReport] = {}
    try:
        ingestor = open_ingestor(store)
        total = len(inv.targets())
        with Progress(TextColumn("[bold]hosts"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}"),
                      TimeElapsedColumn(), console=console, disable=as_json, transient=True) as bar:
            task = bar.add_task("scan", total=total, note="")

            def tick(p: ScanProgress) -> None:
                bar.update(task, completed=p.done, total=p.total, note=p.message[:60])

            def on_run(run: ScanRun, report: IngestReport) -> None:
                reports[run.scope] = report

            runs = asyncio.run(run_scan(scanner, ingestor, progress=tick, on_run=on_run))
    finally:
        store.close()
    summary = _summary(runs, reports, inv.scope)
    if as_json:
        print_json(summary)
    else:
        _print(summary)
    if summary["failed"]:
        raise typer.Exit(1)


def _summary(runs: list[ScanRun], reports: dict[str, IngestReport], scope: str) -> dict[str, Any]:
    hosts = [r for r in runs if r.scope.startswith(f"{scope}/")]
    traffic = next((r for r in runs if r.scope == f"{scope}:traffic"), None)
    whole = next((r for r in runs if r.scope == scope), None)  # the inventory's own run (its removed hosts)
    rows = []
    for r in hosts:
        rep = reports.get(r.scope, IngestReport())
        rows.append({"scope": r.scope, "status": r.status.value, "created": rep.created, "updated": rep.updated,
                     "unchanged": rep.unchanged, "rejected": len(rep.rejected), "errors": r.errors})
    edges = reports.get(traffic.scope) if traffic else None
    return {
        "hosts": len(hosts),
        "complete": sum(1 for r in hosts if r.status is RunStatus.COMPLETE),
        "failed": sum(1 for r in hosts if r.status is not RunStatus.COMPLETE),
        "dependencies": {
            "scope": traffic.scope if traffic else None,
            "status": traffic.status.value if traffic else None,
            "created": edges.relationships_created if edges else 0,
            "updated": edges.relationships_updated if edges else 0,
            "unchanged": edges.relationships_unchanged if edges else 0,
        },
        "removed_hosts": whole.counts.get("removed_parts", 0) if whole else 0,
        "runs": rows,
    }


def _print(summary: dict[str, Any]) -> None:
    table = Table(title="SSH host discovery")
    for col in ("host scope", "status", "created", "updated", "unchanged", "rejected", "errors"):
        table.add_column(col)
    for row in summary["runs"]:
        style = "green" if row["status"] == "complete" else "red"
        table.add_row(row["scope"], f"[{style}]{row['status']}[/{style}]", str(row["created"]), str(row["updated"]),
                      str(row["unchanged"]), str(row["rejected"]), "; ".join(row["errors"])[:200])
    console.print(table)
    dep = summary["dependencies"]
    console.print(
        f"{summary['complete']}/{summary['hosts']} hosts complete; dependencies ({dep['scope']}, {dep['status']}): "
        f"{dep['created']} new, {dep['updated']} updated, {dep['unchanged']} unchanged"
    )


def register(app: typer.Typer, discover_app: typer.Typer) -> None:
    """Add ``cmdb discover hosts``."""
    discover_app.command("hosts")(discover_hosts)
