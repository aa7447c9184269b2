"""One CI per real thing, never two things in one CI: the cases of issue 17, each on the
real scanners' output shapes (their pure transforms on recorded payloads where they
exist) ingested into a real SQLite store."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cmdb.model import Action, Lifecycle
from cmdb.observation import Observation, parse_item
from discovery.aws.transform import transform_global
from discovery.snmp import oids, snmprec
from discovery.snmp.build import BuildContext, DeviceWalk, build_device
from discovery.snmp.parsers.entity import parse_chassis
from discovery.snmp.targets import parse_targets
from discovery.snmp.values import Oid, Value, name_identifiers
from discovery.ssh.facts import Address, HostFacts, InterfaceFact, LldpChassis
from discovery.ssh.observations import HostContext, host_items
from discovery.vsphere.transform import vm_ref
from tests.builders import DAY, T0, Harness, obs, ref, rel
from tests.unit.discovery.ssh.ssh_recordings import MACHINE_IDS, context, lab_facts

RECORDINGS = Path(__file__).parents[2] / "data" / "snmp" / "recordings"
AWS = Path(__file__).parents[2] / "data" / "aws"


def ssh(harness: Harness, facts: HostFacts, ctx: HostContext) -> Any:
    _, report = harness.run(host_items(facts, ctx), source="ssh", scope=ctx.scope)
    assert report.rejected == []
    return report


def hosts(harness: Harness, status: Lifecycle | None = Lifecycle.ACTIVE) -> list[Any]:
    return sorted((c for c in harness.all_cis() if harness.schema.is_a(c.ci_class, "device")
                   and (status is None or c.status is status)), key=lambda c: c.created_at)


def walk_of(name: str, **changes: Value) -> DeviceWalk:
    """A recorded device, with some varbinds replaced (``{column or scalar name: value}``)."""
    records: dict[Oid, Value] = dict(snmprec.load(RECORDINGS / f"{name}.snmprec"))
    for key, value in changes.items():
        if key == "serial":  # every entPhysicalSerialNum: another chassis
            column = (*oids.ENT_PHYSICAL.entry, 11)
            for oid in [o for o in records if o[:len(column)] == column]:
                records[oid] = value
        else:
            records[getattr(oids, key)] = value
    return DeviceWalk("192.0.2.10", {o: records[o] for o in oids.SCALARS if o in records}, records)


def snmp_items(walk: DeviceWalk, at: int = T0) -> list[Any]:
    result = build_device(walk, BuildContext(scope="seeds", observed_at=at))
    assert result.error is None
    return result.items


# -- merges different machines silently --------------------------------------------------
def test_two_hosts_with_one_short_name_in_two_domains_stay_two_cis_every_run(harness: Harness) -> None:
    a = dataclasses.replace(lab_facts("db1"), hostname="web1", fqdn="web1.a.example")
    b = dataclasses.replace(lab_facts("app1"), hostname="web1", fqdn="web1.b.example")
    for _ in range(3):  # the CI used to flip between them every run
        ssh(harness, a, context("db1"))
        ssh(harness, b, context("app1"))
        harness.clock.advance(DAY)
    assert {(h.attributes["fqdn"], h.attributes["machine_id"], h.attributes["dns_domain"]) for h in hosts(harness)} == {
        ("web1.a.example", MACHINE_IDS["db1"], "a.example"), ("web1.b.example", MACHINE_IDS["app1"], "b.example")}
    # Without any strong identifier (SNMP sees sysName only), the domain keeps them apart too.
    harness.run([obs("host", name_identifiers("web1.a.example"), {"uptime_s": 1}, source="snmp", scope="net"),
                 obs("host", name_identifiers("web1.b.example"), {"uptime_s": 2}, source="snmp", scope="net")],
                source="snmp", scope="net")
    assert {(h.attributes["fqdn"], h.attributes["uptime_s"]) for h in hosts(harness)} == {
        ("web1.a.example", 1), ("web1.b.example", 2)}


def test_a_host_rebuilt_under_its_name_with_a_new_machine_id_is_a_new_ci_and_the_old_one_keeps_its_id(
        harness: Harness) -> None:
    ssh(harness, lab_facts("db1"), context("db1"))
    old = hosts(harness)[0]
    rebuilt = dataclasses.replace(lab_facts("db1"), machine_id="0" * 31 + "1")
    ssh(harness, rebuilt, context("db1"))
    assert [(h.uid == old.uid, h.attributes["machine_id"], h.attributes["fqdn"]) for h in hosts(harness)] == [
        (True, MACHINE_IDS["db1"], "db1.lab.test"), (False, "0" * 31 + "1", "db1.lab.test")]
    assert not any("machine_id" in h.changes for h in harness.store.history(old.uid) if h.action is Action.UPDATE)
    # The name went to the new machine: what names the host by its FQDN alone now means the new one.
    new = hosts(harness)[1]
    _, report = harness.run([obs("application", {"name": "billing"}, source="manual", scope="hand"),
                             rel("RUNS_ON", ref("application", name="billing"), ref("host", fqdn="db1.lab.test"),
                                 source="manual", scope="hand")], source="manual", scope="hand")
    assert report.rejected == []
    assert [(r.type, r.target_uid) for r in harness.all_rels() if r.type == "RUNS_ON"] == [("RUNS_ON", new.uid)]
    harness.run([obs("host", {"fqdn": "DB1.lab.test."}, {"owner": "dba"}, source="manual", scope="hand")],
                source="manual", scope="hand")
    assert {h.uid: h.attributes.get("owner") for h in hosts(harness)} == {old.uid: None, new.uid: "dba"}
    # The old one ages normally: not seen by the next complete runs of its scope.
    for _ in range(4):
        ssh(harness, rebuilt, context("db1"))
    statuses = {h.attributes["machine_id"]: h.status for h in hosts(harness, None)}
    assert statuses == {MACHINE_IDS["db1"]: Lifecycle.RETIRED, "0" * 31 + "1": Lifecycle.ACTIVE}


def register_line(fqdn: str, owner: str) -> Any:
    """One line of the asset register as ``cmdb ingest`` reads it: the FQDN someone typed, no machine-id."""
    return parse_item({"kind": "ci", "source": "sample", "scope": "asset-register", "class": "virtual_machine",
                       "identifiers": {"fqdn": fqdn}, "attributes": {"owner": owner, "environment": "production"}})


@pytest.mark.parametrize("ssh_last", [True, False])
def test_what_name_only_sources_said_of_a_rebuilt_host_before_ssh_found_it_goes_to_the_new_ci(
        harness: Harness, ssh_last: bool) -> None:
    """The register (FQDN only) and the host's SNMP agent (sysName only) cannot tell db1 from its rebuild:
    reporting before SSH in the rebuild round, they land on the old CI. When SSH's new machine-id makes the
    new CI, it takes over their sightings, values and the interface the agent reported; whichever order the
    sources report in, the end is the same and the old CI keeps only what its own machine's SSH said."""
    ctx = context("db1")
    agent = linux_agent_walk("db1", str(ctx.address), (
        (2, "eth0", "3e9ad24c80e9", "10.250.9.1", b"\xff\xff\xff\x00"),  # SSH reports it too: split, not moved
        (9, "eth9", "525400999999", "10.9.0.9", b"\xff\xff\xff\x00")))

    def name_only(owner: str) -> None:
        assert harness.run([register_line("DB1.lab.test.", owner)], source="sample",
                           scope="asset-register")[1].rejected == []
        assert harness.run(snmp_items(agent), source="snmp", scope="seeds")[1].rejected == []

    ssh(harness, lab_facts("db1"), ctx)
    harness.clock.advance(1000)
    name_only("team-old")
    harness.clock.advance(DAY)
    rebuilt = dataclasses.replace(lab_facts("db1"), machine_id="0" * 31 + "1")
    if ssh_last:
        name_only("team-new")
        harness.clock.advance(1000)
        ssh(harness, rebuilt, ctx)
    else:
        ssh(harness, rebuilt, ctx)
        harness.clock.advance(1000)
        name_only("team-new")
    old, new = hosts(harness)
    assert (old.attributes["machine_id"], new.attributes["machine_id"]) == (MACHINE_IDS["db1"], "0" * 31 + "1")
    sighted = {(s.subject_uid, s.source) for s, _ in harness.store.sightings_of([old.uid, new.uid])}
    assert sighted == {(old.uid, "ssh"), (new.uid, "ssh"), (new.uid, "sample"), (new.uid, "snmp")}
    assert (new.attributes["owner"], new.attributes["environment"], new.attributes["sys_name"]) == (
        "team-new", "production", "db1")
    assert "owner" not in old.attributes and "environment" not in old.attributes
    eth9 = [c for c in harness.all_cis() if c.ci_class == "interface" and c.attributes.get("name") == "eth9"]
    assert [c.parent_uid for c in eth9] == [new.uid]
    assert {(r.source_uid, r.target_uid) for r in harness.all_rels() if r.target_uid == eth9[0].uid} == {
        (new.uid, eth9[0].uid)}
    # eth0, which SSH reported on the old machine too: the old machine's keeps SSH's sighting, the agent's
    # part went to the new machine's eth0, which SSH then found (one eth0 per host, whatever the order).
    eth0 = {c.parent_uid: c.uid for c in harness.all_cis() if c.ci_class == "interface" and c.attributes.get("name") == "eth0"}
    assert set(eth0) == {old.uid, new.uid}
    by_iface = {(s.subject_uid, s.source) for s, _ in harness.store.sightings_of(list(eth0.values()))}
    assert by_iface == {(eth0[old.uid], "ssh"), (eth0[new.uid], "ssh"), (eth0[new.uid], "snmp")}
    if ssh_last:  # said on both CIs, naming the other
        assert any(h.changes.get("handed_over_from") == [None, old.uid] for h in harness.store.history(new.uid))
        assert any(h.changes.get("handed_over_to") == [None, new.uid] for h in harness.store.history(old.uid))
    # The old one ages on its own machine's scans: SSH no longer finds it.
    for _ in range(4):
        harness.clock.advance(DAY)
        ssh(harness, rebuilt, ctx)
        name_only("team-new")
    assert {h.attributes["machine_id"]: h.status for h in hosts(harness, None)} == {
        MACHINE_IDS["db1"]: Lifecycle.RETIRED, "0" * 31 + "1": Lifecycle.ACTIVE}


