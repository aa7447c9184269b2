"""The SNMP scanner: targets -> bounded concurrent collection -> one ScopeResult.

A device that times out, refuses credentials or returns garbage marks only itself
failed (in ``errors``, which makes the scope incomplete so nothing is aged); the
scan goes on and applies what was valid. Addresses in a CIDR sweep that do not
answer at all are counted as silent, not failed, unless they answered in an
earlier run (``discovery.snmp.reached``): silence is not absence, so a known
device that keeps silent fails, naming itself, and its scope ages nothing. Known
addresses the crawl did not reach this time (the neighbour that led to them is
down) are visited all the same. A device reached on a second address is
recognised by its identity and described once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmdb.observation import Item, now_ms
from cmdb.settings import get_core_settings
from discovery.base import Progress, ProgressHook, ScopeResult
from discovery.snmp.build import build_device, forwarding_relations
from discovery.snmp.client import ClientOptions, Endpoint, SnmpClient
from discovery.snmp.collect import Collected, collect_device
from discovery.snmp.credentials import Credential, ResolvedSecret, V2cCredential, V3Credential
from discovery.snmp.device import BuildContext, DeviceResult
from discovery.snmp.links import link_relations
from discovery.snmp.reached import ReachedTargets
from discovery.snmp.targets import Targets, parse_targets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanOptions:
    concurrency: int = 32
    device_deadline: float = 60.0  # seconds for one device, all requests included
    client: ClientOptions = field(default_factory=ClientOptions)


@dataclass
class DeviceOutcome:
    """One address's line in the run summary."""

    address: str
    status: str  # ok, partial, failed, silent, duplicate
    name: str | None = None
    ci_class: str | None = None
    reason: str | None = None
    neighbors: int = 0
    same_as: str | None = None
    failures: int = 0  # tables whose walk stopped early (the device's part of the scope is incomplete)
    dropped: int = 0  # rows read but not described, and tables over their row cap
    # ARP/FDB rows on a port the device's own tables do not resolve (not a failure: said, counted).
    unmapped: int = 0
    warnings: tuple[str, ...] = ()


@dataclass
class ScanSummary:
    """What ``cmdb discover snmp`` prints; also returned in ScopeResult.stats (counts)."""

    outcomes: list[DeviceOutcome] = field(default_factory=list)
    neighbors: set[str] = field(default_factory=set)
    links: set[tuple[str, str, str, str]] = field(default_factory=set)
    requests: int = 0
    varbinds: int = 0
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def stats(self) -> dict[str, int]:
        return {
            "devices": self.count("ok") + self.count("partial"),
            "partial": self.count("partial"),
            "dropped": sum(o.dropped for o in self.outcomes),
            "unmapped": sum(o.unmapped for o in self.outcomes),
            "failed": self.count("failed"),
            "silent": self.count("silent"),
            "duplicate_addresses": self.count("duplicate"),
            "neighbors": len(self.neighbors),
            "links": len(self.links),
            "requests": self.requests,
            "varbinds": self.varbinds,
        }


