"""Runs a scanner into the ingest pipeline: one scan run per scope.

A scope whose scanning failed, or whose ingest raised, ends incomplete with its
reasons and ages nothing; the other scopes still finish complete.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import structlog

from cmdb.ingest import Ingestor, IngestReport
from cmdb.model import ScanRun
from cmdb.redact import redact_text
from discovery.base import ProgressHook, Scanner, ScopeResult

log = logging.getLogger(__name__)
# One key-value line per failing target, through the stdlib logger (levels and handlers
# apply; JSON with --json-logs).
failures = structlog.wrap_logger(logging.getLogger("discovery.failures"))


def log_target_failures(source: str, result: ScopeResult, job: str | None = None) -> None:
    """Log each of the scope's failing targets once, at WARNING: job, source, scope, target, reason.

    Scanners word an error "target: reason" (an SNMP address, an SSH host, an AWS
    call); an error without a target is the scope's own.
    """
    for error in result.errors:
        target, sep, reason = error.partition(": ")
        if not sep or not target:
            target, reason = result.scope, error
        failures.warning("target_failed", job=job, source=source, scope=result.scope, target=target,
                         reason=redact_text(reason))

RunHook = Callable[[ScanRun, IngestReport], None]


def ingest_scope(ingestor: Ingestor, source: str, result: ScopeResult, job: str | None = None) -> tuple[ScanRun, IngestReport]:
    """Apply one scope's observations as one scan run, then close it complete or not."""
    log_target_failures(source, result, job)
    run = ingestor.start_run(source, result.scope, job=job)
    report = IngestReport()
    try:
        report = ingestor.ingest(run, result.items)
    except Exception as exc:  # the store dropped mid-batch: the run cannot be complete
        log.exception("ingest of %s/%s failed", source, result.scope)
        ingestor.finish_run(run, complete=False, errors=[*result.errors, f"ingest failed: {exc}"])
        return run, report
    for key, value in result.stats.items():
        run.counts[f"scan_{key}"] = value
    ingestor.finish_run(run, complete=result.complete, errors=result.errors)
    return run, report


async def run_scan(
    scanner: Scanner,
    ingestor: Ingestor,
    job: str | None = None,
    progress: ProgressHook | None = None,
    on_run: RunHook | None = None,
) -> list[ScanRun]:
    """Scan every scope of ``scanner`` and ingest each as it arrives."""
    runs: list[ScanRun] = []
    async for result in scanner.scan(progress):
        # Ingest is synchronous store work: keep the event loop (and the other
        # scopes' network I/O) running while it happens.
        run, report = await asyncio.to_thread(ingest_scope, ingestor, scanner.source, result, job)
        runs.append(run)
        if on_run is not None:
            on_run(run, report)
    return runs
