"""The discovery scheduler against a real SQLite store and the real ingest pipeline.

The scanners here are small fakes registered for the test: the faults under
test are timing, overlap and interruption, not what a scanner sees. Everything
else (APScheduler, the job runner, ingest, aging, the run records) is real.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from cmdb.ingest import Ingestor
from cmdb.model import ChangeSet, CIQuery, Lifecycle, RunStatus, ScanRun
from cmdb.observation import Observation
from cmdb.store.sqlite import SQLiteStore
from discovery.base import ProgressHook, ScopeResult
from discovery.job_runner import SHUTDOWN, SKIPPED, FileLock, JobRunner
from discovery.jobs import Jobs, parse_jobs
from discovery.scanner_registry import REGISTRY, ScannerEntry
from discovery.scheduler import DiscoveryScheduler, trigger_for
from schema import load_schema

SCOPE = "lab"


class FakeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    names: list[str] = ["A", "B"]
    hold_s: float = 0.0  # how long scan() takes before yielding (an overlapping run)


def _services(names: list[str]) -> list[Observation]:
    return [Observation(source="sample", scope=SCOPE, ci_class="business_service", identifiers={"name": n})
            for n in names]


class FakeScanner:
    """Yields one scope with the configured services, after ``hold_s`` seconds."""

    source = "sample"

    def __init__(self, options: FakeOptions) -> None:
        self.options = options

    async def scan(self, progress: ProgressHook | None = None) -> AsyncIterator[ScopeResult]:
        if self.options.hold_s:
            await asyncio.sleep(self.options.hold_s)
        yield ScopeResult(scope=SCOPE, items=list(_services(self.options.names)), complete=True)


@pytest.fixture(autouse=True)
def fake_scanner(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = ScannerEntry("fake", "sample", __name__, FakeOptions, frozenset(),
                         lambda job, options, secrets: FakeScanner(options),  # type: ignore[arg-type]
                         "test scanner")
    monkeypatch.setitem(REGISTRY, "fake", entry)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "cmdb.sqlite", load_schema())
    yield s
    s.close()


def _jobs(body: str) -> Jobs:
    return parse_jobs("jobs:\n" + body, "jobs.yaml")


def _runs(store: SQLiteStore, job: str) -> list[ScanRun]:
    return sorted((r for r in store.list_runs(limit=1000) if r.job == job), key=lambda r: r.started_at)


def _status(store: SQLiteStore, name: str) -> Lifecycle:
    page = store.search(CIQuery(classes=("business_service",), text=name, statuses=tuple(Lifecycle)))
    (ci,) = [c for c in page.items if c.name == name]
    return ci.status


async def _serve_until(scheduler: DiscoveryScheduler, done: Callable[[], bool], bound_s: float = 60) -> None:
    """Serve until ``done()`` holds (polled; failing past ``bound_s``), then stop."""
    task = asyncio.create_task(scheduler.serve(install_signal_handlers=False))
    deadline = asyncio.get_running_loop().time() + bound_s
    while not done():
        assert asyncio.get_running_loop().time() < deadline, scheduler.outcomes
        await asyncio.sleep(0.05)
    scheduler.request_stop()
    await asyncio.wait_for(task, 20)


def test_an_interval_schedule_fires_every_interval() -> None:
    """The schedule itself, without a clock: consecutive fire times are exactly one interval apart."""
    trigger = trigger_for(_jobs("  - {name: tick, scanner: fake, schedule: {interval: 90}}\n").get("tick"))
    assert trigger is not None
    first = trigger.get_next_fire_time(None, datetime(2027, 2, 8, 9, 0, tzinfo=UTC))
    assert first is not None
    fires = [first]
    for _ in range(3):
        following = trigger.get_next_fire_time(fires[-1], fires[-1])
        assert following is not None
        fires.append(following)
    assert [b - a for a, b in itertools.pairwise(fires)] == [timedelta(seconds=90)] * 3


def test_interval_jobs_run_repeatedly_through_the_real_scheduler(store: SQLiteStore) -> None:
    jobs = _jobs("  - {name: tick, scanner: fake, schedule: {interval: 1}}\n")
    scheduler = DiscoveryScheduler(jobs, Ingestor(store, load_schema()))

    def scope_runs() -> list[ScanRun]:
        return [r for r in _runs(store, "tick") if r.scope == SCOPE and r.status is RunStatus.COMPLETE]

    async def until_three_runs() -> None:
        task = asyncio.create_task(scheduler.serve(install_signal_handlers=False))
        deadline = asyncio.get_running_loop().time() + 30
        while len(scope_runs()) < 3:
            assert asyncio.get_running_loop().time() < deadline, _runs(store, "tick")
            await asyncio.sleep(0.05)
        scheduler.request_stop()
        await asyncio.wait_for(task, 20)

    asyncio.run(until_three_runs())
    runs = scope_runs()[:3]
    assert runs[0].counts["created"] == 2 and runs[1].counts["unchanged"] == 2 and runs[2].counts["unchanged"] == 2
    # each run started after the previous one had finished (max_instances=1)
    assert all(a.finished_at is not None and a.finished_at <= b.started_at for a, b in itertools.pairwise(runs))
    # Each execution left one job run (scope job:tick) that its scope's run names and that spans it.
    job_runs = {r.run_id: r for r in _runs(store, "tick") if r.scope == "job:tick"}
    for run in runs:
        job_run = job_runs[run.job_run_id or ""]
        assert (job_run.status, job_run.job_run_id, job_run.counts) == (
            RunStatus.COMPLETE, None, {"scopes": 1, "incomplete_scopes": 0, "stale": 0, "retired": 0})
        assert run.scan_started_at is not None and run.scan_finished_at is not None
        assert run.finished_at is not None and job_run.finished_at is not None
        assert (job_run.started_at <= run.scan_started_at <= run.scan_finished_at <= run.started_at
                <= run.finished_at <= job_run.finished_at)
        assert run.duration_ms == run.finished_at - run.scan_started_at
    assert len({r.job_run_id for r in runs}) == 3


def test_an_overlapping_run_is_skipped_and_recorded(store: SQLiteStore) -> None:
    jobs = _jobs("  - {name: slow, scanner: fake, schedule: {interval: 1}, options: {hold_s: 2.4}}\n")
    scheduler = DiscoveryScheduler(jobs, Ingestor(store, load_schema()))
    # Fires at 1, 2, 3 and 4 s: the first runs until 3.4 s, the two while it holds are skipped; stopped when
    # the first has completed, before the fourth would run.
    def statuses() -> list[str]:
        return [o.status for o in scheduler.outcomes]

    asyncio.run(_serve_until(scheduler, lambda: "complete" in statuses() and statuses().count("skipped") == 2))
    runs = _runs(store, "slow")
    real = [r for r in runs if r.scope == SCOPE]
    executed = [r for r in runs if r.scope == "job:slow" and r.status is RunStatus.COMPLETE]
    skipped = [r for r in runs if r.scope == "job:slow" and r.status is not RunStatus.COMPLETE]
    assert [r.status for r in real] == [RunStatus.COMPLETE]
    assert [r.run_id for r in executed] == [real[0].job_run_id]
    assert len(skipped) == 2
    assert {(r.status, tuple(r.errors)) for r in skipped} == {(RunStatus.INCOMPLETE, (SKIPPED,))}
    # The skips happened while the real run was in progress.
    assert all(real[0].started_at - 2600 <= r.started_at <= real[0].finished_at for r in skipped)  # type: ignore[operator]
    assert {o.status for o in scheduler.outcomes} == {"complete", "skipped"}


def test_the_runner_lock_refuses_a_second_execution_here_and_across_processes(store: SQLiteStore,
                                                                              tmp_path: Path) -> None:
    jobs = _jobs("  - {name: once, scanner: fake, options: {hold_s: 0.5}}\n")
    runner = JobRunner(Ingestor(store, load_schema()), lock_dir=tmp_path / "locks")

    async def both() -> list[str]:
        first, second = await asyncio.gather(runner.run(jobs.get("once")), runner.run(jobs.get("once")))
        return [first.status, second.status]

    assert sorted(asyncio.run(both())) == ["complete", "skipped"]
    other = FileLock(tmp_path / "locks", "once")  # another process holding the job
    assert other.acquire()
    try:
        outcome = asyncio.run(runner.run(jobs.get("once")))
    finally:
        other.release()
    assert outcome.status == "skipped" and outcome.reason == SKIPPED + " (another process)"


def test_a_timed_out_job_ends_incomplete(store: SQLiteStore) -> None:
    jobs = _jobs("  - {name: stuck, scanner: fake, timeout: 0.5, options: {hold_s: 30}}\n")
    runner = JobRunner(Ingestor(store, load_schema()))
    outcome = asyncio.run(asyncio.wait_for(runner.run(jobs.get("stuck")), 10))
    assert (outcome.status, outcome.reason) == ("incomplete", "interrupted: timeout after 0.5s")
    assert [(r.scope, r.status, r.errors) for r in _runs(store, "stuck")] == [
        ("job:stuck", RunStatus.INCOMPLETE, ["interrupted: timeout after 0.5s"])]


def test_a_run_killed_mid_way_by_sigterm_ends_incomplete_and_ages_nothing(store: SQLiteStore) -> None:
    """SIGTERM arrives while the scope is being ingested (a listener holds the first batch).

    Aging needs 2 consecutive complete runs missing a CI. B is missing from one
    complete run, then from the killed one: had the killed run counted, B would
    be stale. A last complete run shows the check is sensitive: then B is stale.
    """
    schema = load_schema()
    in_ingest, release = threading.Event(), threading.Event()

    def hold(changes: ChangeSet) -> None:
        if not in_ingest.is_set():
            in_ingest.set()
            release.wait(10)

    plain = Ingestor(store, schema)
    once = _jobs("  - {name: full, scanner: fake, options: {names: [A, B]}}\n"
                 "  - {name: less, scanner: fake, options: {names: [A, C, D, E]}}\n")
    runner = JobRunner(plain)
    assert asyncio.run(runner.run(once.get("full"))).status == "complete"
    assert asyncio.run(runner.run(once.get("less"))).status == "complete"
    assert _status(store, "B") is Lifecycle.ACTIVE  # missed once

    held = Ingestor(store, schema, listeners=[hold], batch_size=1)
    jobs = _jobs("  - {name: less, scanner: fake, schedule: {interval: 0.3}, options: {names: [A, C, D, E]}}\n")
    scheduler = DiscoveryScheduler(jobs, held)

    async def main() -> None:
        task = asyncio.create_task(scheduler.serve(install_signal_handlers=True))
        assert await asyncio.to_thread(in_ingest.wait, 10)
        os.kill(os.getpid(), signal.SIGTERM)  # the real signal, handled by the scheduler's loop
        deadline = asyncio.get_running_loop().time() + 20
        while scheduler.runner.stopping is None:  # the running job told to stop, then its batch let go
            assert asyncio.get_running_loop().time() < deadline, "SIGTERM not handled"
            await asyncio.sleep(0.01)
        release.set()
        await asyncio.wait_for(task, 20)

    asyncio.run(main())
    *_, record, killed = _runs(store, "less")  # the job run opens before its scope's run
    assert killed.job_run_id == record.run_id
    assert (killed.scope, killed.status, killed.errors) == (SCOPE, RunStatus.INCOMPLETE, [SHUTDOWN])
    assert (record.scope, record.status, record.errors) == ("job:less", RunStatus.INCOMPLETE, [SHUTDOWN])
    assert killed.counts.get("stale", 0) == 0 and "retired" not in killed.counts
    assert killed.counts["unchanged"] + killed.counts.get("created", 0) < 4  # stopped at a batch boundary
    assert _status(store, "B") is Lifecycle.ACTIVE

    assert asyncio.run(runner.run(once.get("less"))).status == "complete"
    assert _status(store, "B") is Lifecycle.STALE



def test_missed_run_policy_and_triggers_are_configured_per_job(store: SQLiteStore) -> None:
    jobs = _jobs("  - {name: hourly, scanner: fake, misfire_grace: 120, schedule: {cron: '7 * * * *', jitter: 30}}\n"
                 "  - {name: often, scanner: fake, schedule: {interval: 45}}\n"
                 "  - {name: manual, scanner: fake}\n"
                 "  - {name: paused, scanner: fake, enabled: false, schedule: {interval: 5}}\n")
    scheduler = DiscoveryScheduler(jobs, Ingestor(store, load_schema()))

    async def main() -> dict[str, tuple[Any, ...]]:
        scheduler.start()
        try:
            assert scheduler._scheduler is not None
            return {j.id: (j.max_instances, j.coalesce, j.misfire_grace_time, str(j.trigger), j.trigger.jitter)
                    for j in scheduler._scheduler.get_jobs()}
        finally:
            await scheduler.stop()

    assert asyncio.run(main()) == {
        "hourly": (1, True, 120, "cron[month='*', day='*', day_of_week='*', hour='*', minute='7']", 30),
        "often": (1, True, 300, "interval[0:00:45]", None),
    }


def test_runs_missed_while_the_scheduler_was_down_are_caught_up_or_recorded(store: SQLiteStore) -> None:
    """A scheduler starting after a gap reads each job's last job run from the store.

    ``often`` (every 60 s, grace 1 h) last ran ten minutes ago: its ten missed runs
    collapse into one, run at once (not a minute later). ``yearly`` (1 January,
    grace 300 s) last ran in June two years back: the two New Year runs since are
    past their grace, so they are recorded as missed and not run. ``fresh`` never
    ran: nothing is missed.
    """
    now = datetime.now(UTC)
    schema = load_schema()
    jobs = _jobs("  - {name: often, scanner: fake, misfire_grace: 3600, schedule: {interval: 60}}\n"
                 "  - {name: yearly, scanner: fake, misfire_grace: 300, schedule: {cron: '0 0 1 1 *'}}\n"
                 "  - {name: fresh, scanner: fake, schedule: {interval: 3600}}\n")
    ten_minutes_ago = int((now - timedelta(minutes=10, seconds=1)).timestamp() * 1000)
    june = int(datetime(now.year - 2, 6, 1, tzinfo=UTC).timestamp() * 1000)
    for name, at in (("often", ten_minutes_ago), ("yearly", june)):
        past = JobRunner(Ingestor(store, schema, clock=lambda at=at: at))  # type: ignore[misc]
        assert asyncio.run(past.run(jobs.get(name))).status == "complete"
    scheduler = DiscoveryScheduler(jobs, Ingestor(store, schema))

    def job_runs(name: str) -> list[ScanRun]:
        return [r for r in _runs(store, name) if r.scope == f"job:{name}"]

    async def until_caught_up() -> None:
        task = asyncio.create_task(scheduler.serve(install_signal_handlers=False))
        deadline = asyncio.get_running_loop().time() + 30
        while len(job_runs("often")) < 2:
            assert asyncio.get_running_loop().time() < deadline, _runs(store, "often")
            await asyncio.sleep(0.05)
        scheduler.request_stop()
        await asyncio.wait_for(task, 20)

    asyncio.run(until_caught_up())
    _, caught_up = job_runs("often")
    assert (caught_up.status, caught_up.errors, caught_up.counts["caught_up"]) == (RunStatus.COMPLETE, [], 10)
    assert [r.scope for r in _runs(store, "often")].count(SCOPE) == 2  # the catch-up really scanned
    _, missed = job_runs("yearly")
    assert (missed.status, missed.counts) == (RunStatus.INCOMPLETE, {"missed": 2})
    assert missed.errors == [
        f"missed: 2 run(s) due from {now.year - 1}-01-01 00:00:00 UTC to {now.year}-01-01 00:00:00 UTC while the "
        "scheduler was not running; later than misfire_grace 300s: not run"]
    assert [r.scope for r in _runs(store, "yearly")].count(SCOPE) == 1  # not run
    assert _runs(store, "fresh") == []