def test_a_switch_replaced_under_its_sysname_with_a_new_serial_is_a_new_ci_and_keeps_its_own_ports(
        harness: Harness) -> None:
    harness.run(snmp_items(walk_of("cisco-c3560")), source="snmp", scope="seeds")
    old = next(c for c in hosts(harness) if c.ci_class == "switch")
    old_ports = {c.uid for c in harness.all_cis() if c.parent_uid == old.uid}
    replacement = walk_of("cisco-c3560", serial=b"FOC9999Z99Z", LLDP_LOC_CHASSIS_ID=bytes.fromhex("e80462aaaa00"))
    harness.run(snmp_items(replacement), source="snmp", scope="seeds")
    switches = [c for c in hosts(harness) if c.ci_class == "switch"]
    assert [(s.uid == old.uid, s.attributes["serial_number"], s.attributes["sys_name"]) for s in switches] == [
        (True, "FOC1408Z61U", "dumsys-04"), (False, "FOC9999Z99Z", "dumsys-04")]
    new_ports = {c.uid for c in harness.all_cis() if c.parent_uid == switches[1].uid}
    assert old_ports and len(new_ports) == len(old_ports) and not old_ports & new_ports
    assert {c.uid for c in harness.all_cis() if c.parent_uid == old.uid} == old_ports  # not absorbed


