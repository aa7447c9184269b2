"""LLDP-MIB: local ports and remote systems (the neighbours on each local port)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from discovery.snmp import oids
from discovery.snmp.oids import dotted
from discovery.snmp.parsers.system import chassis_id
from discovery.snmp.parsers.tables import rows
from discovery.snmp.values import (
    Oid,
    Value,
    hex_or_text,
    integer,
    interface_name,
    is_printable,
    mac,
    octets_from_index,
    text,
)

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
    port: str | None  # remote interface name, canonical, when the port id is itself a name
    port_id: str | None  # the port id as sent (a MAC in aa:bb:.. form), whatever its subtype
    port_id_subtype: int | None
    sys_name: str | None
    sys_descr: str | None
    capabilities: int | None  # first octet of lldpRemSysCapEnabled
    management_addresses: tuple[str, ...]


# Subtypes whose id is an interface's name (ifName, entPhysicalAlias). An interfaceAlias
# (ifAlias) is a free-text description, a local number means something only to the
# sender, a MAC or an address names no interface: those are kept as port ids, and
# joined to an interface only through the neighbour's own tables when it is scanned.
NAMING_SUBTYPES = frozenset({PORT_IFNAME, PORT_COMPONENT})


def port_id_text(subtype: int | None, raw: Value | None) -> str | None:
    """A port id as text: a MAC subtype as ``aa:bb:..``, anything else as sent."""
    if not isinstance(raw, bytes) or not raw:
        return None
    if subtype == PORT_MAC:
        return mac(raw) or hex_or_text(raw)
    return text(raw) if is_printable(raw) or len(raw) != 6 else hex_or_text(raw)


def port_name(subtype: int | None, raw: Value | None) -> str | None:
    """The interface a port id names by itself, or None (never the port's description).

    A local id that is a number (Juniper sends its ifIndex) names nothing outside its
    device; NX-OS sends its interface names (``Eth1/21``) under the same subtype.
    """
    if not isinstance(raw, bytes):
        return None
    value = text(raw)
    if subtype == PORT_LOCAL:
        return None if value is None or value.isdigit() or not value.isprintable() else interface_name(value)
    return interface_name(value) if subtype in NAMING_SUBTYPES else None


def parse_local_ports(values: Mapping[Oid, Value]) -> dict[int, LocalPort]:
    out: dict[int, LocalPort] = {}
    for index, row in rows(oids.LLDP_LOC_PORT, values).items():
        if len(index) != 1:
            continue
        subtype = integer(row.get(2))
        out[index[0]] = LocalPort(
            port_num=index[0],
            port_id=port_id_text(subtype, row.get(3)),
            port_id_subtype=subtype,
            descr=text(row.get(4)),
        )
    return out


def _management_addresses(
    values: Mapping[Oid, Value], problems: list[str]
) -> dict[tuple[int, int, int], list[str]]:
    """lldpRemManAddrTable index: timeMark.localPort.remIndex.addrSubtype.len.octets."""
    out: dict[tuple[int, int, int], list[str]] = {}
    for index in sorted(rows(oids.LLDP_REM_MAN_ADDR, values)):
        raw = octets_from_index(index, 5, index[4]) if len(index) >= 6 else None
        if raw is None:
            problems.append(f"lldpRemManAddrTable row {dotted(index)}: unparsable index, dropped")
            continue
        family, length = index[3], index[4]
        if family == 1 and length == 4:
            address = ".".join(str(b) for b in raw)
        elif family == 2 and length == 16:
            address = str(ipaddress.IPv6Address(raw))
        else:
            continue  # another address family (e.g. a MAC, subtype 6): not an IP to crawl
        out.setdefault((index[0], index[1], index[2]), []).append(address)
    return out


def parse_neighbors(values: Mapping[Oid, Value], problems: list[str] | None = None) -> list[LldpNeighbor]:
    """Every remote system row, sorted by local port then remote index.

    Rows that cannot be read (an index of the wrong shape) are named in ``problems``.
    """
    problems = problems if problems is not None else []
    addresses = _management_addresses(values, problems)
    out: list[LldpNeighbor] = []
    for index, row in sorted(rows(oids.LLDP_REM, values).items()):
        if len(index) != 3:
            problems.append(f"lldpRemTable row {dotted(index)}: unparsable index, dropped")
            continue
        caps = row.get(12)
        subtype = integer(row.get(6))
        out.append(
            LldpNeighbor(
                local_port_num=index[1],
                chassis_id=chassis_id(integer(row.get(4)), row.get(5)),
                port=port_name(subtype, row.get(7)),
                port_id=port_id_text(subtype, row.get(7)),
                port_id_subtype=subtype,
                sys_name=text(row.get(9)),
                sys_descr=text(row.get(10)),
                capabilities=caps[0] if isinstance(caps, bytes) and caps else None,
                management_addresses=tuple(addresses.get(index, ())),
            )
        )
    return out
