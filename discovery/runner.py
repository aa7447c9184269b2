"""Runs a scanner into the ingest pipeline: one scan run per scope.

A scope whose scanning failed, or whose ingest raised, ends incomplete with its
reasons and ages nothing; the other scopes still finish complete. The run is
opened and closed by ``Ingestor.run``, so an interrupt ends it too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator

import structlog

from cmdb.ingest import Ingestor, IngestReport
from cmdb.model import ScanRun
from cmdb.observation import Item, now_ms
from cmdb.redact import redact_text
from cmdb.runs import close_removed_parts
from discovery.base import ProgressHook, Scanner, ScopeResult

log = logging.getLogger(__name__)


def log_target_failures(source: str, result: ScopeResult, job: str | None = None) -> None:
    """Log each of the scope's failing targets once, at WARNING: job, source, scope, target, reason;
    and each target warning (``target_warning``: read, but part of it unusable) the same way.

    Scanners word an error "target: reason" (an SNMP address, an SSH host, an AWS
    call); an error without a target is the scope's own.
    """
    # One key-value line per target, through the stdlib logger (levels and handlers apply; JSON
    # with --json-logs). Wrapped per call: a module-level proxy would cache the structlog
    # configuration in force at its first use (the CLI caches loggers) and ignore a later one.
    failures = structlog.wrap_logger(logging.getLogger("discovery.failures"))
    for event, lines in (("target_failed", result.errors), ("target_warning", result.warnings)):
        for line in lines:
            target, sep, reason = line.partition(": ")
            if not sep or not target:
                target, reason = result.scope, line
            failures.warning(event, job=job, source=source, scope=result.scope, target=target,
                             reason=redact_text(reason))

RunHook = Callable[[ScanRun, IngestReport], None]


def ingest_scope(ingestor: Ingestor, source: str, result: ScopeResult, job: str | None = None,
                 stop: Callable[[], str | None] | None = None, job_run: str | None = None) -> tuple[ScanRun, IngestReport]:
    """Apply one scope's observations as one scan run, complete only if the scanner and the ingest say so.

    ``stop``: asked between items; a reason stops the ingest at the next item and
    ends the run incomplete with that reason (a job's timeout or shutdown).
    ``job_run``: the job run this scope belongs to (``cmdb.job_runs``). The run
    records the scope's scan times, so its duration covers scan and ingest.
    """
    log_target_failures(source, result, job)
    stopped: list[str] = []

    def until(items: Iterable[Item]) -> Iterator[Item]:
        for item in items:
            reason = stop() if stop is not None else None
            if reason is not None:
                stopped.append(reason)
                return
            yield item

    with ingestor.run(source, result.scope, job=job, job_run=job_run) as run:
        run.scanned(result.started_at, result.finished_at)
        try:
            run.ingest(until(result.items) if stop is not None else result.items)
        except Exception as exc:  # the store dropped mid-batch: the run cannot be complete
            log.exception("ingest of %s/%s failed", source, result.scope)
            run.error(*result.errors, *result.warnings)
            run.incomplete(f"ingest failed: {exc}")
        else:
            for key, value in result.stats.items():
                run.run.counts[f"scan_{key}"] = value
            if not stopped and stop is not None and (late := stop()) is not None:
                stopped.append(late)  # interrupted once the items were in: still not a whole scan
            if stopped:
                run.error(*result.errors, *result.warnings)
                run.incomplete(stopped[0])
            else:
                if result.complete:
                    run.error(*result.errors, *result.warnings)
                else:
                    run.error(*result.warnings)
                    run.incomplete(*(result.errors or ["the scanner did not cover the whole scope"]),
                                   silent=result.silent)
                # Parts are listed only when the listing is whole (every part the scope may hold,
                # answering or not), even if the scope's own items are not: its removed parts age.
                if result.parts is not None:
                    removed = close_removed_parts(ingestor, source, result.scope, result.parts, job, job_run)
                    run.run.counts["parts"] = len(result.parts)
                    run.run.counts["removed_parts"] = len(removed)
    assert run.finished is not None
    return run.finished, run.report


async def run_scan(
    scanner: Scanner,
    ingestor: Ingestor,
    job: str | None = None,
    progress: ProgressHook | None = None,
    on_run: RunHook | None = None,
) -> list[ScanRun]:
    """Scan every scope of ``scanner`` and ingest each as it arrives."""
    runs: list[ScanRun] = []
    started = now_ms()
    async for result in scanner.scan(progress):
        result.stamp(started, now_ms())
        # Ingest is synchronous store work: keep the event loop (and the other
        # scopes' network I/O) running while it happens.
        run, report = await asyncio.to_thread(ingest_scope, ingestor, scanner.source, result, job)
        runs.append(run)
        if on_run is not None:
            on_run(run, report)
    return runs
