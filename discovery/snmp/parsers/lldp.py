"""LLDP-MIB: local ports and remote systems (the neighbours on each local port)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from discovery.snmp import oids
from discovery.snmp.parsers.system import chassis_id
from discovery.snmp.parsers.tables import rows
from discovery.snmp.values import Oid, Value, integer, interface_name, octets_from_index, text

# LldpPortIdSubtype
PORT_ALIAS, PORT_COMPONENT, PORT_MAC, PORT_NETWORK, PORT_IFNAME, PORT_CIRCUIT, PORT_LOCAL = 1, 2, 3, 4, 5, 6, 7
# LldpSystemCapabilitiesMap bits (first octet, MSB first)
CAP_BRIDGE = 0x20
CAP_ROUTER = 0x08


@dataclass(frozen=True)
class LocalPort:
    port_num: int
    port_id: str | None
    port_id_subtype: int | None
    descr: str | None


@dataclass(frozen=True)
class LldpNeighbor:
    local_port_num: int
    chassis_id: str | None
    port: str | None  # remote interface name, canonical
    sys_name: str | None
    sys_descr: str | None
    capabilities: int | None  # first octet of lldpRemSysCapEnabled
    management_addresses: tuple[str, ...]


def port_name(subtype: int | None, raw: Value | None, descr: str | None) -> str | None:
    """The interface a port id names: ifName as is; a MAC or a local number via its description."""
    if not isinstance(raw, bytes):
        return interface_name(descr)
    if subtype == PORT_MAC:  # a MAC names no interface we could match: use the description only
        return interface_name(descr)
    value = text(raw)
    if subtype in (PORT_IFNAME, PORT_ALIAS, PORT_COMPONENT):
        return interface_name(value) or interface_name(descr)
    if subtype == PORT_LOCAL and value is not None and value.isdigit():
        return interface_name(descr) or value
    return interface_name(value) or interface_name(descr)


def parse_local_ports(values: Mapping[Oid, Value]) -> dict[int, LocalPort]:
    out: dict[int, LocalPort] = {}
    for index, row in rows(oids.LLDP_LOC_PORT, values).items():
        if len(index) != 1:
            continue
        raw = row.get(3)
        out[index[0]] = LocalPort(
            port_num=index[0],
            port_id=text(raw) if isinstance(raw, bytes) else None,
            port_id_subtype=integer(row.get(2)),
            descr=text(row.get(4)),
        )
    return out


def _management_addresses(values: Mapping[Oid, Value]) -> dict[tuple[int, int, int], list[str]]:
    """lldpRemManAddrTable index: timeMark.localPort.remIndex.addrSubtype.len.octets."""
    out: dict[tuple[int, int, int], list[str]] = {}
    for index in rows(oids.LLDP_REM_MAN_ADDR, values):
        if len(index) < 6:
            continue
        family, length = index[3], index[4]
        raw = octets_from_index(index, 5, length)
        if raw is None:
            continue
        if family == 1 and length == 4:
            address = ".".join(str(b) for b in raw)
        elif family == 2 and length == 16:


            address = str(ipaddress.IPv6Address(raw))
        else:
            continue
        out.setdefault((index[0], index[1], index[2]), []).append(address)
    return out


def parse_neighbors(values: Mapping[Oid, Value]) -> list[LldpNeighbor]:
    """Every remote system row, sorted by local port then remote index."""
    addresses = _management_addresses(values)
    out: list[LldpNeighbor] = []
    for index, row in sorted(rows(oids.LLDP_REM, values).items()):
        if len(index) != 3:
            continue
        caps = row.get(12)
        out.append(
            LldpNeighbor(
                local_port_num=index[1],
                chassis_id=chassis_id(integer(row.get(4)), row.get(5)),
                port=port_name(integer(row.get(6)), row.get(7), text(row.get(8))),
                sys_name=text(row.get(9)),
                sys_descr=text(row.get(10)),
                capabilities=caps[0] if isinstance(caps, bytes) and caps else None,
                management_addresses=tuple(addresses.get(index, ())),
            )
        )
    return out
