"""The AWS scanner: every account+region (and each account's global services) as one scope.

Reads run in a bounded thread pool (boto3 is synchronous); each worker thread
keeps one boto3 session per account (sessions are not thread-safe); clients use
standard retries with backoff. The scanner only yields ScopeResults;
``discovery.runner.run_scan`` sends them through the ingest pipeline.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from cmdb.observation import now_ms
from discovery.aws.accounts import Account, AccountSources, enabled_regions, resolve_accounts
from discovery.aws.client import (
    GLOBAL_REGION,
    AwsCaller,
    ClientSettings,
    WorkerSessions,
    collect_global,
    collect_region,
)
from discovery.aws.transform import (
    DnsPointer,
    dns_pointers,
    global_scope,
    region_scope,
    skip_malformed,
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
    """One scope's raw pages, or why it could not be collected."""

    scope: str
    caller: AwsCaller | None
    started: float
    observed_at: int
    failure: str | None = None


def _stats(counts: Counter[str], caller: AwsCaller, items: int) -> dict[str, int]:
    stats = dict(counts)
    stats["api_calls"] = caller.calls
    stats["items"] = items
    return stats


def collect_scope(account: Account, region: str | None, settings: ClientSettings,
                  sessions: WorkerSessions) -> _Collected:
    """Collect one account+region, or the account's global services when ``region`` is None (worker thread)."""
    started, observed_at = time.perf_counter(), now_ms()
    scope = global_scope(account.account_id) if region is None else region_scope(account.account_id, region)
    try:
        caller = sessions.caller(account.account_id, account.credentials, account.profile,
                                 region or GLOBAL_REGION, settings)
        (collect_global if region is None else collect_region)(caller)
    except Exception as exc:  # a session that cannot even be built: this scope only
        return _Collected(scope, None, started, observed_at, f"scan failed: {type(exc).__name__}: {exc}")
    return _Collected(scope, caller, started, observed_at)


def region_result(collected: _Collected, account_id: str, region: str,
                  pointers: list[DnsPointer], dns_error: str | None) -> ScopeResult:
    """Transform a collected region into its ScopeResult (worker thread)."""
    caller = collected.caller
    if caller is None:
        return ScopeResult(collected.scope, [], complete=False, errors=[str(collected.failure)], started_at=collected.observed_at, finished_at=now_ms())
    malformed: list[str] = []  # elements named and skipped: the rest of the region is still described
    try:
        items, counts = transform_region(caller.payload, account_id, region, collected.observed_at, pointers,
                                         malformed)
    except Exception as exc:  # an unexpected payload: the scope is not trustworthy, so not complete
        return ScopeResult(collected.scope, [], complete=False,
                           errors=[f"transform failed: {type(exc).__name__}: {exc}"],
                           started_at=collected.observed_at, finished_at=now_ms())
    errors = list(caller.errors) + malformed
    if dns_error:
        # This scope owns the RESOLVES_TO edges into it: unchecked, they must not age.
        errors.append(dns_error)
    return ScopeResult(collected.scope, items, complete=not errors, errors=errors,
                       stats=_stats(counts, caller, len(items)), started_at=collected.observed_at, finished_at=now_ms())


def global_result(collected: _Collected, account_id: str) -> tuple[ScopeResult, list[DnsPointer], str | None]:
    """The global scope's result, the DNS targets for the regions, and why those may be partial."""
    caller = collected.caller
    if caller is None:
        failure = str(collected.failure)
        return (ScopeResult(collected.scope, [], complete=False, errors=[failure], started_at=collected.observed_at, finished_at=now_ms()), [],
                f"route53 unread: {failure}")
    malformed: list[str] = []
    try:
        items, counts = transform_global(caller.payload, account_id, collected.observed_at, malformed)
        pointers = skip_malformed(lambda: dns_pointers(caller.payload), malformed)
    except Exception as exc:
        failure = f"transform failed: {type(exc).__name__}: {exc}"
        return (ScopeResult(collected.scope, [], complete=False, errors=[failure], started_at=collected.observed_at, finished_at=now_ms()), [],
                f"route53 unread: {failure}")
    errors = list(caller.errors) + sorted(set(malformed))
    dns_errors = [e for e in errors if e.startswith("route53.")]
    dns_error = f"DNS edges not checked, route53 failed: {dns_errors[0]}" if dns_errors else None
    return (ScopeResult(collected.scope, items, complete=not errors, errors=errors,
                        stats=_stats(counts, caller, len(items)), started_at=collected.observed_at, finished_at=now_ms()),
            pointers, dns_error)


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class _DnsBoard:
    """Every scanned account's DNS record targets, ready once each account's global scope is read.

    A record may alias a load balancer (or name an address) of another account: the edge
    belongs to the target's region scope, so every region waits for every account's records.
    An account whose records could not be read leaves every region's DNS edges unchecked.
    """

    def __init__(self, accounts: int) -> None:
        self.pending = accounts
        self.pointers: dict[str, list[DnsPointer]] = {}
        self.errors: dict[str, str] = {}
        self.ready = asyncio.Event()
        if accounts <= 0:
            self.ready.set()

    def add(self, account_id: str, pointers: list[DnsPointer], error: str | None) -> None:
        self.pointers[account_id] = pointers
        if error:
            self.errors[account_id] = error
        self.pending -= 1
        if self.pending <= 0:
            self.ready.set()

    def pointers_for(self, account_id: str) -> list[DnsPointer]:
        """The account's own pointers, and the names (aliases, CNAMEs) other accounts' records point at.

        An address in another account's record is not matched: private address spaces of two
        accounts overlap, so 10.0.0.5 there says nothing about an instance here.
        """
        out = list(self.pointers.get(account_id, []))
        for other, pointers in sorted(self.pointers.items()):
            if other != account_id:
                out.extend(p for p in pointers if not _is_address(p.target))
        return out

    def error_for(self, account_id: str) -> str | None:
        """Why this account's regions cannot check their DNS edges, if they cannot."""
        if account_id in self.errors:
            return self.errors[account_id]
        others = sorted(self.errors)
        return f"DNS edges not checked, records of account {others[0]} unread: {self.errors[others[0]]}" \
            if others else None


