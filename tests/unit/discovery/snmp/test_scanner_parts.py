"""How the SNMP scanner splits a scope into per-device parts, offline: the lab's recordings answer
in place of the network (``bench.fidelity.seams.RecordedAgents``: an address without a recording
times out, as a silent one does). tests/integration/snmp/test_snmp_parts.py runs the same on
snmpsim into a store."""

from __future__ import annotations

import asyncio

from bench.fidelity.seams import RecordedAgents
from cmdb.model import Lifecycle, RunStatus
from cmdb.observation import Observation, ObservedRelation
from discovery.base import ScopeResult
from discovery.runner import run_scan
from discovery.snmp import oids, snmprec
from discovery.snmp.build import DeviceWalk
from discovery.snmp.credentials import ResolvedSecret, V2cCredential
from discovery.snmp.reached import ReachedTargets
from discovery.snmp.scanner import ScanOptions, SnmpScanner
from discovery.snmp.targets import parse_targets
from labs.snmp import device_files
from tests.builders import Harness

CREDS = {"lab": V2cCredential(name="lab", community=ResolvedSecret("public"))}
TIMEOUT = "lab: no response from {}:161"


def walk(key: str, address: str) -> DeviceWalk:
    records = snmprec.load(device_files()[key])
    return DeviceWalk(f"{address}:161", {o: records[o] for o in oids.SCALARS if o in records}, records)


def scan(walks: dict[str, DeviceWalk], addresses: list[str], reached: ReachedTargets | None) -> list[ScopeResult]:
    scanner = SnmpScanner(parse_targets({"scope": "lab", "targets": [{"seeds": addresses, "credentials": ["lab"]}]}),
                          CREDS, ScanOptions(concurrency=4), client=RecordedAgents(walks),  # type: ignore[arg-type]
                          reached=reached)

    async def go() -> list[ScopeResult]:
        return [r async for r in scanner.scan()]

    return asyncio.run(go())


def by_scope(results: list[ScopeResult]) -> dict[str, ScopeResult]:
    return {r.scope: r for r in results}


def test_parts_are_named_by_system_name_and_their_items_are_in_them() -> None:
    walks = {"10.0.0.1": walk("core1", "10.0.0.1"), "10.0.0.2": walk("dist1", "10.0.0.2")}
    results = scan(walks, ["10.0.0.1", "10.0.0.2"], ReachedTargets(None))
    assert [r.scope for r in results] == ["lab/core1.lab.example", "lab/dist1.lab.example", "lab:links", "lab"]
    assert [(r.complete, r.silent) for r in results] == [(True, False)] * 4
    for result in results:
        assert {item.scope for item in result.items} <= {result.scope}
    core1 = results[0]
    own = [i for i in core1.items if isinstance(i, Observation) and i.parent is None and not i.hearsay
           and i.ci_class == "switch"]
    assert [i.identifiers["sys_name"] for i in own] == ["core1"]
    assert any(isinstance(i, ObservedRelation) and i.type == "CONNECTS_TO" for i in results[2].items)
    assert not any(isinstance(i, ObservedRelation) and i.type == "CONNECTS_TO" for r in results[:2] for i in r.items)
    assert (results[3].items, results[3].parts) == ([], ("core1.lab.example", "dist1.lab.example"))


def test_a_known_device_silent_holds_back_its_part_and_the_links_only() -> None:
    memory = ReachedTargets(None)
    everyone = {a: walk(k, a) for k, a in (("core1", "10.0.0.1"), ("dist1", "10.0.0.2"), ("dist2", "10.0.0.3"))}
    assert all(r.complete for r in scan(everyone, list(everyone), memory))
    silent = {a: w for a, w in everyone.items() if a != "10.0.0.3"}
    results = by_scope(scan(silent, list(everyone), memory))
    assert {s: (r.complete, r.silent) for s, r in results.items()} == {
        "lab/core1.lab.example": (True, False), "lab/dist1.lab.example": (True, False),
        "lab/dist2.lab.example": (False, True), "lab:links": (False, False), "lab": (False, False)}
    assert results["lab/dist2.lab.example"].items == []
    assert results["lab/dist2.lab.example"].errors == ["10.0.0.3:161: lab: no response from 10.0.0.3:161"]
    assert results["lab"].parts == ("core1.lab.example", "dist1.lab.example", "dist2.lab.example")
    assert results["lab"].errors == []


def test_without_a_memory_a_failing_address_cannot_name_its_part_so_no_part_is_listed() -> None:
    walks = {"10.0.0.1": walk("core1", "10.0.0.1")}
    results = by_scope(scan(walks, ["10.0.0.1", "10.0.0.9"], None))
    assert set(results) == {"lab/core1.lab.example", "lab:links", "lab"}
    assert results["lab/core1.lab.example"].complete
    assert results["lab"].parts is None and not results["lab"].complete
    (error,) = results["lab"].errors
    assert error.startswith("10.0.0.9:161: ")
    # With a memory, an address it never heard from holds no part: the listing is whole.
    results = by_scope(scan(walks, ["10.0.0.1", "10.0.0.9"], ReachedTargets(None)))
    assert results["lab"].parts == ("core1.lab.example",)


