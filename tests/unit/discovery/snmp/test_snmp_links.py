"""Links joined over a scope, dropped rows said, CDP serials and unnamed neighbours, on the
real device recordings of tests/data/snmp/recordings (exact sets).

The Cisco Nexus 5548 (``cisco-n5000``) and the HPE ProCurve blade switch
(``hpe-procurve-516733-b21``) are the two ends of one real link: the Nexus sees the
ProCurve on Ethernet1/19 with the port id ``17`` sent as a local number (LLDP subtype 7),
and the ProCurve's CDP sees ``NWPU-CA-5548-01(SSI183706KP)`` on its port 17, the serial
being the Nexus's own chassis serial.
"""

from __future__ import annotations

from typing import Any

from cmdb.observation import CIRef, Observation, ObservedRelation
from discovery.snmp import oids, snmprec
from discovery.snmp.build import BuildContext, DeviceWalk, build_device
from discovery.snmp.links import link_relations
from discovery.snmp.parsers.cdp import device_serial
from discovery.snmp.values import Oid, Value
from tests.unit.discovery.snmp.test_snmp_recordings import RECORDINGS, parse

CTX = BuildContext(scope="recordings", observed_at=1)
NEXUS = (("chassis_id", "8c:60:4f:19:16:7c"), ("serial_number", "SSI183706KP"), ("sys_name", "dumsys-52"))
PROCURVE = (("chassis_id", "ac:16:2d:92:7d:21"), ("serial_number", "3C421900TX"), ("sys_name", "dumsys-64"))


def ident(ref: CIRef) -> tuple[Any, ...]:
    """A relation end as (device identifiers, interface name or None)."""
    if ref.ci_class == "interface":
        assert ref.parent is not None
        return tuple(sorted(ref.parent.identifiers.items())), ref.identifiers["name"]
    return tuple(sorted(ref.identifiers.items())), None


def connects(items: list[Any]) -> set[tuple[Any, Any, str, str | None]]:
    return {(ident(i.from_ci), ident(i.to_ci), i.attributes["protocol"], i.attributes.get("remote_port_id"))
            for i in items if isinstance(i, ObservedRelation) and i.type == "CONNECTS_TO"}


def walk(name: str, drop: tuple[Oid, ...] = (), add: dict[Oid, Value] | None = None) -> DeviceWalk:
    """A recording with the varbinds under ``drop`` removed and ``add`` added."""
    records = {o: v for o, v in snmprec.load(RECORDINGS / f"{name}.snmprec").items()
               if not any(o[:len(p)] == p for p in drop)}
    records.update(add or {})
    return DeviceWalk("192.0.2.10", {o: records[o] for o in oids.SCALARS if o in records}, records)


def test_a_local_port_number_is_joined_through_the_neighbours_own_port_table() -> None:
    nexus, procurve = parse("cisco-n5000"), parse("hpe-procurve-516733-b21")
    items, links = link_relations([nexus, procurve], CTX)
    between = {c for c in connects(items) if {c[0][0], c[1][0]} == {NEXUS, PROCURVE}}
    # One interface edge and one device edge, the same whichever end reported it: the Nexus by
    # LLDP (port id "17", local) and the ProCurve by CDP (the Nexus recognised by its serial).
    assert between == {
        ((NEXUS, "Ethernet1/19"), (PROCURVE, "17"), "lldp", None),
        ((NEXUS, None), (PROCURVE, None), "lldp", None),
        ((NEXUS, "Ethernet1/19"), (PROCURVE, "17"), "cdp", None),
        ((NEXUS, None), (PROCURVE, None), "cdp", None),
    }
    assert {k for k in links if {k[0], k[2]} == {"dumsys-52", "dumsys-64"}} == {
        ("dumsys-52", "Ethernet1/19", "dumsys-64", "17")}
    # No interface of a second, heard-of ProCurve: the far port is the scanned device's own.
    heard = {(tuple(sorted(i.parent.identifiers.items())), i.identifiers["name"]) for i in items
             if isinstance(i, Observation) and i.ci_class == "interface" and i.parent is not None}
    assert not any(dict(d).get("chassis_id") == "ac:16:2d:92:7d:21" for d, _ in heard)


def test_a_local_port_number_of_a_neighbour_not_scanned_stays_a_port_id_on_the_link() -> None:
    nexus = parse("cisco-n5000")
    items, _ = link_relations([nexus], CTX)
    heard_procurve = (("chassis_id", "ac:16:2d:92:7d:21"), ("sys_name", "procurve 6120xg blade switch"))
    assert {c for c in connects(items) if heard_procurve in (c[0][0], c[1][0])} == {
        ((NEXUS, "Ethernet1/19"), (heard_procurve, None), "lldp", "17"),
        ((NEXUS, None), (heard_procurve, None), "lldp", None),
    }
    mx = parse("juniper-mx960-12-3r6-6")
    items, _ = link_relations([mx], CTX)
    core2 = (("chassis_id", "a8:d0:e5:f7:b7:c0"), ("sys_name", "re0-snnu-yt-core-2"))
    mx_ids = (("chassis_id", "a8:d0:e5:f6:17:c0"), ("sys_name", "dumsys-17"))
    assert {c for c in connects(items) if core2 in (c[0][0], c[1][0])} == {
        ((mx_ids, "xe-0/2/0"), (core2, None), "lldp", "642"), ((mx_ids, None), (core2, None), "lldp", None)}
    # the port's description ("Connect to SNNU-YT-CORE-1::xe-0/2/0") names no interface
    assert not [i for i in items if isinstance(i, Observation) and i.ci_class == "interface"
                and "Connect" in str(i.identifiers["name"])]


