"""Thin projection of ``cmdb.model.ScanRun``."""

from __future__ import annotations

from typing import Optional

import strawberry

from cmdb.job_runs import JobStatus as JobStatusModel
from cmdb.model import ScanRun as ScanRunModel
from graph_api.enums import RunStatus
from graph_api.scalars import JSON, Long


@strawberry.type(description="One scan run of a source over a scope.")
class ScanRun:
    run_id: strawberry.ID
    source: str
    scope: str
    job: Optional[str]  # noqa: UP045
    started_at: Long
    finished_at: Optional[Long]  # noqa: UP045
    status: RunStatus
    counts: JSON
    errors: list[str]
    job_run_id: Optional[strawberry.ID] = strawberry.field(  # noqa: UP045
        description="The job run (scope job:<name>) this run is one scope of.")
    scan_started_at: Optional[Long] = strawberry.field(  # noqa: UP045
        description="When the scanner started on this scope (startedAt is when its ingest began).")
    scan_finished_at: Optional[Long]  # noqa: UP045
    duration_ms: Optional[Long] = strawberry.field(  # noqa: UP045
        description="From the scan's start (or the run's) to the run's end; null while running.")

    @classmethod
    def of(cls, r: ScanRunModel) -> ScanRun:
        return cls(run_id=strawberry.ID(r.run_id), source=r.source, scope=r.scope, job=r.job,
                   started_at=Long(r.started_at), finished_at=Long(r.finished_at) if r.finished_at else None,
                   status=RunStatus(r.status), counts=JSON(dict(r.counts)), errors=list(r.errors[:100]),
                   job_run_id=strawberry.ID(r.job_run_id) if r.job_run_id else None,
                   scan_started_at=_long(r.scan_started_at), scan_finished_at=_long(r.scan_finished_at),
                   duration_ms=_long(r.duration_ms))


def _long(value: int | None) -> Long | None:
    return Long(value) if value is not None else None


@strawberry.type(description="A discovery job as an operator reads it: last run, result, failures in a row, next run.")
class JobStatus:
    job: str
    last_run: Optional[ScanRun] = strawberry.field(description="Its last job run (scope job:<name>).")  # noqa: UP045
    last_result: Optional[str] = strawberry.field(  # noqa: UP045
        description="complete, incomplete, failed, interrupted, skipped, missed, abandoned or running.")
    last_success_at: Optional[Long]  # noqa: UP045
    failure_streak: int = strawberry.field(description="Executions in a row that did not end complete.")
    next_run_at: Optional[Long] = strawberry.field(description="Null: on demand, disabled or not yet known.")  # noqa: UP045

    @classmethod
    def of(cls, s: JobStatusModel) -> JobStatus:
        return cls(job=s.job, last_run=ScanRun.of(s.last_run) if s.last_run is not None else None,
                   last_result=s.last_result.value if s.last_result is not None else None,
                   last_success_at=_long(s.last_success_at), failure_streak=s.failure_streak,
                   next_run_at=_long(s.next_run_at))


@strawberry.type(description="Every job of the jobs file, in its order.")
class JobStatuses:
    jobs: list[JobStatus]


@strawberry.type(description="A discovery job was started.")
class DiscoveryStarted:
    job: str
    handle: str
