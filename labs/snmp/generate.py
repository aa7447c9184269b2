"""Write the lab topology as consistent ``.snmprec`` files (LLDP and CDP on both ends).

Run ``python -m labs.snmp.generate`` after editing ``DEVICES``/``LINKS``.
Each device listens on its own 127.0.0.x address (``ADDRESSES``); LLDP and CDP
advertise those addresses as management addresses, so a crawl stays on loopback.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from discovery.snmp import snmprec
from discovery.snmp.values import Oid

LAB_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Port:
    if_index: int
    descr: str  # ifDescr (full name)
    name: str  # ifName (often abbreviated)
    mac: str
    alias: str = ""
    speed_mbps: int = 1000
    if_type: int = 6


@dataclass
class Device:
    name: str  # sysName
    address: str  # where snmpsim serves it
    descr: str
    object_id: str
    services: int
    serial: str
    chassis_mac: str
    model: str
    vendor: str
    software: str
    ports: list[Port]
    addresses: list[tuple[str, int, int]]  # (address, prefix, ifIndex)
    cdp_id: str | None = None  # how it names itself in CDP (None: speaks no CDP)
    new_ip_mib: bool = False
    arp: list[tuple[int, str, str]] = field(default_factory=list)  # (ifIndex, ip, mac)
    fdb: list[tuple[str, int, int]] = field(default_factory=list)  # (mac, ifIndex, vlan)


def _mac(i: int, j: int) -> str:
    return f"00:1a:2b:{i:02x}:00:{j:02x}"


def _ports(i: int, prefix_full: str, prefix_short: str, numbers: list[str]) -> list[Port]:
    return [
        Port(k + 1, f"{prefix_full}{n}", f"{prefix_short}{n}", _mac(i, k + 1)) for k, n in enumerate(numbers)
    ]


DEVICES: dict[str, Device] = {
    "core1": Device(
        "core1.lab.example", "127.0.0.11",
        "Cisco IOS Software, C9500 Software (CAT9K_IOSXE), Version 17.9.4, RELEASE SOFTWARE (fc5)",
        "1.3.6.1.4.1.9.1.2494", 6, "FCW2233L0AA", "00:1a:2b:01:00:00", "C9500-24Y4C", "Cisco", "17.9.4",
        _ports(1, "GigabitEthernet1/0/", "Gi1/0/", ["1", "2", "3", "4", "5"]),
        [("10.0.0.1", 24, 1), ("10.0.10.1", 24, 5)], cdp_id="core1.lab.example",
        arp=[(5, "10.0.10.50", "00:50:56:aa:00:50"), (5, "10.0.10.51", "00:50:56:aa:00:51")],
    ),
    "dist1": Device(
        "dist1.lab.example", "127.0.0.12",
        "Cisco IOS Software, C3850 Software (CAT3K_CAA-UNIVERSALK9-M), Version 16.12.4, RELEASE SOFTWARE",
        "1.3.6.1.4.1.9.1.1745", 6, "FOC1901X0BB", "00:1a:2b:02:00:00", "WS-C3850-24T", "Cisco", "16.12.4",
        _ports(2, "GigabitEthernet0/", "Gi0/", ["1", "2", "3"]),
        [("10.0.0.2", 24, 1)], cdp_id="DIST1.lab.example(FOC1901X0BB)",
    ),
    "dist2": Device(
        "dist2.lab.example", "127.0.0.13",
        "Cisco IOS Software, C3850 Software (CAT3K_CAA-UNIVERSALK9-M), Version 16.12.4, RELEASE SOFTWARE",
        "1.3.6.1.4.1.9.1.1745", 6, "FOC1901X0CC", "00:1a:2b:03:00:00", "WS-C3850-24T", "Cisco", "16.12.4",
        _ports(3, "GigabitEthernet0/", "Gi0/", ["1", "2", "3"]),
        [("10.0.0.3", 24, 1)], cdp_id="dist2.lab.example",
    ),
    "acc1": Device(
        "acc1.lab.example", "127.0.0.14",
        "Arista Networks EOS version 4.28.3M running on an Arista Networks DCS-7050SX-64",
        "1.3.6.1.4.1.30065.1.3011.7050.1958.64", 6, "JPE17000AA1", "00:1a:2b:04:00:00", "DCS-7050SX-64",
        "Arista", "4.28.3M", _ports(4, "Ethernet", "Ethernet", ["1", "2", "3"]),
        [("10.0.0.4", 24, 1)], cdp_id="acc1.lab.example",
        fdb=[("00:50:56:aa:00:50", 2, 10), ("00:50:56:aa:00:51", 3, 10), ("00:1a:2b:02:00:02", 1, 10)],
    ),
    "acc2": Device(
        "acc2.lab.example", "127.0.0.15",
        "Arista Networks EOS version 4.28.3M running on an Arista Networks DCS-7050SX-64",
        "1.3.6.1.4.1.30065.1.3011.7050.1958.64", 6, "JPE17000AA2", "00:1a:2b:05:00:00", "DCS-7050SX-64",
        "Arista", "4.28.3M", _ports(5, "Ethernet", "Ethernet", ["1", "2"]),
        [("10.0.0.5", 24, 1)], cdp_id="acc2.lab.example",
    ),
    "rtr1": Device(
        "rtr1.lab.example", "127.0.0.16",
        "Juniper Networks, Inc. mx204 internet router, kernel JUNOS 21.4R3.15",
        "1.3.6.1.4.1.2636.1.1.1.2.150", 76, "JN1234567AB", "00:1a:2b:06:00:00", "MX204", "Juniper", "21.4R3.15",
        _ports(6, "xe-0/0/", "xe-0/0/", ["0", "1"]),
        [("10.0.0.6", 24, 1), ("198.51.100.2", 30, 2), ("2001:db8::6", 64, 1)], cdp_id="rtr1.lab.example",
        new_ip_mib=True,
    ),
    "fw1": Device(
        "fw1.lab.example", "127.0.0.17",
        "FortiGate-100F v7.2.5,build1517,230606 (GA)",
        "1.3.6.1.4.1.12356.101.1.1004", 78, "FG100FTK20000001", "00:1a:2b:07:00:00", "FortiGate-100F",
        "Fortinet", "7.2.5", _ports(7, "port", "port", ["1", "2"]),
        [("10.0.0.7", 24, 1), ("192.0.2.1", 24, 2)], cdp_id="fw1.lab.example",
    ),
}

# (device, ifIndex) <-> (device, ifIndex); every link is in LLDP and CDP on both ends.
LINKS: list[tuple[tuple[str, int], tuple[str, int]]] = [
    (("core1", 1), ("dist1", 1)),
    (("core1", 2), ("dist2", 1)),
    (("core1", 3), ("rtr1", 1)),
    (("core1", 4), ("fw1", 1)),
    (("dist1", 2), ("acc1", 1)),
    (("dist2", 2), ("acc2", 1)),
    (("dist1", 3), ("dist2", 3)),
]
# Seen by LLDP only (an access point that answers no SNMP): (device, ifIndex, name, chassis, port)
LLDP_ONLY: list[tuple[str, int, str, str, str]] = [
    ("acc2", 2, "ap1.lab.example", "00:1a:2b:99:00:00", "eth0"),
]

SYS = "1.3.6.1.2.1.1"
LLDP = "1.0.8802.1.1.2.1"
CDP = "1.3.6.1.4.1.9.9.23.1.2.1.1"


def _o(text: str) -> Oid:
    return tuple(int(p) for p in text.split("."))


def _b(mac: str) -> bytes:
    return bytes(int(x, 16) for x in mac.split(":"))


def records(key: str) -> list[tuple[Oid, object]]:
    """Every record of one device."""
    d = DEVICES[key]
    r: list[tuple[Oid, object]] = [
        (_o(f"{SYS}.1.0"), d.descr.encode()), (_o(f"{SYS}.2.0"), _o(d.object_id)),
        (_o(f"{SYS}.3.0"), ("67", 8640000 + 100 * len(key))), (_o(f"{SYS}.4.0"), b"noc@lab.example"),
        (_o(f"{SYS}.5.0"), d.name.encode()), (_o(f"{SYS}.6.0"), b"Lab rack A1"), (_o(f"{SYS}.7.0"), d.services),
        # ENTITY-MIB: chassis 1, a module 2 inside it
        (_o("1.3.6.1.2.1.47.1.1.1.1.2.1"), f"{d.vendor} {d.model} chassis".encode()),
        (_o("1.3.6.1.2.1.47.1.1.1.1.4.1"), 0), (_o("1.3.6.1.2.1.47.1.1.1.1.5.1"), 3),
        (_o("1.3.6.1.2.1.47.1.1.1.1.7.1"), b"Chassis"), (_o("1.3.6.1.2.1.47.1.1.1.1.10.1"), d.software.encode()),
        (_o("1.3.6.1.2.1.47.1.1.1.1.11.1"), d.serial.encode()), (_o("1.3.6.1.2.1.47.1.1.1.1.12.1"), d.vendor.encode()),
        (_o("1.3.6.1.2.1.47.1.1.1.1.13.1"), d.model.encode()),
        (_o("1.3.6.1.2.1.47.1.1.1.1.2.2"), b"Power supply"), (_o("1.3.6.1.2.1.47.1.1.1.1.4.2"), 1),
        (_o("1.3.6.1.2.1.47.1.1.1.1.5.2"), 6), (_o("1.3.6.1.2.1.47.1.1.1.1.11.2"), b"PSU0001"),
        # LLDP local system
        (_o(f"{LLDP}.3.1.0"), 4), (_o(f"{LLDP}.3.2.0"), _b(d.chassis_mac)), (_o(f"{LLDP}.3.3.0"), d.name.encode()),
    ]
    for p in d.ports:
        i = p.if_index
        r += [
            (_o(f"1.3.6.1.2.1.2.2.1.2.{i}"), p.descr.encode()), (_o(f"1.3.6.1.2.1.2.2.1.3.{i}"), p.if_type),
            (_o(f"1.3.6.1.2.1.2.2.1.4.{i}"), 1500), (_o(f"1.3.6.1.2.1.2.2.1.5.{i}"), ("66", p.speed_mbps * 1000000)),
            (_o(f"1.3.6.1.2.1.2.2.1.6.{i}"), _b(p.mac)), (_o(f"1.3.6.1.2.1.2.2.1.7.{i}"), 1),
            (_o(f"1.3.6.1.2.1.2.2.1.8.{i}"), 1),
            (_o(f"1.3.6.1.2.1.31.1.1.1.1.{i}"), p.name.encode()), (_o(f"1.3.6.1.2.1.31.1.1.1.15.{i}"), ("66", p.speed_mbps)),
            (_o(f"1.3.6.1.2.1.31.1.1.1.18.{i}"), p.alias.encode()),
            (_o(f"{LLDP}.3.7.1.2.{i}"), 5), (_o(f"{LLDP}.3.7.1.3.{i}"), p.name.encode()),
            (_o(f"{LLDP}.3.7.1.4.{i}"), p.descr.encode()),
            (_o(f"1.3.6.1.2.1.17.1.4.1.2.{i}"), i),
        ]
    for address, prefix, if_index in d.addresses:
        ip = ipaddress.ip_address(address)
        if ip.version == 4 and not d.new_ip_mib:
            idx = address
            mask = str(ipaddress.ip_network(f"0.0.0.0/{prefix}").netmask)
            r += [(_o(f"1.3.6.1.2.1.4.20.1.2.{idx}"), if_index), (_o(f"1.3.6.1.2.1.4.20.1.3.{idx}"), ("64", mask))]
        else:
            t, n = (1, 4) if ip.version == 4 else (2, 16)
            idx = f"{t}.{n}." + ".".join(str(b) for b in ip.packed)
            r += [
                (_o(f"1.3.6.1.2.1.4.34.1.3.{idx}"), if_index), (_o(f"1.3.6.1.2.1.4.34.1.4.{idx}"), 1),
                (_o(f"1.3.6.1.2.1.4.34.1.5.{idx}"), _o(f"1.3.6.1.2.1.4.32.1.5.{if_index}.{idx}.{prefix}")),
            ]
    for if_index, ip_text, mac in d.arp:
        r += [(_o(f"1.3.6.1.2.1.4.22.1.2.{if_index}.{ip_text}"), _b(mac)), (_o(f"1.3.6.1.2.1.4.22.1.4.{if_index}.{ip_text}"), 3)]
    for mac, port, vlan in d.fdb:
        idx = f"{vlan}." + ".".join(str(b) for b in _b(mac))
        r += [(_o(f"1.3.6.1.2.1.17.7.1.2.2.1.2.{idx}"), port), (_o(f"1.3.6.1.2.1.17.7.1.2.2.1.3.{idx}"), 3)]
    rem = 0
    for (a, ai), (b, bi) in LINKS:
        for (me, mi), (peer, pi) in (((a, ai), (b, bi)), ((b, bi), (a, ai))):
            if me != key:
                continue
            rem += 1
            other = DEVICES[peer]
            peer_port = next(x for x in other.ports if x.if_index == pi)
            r += _lldp_remote(mi, rem, other.chassis_mac, peer_port.name, peer_port.descr, other.name, other.descr,
                              other.services, other.address)
            if other.cdp_id:
                r += _cdp(mi, rem, other.cdp_id, peer_port.descr, other.model, other.descr, other.address)
    for me, mi, name, chassis, port_name in LLDP_ONLY:
        if me == key:
            rem += 1
            r += _lldp_remote(mi, rem, chassis, port_name, port_name, name, "Lab access point", 0, None)
    return r


def _lldp_remote(
    local: int, rem: int, chassis: str, port: str, port_descr: str, name: str, descr: str, services: int, mgmt: str | None
) -> list[tuple[Oid, object]]:
    idx = f"0.{local}.{rem}"
    caps = bytes([(0x20 if services & 2 else 0) | (0x08 if services & 4 else 0), 0])
    out: list[tuple[Oid, object]] = [
        (_o(f"{LLDP}.4.1.1.4.{idx}"), 4), (_o(f"{LLDP}.4.1.1.5.{idx}"), _b(chassis)),
        (_o(f"{LLDP}.4.1.1.6.{idx}"), 5), (_o(f"{LLDP}.4.1.1.7.{idx}"), port.encode()),
        (_o(f"{LLDP}.4.1.1.8.{idx}"), port_descr.encode()), (_o(f"{LLDP}.4.1.1.9.{idx}"), name.encode()),
        (_o(f"{LLDP}.4.1.1.10.{idx}"), descr.encode()), (_o(f"{LLDP}.4.1.1.12.{idx}"), caps),
    ]
    if mgmt:
        out.append((_o(f"{LLDP}.4.2.1.3.{idx}.1.4.{mgmt}"), 2))
    return out


def _cdp(local: int, rem: int, device_id: str, port: str, platform: str, version: str, mgmt: str) -> list[tuple[Oid, object]]:
    idx = f"{local}.{rem}"
    return [
        (_o(f"{CDP}.3.{idx}"), 1), (_o(f"{CDP}.4.{idx}"), ipaddress.IPv4Address(mgmt).packed),
        (_o(f"{CDP}.5.{idx}"), version.encode()), (_o(f"{CDP}.6.{idx}"), device_id.encode()),
        (_o(f"{CDP}.7.{idx}"), port.encode()), (_o(f"{CDP}.8.{idx}"), platform.encode()),
    ]


def write(directory: Path = LAB_DIR) -> list[Path]:
    """(Re)write every device file; returns the paths."""
    paths = []
    for key in DEVICES:
        path = directory / f"{key}.snmprec"
        # arg-type: records() builds its values from the typed constructors of discovery.snmp.values.
        path.write_text(snmprec.dump(records(key)), encoding="utf-8")  # type: ignore[arg-type]
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write():
        print(written)
