"""``cmdb demo``: start a local estate, discover it for real, serve the API over it.

``cmdb demo`` starts a moto server seeded with Acme's AWS accounts, snmpsim
agents serving the lab network, and (with root and network namespaces) four
SSH hosts running services that talk to each other; runs the discovery jobs;
then serves GraphQL on 127.0.0.1 and prints how to query it. ``--no-serve``
leaves the estate running and exits; ``cmdb demo --stop`` cleans up everything
the demo started (processes by PID, namespaces, state file).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import threading
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cmdb.ingest import Ingestor
from cmdb.model import CIQuery
from cmdb.store.protocol import GraphStore
from cmdb_cli.context import console, exit_cleanly, open_store, schema
from cmdb_cli.jobs import outcome_table

if TYPE_CHECKING:
    from discovery.base import Progress as ScanProgress
    from discovery.job_runner import JobOutcome
    from labs.demo.estate import DemoEstate

DEFAULT_DIR = Path(".cmdb-demo")
TOKEN_FILE = "viewer-token"


def _fresh_store(data_dir: Path, kind: str = "sqlite", stack: ExitStack | None = None) -> GraphStore:
    """The demo's own store, emptied: each demo discovers from scratch.

    ``sqlite``: a file in the data dir. ``neo4j``: a local Neo4j (``tools/neo4j``,
    built by ``scripts/system-deps.sh``) with its data under the data dir, stopped
    when ``stack`` closes (or when this process ends: the launcher watches its parent).
    """
    if kind == "neo4j":
        import shutil

        from cmdb.store.cypher.neo4j_server import Neo4jServer

        assert stack is not None
        neo4j_dir = data_dir / "neo4j"
        shutil.rmtree(neo4j_dir, ignore_errors=True)
        console.print("starting a local Neo4j ...")
        server = stack.enter_context(Neo4jServer(neo4j_dir))
        console.print(f"Neo4j {server.url} (pid {server.pid}, data in {neo4j_dir}, up in {server.started_in:.1f} s)")
        store = open_store(server.url)
        init_schema = getattr(store, "init_schema", None)
        if callable(init_schema):
            init_schema()
        return store
    db = data_dir / "cmdb.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return open_store(f"sqlite:///{db}")


def _by_name(store: GraphStore, name: str) -> Any:
    """The active CI named exactly ``name`` (by name or hostname), if any."""
    page = store.search(CIQuery(text=name, limit=100))
    exact = [c for c in page.items if name in (c.name, c.attributes.get("hostname"))]
    return exact[0] if exact else None


def summarize(store: GraphStore) -> dict[str, Any]:
    """CIs by class, and the CIs more than one real source describes (the cross-source merges)."""
    by_class: Counter[str] = Counter()
    merged: list[tuple[str, str, list[str]]] = []
    for batch in store.iter_cis():
        for ci in batch:
            by_class[ci.ci_class] += 1
            sources = sorted({p.source for p in ci.provenance.values()} - {"sample"})
            if len(sources) > 1:
                merged.append((ci.ci_class, ci.name, sources))
    counts = store.counts()
    return {"by_class": by_class, "merged": merged, "cis": counts.cis, "relationships": counts.relationships}


def _print_parts(estate: DemoEstate) -> None:
    table = Table("part", "status", "detail", title="demo estate")
    colour = {"real": "green", "skipped": "yellow", "failed": "red"}
    for part in estate.parts:
        table.add_row(part.name, f"[{colour.get(part.status, 'white')}]{part.status}[/]", part.detail)
    if estate.sample_job:
        table.add_row("sample", "[cyan]synthetic[/]", "the bundled sample estate stands in for what is missing")
    console.print(table)


def _print_summary(store: GraphStore, estate: DemoEstate, outcomes: list[JobOutcome]) -> None:
    for outcome in outcomes:
        console.print(outcome_table(outcome))
    facts = summarize(store)
    console.print(f"[bold]{facts['cis']} CIs, {facts['relationships']} relationships[/bold]; by class: "
                  + ", ".join(f"{k} {v}" for k, v in facts["by_class"].most_common(12)))
    real = [p.name for p in estate.parts if p.status == "real"]
    console.print("discovered for real: " + (", ".join(real) or "nothing")
                  + ("; synthetic sample for: " + ", ".join(p.name for p in estate.parts if p.status != "real")
                     if estate.sample_job else ""))
    if facts["merged"]:
        console.print("one CI, several sources: " + "; ".join(
            f"{name} ({cls}: {' + '.join(src)})" for cls, name, src in facts["merged"][:8]))


def _examples(store: GraphStore) -> list[tuple[str, str]]:
    """Three impact questions on CIs this demo really discovered (or the sample's, as a fallback)."""
    db = _by_name(store, "db1")
    switch = _by_name(store, "core1.lab.example")
    web = _by_name(store, "web1")
    postgres = None
    if db is not None:
        found = store.search(CIQuery(classes=("software_instance",), text="postgresql", limit=20)).items
        postgres = next((c for c in found if c.parent_uid == db.uid), None)
    out = []
    if postgres is not None and db is not None:
        out.append((f"What breaks if {postgres.name} on {db.name} goes down?",
                    f'{{ impact(uids: ["{postgres.uid}"], maxDepth: 8) {{ impacted {{ name ciClass grade depth '
                    "explanation } services { name grade owner } owners truncated } }"))
    if switch is not None:
        out.append((f"What breaks if the switch {switch.name} goes down?",
                    f'{{ impact(uids: ["{switch.uid}"], maxDepth: 4) {{ impacted {{ name ciClass grade depth }}'
                    " truncated } }"))
    if web is not None:
        out.append((f"What does {web.name} need to work?",
                    f'{{ dependencies(uid: "{web.uid}", maxDepth: 6) {{ dependencies {{ name ciClass depth redundant }}'
                    " truncated } }"))
    if len(out) < 3:
        out.append(("Find CIs by name", '{ cis(filter: {text: "web"}, first: 10) { edges { node { uid name } } } }'))
    return out


def _serve(store: GraphStore, estate: DemoEstate, port: int, with_scheduler: bool) -> None:
    import uvicorn

    from cmdb.store.tokens_sqlite import SQLiteTokenStore
    from cmdb.tokens import Role, TokenService
    from discovery.job_runner import JobRunner
    from discovery.scheduler import start_scheduler_in_background
    from graph_api.app import create_app

    catalog = schema()
    ingestor = Ingestor(store, catalog)  # the app adds its change-log follower to the listeners
    token_store = SQLiteTokenStore(estate.data_dir / "tokens.sqlite")
    _, token = TokenService(token_store).create("demo-viewer", Role.VIEWER)
    token_path = estate.data_dir / TOKEN_FILE
    token_path.write_text(token + "\n")
    os.chmod(token_path, 0o600)
    jobs = estate.load_jobs()
    runner = JobRunner(ingestor, lock_dir=estate.data_dir / "locks")
    started: set[asyncio.Task[Any]] = set()

    async def trigger(name: str) -> str:
        job = jobs.get(name)  # KeyError: the API answers NotFound
        task = asyncio.create_task(runner.run(job))
        started.add(task)
        task.add_done_callback(started.discard)
        return f"job {name} started"

    app = create_app(store, catalog, token_store, ingestor=ingestor, trigger_discovery=trigger)
    background = start_scheduler_in_background(jobs, ingestor, estate.data_dir / "locks") if with_scheduler else None
    url = f"http://127.0.0.1:{port}"
    # The token rides in the URL fragment, which a browser never sends to the server; the page
    # keeps it in the tab's sessionStorage and clears it from the address bar.
    console.print(f"\n[bold green]Web interface: {url}/ui#token={token}[/bold green]", soft_wrap=True)
    console.print(f"[bold green]GraphQL API: {url}/graphql[/bold green]  (GraphiQL in a browser, served by the API)")
    console.print(f"In GraphiQL's Headers tab: {{\"Authorization\": \"Bearer {token}\"}}   "
                  f"(the token is also in {token_path})")
    for title, query in _examples(store):
        console.print(f"\n[bold]{title}[/bold]")
        console.print(query, markup=False, highlight=False, soft_wrap=True)
    console.print(f"\ncurl: curl -s {url}/graphql -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json'"
                  " -d '{\"query\": \"{ cis(first: 5) { edges { node { name } } } }\"}'", markup=False, soft_wrap=True)
    console.print("\nCtrl-C stops the API and the demo estate.")
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    finally:
        if background is not None:
            background.stop()
        token_store.close()


def demo(
    stop: bool = typer.Option(False, "--stop", help="Stop everything a previous demo started, and exit."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Discover, print the summary, leave the estate running."),
    port: int = typer.Option(8000, "--port", help="Port of the API on 127.0.0.1."),
    data_dir: Path = typer.Option(DEFAULT_DIR, "--dir", help="The demo's data dir (its store, jobs file, state)."),
    hosts: bool = typer.Option(True, "--hosts/--no-hosts", help="Start the SSH hosts (needs root and ip netns)."),
    with_scheduler: bool = typer.Option(False, "--with-scheduler", help="Also run the demo jobs on their schedules."),
    store_kind: str = typer.Option("sqlite", "--store", help="sqlite (a file in --dir) or neo4j (a local Neo4j, "
                                   "started and stopped with the demo)."),
) -> None:
    """Start a local estate (AWS in moto, a lab network in snmpsim, SSH hosts), discover it for real, serve the API."""
    from labs.demo.estate import declare_services, discover_estate, start_estate, stop_estate

    data_dir = data_dir.resolve()
    if store_kind not in ("sqlite", "neo4j"):
        raise typer.BadParameter(f"--store {store_kind!r}: sqlite or neo4j")
    if stop:
        lines = stop_estate(data_dir)
        for line in lines:
            console.print(f"  {line}")
        console.print("demo stopped" if lines else f"no demo running under {data_dir}")
        return
    # SIGTERM (a service manager, `kill`) ends the demo as Ctrl-C does: the `finally` below
    # stops the estate. uvicorn re-raises it to this handler after its graceful shutdown;
    # the default action would end the process with moto, snmpsim and vcsim left running.
    signal.signal(signal.SIGTERM, exit_cleanly)
    estate = start_estate(data_dir, with_hosts=hosts, say=console.print,
                          netns_prefix=os.environ.get("CMDB_DEMO_NETNS_PREFIX") or None)
    serving = False
    stack = ExitStack()  # the local Neo4j, if any: stopped whatever happens
    try:
        _print_parts(estate)
        store = _fresh_store(data_dir, store_kind, stack)
        ingestor = Ingestor(store, schema())
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("discovering ...", total=None)
            lock = threading.Lock()

            def tick(p: ScanProgress) -> None:
                with lock:
                    bar.update(task, description=f"discovering: {p.scope} {p.message}"[:90])

            outcomes = discover_estate(estate, ingestor, tick)
        if estate.instances:
            declared = declare_services(estate, ingestor)
            console.print(f"declared Acme's service map (source manual): {declared.status.value}"
                          + (f", {len(declared.errors)} rejected" if declared.errors else ""))
        _print_summary(store, estate, outcomes)
        if no_serve:
            for title, query in _examples(store):
                console.print(f"\n[bold]{title}[/bold]")
                console.print(query, markup=False, highlight=False, soft_wrap=True)
            if store_kind == "neo4j":
                console.print(f"\nThe estate keeps running (state in {data_dir}); the local Neo4j stops now, its "
                              f"data stays in {data_dir / 'neo4j'}. `cmdb demo --stop` cleans up.")
            else:
                console.print(f"\nThe estate keeps running (state in {data_dir}). `cmdb demo --stop` cleans up; "
                              f"`cmdb runs --store sqlite:///{data_dir}/cmdb.sqlite` shows the scan runs.")
            store.close()
            return
        if importlib.util.find_spec("graph_api.app") is None:
            console.print("graph_api is not installed here: summary only. `cmdb demo --stop` cleans up.")
            return
        serving = True
        _serve(store, estate, port, with_scheduler)
        store.close()
    except BaseException:
        serving = True  # a failed or interrupted demo leaves nothing behind
        raise
    finally:
        stack.close()
        if serving:
            console.print("stopping the demo estate ...")
            for line in stop_estate(data_dir):
                console.print(f"  {line}")


def register(app: typer.Typer, discover_app: typer.Typer) -> None:
    app.command("demo")(demo)
