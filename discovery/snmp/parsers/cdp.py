"""CISCO-CDP-MIB cdpCacheTable: neighbours by local ifIndex."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from discovery.snmp import oids
from discovery.snmp.oids import dotted
from discovery.snmp.parsers.tables import rows
from discovery.snmp.values import Oid, Value, integer, interface_name, is_printable, mac, text

ADDRESS_IP = 1
# NX-OS and UCS fabric interconnects send ``name(SERIAL)`` as their device id: the
# chassis serial number in parentheses (e.g. ``N5K-1(SSI183706KP)``). A serial is
# letters and digits, both present, 8 to 20 characters.
_SERIAL_SUFFIX = re.compile(r"^(?P<name>.+?)\s*\((?P<serial>(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{8,20})\)$")


@dataclass(frozen=True)
class CdpNeighbor:
    if_index: int
    device_id: str | None
    chassis_id: str | None  # when the device id is a binary MAC (non-Cisco CDP speakers)
    port: str | None
    platform: str | None
    version: str | None
    address: str | None
    serial_number: str | None = None  # from a ``name(SERIAL)`` device id


def device_serial(device_id: str | None) -> str | None:
    """The serial number a ``name(SERIAL)`` CDP device id carries, else None."""
    match = _SERIAL_SUFFIX.match(device_id.strip()) if device_id else None
    return match.group("serial").upper() if match else None


def parse_cdp(values: Mapping[Oid, Value], problems: list[str] | None = None) -> list[CdpNeighbor]:
    """One record per cache row (index ifIndex.deviceIndex); unreadable rows named in ``problems``."""
    problems = problems if problems is not None else []
    out: list[CdpNeighbor] = []
    for index, row in sorted(rows(oids.CDP_CACHE, values).items()):
        if len(index) != 2:
            problems.append(f"cdpCacheTable row {dotted(index)}: unparsable index, dropped")
            continue
        raw = row.get(4)
        address = None
        if integer(row.get(3)) == ADDRESS_IP and isinstance(raw, bytes) and len(raw) == 4:
            address = str(ipaddress.IPv4Address(raw))
        version = text(row.get(5))
        raw_id, raw_port = row.get(6), row.get(7)
        binary_id = isinstance(raw_id, bytes) and len(raw_id) == 6 and not is_printable(raw_id)
        device_id = None if binary_id else text(raw_id)
        out.append(
            CdpNeighbor(
                if_index=index[0],
                device_id=device_id,
                chassis_id=mac(raw_id) if binary_id else None,
                port=interface_name(text(raw_port)) if isinstance(raw_port, bytes) and is_printable(raw_port) else None,
                platform=text(row.get(8)),
                version=version.splitlines()[0] if version else None,
                address=address,
                serial_number=device_serial(device_id),
            )
        )
    return out