def test_a_new_ec2_instance_with_a_terminated_instances_private_ip_hostname_is_its_own_ci(harness: Harness) -> None:
    name = "ip-10-0-0-5.ec2.internal"

    def instance(instance_id: str, machine_id: str) -> None:
        harness.run([obs("cloud_instance", {"instance_id": instance_id}, {"private_ip": "10.0.0.5"})])
        facts = dataclasses.replace(lab_facts("app1"), hostname="ip-10-0-0-5", fqdn=name, machine_id=machine_id,
                                    instance_id=instance_id)
        ssh(harness, facts, context("app1"))

    instance("i-0old", "a" * 32)
    harness.clock.advance(DAY)
    instance("i-0new", "b" * 32)
    assert {(h.attributes["instance_id"], h.attributes["machine_id"], h.attributes["fqdn"]) for h in hosts(harness)} == {
        ("i-0old", "a" * 32, name), ("i-0new", "b" * 32, name)}


def test_an_if_index_reused_by_a_new_interface_after_a_reboot_is_another_interface(harness: Harness) -> None:
    switch = ref("switch", serial_number="SN1")
    harness.run([obs("switch", {"serial_number": "SN1"}, source="snmp", scope="net"),
                 obs("interface", {"name": "GigabitEthernet0/7"}, {"if_index": 7}, parent=switch, source="snmp",
                     scope="net")], source="snmp", scope="net")
    harness.run([obs("switch", {"serial_number": "SN1"}, source="snmp", scope="net"),
                 obs("interface", {"name": "Vlan100"}, {"if_index": 7}, parent=switch, source="snmp", scope="net")],
                source="snmp", scope="net")
    assert sorted((c.attributes["name"], c.attributes["if_index"]) for c in harness.all_cis()
                  if c.ci_class == "interface") == [("GigabitEthernet0/7", 7), ("Vlan100", 7)]
    # ...while an interface seen by its if_index alone, its name unknown, is still found.
    harness.run([obs("switch", {"serial_number": "SN1"}, source="snmp", scope="net"),
                 obs("interface", {"if_index": 7}, {"mtu": 1500}, parent=switch, source="snmp", scope="net")],
                source="snmp", scope="net")
    assert len([c for c in harness.all_cis() if c.ci_class == "interface"]) == 2


def with_bridges(facts: HostFacts) -> HostFacts:
    bridges = [InterfaceFact("docker0", "02:42:ac:11:00:01", 1500, "up", 9, (Address("172.17.0.1", 16, 4),)),
               InterfaceFact("virbr0", "52:54:00:aa:bb:cc", 1500, "up", 10, (Address("192.168.122.1", 24, 4),))]
    return dataclasses.replace(facts, interfaces=[*facts.interfaces, *bridges])


