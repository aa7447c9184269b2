"""IF-MIB ifTable + ifXTable -> interfaces keyed by ifIndex."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from discovery.snmp import oids
from discovery.snmp.oids import dotted
from discovery.snmp.parsers.tables import rows
from discovery.snmp.values import Oid, Value, integer, interface_name, mac, text

IF_TYPES = {
    1: "other", 6: "ethernetCsmacd", 24: "softwareLoopback", 53: "propVirtual", 62: "fastEther",
    117: "gigabitEthernet", 131: "tunnel", 135: "l2vlan", 136: "l3ipvlan", 161: "ieee8023adLag",
    71: "ieee80211", 23: "ppp", 22: "propPointToPointSerial", 32: "frameRelay", 37: "atm",
}
STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}


@dataclass(frozen=True)
class InterfaceInfo:
    if_index: int
    name: str
    descr: str | None
    alias: str | None
    if_type: str | None
    speed_mbps: int | None
    mac: str | None
    admin_status: str | None
    oper_status: str | None
    mtu: int | None


def parse_interfaces(values: Mapping[Oid, Value], problems: list[str] | None = None) -> dict[int, InterfaceInfo]:
    """Interfaces by ifIndex. The name is ifName (else ifDescr), abbreviations expanded.

    Two rows with the same name keep the lower ifIndex under the name; the other
    gets ``name#ifIndex`` so that both remain distinct CIs.
    """
    base = rows(oids.IF_TABLE, values)
    ext = rows(oids.IF_X_TABLE, values)
    out: dict[int, InterfaceInfo] = {}
    seen: set[str] = set()
    for index in sorted(set(base) | set(ext)):
        if len(index) != 1:
            if problems is not None:
                problems.append(f"ifTable row {dotted(index)}: unparsable index, dropped")
            continue
        row, xrow = base.get(index, {}), ext.get(index, {})
        if_index = index[0]
        descr = text(row.get(2))
        name = interface_name(text(xrow.get(1)) or descr) or f"ifIndex{if_index}"
        if name in seen:
            name = f"{name}#{if_index}"
        seen.add(name)
        high = integer(xrow.get(15))
        speed = integer(row.get(5))
        if high:
            speed_mbps: int | None = high
        elif speed is not None and speed < 4294967295:
            speed_mbps = speed // 1_000_000
        else:
            speed_mbps = None
        if_type = integer(row.get(3))
        admin, oper = integer(row.get(7)), integer(row.get(8))
        out[if_index] = InterfaceInfo(
            if_index=if_index,
            name=name,
            descr=descr,
            alias=text(xrow.get(18)),
            if_type=IF_TYPES.get(if_type, str(if_type)) if if_type is not None else None,
            speed_mbps=speed_mbps,
            mac=mac(row.get(6)),
            admin_status=STATUS.get(admin) if admin is not None else None,
            oper_status=STATUS.get(oper) if oper is not None else None,
            mtu=integer(row.get(4)),
        )
    return out
