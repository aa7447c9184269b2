"""ARP and forwarding-table rows on a port the device's own tables do not resolve, on real
device recordings (tests/data/snmp/recordings, exact sets): said as warnings and counted,
never silently skipped; what the row still proves (an ARP row's address-MAC binding) is kept.

- ``juniper-mx960-12-3r6-6``: dot1dBasePortTable maps every bridge port to ifIndex 0, so its
  215 learned Q-BRIDGE rows have no interface;
- ``nsfocus-ads``: its 9 ipNetToPhysicalTable rows are on ifIndex 21, which its ifTable lacks;
- ``huawei-unknown-001``: 3 ipNetToMediaTable rows on ifIndex 0, the rest on real interfaces;
- ``brocade-icx6430-24``: ipNetToPhysicalTable rows on a real interface, the plain case.
"""

from __future__ import annotations

from collections.abc import Sequence

from cmdb.observation import Item, Observation, ObservedRelation
from discovery.snmp import oids
from discovery.snmp.build import BuildContext, DeviceResult, build_device, forwarding_relations
from discovery.snmp.parsers.forwarding import parse_arp
from discovery.snmp.unmapped import UnmappedRows
from discovery.snmp.values import Oid, Value
from tests.unit.discovery.snmp.test_snmp_links import walk
from tests.unit.discovery.snmp.test_snmp_recordings import parse

CTX = BuildContext(scope="recordings", observed_at=1)
KEPT = "address-MAC bindings kept, no SEEN_BEHIND"


def bindings(result: DeviceResult) -> set[tuple[str, str]]:
    """The (address, MAC) of the ip_address CIs its ARP rows describe."""
    return {(str(i.identifiers["address"]), str(i.attributes["mac"])) for i in result.items
            if isinstance(i, Observation) and i.ci_class == "ip_address" and i.hearsay}


def seen_behind(items: Sequence[Item]) -> set[tuple[str, str, str]]:
    return {(str(i.from_ci.identifiers["name"]), str(i.to_ci.identifiers["address"]), str(i.attributes["via"]))
            for i in items if isinstance(i, ObservedRelation) and i.type == "SEEN_BEHIND"}


def test_forwarding_rows_on_bridge_ports_without_an_ifindex_are_counted_and_said() -> None:
    result = parse("juniper-mx960-12-3r6-6")
    assert result.unmapped.rows == 215
    assert result.unmapped.warnings() == [
        "dot1qTpFdbTable: 215 rows on bridge ports 1, 13, 14, 15, 16, 17, 41, 42 (+5 more): "
        "no ifIndex in dot1dBasePortTable; dropped"]
    assert result.fdb == []
    assert result.problems == []  # a warning, not a dropped row of the device's own description


def test_arp_rows_on_an_ifindex_the_iftable_lacks_keep_their_bindings_without_a_port() -> None:
    result = parse("nsfocus-ads")
    assert result.unmapped.warnings() == [f"ipNetToPhysicalTable: 9 rows on ifIndex 21: not in the ifTable; {KEPT}"]
    assert bindings(result) == {
        ("60.1.254.2", "34:b3:54:10:98:56"), ("60.1.254.5", "28:6e:d4:88:c6:ea"), ("60.1.254.6", "28:6e:d4:88:c7:12"),
        ("60.1.254.13", "28:6e:d4:88:c6:64"), ("60.1.254.104", "28:6e:d4:88:c7:01"),
        ("60.1.254.141", "3c:97:0e:5c:e1:6e"), ("60.1.254.203", "20:47:47:76:19:d4"),
        ("60.1.254.218", "b0:51:8e:07:89:cb"), ("60.1.254.230", "00:90:0b:3c:34:bb"),
    }
    assert seen_behind(result.items) == set()  # no port: no SEEN_BEHIND made up