class SnmpScanner:
    """Scanner protocol implementation for one targets definition (one scope)."""

    source = "snmp"

    def __init__(
        self, targets: Targets, credentials: Mapping[str, Credential], options: ScanOptions | None = None,
        client: SnmpClient | None = None, reached: ReachedTargets | None = None,
    ) -> None:
        self.targets = targets
        # Addresses that answered before (None: no memory, every non-seed silence is silence).
        self.reached = reached
        self.credentials = dict(credentials)
        self.options = options or ScanOptions()
        self._client = client
        self.summary = ScanSummary()

    def _creds(self, names: tuple[str, ...]) -> list[Credential]:
        return [self.credentials[n] for n in names if n in self.credentials]

    async def scan(self, progress: ProgressHook | None = None) -> AsyncIterator[ScopeResult]:
        """Scan the scope; yields exactly one ScopeResult."""
        yield await self.scan_scope(progress)

    async def scan_scope(self, progress: ProgressHook | None = None) -> ScopeResult:
        started = time.monotonic()
        client = self._client or SnmpClient(self.options.client)
        scope = self.targets.scope
        summary = self.summary = ScanSummary()
        ctx = BuildContext(scope=scope, observed_at=now_ms(), network_scope=self.targets.network_scope,
                           dns_domain=self.targets.dns_domain)
        missing = sorted({n for e in self.targets.entries for n in e.credentials} - set(self.credentials))
        errors: list[str] = [f"credential {n!r} is not defined" for n in missing]
        problems: list[str] = []
        warnings: list[str] = []

        queue: asyncio.Queue[tuple[Endpoint, tuple[str, ...], bool, int] | None] = asyncio.Queue()
        queued: set[tuple[str, int]] = set()
        initial = self.targets.initial()
        reached = self.reached
        if reached is not None:  # known devices the crawl might not reach this time: visit them anyway
            starting = {(e.host, e.port) for e, _, _ in initial}
            for address in sorted(reached.entries):
                if (address, self.targets.port) not in starting and reached.known(address, ctx.observed_at) \
                        and self.targets.crawl.allows(address):
                    initial.append((Endpoint(address, self.targets.port), self.targets.credentials_for(address),
                                    False))
        for endpoint, names, is_seed in initial:
            queued.add((endpoint.host, endpoint.port))
            queue.put_nowait((endpoint, names, is_seed, 0))
        total = len(initial)
        done = 0
        items: list[Item] = []
        results: list[DeviceResult] = []
        identities: dict[tuple[str, str], str] = {}
        pending = 0
        lock = asyncio.Lock()

        def tick(message: str) -> None:
            if progress is not None:
                progress(Progress(scope=scope, done=done, total=total, message=message))

        async def handle(endpoint: Endpoint, names: tuple[str, ...], is_seed: bool, depth: int) -> None:
            nonlocal done, total
            collected = await collect_device(client, endpoint, self._creds(names), self.options.device_deadline)
            outcome, result = self._assess(collected, is_seed, ctx)
            if reached is not None:
                if outcome.status == "silent":
                    known = reached.known(endpoint.host, ctx.observed_at)
                    if known is not None:
                        outcome = DeviceOutcome(
                            str(endpoint), "failed", known.name,
                            reason=f"{known.name or endpoint.host} answered before and is silent now "
                                   f"({outcome.reason}): not aged, its part of the scope is incomplete")
                elif outcome.status in ("ok", "partial"):
                    reached.record(endpoint.host, outcome.name, ctx.observed_at)
            async with lock:
                summary.requests += collected.requests
                summary.varbinds += collected.varbinds
                if result is not None and result.identity:
                    earlier = next((identities[i] for i in result.identity if i in identities), None)
                    if earlier is not None:
                        outcome = DeviceOutcome(str(endpoint), "duplicate", result.name, result.ci_class, same_as=earlier)
                        result = None
                    else:
                        for ident in result.identity:
                            identities[ident] = str(endpoint)
                if result is not None:
                    results.append(result)
                    summary.neighbors.update(n.key for n in result.neighbors)
                    if depth < self.targets.crawl.max_depth:
                        for neighbor in result.neighbors:
                            for address in neighbor.management_addresses:
                                key = (address, self.targets.port)
                                if key not in queued and self.targets.crawl.allows(address):
                                    queued.add(key)
                                    total += 1
                                    queue.put_nowait((Endpoint(address, self.targets.port),
                                                      self.targets.credentials_for(address), False, depth + 1))
                summary.outcomes.append(outcome)
                if outcome.status == "failed" or outcome.failures:
                    errors.append(f"{endpoint}: {outcome.reason}")
                elif outcome.status == "partial":  # rows dropped or a table capped: said, but the rest stands
                    problems.append(f"{endpoint}: {outcome.reason}")
                warnings.extend(f"{endpoint}: {w}" for w in outcome.warnings)
                done += 1
            tick(f"{endpoint} {outcome.status}")

        async def worker() -> None:
            nonlocal pending
            while True:
                job = await queue.get()
                if job is None:
                    return
                pending += 1
                try:
                    await handle(*job)
                except Exception as exc:  # a bug on one device's data must not stop the scan
                    log.exception("SNMP device %s failed unexpectedly", job[0])
                    async with lock:
                        summary.outcomes.append(DeviceOutcome(str(job[0]), "failed", reason=f"internal error: {exc}"))
                        errors.append(f"{job[0]}: internal error: {type(exc).__name__}")
                finally:
                    pending -= 1
                    queue.task_done()

        workers = [asyncio.create_task(worker()) for _ in range(max(1, self.options.concurrency))]
        try:
            await queue.join()
        finally:
            for _ in workers:
                queue.put_nowait(None)
            await asyncio.gather(*workers, return_exceptions=True)
            if self._client is None:
                client.close()
        link_items, summary.links = link_relations(results, ctx)  # settles the neighbours' hearsay first
        for result in results:
            items.extend(result.items)
        items.extend(link_items)
        items.extend(forwarding_relations(results, ctx))
        if reached is not None:
            try:
                reached.save(ctx.observed_at)
            except OSError as exc:  # the scan stands; the next one may not recognise a silent device
                log.warning("snmp scope %s: cannot save the reached targets: %s", scope, exc)
                errors.append(f"reached targets not saved: {exc}")
        summary.seconds = time.monotonic() - started
        summary.outcomes.sort(key=lambda o: o.address)
        # Problems (rows dropped, a table over its row cap) are reported with the errors but do
        # not make the scope incomplete: what was read is whole, so the scope can still age.
        return ScopeResult(scope=scope, items=items, complete=not errors, errors=sorted(errors + problems),
                           warnings=sorted(warnings), stats=summary.stats(), started_at=ctx.observed_at,
                           finished_at=now_ms())

    @staticmethod
    def _assess(collected: Collected, is_seed: bool, ctx: BuildContext) -> tuple[DeviceOutcome, DeviceResult | None]:
        address = str(collected.endpoint)
        if collected.walk is None:
            reason = collected.error or "no answer"
            silent = collected.silent and not is_seed
            return DeviceOutcome(address, "silent" if silent else "failed", reason=reason), None
        result = build_device(collected.walk, ctx)
        if result.error:
            return DeviceOutcome(address, "failed", reason=result.error), None
        failures = collected.walk.problems  # the walk stopped early: the device was not read whole
        dropped = collected.walk.capped + result.problems
        said = failures + dropped
        return DeviceOutcome(
            address, "partial" if said else "ok", result.name, result.ci_class,
            reason="; ".join(said) if said else None, neighbors=len(result.neighbors),
            failures=len(failures), dropped=len(dropped), unmapped=result.unmapped.rows,
            warnings=tuple(result.unmapped.warnings()),
        ), result


