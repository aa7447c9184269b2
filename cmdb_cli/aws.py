"""``cmdb discover aws``: sweep AWS accounts and regions through boto3 and ingest what they hold."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cmdb.ingest import IngestReport
from cmdb.model import RunStatus, ScanRun
from cmdb_cli.context import configure_logging, console, open_ingestor, open_store, print_json

if TYPE_CHECKING:
    from discovery.base import Progress as ScanProgress


def _split(values: list[str]) -> tuple[str, ...]:
    """``--regions a,b --regions c`` -> ``("a", "b", "c")``."""
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def discover_aws(
    profile: list[str] = typer.Option([], "--profile", help="Named profile of an account to scan (repeatable)."),
    role_arn: list[str] = typer.Option([], "--role-arn", help="Role to assume in an account to scan (repeatable)."),
    org_role: str | None = typer.Option(None, "--org-role",
                                        help="Role name to assume in every active account of the AWS Organization."),
    external_id: str | None = typer.Option(None, "--external-id", envvar="CMDB_AWS_EXTERNAL_ID",
                                           help="ExternalId for assume_role."),
    regions: list[str] = typer.Option([], "--regions", "--region",
                                      help="Regions, comma-separated or repeated (default: the account's enabled ones)."),
    endpoint_url: str | None = typer.Option(None, "--endpoint-url", envvar="CMDB_AWS_ENDPOINT_URL",
                                            help="One endpoint for every service (a moto server in tests and demos)."),
    workers: int = typer.Option(8, "--workers", min=1, max=64, help="Scopes read at once."),
    max_attempts: int = typer.Option(5, "--max-attempts", min=1, max=20,
                                     help="Attempts per call (standard retry mode, backoff on throttling)."),
    store_url: str | None = typer.Option(None, "--store", help="Store URL (default: CMDB_STORE_URL or the embedded SQLite file)."),
    job: str | None = typer.Option(None, "--job", help="Job name recorded on the scan runs."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Discover AWS accounts x regions (plus each account's global services) and ingest them, one run per scope."""
    from discovery.aws import AccountSources, AwsScanConfig, AwsScanner, ClientSettings
    from discovery.runner import run_scan

    configure_logging()
    config = AwsScanConfig(
        accounts=AccountSources(profiles=tuple(profile), role_arns=tuple(role_arn), org_role=org_role,
                                external_id=external_id),
        regions=_split(regions),
        client=ClientSettings(endpoint_url=endpoint_url, max_attempts=max_attempts),
        max_workers=workers,
    )
    scanner = AwsScanner(config)
    store = open_store(store_url)
    reports: dict[str, IngestReport] = {}
    started = time.perf_counter()
    try:
        ingestor = open_ingestor(store)
        with Progress(TextColumn("[bold]aws scopes"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=console, disable=as_json,
                      transient=True) as bar:
            task = bar.add_task("scan", total=None, note="resolving accounts")

            def tick(p: ScanProgress) -> None:
                bar.update(task, completed=p.done, total=p.total, note=f"{p.scope} {p.message}"[:60])

            def on_run(run: ScanRun, report: IngestReport) -> None:
                reports[run.run_id] = report

            runs = asyncio.run(run_scan(scanner, ingestor, job=job, progress=tick, on_run=on_run))
    finally:
        store.close()
    summary = summarize(runs, time.perf_counter() - started)
    if as_json:
        print_json(summary)
    else:
        console.print(summary_table(summary))
    if summary["incomplete"]:
        raise typer.Exit(1)


def summarize(runs: list[ScanRun], seconds: float) -> dict[str, Any]:
    """Per-scope outcome and totals of one discovery."""
    scopes: list[dict[str, Any]] = []
    for run in sorted(runs, key=lambda r: r.scope):
        c = run.counts
        scopes.append({
            "scope": run.scope, "status": run.status.value, "created": c.get("created", 0),
            "updated": c.get("updated", 0), "unchanged": c.get("unchanged", 0),
            "relationships_created": c.get("relationships_created", 0), "stale": c.get("stale", 0),
            "retired": c.get("retired", 0), "rejected": c.get("rejected", 0), "api_calls": c.get("scan_api_calls", 0),
            "seconds": round((run.duration_ms or 0) / 1000, 2), "errors": run.errors,
        })
    totals = {k: sum(s[k] for s in scopes) for k in ("created", "updated", "unchanged", "relationships_created",
                                                     "stale", "retired", "rejected", "api_calls")}
    return {"scopes": scopes, "totals": totals, "seconds": round(seconds, 2),
            "incomplete": sum(1 for r in runs if r.status is not RunStatus.COMPLETE)}


def summary_table(summary: dict[str, Any]) -> Table:
    """The end-of-run table: one row per scope, then the totals."""
    table = Table(title=f"AWS discovery: {len(summary['scopes'])} scopes, {summary['incomplete']} incomplete, "
                        f"{summary['seconds']} s")
    for column in ("scope", "status", "created", "updated", "unchanged", "rels +", "stale", "retired",
                   "rejected", "calls", "s", "errors"):
        table.add_column(column)
    for s in summary["scopes"]:
        style = "green" if s["status"] == "complete" else "red"
        table.add_row(s["scope"], f"[{style}]{s['status']}[/{style}]", *(str(s[k]) for k in (
            "created", "updated", "unchanged", "relationships_created", "stale", "retired", "rejected", "api_calls",
            "seconds")), "; ".join(s["errors"])[:100] or "-")
    t = summary["totals"]
    table.add_row("[bold]total", "", *(str(t[k]) for k in ("created", "updated", "unchanged", "relationships_created",
                                                            "stale", "retired", "rejected", "api_calls")), "", "")
    return table


def register(app: typer.Typer, discover_app: typer.Typer) -> None:
    """Add ``cmdb discover aws``."""
    discover_app.command("aws")(discover_aws)
