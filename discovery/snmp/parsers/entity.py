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


def _serial(row: Mapping[int, Value]) -> str | None:
    serial = text(row.get(11))
    return serial.strip() if serial and serial.strip("0 ") else None


def parse_chassis(values: Mapping[Oid, Value]) -> ChassisInfo | None:
    """The outermost chassis (containedIn 0, or the lowest-index chassis); None without one.

    A stack's top row (class ``stack``) usually has no serial of its own: its serial is
    that of its first member chassis with one (the lowest index), the chassis row, not
    the empty stack row.
    """
    table = rows(oids.ENT_PHYSICAL, values)
    chassis = [
        (idx, row) for idx, row in sorted(table.items())
        if integer(row.get(5)) in (CLASS_CHASSIS, CLASS_STACK)
    ]
    if not chassis:
        return None
    top = [c for c in chassis if integer(c[1].get(4)) == 0] or chassis
    _, row = top[0]
    serial = _serial(row)
    if serial is None and integer(row.get(5)) == CLASS_STACK:
        members = [r for _, r in chassis if integer(r.get(5)) == CLASS_CHASSIS and _serial(r)]
        if members:
            row = {**members[0], **{k: v for k, v in row.items() if k not in (11,) and v not in (None, b"")}}
            serial = _serial(members[0])
    software = text(row.get(10))
    if software is None:  # often only on a module (supervisor, routing engine)
        software = next((text(r.get(10)) for _, r in sorted(table.items()) if text(r.get(10))), None)
    return ChassisInfo(
        serial_number=serial,
        vendor=text(row.get(12)),
        model=text(row.get(13)) or text(row.get(7)),
        software_version=software,
        description=text(row.get(2)),
    )
