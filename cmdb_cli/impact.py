"""Impact commands: ``cmdb impact``, ``cmdb deps``, ``cmdb path``, ``cmdb spof``.

Each command loads the topology index from the store once, answers, and exits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from cmdb_cli.context import console, err_console, open_store, print_json, schema

if TYPE_CHECKING:
    from cmdb.impact import ImpactService, PathStep

StoreOpt = typer.Option(None, "--store", help="Store URL (default: CMDB_STORE_URL or the embedded SQLite file).")
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of a table.")
MinConfOpt = typer.Option(0.0, "--min-confidence", help="Traffic/inferred edges count only at or above this.")
RelTypeOpt = typer.Option(None, "--rel-type", help="Follow only this relationship type (repeatable).")


@contextlib.contextmanager
def _service(store_url: str | None) -> Iterator[ImpactService]:
    """An ImpactService over a freshly loaded index; typed impact errors exit 1."""
    from cmdb.impact import ImpactError, ImpactService
    from cmdb.topology import TopologyIndex

    store = open_store(store_url)
    try:
        cat = schema()
        yield ImpactService(TopologyIndex.load(store, cat), cat)
    except ImpactError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    finally:
        store.close()


def _path_text(path: list[PathStep]) -> str:
    if not path:
        return "-"
    parts = [path[0].name]
    for step in path[1:]:
        parts.append(f"-[{step.rel_type}]- {step.name}")
    return " ".join(parts)


def _types(rel_types: list[str] | None) -> tuple[str, ...] | None:
    return tuple(rel_types) if rel_types else None


def impact(
    uids: list[str] = typer.Argument(..., help="CIs assumed down (uids)."),
    depth: int = typer.Option(6, "--depth", help="Maximum propagation depth."),
    max_nodes: int = typer.Option(10_000, "--max-nodes", help="Node budget; the answer says when it was hit."),
    exclude: list[str] = typer.Option([], "--exclude", help="CI known not to be impacted (repeatable)."),
    rel_types: list[str] | None = RelTypeOpt,
    min_confidence: float = MinConfOpt,
    uplinks: list[str] = typer.Option(
        [], "--uplink", help="A CI the network layer treats as an uplink for this question, instead of the "
        "catalog's routers/firewalls/gateways (repeatable)."),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """What is impacted if these CIs go down: graded, explained, rolled up to services and owners."""
    from cmdb.impact import ImpactRequest

    with _service(store_url) as service:
        report = service.impact(ImpactRequest(
            tuple(uids), max_depth=depth, max_nodes=max_nodes, exclude=tuple(exclude),
            rel_types=_types(rel_types), min_confidence=min_confidence, uplinks=tuple(uplinks) or None,
        ))
    if as_json:
        print_json(asdict(report))
        return
    table = Table(title=f"Impact of {', '.join(uids)}")
    for col in ("grade", "depth", "class", "name", "uid", "why", "path"):
        table.add_column(col)
    for ci in report.impacted:
        colour = "red" if ci.grade.value == "down" else "yellow"
        table.add_row(f"[{colour}]{ci.grade.value}[/{colour}]", str(ci.depth), ci.ci_class, ci.name, ci.uid,
                      ci.explanation, _path_text(ci.path))
    console.print(table)
    if report.services:
        services = Table(title="Services")
        for col in ("grade", "class", "name", "owner", "uid"):
            services.add_column(col)
        for s in report.services:
            services.add_row(s.grade.value, s.ci_class, s.name, s.owner or "-", s.uid)
        console.print(services)
    console.print(f"owners to notify: {', '.join(report.owners) or '-'}")
    if report.truncated:
        reasons = ", ".join(t.value for t in report.truncated_by)
        console.print(f"[bold yellow]truncated[/bold yellow] ({reasons}): the impact may be wider")


def deps(
    uid: str = typer.Argument(..., help="The CI whose dependencies to list."),
    depth: int = typer.Option(6, "--depth", help="Maximum depth."),
    max_nodes: int = typer.Option(10_000, "--max-nodes", help="Node budget."),
    exclude: list[str] = typer.Option([], "--exclude", help="CI not to walk through (repeatable)."),
    rel_types: list[str] | None = RelTypeOpt,
    min_confidence: float = MinConfOpt,
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Everything a CI needs, nearest first."""
    from cmdb.impact import DependencyRequest

    with _service(store_url) as service:
        report = service.dependencies(DependencyRequest(
            uid, max_depth=depth, max_nodes=max_nodes, exclude=tuple(exclude),
            rel_types=_types(rel_types), min_confidence=min_confidence,
        ))
    if as_json:
        print_json(asdict(report))
        return
    table = Table(title=f"Dependencies of {uid}")
    for col in ("depth", "class", "name", "uid", "redundant", "path"):
        table.add_column(col)
    for d in report.dependencies:
        table.add_row(str(d.depth), d.ci_class, d.name, d.uid, "yes" if d.redundant else "", _path_text(d.path))
    console.print(table)
    if report.truncated:
        console.print(f"[bold yellow]truncated[/bold yellow] ({', '.join(t.value for t in report.truncated_by)})")


