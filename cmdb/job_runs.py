"""Job runs as an operator reads them: one record per execution of a discovery job, and each job's status.

Every execution of a job leaves one run in scope ``job:<name>`` (its *job run*):
it spans the whole execution (scan and ingest of every scope) and says how it
ended. Each scope's run carries the job run's id as ``job_run_id``, so the
scopes of one execution are found together. A due run that did not execute
leaves a job run too: ``skipped`` (the previous one still ran) or ``missed``
(the scheduler was not running, or too late to run it).

:func:`job_status` reads a job's job runs back: its last run and result, its
last success, its failure streak, and (given the schedule) its next run. The
scheduler's metrics say the same for a live process; this reads the store, so
any process (``cmdb jobs status``, the API) can answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from cmdb.model import RunStatus, ScanRun
from cmdb.store.protocol import GraphStore

# The first words of a job run's error, by how it ended (``cmdb`` and ``discovery`` share them).
SKIPPED = "skipped: previous run still running"
MISSED = "missed"
FAILED = "failed"
INTERRUPTED = "interrupted"

_PAGE = 200  # job runs read per store call while counting a failure streak


def job_scope(name: str) -> str:
    """The scope of a job's own records (one per execution, skip or miss)."""
    return f"job:{name}"


class JobResult(str, Enum):
    """How one job run ended."""

    RUNNING = "running"
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"  # a scope did not finish complete (a target silent, items rejected)
    FAILED = "failed"  # the scanner or its set-up raised
    INTERRUPTED = "interrupted"  # timeout, shutdown, cancellation
    SKIPPED = "skipped"  # due while the previous execution still ran
    MISSED = "missed"  # due while the scheduler was down, or later than its misfire grace
    ABANDONED = "abandoned"  # its process died mid-run

    @property
    def counts_as_failure(self) -> bool:
        """Whether it extends a failure streak (a skip or a miss is no execution, so it neither ends nor extends one)."""
        return self in (JobResult.INCOMPLETE, JobResult.FAILED, JobResult.INTERRUPTED, JobResult.ABANDONED)


def job_result(run: ScanRun) -> JobResult:
    """How the job run ``run`` ended, from its status and the first words of its reason."""
    if run.status is RunStatus.RUNNING:
        return JobResult.RUNNING
    if run.status is RunStatus.COMPLETE:
        return JobResult.COMPLETE
    if run.status is RunStatus.ABANDONED:
        return JobResult.ABANDONED
    first = run.errors[0] if run.errors else ""
    for prefix, result in ((SKIPPED, JobResult.SKIPPED), (MISSED, JobResult.MISSED), (FAILED, JobResult.FAILED),
                           (INTERRUPTED, JobResult.INTERRUPTED)):
        if first.startswith(prefix):
            return result
    return JobResult.INCOMPLETE


@dataclass(frozen=True, slots=True)
class JobStatus:
    """One job as an operator asks about it: when it last ran and how, how often in a row it failed, when next."""

    job: str
    last_run: ScanRun | None
    last_result: JobResult | None
    last_success_at: int | None  # when the last complete execution ended (epoch ms)
    failure_streak: int  # executions in a row, newest first, that did not end complete
    next_run_at: int | None  # epoch ms; None: not scheduled (on demand, disabled)


NextRun = Callable[[ScanRun | None], int | None]  # the next fire time after the last job run, from the schedule


def job_runs(store: GraphStore, name: str, source: str, limit: int = 50) -> list[ScanRun]:
    """The job's job runs, most recent first."""
    return store.list_runs(source=source, scope=job_scope(name), job=name, limit=limit)


def job_status(store: GraphStore, name: str, source: str, next_run: NextRun | None = None) -> JobStatus:
    """``name``'s status from its job runs in ``store`` (``source``: the source its scanner reports as).

    The failure streak counts executions that did not end complete, back to the
    last complete one; skipped and missed runs are passed over. Run records pruned
    by retention are not counted (a streak longer than the retention shows shorter).
    """
    limit = _PAGE
    while True:
        runs = job_runs(store, name, source, limit)
        last = runs[0] if runs else None
        streak, success = 0, None
        for run in runs:
            result = job_result(run)
            if result is JobResult.COMPLETE:
                success = run.finished_at
                break
            if result.counts_as_failure:
                streak += 1
        if success is not None or len(runs) < limit:
            break
        limit *= 4  # the streak goes back further than this page: read more
    return JobStatus(job=name, last_run=last, last_result=job_result(last) if last is not None else None,
                     last_success_at=success, failure_streak=streak,
                     next_run_at=next_run(last) if next_run is not None else None)
