"""The AWS scanner: every account+region (and each account's global services) as one scope.

Reads run in a bounded thread pool (boto3 is synchronous), one boto3 session per
scope job, standard retries with backoff. The scanner only yields ScopeResults;
``discovery.runner.run_scan`` sends them through the ingest pipeline.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from cmdb.observation import now_ms
from discovery.aws.accounts import Account, AccountSources, enabled_regions, resolve_accounts
from discovery.aws.client import GLOBAL_REGION, AwsCaller, ClientSettings, collect_global, collect_region, make_session
from discovery.aws.transform import (
    Payload,
    TargetIndex,
    global_scope,
    region_scope,
    transform_global,
    transform_region,
)
from discovery.base import Progress, ProgressHook, ScopeResult


@dataclass(frozen=True, slots=True)
class AwsScanConfig:
    """What to scan and how hard: accounts, regions, endpoint (moto in tests), workers, retries."""

    accounts: AccountSources = field(default_factory=AccountSources)
    regions: tuple[str, ...] = ()  # empty: every region the account has enabled
    client: ClientSettings = field(default_factory=ClientSettings)
    max_workers: int = 8


@dataclass(slots=True)
class _Collected:
    result: ScopeResult
    payload: Payload


def _stats(counts: Counter[str], caller: AwsCaller, started: float, items: int) -> dict[str, int]:
    stats = dict(counts)
    stats["api_calls"] = caller.calls
    stats["items"] = items
    stats["duration_ms"] = int((time.perf_counter() - started) * 1000)
    return stats


def scan_region(account: Account, region: str, settings: ClientSettings) -> _Collected:
    """Collect and transform one account+region (runs in a worker thread)."""
    started = time.perf_counter()
    observed_at = now_ms()
    scope = region_scope(account.account_id, region)
    try:
        caller = AwsCaller(make_session(account.credentials, account.profile), region, settings)
        collect_region(caller)
        items, counts = transform_region(caller.payload, account.account_id, region, observed_at)
    except Exception as exc:  # an unexpected payload or a session failure: this scope only
        return _Collected(ScopeResult(scope=scope, items=[], complete=False,
                                      errors=[f"scan failed: {type(exc).__name__}: {exc}"]), {})
    result = ScopeResult(scope=scope, items=items, complete=not caller.errors,
                         errors=list(caller.errors), stats=_stats(counts, caller, started, len(items)))
    return _Collected(result, caller.payload)


def collect_account_global(account: Account, settings: ClientSettings) -> tuple[AwsCaller, float, int]:
    """Collect the account's global services (runs in a worker thread)."""
    started = time.perf_counter()
    observed_at = now_ms()
    caller = AwsCaller(make_session(account.credentials, account.profile), GLOBAL_REGION, settings)
    collect_global(caller)
    return caller, started, observed_at


class AwsScanner:
    """``discovery.base.Scanner`` for AWS (source ``aws``)."""

    source = "aws"

    def __init__(self, config: AwsScanConfig) -> None:
        self.config = config
        self._done = 0
        self._total: int | None = None

    async def scan(self, progress: ProgressHook | None = None) -> AsyncIterator[ScopeResult]:
        """Yield each account's region scopes as they finish, then its global scope."""
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(max_workers=max(1, self.config.max_workers), thread_name_prefix="aws-scan")
        queue: asyncio.Queue[ScopeResult | None] = asyncio.Queue()
        try:
            accounts, failures = await loop.run_in_executor(
                executor, resolve_accounts, self.config.accounts, self.config.client)
            for failure in failures:
                yield ScopeResult(scope=global_scope(failure.account), items=[], complete=False,
                                  errors=[f"account unreachable: {failure.error}"])
            if self.config.regions:
                self._total = len(accounts) * (len(self.config.regions) + 1)
            tasks = [asyncio.create_task(self._account(account, executor, queue)) for account in accounts]
            pending = len(tasks)
            while pending:
                result = await queue.get()
                if result is None:
                    pending -= 1
                    continue
                self._done += 1
                if progress is not None:
                    progress(Progress(result.scope, self._done, self._total,
                                      "complete" if result.complete else "incomplete"))
                yield result
            for task in tasks:
                task.result()  # surface a bug in the orchestration itself
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    async def _account(self, account: Account, executor: ThreadPoolExecutor,
                       queue: asyncio.Queue[ScopeResult | None]) -> None:
        loop = asyncio.get_running_loop()
        settings = self.config.client
        try:
            regions = list(self.config.regions)
            if not regions:
                try:
                    regions = await loop.run_in_executor(executor, enabled_regions, account, settings)
                except Exception as exc:  # the account answers nothing: its global scope says why
                    await queue.put(ScopeResult(scope=global_scope(account.account_id), items=[], complete=False,
                                                errors=[f"listing regions failed: {type(exc).__name__}: {exc}"]))
                    return
            global_job = loop.run_in_executor(executor, collect_account_global, account, settings)
            index = TargetIndex()
            incomplete_regions: list[str] = []
            jobs = [loop.run_in_executor(executor, scan_region, account, region, settings) for region in regions]
            for job in asyncio.as_completed(jobs):
                collected = await job
                region = collected.result.scope.rsplit("/", 1)[-1]
                index.add_region(collected.payload, account.account_id, region)
                if not collected.result.complete:
                    incomplete_regions.append(region)
                await queue.put(collected.result)
            caller, started, observed_at = await global_job
            items, counts = await loop.run_in_executor(
                executor, transform_global, caller.payload, account.account_id, index, observed_at)
            errors = list(caller.errors)
            if incomplete_regions and counts.get("unresolved_dns_target"):
                # A record may point into a region we could not read: its edge must not age.
                errors.append("DNS targets not resolved while regions were incomplete: "
                              + ", ".join(sorted(incomplete_regions)))
            await queue.put(ScopeResult(scope=global_scope(account.account_id), items=items, complete=not errors,
                                        errors=errors, stats=_stats(counts, caller, started, len(items))))
        finally:
            await queue.put(None)
