"""``cmdb scheduler``: run the jobs file's jobs on their schedules until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from cmdb_cli.context import console, open_ingestor, open_store
from cmdb_cli.jobs import JobsOpt, StoreOpt, lock_dir, read_jobs

if TYPE_CHECKING:
    from discovery.job_runner import JobOutcome


def scheduler(
    jobs_file: str = JobsOpt,
    store_url: str | None = StoreOpt,
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", envvar="CMDB_SCHEDULER_METRICS_PORT", min=0, max=65535,
        help="Serve the scheduler's /metrics (per job: last start, success, duration, failures in a row, items) "
             "and /healthz on this port (0: any free port, printed)."),
    metrics_host: str = typer.Option("127.0.0.1", "--metrics-host", envvar="CMDB_SCHEDULER_METRICS_HOST",
                                     help="Address the metrics server binds."),
) -> None:
    """Run due discovery jobs (never two runs of one job at once) until SIGTERM or Ctrl-C.

    Overlapping runs are skipped and recorded (``cmdb runs``: scope ``job:<name>``);
    missed runs are coalesced; on shutdown running jobs end incomplete (nothing aged).
    """
    from discovery.scheduler import DiscoveryScheduler

    jobs = read_jobs(jobs_file)
    store = open_store(store_url)

    def report(outcome: JobOutcome) -> None:
        counts = outcome.counts
        console.print(f"job {outcome.job}: {outcome.status}"
                      + (f" ({outcome.reason})" if outcome.reason else "")
                      + f"  created {counts.get('created', 0)} updated {counts.get('updated', 0)}"
                        f" stale {counts.get('stale', 0)} retired {counts.get('retired', 0)}")

    hooks: list[Callable[[JobOutcome], None]] = [report]
    metrics = server = None
    if metrics_port is not None:
        from discovery.metrics import MetricsServer, SchedulerMetrics

        metrics = SchedulerMetrics()
        for job in jobs:
            if job.spec.enabled and job.spec.schedule is not None:
                metrics.register(job.name)
        metrics.beat()
        server = MetricsServer(metrics, metrics_host, metrics_port).start()
        console.print(f"scheduler metrics: http://{metrics_host}:{server.port}/metrics and /healthz")
        hooks.append(metrics.finished)
    notifier = None
    webhook = jobs.notifications.webhook
    if webhook is not None:
        from discovery.notify import WebhookNotifier

        notifier = WebhookNotifier(webhook, lambda: webhook.secret.resolve(jobs.base_dir))
        hooks.append(notifier)

    def on_outcome(outcome: JobOutcome) -> None:
        for hook in hooks:
            hook(outcome)

    sched = DiscoveryScheduler(jobs, open_ingestor(store), lock_dir(store_url), on_outcome=on_outcome,
                               on_start=metrics.started if metrics is not None else None)

    async def heartbeat() -> None:
        assert metrics is not None
        while True:  # /healthz turns 503 when this loop stops beating
            metrics.beat()
            await asyncio.sleep(1)

    async def main() -> None:
        serving = asyncio.create_task(sched.serve())
        beating = asyncio.create_task(heartbeat()) if metrics is not None else None
        await asyncio.sleep(0.05)
        table = Table("job", "scanner", "schedule", "next run (UTC)", title="cmdb scheduler (Ctrl-C to stop)")
        nexts = sched.next_runs()
        for job in sched.scheduled:
            when = nexts.get(job.name)
            table.add_row(job.name, job.scanner, job.spec.schedule.describe() if job.spec.schedule else "-",
                          when.strftime("%Y-%m-%d %H:%M:%S") if when else "-")
        console.print(table)
        try:
            await serving
        finally:
            if beating is not None:
                beating.cancel()

    try:
        asyncio.run(main())
    finally:
        if notifier is not None:
            notifier.close()
        if server is not None:
            server.stop()
        store.close()
    console.print("scheduler stopped")


def register(app: typer.Typer, discover_app: typer.Typer) -> None:
    app.command("scheduler")(scheduler)
