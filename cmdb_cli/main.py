"""The ``cmdb`` command: the composition root that wires stores, scanners and the API.

Each area keeps its commands in its own module (``cmdb_cli/<area>.py``) exposing
``register(app, discover_app)``; the areas are listed once, here.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="cmdb",
    help=(
        "cmdb-graph: a configuration management database with a dependency graph.\n\n"
        "Discover what you run (AWS, network devices over SNMP, Linux hosts over SSH), keep one CI per real "
        "thing with its history, and ask what breaks if something goes down. The store defaults to an "
        "embedded SQLite file (set CMDB_STORE_URL or --store for Neo4j or FalkorDB)."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
discover_app = typer.Typer(help="Run a discovery scanner once and ingest what it sees.", no_args_is_help=True)
app.add_typer(discover_app, name="discover")

# Command modules, one per area. Add yours here.
AREAS: tuple[str, ...] = ("core", "jobs", "scheduler", "changes", "hosts", "impact", "demo", "store", "snmp", "api", "aws",
                          "merges", "vsphere")

for _area in AREAS:
    importlib.import_module(f"cmdb_cli.{_area}").register(app, discover_app)

# The labs' synthetic estate as the ``sample`` scanner: wired here, never imported by the product.
importlib.import_module("labs.sample_scanner").register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
