"""``cmdb discover snmp``: discover network devices over SNMP and ingest them."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cmdb.ingest import IngestReport
from cmdb.model import ScanRun
from cmdb_cli.context import configure_logging, console, err_console, open_ingestor, open_store, print_json

if TYPE_CHECKING:
    from discovery.base import Progress as ScanProgress
    from discovery.snmp.scanner import SnmpScanner


def discover_snmp(
    targets: str = typer.Option(..., "--targets", "-t", help="YAML: seeds, CIDR ranges with exclusions, crawl ranges."),
    credentials: str = typer.Option(..., "--credentials", "-c",
                                    help="YAML: named v2c/v3 credentials by reference (env var or file), no secrets."),
    store_url: str | None = typer.Option(None, "--store", help="Store URL (default: CMDB_STORE_URL or the embedded SQLite file)."),
    concurrency: int = typer.Option(32, "--concurrency", min=1, max=1024, help="Devices walked at once."),
    timeout: float = typer.Option(1.0, "--timeout", min=0.05, help="Seconds per SNMP request."),
    retries: int = typer.Option(1, "--retries", min=0, max=10, help="Retries per SNMP request."),
    device_deadline: float = typer.Option(60.0, "--device-deadline", min=1, help="Seconds for one device, all requests."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    state_dir: str | None = typer.Option(
        None, "--state-dir", help="Where the addresses that answered are remembered, per scope (a known device "
                                  "that keeps silent makes the run incomplete). Default: the data dir's snmp-state/."),
) -> None:
    """Walk the targets' devices (system, ENTITY, IF, IP, LLDP, CDP, ARP/FDB, HOST-RESOURCES) and ingest them."""
    from discovery.runner import run_scan
    from discovery.snmp.client import ClientOptions
    from discovery.snmp.credentials import CredentialError, load_credentials
    from discovery.snmp.scanner import ScanOptions, SnmpScanner, reached_targets
    from discovery.snmp.targets import TargetError, load_targets

    configure_logging()
    try:
        spec = load_targets(targets)
        creds = load_credentials(credentials)
    except (TargetError, CredentialError, OSError) as exc:
        err_console.print(f"[red]invalid input:[/red] {exc}")
        raise typer.Exit(2) from None
    options = ScanOptions(concurrency=concurrency, device_deadline=device_deadline,
                          client=ClientOptions(timeout=timeout, retries=retries))
    scanner = SnmpScanner(spec, creds, options, reached=reached_targets(spec.scope, state_dir))
    store = open_store(store_url)
    reports: dict[str, IngestReport] = {}
    try:
        ingestor = open_ingestor(store)
        with Progress(TextColumn("[bold]devices"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}"),
                      TimeElapsedColumn(), console=console, disable=as_json, transient=True) as bar:
            task = bar.add_task("scan", total=len(spec.initial()), note="")

            def tick(p: ScanProgress) -> None:
                bar.update(task, completed=p.done, total=p.total, note=p.message[:60])

            def on_run(run: ScanRun, report: IngestReport) -> None:
                reports[run.scope] = report

            runs = asyncio.run(run_scan(scanner, ingestor, progress=tick, on_run=on_run))
    finally:
        store.close()
    summary = _summary(scanner, runs, reports)
    if as_json:
        print_json(summary)
    else:
        _print(summary)
    if summary["failed"]:
        raise typer.Exit(1)


def _summary(scanner: SnmpScanner, runs: list[ScanRun], reports: dict[str, IngestReport]) -> dict[str, Any]:
    """The scan over its runs (one per device part, the links, the scope): complete only when all are."""
    s = scanner.summary
    ingest = IngestReport()
    for report in reports.values():
        ingest.add(report)
    by_scope = {run.scope: run for run in runs}
    scope = scanner.targets.scope
    if not runs:
        status = "not run"
    else:
        status = "complete" if all(run.status.value == "complete" for run in runs) else "incomplete"
    return {
        "scope": scope,
        "status": status,
        **s.stats(),
        "seconds": round(s.seconds, 2),
        "ingest": ingest.as_counts(),
        "runs": [{"scope": run.scope, "status": run.status.value, "errors": len(run.errors)} for run in runs],
        "devices_detail": [
            {"address": o.address, "status": o.status, "name": o.name, "class": o.ci_class,
             "neighbors": o.neighbors, "dropped": o.dropped, "reason": o.reason, "same_as": o.same_as,
             "unmapped": o.unmapped, "warnings": list(o.warnings),
             "part": f"{scope}/{o.part}" if o.part else None,
             "part_status": by_scope[f"{scope}/{o.part}"].status.value if f"{scope}/{o.part}" in by_scope else None}
            for o in s.outcomes if o.status != "silent"
        ],
    }


def _print(summary: dict[str, Any]) -> None:
    table = Table(title=f"SNMP discovery: {summary['scope']} ({summary['status']})")
    for col in ("address", "status", "name", "class", "neighbours", "reason"):
        table.add_column(col)
    colours = {"ok": "green", "partial": "yellow", "failed": "red", "duplicate": "cyan", "moved": "cyan"}
    for row in summary["devices_detail"]:
        style = colours.get(row["status"], "white")
        reason = "; ".join(filter(None, [row["reason"], *row["warnings"]])) \
            or (f"same device as {row['same_as']}" if row["same_as"] else "")
        if row["part_status"] not in (None, "complete"):
            reason = f"(its part {row['part_status']}) {reason}"
        table.add_row(row["address"], f"[{style}]{row['status']}[/{style}]", row["name"] or "", row["class"] or "",
                      str(row["neighbors"]), reason[:160])
    console.print(table)
    ingest = summary["ingest"]
    console.print(
        f"devices {summary['devices']} (partial {summary['partial']}, rows dropped {summary['dropped']}, "
        f"ARP/FDB rows on unknown ports {summary['unmapped']}), "
        f"failed {summary['failed']}, "
        f"silent {summary['silent']}, same device on another address {summary['duplicate_addresses']}, "
        f"moved {summary['moved']}; runs {sum(r['status'] == 'complete' for r in summary['runs'])} of "
        f"{len(summary['runs'])} complete; "
        f"neighbours {summary['neighbors']}, links {summary['links']}; "
        f"{summary['varbinds']} OIDs in {summary['requests']} requests, {summary['seconds']} s; "
        f"ingest: {ingest.get('created', 0)} created, {ingest.get('updated', 0)} updated, "
        f"{ingest.get('rejected', 0)} rejected"
    )


def register(app: typer.Typer, discover_app: typer.Typer) -> None:
    """Add ``cmdb discover snmp``."""
    discover_app.command("snmp")(discover_snmp)
