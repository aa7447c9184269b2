"""Runs due discovery jobs on their schedules (APScheduler 3.x on asyncio).

Policies:

- **No overlap**: APScheduler's ``max_instances=1`` plus the runner's own
  per-job lock (in-process, and a file lock across processes, so a manual
  ``cmdb discover job NAME`` and the scheduler never run one job twice). A due
  run that finds its job still running is *recorded* as a ScanRun in scope
  ``job:<name>``, status incomplete, error ``skipped: previous run still running``.
- **Missed runs**: ``coalesce=True`` (runs missed while the process was down
  or busy collapse into one) and ``misfire_grace_time`` per job (a run later
  than that is dropped; the next one comes on schedule).
- **Timeout**: a job running past its timeout is interrupted; its scope in
  progress ends incomplete, so nothing is aged.
- **Isolation**: each execution runs on its own thread and event loop, so one
  scanner's CPU-heavy stretch does not starve another job's network I/O.
- **Shutdown**: SIGTERM/SIGINT stop taking new runs, interrupt running ones
  (their runs end incomplete, reason ``interrupted: scheduler shutdown``) and
  wait for their records to be written.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from cmdb.ingest import Ingestor
from cmdb.observation import now_ms
from cmdb.retention import RetentionUnsupported, prune
from discovery.job_runner import SHUTDOWN, JobOutcome, JobRunner
from discovery.jobs import Job, Jobs

log = logging.getLogger(__name__)

OutcomeHook = Callable[[JobOutcome], None]
RETENTION_ID = "cmdb:retention"  # the scheduler's own job (never a jobs-file name: those are validated)


def trigger_for(job: Job) -> BaseTrigger | None:
    """The APScheduler trigger of a job's schedule (None: on demand only)."""
    sched = job.spec.schedule
    if sched is None:
        return None
    jitter = int(sched.jitter) if sched.jitter else None
    if sched.cron is not None:
        # CronTrigger.from_crontab takes no jitter: split the five fields the same way it does.
        return CronTrigger(**_cron_fields(sched.cron), timezone=sched.timezone, jitter=jitter)
    assert sched.interval is not None
    return IntervalTrigger(seconds=sched.interval, jitter=jitter, timezone=sched.timezone)


def _cron_fields(expr: str) -> dict[str, str]:
    minute, hour, day, month, dow = expr.split()
    return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": dow}