def test_docker0_and_virbr0_addresses_on_many_hosts_are_each_hosts_own(harness: Harness) -> None:
    for name in ("db1", "app1", "mon1"):
        ssh(harness, with_bridges(lab_facts(name)), context(name))
    addresses = {(c.attributes["address"], c.attributes["network_scope"]) for c in harness.all_cis()
                 if c.ci_class == "ip_address" and c.attributes["address"] in ("172.17.0.1", "192.168.122.1")}
    assert addresses == {(a, f"host:{MACHINE_IDS[h]}") for a in ("172.17.0.1", "192.168.122.1")
                         for h in ("db1", "app1", "mon1")}
    # Each address is held by its own host's bridge only.
    holders: dict[str, set[str]] = {}
    cis = {c.uid: c for c in harness.all_cis()}
    for r in harness.all_rels():
        if r.type == "HAS_ADDRESS" and cis[r.target_uid].attributes["address"] == "172.17.0.1":
            holders.setdefault(r.target_uid, set()).add(cis[cis[r.source_uid].parent_uid].attributes["sys_name"])
    assert sorted(holders.values(), key=sorted) == [{"app1"}, {"db1"}, {"mon1"}]


def test_docker0_of_same_named_hosts_in_two_domains_and_two_vpcs_are_each_hosts_own(harness: Harness) -> None:
    """Scoped by machine-id, not by the short name the hosts share (app1.east and app1.west,
    ip-10-0-1-17 in two VPCs)."""
    base = with_bridges(lab_facts("app1"))
    twins = [
        (dataclasses.replace(base, fqdn="app1.east.example.com", machine_id="11" * 16), context("app1", "east")),
        (dataclasses.replace(base, fqdn="app1.west.example.com", machine_id="22" * 16), context("app1", "west")),
        (dataclasses.replace(base, hostname="ip-10-0-1-17", fqdn="ip-10-0-1-17.ec2.internal", machine_id="33" * 16),
         dataclasses.replace(context("app1", "vpc-a"), network_scope="vpc-a")),
        (dataclasses.replace(base, hostname="ip-10-0-1-17", fqdn="ip-10-0-1-17.ec2.internal", machine_id="44" * 16),
         dataclasses.replace(context("app1", "vpc-b"), network_scope="vpc-b")),
    ]
    for facts, ctx in twins:
        ssh(harness, facts, ctx)
    cis = {c.uid: c for c in harness.all_cis()}
    holders: dict[str, set[str]] = {}
    for r in harness.all_rels():
        if r.type == "HAS_ADDRESS" and cis[r.target_uid].attributes["address"] in ("172.17.0.1", "192.168.122.1"):
            holders.setdefault(r.target_uid, set()).add(cis[cis[r.source_uid].parent_uid].attributes["machine_id"])
    # Eight addresses (two per host), each held by one host's bridge only.
    assert sorted(map(sorted, holders.values())) == sorted([m * 16] for m in ("11", "22", "33", "44") for _ in range(2))


def linux_agent_walk(sys_name: str, address: str, interfaces: tuple[tuple[int, str, str, str, bytes], ...]) -> DeviceWalk:
    """What Net-SNMP on a Linux host answers: sysName, HOST-RESOURCES' uptime, ifTable/ifXTable, ipAddrTable
    (``interfaces``: if_index, name, MAC hex, address, netmask)."""
    values: dict[Oid, Value] = {}
    for if_index, name, mac, ip_text, mask in interfaces:
        values[(*oids.IF_TABLE.entry, 2, if_index)] = name.encode()
        values[(*oids.IF_TABLE.entry, 6, if_index)] = bytes.fromhex(mac)
        values[(*oids.IF_X_TABLE.entry, 1, if_index)] = name.encode()
        ip = tuple(int(p) for p in ip_text.split("."))
        values[(*oids.IP_ADDR_TABLE.entry, 2, *ip)] = if_index
        values[(*oids.IP_ADDR_TABLE.entry, 3, *ip)] = mask
    scalars: dict[Oid, Value] = {
        oids.SYS_DESCR: f"Linux {sys_name} 5.15.0-91-generic #101-Ubuntu SMP x86_64".encode(),
        oids.SYS_OBJECT_ID: (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10), oids.SYS_NAME: sys_name.encode(),
        oids.SYS_SERVICES: 72, oids.HR_SYSTEM_UPTIME: 8_640_000}
    return DeviceWalk(f"{address}:161", scalars, {**scalars, **values})


def test_a_host_snmp_agent_reports_no_host_local_address_it_cannot_scope() -> None:
    """Net-SNMP tells no machine-id: a host's docker0 address from its agent would sit in the scope
    of a sysName other hosts share (or beside SSH's CI of it); SSH reports those addresses."""
    walk = linux_agent_walk("app1", "10.1.0.5", (
        (1, "lo", "000000000000", "127.0.0.1", b"\xff\x00\x00\x00"),
        (2, "eno1", "525400112233", "10.1.0.5", b"\xff\xff\xfc\x00"),
        (3, "docker0", "0242ac110001", "172.17.0.1", b"\xff\xff\x00\x00"),
        (4, "virbr0", "525400aabbcc", "192.168.122.1", b"\xff\xff\xff\x00")))
    result = build_device(walk, BuildContext(scope="seeds", observed_at=T0))
    assert result.error is None
    observed = {(i.ci_class, tuple(sorted(i.identifiers.items()))) for i in result.items
                if isinstance(i, Observation) and i.ci_class in ("host", "ip_address", "subnet")}
    assert observed == {("host", (("sys_name", "app1"),)),
                        ("ip_address", (("address", "10.1.0.5"), ("network_scope", "global"))),
                        ("subnet", (("cidr", "10.1.0.0/22"), ("network_scope", "global")))}


