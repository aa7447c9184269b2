"""SNMPv2-MIB system group, LLDP local system, and what kind of device it is."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from discovery.snmp import oids
from discovery.snmp.values import Oid, Value, hex_or_text, integer, mac, text

# Enterprise numbers (1.3.6.1.4.1.N) -> vendor, for the common network vendors.
VENDORS: dict[int, str] = {
    9: "Cisco", 11: "HPE", 2636: "Juniper", 30065: "Arista", 25506: "H3C", 12356: "Fortinet",
    25461: "Palo Alto Networks", 2620: "Check Point", 8072: "Net-SNMP", 2011: "Huawei",
    6486: "Alcatel-Lucent", 14988: "MikroTik", 1991: "Brocade", 674: "Dell", 6027: "Dell",
    4881: "Ruijie", 3902: "ZTE", 311: "Microsoft", 47196: "Cumulus", 43: "3Com", 14823: "Aruba",
}
# Enterprises whose products are firewalls, and sysDescr words that say "firewall".
FIREWALL_ENTERPRISES = frozenset({12356, 25461, 2620})
FIREWALL_WORDS = ("firewall", "fortigate", "pan-os", "adaptive security appliance", "srx")

ROUTER_WORDS = re.compile(r"\brouter\b", re.IGNORECASE)
_VERSION = re.compile(r"(?:\bversion|\bJUNOS|\brevision)\s+([\w.()\-]*\d[\w.()\-]*)", re.IGNORECASE)

CHASSIS_SUBTYPE_MAC = 4
CHASSIS_SUBTYPE_NETWORK_ADDRESS = 5


@dataclass(frozen=True)
class SystemInfo:
    sys_name: str | None
    sys_descr: str | None
    sys_object_id: str | None
    enterprise: int | None
    uptime_s: int | None
    contact: str | None
    location: str | None
    services: int | None
    chassis_id: str | None
    lldp_sys_name: str | None
    has_host_resources: bool


def chassis_id(subtype: int | None, raw: Value | None) -> str | None:
    """An LLDP chassis id as text: MAC subtype as ``aa:bb:..``, addresses as text, else text/hex."""
    if not isinstance(raw, bytes) or not raw:
        return None
    if subtype == CHASSIS_SUBTYPE_MAC:
        return mac(raw) or hex_or_text(raw)
    if subtype == CHASSIS_SUBTYPE_NETWORK_ADDRESS and len(raw) == 5 and raw[0] == 1:
        return ".".join(str(b) for b in raw[1:])
    formatted = mac(raw) if len(raw) == 6 else None
    return formatted or hex_or_text(raw)


def parse_system(scalars: Mapping[Oid, Value]) -> SystemInfo:
    """Read the system scalars (any of them may be missing)."""
    object_id = scalars.get(oids.SYS_OBJECT_ID)
    enterprise = None
    if isinstance(object_id, tuple) and len(object_id) > 6 and object_id[:6] == (1, 3, 6, 1, 4, 1):
        enterprise = object_id[6]
    ticks = integer(scalars.get(oids.SYS_UPTIME))
    subtype = integer(scalars.get(oids.LLDP_LOC_CHASSIS_SUBTYPE))
    return SystemInfo(
        sys_name=text(scalars.get(oids.SYS_NAME)),
        sys_descr=text(scalars.get(oids.SYS_DESCR)),
        sys_object_id=text(object_id) if isinstance(object_id, tuple) else None,
        enterprise=enterprise,
        uptime_s=ticks // 100 if ticks is not None else None,
        contact=text(scalars.get(oids.SYS_CONTACT)),
        location=text(scalars.get(oids.SYS_LOCATION)),
        services=integer(scalars.get(oids.SYS_SERVICES)),
        chassis_id=chassis_id(subtype, scalars.get(oids.LLDP_LOC_CHASSIS_ID)),
        lldp_sys_name=text(scalars.get(oids.LLDP_LOC_SYS_NAME)),
        has_host_resources=oids.HR_SYSTEM_UPTIME in scalars,
    )


def classify(system: SystemInfo, has_bridge_table: bool = False) -> str:
    """The CI class: firewall, switch, router, host or network_device.

    Firewalls by vendor or description first (they route too); then sysServices:
    "router" in the description -> router (an MX reports layer 2 too); layer 2 -> switch, layer 3 only -> router; a HOST-RESOURCES agent without
    forwarding -> host.
    """
    descr = (system.sys_descr or "").lower()
    if system.enterprise in FIREWALL_ENTERPRISES or any(word in descr for word in FIREWALL_WORDS):
        return "firewall"
    if ROUTER_WORDS.search(descr):
        return "router"
    services = system.services or 0
    if services & 0x02 or has_bridge_table:
        return "switch"
    if services & 0x04 and not system.has_host_resources:
        return "router"
    if system.has_host_resources:
        return "host"
    return "network_device"


def vendor(system: SystemInfo) -> str | None:
    return VENDORS.get(system.enterprise) if system.enterprise is not None else None


def software_version(system: SystemInfo) -> str | None:
    """The version sysDescr states (``Version 12.2(55)SE3``, ``JUNOS 12.3R6.6``), if any."""
    match = _VERSION.search(system.sys_descr or "")
    return match.group(1).rstrip(",.") if match else None
