"""Jobs commands: ``cmdb jobs list|validate`` and ``cmdb discover job NAME`` (run one job now)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cmdb_cli.context import console, err_console, open_ingestor, open_store, print_json, settings

if TYPE_CHECKING:
    from cmdb.job_runs import JobStatus
    from cmdb.store.protocol import GraphStore
    from discovery.base import Progress as ScanProgress
    from discovery.job_runner import JobOutcome
    from discovery.jobs import Jobs

JobsOpt = typer.Option("jobs.yaml", "--jobs", "-j", envvar="CMDB_JOBS_FILE", help="The discovery jobs file (YAML).")
StoreOpt = typer.Option(None, "--store", help="Store URL (default: CMDB_STORE_URL or the embedded SQLite file).")

jobs_app = typer.Typer(help="Discovery jobs: list and validate the jobs file.", no_args_is_help=True)


def read_jobs(path: str, check_credentials: bool = True) -> Jobs:
    """Load the jobs file or exit 2 printing every problem as ``file:line: field: reason``."""
    from discovery.jobs import JobsFileError, load_jobs

    try:
        return load_jobs(path, check_credentials=check_credentials)
    except JobsFileError as exc:
        err_console.print(exc.render(), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None


def lock_dir(store_url: str | None) -> Path:
    """Where job locks live: beside an SQLite store, else in the data dir (shared by every process)."""
    url = store_url or settings().resolved_store_url()
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        return Path(url[len("sqlite:///"):]).parent / "locks"
    return settings().data_dir / "locks"


def outcome_table(outcome: JobOutcome) -> Table:
    table = Table("scope", "status", "created", "updated", "unchanged", "stale", "retired", "rels +/~", "errors",
                  title=f"job {outcome.job}: {outcome.status}" + (f" ({outcome.reason})" if outcome.reason else ""))
    for r in outcome.runs:
        c = r.counts
        table.add_row(r.scope, r.status.value, *(str(c.get(k, 0)) for k in
                      ("created", "updated", "unchanged", "stale", "retired")),
                      f"{c.get('relationships_created', 0)}/{c.get('relationships_updated', 0)}",
                      "; ".join(r.errors)[:120] or "-")
    return table


def outcome_dict(outcome: JobOutcome) -> dict[str, Any]:
    return {"job": outcome.job, "status": outcome.status, "reason": outcome.reason, "counts": outcome.counts,
            "runs": [{"run_id": r.run_id, "scope": r.scope, "status": r.status.value, "counts": r.counts,
                      "errors": r.errors} for r in outcome.runs]}


def run_job(jobs: Jobs, name: str, store: GraphStore, locks: Path, show_progress: bool = True) -> JobOutcome:
    """Run one job now into ``store`` with a progress bar; the outcome's runs are in the store."""
    from discovery.job_runner import JobRunner

    job = jobs.get(name)
    runner = JobRunner(open_ingestor(store), lock_dir=locks)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=console,
                  disable=not show_progress, transient=True) as bar:
        task = bar.add_task(f"{job.name} ({job.scanner})", total=None, note="")

        def tick(p: ScanProgress) -> None:
            bar.update(task, completed=p.done, total=p.total, note=f"{p.scope} {p.message}"[:60])

        return asyncio.run(runner.run(job, progress=tick))


