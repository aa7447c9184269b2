"""NX-OS advertises each port's MAC as its LLDP chassis id: a Nexus seen by LLDP is still one CI,
joined on evidence and never on a name alone (real recordings, exact sets, a real SQLite store).

The Cisco Nexus 5548 (``cisco-n5000``, chassis id 8c:60:4f:19:16:7c) is seen by the HPE ProCurve
(``hpe-procurve-516733-b21``) on its port 17 under chassis id 8c:60:4f:19:16:3a, which is the
ifPhysAddress of the Nexus's Ethernet1/19, with port id ``Eth1/19``: two facts of the same
advertisement that name the same interface of one scanned device. The recordings' own sysNames
are anonymised (``DUMSYS-52``), so no name joins them here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cmdb.observation import Observation
from discovery.snmp import oids
from discovery.snmp.build import BuildContext, DeviceResult, build_device
from discovery.snmp.links import link_relations
from discovery.snmp.values import Oid, Value
from tests.builders import Harness
from tests.unit.discovery.snmp.test_snmp_links import NEXUS, PROCURVE, connects, walk
from tests.unit.discovery.snmp.test_snmp_recordings import parse

CTX = BuildContext(scope="recordings", observed_at=1)
PORT_MAC = "8c:60:4f:19:16:3a"  # the Nexus's Ethernet1/19
REM_17_1 = (0, 17, 1)  # the ProCurve's lldpRemTable row of the Nexus under the port MAC
REM_17_2 = (0, 17, 2)  # its second row, under "NWPU-CA-5548-01(SSI183706KP)"


def rem(column: int, row: tuple[int, ...]) -> tuple[int, ...]:
    return (*oids.LLDP_REM.entry, column, *row)


def whole_row(row: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Every column of an lldpRemTable row, and its management addresses."""
    return (*(rem(c, row) for c in oids.LLDP_REM.columns), (*oids.LLDP_REM_MAN_ADDR.entry, 3, *row))


def procurve_lldp_only(drop: tuple[tuple[int, ...], ...] = (), add: dict[Any, Any] | None = None) -> DeviceResult:
    """The ProCurve without its CDP cache (so nothing but LLDP tells who is on port 17)."""
    return build_device(walk("hpe-procurve-516733-b21", drop=(oids.CDP_CACHE.entry, *drop), add=add), CTX)


def heard_chassis_ids(items: list[Any]) -> set[str]:
    return {str(i.identifiers["chassis_id"]) for i in items if isinstance(i, Observation)
            and i.ci_class == "network_device" and "chassis_id" in i.identifiers}


def test_a_port_mac_chassis_id_with_the_port_it_names_joins_the_scanned_nexus_without_cdp(tmp_path: Path) -> None:
    nexus, procurve = parse("cisco-n5000"), procurve_lldp_only(drop=whole_row(REM_17_2))
    assert PORT_MAC in heard_chassis_ids(procurve.items)
    items, _ = link_relations([nexus, procurve], CTX)
    assert {c for c in connects(items) if {c[0][0], c[1][0]} == {NEXUS, PROCURVE}} == {
        ((NEXUS, "Ethernet1/19"), (PROCURVE, "17"), "lldp", None), ((NEXUS, None), (PROCURVE, None), "lldp", None)}
    # the hearsay under the port's MAC is taken out: it would be refused by the Nexus's own chassis id
    assert PORT_MAC not in heard_chassis_ids(procurve.items)

    harness = Harness(tmp_path / "store.sqlite")
    harness.run([*nexus.items, *procurve.items, *items], source="snmp", scope="recordings")
    devices = {(c.ci_class, c.attributes.get("chassis_id"), c.attributes.get("serial_number"))
               for c in harness.all_cis() if harness.schema.is_a(c.ci_class, "device")
               and (str(c.attributes.get("chassis_id", "")).startswith("8c:60:4f:19:16")
                    or c.attributes.get("serial_number") == "SSI183706KP")}
    assert devices == {("switch", "8c:60:4f:19:16:7c", "SSI183706KP")}  # one CI, no second one for the port


def test_a_port_mac_whose_port_id_names_another_interface_joins_nothing() -> None:
    # The same row with its port id changed to Eth1/20: the MAC and the port disagree.
    procurve = procurve_lldp_only(drop=(rem(7, REM_17_1),), add={rem(7, REM_17_1): b"Eth1/20"})
    items, _ = link_relations([parse("cisco-n5000"), procurve], CTX)
    row = [c for c in connects(items) if c[2] == "lldp" and dict(c[1][0]).get("chassis_id") == PORT_MAC]
    assert {(c[0][1], c[1][1]) for c in row} == {("17", "Ethernet1/20"), (None, None)}
    assert PORT_MAC in heard_chassis_ids(procurve.items)


