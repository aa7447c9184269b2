"""Query ``scanRuns`` and mutation ``triggerDiscovery``."""

from __future__ import annotations

import inspect
from typing import Annotated, Optional

import strawberry
from strawberry.types import Info

from cmdb.errors import CmdbError
from graph_api.auth import CanAdmin, CanView
from graph_api.blocking import run_blocking
from graph_api.context import ApiContext
from graph_api.errors import NotConfiguredError, NotFoundError, ValidationError
from graph_api.fields import mutation, resolver
from graph_api.runs.types import DiscoveryStarted, JobStatus, JobStatuses, ScanRun

JobStatusResult = Annotated[JobStatuses | NotConfiguredError, strawberry.union("JobStatusResult")]
TriggerResult = Annotated[DiscoveryStarted | NotConfiguredError | NotFoundError | ValidationError,
                          strawberry.union("TriggerResult")]


@strawberry.type
class RunQueries:
    @resolver(description="Recent scan runs, most recent first.", permission_classes=[CanView])
    async def scan_runs(self, info: Info[ApiContext, None],
                        source_name: Annotated[Optional[str], strawberry.argument(name="source")] = None,  # noqa: UP045
                        scope: Optional[str] = None, limit: int = 50,  # noqa: UP045
                        job: Optional[str] = None) -> list[ScanRun]:  # noqa: UP045
        runs = await run_blocking(info.context.services.reads.runs, source_name, scope, limit, job)
        return [ScanRun.of(r) for r in runs]

    @resolver(description="Each discovery job's last run, result, failures in a row and next run "
                                  "(what `cmdb jobs status` shows).", permission_classes=[CanView])
    async def job_status(self, info: Info[ApiContext, None]) -> JobStatusResult:
        statuses = info.context.services.job_status
        if statuses is None:
            return NotConfiguredError(message="no discovery jobs file on this server", capability="discovery jobs")
        return JobStatuses(jobs=[JobStatus.of(s) for s in await run_blocking(statuses)])


@strawberry.type
class RunMutations:
    @mutation(description="Start a discovery job named in the jobs file (admin).",
              permission_classes=[CanAdmin])
    async def trigger_discovery(self, info: Info[ApiContext, None], job: str) -> TriggerResult:
        trigger = info.context.services.trigger_discovery
        if trigger is None:
            return NotConfiguredError(message="the discovery scheduler is not configured on this server",
                                      capability="discovery scheduler")
        if not job.strip() or len(job) > 200:
            return ValidationError(message="job must be a non-empty name", field="job")
        try:
            handle = trigger(job)
            if inspect.isawaitable(handle):
                handle = await handle
        except KeyError:
            return NotFoundError(message=f"no discovery job named {job!r}", key=job)
        except CmdbError as exc:
            return ValidationError(message=str(exc), field="job")
        return DiscoveryStarted(job=job, handle=str(handle))
