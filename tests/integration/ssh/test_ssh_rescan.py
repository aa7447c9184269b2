"""A rescan of unchanged lab hosts writes no history (issue 25 item 3): uptime and disk
usage change between scans, but they are volatile, current values only."""

from __future__ import annotations

import asyncio
from typing import Any

from cmdb.model import RunStatus, ScanRun
from discovery.runner import run_scan
from discovery.ssh.scanner import SSHScanner
from tests.builders import Harness
from tests.integration.ssh.netns import AppLab

LAB3 = ("db1", "app1", "mon1")


def scan(harness: Harness, lab: AppLab) -> list[ScanRun]:
    hosts = [h for h in lab.lab.hosts if h.name in LAB3]
    return asyncio.run(run_scan(SSHScanner(lab.lab.inventory(hosts), connector=lab.lab.connector), harness.ingestor))


def history_of(harness: Harness, runs: list[ScanRun]) -> list[tuple[str, str, dict[str, Any]]]:
    ids = {r.run_id for r in runs}
    return [(h.subject_kind, h.action.value, h.changes) for h in harness.all_history() if h.run_id in ids]


def test_two_complete_scans_write_no_history_the_second_time(app_lab: AppLab, harness: Harness) -> None:
    first = scan(harness, app_lab)
    assert {r.status for r in first} == {RunStatus.COMPLETE}, [r.errors for r in first]
    assert history_of(harness, first)
    hosts = {c.uid: c for c in harness.all_cis() if c.ci_class == "host"}
    assert all(isinstance(c.attributes.get("uptime_s"), int) for c in hosts.values())
    harness.clock.advance(60_000)
    second = scan(harness, app_lab)
    assert {r.status for r in second} == {RunStatus.COMPLETE}, [r.errors for r in second]
    assert history_of(harness, second) == []
    # The volatile value is still current: stored, with the second scan's observation time.
    for ci in (c for c in harness.all_cis() if c.uid in hosts):
        assert ci.provenance["uptime_s"].observed_at >= ci.provenance["hostname"].observed_at
        assert ci.attributes["uptime_s"] >= hosts[ci.uid].attributes["uptime_s"]