def test_a_name_never_joins_a_neighbour_whose_chassis_id_contradicts_the_scanned_device() -> None:
    # The Arista renamed "h3c-1": the Nexus's LLDP neighbour h3c-1 (chassis 58:6a:b1:4f:3d:91) is
    # not the Arista (chassis 00:1c:73:b4:fd:69, no interface with that MAC), whatever the name says.
    arista = build_device(walk("arista-dcs-7150s-52-cl", drop=(oids.SYS_NAME,), add={oids.SYS_NAME: b"h3c-1"}), CTX)
    assert arista.key == "h3c-1"
    items, _ = link_relations([parse("cisco-n5000"), arista], CTX)
    far = {c[1][0] for c in connects(items) if c[0] == (NEXUS, "Ethernet1/1")}
    assert far == {(("chassis_id", "58:6a:b1:4f:3d:91"), ("sys_name", "h3c-1"))}


def test_a_name_two_scanned_devices_share_is_decided_by_the_management_address_sent() -> None:
    # Row 17.1 without its chassis id: only the name NWPU-CA-5548-01 and a management address.
    # Two scanned devices are given that name; the address 222.24.192.252 is the Nexus's own.
    # The Nexus's own neighbour tables are left out: only the ProCurve reports the link.
    named: dict[Oid, Value] = {oids.SYS_NAME: b"NWPU-CA-5548-01"}
    nexus = build_device(walk("cisco-n5000", drop=(oids.SYS_NAME, oids.LLDP_REM.entry, oids.CDP_CACHE.entry),
                              add=named), CTX)
    arista = build_device(walk("arista-dcs-7150s-52-cl", drop=(oids.SYS_NAME,), add=named), CTX)
    mgmt = (*oids.LLDP_REM_MAN_ADDR.entry, 3, *REM_17_1)
    without_chassis = (rem(4, REM_17_1), rem(5, REM_17_1), *whole_row(REM_17_2), mgmt)

    def far_ends(management: bytes) -> set[Any]:
        procurve = procurve_lldp_only(drop=without_chassis, add={(*mgmt, 1, 4, *management): 2})
        items, _ = link_relations([nexus, arista, procurve], CTX)
        return {(set(c[:2]) - {(PROCURVE, "17")}).pop()[0] for c in connects(items) if (PROCURVE, "17") in c[:2]}

    nexus_ids = tuple(sorted(nexus.ref.identifiers.items())) if nexus.ref else ()
    assert far_ends(bytes([222, 24, 192, 252])) == {nexus_ids}
    # an address neither holds leaves the name ambiguous: the link stays on the heard-of device
    assert far_ends(bytes([10, 40, 1, 19])) == {(("sys_name", "nwpu-ca-5548-01"),)}


def test_a_peer_cdp_knows_by_one_serial_and_lldp_by_three_chassis_ids_is_one_ci(tmp_path: Path) -> None:
    # The Nexus 5548-01 sees its peer NWPU-CA-5548-02 on mgmt0, Ethernet1/21 and Ethernet1/22: by LLDP
    # under three chassis ids (8c:60:4f:19:1b:c1, :dc, :dd, the peer's ports), by CDP as one serial.
    nexus = parse("cisco-n5000")
    peer = {(n.protocol, n.local_interface, tuple(sorted(n.ref.identifiers.items()))) for n in nexus.neighbors
            if n.key == "nwpu-ca-5548-02"}
    ids = (("serial_number", "SSI183706KA"), ("sys_name", "nwpu-ca-5548-02"))
    assert peer == {(proto, port, ids) for proto in ("lldp", "cdp") for port in ("mgmt0", "Ethernet1/21", "Ethernet1/22")}
    harness = Harness(tmp_path / "store.sqlite")
    harness.run([*nexus.items, *link_relations([nexus], CTX)[0]], source="snmp", scope="recordings")
    assert [(c.ci_class, c.attributes.get("serial_number")) for c in harness.all_cis()
            if harness.schema.is_a(c.ci_class, "device") and "5548-02" in str(c.attributes.get("name"))] == [
        ("network_device", "SSI183706KA")]
