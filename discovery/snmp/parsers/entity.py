"""ENTITY-MIB entPhysicalTable: the chassis' serial, vendor, model and software."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from discovery.snmp import oids
from discovery.snmp.parsers.tables import rows
from discovery.snmp.values import Oid, Value, integer, text

CLASS_CHASSIS = 3
CLASS_STACK = 11


@dataclass(frozen=True)
class ChassisInfo:
    serial_number: str | None
    vendor: str | None
    model: str | None
    software_version: str | None
    description: str | None


def parse_chassis(values: Mapping[Oid, Value]) -> ChassisInfo | None:
    """The outermost chassis (containedIn 0, or the lowest-index chassis); None without one."""
    table = rows(oids.ENT_PHYSICAL, values)
    chassis = [
        (idx, row) for idx, row in sorted(table.items())
        if integer(row.get(5)) in (CLASS_CHASSIS, CLASS_STACK)
    ]
    if not chassis:
        return None
    top = [c for c in chassis if integer(c[1].get(4)) == 0] or chassis
    _, row = top[0]
    software = text(row.get(10))
    if software is None:  # often only on a module (supervisor, routing engine)
        software = next((text(r.get(10)) for _, r in sorted(table.items()) if text(r.get(10))), None)
    serial = text(row.get(11))
    return ChassisInfo(
        serial_number=serial if serial and serial.strip("0 ") else None,
        vendor=text(row.get(12)),
        model=text(row.get(13)) or text(row.get(7)),
        software_version=software,
        description=text(row.get(2)),
    )