def reached_targets(scope: str, state_dir: str | None = None, forget_after_days: float = 7.0) -> ReachedTargets:
    """The scope's memory of answering addresses: in ``state_dir``, by default the data dir's ``snmp-state/``."""
    directory = Path(os.path.expanduser(state_dir)) if state_dir else get_core_settings().data_dir / "snmp-state"
    return ReachedTargets.for_scope(directory, scope, forget_after_days)


def from_job_options(options: dict[str, Any], secrets: dict[str, str], concurrency: int) -> SnmpScanner:
    """Build a scanner from a jobs-file entry (``discovery.scanner_registry``).

    ``options``: a targets document (scope, targets, crawl, port, network_scope) plus
    ``user``/``auth_protocol``/``priv_protocol``/``context`` for SNMPv3 and
    ``timeout``/``retries``/``device_deadline``. ``secrets``: ``community`` or
    ``auth_key``/``priv_key``, already resolved by the jobs loader.
    """
    raw = dict(options)
    if "community" in secrets:
        credential: Credential = V2cCredential(name="job", community=ResolvedSecret(secrets["community"]))
    else:
        credential = V3Credential(
            name="job", user=str(raw.get("user", "")),
            auth_protocol=raw.get("auth_protocol"), priv_protocol=raw.get("priv_protocol"),
            auth_key=ResolvedSecret(secrets["auth_key"]) if "auth_key" in secrets else None,
            priv_key=ResolvedSecret(secrets["priv_key"]) if "priv_key" in secrets else None,
            context=str(raw.get("context", "")),
        )
    for entry in raw.get("targets") or []:
        if isinstance(entry, dict):
            entry.setdefault("credentials", ["job"])
    raw["targets"] = [e if isinstance(e, dict) else ({"cidr": e} if "/" in str(e) else {"seeds": [e]})
                      for e in raw.get("targets") or []]
    for entry in raw["targets"]:
        entry.setdefault("credentials", ["job"])
    if isinstance(raw.get("crawl"), dict):
        raw["crawl"].setdefault("credentials", ["job"])
    state_dir = raw.pop("state_dir", None)
    forget_after = float(raw.pop("forget_after_days", 7.0))
    targets = parse_targets(raw)
    reached = reached_targets(targets.scope, str(state_dir) if state_dir else None, forget_after)
    client = ClientOptions(timeout=float(raw.get("timeout", 1.0)), retries=int(raw.get("retries", 1)))
    scan = ScanOptions(concurrency=concurrency, device_deadline=float(raw.get("device_deadline", 60.0)), client=client)
    return SnmpScanner(targets, {"job": credential}, scan, reached=reached)
