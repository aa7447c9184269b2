"""One execution of a discovery job: lock, build the scanner, scan and ingest, bounded by a timeout.

Records it leaves (all ScanRuns carry ``job=<name>``):

- the *job run* (``cmdb.job_runs``): one run in scope ``job:<name>`` spanning the
  whole execution, ``complete`` when every scope was, else ``incomplete`` with
  why (``N of M scope(s) incomplete: ...``, or the interruption or failure, even
  if no scope was reached);
- one run per scope the scanner finished, ``complete`` or ``incomplete`` as the
  scanner said, each with the job run's id (``job_run_id``) and its scan times;
  when the execution is interrupted (timeout, shutdown) or fails (the scanner
  raised, a credential did not resolve), the scope being ingested ends
  ``incomplete`` with the reason;
- when the job is already running (here or in another process: a file lock),
  a job run ``incomplete``, error ``skipped: previous run still running``;
  when a due run was missed (the scheduler was down), a job run ``incomplete``,
  error ``missed: ...`` (``discovery.scheduler``).

Only complete runs age anything, so none of these records ages a CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cmdb.ingest import Ingestor, IngestReport
from cmdb.job_runs import SKIPPED, job_scope
from cmdb.model import RunStatus, ScanRun
from cmdb.observation import now_ms
from cmdb.runs import ActiveRun
from discovery.base import ProgressHook, ScopeResult
from discovery.jobs import Job
from discovery.runner import RunHook, ingest_scope
from discovery.scanner_registry import REGISTRY, build_scanner

log = logging.getLogger(__name__)

SHUTDOWN = "interrupted: scheduler shutdown"
__all__ = ["SHUTDOWN", "SKIPPED", "FileLock", "JobOutcome", "JobRunner", "job_scope", "job_source"]


def job_source(job: Job) -> str:
    """The CMDB source a job's scanner reports as (``hosts`` -> ``ssh``)."""
    entry = REGISTRY.get(job.scanner)
    return entry.source if entry is not None else job.scanner


