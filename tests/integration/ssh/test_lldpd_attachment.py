"""A host attached to its switch only through its own lldpd, read over real SSH (issue 19's "host
attachment from lldpd read over SSH", issue 17's lldpd twin).

The switch is the recorded Catalyst 3560 (``DUMSYS-04``) through the SNMP scanner's transform;
the host is the lab's db1, a real sshd in its own namespaces, scanned by the real SSHScanner.
lldpd itself cannot run here: LLDP frames need the switch to send them, and the switch is a
recording. So a fake ``lldpcli`` printing what lldpd 1.0 prints is placed on db1 alone (a tmpfs
on /usr/local/bin inside db1's own mount namespace, removed afterwards); everything else is real.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmdb.impact import ImpactRequest, ImpactService
from cmdb.topology import TopologyIndex
from discovery.runner import run_scan
from discovery.snmp import oids, snmprec
from discovery.snmp.build import BuildContext, DeviceWalk, build_device
from discovery.snmp.links import link_relations
from discovery.ssh.scanner import SSHScanner
from tests.builders import Harness
from tests.integration.ssh.netns import AppLab, LabHost

RECORDING = Path(__file__).parents[2] / "data" / "snmp" / "recordings" / "cisco-c3560.snmprec"
SWITCH_CHASSIS = "e8:04:62:78:f2:00"  # the recording's lldpLocChassisId
UPLINK = "kexuehuitang"  # one of the switch's own LLDP neighbours, taken as the uplink


def ingest_switch(harness: Harness) -> None:
    records = dict(snmprec.load(RECORDING))
    walk = DeviceWalk("192.0.2.10", {o: records[o] for o in oids.SCALARS if o in records}, records)
    ctx = BuildContext(scope="seeds", observed_at=harness.clock())
    result = build_device(walk, ctx)
    assert result.error is None
    # As the SNMP scanner does: a device's links (its uplink among them) are joined over the scope.
    links, _ = link_relations([result], ctx)
    _, report = harness.run([*result.items, *links], source="snmp", scope="seeds")
    assert report.rejected == []


def fake_lldpcli(nic: str, mac: str, fqdn: str) -> str:
    chassis = {"local-chassis": {"chassis": {fqdn: {"id": {"type": "mac", "value": mac}, "descr": "Debian Linux"}}}}
    neighbours = {"lldp": {"interface": {nic: {"via": "LLDP", "rid": "1", "age": "0 day, 00:01:12", "chassis": {
        "DUMSYS-04": {"id": {"type": "mac", "value": SWITCH_CHASSIS}, "descr": "Cisco IOS Software, C3560"}},
        "port": {"id": {"type": "ifname", "value": "Gi0/5"}, "descr": "GigabitEthernet0/5", "ttl": "120"}}}}}
    return ("#!/bin/sh\n# stands in for lldpd's client: lldpd cannot run without a switch sending LLDP\n"
            f"case \"$*\" in\n  *chassis*) echo '{json.dumps(chassis)}' ;;\n"
            f"  *neighbors*) echo '{json.dumps(neighbours)}' ;;\n  *) exit 1 ;;\nesac\n")


@pytest.fixture
def lldpd_on_db1(app_lab: AppLab) -> Iterator[tuple[LabHost, str, str]]:
    host = app_lab.db
    links = json.loads(host.run(["ip", "-j", "link", "show"]).stdout)
    nic = next(link for link in links if link["ifname"] != "lo" and link.get("address"))
    script = fake_lldpcli(nic["ifname"], nic["address"], host.fqdn)
    placed = host.run(["sh", "-c", "mount -t tmpfs cmdb-lldp /usr/local/bin && printf '%s' \"$0\" >"
                       " /usr/local/bin/lldpcli && chmod 755 /usr/local/bin/lldpcli", script])
    assert placed.returncode == 0, placed.stderr
    try:
        yield host, nic["ifname"], nic["address"]
    finally:
        host.run(["umount", "/usr/local/bin"])


def scan_db1(harness: Harness, app_lab: AppLab) -> None:
    scanner = SSHScanner(app_lab.lab.inventory([app_lab.db], scope="lldp"), connector=app_lab.lab.connector)
    runs = asyncio.run(run_scan(scanner, harness.ingestor))
    assert [r.status.value for r in runs] == ["complete"] * len(runs)


def host_links(harness: Harness, host_uid: str) -> set[tuple[str, str]]:
    """CONNECTS_TO edges touching the host or its interfaces, by the names of their ends."""
    cis = {c.uid: c for c in harness.all_cis()}
    mine = {host_uid} | {c.uid for c in cis.values() if c.parent_uid == host_uid}
    return {(cis[r.source_uid].attributes["name"], cis[r.target_uid].attributes["name"])
            for r in harness.all_rels() if r.type == "CONNECTS_TO" and {r.source_uid, r.target_uid} & mine}


def test_a_switch_failure_reaches_a_host_attached_only_through_its_own_lldpd(
    app_lab: AppLab, harness: Harness, lldpd_on_db1: tuple[LabHost, str, str],
) -> None:
    host, nic, mac = lldpd_on_db1
    ingest_switch(harness)
    scan_db1(harness, app_lab)
    db1 = harness.find("host", machine_id=host.machine_id)
    # The chassis id lldpd advertises identifies the host (what the switch's LLDP table would say).
    assert db1.attributes["chassis_id"] == mac.lower()
    switch = harness.find("switch", chassis_id=SWITCH_CHASSIS)
    assert host_links(harness, db1.uid) in (
        {(nic, "GigabitEthernet0/5"), (host.name, "DUMSYS-04")},  # from the smaller end, as SNMP's LLDP path
        {("GigabitEthernet0/5", nic), ("DUMSYS-04", host.name)})
    uplink = harness.find("network_device", sys_name=UPLINK)
    service = ImpactService(TopologyIndex.load(harness.store, harness.schema), harness.schema)
    report = service.impact(ImpactRequest((switch.uid,), uplinks=(uplink.uid,)))
    by = {ci.uid: ci for ci in report.impacted}
    assert by[db1.uid].grade.value == "down"
    assert by[db1.uid].explanation == "lost its last path to the uplinks (via DUMSYS-04 GigabitEthernet0/5) -> down"


def test_without_lldpd_the_same_host_is_not_attached_and_nothing_fails(app_lab: AppLab, harness: Harness) -> None:
    ingest_switch(harness)
    scan_db1(harness, app_lab)
    db1 = harness.find("host", machine_id=app_lab.db.machine_id)
    assert "chassis_id" not in db1.attributes
    assert host_links(harness, db1.uid) == set()
    switch = harness.find("switch", chassis_id=SWITCH_CHASSIS)
    uplink = harness.find("network_device", sys_name=UPLINK)
    service = ImpactService(TopologyIndex.load(harness.store, harness.schema), harness.schema)
    report = service.impact(ImpactRequest((switch.uid,), uplinks=(uplink.uid,)))
    assert db1.uid not in {ci.uid for ci in report.impacted}
