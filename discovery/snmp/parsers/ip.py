"""IP-MIB addresses: the old ipAddrTable and the new ipAddressTable (IPv4 and IPv6)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from discovery.snmp import oids
from discovery.snmp.oids import dotted
from discovery.snmp.parsers.tables import rows
from discovery.snmp.values import Oid, Value, integer, octets_from_index

ADDRESS_TYPE_UNICAST = 1


@dataclass(frozen=True)
class AddressInfo:
    address: str
    prefix_length: int | None
    if_index: int | None
    version: int

    @property
    def network(self) -> str | None:
        if self.prefix_length is None:
            return None
        return str(ipaddress.ip_interface(f"{self.address}/{self.prefix_length}").network)

    @property
    def interesting(self) -> bool:
        """Loopback, link-local, unspecified and multicast addresses are not CIs."""
        ip = ipaddress.ip_address(self.address)
        return not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast)


def _mask_length(mask: Value | None) -> int | None:
    if isinstance(mask, bytes) and len(mask) == 4:
        try:
            return ipaddress.IPv4Network(f"0.0.0.0/{ipaddress.IPv4Address(mask)}").prefixlen
        except ValueError:
            return None
    return None


def inet_from_index(index: Oid) -> tuple[str, int] | None:
    """``type.len.o1...on`` (InetAddress index) -> (address, version)."""
    if len(index) < 2:
        return None
    addr_type, length = index[0], index[1]
    raw = octets_from_index(index, 2, length)
    if raw is None:
        return None
    try:
        if addr_type in (1, 3) and length >= 4:
            return str(ipaddress.IPv4Address(raw[:4])), 4
        if addr_type in (2, 4) and length >= 16:
            return str(ipaddress.IPv6Address(raw[:16])), 6
    except ValueError:
        return None
    return None


def parse_addresses(values: Mapping[Oid, Value], problems: list[str] | None = None) -> list[AddressInfo]:
    """Addresses from both tables, the new one winning; sorted, de-duplicated.

    Rows whose index is not an address are named in ``problems``.
    """
    problems = problems if problems is not None else []
    found: dict[str, AddressInfo] = {}
    for index, row in sorted(rows(oids.IP_ADDR_TABLE, values).items()):
        raw = octets_from_index(index, 0, 4)
        if raw is None or len(index) != 4:
            problems.append(f"ipAddrTable row {dotted(index)}: unparsable index, dropped")
            continue
        address = str(ipaddress.IPv4Address(raw))
        found[address] = AddressInfo(address, _mask_length(row.get(3)), integer(row.get(2)), 4)
    for index, row in sorted(rows(oids.IP_ADDRESS_TABLE, values).items()):
        parsed = inet_from_index(index)
        if parsed is None:
            if not index or index[0] not in (1, 2, 3, 4):  # another address family (dns, unknown) is no error
                continue
            problems.append(f"ipAddressTable row {dotted(index)}: unparsable index, dropped")
            continue
        address, version = parsed
        addr_type = integer(row.get(4))
        if addr_type is not None and addr_type != ADDRESS_TYPE_UNICAST:
            continue
        prefix = row.get(5)
        prefix_length = None
        # ipAddressPrefix points at an ipAddressPrefixTable row; its last sub-id is the length.
        if isinstance(prefix, tuple) and len(prefix) > 2 and prefix != (0, 0):
            prefix_length = prefix[-1] if prefix[-1] <= (32 if version == 4 else 128) else None
        old = found.get(address)
        if prefix_length is None and old is not None:
            prefix_length = old.prefix_length
        found[address] = AddressInfo(address, prefix_length, integer(row.get(3)), version)
    return [found[a] for a in sorted(found, key=lambda a: (":" in a, ipaddress.ip_address(a)))]
