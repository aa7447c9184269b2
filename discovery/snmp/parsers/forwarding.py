"""ARP (ipNetToMediaTable) and bridge forwarding (dot1d / Q-BRIDGE FDB) tables."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from discovery.snmp import oids
from discovery.snmp.parsers.tables import rows
from discovery.snmp.values import Oid, Value, integer, mac, octets_from_index

ARP_INVALID = 2
FDB_LEARNED = 3


@dataclass(frozen=True)
class ArpEntry:
    if_index: int
    ip: str
    mac: str


@dataclass(frozen=True)
class FdbEntry:
    mac: str
    if_index: int
    vlan: int | None


def parse_arp(values: Mapping[Oid, Value]) -> list[ArpEntry]:
    out: list[ArpEntry] = []
    for index, row in sorted(rows(oids.IP_NET_TO_MEDIA, values).items()):
        raw_ip = octets_from_index(index, 1, 4)
        hw = mac(row.get(2))
        if len(index) != 5 or raw_ip is None or hw is None or integer(row.get(4)) == ARP_INVALID:
            continue
        out.append(ArpEntry(if_index=index[0], ip=str(ipaddress.IPv4Address(raw_ip)), mac=hw))
    return out


def bridge_ports(values: Mapping[Oid, Value]) -> dict[int, int]:
    """dot1dBasePort -> ifIndex."""
    out: dict[int, int] = {}
    for index, row in rows(oids.DOT1D_BASE_PORT, values).items():
        if_index = integer(row.get(2))
        if len(index) == 1 and if_index:
            out[index[0]] = if_index
    return out


def parse_fdb(values: Mapping[Oid, Value]) -> list[FdbEntry]:
    """Learned MACs per port (Q-BRIDGE with VLAN when present, else dot1d)."""
    ports = bridge_ports(values)
    found: dict[tuple[str, int], FdbEntry] = {}
    for index, row in rows(oids.DOT1Q_TP_FDB, values).items():
        raw = octets_from_index(index, 1, 6)
        port = integer(row.get(2))
        if len(index) != 7 or raw is None or not port or integer(row.get(3)) not in (None, FDB_LEARNED):
            continue
        hw = mac(raw)
        if hw and port in ports:
            found[(hw, ports[port])] = FdbEntry(hw, ports[port], index[0])
    for index, row in rows(oids.DOT1D_TP_FDB, values).items():
        raw = octets_from_index(index, 0, 6)
        port = integer(row.get(2))
        if len(index) != 6 or raw is None or not port or integer(row.get(3)) not in (None, FDB_LEARNED):
            continue
        hw = mac(raw)
        if hw and port in ports and (hw, ports[port]) not in found:
            found[(hw, ports[port])] = FdbEntry(hw, ports[port], None)
    return [found[k] for k in sorted(found)]
