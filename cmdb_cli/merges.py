"""Merge commands: ``cmdb merge A B``, ``cmdb unmerge B``, ``cmdb duplicates``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from cmdb.errors import CmdbError
from cmdb_cli.context import console, err_console, open_ingestor, open_store, print_json
from cmdb_cli.core import JsonOpt, StoreOpt, ci_to_dict

if TYPE_CHECKING:
    from cmdb.services.merges import MergeResult, Merges


def _apply(verb: str, store_url: str | None, act: Callable[[Merges], MergeResult]) -> MergeResult:
    """Open the store, run one merge action, and turn a refusal into its message and exit code 1."""
    from cmdb.services.merges import Merges

    store = open_store(store_url)
    try:
        return act(Merges(open_ingestor(store)))
    except CmdbError as exc:
        err_console.print(f"[red]{verb} refused:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        store.close()


def merge(
    keep: str = typer.Argument(..., help="The CI to keep (uid)."),
    other: str = typer.Argument(..., help="The CI it absorbs (uid): retired, marked merged into the first."),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Merge two CIs that are one real thing: keys, relationships, sightings and values move to the first."""
    result = _apply("merge", store_url, lambda merges: merges.merge(keep, other))
    if as_json:
        print_json({"kept": ci_to_dict(result.kept), "absorbed": ci_to_dict(result.other), "run_id": result.run_id})
        return
    console.print(f"merged {result.other.uid} into {result.kept.uid} ({result.kept.name}); run {result.run_id}")


def unmerge(
    uid: str = typer.Argument(..., help="The CI a merge absorbed (uid)."),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Undo a merge: the absorbed CI is active again with its keys, edges and dependents."""
    result = _apply("unmerge", store_url, lambda merges: merges.unmerge(uid))
    if as_json:
        print_json({"kept": ci_to_dict(result.kept), "restored": ci_to_dict(result.other), "run_id": result.run_id})
        return
    console.print(f"restored {result.other.uid} ({result.other.name}) from {result.kept.uid}; run {result.run_id}")


def duplicates(
    limit: int = typer.Option(1000, "--limit", min=1),
    store_url: str | None = StoreOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Active CIs sharing an identification key, estate-wide, with the evidence for each group."""
    from cmdb.services.merges import Merges

    store = open_store(store_url)
    try:
        found = Merges(open_ingestor(store)).duplicates(limit)
    finally:
        store.close()
    if as_json:
        print_json([asdict(d) for d in found])
        return
    table = Table("CIs (oldest first)", "classes", "names", "evidence", "verdict")
    for d in found:
        verdict = f"two things (their {', '.join(d.separated_by)} differ)" if d.separated else "one thing: merge"
        table.add_row("\n".join(d.uids), "\n".join(d.classes), "\n".join(d.names), "\n".join(d.evidence), verdict)
    console.print(table)


def register(app: typer.Typer, discover_app: typer.Typer) -> None:
    app.command("merge")(merge)
    app.command("unmerge")(unmerge)
    app.command("duplicates")(duplicates)