@pytest.mark.parametrize("west_first", [False, True])
def test_a_bare_sysname_two_hosts_share_goes_to_the_one_its_address_corroborates(harness: Harness,
                                                                                  west_first: bool) -> None:
    """app1.east and app1.west; the SNMP agent of app1.west (sysName ``app1``, no domain) is polled at
    west's address: it and its interfaces land on west's CI whichever host was created first."""
    base = lab_facts("app1")
    east = (dataclasses.replace(base, fqdn="app1.east.example.com", machine_id="11" * 16),
            dataclasses.replace(context("app1", "east"), address="10.1.0.5"))
    west = (dataclasses.replace(base, fqdn="app1.west.example.com", machine_id="22" * 16),
            dataclasses.replace(context("app1", "west"), address="10.2.0.5"))
    for facts, ctx in ((west, east) if west_first else (east, west)):
        ssh(harness, facts, ctx)
        harness.clock.advance(1000)
    walk = linux_agent_walk("app1", "10.2.0.5", ((7, "eth7", "525400777777", "10.2.0.5", b"\xff\xff\xfc\x00"),))
    _, report = harness.run(snmp_items(walk), source="snmp", scope="seeds")
    assert report.rejected == []
    cis = {c.uid: c for c in harness.all_cis()}
    eth7 = [c for c in cis.values() if c.ci_class == "interface" and c.attributes["name"] == "eth7"]
    assert [cis[c.parent_uid].attributes["machine_id"] for c in eth7] == ["22" * 16]
    assert sorted(c.attributes.get("machine_id") for c in hosts(harness)) == ["11" * 16, "22" * 16]


@pytest.mark.parametrize("ssh_first", [False, True])
def test_an_lldpd_host_and_its_lldp_twin_with_a_truncated_name_are_one_ci(harness: Harness, ssh_first: bool) -> None:
    """The switch reports the host by the chassis id lldpd advertises (a NIC's MAC) and a name its
    agent truncated; SSH reads lldpd's chassis id, so the neighbour and the host are one CI, a host."""
    items = snmp_items(walk_of("arista-dcs-7150s-52-cl"))
    neighbour = next(i for i in items if isinstance(i, Observation) and i.ci_class == "network_device")
    chassis = str(neighbour.identifiers["chassis_id"])
    facts = dataclasses.replace(lab_facts("db1"), lldp_chassis=LldpChassis(
        chassis, f"{neighbour.identifiers['sys_name']}-01-with-a-long-name.lab.example.com"))
    if ssh_first:
        ssh(harness, facts, context("db1"))
    harness.run(items, source="snmp", scope="seeds")
    if not ssh_first:
        ssh(harness, facts, context("db1"))
    twins = [c for c in hosts(harness) if c.attributes.get("chassis_id") == chassis]
    assert [(c.ci_class, c.attributes["machine_id"]) for c in twins] == [("host", MACHINE_IDS["db1"])]


def test_lldp_neighbours_whose_names_the_agent_truncated_stay_apart_by_chassis_id(harness: Harness) -> None:
    items = snmp_items(walk_of("arista-dcs-7150s-52-cl"))
    neighbour = next(i for i in items if isinstance(i, Observation) and i.ci_class == "network_device")
    twin = neighbour.model_copy(update={"identifiers": {**neighbour.identifiers, "chassis_id": "44:4c:a8:31:3e:e0"}})
    harness.run([*items, twin], source="snmp", scope="seeds")
    neighbours = [c for c in hosts(harness) if c.ci_class == "network_device"]
    assert {(c.attributes["sys_name"], c.attributes["chassis_id"]) for c in neighbours} == {
        ("zj-bp-bak-arista", "44:4c:a8:31:3e:df"), ("zj-bp-bak-arista", "44:4c:a8:31:3e:e0")}


def test_an_lldp_neighbour_name_the_agent_truncated_still_finds_the_device_by_its_chassis_id(harness: Harness) -> None:
    own = snmp_items(walk_of("arista-dcs-7150s-52-cl", SYS_NAME=b"dumsys-87.dc1.example.com"))
    device = next(i for i in own if isinstance(i, Observation) and i.ci_class == "switch")
    truncated = lldp_neighbour("dumsys-87.dc1.exa", chassis=str(device.identifiers["chassis_id"]))
    for order in ([truncated], own, [truncated]):  # heard of first, scanned, heard of again
        harness.run(order, source="snmp", scope="seeds")
    switches = [c for c in hosts(harness) if c.attributes.get("chassis_id") == device.identifiers["chassis_id"]]
    assert [(c.ci_class, c.attributes["fqdn"], c.attributes["dns_domain"]) for c in switches] == [
        ("switch", "dumsys-87.dc1.example.com", "dc1.example.com")]


