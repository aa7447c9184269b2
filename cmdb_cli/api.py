"""API commands: ``cmdb serve`` (the GraphQL API under uvicorn) and ``cmdb token create|list|revoke``.

The composition root for the API: it opens the store, loads the topology index and its
follower of the store's change log, wires the ingestor (which tells the follower of this
process's own writes), the token store, and
the discovery jobs (``triggerDiscovery``) into ``graph_api.app.create_app``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from cmdb.store.tokens_sqlite import SQLiteTokenStore
from cmdb.tokens import Role, TokenService
from cmdb_cli.context import (
    LogConfig,
    configure_logging,
    console,
    current_logging,
    err_console,
    exit_cleanly,
    open_ingestor,
    open_store,
    print_json,
    schema,
    settings,
)

if TYPE_CHECKING:
    from cmdb.ingest import Ingestor
    from graph_api.services import DiscoveryTrigger

TokensOpt = typer.Option(None, "--tokens", envvar="CMDB_TOKENS_PATH",
                         help="Token database (default: <data dir>/tokens.sqlite).")
StoreOpt = typer.Option(None, "--store", help="Store URL (default: CMDB_STORE_URL or the embedded SQLite file).")

token_app = typer.Typer(help="API tokens (stored hashed; the secret is shown once).", no_args_is_help=True)


def _tokens_path(path: Path | None) -> Path:
    return path or settings().data_dir / "tokens.sqlite"


def _token_service(path: Path | None) -> TokenService:
    return TokenService(SQLiteTokenStore(_tokens_path(path)))


@token_app.command("create")
def token_create(
    name: str = typer.Argument(..., help="Who or what uses the token (e.g. 'grafana', 'collector-dc2')."),
    role: Role = typer.Option(Role.VIEWER, "--role", "-r", help="viewer < editor < admin; collector only feeds observations."),
    tokens: Path | None = TokensOpt,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    sources: list[str] = typer.Option([], "--source", "-s",
                                      help="Collector tokens: a source it may write as (repeatable; never 'manual')."),
    scopes: list[str] = typer.Option([], "--scope",
                                     help="Collector tokens: a scope it may write in, glob patterns allowed "
                                          "('acct-123/*'); repeatable. Its complete runs age only these."),
) -> None:
    """Create a token and print it once (only its SHA-256 digest is stored)."""
    from cmdb.tokens import InvalidBinding

    try:
        info, plain = _token_service(tokens).create(name, role, sources, scopes, known_sources=schema().sources)
    except InvalidBinding as exc:
        err_console.print(f"cmdb token create: {exc}")
        raise typer.Exit(code=2) from None
    if json_out:
        print_json({"token_id": info.token_id, "name": info.name, "role": info.role.value, "token": plain,
                    "sources": list(info.sources), "scopes": list(info.scopes)})
        return
    bound = f" writing {', '.join(info.sources)} in {', '.join(info.scopes)}" if info.sources else ""
    console.print(f"token {info.token_id} ({info.role.value}{bound}) for {info.name!r}; copy it now, it is not shown again:")
    console.print(plain, markup=False, highlight=False, soft_wrap=True)


@token_app.command("list")
def token_list(tokens: Path | None = TokensOpt, json_out: bool = typer.Option(False, "--json")) -> None:
    """List tokens (never their secrets)."""
    rows = _token_service(tokens).list()
    if json_out:
        print_json([{"token_id": t.token_id, "name": t.name, "role": t.role.value, "created_at": t.created_at,
                     "revoked_at": t.revoked_at, "sources": list(t.sources), "scopes": list(t.scopes)} for t in rows])
        return
    table = Table("id", "name", "role", "writes", "created", "state")
    for t in rows:
        created = datetime.fromtimestamp(t.created_at / 1000, UTC).strftime("%Y-%m-%d %H:%M")
        writes = f"{','.join(t.sources)} in {','.join(t.scopes)}" if t.sources else ""
        table.add_row(t.token_id, t.name, t.role.value, writes, created, "active" if t.active else "revoked")
    console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: str = typer.Argument(..., help="The token id shown by 'cmdb token list'."),
                 tokens: Path | None = TokensOpt) -> None:
    """Revoke a token; requests carrying it get HTTP 401 from then on."""
    if not _token_service(tokens).revoke(token_id):
        err_console.print(f"no active token {token_id!r}")
        raise typer.Exit(code=1)
    console.print(f"revoked {token_id}")


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8000, "--port", "-p"),
    store_url: str | None = StoreOpt,
    tokens: Path | None = TokensOpt,
    jobs_file: str = typer.Option("jobs.yaml", "--jobs", "-j", envvar="CMDB_JOBS_FILE",
                                  help="Discovery jobs file for triggerDiscovery (skipped if absent)."),
    log_level: str | None = typer.Option(None, "--log-level",
                                         help="uvicorn's own level (default: cmdb's --log-level, before 'serve')."),
    with_scheduler: bool = typer.Option(False, "--with-scheduler",
                                        help="Also run the jobs file's discovery schedules in this process."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, max=64, envvar="CMDB_SERVE_WORKERS",
                                help="Worker processes, e.g. one per core. Each holds its own topology index and "
                                     "follows the store's change log, as every replica does."),
    follow_writers: bool = typer.Option(False, "--follow-writers", hidden=True,
                                        help="No longer needed: every server follows the store's change log."),
    liveness_timeout: float = typer.Option(20.0, "--liveness-timeout", envvar="CMDB_SERVE_LIVENESS_TIMEOUT", min=1,
                                           help="With --workers > 1: seconds a worker may leave its liveness check "
                                                "unanswered before it is replaced."),
    access_log: bool = typer.Option(False, "--access-log", envvar="CMDB_SERVE_ACCESS_LOG",
                                    help="Log one line per request (method, path, status, client), at INFO: "
                                         "needs --log-level info on cmdb (cmdb --log-level INFO serve ...)."),
    gc_gen0: int = typer.Option(10_000, "--gc-gen0", envvar="CMDB_SERVE_GC_GEN0", min=0,
                                help="Allocations between young-generation garbage collections (0: Python's 700)."),
) -> None:
    """Serve the GraphQL API (/graphql with GraphiQL), /healthz, /metrics and POST /api/v1/collect."""
    import uvicorn

    from cmdb_cli import read_deadline

    options = _ServeOptions(host, port, store_url, str(tokens) if tokens else None, jobs_file, gc_gen0,
                            logging_config=asdict(current_logging()), access_log=access_log)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal to the handler
    # that was installed before it: make that an orderly exit, so `finally` below runs.
    signal.signal(signal.SIGTERM, exit_cleanly)
    if workers == 1:
        scheduler_box: list[Any] = []  # the in-process scheduler, once started (its health for /healthz)
        app, ingestor = _build_app(options, scheduler_box if with_scheduler else None)
        background = _start_scheduler(jobs_file, store_url, ingestor) if with_scheduler else None
        scheduler_box.append(background)
        try:
            # log_config=None: uvicorn's own lines go through this process's handler (JSON with --json-logs).
            uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="off", access_log=access_log,
                        log_config=None, http=read_deadline.configured())
        finally:
            if background is not None:
                background.stop()  # interrupted runs end incomplete: nothing aged
        return
    # Several workers under uvicorn's own supervisor (cmdb_cli.workers); each builds the app
    # from the options, passed in the environment it inherits. A scheduler runs once, here,
    # with its own ingestor: the workers see what it writes through the store's change log.
    from cmdb_cli.workers import LIVENESS_DIR, LIVENESS_TIMEOUT, WorkerStartupError, serve_workers

    _check_api_settings()  # before any worker starts: each would fail the same way
    open_store(store_url).close()  # likewise an unreachable store: said once, here (exit 2)
    os.environ[_WORKER_OPTIONS] = options.to_json()
    os.environ[LIVENESS_DIR] = tempfile.mkdtemp(prefix="cmdb-liveness-")
    os.environ[LIVENESS_TIMEOUT] = str(liveness_timeout)
    # prometheus_client's multiprocess mode: every worker counts into files of one fresh
    # directory (it reads the variable when it is imported, in each spawned worker), and a
    # scrape sums them. An operator's own directory is used as given.
    own_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    if own_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="cmdb-metrics-")
    background = _start_scheduler(jobs_file, store_url, open_ingestor(open_store(store_url))) if with_scheduler else None
    try:
        serve_workers(workers, host, port, "cmdb_cli.api:worker_app", log_level,
                      http="cmdb_cli.read_deadline:WorkerProtocol", liveness_timeout=liveness_timeout,
                      access_log=access_log)
    except WorkerStartupError as exc:
        err_console.print(f"cmdb serve: {exc}")
        raise typer.Exit(code=1) from None
    finally:
        if background is not None:
            background.stop()
        shutil.rmtree(os.environ.pop(LIVENESS_DIR), ignore_errors=True)
        if own_dir:
            shutil.rmtree(os.environ.pop("PROMETHEUS_MULTIPROC_DIR"), ignore_errors=True)


_WORKER_OPTIONS = "CMDB_SERVE_WORKER_OPTIONS"


def _check_api_settings() -> None:
    from pydantic import ValidationError

    from graph_api.settings import get_api_settings

    try:
        get_api_settings()
    except ValidationError as exc:
        err_console.print(f"cmdb serve: invalid API settings (CMDB_API_*), the workers would fail to start: {exc}")
        raise typer.Exit(code=1) from None


@dataclass(frozen=True)
class _ServeOptions:
    host: str
    port: int
    store_url: str | None
    tokens: str | None
    jobs_file: str
    gc_gen0: int
    # The supervisor's logging (a LogConfig as a dict), for the workers (spawned: they start
    # with Python's defaults).
    logging_config: dict[str, Any] = field(default_factory=dict)
    access_log: bool = False  # one line per request (uvicorn's access log)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> _ServeOptions:
        return cls(**json.loads(text))


def worker_app() -> Any:
    """The app of one ``cmdb serve --workers N`` process (uvicorn calls this in each worker, on its loop)."""
    from cmdb_cli.workers import start_watchdog

    options = _ServeOptions.from_json(os.environ[_WORKER_OPTIONS])
    config = LogConfig(**options.logging_config)
    if config.log_file:  # one rotating file per process: no two rotate one file
        path = Path(config.log_file)
        config = replace(config, log_file=str(path.with_name(f"{path.stem}-worker{os.getpid()}{path.suffix}")))
    configure_logging(config=config)
    try:
        app, _ = _build_app(options)
    except Exception:
        # uvicorn's supervisor stops (instead of restarting workers for ever) when a worker exits
        # with its startup-failure code: this app cannot be built, the next one could not either.
        from uvicorn.config import STARTUP_FAILURE

        logging.getLogger(__name__).exception("worker pid %d: the app could not be built", os.getpid())
        sys.exit(STARTUP_FAILURE)
    start_watchdog(asyncio.get_running_loop())
    return app


def _build_app(options: _ServeOptions, scheduler_box: list[Any] | None = None) -> tuple[Any, Ingestor]:
    """Open the store, load the topology index, wire the ingestor, tokens and jobs into the app.

    ``scheduler_box``: holds the scheduler this process runs (``BackgroundScheduler``), once
    started: ``/healthz`` then reports its liveness.
    """
    from cmdb.store.change_feed import ChangeFeedStore
    from cmdb.topology.follower import ChangeFollower
    from graph_api.app import create_app
    from graph_api.settings import ApiSettings

    store = open_store(options.store_url)
    catalog = schema()
    started = time.perf_counter()
    # The index follows the store's change log, whoever writes (this process included: one
    # order for all); so does the result cache, which keys on the index's view.
    assert isinstance(store, ChangeFeedStore), "every store keeps a change log"
    follower = ChangeFollower.load(store, catalog)
    index = follower.index
    err_console.print(f"topology index: {len(index)} CIs loaded in {time.perf_counter() - started:.1f} s"
                      f" (pid {os.getpid()}, following the change log from position {follower.position})")
    # What is loaded now lives as long as the server: keep it out of every later collection
    # (a full collection walked the index's node lists and took ~70-150 ms under load).
    # Young collections every 10,000 allocations instead of 700: a request's short-lived
    # objects then mostly die young instead of being promoted mid-request. Not more: a
    # collection's pause grows with what it walks, and every request queued behind it waits.
    # While each request still left its execution state in a reference cycle (graphql-core's
    # resolver helpers, broken since in graph_api.execution), young collections at 50,000
    # paused a worker 50-70 ms about once a second: impact p95 at 50 clients 109-117 ms
    # against 77-82 ms at 10,000 (docs/benchmarks/api.md).
    gc.collect()
    gc.freeze()
    if options.gc_gen0:
        gc.set_threshold(options.gc_gen0, *gc.get_threshold()[1:])
    ingestor = open_ingestor(store, listeners=[follower.after_apply])
    token_store = SQLiteTokenStore(_tokens_path(Path(options.tokens) if options.tokens else None))
    if not TokenService(token_store).list():
        err_console.print("no API tokens yet: every request will get 401; create one with 'cmdb token create NAME --role viewer'")
    trigger = (_job_trigger(options.jobs_file, options.store_url, ingestor)
               if os.path.exists(options.jobs_file) else None)
    statuses = _job_status(options.jobs_file, store) if os.path.exists(options.jobs_file) else None
    # Embedded SQLite reads take well under a millisecond: run them inline on the event loop
    # (measured faster than a thread pool, docs/benchmarks/api.md); network stores get threads.
    url = options.store_url or settings().resolved_store_url()
    api_settings = ApiSettings(host=options.host, port=options.port)
    if "CMDB_API_STORE_THREADS" not in os.environ:
        api_settings.store_threads = 0 if url.startswith("sqlite") else 4
    # An idle server stays current too: within this interval of any write, without being asked.
    follower.follow(interval=api_settings.follow_interval_s)
    from cmdb_cli.workers import liveness

    # Embedded SQLite: catching up before each request costs one local query, and then every
    # answer reflects every write committed before it came. A network store would pay a round
    # trip per request: its replicas rely on the background follower and on minPosition.
    refresh = follower.catch_up if url.startswith("sqlite") else None
    app = create_app(store, catalog, token_store, settings=api_settings, ingestor=ingestor,
                     trigger_discovery=trigger, refresh=refresh, liveness=liveness, change_log=follower,
                     job_status=statuses,
                     scheduler_health=_scheduler_health(scheduler_box) if scheduler_box is not None else None)
    return app, ingestor


def _scheduler_health(box: list[Any]) -> Callable[[], tuple[bool, dict[str, Any]]]:
    def health() -> tuple[bool, dict[str, Any]]:
        background = box[0] if box else None
        if background is None:
            return False, {"status": "starting", "seconds_since_heartbeat": None}
        alive, details = background.health()
        return bool(alive), dict(details)

    return health


def _job_status(jobs_file: str, store: Any) -> Callable[[], list[Any]]:
    """The ``jobStatus`` query's answer: every job's status from the store, the jobs file read once."""
    from cmdb_cli.jobs import job_statuses, read_jobs

    jobs = read_jobs(jobs_file, check_credentials=False)
    return lambda: job_statuses(jobs, store)


def _start_scheduler(jobs_file: str, store_url: str | None, ingestor: Ingestor) -> Any:
    """The scheduler on its own thread, feeding the server's ingestor (so the index follows discoveries)."""
    from cmdb_cli.jobs import lock_dir, read_jobs
    from discovery.scheduler import start_scheduler_in_background

    if not os.path.exists(jobs_file):
        err_console.print(f"--with-scheduler: no jobs file {jobs_file!r} (set --jobs or CMDB_JOBS_FILE)")
        raise typer.Exit(code=2)
    jobs = read_jobs(jobs_file)
    err_console.print(f"scheduler: {len(list(jobs))} jobs from {jobs_file}")
    return start_scheduler_in_background(jobs, ingestor, lock_dir(store_url))


def _job_trigger(jobs_file: str, store_url: str | None, ingestor: Ingestor) -> DiscoveryTrigger:
    """``triggerDiscovery``: start the named job as a task on the server's loop, through the server's
    ingestor, so the topology index follows what the job finds."""
    from cmdb_cli.jobs import lock_dir, read_jobs
    from discovery.job_runner import JobRunner

    jobs = read_jobs(jobs_file, check_credentials=False)
    runner = JobRunner(ingestor, lock_dir=lock_dir(store_url))
    running: set[asyncio.Task[Any]] = set()

    async def trigger(name: str) -> str:
        job = jobs.get(name)  # KeyError -> NotFoundError in the API
        task = asyncio.create_task(runner.run(job))
        running.add(task)
        task.add_done_callback(running.discard)
        return f"{job.name}@{int(time.time() * 1000)}"

    return trigger


def register(app: typer.Typer, discover_app: typer.Typer) -> None:
    """Add ``cmdb serve`` and ``cmdb token ...`` to the ``cmdb`` app."""
    app.command("serve")(serve)
    app.add_typer(token_app, name="token")


__all__ = ["register"]
