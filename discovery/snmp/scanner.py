"""The SNMP scanner: targets -> bounded concurrent collection -> one ScopeResult per device part.

Each device's own items (its CI, interfaces, addresses, neighbours, ARP evidence) are
the scope ``<scope>/<part>``, the part named by the device's system name (lower case;
else its LLDP chassis id): see docs/snmp.md for why a name and not an address. The
links and FDB evidence joined across devices are ``<scope>:links``; last comes the
targets scope itself, empty, listing the parts, so that the part of a device no longer
in the targets ages (``discovery.runner``, ``cmdb.runs.close_removed_parts``).

A device that times out, refuses credentials or returns garbage marks only itself
failed: its part is incomplete (nothing in it ages), and so are the links; the other
devices' parts age what they no longer see. Addresses in a CIDR sweep that do not
answer at all are counted as silent, not failed, unless they answered in an earlier
run (``discovery.snmp.reached``, which also remembers each address's part): silence
is not absence, so a known device that keeps silent fails, naming itself, and its
part is listed and ages nothing. Known addresses the crawl did not reach this time
(the neighbour that led to them is down) are visited all the same. A device reached
on a second address is recognised by its identity and described once; a known
address whose device (same serial or chassis id) now answers on another one has
moved, and holds nothing back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cmdb.observation import Item, now_ms
from cmdb.settings import get_core_settings
from discovery.base import Progress, ProgressHook, ScopeResult
from discovery.snmp.build import build_device, forwarding_relations
from discovery.snmp.client import ClientOptions, Endpoint, SnmpClient
from discovery.snmp.collect import Collected, collect_device
from discovery.snmp.credentials import Credential, ResolvedSecret, V2cCredential, V3Credential
from discovery.snmp.device import BuildContext, DeviceResult, DeviceWalk
from discovery.snmp.links import link_relations
from discovery.snmp.parsers.system import parse_system
from discovery.snmp.reached import ReachedTargets
from discovery.snmp.targets import Targets, parse_targets
from discovery.snmp.values import sys_name_key

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
    part: str | None = None  # the device's part of the scope (``<scope>/<part>``), when known


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
            "moved": self.count("moved"),
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
        """Scan the targets; yield each device's part, then the links across them, then the scope itself.

        ``<scope>/<part>`` per device (its own CI, interfaces, addresses, neighbours, ARP
        evidence): complete when every address of that device was read whole, *silent*
        when none answered. ``<scope>:links``: the links and FDB evidence joined across
        devices, complete only when no device failed. Last the scope, empty, listing its
        parts (those read now and those known to be failing), so the part of a device no
        longer in the targets ages; complete only when the whole scan was (what the scope
        held before it had parts ages only then).
        """
        for result in await self._scan(progress):
            yield result

    async def scan_scope(self, progress: ProgressHook | None = None) -> ScopeResult:
        """The whole scan as ONE result: every part's items, complete only when every part was.

        For callers that do not ingest (benchmarks, offline checks). Its items carry their
        parts' scopes: to ingest, use :meth:`scan` (one run per part).
        """
        results = await self._scan(progress)
        return ScopeResult(
            scope=self.targets.scope, items=[i for r in results for i in r.items],
            complete=all(r.complete for r in results), errors=sorted({e for r in results for e in r.errors}),
            warnings=sorted({w for r in results for w in r.warnings}), stats=self.summary.stats(), started_at=min(r.started_at or 0 for r in results),
            finished_at=max(r.finished_at or 0 for r in results),
        )

    async def _scan(self, progress: ProgressHook | None) -> list[ScopeResult]:
        started = time.monotonic()
        client = self._client or SnmpClient(self.options.client)
        scope = self.targets.scope
        summary = self.summary = ScanSummary()
        ctx = BuildContext(scope=scope, observed_at=now_ms(), network_scope=self.targets.network_scope,
                           dns_domain=self.targets.dns_domain)
        missing = sorted({n for e in self.targets.entries for n in e.credentials} - set(self.credentials))
        scope_errors: list[str] = [f"credential {n!r} is not defined" for n in missing]

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
        reads: list[_Read] = []
        identities: dict[tuple[str, str], str] = {}
        lock = asyncio.Lock()

        def tick(message: str) -> None:
            if progress is not None:
                progress(Progress(scope=scope, done=done, total=total, message=message))

        async def handle(endpoint: Endpoint, names: tuple[str, ...], is_seed: bool, depth: int) -> None:
            nonlocal done, total
            collected = await collect_device(client, endpoint, self._creds(names), self.options.device_deadline)
            outcome, result = self._assess(collected, is_seed, ctx)
            known = reached.known(endpoint.host, ctx.observed_at) if reached is not None else None
            if outcome.status == "silent" and known is not None:
                outcome = DeviceOutcome(
                    str(endpoint), "failed", known.name,
                    reason=f"{known.name or endpoint.host} answered before and is silent now "
                           f"({outcome.reason}): not aged, its part of the scope is incomplete")
            if outcome.status == "failed" and known is not None:
                outcome.part = known.part or part_name(sys_name_key(known.name))
                outcome.name = outcome.name or known.name
            strong = strong_identity(result.identity) if result is not None else ()
            async with lock:
                summary.requests += collected.requests
                summary.varbinds += collected.varbinds
                if result is not None and result.identity:
                    earlier = next((identities[i] for i in result.identity if i in identities), None)
                    if earlier is not None:
                        outcome = DeviceOutcome(str(endpoint), "duplicate", result.name, result.ci_class,
                                                same_as=earlier, part=outcome.part)
                        result = None
                    else:
                        for ident in result.identity:
                            identities[ident] = str(endpoint)
                if reached is not None and outcome.status in ("ok", "partial"):
                    reached.record(endpoint.host, outcome.name, ctx.observed_at, outcome.part, strong)
                reads.append(_Read(endpoint, outcome, result, known is not None, known.strong if known is not None else ()))
                if result is not None and depth < self.targets.crawl.max_depth:
                    for neighbor in result.neighbors:
                        for address in neighbor.management_addresses:
                            key = (address, self.targets.port)
                            if key not in queued and self.targets.crawl.allows(address):
                                queued.add(key)
                                total += 1
                                queue.put_nowait((Endpoint(address, self.targets.port),
                                                  self.targets.credentials_for(address), False, depth + 1))
                done += 1
            tick(f"{endpoint} {outcome.status}")

        async def worker() -> None:
            while True:
                job = await queue.get()
                if job is None:
                    return
                try:
                    await handle(*job)
                except Exception as exc:  # a bug on one device's data must not stop the scan
                    log.exception("SNMP device %s failed unexpectedly", job[0])
                    async with lock:
                        known = reached.known(job[0].host, ctx.observed_at) if reached is not None else None
                        failed = DeviceOutcome(str(job[0]), "failed", reason=f"internal error: {type(exc).__name__}")
                        if known is not None:
                            failed.part, failed.name = known.part or part_name(sys_name_key(known.name)), known.name
                        reads.append(_Read(job[0], failed, None, known is not None,
                                           known.strong if known is not None else ()))
                finally:
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
        device_results = [r.result for r in reads if r.result is not None]
        links_ctx = replace(ctx, scope=f"{scope}:links")
        # Links first: they settle the neighbours' hearsay in the devices' own items (a neighbour
        # recognised as a scanned device leaves its reporter's items) before the parts take them.
        link_items, summary.links = link_relations(device_results, links_ctx)
        link_items.extend(forwarding_relations(device_results, links_ctx))
        results = _Parts(scope, ctx.observed_at, reached is not None)
        results.assign(reads, reached)
        if reached is not None:
            try:
                reached.save(ctx.observed_at)
            except OSError as exc:  # the scan stands; the next one may not recognise a silent device
                log.warning("snmp scope %s: cannot save the reached targets: %s", scope, exc)
                scope_errors.append(f"reached targets not saved: {exc}")
        summary.outcomes = sorted((r.outcome for r in reads), key=lambda o: o.address)
        for read in reads:
            if read.result is not None:
                summary.neighbors.update(n.key for n in read.result.neighbors)
        summary.seconds = time.monotonic() - started
        return results.results(link_items, scope_errors, summary.stats(), now_ms())

    @staticmethod
    def _assess(collected: Collected, is_seed: bool, ctx: BuildContext) -> tuple[DeviceOutcome, DeviceResult | None]:
        address = str(collected.endpoint)
        if collected.walk is None:
            reason = collected.error or "no answer"
            silent = collected.silent and not is_seed
            return DeviceOutcome(address, "silent" if silent else "failed", reason=reason), None
        part = part_name(device_key(collected.walk))
        result = build_device(collected.walk, replace(ctx, scope=f"{ctx.scope}/{part}") if part else ctx)
        if result.key and part_name(result.key) != part:  # the build named it otherwise: build in that part
            part = part_name(result.key)
            result = build_device(collected.walk, replace(ctx, scope=f"{ctx.scope}/{part}"))
        if result.error:
            return DeviceOutcome(address, "failed", reason=result.error), None
        failures = collected.walk.problems  # the walk stopped early: the device was not read whole
        dropped = collected.walk.capped + result.problems
        said = failures + dropped
        return DeviceOutcome(
            address, "partial" if said else "ok", result.name, result.ci_class,
            reason="; ".join(said) if said else None, neighbors=len(result.neighbors),
            failures=len(failures), dropped=len(dropped), unmapped=result.unmapped.rows,
            warnings=tuple(result.unmapped.warnings()), part=part,
        ), result


STRONG = ("serial_number", "chassis_id")  # never move to another device: what recognises a device that moved


def part_name(key: str | None) -> str | None:
    """A device's part of the scope from its name key (one path segment: ``/`` would nest scopes)."""
    return key.replace("/", "_") if key else None


