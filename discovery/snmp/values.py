"""Decoding of raw SNMP values into the forms the CMDB stores.

Walked values arrive as ``int`` (INTEGER, counters, gauges, TimeTicks), ``bytes``
(OCTET STRING, IpAddress) or ``tuple[int, ...]`` (OBJECT IDENTIFIER). These
helpers never raise on odd input: devices return garbage often enough that a
parser must degrade to "unknown", not fail the device.
"""

from __future__ import annotations

import ipaddress
import re
import string

from discovery.addressing import split_name

Oid = tuple[int, ...]
Value = int | bytes | Oid

_PRINTABLE = set(string.printable.encode()) - set(b"\x0b\x0c")
_MAC_TEXT = re.compile(r"^[0-9a-fA-F]{2}([:\-. ]?[0-9a-fA-F]{2}){5}$|^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$")


def text(value: Value | None) -> str | None:
    """An OCTET STRING as text; None if empty.

    Valid UTF-8 is decoded; anything else (GBK, Latin-1, binary) keeps ASCII as is and
    every other byte as ``\\xNN``, so the result is stable and never half-decoded.
    """
    if value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return ".".join(str(p) for p in value)
    try:
        decoded = value.decode("utf-8")
    except UnicodeDecodeError:
        decoded = value.decode("ascii", errors="backslashreplace")
    decoded = decoded.replace("\x00", "").strip()
    return decoded or None


def integer(value: Value | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def is_printable(value: bytes) -> bool:
    return all(b in _PRINTABLE for b in value)


def mac(value: Value | None) -> str | None:
    """Six octets (or a MAC written as text) -> ``aa:bb:cc:dd:ee:ff``; anything else None."""
    if not isinstance(value, bytes):
        return None
    if len(value) == 6:
        if value == b"\x00" * 6:
            return None
        return ":".join(f"{b:02x}" for b in value)
    if is_printable(value):
        candidate = value.decode("ascii").strip()
        if _MAC_TEXT.match(candidate):
            digits = re.sub(r"[^0-9a-fA-F]", "", candidate).lower()
            return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    return None


def ipv4(value: Value | None) -> str | None:
    """Four octets (IpAddress) -> dotted quad."""
    if isinstance(value, bytes) and len(value) == 4:
        return str(ipaddress.IPv4Address(value))
    return None


def inet_address(addr_type: int, raw: bytes) -> str | None:
    """InetAddress (type 1 ipv4 / 2 ipv6, 3/4 with zone index) as text."""
    try:
        if addr_type in (1, 3) and len(raw) >= 4:
            return str(ipaddress.IPv4Address(raw[:4]))
        if addr_type in (2, 4) and len(raw) >= 16:
            return str(ipaddress.IPv6Address(raw[:16]))
    except ValueError:
        return None
    return None


def hex_or_text(value: bytes) -> str:
    """An identifier that may be binary: printable text as is, otherwise hex."""
    if value and is_printable(value):
        return value.decode("ascii").strip()
    return value.hex()


def octets_from_index(index: Oid, start: int, length: int) -> bytes | None:
    """Sub-identifiers ``index[start:start+length]`` as bytes (None when out of range)."""
    part = index[start : start + length]
    if len(part) != length or any(p > 255 for p in part):
        return None
    return bytes(part)


def sys_name_key(name: str | None) -> str | None:
    """The form of a system name used as an identifier.

    CDP device ids often carry a serial in parentheses (``sw1(SSI1234)``) and case
    differs between LLDP, CDP and sysName: lower case, suffix dropped, so the three
    agree on the same device.
    """
    if not name:
        return None
    cleaned = re.sub(r"\([^)]*\)\s*$", "", name).strip().rstrip(".").lower()
    return cleaned or None


# Abbreviations used by LLDP port ids and ifName (Cisco IOS, NX-OS) -> the full form
# in ifDescr and CDP. Interfaces are identified by the expanded name everywhere.
_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("Hu", "HundredGigE"),
    ("Fo", "FortyGigabitEthernet"),
    ("Twe", "TwentyFiveGigE"),
    ("Te", "TenGigabitEthernet"),
    ("Tw", "TwoGigabitEthernet"),
    ("Gi", "GigabitEthernet"),
    ("Fa", "FastEthernet"),
    ("Eth", "Ethernet"),
    ("Et", "Ethernet"),
    ("Po", "Port-channel"),
    ("Vl", "Vlan"),
    ("Lo", "Loopback"),
    ("Tu", "Tunnel"),
    ("Se", "Serial"),
    ("Mg", "mgmt"),
)
_ABBREV_RE = re.compile(r"^([A-Za-z]+)(\d.*)$")


def interface_name(name: str | None) -> str | None:
    """Canonical interface name: ``Gi0/1`` -> ``GigabitEthernet0/1``, others unchanged."""
    if not name:
        return None
    name = name.strip()
    match = _ABBREV_RE.match(name)
    if match:
        prefix, rest = match.groups()
        for short, full in _ABBREVIATIONS:
            if prefix == short:
                return full + rest
    return name or None


def name_identifiers(name: str | None) -> dict[str, str]:
    """A system name as identifiers: the short name, and the domain and FQDN when it carries them.

    ``sw1.dc1.example.com`` -> sys_name ``sw1``, dns_domain ``dc1.example.com``, fqdn
    ``sw1.dc1.example.com``: what SSH reports for the same machine (its short hostname
    and ``hostname -f``), so an LLDP neighbour advertising its FQDN and the host's own
    scan end as one CI; a short name is unique only within its domain.
    """
    short, domain, fqdn = split_name(sys_name_key(name))
    ids: dict[str, str] = {}
    if fqdn:
        ids["fqdn"] = fqdn
    if short:
        ids["sys_name"] = short
        if domain:
            ids["dns_domain"] = domain
    return ids