def test_cdp_device_ids_with_a_serial_send_it_as_the_neighbours_serial() -> None:
    nexus = parse("cisco-n5000")
    cdp = {(n.local_interface, tuple(sorted(n.ref.identifiers.items()))) for n in nexus.neighbors if n.protocol == "cdp"}
    assert cdp == {
        ("mgmt0", (("serial_number", "SSI183706KA"), ("sys_name", "nwpu-ca-5548-02"))),
        ("Ethernet1/21", (("serial_number", "SSI183706KA"), ("sys_name", "nwpu-ca-5548-02"))),
        ("Ethernet1/22", (("serial_number", "SSI183706KA"), ("sys_name", "nwpu-ca-5548-02"))),
        ("Ethernet1/23", (("serial_number", "SSI1822049X"), ("sys_name", "nwpu-ucs-fi-a"))),
        ("Ethernet1/24", (("serial_number", "SSI18220198"), ("sys_name", "nwpu-ucs-fi-b"))),
    }
    # a plain name, or a suffix that is no serial, carries none
    assert [device_serial(v) for v in ("ShiTang02", "sw1(lab)", "sw1(12345678)", "N7K-A(JAF1234ABCD)")] == [
        None, None, None, "JAF1234ABCD"]


def test_neighbours_without_a_system_name_are_named_by_their_chassis_id() -> None:
    procurve = parse("hpe-procurve-516733-b21")
    named = {(n.protocol, n.local_interface, n.attributes["name"]) for n in procurve.neighbors}
    assert named == {
        ("lldp", "8", "e8:39:35:1a:ca:99"), ("lldp", "15", "e8:39:35:1a:3c:65"), ("lldp", "16", "e8:39:35:1a:ca:91"),
        ("lldp", "17", "NWPU-CA-5548-01"), ("lldp", "17", "NWPU-CA-5548-01(SSI183706KP)"),
        ("cdp", "8", "e8:39:35:1a:ca:99"), ("cdp", "15", "e8:39:35:1a:3c:65"), ("cdp", "16", "e8:39:35:1a:ca:91"),
        ("cdp", "17", "8c:60:4f:19:16:3a"), ("cdp", "17", "NWPU-CA-5548-01(SSI183706KP)"),
    }


def test_rows_on_interfaces_the_iftable_lacks_and_unreadable_rows_are_said_not_dropped_silently() -> None:
    gi52 = tuple((*t.entry, c, 10152) for t in (oids.IF_TABLE, oids.IF_X_TABLE) for c in range(1, 25))
    bad_lldp = (*oids.LLDP_REM.entry, 9, 0, 7)  # an lldpRemTable index of two sub-ids, not three
    bad_cdp = (*oids.CDP_CACHE.entry, 6, 10150)
    bad_if = (*oids.IF_TABLE.entry, 2, 7, 7)  # an ifIndex of two sub-ids
    bad_ip = (*oids.IP_ADDR_TABLE.entry, 2, 10, 1, 300, 4)  # an address octet over 255
    result = build_device(walk("cisco-c3560", drop=gi52, add={bad_lldp: b"x", bad_cdp: b"y", bad_if: b"z",
                                                              bad_ip: 10101}), CTX)
    assert result.problems == [
        "ifTable row 7.7: unparsable index, dropped",
        "ipAddrTable row 10.1.300.4: unparsable index, dropped",
        "lldpRemTable row 0.7: unparsable index, dropped",
        "cdpCacheTable row 10150: unparsable index, dropped",
        "CDP neighbour ShiTang02 on ifIndex 10152: no such interface in the ifTable, dropped",
    ]
    assert "shitang02" not in {n.key for n in result.neighbors}
    assert parse("cisco-c3560").problems == []


def test_a_devices_own_addresses_are_not_arp_evidence_behind_itself() -> None:
    result = parse("cisco-c3560")
    behind = {i.to_ci.identifiers["address"] for i in result.items
              if isinstance(i, ObservedRelation) and i.type == "SEEN_BEHIND"}
    assert behind == {
        "10.1.100.1", "10.1.100.138", "10.1.100.149", "10.1.100.181", "10.1.100.182", "10.1.100.243",
        "10.110.148.144", "10.110.148.150", "10.110.148.157", "10.110.148.168", "10.110.148.205",
        "10.110.148.206", "10.110.148.212",
        # its IPv6 neighbours, from ipNetToPhysicalTable (link-local ones are not CIs)
        "2001:da8:215:100::1", "2001:da8:215:1148:b4ab:b50f:31fe:b9e9", "2001:da8:215:1148:e59e:f669:a29:83c8",
        "2001:da8:215:1148:fd12:8c89:3d9d:d998",
    }
    # its ARP table lists these two, which are its own (ipAddrTable)
    assert {"10.1.100.148", "10.110.148.1"} <= result.own_addresses
    assert not behind & result.own_addresses
