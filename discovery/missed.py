"""Runs a job's schedule had due while the scheduler was not running, and its next run.

APScheduler keeps its jobs in memory: a scheduler that starts knows nothing of
the runs due while it was down. The store does: each job's last job run
(``cmdb.job_runs``). The fire times of the job's schedule after that run's start
and up to now were missed (computed without jitter). Per ``docs/scheduling.md``
they collapse into one (``coalesce``): run at once when the latest is within
the job's ``misfire_grace``, else recorded as missed, and the next run comes on
schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.interval import IntervalTrigger

from cmdb.job_runs import job_runs
from cmdb.model import ScanRun
from cmdb.store.protocol import GraphStore
from discovery.jobs import Job

_MAX_LISTED = 100_000  # cron fire times counted one by one at most (a minutely cron down for two months)


@dataclass(frozen=True, slots=True)
class Missed:
    """``count`` fire times from ``first`` to ``last`` that did not run (``count`` may be a lower bound)."""

    count: int
    first: datetime
    last: datetime
    at_least: bool = False

    def within_grace(self, now: datetime, grace_s: float) -> bool:
        return (now - self.last).total_seconds() <= grace_s

    @staticmethod
    def format(when: datetime) -> str:
        return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    def describe(self) -> str:
        many = f"{'at least ' if self.at_least else ''}{self.count} run(s)"
        if self.count == 1:
            return f"{many} due at {self.format(self.last)} while the scheduler was not running"
        return (f"{many} due from {self.format(self.first)} to {self.format(self.last)} "
                "while the scheduler was not running")


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def missed_between(job: Job, since: datetime, now: datetime) -> Missed | None:
    """The fire times of ``job``'s schedule strictly after ``since`` and up to ``now`` (None: none)."""
    from discovery.scheduler import trigger_for

    trigger = trigger_for(job, jitter=False)
    if trigger is None:
        return None
    if isinstance(trigger, IntervalTrigger):
        interval: timedelta = trigger.interval
        count = (now - since) // interval
        if count <= 0:
            return None
        return Missed(count, since + interval, since + count * interval)
    first = trigger.get_next_fire_time(None, since + timedelta(microseconds=1))
    if first is None or first > now:
        return None
    count, last = 1, first
    while count < _MAX_LISTED:
        following = trigger.get_next_fire_time(last, last + timedelta(microseconds=1))
        if following is None or following > now:
            return Missed(count, first, last)
        count, last = count + 1, following
    return Missed(count, first, last, at_least=True)


def last_job_run(store: GraphStore, job: Job) -> ScanRun | None:
    from discovery.job_runner import job_source

    runs = job_runs(store, job.name, job_source(job), limit=1)
    return runs[0] if runs else None


def missed_since_last_run(store: GraphStore, job: Job, now: datetime) -> Missed | None:
    """What ``job`` missed since its last job run (None: never ran, or nothing due since)."""
    last = last_job_run(store, job)
    if last is None:
        return None
    return missed_between(job, _at(last.started_at), now)


def next_run_at(job: Job, last: ScanRun | None, now: datetime | None = None) -> int | None:
    """When ``job`` runs next on its schedule (epoch ms, without jitter), after its last job run ``last``.

    Interval schedules count from the last run; a job with nothing due is at its
    next fire time; one whose run is overdue (the scheduler is down) says now.
    None: the job is disabled or runs on demand only.
    """
    from discovery.scheduler import trigger_for

    if not job.spec.enabled:
        return None
    trigger = trigger_for(job, jitter=False)
    if trigger is None:
        return None
    now = now or datetime.now(UTC)
    if isinstance(trigger, IntervalTrigger):
        if last is None:
            return None  # the first run comes one interval after the scheduler starts
        due = _at(last.started_at) + trigger.interval
        return _ms(max(due, now))
    after = _at(last.started_at) if last is not None else now
    due = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    return _ms(max(due, now)) if due is not None else None
