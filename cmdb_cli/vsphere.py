"""``cmdb discover vsphere``: read a vCenter's inventory and ingest it as one scan run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from cmdb_cli.context import configure_logging, console, err_console
from cmdb_cli.scan_report import discover_and_report

if TYPE_CHECKING:
    from discovery.base import Progress as ScanProgress
    from discovery.base import ProgressHook


def discover_vsphere(
    server: str = typer.Option(..., "--server", "-s", help="vCenter (or ESXi) host, or host:port."),
    user: str = typer.Option(None, "--user", envvar="CMDB_VSPHERE_USER", help="User name (a read-only role suffices)."),
    password_ref: str = typer.Option(..., "--password-ref",
                                     help="Where the password is: env:NAME or file:/path (never the password)."),
    ca_file: str | None = typer.Option(None, "--ca-file", help="CA bundle that signed vCenter's certificate."),
    insecure: bool = typer.Option(False, "--insecure",
                                  help="Do not verify the certificate (a lab simulator only, never production)."),
    page_size: int = typer.Option(500, "--page-size", min=1, max=10_000, help="Objects per property-collector page."),
    network_scope: str = typer.Option("global", "--network-scope", help="Addressing scope of the guests' IP addresses."),
    store_url: str | None = typer.Option(None, "--store", help="Store URL (default: CMDB_STORE_URL or the embedded SQLite file)."),
    job: str | None = typer.Option(None, "--job", help="Job name recorded on the scan run."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Discover a vCenter (datacenters, clusters with HA, hosts, VMs, datastores, port groups, pools); exit 1 unless complete."""
    from discovery.jobs import CredentialRef
    from discovery.vsphere.client import ConnectSettings
    from discovery.vsphere.scanner import VsphereScanConfig, VsphereScanner

    configure_logging()
    if not user:
        err_console.print("[red]invalid input:[/red] give --user (or CMDB_VSPHERE_USER)")
        raise typer.Exit(2)
    try:
        password = CredentialRef.parse(password_ref).resolve()
    except ValueError as exc:
        err_console.print(f"[red]invalid input:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    connect = ConnectSettings(server=server, user=user, password=password, verify=not insecure, ca_file=ca_file,
                              page_size=page_size)
    scanner = VsphereScanner(VsphereScanConfig(connect=connect, network_scope=network_scope))

    @contextmanager
    def spinner() -> Iterator[ProgressHook]:
        if as_json:  # no spinner under --json
            yield lambda _: None
            return
        with console.status("vsphere: reading the inventory", spinner="dots") as status:

            def tick(p: ScanProgress) -> None:
                status.update(f"vsphere {p.scope}: {p.message}")

            yield tick

    discover_and_report(scanner, store_url, job, as_json, spinner, _table)


def _table(summary: dict[str, object]) -> Table:
    table = Table(title=f"vSphere discovery: {summary['seconds']} s")
    for column in ("scope", "status", "created", "updated", "unchanged", "rels +", "stale", "retired", "calls", "errors"):
        table.add_column(column)
    scopes = summary["scopes"]
    assert isinstance(scopes, list)
    for s in scopes:
        style = "green" if s["status"] == "complete" else "red"
        table.add_row(s["scope"], f"[{style}]{s['status']}[/{style}]", *(str(s[k]) for k in (
            "created", "updated", "unchanged", "relationships_created", "stale", "retired", "api_calls")),
            "; ".join(s["errors"])[:200] or "-")
    return table


def register(app: typer.Typer, discover_app: typer.Typer) -> None:
    """Add ``cmdb discover vsphere``."""
    discover_app.command("vsphere")(discover_vsphere)
