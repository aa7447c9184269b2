"""CISCO-CDP-MIB cdpCacheTable: neighbours by local ifIndex."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from discovery.snmp import oids
from discovery.snmp.parsers.tables import rows
from discovery.snmp.values import Oid, Value, integer, interface_name, is_printable, mac, text

ADDRESS_IP = 1


@dataclass(frozen=True)
class CdpNeighbor:
    if_index: int
    device_id: str | None
    chassis_id: str | None  # when the device id is a binary MAC (non-Cisco CDP speakers)
    port: str | None
    platform: str | None
    version: str | None
    address: str | None


def parse_cdp(values: Mapping[Oid, Value]) -> list[CdpNeighbor]:
    """One record per cache row (index ifIndex.deviceIndex)."""
    out: list[CdpNeighbor] = []
    for index, row in sorted(rows(oids.CDP_CACHE, values).items()):
        if len(index) != 2:
            continue
        raw = row.get(4)
        address = None
        if integer(row.get(3)) == ADDRESS_IP and isinstance(raw, bytes) and len(raw) == 4:
            address = str(ipaddress.IPv4Address(raw))
        version = text(row.get(5))
        raw_id, raw_port = row.get(6), row.get(7)
        binary_id = isinstance(raw_id, bytes) and len(raw_id) == 6 and not is_printable(raw_id)
        out.append(
            CdpNeighbor(
                if_index=index[0],
                device_id=None if binary_id else text(raw_id),
                chassis_id=mac(raw_id) if binary_id else None,
                port=interface_name(text(raw_port)) if isinstance(raw_port, bytes) and is_printable(raw_port) else None,
                platform=text(row.get(8)),
                version=version.splitlines()[0] if version else None,
                address=address,
            )
        )
    return out
