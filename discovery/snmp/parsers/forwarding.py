"""ARP (ipNetToMediaTable, ipNetToPhysicalTable) and bridge forwarding (dot1d / Q-BRIDGE FDB) tables.

Rows are returned with the port they name as the device gave it (an ifIndex, or a bridge
port and the ifIndex dot1dBasePortTable maps it to, if any): whether that port is one of
the device's interfaces is the builder's question, which reports the rows it cannot place.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from discovery.snmp import oids
from discovery.snmp.parsers.ip import inet_from_index
from discovery.snmp.parsers.tables import rows
from discovery.snmp.values import Oid, Value, integer, mac, octets_from_index

ARP_INVALID = 2
# ipNetToPhysicalType: invalid(2) is a deleted row, local(5) the device's own address.
PHYSICAL_SKIPPED_TYPES = frozenset({2, 5})
# ipNetToPhysicalState: invalid(5) and incomplete(7) hold no usable binding.
PHYSICAL_SKIPPED_STATES = frozenset({5, 7})
FDB_LEARNED = 3


@dataclass(frozen=True)
class ArpEntry:
    if_index: int
    ip: str
    mac: str
    version: int = 4
    table: str = oids.IP_NET_TO_MEDIA.name


@dataclass(frozen=True)
class FdbEntry:
    mac: str
    port: int  # the bridge port (dot1dBasePort)
    if_index: int | None  # None: dot1dBasePortTable gives the port no ifIndex
    vlan: int | None
    table: str = oids.DOT1D_TP_FDB.name


def _arp_media(values: Mapping[Oid, Value]) -> list[ArpEntry]:
    out: list[ArpEntry] = []
    for index, row in sorted(rows(oids.IP_NET_TO_MEDIA, values).items()):
        raw_ip = octets_from_index(index, 1, 4)
        hw = mac(row.get(2))
        if len(index) != 5 or raw_ip is None or hw is None or integer(row.get(4)) == ARP_INVALID:
            continue
        out.append(ArpEntry(if_index=index[0], ip=str(ipaddress.IPv4Address(raw_ip)), mac=hw))
    return out


def _arp_physical(values: Mapping[Oid, Value]) -> list[ArpEntry]:
    """ipNetToPhysicalTable: index ifIndex.addrType.length.octets (IPv4 and IPv6 neighbours)."""
    out: list[ArpEntry] = []
    for index, row in sorted(rows(oids.IP_NET_TO_PHYSICAL, values).items()):
        parsed = inet_from_index(index[1:]) if len(index) > 3 else None
        hw = mac(row.get(4))
        if parsed is None or hw is None or integer(row.get(6)) in PHYSICAL_SKIPPED_TYPES \
                or integer(row.get(7)) in PHYSICAL_SKIPPED_STATES:
            continue
        out.append(ArpEntry(index[0], parsed[0], hw, parsed[1], oids.IP_NET_TO_PHYSICAL.name))
    return out


def parse_arp(values: Mapping[Oid, Value]) -> list[ArpEntry]:
    """Address-to-MAC bindings per ifIndex, from both tables (the newer one wins on the same row)."""
    found: dict[tuple[int, str], ArpEntry] = {}
    for entry in _arp_media(values) + _arp_physical(values):
        found[(entry.if_index, entry.ip)] = entry
    return list(found.values())


def bridge_ports(values: Mapping[Oid, Value]) -> dict[int, int]:
    """dot1dBasePort -> ifIndex (ports mapped to ifIndex 0, as a Juniper MX reports them all, are left out)."""
    out: dict[int, int] = {}
    for index, row in rows(oids.DOT1D_BASE_PORT, values).items():
        if_index = integer(row.get(2))
        if len(index) == 1 and if_index:
            out[index[0]] = if_index
    return out


def parse_fdb(values: Mapping[Oid, Value]) -> list[FdbEntry]:
    """Learned MACs per bridge port (Q-BRIDGE with its FDB id when present, else dot1d)."""
    ports = bridge_ports(values)
    found: dict[tuple[str, int], FdbEntry] = {}
    for table, offset in ((oids.DOT1Q_TP_FDB, 1), (oids.DOT1D_TP_FDB, 0)):
        for index, row in rows(table, values).items():
            raw = octets_from_index(index, offset, 6)
            port = integer(row.get(2))
            hw = mac(raw)
            if len(index) != 6 + offset or hw is None or not port \
                    or integer(row.get(3)) not in (None, FDB_LEARNED) or (hw, port) in found:
                continue
            found[(hw, port)] = FdbEntry(hw, port, ports.get(port), index[0] if offset else None, table.name)
    return [found[k] for k in sorted(found)]