def _two_accounts() -> tuple[list[Any], list[Any]]:
    payload = json.loads((AWS / "global.json").read_text())
    split = copy.deepcopy(payload)
    zones = split["route53.list_hosted_zones"][0]["HostedZones"]
    private = {**copy.deepcopy(zones[0]), "Id": "/hostedzone/ZPRIVATE1", "Config": {"PrivateZone": True}}
    zones.append(private)
    items_a, _ = transform_global(split, "111111111111", 1_700_000_000_000)
    items_b, _ = transform_global(payload, "222222222222", 1_700_000_000_000)
    for item in items_b:  # the same zone name, another zone id, in another account
        if isinstance(item, Observation) and item.ci_class == "dns_zone":
            object.__setattr__(item, "identifiers", {"zone_id": "ZOTHERACCOUNT"})
    return items_a, [i for i in items_b if isinstance(i, Observation) and i.ci_class in ("dns_zone", "cloud_account")]


def test_split_horizon_route53_zones_and_same_named_zones_in_two_accounts_are_separate(harness: Harness) -> None:
    items_a, items_b = _two_accounts()
    harness.run(items_a, source="aws", scope="111111111111/global")
    harness.run(items_b, source="aws", scope="222222222222/global")
    zones = {(c.attributes["zone_id"], c.attributes["zone_name"], c.attributes["account_id"], c.attributes["private"])
             for c in harness.all_cis() if c.ci_class == "dns_zone"}
    assert zones == {("CA9U5IICQOQHGU5QQNREGJ", "corp1.example", "111111111111", False),
                     ("ZPRIVATE1", "corp1.example", "111111111111", True),
                     ("ZOTHERACCOUNT", "corp1.example", "222222222222", False)}
    # A zone named alone finds its own: in its account and visibility.
    harness.run([obs("dns_zone", {"zone_name": "CORP1.example."}, {"description": "split horizon, inside",
                                                                    "account_id": "111111111111", "private": True},
                     source="manual", scope="hand")], source="manual", scope="hand")
    described = [c.attributes["zone_id"] for c in harness.all_cis() if c.attributes.get("description")]
    assert described == ["ZPRIVATE1"]


# -- splits one machine into several ------------------------------------------------------
def test_an_fqdn_with_a_trailing_dot_or_another_case_is_one_host_stored_normalised(harness: Harness) -> None:
    facts = dataclasses.replace(lab_facts("db1"), hostname="DB1", fqdn="DB1.Lab.Test.")
    ssh(harness, facts, context("db1"))
    harness.run([obs("host", {"fqdn": "db1.lab.test"}, {"uptime_s": 7}, source="snmp", scope="net")],
                source="snmp", scope="net")
    (host,) = hosts(harness)
    assert (host.attributes["fqdn"], host.attributes["sys_name"], host.attributes["uptime_s"]) == (
        "db1.lab.test", "db1", 7)
    # History shows the value as observed beside the one stored.
    harness.run([obs("host", {"machine_id": "M-X"}, {"fqdn": "Other.Example.COM."}, source="manual", scope="hand")],
                source="manual", scope="hand")
    created = next(h for h in harness.all_history() if h.action is Action.CREATE and "machine_id" in h.changes
                   and h.changes["machine_id"][1] == "m-x")
    assert created.changes["fqdn"] == [None, "other.example.com", "Other.Example.COM."]
    assert created.changes["machine_id"] == [None, "m-x", "M-X"]


def lldp_neighbour(name: str, *, chassis: str | None = None) -> Observation:
    """What the SNMP scanner emits for an LLDP/CDP neighbour (build.py's identifiers, hearsay)."""
    ids = {**({"chassis_id": chassis} if chassis else {}), **name_identifiers(name)}
    return obs("network_device", ids, {"name": name, "management_ip": "10.250.9.1"}, source="snmp",
               scope="seeds").model_copy(update={"hearsay": True})


def test_an_lldp_neighbour_network_device_found_by_ssh_becomes_a_host_and_its_software_is_accepted(
        harness: Harness) -> None:
    harness.run([lldp_neighbour("db1.lab.test", chassis="52:54:00:12:34:56")], source="snmp", scope="seeds")
    (seen,) = hosts(harness)
    assert seen.ci_class == "network_device"
    ssh(harness, lab_facts("db1"), context("db1"))
    (host,) = hosts(harness)
    assert (host.uid, host.ci_class, host.attributes["machine_id"]) == (seen.uid, "host", MACHINE_IDS["db1"])
    assert {c.attributes["product"] for c in harness.all_cis() if c.ci_class == "software_instance"
            and c.parent_uid == host.uid} == {"openssh", "postgresql"}
    assert [h.changes["class"] for h in harness.store.history(host.uid) if "class" in h.changes] == [
        [None, "network_device"], ["network_device", "host"]]
    # The neighbour's report seen again never turns it back.
    harness.run([lldp_neighbour("db1.lab.test", chassis="52:54:00:12:34:56")], source="snmp", scope="seeds")
    assert hosts(harness)[0].ci_class == "host"