class DiscoveryScheduler:
    """Schedules every enabled job with a schedule; one event loop, one ingestor."""

    def __init__(self, jobs: Jobs, ingestor: Ingestor, lock_dir: Path | None = None,
                 on_outcome: OutcomeHook | None = None, on_start: Callable[[str], None] | None = None) -> None:
        self.jobs = jobs
        self.runner = JobRunner(ingestor, lock_dir)
        self.on_outcome = on_outcome
        self.on_start = on_start  # told a job's name as its execution starts (metrics)
        self.outcomes: list[JobOutcome] = []
        self._scheduler: AsyncIOScheduler | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self._pending: set[asyncio.Task[Any]] = set()
        self._firing: set[asyncio.Task[Any]] = set()
        # Each execution runs on its own thread and event loop: a scanner's CPU-heavy
        # stretch (an SNMP crawl, a big transform) then cannot starve another job's
        # network handshakes, as it would on one shared loop.
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(self.scheduled)) + (1 if jobs.retention else 0),
                                        thread_name_prefix="cmdb-job")

    @property
    def scheduled(self) -> list[Job]:
        return [j for j in self.jobs if j.spec.enabled and j.spec.schedule is not None]

    def start(self) -> None:
        """Start scheduling (call from the running event loop)."""
        self._loop = asyncio.get_running_loop()
        sched = AsyncIOScheduler(event_loop=self._loop, timezone="UTC")
        for job in self.scheduled:
            sched.add_job(self._fire, trigger=trigger_for(job), args=[job.name], id=job.name, name=job.name,
                          max_instances=1, coalesce=True, misfire_grace_time=int(job.misfire_grace),
                          replace_existing=True)
        retention = self.jobs.retention
        if retention is not None:
            sched.add_job(self._retain, trigger=IntervalTrigger(seconds=retention.interval), id=RETENTION_ID,
                          name="retention", max_instances=1, coalesce=True, replace_existing=True)
        sched.add_listener(self._on_max_instances, EVENT_JOB_MAX_INSTANCES)
        sched.start()
        self._scheduler = sched
        for job in self.scheduled:
            aps = sched.get_job(job.name)
            log.info("scheduled %s: %s, next at %s", job.name, job.spec.schedule and job.spec.schedule.describe(),
                     aps.next_run_time if aps else None)

    def next_runs(self) -> dict[str, Any]:
        """Each scheduled job's next fire time (for status output)."""
        if self._scheduler is None:
            return {}
        return {j.id: j.next_run_time for j in self._scheduler.get_jobs()}

    async def _fire(self, name: str) -> None:
        job = self.jobs.get(name)
        me = asyncio.current_task()
        if me is not None:
            self._firing.add(me)
        try:
            fut = asyncio.get_running_loop().run_in_executor(self._pool, self._run_isolated, job)
            try:
                outcome = await asyncio.shield(fut)
            except asyncio.CancelledError:
                # APScheduler cancels running jobs when it shuts down: interrupt the
                # execution and wait until its runs are recorded incomplete.
                self.runner.stop_all(SHUTDOWN)
                outcome = await fut
            self._done(outcome)
        finally:
            if me is not None:
                self._firing.discard(me)

    async def _retain(self) -> None:
        """Prune run records and history per the jobs file's ``retention`` (on the job pool)."""
        retention = self.jobs.retention
        assert retention is not None
        store = self.runner.ingestor.store
        try:
            report = await asyncio.get_running_loop().run_in_executor(
                self._pool, prune, store, now_ms(), retention.runs_days, retention.history_days)
        except RetentionUnsupported as exc:
            log.warning("retention: %s", exc)
            return
        except Exception:
            log.exception("retention failed")
            return
        log.info("retention: deleted %d run records and %d history entries", report.runs, report.history)

    def _run_isolated(self, job: Job) -> JobOutcome:
        if self.on_start is not None:
            try:
                self.on_start(job.name)
            except Exception:
                log.exception("start hook failed")
        return asyncio.run(self.runner.run(job))

    def _done(self, outcome: JobOutcome) -> None:
        self.outcomes.append(outcome)
        log.info("job %s: %s%s", outcome.job, outcome.status, f" ({outcome.reason})" if outcome.reason else "")
        if self.on_outcome is not None:
            try:
                self.on_outcome(outcome)
            except Exception:
                log.exception("outcome hook failed")

    def _on_max_instances(self, event: JobSubmissionEvent) -> None:
        # APScheduler refused to start an overlapping run: record the skip.
        loop = self._loop
        assert loop is not None  # set by start(), before APScheduler runs anything
        if event.job_id == RETENTION_ID:
            return
        job = self.jobs.get(event.job_id)

        async def record() -> None:
            run = await self.runner.record_skip(job)
            self._done(JobOutcome(job.name, "skipped", [run], run.errors[0] if run.errors else None))

        def spawn() -> None:
            task = loop.create_task(record())
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

        loop.call_soon_threadsafe(spawn)

    def request_stop(self) -> None:
        """Ask ``serve`` to shut down (what SIGTERM/SIGINT do); safe from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        else:
            self._stop.set()

    async def stop(self, reason: str = SHUTDOWN) -> None:
        """Stop scheduling, interrupt running jobs (their runs end incomplete) and wait for their records."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self.runner.stop_all(reason)
        if self._firing:
            await asyncio.wait(list(self._firing), timeout=60)
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=10)
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def serve(self, install_signal_handlers: bool = True) -> None:
        """Run until SIGTERM/SIGINT (or :meth:`request_stop`), then shut down gracefully."""
        self.start()
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        if install_signal_handlers and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._stop.set)
                installed.append(sig)
        try:
            await self._stop.wait()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            await self.stop()


class BackgroundScheduler:
    """A scheduler on its own thread and event loop, for ``cmdb serve --with-scheduler``."""

    def __init__(self, scheduler_factory: Callable[[], DiscoveryScheduler]) -> None:
        self._factory = scheduler_factory
        self._ready = threading.Event()
        self.scheduler: DiscoveryScheduler | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="cmdb-scheduler", daemon=True)

    def _main(self) -> None:
        async def main() -> None:
            self.scheduler = self._factory()
            serving = asyncio.ensure_future(self.scheduler.serve(install_signal_handlers=False))
            await asyncio.sleep(0)
            self._ready.set()
            await serving

        try:
            asyncio.run(main())
        except BaseException as exc:
            self.error = exc
            log.exception("background scheduler stopped")
        finally:
            self._ready.set()

    def start(self) -> BackgroundScheduler:
        self.thread.start()
        self._ready.wait(30)
        return self

    def stop(self, timeout: float = 60) -> None:
        """Interrupt running jobs (their runs end incomplete) and wait for the thread to end."""
        if self.scheduler is not None:
            self.scheduler.request_stop()
        self.thread.join(timeout)


def start_scheduler_in_background(jobs: Jobs, ingestor: Ingestor, lock_dir: Path | None = None,
                                  on_outcome: OutcomeHook | None = None) -> BackgroundScheduler:
    """Run ``jobs`` on their schedules in a background thread; call ``.stop()`` on shutdown.

    The ingestor should be the one the API's topology index listens to, so what
    the scheduler discovers shows up in queries at once.
    """
    return BackgroundScheduler(lambda: DiscoveryScheduler(jobs, ingestor, lock_dir, on_outcome)).start()
