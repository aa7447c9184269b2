"""The scope of an SSH scan is its inventory: real sshds in namespaces, scanned again and again.

A host removed from the inventory ages like anything a complete run no longer
sees (its scope gets an empty complete run each scan). A host still listed but
unreachable is silent, not absent: its part of the scan is incomplete and ages
nothing by missed runs, only once nobody has seen it for longer than its
class's TTL (``host``: 30 days).
"""

from __future__ import annotations

import asyncio
from typing import Any

from cmdb.model import Lifecycle, RunStatus, ScanRun
from discovery.runner import run_scan
from discovery.ssh.inventory import HostEntry
from discovery.ssh.scanner import SSHScanner
from tests.builders import Harness
from tests.integration.ssh.netns import AppLab

DAY_MS = 86_400_000
DEAD_ADDRESS = "10.250.31.79"  # in the lab's network, no host: connecting fails


def scan(harness: Harness, lab: AppLab, listed: tuple[str, ...], unreachable: tuple[str, ...] = ()) -> list[ScanRun]:
    """Scan an inventory of the ``listed`` lab hosts; ``unreachable`` ones are listed at an address nobody answers."""
    hosts = [h for h in lab.lab.hosts if h.name in listed]
    entries = [HostEntry(name=h.name, address=DEAD_ADDRESS if h.name in unreachable else h.address) for h in hosts]
    inventory = lab.lab.inventory(hosts, connect_timeout_s=3.0).model_copy(update={"hosts": entries})
    harness.clock.advance(60_000)
    return asyncio.run(run_scan(SSHScanner(inventory, connector=lab.lab.connector), harness.ingestor))


def host_statuses(harness: Harness) -> dict[str, Lifecycle]:
    return {c.attributes["hostname"]: c.status for c in harness.all_cis() if c.ci_class == "host"}


def children_statuses(harness: Harness, hostname: str) -> set[Lifecycle]:
    cis = harness.all_cis()
    host = next(c.uid for c in cis if c.ci_class == "host" and c.attributes["hostname"] == hostname)
    return {c.status for c in cis if c.parent_uid == host}


def by_scope(runs: list[ScanRun]) -> dict[str, Any]:
    return {r.scope: r.status for r in runs}


def test_a_host_removed_from_the_inventory_ages_out_with_what_it_ran(app_lab: AppLab, harness: Harness) -> None:
    everyone = ("db1", "app1", "mon1")
    for _ in range(2):
        runs = scan(harness, app_lab, everyone)
        assert by_scope(runs) == {"lab/db1": RunStatus.COMPLETE, "lab/app1": RunStatus.COMPLETE,
                                  "lab/mon1": RunStatus.COMPLETE, "lab:traffic": RunStatus.COMPLETE,
                                  "lab": RunStatus.COMPLETE}
    assert children_statuses(harness, "mon1") == {Lifecycle.ACTIVE}

    seen: list[Lifecycle] = []
    for _ in range(4):  # mon1 taken out of the inventory
        runs = scan(harness, app_lab, ("db1", "app1"))
        assert by_scope(runs) == {"lab/db1": RunStatus.COMPLETE, "lab/app1": RunStatus.COMPLETE,
                                  "lab:traffic": RunStatus.COMPLETE, "lab": RunStatus.COMPLETE}
        inventory_run = next(r for r in runs if r.scope == "lab")
        assert (inventory_run.counts["parts"], inventory_run.counts["removed_parts"]) == (2, 1)
        statuses = host_statuses(harness)
        assert (statuses["db1"], statuses["app1"]) == (Lifecycle.ACTIVE, Lifecycle.ACTIVE)
        seen.append(statuses["mon1"])
    assert seen == [Lifecycle.ACTIVE, Lifecycle.STALE, Lifecycle.STALE, Lifecycle.RETIRED]  # catalog: stale 2, retire 4
    assert children_statuses(harness, "mon1") == {Lifecycle.RETIRED}  # its interfaces, packages, instances too
    removed = [r for r in harness.store.list_runs(scope="lab/mon1", limit=10)][:4]
    assert [(r.status, r.errors) for r in removed] == [
        (RunStatus.COMPLETE, ["not in the inventory of lab any more: what it held misses this run"])] * 4


def test_an_unreachable_host_ages_only_past_its_ttl(app_lab: AppLab, harness: Harness) -> None:
    everyone = ("db1", "app1", "mon1")
    scan(harness, app_lab, everyone)
    for _ in range(4):  # more silent scans than it takes a missed host to retire
        runs = scan(harness, app_lab, everyone, unreachable=("mon1",))
        assert by_scope(runs)["lab/mon1"] is RunStatus.INCOMPLETE
        assert host_statuses(harness) == {"db1": Lifecycle.ACTIVE, "app1": Lifecycle.ACTIVE, "mon1": Lifecycle.ACTIVE}
    assert children_statuses(harness, "mon1") == {Lifecycle.ACTIVE}

    harness.clock.advance(31 * DAY_MS)  # longer than the host class's TTL (30 days) since anyone saw mon1
    runs = scan(harness, app_lab, everyone, unreachable=("mon1",))
    mon1_run = next(r for r in runs if r.scope == "lab/mon1")
    assert mon1_run.status is RunStatus.INCOMPLETE and mon1_run.counts["stale"] == 1
    assert host_statuses(harness) == {"db1": Lifecycle.ACTIVE, "app1": Lifecycle.ACTIVE, "mon1": Lifecycle.STALE}
    # Its interfaces and software have no TTL: silence alone does not age them.
    assert children_statuses(harness, "mon1") == {Lifecycle.ACTIVE}
