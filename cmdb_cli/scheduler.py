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


def scheduler(jobs_file: str = JobsOpt, store_url: str | None = StoreOpt) -> None:
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
    notifier = None
    webhook = jobs.notifications.webhook
    if webhook is not None:
        from discovery.notify import WebhookNotifier

        notifier = WebhookNotifier(webhook, lambda: webhook.secret.resolve(jobs.base_dir))
        hooks.append(notifier)

    def on_outcome(outcome: JobOutcome) -> None:
        for hook in hooks:
            hook(outcome)

    sched = DiscoveryScheduler(jobs, open_ingestor(store), lock_dir(store_url), on_outcome=on_outcome)

    async def main() -> None:
        serving = asyncio.create_task(sched.serve())
        await asyncio.sleep(0.05)
        table = Table("job", "scanner", "schedule", "next run (UTC)", title="cmdb scheduler (Ctrl-C to stop)")
        nexts = sched.next_runs()
        for job in sched.scheduled:
            when = nexts.get(job.name)
            table.add_row(job.name, job.scanner, job.spec.schedule.describe() if job.spec.schedule else "-",
                          when.strftime("%Y-%m-%d %H:%M:%S") if when else "-")
        console.print(table)
        await serving

    try:
        asyncio.run(main())
    finally:
        if notifier is not None:
            notifier.close()
        store.close()
    console.print("scheduler stopped")


def register(app: typer.Typer, discover_app: typer.Typer) -> None:
    app.command("scheduler")(scheduler)
