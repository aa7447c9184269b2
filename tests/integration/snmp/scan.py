"""Running the SNMP scanner into a real SQLite store for the tests, and reading the graph back."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cmdb.model import RunStatus, ScanRun
from discovery.base import ScopeResult
from discovery.runner import run_scan
from discovery.snmp.client import ClientOptions
from discovery.snmp.credentials import Credential
from discovery.snmp.reached import ReachedTargets
from discovery.snmp.scanner import ScanOptions, ScanSummary, SnmpScanner
from discovery.snmp.targets import parse_targets
from tests.builders import Harness

# Generous: the tests share two cores with other suites, and snmpsim is single-threaded Python.
FAST = ScanOptions(concurrency=16, device_deadline=60.0, client=ClientOptions(timeout=3.0, retries=2))


@dataclass
class Scan:
    """One scan's runs: a run per device part (``<scope>/<part>``), the links, the scope itself (last)."""

    runs: list[ScanRun]
    summary: ScanSummary

    @property
    def run(self) -> ScanRun:
        """The scope's own run: complete only when the whole scan was."""
        return self.runs[-1]

    @property
    def status(self) -> RunStatus:
        return RunStatus.COMPLETE if all(r.status is RunStatus.COMPLETE for r in self.runs) else RunStatus.INCOMPLETE

    @property
    def errors(self) -> list[str]:
        """Every run's errors: each failing or partial device is named once, in its part or in the scope."""
        return sorted(e for r in self.runs for e in r.errors)

    def by_scope(self) -> dict[str, ScanRun]:
        return {r.scope: r for r in self.runs}


def scan(harness: Harness, targets: Mapping[str, Any], credentials: Mapping[str, Credential],
         options: ScanOptions = FAST, reached: ReachedTargets | None = None) -> Scan:
    """Discover ``targets`` and ingest each of its scopes as a run."""
    scanner = SnmpScanner(parse_targets(dict(targets)), credentials, options, reached=reached)
    runs = asyncio.run(run_scan(scanner, harness.ingestor))
    assert [r.scope for r in runs][-2:] == [f"{targets['scope']}:links", targets["scope"]]
    return Scan(runs, scanner.summary)


def collect(targets: Mapping[str, Any], credentials: Mapping[str, Credential], options: ScanOptions = FAST) -> tuple[ScopeResult, ScanSummary]:
    """Discover without ingesting."""
    scanner = SnmpScanner(parse_targets(dict(targets)), credentials, options)

    async def go() -> ScopeResult:
        return await scanner.scan_scope()

    return asyncio.run(go()), scanner.summary


def device_name(ci: Any) -> str:
    """A device's full name: its FQDN where its name has a domain (the lab's all do), else its sysName."""
    return str(ci.attributes.get("fqdn") or ci.attributes.get("sys_name"))


class Graph:
    """The store's CIs and relationships as sets the tests compare exactly."""

    def __init__(self, harness: Harness) -> None:
        self.cis = {c.uid: c for c in harness.all_cis()}
        self.rels = harness.all_rels()
        self.schema = harness.schema

    def devices(self) -> set[tuple[str, str]]:
        return {(c.ci_class, device_name(c)) for c in self.cis.values()
                if self.schema.is_a(c.ci_class, "device")}

    def device_uid(self, sys_name: str) -> str:
        uids: list[str] = [u for u, c in self.cis.items() if device_name(c) == sys_name
                and self.schema.is_a(c.ci_class, "device")]
        assert len(uids) == 1, f"{sys_name}: {len(uids)} device CIs"
        return uids[0]

    def _owner(self, uid: str) -> str:
        parent = self.cis[uid].parent_uid
        assert parent is not None
        return device_name(self.cis[parent])

    def interfaces(self) -> set[tuple[str, str]]:
        return {(self._owner(u), str(c.attributes["name"])) for u, c in self.cis.items() if c.ci_class == "interface"}

    def links(self) -> set[frozenset[tuple[str, str]]]:
        """Interface-to-interface CONNECTS_TO edges as unordered pairs of (device, interface)."""
        out = set()
        for r in self.rels:
            a, b = self.cis[r.source_uid], self.cis[r.target_uid]
            if r.type == "CONNECTS_TO" and a.ci_class == "interface" and b.ci_class == "interface":
                out.add(frozenset({(self._owner(r.source_uid), a.attributes["name"]),
                                   (self._owner(r.target_uid), b.attributes["name"])}))
        return out

    def device_links(self) -> set[frozenset[str]]:
        out = set()
        for r in self.rels:
            a, b = self.cis[r.source_uid], self.cis[r.target_uid]
            if r.type == "CONNECTS_TO" and a.ci_class != "interface":
                out.add(frozenset({device_name(a), device_name(b)}))
        return out

    def rel_pairs(self, rel_type: str) -> set[tuple[str, str]]:
        out = set()
        for r in self.rels:
            if r.type != rel_type:
                continue
            a, b = self.cis[r.source_uid], self.cis[r.target_uid]
            out.add((str(a.attributes.get("name")), str(b.attributes.get("name"))))
        return out


def seeds(addresses: Sequence[str], port: int, credential: str = "lab", **extra: Any) -> dict[str, Any]:
    return {"scope": "lab", "port": port, "targets": [{"seeds": list(addresses), "credentials": [credential]}], **extra}
