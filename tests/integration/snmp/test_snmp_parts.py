"""Per-device parts of an SNMP scope, on the real lab (snmpsim, a private one per test: devices are
stopped and restarted): a silent device holds back only its own part and the links; the other
parts age what their devices no longer report; a device taken out of the targets retires by its
classes' aging (its part is no longer listed); a store written before parts (sightings under the
whole scope) retires nothing a part still sees, nor anything of a device silent since the upgrade.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from cmdb.model import Lifecycle, RunStatus
from cmdb.observation import Item, now_ms
from discovery.snmp.reached import ReachedTargets
from labs.snmp import device_files
from tests.builders import Harness
from tests.integration.snmp.agents import community, start_snmpsim, stop, wait_answers
from tests.integration.snmp.conftest import Lab
from tests.integration.snmp.scan import Graph, Scan, collect, scan, seeds

CREDS = {"lab": community()}
Procs = dict[str, subprocess.Popen[bytes]]
ARP_DROPPED = "10.0.10.51"  # an address core1's ARP table lists, until core1 is restarted without it


def targets(lab: Lab, *keys: str) -> dict[str, Any]:
    return seeds([lab.addresses[k] for k in keys], lab.port)


def restart_without_arp_entry(lab: Lab, procs: Procs, work: Path) -> None:
    """core1 answers again, its ARP table one entry shorter (ipNetToMedia rows of 10.0.10.51 dropped)."""
    stop(procs["core1"])
    (work / "data").mkdir(parents=True)
    lines = device_files()["core1"].read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not (line.startswith("1.3.6.1.2.1.4.22.1.") and f".{ARP_DROPPED}|" in line)]
    assert len(lines) - len(kept) == 2
    (work / "data" / "public.snmprec").write_text("".join(kept), encoding="utf-8")
    endpoint = lab.endpoint("core1")
    procs["core1"] = start_snmpsim(work / "data", [endpoint], work)
    wait_answers(endpoint, community(), procs["core1"], work / "snmpsim.log")


def restart(lab: Lab, procs: Procs, key: str, work: Path) -> None:
    (work / "data").mkdir(parents=True)
    shutil.copy(device_files()[key], work / "data" / "public.snmprec")
    procs[key] = start_snmpsim(work / "data", [lab.endpoint(key)], work)
    wait_answers(lab.endpoint(key), community(), procs[key], work / "snmpsim.log")


def statuses(harness: Harness) -> dict[str, Lifecycle]:
    return {c.uid: c.status for c in harness.all_cis()}


def own(graph: Graph, name: str) -> set[str]:
    """A device's CI and its children (interfaces)."""
    uid = graph.device_uid(name)
    return {uid} | {u for u, c in graph.cis.items() if c.parent_uid == uid}


def address_uid(graph: Graph, address: str) -> str:
    uids: list[str] = [u for u, c in graph.cis.items() if c.ci_class == "ip_address" and c.attributes["address"] == address]
    assert len(uids) == 1, uids
    return uids[0]


def test_one_silent_device_holds_back_only_its_part_and_the_links(
        private_lab: tuple[Lab, Procs], harness: Harness, tmp_path: Path) -> None:
    lab, procs = private_lab
    memory = ReachedTargets.for_scope(tmp_path / "memory", "lab")
    first = scan(harness, targets(lab, "core1", "dist1", "dist2"), CREDS, reached=memory)
    parts = {"lab/core1.lab.example", "lab/dist1.lab.example", "lab/dist2.lab.example"}
    assert {s: r.status for s, r in first.by_scope().items()} == {
        s: RunStatus.COMPLETE for s in parts | {"lab:links", "lab"}}, first.errors
    graph = Graph(harness)
    dist2 = own(graph, "dist2.lab.example")
    gone = address_uid(graph, ARP_DROPPED)
    seen_behind = {r.uid for r in graph.rels if r.type == "SEEN_BEHIND" and r.target_uid == gone}
    assert len(seen_behind) == 1
    core1_dist2 = {r.uid for r in graph.rels if r.type == "CONNECTS_TO"
                   and {r.source_uid, r.target_uid} & dist2 and {r.source_uid, r.target_uid} & own(graph, "core1.lab.example")}
    assert len(core1_dist2) == 2  # interface to interface, device to device
    everything = set(graph.cis)
    assert set(statuses(harness).values()) == {Lifecycle.ACTIVE}

    stop(procs["dist2"])  # silent from now on
    restart_without_arp_entry(lab, procs, tmp_path / "core1-again")
    expected = {1: Lifecycle.ACTIVE, 2: Lifecycle.STALE, 3: Lifecycle.STALE, 4: Lifecycle.RETIRED}
    for n in range(1, 5):
        harness.clock.advance(600_000)
        done = scan(harness, targets(lab, "core1", "dist1", "dist2"), CREDS, reached=memory)
        runs = done.by_scope()
        assert {s: r.status for s, r in runs.items()} == {
            "lab/core1.lab.example": RunStatus.COMPLETE, "lab/dist1.lab.example": RunStatus.COMPLETE,
            "lab/dist2.lab.example": RunStatus.INCOMPLETE, "lab:links": RunStatus.INCOMPLETE,
            "lab": RunStatus.INCOMPLETE}
        assert runs["lab/dist2.lab.example"].errors == [f"{lab.addresses['dist2']}:{lab.port}: lab: no response before timeout "
                                 "(unreachable, or wrong community/context)"]
        assert runs["lab:links"].errors == ["the scanner did not cover the whole scope"]
        assert runs["lab"].counts["parts"] == 3
        now = statuses(harness)
        # core1's complete part aged what core1 no longer reports (the class's 2 runs to stale, 4 to retired).
        assert now[gone] == expected[n]
        assert {now[u] for u in everything - {gone}} == {Lifecycle.ACTIVE}  # dist2's CIs included
        rels = {r.uid: r.status for r in harness.all_rels()}
        assert {rels[u] for u in seen_behind} == {expected[n]}
        assert {rels[u] for u in core1_dist2} == {Lifecycle.ACTIVE}  # the links wait for dist2