def device_key(walk: DeviceWalk) -> str | None:
    """The device's name key before it is built (``DeviceResult.key`` once built): its system name,
    lower case, else its LLDP chassis id."""
    system = parse_system(walk.scalars)
    return sys_name_key(system.sys_name or system.lldp_sys_name) or system.chassis_id


def strong_identity(identity: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return tuple(f"{k}={v}" for k, v in identity if k in STRONG)


@dataclass
class _Read:
    """One address visited: its outcome, its device's items if read, and its remembered strong identity."""

    endpoint: Endpoint
    outcome: DeviceOutcome
    result: DeviceResult | None
    known: bool = False  # it answered before (within the memory's window)
    known_strong: tuple[str, ...] = ()


@dataclass
class _Part:
    items: list[Item] = field(default_factory=list)
    read: int = 0  # devices read (wholly or partly)
    errors: list[str] = field(default_factory=list)  # what makes the part incomplete
    problems: list[str] = field(default_factory=list)  # said on the run; the part still ages
    warnings: list[str] = field(default_factory=list)  # ARP/FDB rows on unknown ports: said, counted


class _Parts:
    """The scan's reads sorted into parts, and the ScopeResults they make."""

    def __init__(self, scope: str, started_at: int, remembers: bool) -> None:
        self.scope = scope
        self.started_at = started_at
        # Without a memory of answering addresses, a failing address's part is unknown, so the
        # scope cannot list its parts: nothing may age for being unlisted.
        self.remembers = remembers
        self.parts: dict[str, _Part] = {}
        self.unplaced: list[str] = []  # failures of addresses with no known part
        self.unplaced_known = False  # one of them answered before: it holds a part no one can name
        self.failed = 0

    def assign(self, reads: list[_Read], reached: ReachedTargets | None) -> None:
        where: dict[str, str] = {}  # strong identifier -> address read this run
        for read in reads:
            if read.result is not None:
                where.update((s, str(read.endpoint)) for s in strong_identity(read.result.identity))
        for read in sorted(reads, key=lambda r: r.outcome.address):
            outcome, result = read.outcome, read.result
            address = outcome.address
            part = self.parts.setdefault(outcome.part, _Part()) if outcome.part else None
            if result is not None and part is not None:
                part.items.extend(result.items)
                part.read += 1
                part.warnings.extend(f"{address}: {w}" for w in outcome.warnings)
            if outcome.status == "failed":
                moved = next((where[s] for s in read.known_strong if s in where), None)
                if moved is not None and part is not None:
                    # The same serial or chassis id answers on another address: the device moved
                    # (DHCP, renumbering); this address is no longer its, and holds nothing back.
                    outcome.status, outcome.same_as = "moved", moved
                    outcome.reason = f"{outcome.reason}; {outcome.name or 'its device'} now answers on {moved}"
                    part.problems.append(f"{address}: {outcome.reason}")
                    if reached is not None:
                        reached.forget(read.endpoint.host)
                    continue
                self.failed += 1
                (part.errors if part is not None else self.unplaced).append(f"{address}: {outcome.reason}")
                self.unplaced_known = self.unplaced_known or (part is None and read.known)
            elif outcome.failures and part is not None:  # the walk stopped early: not read whole
                self.failed += 1
                part.errors.append(f"{address}: {outcome.reason}")
            elif outcome.status == "partial" and part is not None:  # rows dropped, a table capped: said
                part.problems.append(f"{address}: {outcome.reason}")

    def results(self, link_items: list[Item], scope_errors: list[str], stats: dict[str, int],
                now: int) -> list[ScopeResult]:
        out = [
            ScopeResult(scope=f"{self.scope}/{name}", items=part.items, complete=not part.errors,
                        errors=sorted(part.errors + part.problems), warnings=sorted(part.warnings),
                        stats={"devices": part.read, "items": len(part.items)},
                        silent=part.read == 0, started_at=self.started_at, finished_at=now)
            for name, part in sorted(self.parts.items())
        ]
        # Links need both ends' tables: a device not read whole may end links no one else reports.
        out.append(ScopeResult(scope=f"{self.scope}:links", items=link_items, complete=not self.failed,
                               stats={"items": len(link_items)}, started_at=self.started_at, finished_at=now))
        # With a memory, a failing address it does not know never answered (or was forgotten):
        # it holds no part. Without one, or when a known address has no part name, the list is not whole.
        listed = not self.unplaced_known and (self.remembers or not self.unplaced)
        out.append(ScopeResult(
            scope=self.scope, items=[], complete=not self.failed and not scope_errors,
            errors=sorted(self.unplaced + scope_errors), stats=stats,
            parts=tuple(sorted(self.parts)) if listed else None, started_at=self.started_at, finished_at=now))
        return out


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