def test_a_device_on_a_new_address_keeps_its_part_and_the_old_address_is_forgotten() -> None:
    memory = ReachedTargets(None)
    first = {"10.0.0.1": walk("core1", "10.0.0.1"), "10.0.0.3": walk("dist2", "10.0.0.3")}
    scan(first, list(first), memory)
    assert memory.entries["10.0.0.3"].part == "dist2.lab.example"
    assert memory.entries["10.0.0.3"].strong  # its serial and chassis id
    moved = {"10.0.0.1": first["10.0.0.1"], "10.0.0.33": walk("dist2", "10.0.0.33")}
    results = by_scope(scan(moved, ["10.0.0.1", "10.0.0.3", "10.0.0.33"], memory))
    part = results["lab/dist2.lab.example"]
    assert (part.complete, part.silent) == (True, False)
    (said,) = part.errors
    assert said.startswith("10.0.0.3:161: ") and said.endswith("dist2.lab.example now answers on 10.0.0.33:161")
    assert results["lab:links"].complete and results["lab"].complete
    assert "10.0.0.3" not in memory.entries and memory.entries["10.0.0.33"].part == "dist2.lab.example"


def test_a_device_on_two_addresses_is_one_part_and_its_second_address_holds_nothing_back() -> None:
    memory = ReachedTargets(None)
    walks = {"10.0.0.2": walk("dist1", "10.0.0.2"), "10.0.0.22": walk("dist1", "10.0.0.22")}
    results = by_scope(scan(walks, list(walks), memory))
    assert set(results) == {"lab/dist1.lab.example", "lab:links", "lab"}
    assert results["lab/dist1.lab.example"].stats["devices"] == 1  # the second address is a duplicate
    results = by_scope(scan({"10.0.0.2": walks["10.0.0.2"]}, list(walks), memory))
    # A seed that does not answer fails, but, never remembered as a device of its own, on the scope's run.
    assert results["lab/dist1.lab.example"].complete
    assert (results["lab"].parts, results["lab"].errors) == (
        ("dist1.lab.example",), ["10.0.0.22:161: lab: no response from 10.0.0.22:161"])


def test_a_device_taken_out_retires_although_another_is_silent(harness: Harness) -> None:
    """The fidelity benchmark's case: a device leaves the targets while another one does not answer."""
    memory = ReachedTargets(None)
    everyone = {a: walk(k, a) for k, a in (("core1", "10.0.0.1"), ("dist1", "10.0.0.2"), ("dist2", "10.0.0.3"))}

    def ingest(walks: dict[str, DeviceWalk], addresses: list[str]) -> dict[str, RunStatus]:
        scanner = SnmpScanner(parse_targets({"scope": "lab", "targets": [{"seeds": addresses, "credentials": ["lab"]}]}),
                              CREDS, ScanOptions(concurrency=4), client=RecordedAgents(walks),  # type: ignore[arg-type]
                              reached=memory)
        return {r.scope: r.status for r in asyncio.run(run_scan(scanner, harness.ingestor))}

    assert set(ingest(everyone, list(everyone)).values()) == {RunStatus.COMPLETE}
    cis = {c.uid: c for c in harness.all_cis()}
    (dist2,) = [u for u, c in cis.items() if c.attributes.get("fqdn") == "dist2.lab.example"]
    ports = {c.attributes["name"]: u for u, c in cis.items() if c.parent_uid == dist2}
    (address,) = [u for u, c in cis.items() if c.ci_class == "ip_address" and c.attributes["address"] == "10.0.0.3"]
    (acc2,) = [u for u, c in cis.items() if c.attributes.get("fqdn") == "acc2.lab.example"]
    # core1 still reports dist2 and the port facing it (LLDP), so those stay; nobody reports the rest of dist2,
    # nor acc2, which only dist2 named (its neighbour, not a target).
    leaving = {u for name, u in ports.items() if name != "GigabitEthernet0/1"} | {address, acc2}
    assert len(leaving) == len(ports) + 1

    without = {a: w for a, w in everyone.items() if a == "10.0.0.1"}  # dist1 silent, dist2 taken out
    for n in range(1, 5):
        harness.clock.advance(600_000)
        runs = ingest(without, ["10.0.0.1", "10.0.0.2"])
        assert runs == {"lab/core1.lab.example": RunStatus.COMPLETE, "lab/dist1.lab.example": RunStatus.INCOMPLETE,
                        "lab:links": RunStatus.INCOMPLETE, "lab": RunStatus.INCOMPLETE}
        now = {c.uid: c.status for c in harness.all_cis()}
        expected = Lifecycle.RETIRED if n == 4 else Lifecycle.STALE if n >= 2 else Lifecycle.ACTIVE
        assert {u for u in leaving if now[u] is not expected} == set()
        assert {u for u in set(cis) - leaving if now[u] is not Lifecycle.ACTIVE} == set()  # dist1's CIs too