def test_lldp_advertising_the_fqdn_and_ssh_reporting_the_short_name_are_one_host(harness: Harness) -> None:
    harness.run([lldp_neighbour("db1.lab.test")], source="snmp", scope="seeds")
    # hostname -f failed on the host: SSH knows only its short name.
    ssh(harness, dataclasses.replace(lab_facts("db1"), fqdn=None), context("db1"))
    (host,) = hosts(harness)
    assert (host.ci_class, host.attributes["sys_name"], host.attributes["fqdn"], host.attributes["machine_id"]) == (
        "host", "db1", "db1.lab.test", MACHINE_IDS["db1"])


def test_snmp_process_names_and_ssh_product_names_are_one_software_instance(harness: Harness) -> None:
    ssh(harness, lab_facts("db1"), context("db1"))
    host = ref("host", machine_id=MACHINE_IDS["db1"])
    # What the SNMP scanner emits for a host's hrSWRunTable (build.py host_resources).
    harness.run([obs("host", {"machine_id": MACHINE_IDS["db1"]}, source="snmp", scope="net"),
                 obs("software_instance", {"product": "sshd", "pid_name": "sshd"}, {"name": "sshd"}, parent=host,
                     source="snmp", scope="net"),
                 obs("software_instance", {"product": "postgres", "pid_name": "postgres"}, {"name": "postgres"},
                     parent=host, source="snmp", scope="net")], source="snmp", scope="net")
    software = {(c.attributes["product"], c.attributes.get("port")) for c in harness.all_cis()
                if c.ci_class == "software_instance"}
    assert software == {("openssh", 22), ("postgresql", 5432)}


def test_a_vm_known_to_the_hypervisor_only_by_its_dmi_uuid_is_the_host_ssh_scans(harness: Harness) -> None:
    # /sys/class/dmi/id/product_uuid as SSH reads it; the hypervisor reports it in upper case.
    facts = dataclasses.replace(lab_facts("db1"), dmi_uuid="4c4c4544-0042-3510-8052-b4c04f4e4d32")
    harness.run([obs("virtual_machine", {"dmi_uuid": "4C4C4544-0042-3510-8052-B4C04F4E4D32"}, {"name": "vm-db1", "cpu_count": 2},
                     source="manual", scope="vcenter")], source="manual", scope="vcenter")
    ssh(harness, facts, context("db1"))
    (host,) = hosts(harness)
    assert (host.ci_class, host.attributes["name"], host.attributes["machine_id"]) == (
        "virtual_machine", "vm-db1", MACHINE_IDS["db1"])


def test_a_stacked_switch_takes_its_serial_from_the_chassis_row_not_the_empty_stack_row() -> None:
    table = (*oids.ENT_PHYSICAL.entry,)
    values: dict[Oid, Value] = {}
    rows: dict[int, dict[int, Value]] = {1: {2: b"Stack", 4: 0, 5: 11, 11: b"", 13: b""},  # the stack: no serial
            1001: {2: b"Member 1", 4: 1, 5: 3, 11: b"FOC2222X111", 13: b"C9300-48P"},
            2001: {2: b"Member 2", 4: 1, 5: 3, 11: b"FOC2222X222", 13: b"C9300-48P"}}
    for index, row in rows.items():
        for column, value in row.items():
            values[(*table, column, index)] = value
    chassis = parse_chassis(values)
    assert chassis is not None and (chassis.serial_number, chassis.model) == ("FOC2222X111", "C9300-48P")


# -- hearsay --------------------------------------------------------------------------------
def test_a_neighbours_hearsay_never_overwrites_what_the_device_said_itself_and_a_rescan_records_nothing(
        harness: Harness) -> None:
    own = snmp_items(walk_of("arista-dcs-7150s-52-cl"))  # observed now: fresh
    device = next(i for i in own if isinstance(i, Observation) and i.ci_class == "switch")
    hearsay = obs("network_device", {"chassis_id": device.identifiers["chassis_id"], "sys_name": "DUMSYS-87"},
                  {"name": "dumsys-87.neighbour-view", "management_ip": "10.9.9.9", "model": "guess"},
                  source="snmp", scope="seeds").model_copy(update={"hearsay": True})
    harness.run([*own, hearsay], source="snmp", scope="seeds")
    switch = next(c for c in hosts(harness) if c.ci_class == "switch")
    assert (switch.attributes["name"], switch.attributes["management_ip"]) == (
        device.attributes["name"], device.attributes["management_ip"])
    assert switch.attributes["model"] == device.attributes["model"]
    # Identical rescans, in either order within the run: no update.
    for items in ([*own, hearsay], [hearsay, *own]):
        harness.clock.advance(DAY)
        items = [i.model_copy(update={"observed_at": harness.clock.now}) for i in items]
        _, report = harness.run(items, source="snmp", scope="seeds")
        assert report.updated == 0 and report.created == 0


