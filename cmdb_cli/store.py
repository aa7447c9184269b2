"""Store commands: ``cmdb store init``, ``cmdb store info``, ``cmdb export FILE``, ``cmdb import FILE``."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO

import typer

from cmdb.store.factory import redact
from cmdb.store.transfer import TransferError, export_store, import_store
from cmdb_cli import context

StoreOpt = typer.Option(None, "--store", help="Store URL (default: CMDB_STORE_URL or the embedded SQLite file).")

store_app = typer.Typer(help="Set up and inspect the graph store.", no_args_is_help=True)


def _url(store_url: str | None) -> str:
    return store_url or context.settings().resolved_store_url()


@store_app.command("init")
def init(store_url: str | None = StoreOpt) -> None:
    """Create the indexes and constraints derived from the schema (idempotent)."""
    url = _url(store_url)
    store = context.open_store(url)
    try:
        init_schema = getattr(store, "init_schema", None)
        created: list[str] = list(init_schema()) if callable(init_schema) else []
    finally:
        store.close()
    if created:
        context.console.print(f"{redact(url)}: created {len(created)} indexes and constraints")
    else:
        context.console.print(f"{redact(url)}: schema up to date")


@store_app.command("info")
def info(store_url: str | None = StoreOpt) -> None:
    """Which store, and how much it holds."""
    url = _url(store_url)
    store = context.open_store(url)
    try:
        counts = store.counts()
    finally:
        store.close()
    context.console.print(
        f"{redact(url)}: {counts.cis} CIs, {counts.relationships} relationships, "
        f"{counts.history} history entries, {counts.runs} scan runs"
    )


def export_cmd(
    file: str = typer.Argument(..., help="Output file (JSON lines), or - for standard output."),
    store_url: str | None = StoreOpt,
    batch_size: int = typer.Option(5000, "--batch-size", min=1, help="Items read per query."),
) -> None:
    """Export the whole store (runs, CIs, relationships, history, identification keys, sightings) as JSON lines."""
    url = _url(store_url)
    store = context.open_store(url)
    with ExitStack() as stack:
        stack.callback(store.close)
        out: IO[bytes] = sys.stdout.buffer if file == "-" else stack.enter_context(Path(file).open("wb"))
        counts = export_store(store, out, batch_size)
    context.err_console.print(f"exported from {redact(url)}: {counts.as_dict()}")


def import_cmd(
    file: str = typer.Argument(..., help="An export (JSON lines), or - for standard input."),
    store_url: str | None = StoreOpt,
    batch_size: int = typer.Option(2000, "--batch-size", min=1, help="Items written per transaction."),
) -> None:
    """Import an export into the store (upserts CIs, relationships, keys and sightings, appends history).

    Batches go through the store's bulk write path where it has one (FalkorDB).
    """
    url = _url(store_url)
    store = context.open_store(url)
    with ExitStack() as stack:
        stack.callback(store.close)
        init_schema = getattr(store, "init_schema", None)
        if callable(init_schema):
            init_schema()
        source: IO[bytes] = sys.stdin.buffer if file == "-" else stack.enter_context(Path(file).open("rb"))
        try:
            counts = import_store(store, context.schema(), source, batch_size)
        except TransferError as exc:
            context.err_console.print(f"import failed: {exc}")
            raise typer.Exit(1) from None
        checkpoint = getattr(store, "checkpoint", None)
        if callable(checkpoint):
            checkpoint()
    context.console.print(f"imported into {redact(url)}: {counts.as_dict()}")


def register(app: typer.Typer, discover_app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")
    app.command("export")(export_cmd)
    app.command("import")(import_cmd)
