"""Thin projection of ``cmdb.model.ScanRun``."""

from __future__ import annotations

from typing import Optional

import strawberry

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

    @classmethod
    def of(cls, r: ScanRunModel) -> ScanRun:
        return cls(run_id=strawberry.ID(r.run_id), source=r.source, scope=r.scope, job=r.job,
                   started_at=Long(r.started_at), finished_at=Long(r.finished_at) if r.finished_at else None,
                   status=RunStatus(r.status), counts=JSON(dict(r.counts)), errors=list(r.errors[:100]))


@strawberry.type(description="A discovery job was started.")
class DiscoveryStarted:
    job: str
    handle: str