@dataclass(slots=True)
class JobOutcome:
    """What one execution did: ``status`` is complete, incomplete, skipped or failed."""

    job: str
    status: str
    runs: list[ScanRun] = field(default_factory=list)
    reason: str | None = None
    job_run: ScanRun | None = None  # the execution's own record (scope ``job:<name>``), once closed

    @property
    def counts(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for run in self.runs:
            for key, value in run.counts.items():
                total[key] = total.get(key, 0) + value
        return total


class _Interrupt:
    """Why an execution is being stopped; read by the ingest thread before it closes a run."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason: str | None = None

    def set(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.event.set()


class Execution:
    """A running job: its task, the event loop it runs on, and how to interrupt it."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.interrupt = _Interrupt()
        self.task: asyncio.Task[Any] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closing = False  # writing its final record: too late to interrupt

    def stop(self, reason: str) -> None:
        """Interrupt the execution (from any thread): the scope in progress ends incomplete with ``reason``."""
        if self.closing:
            return
        self.interrupt.set(reason)
        if self.loop is not None and self.task is not None:
            self.loop.call_soon_threadsafe(self._cancel)

    def _cancel(self) -> None:
        if self.task is not None and not self.task.done() and not self.closing:
            self.task.cancel()


class FileLock:
    """A non-blocking exclusive lock on ``<dir>/<job>.lock``, across processes (flock)."""

    def __init__(self, directory: Path, name: str) -> None:
        self.path = directory / f"{name}.lock"
        self._fh: IO[str] | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held for the whole execution
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def _ingest_scope(ingestor: Ingestor, source: str, result: ScopeResult, job: str,
                  interrupt: _Interrupt, job_run: str) -> tuple[ScanRun, IngestReport]:
    """``discovery.runner.ingest_scope``, stopped at the next item once the execution is interrupted."""
    return ingest_scope(ingestor, source, result, job,
                        stop=lambda: (interrupt.reason or "interrupted") if interrupt.event.is_set() else None,
                        job_run=job_run)


class _JobRun:
    """The execution's own record, opened and closed by ``Ingestor.run`` (on worker threads: it writes)."""

    def __init__(self, ingestor: Ingestor, job: Job) -> None:
        self._context = ingestor.run(job_source(job), job_scope(job.name), job=job.name)
        self.active: ActiveRun = self._context.__enter__()

    def close(self, reason: str | None, runs: list[ScanRun]) -> ScanRun:
        """End it: incomplete with ``reason``, or with the scopes that were not complete, else complete."""
        incomplete = [r.scope for r in runs if r.status is not RunStatus.COMPLETE]
        self.active.run.counts.update(scopes=len(runs), incomplete_scopes=len(incomplete))
        if reason is not None:
            self.active.incomplete(reason)
        elif incomplete:
            shown = ", ".join(incomplete[:5]) + (", ..." if len(incomplete) > 5 else "")
            self.active.incomplete(f"{len(incomplete)} of {len(runs)} scope(s) incomplete: {shown}")
        self._context.__exit__(None, None, None)
        assert self.active.finished is not None
        return self.active.finished


class JobRunner:
    """Runs executions of jobs into one ingestor; at most one execution per job at a time."""

    def __init__(self, ingestor: Ingestor, lock_dir: Path | None = None) -> None:
        self.ingestor = ingestor
        self.lock_dir = lock_dir
        self.running: dict[str, Execution] = {}
        self.skipped: dict[str, int] = {}
        self.stopping: str | None = None  # set by stop_all: executions that start now stop at once
        self._guard = threading.Lock()  # executions may run on several threads' event loops

    def stop_all(self, reason: str) -> list[Execution]:
        """Interrupt every running execution (thread-safe) and refuse new ones; returns those interrupted."""
        with self._guard:
            self.stopping = reason
            executions = list(self.running.values())
        for execution in executions:
            execution.stop(reason)
        return executions

    def record_missed(self, job: Job, error: str, missed: int) -> ScanRun:
        """Record that ``missed`` due runs of ``job`` did not happen (``error`` starts with ``missed``)."""
        with self.ingestor.run(job_source(job), job_scope(job.name), job=job.name) as run:
            run.run.counts["missed"] = missed
            run.incomplete(error)
        assert run.finished is not None
        return run.finished

    def _record(self, job: Job, error: str) -> ScanRun:
        with self.ingestor.run(job_source(job), job_scope(job.name), job=job.name) as run:
            run.incomplete(error)
        assert run.finished is not None
        return run.finished

    async def record_skip(self, job: Job) -> ScanRun:
        """Record that a due execution of ``job`` was skipped because one is still running."""
        self.skipped[job.name] = self.skipped.get(job.name, 0) + 1
        log.warning("job %s: %s", job.name, SKIPPED)
        return await asyncio.to_thread(self._record, job, SKIPPED)

    async def run(self, job: Job, progress: ProgressHook | None = None, on_run: RunHook | None = None,
                  caught_up: int = 0) -> JobOutcome:
        """Run ``job`` once (or record a skip if it is running); never raises for the job's own failures.

        ``caught_up``: this run stands for that many runs missed while the scheduler was down
        (recorded on the job run's counts).
        """
        execution = Execution(job)
        execution.task = asyncio.current_task()
        execution.loop = asyncio.get_running_loop()
        with self._guard:
            busy = job.name in self.running
            if not busy:
                self.running[job.name] = execution
            stopping = self.stopping
        if busy:
            return JobOutcome(job.name, "skipped", [await self.record_skip(job)], SKIPPED)
        lock = FileLock(self.lock_dir, job.name) if self.lock_dir is not None else None
        try:
            if lock is not None and not lock.acquire():
                lock = None
                return JobOutcome(job.name, "skipped", [await self.record_skip(job)], SKIPPED + " (another process)")
            if stopping is not None:  # shutting down: record that this due run did not happen
                return JobOutcome(job.name, "incomplete", [await asyncio.to_thread(self._record, job, stopping)],
                                  stopping)
            record = await asyncio.to_thread(_JobRun, self.ingestor, job)
            if caught_up:
                record.active.run.counts["caught_up"] = caught_up
            timer = execution.loop.call_later(job.timeout, execution.stop,
                                              f"interrupted: timeout after {job.timeout:g}s")
            try:
                outcome = await self._execute(execution, record.active.run_id, progress, on_run)
            except asyncio.CancelledError:  # cancelled by someone else: record it, let it propagate
                await asyncio.to_thread(record.close, "interrupted: cancelled", [])
                raise
            finally:
                timer.cancel()
            outcome.job_run = await asyncio.to_thread(record.close, outcome.reason, outcome.runs)
            if outcome.reason is not None:
                outcome.runs.append(outcome.job_run)
            return outcome
        finally:
            with self._guard:
                self.running.pop(job.name, None)
            if lock is not None:
                lock.release()

    async def _execute(self, execution: Execution, job_run: str, progress: ProgressHook | None,
                       on_run: RunHook | None) -> JobOutcome:
        job, interrupt = execution.job, execution.interrupt
        outcome = JobOutcome(job.name, "complete")
        loop = asyncio.get_running_loop()
        try:
            scanner = await asyncio.to_thread(build_scanner, job)
            started = now_ms()
            # type-var: Scanner.scan is declared an AsyncIterator; every scanner's is an async generator (aclose).
            async with contextlib.aclosing(scanner.scan(progress)) as results:  # type: ignore[type-var]
                async for result in results:
                    result.stamp(started, now_ms())
                    fut = loop.run_in_executor(None, _ingest_scope, self.ingestor, scanner.source, result,
                                               job.name, interrupt, job_run)
                    try:
                        run, report = await asyncio.shield(fut)
                    except asyncio.CancelledError:
                        # The ingest thread cannot be cancelled: it stops at the next batch and
                        # closes its run incomplete; wait for it so the record is final.
                        interrupt.set(interrupt.reason or SHUTDOWN)
                        run, report = await fut
                        outcome.runs.append(run)
                        raise
                    outcome.runs.append(run)
                    if on_run is not None:
                        on_run(run, report)
        except asyncio.CancelledError:
            if interrupt.reason is None:  # cancelled by someone else: the caller records it
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            outcome.status, outcome.reason = "incomplete", interrupt.reason
        except Exception as exc:  # the scanner or its set-up failed: the job's run says why
            log.warning("job %s failed: %s", job.name, exc)
            outcome.status, outcome.reason = "failed", f"failed: {type(exc).__name__}: {exc}"
        execution.closing = True
        if outcome.reason is None and any(r.status is not RunStatus.COMPLETE for r in outcome.runs):
            outcome.status = "incomplete"
        return outcome