def test_arp_rows_on_ifindex_0_are_said_and_the_others_placed_on_their_interfaces() -> None:
    result = parse("huawei-unknown-001")
    assert result.unmapped.warnings() == [f"ipNetToMediaTable: 3 rows on ifIndex 0: not in the ifTable; {KEPT}"]
    on_zero = {("172.168.254.3", "ac:85:3d:ba:33:f8"), ("172.168.254.4", "00:0d:48:06:4f:32"),
               ("172.168.254.6", "64:3e:8c:bb:2d:20")}
    assert on_zero <= bindings(result)
    assert seen_behind(result.items) == {
        ("Eth-Trunk1", "192.168.254.246", "arp"), ("Eth-Trunk1", "2001:da8:504a:1::1", "arp"),
        ("GigabitEthernet4/1/23", "172.168.254.1", "arp"), ("GigabitEthernet4/1/23", "172.168.254.100", "arp"),
        ("GigabitEthernet4/1/23", "172.168.254.123", "arp"), ("GigabitEthernet4/1/23", "172.168.254.133", "arp"),
        ("GigabitEthernet4/1/23", "172.168.254.82", "arp"), ("GigabitEthernet5/0/1.300", "192.168.254.233", "arp"),
        ("GigabitEthernet5/0/1.300", "3.1.1.2", "arp"),
    }
    assert not {a for a, _ in on_zero} & {a for _, a, _ in seen_behind(result.items)}


def test_ip_net_to_physical_rows_on_a_known_interface_are_seen_behind_it() -> None:
    result = parse("brocade-icx6430-24")
    assert result.unmapped.rows == 0
    assert {(a, via) for _, a, via in seen_behind(result.items)} == {(a, "arp") for a, _ in bindings(result)}
    assert {p for p, _, _ in seen_behind(result.items)} == {"ethernet1/1/1"}
    assert {e.table for e in parse_arp(walk("brocade-icx6430-24").values)} == {"ipNetToPhysicalTable"}


def test_a_bridge_port_whose_ifindex_the_iftable_lacks_or_that_has_none_is_said() -> None:
    # The ProCurve's real tables, with the ifTable rows of ifIndex 3 and 9 and the
    # dot1dBasePortTable row of bridge port 11 removed.
    gone = tuple((*t.entry, c, i) for t in (oids.IF_TABLE, oids.IF_X_TABLE) for c in range(1, 25) for i in (3, 9))
    result = build_device(walk("hpe-procurve-516733-b21", drop=(*gone, (*oids.DOT1D_BASE_PORT.entry, 2, 11))), CTX)
    assert result.unmapped.warnings() == [
        "dot1qTpFdbTable: 8 rows on bridge ports 3 (ifIndex 3), 9 (ifIndex 9): its ifIndex is not in the ifTable; "
        "dropped",
        "dot1qTpFdbTable: 11 rows on bridge port 11: no ifIndex in dot1dBasePortTable; dropped",
    ]
    assert result.unmapped.rows == 19
    assert {str(p.identifiers["name"]) for p, _, _ in result.fdb} == {"1", "2", "4", "5", "10", "12", "13"}


def test_an_arp_binding_without_a_port_still_places_its_mac_learned_on_an_access_port() -> None:
    # A MAC the ProCurve learned on its access port 3, bound to an address in an ARP row of the
    # NSFOCUS on its missing ifIndex 21 (the row added to its real table): the binding is a
    # correct fact, so the access port still gets its SEEN_BEHIND from the forwarding table.
    row = (21, 1, 4, 60, 1, 254, 77)
    added: dict[Oid, Value] = {(*oids.IP_NET_TO_PHYSICAL.entry, 4, *row): bytes.fromhex("005056880177"),
             (*oids.IP_NET_TO_PHYSICAL.entry, 6, *row): 3, (*oids.IP_NET_TO_PHYSICAL.entry, 7, *row): 1}
    nsfocus = build_device(walk("nsfocus-ads", add=added), CTX)
    procurve = parse("hpe-procurve-516733-b21")
    assert ("60.1.254.77", "00:50:56:88:01:77") in bindings(nsfocus)
    assert {s for s in seen_behind(forwarding_relations([procurve, nsfocus], CTX)) if s[1] == "60.1.254.77"} == {
        ("3", "60.1.254.77", "fdb")}
    assert "60.1.254.77" not in {a for _, a, _ in seen_behind(nsfocus.items)}


def test_unmapped_rows_name_a_few_ports_then_count_the_rest() -> None:
    rows = UnmappedRows()
    for port in (12, 3, 40, 7, 1, 9, 30, 21, 5, 2):
        rows.add("ipNetToMediaTable", "ifIndex", port, "not in the ifTable", "kept")
    rows.add("ipNetToMediaTable", "ifIndex", 3, "not in the ifTable", "kept")
    assert rows.rows == 11
    assert rows.warnings() == ["ipNetToMediaTable: 11 rows on ifIndex 1, 2, 3, 5, 7, 9, 12, 21 (+2 more): "
                               "not in the ifTable; kept"]
