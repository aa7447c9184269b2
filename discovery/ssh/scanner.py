"""The SSH host scanner: bounded concurrency, a deadline per host, one scope per host.

Scopes: ``<inventory scope>/<host name>`` for each host's own CIs (complete only
when everything on that host was read; *silent* when nothing was), then
``<inventory scope>:traffic`` for the dependency edges inferred across all hosts
(complete only when every host's socket table was read). The traffic scope comes
after the hosts because its edges name CIs the host scopes create. Last comes the
inventory scope itself, empty, listing its hosts as its parts: a host scope the
store still holds for a host that left the inventory then ages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncssh
from pydantic import ValidationError

from cmdb.gc_pause import gc_paused
from cmdb.observation import Item, now_ms
from discovery.base import Progress, ProgressHook, ScopeResult
from discovery.ssh.client import Collected, CollectError, Connector, collect
from discovery.ssh.dependencies import DependencyConfig, infer_dependencies
from discovery.ssh.facts import HostFacts, Packages
from discovery.ssh.hostkeys import HostKeyPolicy
from discovery.ssh.inventory import Credentials, Inventory, InventoryError, Target
from discovery.ssh.observations import SOURCE, HostContext, host_items
from discovery.ssh.parsers import parse_host
from discovery.ssh.script import build_script


@dataclass(slots=True)
class HostOutcome:
    """What happened on one host: its facts, or the reason it could not be read."""

    target: Target
    facts: HostFacts | None = None
    context: HostContext | None = None
    errors: list[str] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)  # handed over (emptied) by scan() once yielded
    identified: bool = False  # the host yielded its own CI (so its facts can take part in dependencies)
    elapsed_s: float = 0.0
    started_at: int | None = None  # epoch ms when its connection began (the scope run's scan start)

    @property
    def ok(self) -> bool:
        return self.facts is not None and not self.errors


class SSHScanner:
    """Scans an inventory of Linux hosts over SSH and yields Observations per host.

    After :meth:`scan`, ``outcomes`` keep each host's facts without items or packages (those were
    handed over in the host's ScopeResult); :meth:`collect_all` keeps everything.
    """

    source = SOURCE

    def __init__(
        self,
        inventory: Inventory,
        connector: Connector | None = None,
        host_key_policy: HostKeyPolicy | None = None,
        dependency_config: DependencyConfig | None = None,
    ) -> None:
        self.inventory = inventory
        self.connector = connector
        self.policy = host_key_policy or inventory.host_keys.policy(inventory.base_dir)
        self.dependency_config = dependency_config or DependencyConfig(noise=inventory.noise.filter())
        self.outcomes: list[HostOutcome] = []

    async def stream(self, progress: ProgressHook | None = None) -> AsyncIterator[HostOutcome]:
        """Collect every target, at most ``concurrency`` at a time, yielding each outcome as it finishes.

        A host's output is parsed and its Observations built when the consumer takes the host,
        one host at a time, while the other hosts' sessions go on. Hosts that finish together
        then wait as raw text rather than as some 3,600 objects each, which the garbage collector
        would walk (and promote) again and again. Never raises per host.
        """
        inv = self.inventory
        targets = inv.targets()
        sem = asyncio.Semaphore(inv.concurrency)
        keys_cache: dict[str, list[asyncssh.SSHKey] | InventoryError] = {}

        def keys_for(creds: Credentials) -> list[asyncssh.SSHKey]:
            ref = f"{creds.key_file}|{creds.key_env}|{creds.passphrase_env}"
            if ref not in keys_cache:
                try:
                    keys_cache[ref] = creds.load_keys()
                except InventoryError as exc:
                    keys_cache[ref] = exc
            value = keys_cache[ref]
            if isinstance(value, InventoryError):
                raise value
            return value

        scripts = {sudo: build_script(sudo_ss=sudo) for sudo in (False, True)}  # not rebuilt per host

        async def one(target: Target) -> tuple[HostOutcome, Collected | None]:
            outcome = HostOutcome(target)
            collected: Collected | None = None
            async with sem:
                started = time.perf_counter()
                outcome.started_at = now_ms()
                try:
                    keys = keys_for(target.credentials)
                    collected = await asyncio.wait_for(
                        collect(target, keys, self.policy, scripts[bool(target.credentials.sudo_ss)],
                                inv.connect_timeout_s, self.connector),
                        inv.deadline_s,
                    )
                except TimeoutError:
                    outcome.errors.append(f"deadline of {inv.deadline_s:g}s exceeded")
                except (CollectError, InventoryError) as exc:
                    outcome.errors.append(str(exc))
                outcome.elapsed_s = time.perf_counter() - started
            return outcome, collected

        tasks = [asyncio.ensure_future(one(t)) for t in targets]
        try:
            for done, next_done in enumerate(asyncio.as_completed(tasks), start=1):
                outcome, collected = await next_done
                if collected is not None:
                    started = time.perf_counter()
                    self._digest(outcome, collected.raw, collected.exit_status, collected.host_key)
                    outcome.elapsed_s += time.perf_counter() - started  # collecting and parsing, not the wait between
                if progress is not None:
                    status = "ok" if outcome.ok else ("partial" if outcome.facts else "failed")
                    progress(Progress(inv.scope, done, len(targets), f"{outcome.target.name}: {status}"))
                yield outcome
        finally:
            for task in tasks:
                task.cancel()

    def _digest(self, outcome: HostOutcome, raw: str, exit_status: int | None, host_key: str | None) -> None:
        """Parse one host's output and build its Observations (pure CPU work).

        The cyclic garbage collector is paused meanwhile (as the ingest does per batch): one host
        allocates some 3,600 small objects, all acyclic, which would otherwise trigger several
        collections walking them, and in turn full collections of the whole heap.
        """
        with gc_paused():
            try:
                self._digest_now(outcome, raw, exit_status, host_key)
            except ValueError as exc:  # pydantic's ValidationError included
                # Output that parses but cannot make valid Observations fails this host, not the scan.
                outcome.items, outcome.identified = [], False
                outcome.errors.append(f"could not build the host's items: {_first_error(exc)}")

    def _digest_now(self, outcome: HostOutcome, raw: str, exit_status: int | None, host_key: str | None) -> None:
        target, inv = outcome.target, self.inventory
        facts = parse_host(raw)
        if exit_status not in (0, None) and not facts.hostname:
            facts.errors.append(f"collection script exited {exit_status}")
        outcome.facts = facts
        outcome.errors.extend(facts.errors)
        outcome.context = HostContext(
            name=target.name, scope=f"{inv.scope}/{target.name}", observed_at=now_ms(),
            address=target.address, network_scope=target.network_scope,
            host_key=host_key, instance_id=target.instance_id,
        )
        outcome.items = host_items(facts, outcome.context)
        outcome.identified = bool(outcome.items)
        if not outcome.identified:
            outcome.errors.append("host could not be identified (no machine-id, FQDN or hostname)")

    async def collect_all(self, progress: ProgressHook | None = None) -> list[HostOutcome]:
        """Every host's outcome, in inventory order."""
        order = {t.name: i for i, t in enumerate(self.inventory.targets())}
        outcomes = [o async for o in self.stream(progress)]
        self.outcomes = sorted(outcomes, key=lambda o: order[o.target.name])
        return self.outcomes

    async def scan(self, progress: ProgressHook | None = None) -> AsyncIterator[ScopeResult]:
        """Yield one ScopeResult per host as it finishes, then the traffic scope with the dependencies."""
        order = {t.name: i for i, t in enumerate(self.inventory.targets())}
        outcomes: list[HostOutcome] = []
        async for out in self.stream(progress):
            outcomes.append(out)
            # Handed over, not kept: the consumer ingests and drops them, so a scan of many hosts does
            # not hold every host's Observations, nor its package list (the traffic scope needs neither),
            # and the garbage collector does not walk them again and again.
            items, out.items = out.items, []
            if out.facts is not None:
                out.facts.packages = Packages()
            yield ScopeResult(
                scope=f"{self.inventory.scope}/{out.target.name}",
                items=items,
                complete=out.ok,
                errors=[f"{out.target.name}: {e}" for e in out.errors],
                stats={"items": len(items)},
                started_at=out.started_at, finished_at=now_ms(),
                # Nothing read from the host: silent, not absent (it ages only past its TTL).
                silent=out.facts is None,
            )
        outcomes.sort(key=lambda o: order[o.target.name])
        self.outcomes = outcomes
        usable = [(o.context, o.facts) for o in outcomes if o.identified and o.context is not None and o.facts is not None]
        traffic_scope = f"{self.inventory.scope}:traffic"
        missing = [o.target.name for o in outcomes if o.facts is None or not o.facts.sockets_ok]
        errors = [f"{name}: connections not read" for name in missing]
        try:
            deps = infer_dependencies(usable, traffic_scope, now_ms(), self.dependency_config, source=self.source)
        except ValueError as exc:  # an incomplete traffic scope ages nothing
            deps = []
            errors.append(f"dependencies could not be built: {_first_error(exc)}")
        yield ScopeResult(
            scope=traffic_scope,
            items=deps,
            complete=not errors,
            errors=errors,
            stats={"hosts": len(usable), "edges": sum(1 for i in deps if i.kind == "rel")},
        )
        # Last, the inventory itself: its parts are the hosts it lists now, so a host scope the
        # store holds for a host no longer listed ages (the scan's scope is its inventory).
        yield ScopeResult(scope=self.inventory.scope, items=[], complete=True,
                          parts=tuple(t.name for t in self.inventory.targets()))


def _first_error(exc: ValueError) -> str:
    """The field and message of a validation error (the first one), or the error's text."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'item'}: {first['msg']}"[:300]
    return str(exc)[:300]