def path(
    source: str = typer.Argument(..., help="The CI that fails."),
    target: str = typer.Argument(..., help="The CI it may reach."),
    max_paths: int = typer.Option(10, "--max-paths", help="How many paths at most."),
    depth: int = typer.Option(6, "--depth", help="Maximum path length in hops."),
    min_confidence: float = MinConfOpt,
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """How a failure of SOURCE reaches TARGET: shortest path first, then the others."""
    with _service(store_url) as service:
        report = service.paths(source, target, max_paths=max_paths, max_depth=depth, min_confidence=min_confidence)
    if as_json:
        print_json(asdict(report))
        return
    if not report.paths:
        console.print(f"no path from {source} to {target} within {depth} hops")
        return
    table = Table(title=f"Paths {source} -> {target}")
    table.add_column("#")
    table.add_column("hops")
    table.add_column("path")
    for i, p in enumerate(report.paths, start=1):
        table.add_row(str(i), str(len(p) - 1), _path_text(p))
    console.print(table)
    if report.truncated:
        console.print(f"[yellow]more than {max_paths} paths[/yellow]")


def spof(
    service_uid: str = typer.Argument(..., help="The service (or any CI) to examine."),
    depth: int = typer.Option(10, "--depth", help="Dependency depth examined."),
    max_nodes: int = typer.Option(2_000, "--max-nodes", help="Dependencies examined at most."),
    min_confidence: float = MinConfOpt,
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Single points of failure: the CIs whose loss alone takes the service down."""
    with _service(store_url) as service:
        report = service.single_points_of_failure(
            service_uid, max_depth=depth, max_nodes=max_nodes, min_confidence=min_confidence
        )
    if as_json:
        print_json(asdict(report))
        return
    table = Table(title=f"Single points of failure of {service_uid} ({report.considered} dependencies examined)")
    for col in ("depth", "class", "name", "uid", "how"):
        table.add_column(col)
    for s in report.spofs:
        table.add_row(str(s.depth), s.ci_class, s.name, s.uid, _path_text(s.path))
    console.print(table)
    if report.truncated:
        console.print(f"[bold yellow]truncated[/bold yellow] ({', '.join(t.value for t in report.truncated_by)})")


def netspof(
    uid: str = typer.Argument(..., help="A switch/router/host (its site) or a service (the network its hosts need)."),
    max_nodes: int = typer.Option(5_000, "--max-nodes", help="Attached CIs examined at most."),
    depth: int = typer.Option(10, "--depth", help="Dependency depth searched for a service's hosts."),
    uplinks: list[str] = typer.Option([], "--uplink", help="Uplink for this question instead of the catalog's."),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Network single points of failure: devices and links whose loss alone cuts something off the uplinks."""
    with _service(store_url) as service:
        report = service.network_single_points_of_failure(uid, max_nodes=max_nodes, max_depth=depth,
                                                          uplinks=tuple(uplinks) or None)
    if as_json:
        print_json(asdict(report))
        return
    table = Table(title=f"Network single points of failure for {uid} ({report.considered} attached CIs examined)")
    for col in ("kind", "what", "cuts off"):
        table.add_column(col)
    for d in report.devices:
        table.add_row(d.ci_class, f"{d.name} ({d.uid})", ", ".join(d.cuts_off))
    for k in report.links:
        table.add_row(k.rel_type, f"{k.a_port or k.a_uid} - {k.b_port or k.b_uid}", ", ".join(k.cuts_off))
    console.print(table)
    if report.truncated:
        console.print("[bold yellow]truncated[/bold yellow]: the site is larger than --max-nodes")


def register(app: typer.Typer, discover_app: typer.Typer) -> None:
    """Add the impact commands to the ``cmdb`` app."""
    app.command("impact")(impact)
    app.command("deps")(deps)
    app.command("path")(path)
    app.command("spof")(spof)
    app.command("netspof")(netspof)


__all__ = ["register"]