@jobs_app.command("list")
def list_jobs(
    jobs_file: str = JobsOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the jobs: scanner, schedule, timeout, concurrency, credential references, availability."""
    from discovery.scanner_registry import availability

    jobs = read_jobs(jobs_file, check_credentials=False)
    rows: list[dict[str, Any]] = [{
        "name": j.name, "scanner": j.scanner, "enabled": j.spec.enabled,
        "schedule": j.spec.schedule.describe() if j.spec.schedule else "on demand",
        "timeout_s": j.timeout, "concurrency": j.concurrency, "misfire_grace_s": j.misfire_grace,
        "credentials": {k: str(v) for k, v in j.spec.credentials.items()},
        "unavailable": availability(j.scanner), "line": j.line,
    } for j in jobs]
    if as_json:
        print_json(rows)
        return
    table = Table("job", "scanner", "schedule", "timeout", "concurrency", "credentials", "status")
    for j, r in zip(jobs, rows, strict=True):
        status = "disabled" if not j.spec.enabled else (r["unavailable"] or "ready")
        table.add_row(j.name, j.scanner, str(r["schedule"]), f"{j.timeout:g}s", str(j.concurrency),
                      ", ".join(f"{k}={v}" for k, v in j.spec.credentials.items()) or "-", str(status))
    console.print(table)


def job_statuses(jobs: Jobs, store: GraphStore) -> list[JobStatus]:
    """Every job's status from its job runs in ``store``, with its next run from its schedule."""
    from cmdb.job_runs import job_status
    from discovery.job_runner import job_source
    from discovery.missed import next_run_at

    return [job_status(store, job.name, job_source(job), lambda last, job=job: next_run_at(job, last))  # type: ignore[misc]
            for job in jobs]


def _when(ms: int | None) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S") if ms is not None else "-"


def status_dict(status: JobStatus) -> dict[str, Any]:
    last = status.last_run
    return {"job": status.job, "last_run": None if last is None else {
                "job_run_id": last.run_id, "started_at": last.started_at, "finished_at": last.finished_at,
                "duration_ms": last.duration_ms, "errors": last.errors},
            "result": status.last_result.value if status.last_result else None,
            "last_success_at": status.last_success_at, "failure_streak": status.failure_streak,
            "next_run_at": status.next_run_at}


@jobs_app.command("status")
def status(
    jobs_file: str = JobsOpt,
    store_url: str | None = StoreOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Each job's last run, its result, its last success, failures in a row and next run (times in UTC)."""
    jobs = read_jobs(jobs_file, check_credentials=False)
    store = open_store(store_url)
    try:
        statuses = job_statuses(jobs, store)
    finally:
        store.close()
    if as_json:
        print_json([status_dict(s) for s in statuses])
        return
    table = Table("job", "last run (UTC)", "result", "duration", "last success (UTC)", "failures in a row",
                  "next run (UTC)", "reason", title="discovery jobs")
    for s in statuses:
        last = s.last_run
        duration = last.duration_ms if last is not None else None
        table.add_row(s.job, _when(last.started_at if last else None), s.last_result.value if s.last_result else "-",
                      f"{duration / 1000:.1f}s" if duration is not None else "-", _when(s.last_success_at),
                      str(s.failure_streak), _when(s.next_run_at), ("; ".join(last.errors) if last else "")[:80] or "-")
    console.print(table)


@jobs_app.command("validate")
def validate(
    jobs_file: str = JobsOpt,
    credentials: bool = typer.Option(True, "--credentials/--no-credentials",
                                     help="Check that every credential reference resolves here and now."),
) -> None:
    """Validate the jobs file; exit 2 with ``file:line: field: reason`` for every problem."""
    from discovery.scanner_registry import availability

    jobs = read_jobs(jobs_file, check_credentials=credentials)
    missing = [(j.name, availability(j.scanner)) for j in jobs if availability(j.scanner)]
    console.print(f"{jobs_file}: {len(jobs.jobs)} job(s) valid")
    for name, why in missing:
        err_console.print(f"warning: job {name}: scanner {why}")


def discover_job(
    name: str = typer.Argument(..., help="The job's name in the jobs file."),
    jobs_file: str = JobsOpt,
    store_url: str | None = StoreOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Run one job of the jobs file now (same lock, timeout and records as the scheduler)."""
    from discovery.jobs import JobsFileError

    jobs = read_jobs(jobs_file, check_credentials=False)  # only this job's references must resolve
    try:
        problems = jobs.get(name).credential_problems()
    except KeyError as exc:
        err_console.print(str(exc.args[0]))
        raise typer.Exit(code=2) from None
    if problems:
        err_console.print(JobsFileError(jobs_file, problems).render(), markup=False, soft_wrap=True)
        raise typer.Exit(code=2)
    store = open_store(store_url)
    try:
        outcome = run_job(jobs, name, store, lock_dir(store_url), show_progress=not as_json)
    finally:
        store.close()
    if as_json:
        print_json(outcome_dict(outcome))
    else:
        console.print(outcome_table(outcome))
    if outcome.status != "complete":
        raise typer.Exit(code=1)


def register(app: typer.Typer, discover_app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
    discover_app.command("job")(discover_job)
