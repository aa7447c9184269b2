"""Runs due discovery jobs on their schedules (APScheduler 3.x on asyncio).

Policies:

- **No overlap**: APScheduler's ``max_instances=1`` plus the runner's own
  per-job lock (in-process, and a file lock across processes, so a manual
  ``cmdb discover job NAME`` and the scheduler never run one job twice). A due
  run that finds its job still running is *recorded* as a ScanRun in scope
  ``job:<name>``, status incomplete, error ``skipped: previous run still running``.
- **Missed runs**: ``coalesce=True`` (runs missed while the process was down
  or busy collapse into one) and ``misfire_grace_time`` per job (a run later
  than that is dropped; the next one comes on schedule). Runs missed while the
  scheduler was down are found at start from each job's last job run in the
  store (``discovery.missed``): caught up at once (one run for them all) when
  the latest is within the grace, else recorded as a ``missed`` job run.
- **Timeout**: a job running past its timeout is interrupted; its scope in
  progress ends incomplete, so nothing is aged.
- **Isolation**: each execution runs on its own thread and event loop, so one
  scanner's CPU-heavy stretch does not starve another job's network I/O.
- **A bounded store**: after each execution and each purge, a store with a
  write-ahead log (SQLite) is checkpointed and its log truncated
  (``PRAGMA wal_checkpoint(TRUNCATE)``): under a frequent schedule the log
  would otherwise only be checkpointed passively and keep growing.
- **Shutdown**: SIGTERM/SIGINT stop taking new runs, interrupt running ones
  (their runs end incomplete, reason ``interrupted: scheduler shutdown``) and
  wait for their records to be written.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from cmdb.ingest import Ingestor
from cmdb.observation import now_ms
from cmdb.retention import RetentionUnsupported, prune
from cmdb.store.protocol import CheckpointingStore
from discovery.job_runner import SHUTDOWN, JobOutcome, JobRunner
from discovery.jobs import Job, Jobs
from discovery.missed import Missed, missed_since_last_run

log = logging.getLogger(__name__)

OutcomeHook = Callable[[JobOutcome], None]
RETENTION_ID = "cmdb:retention"  # the scheduler's own job (never a jobs-file name: those are validated)


def trigger_for(job: Job, jitter: bool = True) -> BaseTrigger | None:
    """The APScheduler trigger of a job's schedule (None: on demand only); ``jitter=False``: its exact times."""
    sched = job.spec.schedule
    if sched is None:
        return None
    jitter = int(sched.jitter) if sched.jitter and jitter else None  # type: ignore[assignment]
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
        now = datetime.now(UTC)
        for job in self.scheduled:
            catch_up = self._missed_while_down(job, now)
            extra = {"next_run_time": now} if catch_up else {}
            sched.add_job(self._fire, trigger=trigger_for(job), args=[job.name, catch_up], id=job.name,
                          name=job.name, max_instances=1, coalesce=True, misfire_grace_time=int(job.misfire_grace),
                          replace_existing=True, **extra)
        retention = self.jobs.retention
        if retention is not None:
            sched.add_job(self._retain, trigger=IntervalTrigger(seconds=retention.interval), id=RETENTION_ID,
                          name="retention", max_instances=1, coalesce=True, replace_existing=True)
        sched.add_listener(self._on_max_instances, EVENT_JOB_MAX_INSTANCES)
        sched.add_listener(self._on_missed, EVENT_JOB_MISSED)
        sched.start()
        self._scheduler = sched
        for job in self.scheduled:
            aps = sched.get_job(job.name)
            log.info("scheduled %s: %s, next at %s", job.name, job.spec.schedule and job.spec.schedule.describe(),
                     aps.next_run_time if aps else None)

    def _missed_while_down(self, job: Job, now: datetime) -> int:
        """Runs of ``job`` due since its last job run: the number to catch up now, or 0 (recorded if dropped)."""
        try:
            missed = missed_since_last_run(self.runner.ingestor.store, job, now)
        except Exception:  # the store cannot say: schedule as usual
            log.exception("job %s: could not read its last run", job.name)
            return 0
        if missed is None:
            return 0
        if missed.within_grace(now, job.misfire_grace):
            log.warning("job %s: %s; caught up now", job.name, missed.describe())
            return missed.count
        reason = f"missed: {missed.describe()}; later than misfire_grace {job.misfire_grace:g}s: not run"
        log.warning("job %s: %s", job.name, reason)
        self.runner.record_missed(job, reason, missed.count)
        return 0

    def next_runs(self) -> dict[str, Any]:
        """Each scheduled job's next fire time (for status output)."""
        if self._scheduler is None:
            return {}
        return {j.id: j.next_run_time for j in self._scheduler.get_jobs()}

    async def _fire(self, name: str, caught_up: int = 0) -> None:
        job = self.jobs.get(name)
        if caught_up and self._scheduler is not None:  # the later runs are the schedule's own
            self._scheduler.modify_job(name, args=[name, 0])
        me = asyncio.current_task()
        if me is not None:
            self._firing.add(me)
        try:
            fut = asyncio.get_running_loop().run_in_executor(self._pool, self._run_isolated, job, caught_up)
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
        await asyncio.get_running_loop().run_in_executor(self._pool, self._checkpoint)

    def _run_isolated(self, job: Job, caught_up: int = 0) -> JobOutcome:
        if self.on_start is not None:
            try:
                self.on_start(job.name)
            except Exception:
                log.exception("start hook failed")
        try:
            return asyncio.run(self.runner.run(job, caught_up=caught_up))
        finally:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Fold the store's write-ahead log in and truncate it (stores that have one)."""
        store = self.runner.ingestor.store
        if isinstance(store, CheckpointingStore):
            try:
                if not store.checkpoint():
                    log.debug("store checkpoint busy: retried after the next run")
            except Exception:
                log.exception("store checkpoint failed")

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

    def _on_missed(self, event: JobExecutionEvent) -> None:
        # APScheduler found a due run later than its grace (the loop was busy): record it.
        assert self._loop is not None
        if event.job_id == RETENTION_ID:
            return
        job = self.jobs.get(event.job_id)
        due = event.scheduled_run_time
        reason = (f"missed: 1 run(s) due at {Missed.format(due)}; later than misfire_grace "
                  f"{job.misfire_grace:g}s: not run")
        log.warning("job %s: %s", job.name, reason)

        def spawn() -> None:
            task = self._loop.create_task(asyncio.to_thread(self.runner.record_missed, job, reason, 1))  # type: ignore[union-attr]
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

        self._loop.call_soon_threadsafe(spawn)

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
    """A scheduler on its own thread and event loop, for ``cmdb serve --with-scheduler``.

    Its loop beats once a second; :meth:`health` says it is alive while the thread
    runs and the last beat is recent (the same answer as ``cmdb scheduler``'s own
    ``/healthz``, ``discovery.metrics``), so the API's ``/healthz`` can report it.
    """

    BEAT_S = 1.0

    def __init__(self, scheduler_factory: Callable[[], DiscoveryScheduler], stale_after: float = 30.0) -> None:
        self._factory = scheduler_factory
        self._ready = threading.Event()
        self.scheduler: DiscoveryScheduler | None = None
        self.error: BaseException | None = None
        self.stale_after = stale_after
        self.last_beat: float | None = None  # time.monotonic() of the loop's last beat
        self.thread = threading.Thread(target=self._main, name="cmdb-scheduler", daemon=True)

    async def _beat(self) -> None:
        while True:
            self.last_beat = time.monotonic()
            await asyncio.sleep(self.BEAT_S)

    def health(self) -> tuple[bool, dict[str, Any]]:
        """(alive, details): alive while its thread runs and its loop beat within ``stale_after`` seconds."""
        beat = self.last_beat
        age = time.monotonic() - beat if beat is not None else None
        running = self.thread.is_alive() and self.error is None
        alive = running and age is not None and age <= self.stale_after
        status = "ok" if alive else ("stopped" if not running else "unresponsive")
        return alive, {"status": status, "seconds_since_heartbeat": None if age is None else round(age, 3)}

    def _main(self) -> None:
        async def main() -> None:
            self.scheduler = self._factory()
            serving = asyncio.ensure_future(self.scheduler.serve(install_signal_handlers=False))
            beating = asyncio.ensure_future(self._beat())
            await asyncio.sleep(0)
            self._ready.set()
            try:
                await serving
            finally:
                beating.cancel()

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
        """Interrupt running jobs (their runs end incomplete) and wait for the thread to end (once)."""
        if self.scheduler is not None and self.thread.is_alive():
            self.scheduler.request_stop()
        self.thread.join(timeout)


def start_scheduler_in_background(jobs: Jobs, ingestor: Ingestor, lock_dir: Path | None = None,
                                  on_outcome: OutcomeHook | None = None) -> BackgroundScheduler:
    """Run ``jobs`` on their schedules in a background thread; call ``.stop()`` on shutdown.

    The ingestor should be the one the API's topology index listens to, so what
    the scheduler discovers shows up in queries at once.
    """
    return BackgroundScheduler(lambda: DiscoveryScheduler(jobs, ingestor, lock_dir, on_outcome)).start()
