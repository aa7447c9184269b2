"""Silence is not absence (issue 25 item 2), on the real SNMP lab: a crawled switch that
answered before and stops answering makes its own part of every later run incomplete (and
the links), naming it, and nothing of it ages; the other devices' parts stay complete; a
neighbour that never answered (ap1, LLDP only) stays merely silent.

The lab here is a private one (its own snmpsim processes on their own port): stopping a
switch must not disturb the session's shared lab.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from cmdb.model import Lifecycle, RunStatus, ScanRun
from discovery.snmp.reached import ReachedTargets
from discovery.snmp.scanner import SnmpScanner
from discovery.snmp.targets import parse_targets
from tests.builders import Harness
from tests.integration.snmp.agents import community, stop
from tests.integration.snmp.conftest import Lab
from tests.integration.snmp.scan import FAST, Graph

CREDS = {"lab": community()}


def crawl(lab: Lab) -> dict[str, Any]:
    return {"scope": "campus", "port": lab.port, "targets": [{"seeds": [lab.addresses["core1"]], "credentials": ["lab"]}],
            "crawl": {"enabled": True, "ranges": ["127.0.0.0/24"], "max_depth": 4, "credentials": ["lab"]}}


def scan(harness: Harness, lab: Lab, memory: Path) -> tuple[dict[str, ScanRun], SnmpScanner]:
    import asyncio

    from discovery.runner import run_scan

    scanner = SnmpScanner(parse_targets(crawl(lab)), CREDS, FAST, reached=ReachedTargets.for_scope(memory, "campus"))
    runs = asyncio.run(run_scan(scanner, harness.ingestor))
    return {run.scope: run for run in runs}, scanner


def statuses(harness: Harness) -> dict[str, Lifecycle]:
    return {**{c.uid: c.status for c in harness.all_cis()}, **{r.uid: r.status for r in harness.all_rels()}}


def test_a_crawled_switch_gone_silent_ends_runs_incomplete_and_ages_nothing(
        private_lab: tuple[Lab, dict[str, subprocess.Popen[bytes]]], harness: Harness, tmp_path: Path) -> None:
    lab, procs = private_lab
    memory = tmp_path / "memory"
    first, scanner = scan(harness, lab, memory)
    parts = {f"campus/{n}.lab.example" for n in ("core1", "dist1", "dist2", "acc1", "acc2", "rtr1", "fw1")}
    assert set(first) == parts | {"campus:links", "campus"}
    assert {r.status for r in first.values()} == {RunStatus.COMPLETE}, [r.errors for r in first.values()]
    assert first["campus"].counts["parts"] == 7
    ok = {o.address.split(":")[0] for o in scanner.summary.outcomes if o.status == "ok"}
    assert ok == set(lab.addresses.values())
    graph = Graph(harness)
    dist1 = graph.device_uid("dist1.lab.example")
    dist1_interfaces = {u for u, c in graph.cis.items() if c.parent_uid == dist1 and c.ci_class == "interface"}
    assert len(dist1_interfaces) > 1
    before = statuses(harness)
    assert set(before.values()) == {Lifecycle.ACTIVE}

    stop(procs["dist1"])  # the switch stops answering; acc1 is reached by the crawl only through dist1
    for _ in range(4):
        harness.clock.advance(600_000)
        runs, scanner = scan(harness, lab, memory)
        assert set(runs) == parts | {"campus:links", "campus"}  # dist1's part still listed (and run)
        silent = runs["campus/dist1.lab.example"]
        assert silent.status is RunStatus.INCOMPLETE
        (error,) = silent.errors  # dist1's silence, and nothing else
        assert error.startswith(f"{lab.addresses['dist1']}:{lab.port}: dist1.lab.example answered before and is "
                                "silent now (")
        assert error.endswith("): not aged, its part of the scope is incomplete")
        assert {s: r.status for s, r in runs.items() if r.status is not RunStatus.COMPLETE} == {
            "campus/dist1.lab.example": RunStatus.INCOMPLETE, "campus:links": RunStatus.INCOMPLETE,
            "campus": RunStatus.INCOMPLETE}
        assert runs["campus"].errors == ["the scanner did not cover the whole scope"]
        assert runs["campus"].counts["parts"] == 7 and runs["campus"].counts["removed_parts"] == 0
        by_status = {o.address.split(":")[0]: o.status for o in scanner.summary.outcomes}
        assert by_status[lab.addresses["dist1"]] == "failed"
        assert by_status[lab.addresses["acc1"]] == "ok"  # visited from memory though its path is down
    assert statuses(harness) == before  # nothing of dist1 (nor anything else) went stale or retired