class AwsScanner:
    """``discovery.base.Scanner`` for AWS (source ``aws``)."""

    source = "aws"

    def __init__(self, config: AwsScanConfig) -> None:
        self.config = config
        self._done = 0
        self._total: int | None = None  # known once every account's regions are
        self._scopes_known = 0
        self._pending_accounts = 0
        self._failed_accounts = 0
        self._sessions = WorkerSessions()

    async def scan(self, progress: ProgressHook | None = None) -> AsyncIterator[ScopeResult]:
        """Yield each account's global scope, then its region scopes as they finish."""
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(max_workers=max(1, self.config.max_workers), thread_name_prefix="aws-scan")
        queue: asyncio.Queue[ScopeResult | None] = asyncio.Queue()
        self._done, self._total, self._scopes_known = 0, None, 0
        tasks: list[asyncio.Task[None]] = []
        try:
            accounts, failures = await loop.run_in_executor(
                executor, resolve_accounts, self.config.accounts, self.config.client)
            self._pending_accounts, self._failed_accounts = len(accounts), len(failures)
            if not accounts:
                self._total = len(failures)
            for failure in failures:
                self._done += 1
                unreachable = ScopeResult(scope=global_scope(failure.account), items=[], complete=False,
                                          errors=[f"account unreachable: {failure.error}"])
                if progress is not None:
                    progress(Progress(unreachable.scope, self._done, self._total, "incomplete"))
                yield unreachable
            board = _DnsBoard(len(accounts))
            tasks = [asyncio.create_task(self._account(account, executor, queue, board)) for account in accounts]
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
            for task in tasks:  # a consumer that stopped early leaves nothing running
                task.cancel()
            executor.shutdown(wait=True, cancel_futures=True)

    def _count_scopes(self, scopes: int) -> None:
        self._scopes_known += scopes
        self._pending_accounts -= 1
        if self._pending_accounts == 0:
            self._total = self._scopes_known + self._failed_accounts

    async def _account(self, account: Account, executor: ThreadPoolExecutor,
                       queue: asyncio.Queue[ScopeResult | None], board: _DnsBoard) -> None:
        loop = asyncio.get_running_loop()
        settings = self.config.client
        posted = False
        try:
            regions = list(self.config.regions)
            if not regions:
                try:
                    regions = await loop.run_in_executor(executor, enabled_regions, account, settings)
                except Exception as exc:  # the account answers nothing: its global scope says why
                    self._count_scopes(1)
                    failure = f"listing regions failed: {type(exc).__name__}: {exc}"
                    board.add(account.account_id, [], failure)
                    posted = True
                    await queue.put(ScopeResult(scope=global_scope(account.account_id), items=[], complete=False,
                                                errors=[failure]))
                    return
            self._count_scopes(len(regions) + 1)
            # Collect everything at once; the global scope is yielded first, because the
            # regions' DNS edges start at its records and ingest resolves them in the store.
            global_job = loop.run_in_executor(executor, collect_scope, account, None, settings, self._sessions)
            region_jobs = [loop.run_in_executor(executor, collect_scope, account, region, settings, self._sessions)
                           for region in regions]
            result, pointers, dns_error = await loop.run_in_executor(
                executor, global_result, await global_job, account.account_id)
            board.add(account.account_id, pointers, dns_error)
            posted = True
            await queue.put(result)
            await board.ready.wait()  # every account's records, so that cross-account aliases resolve
            for job in asyncio.as_completed(region_jobs):
                collected = await job
                region = collected.scope.rsplit("/", 1)[-1]
                await queue.put(await loop.run_in_executor(
                    executor, region_result, collected, account.account_id, region,
                    board.pointers_for(account.account_id), board.error_for(account.account_id)))
        finally:
            if not posted:  # never leave the other accounts waiting
                board.add(account.account_id, [], "the account's scan stopped before its records were read")
            await queue.put(None)