@pytest.mark.parametrize("order", ["register,ssh-east,snmp,ssh-west", "snmp,register,ssh-east,ssh-west",
                                   "ssh-east,snmp,ssh-west,register"])
def test_a_bare_sysname_polled_in_a_site_with_its_domain_lands_on_that_sites_host(harness: Harness,
                                                                                  order: str) -> None:
    """app1.east (register and SSH) and app1.west (register only, until its SSH scan): west's Net-SNMP
    agent says only ``app1``. The site's SNMP targets name the site's domain, so the agent's host is
    app1.west.example.com whatever reported first, never east's CI (which once was the only app1)."""
    targets = parse_targets({"scope": "snmp-west", "network_scope": "west", "dns_domain": "West.Example.COM.",
                             "targets": [{"seeds": ["10.2.0.5"], "credentials": ["site"]}]})
    assert targets.dns_domain == "west.example.com"
    walk = linux_agent_walk("app1", "10.2.0.5", ((7, "eth7", "525400777777", "10.2.0.5", b"\xff\xff\xfc\x00"),))
    built = build_device(walk, BuildContext(scope="snmp-west", observed_at=T0, network_scope="west",
                                            dns_domain=targets.dns_domain))
    assert built.error is None
    base = lab_facts("app1")
    steps: dict[str, Callable[[], object]] = {
        "register": lambda: harness.run([register_line("app1.east.example.com", "team-e"),
                                         register_line("app1.west.example.com", "team-w")],
                                        source="sample", scope="asset-register"),
        "ssh-east": lambda: ssh(harness, dataclasses.replace(base, fqdn="app1.east.example.com", machine_id="11" * 16),
                                dataclasses.replace(context("app1", "east"), address="10.1.0.5")),
        "ssh-west": lambda: ssh(harness, dataclasses.replace(base, fqdn="app1.west.example.com", machine_id="22" * 16),
                                dataclasses.replace(context("app1", "west"), address="10.2.0.5")),
        "snmp": lambda: harness.run(built.items, source="snmp", scope="snmp-west"),
    }
    for step in order.split(","):
        steps[step]()
        harness.clock.advance(1000)
    cis = {c.uid: c for c in harness.all_cis()}
    devices = hosts(harness)
    assert sorted((c.attributes.get("fqdn"), c.attributes.get("machine_id")) for c in devices) == [
        ("app1.east.example.com", "11" * 16), ("app1.west.example.com", "22" * 16)]
    eth7 = [c for c in cis.values() if c.ci_class == "interface" and c.attributes["name"] == "eth7"]
    assert [cis[c.parent_uid].attributes["machine_id"] for c in eth7] == ["22" * 16]
    snmp_seen = {cis[s.subject_uid].attributes["fqdn"] for s, _ in harness.store.sightings_of([c.uid for c in devices])
                 if (s.source, s.scope) == ("snmp", "snmp-west")}
    assert snmp_seen == {"app1.west.example.com"}


@pytest.mark.parametrize("register_first", [True, False])
def test_a_vm_rebuilt_while_its_guest_is_unreachable_takes_its_register_line_from_the_old_ci(
        harness: Harness, register_first: bool) -> None:
    """vm1 is rebuilt (new BIOS and instance UUIDs) in a round where SSH cannot reach it. vCenter's
    guest host name (its FQDN) names the new VM: the register's FQDN line goes to the new CI, not the
    old VM's CI, which keeps only what vCenter said of the old VM."""
    def vm(uuid: str) -> Observation:
        found = vm_ref({"config.uuid": uuid, "config.instanceUuid": uuid[::-1], "guest.hostName": "VM1.lab.test."})
        assert found is not None and found.identifiers["fqdn"] == "vm1.lab.test"
        return obs("virtual_machine", found.identifiers, {"name": "vm1"}, source="vsphere", scope="vc1",
                   at=harness.clock.now)

    def register() -> None:
        assert harness.run([register_line("vm1.lab.test", "team-1")], source="sample",
                           scope="asset-register")[1].rejected == []

    old, new = "4201aaaa-0000-0000-0000-00000000000a", "4201bbbb-0000-0000-0000-00000000000b"
    register()
    harness.run([vm(old)], source="vsphere", scope="vc1")
    harness.clock.advance(DAY)
    for step in ((register, lambda: harness.run([vm(new)], source="vsphere", scope="vc1")) if register_first
                 else (lambda: harness.run([vm(new)], source="vsphere", scope="vc1"), register)):
        step()
    vms = {c.attributes["dmi_uuid"]: c for c in hosts(harness, None) if c.attributes.get("dmi_uuid")}
    assert sorted(vms) == [old, new]
    latest = {(s.subject_uid, s.source): s.seen_at for s, _ in harness.store.sightings_of([c.uid for c in vms.values()])}
    assert {src for uid, src in latest if uid == vms[new].uid} == {"vsphere", "sample"}
    assert latest[(vms[new].uid, "sample")] == max(latest.values())
    assert vms[new].attributes["owner"] == "team-1"