def test_a_device_taken_out_of_the_targets_retires_while_the_others_stay(
        private_lab: tuple[Lab, Procs], harness: Harness, tmp_path: Path) -> None:
    lab, _ = private_lab
    memory = ReachedTargets.for_scope(tmp_path / "memory", "lab")
    # Three devices no two of which are neighbours: what fw1 says of its own neighbour (core1), rtr1 says too.
    first = scan(harness, targets(lab, "acc1", "rtr1", "fw1"), CREDS, reached=memory)
    assert first.status is RunStatus.COMPLETE, first.errors
    graph = Graph(harness)
    fw1 = own(graph, "fw1.lab.example")
    fw1_addresses = {address_uid(graph, a) for a in ("10.0.0.7", "192.0.2.1")}
    (fw1_subnet,) = [u for u, c in graph.cis.items() if c.ci_class == "subnet" and c.attributes["cidr"] == "192.0.2.0/24"]
    # The port of core1 (not scanned) that fw1's LLDP names: only fw1 reported it.
    core1 = graph.device_uid("core1.lab.example")
    core1_port = {u for u, c in graph.cis.items() if c.parent_uid == core1}
    assert len(core1_port) == 2  # its ports facing rtr1 and fw1
    (facing_fw1,) = [u for u in core1_port if any(
        r.type == "CONNECTS_TO" and {r.source_uid, r.target_uid} & fw1 and u in (r.source_uid, r.target_uid)
        for r in graph.rels)]
    leaving = fw1 | fw1_addresses | {fw1_subnet, facing_fw1}
    everything = set(graph.cis)

    expected = {1: Lifecycle.ACTIVE, 2: Lifecycle.STALE, 3: Lifecycle.STALE, 4: Lifecycle.RETIRED}
    for n in range(1, 5):
        harness.clock.advance(600_000)
        done = scan(harness, targets(lab, "acc1", "rtr1"), CREDS, reached=memory)  # fw1 still answers, unasked
        runs = done.by_scope()
        assert set(runs) == {"lab/acc1.lab.example", "lab/rtr1.lab.example", "lab:links", "lab"}
        assert {r.status for r in runs.values()} == {RunStatus.COMPLETE}
        assert (runs["lab"].counts["parts"], runs["lab"].counts["removed_parts"]) == (2, 1)
        now = statuses(harness)
        assert {u for u in leaving if now[u] is not expected[n]} == set()
        assert {u for u in everything - leaving if now[u] is not Lifecycle.ACTIVE} == set()


def old_layout(items: list[Item], scope: str) -> list[Item]:
    """Items as the scanner made them before parts: every one in the whole scope."""
    return [item.model_copy(update={"scope": scope}) for item in items]


def legacy_missed(harness: Harness) -> set[int]:
    return {missed for page in harness.store.iter_sightings() for s, missed in page
            if s.source == "snmp" and s.scope == "lab"}


def test_a_store_written_before_parts_retires_nothing_a_part_sees_nor_a_silent_devices_items(
        private_lab: tuple[Lab, Procs], harness: Harness, tmp_path: Path) -> None:
    lab, procs = private_lab
    memory = ReachedTargets.for_scope(tmp_path / "memory", "lab")
    # The old layout: one run of the whole scope (and the scanner's memory, as the old scanner kept it).
    whole, _ = collect(targets(lab, "core1", "dist1", "dist2"), CREDS)
    for host in ("core1", "dist1", "dist2"):
        memory.record(lab.addresses[host], f"{host}.lab.example", now_ms())  # no part: a file of before
    with harness.ingestor.run("snmp", "lab") as run:
        run.ingest(old_layout(whole.items, "lab"))
    assert run.finished is not None
    assert run.finished.status is RunStatus.COMPLETE, run.finished.errors
    graph = Graph(harness)
    dist2 = own(graph, "dist2.lab.example")
    everything = set(graph.cis)
    assert legacy_missed(harness) == {0}

    stop(procs["dist2"])  # silent since the upgrade: its part was never written
    for _ in range(5):  # more than any class's retire_after_runs
        harness.clock.advance(600_000)
        done: Scan = scan(harness, targets(lab, "core1", "dist1", "dist2"), CREDS, reached=memory)
        runs = done.by_scope()
        assert runs["lab/dist2.lab.example"].status is RunStatus.INCOMPLETE
        assert runs["lab"].status is RunStatus.INCOMPLETE  # not whole: the old sightings count no missed run
    assert {s for u, s in statuses(harness).items() if u in dist2} == {Lifecycle.ACTIVE}
    assert set(statuses(harness).values()) == {Lifecycle.ACTIVE}
    assert legacy_missed(harness) == {0}

    restart(lab, procs, "dist2", tmp_path / "dist2-again")
    for n in range(1, 6):  # whole scans: the old sightings miss every one, the parts see everything
        harness.clock.advance(600_000)
        done = scan(harness, targets(lab, "core1", "dist1", "dist2"), CREDS, reached=memory)
        assert done.status is RunStatus.COMPLETE, done.errors
        assert legacy_missed(harness) == {n}
    assert set(Graph(harness).cis) == everything
    assert set(statuses(harness).values()) == {Lifecycle.ACTIVE}
    assert {r.status for r in harness.all_rels()} == {Lifecycle.ACTIVE}
