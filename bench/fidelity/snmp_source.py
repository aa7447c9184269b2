"""The SNMP source: each device's varbinds, scanned by the real ``SnmpScanner``.

Each device is rendered as what its agent answers (system scalars, IF-MIB, ENTITY-MIB,
IP-MIB, LLDP-MIB and, on Linux agents, HOST-RESOURCES-MIB), by numeric OIDs from
``discovery.snmp.oids``. The scanner runs unchanged on one targets definition per site
(seeds: its switches, routers and SNMP-managed servers; a seed that does not answer
makes its own part incomplete); only its client and clock are replaced (``seams``). Each site
keeps its memory of answering addresses across rounds, as a real deployment does.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable

from bench.fidelity.seams import RecordedAgents, swapped
from bench.fidelity.truth import SITES, Estate, Host, Iface, NetDevice
from bench.fidelity.units import Index, Run
from discovery.base import ScopeResult
from discovery.snmp import oids
from discovery.snmp import scanner as snmp_scanner
from discovery.snmp.build import BuildContext, DeviceResult, DeviceWalk, build_device
from discovery.snmp.credentials import ResolvedSecret, V2cCredential
from discovery.snmp.reached import ReachedTargets
from discovery.snmp.scanner import ScanOptions, SnmpScanner
from discovery.snmp.targets import parse_targets
from discovery.snmp.values import Oid, Value

TRUNCATE = 20  # what the truncating agents keep of a neighbour's name


def _col(table: oids.Table, column: int, index: tuple[int, ...]) -> Oid:
    return (*table.entry, column, *index)


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def _ip(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def _iface_rows(values: dict[Oid, Value], iface: Iface, up: bool, descr: str | None = None) -> None:
    idx = (iface.if_index,)
    values[_col(oids.IF_TABLE, 2, idx)] = (descr or iface.descr or iface.name).encode()
    values[_col(oids.IF_TABLE, 3, idx)] = 53 if iface.name.startswith("Vl") else 6
    values[_col(oids.IF_TABLE, 4, idx)] = 1500
    values[_col(oids.IF_TABLE, 5, idx)] = 1_000_000_000
    values[_col(oids.IF_TABLE, 6, idx)] = _mac(iface.mac)
    values[_col(oids.IF_TABLE, 7, idx)] = 1
    values[_col(oids.IF_TABLE, 8, idx)] = 1 if up else 2
    values[_col(oids.IF_X_TABLE, 1, idx)] = iface.name.encode()
    values[_col(oids.IF_X_TABLE, 15, idx)] = 1000
    for addr in iface.addrs:
        mask = ipaddress.IPv4Network(f"0.0.0.0/{addr.prefix}").netmask.packed
        values[_col(oids.IP_ADDR_TABLE, 2, _ip(addr.address))] = iface.if_index
        values[_col(oids.IP_ADDR_TABLE, 3, _ip(addr.address))] = mask


def _network(address: str, prefix: int) -> str:
    return str(ipaddress.ip_interface(f"{address}/{prefix}").network)


def device_walk(estate: Estate, dev: NetDevice, rnd: int, index: Index) -> DeviceWalk:
    descr = ("Cisco IOS XE Software, ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 17.3.4a"
             if dev.kind == "router" else
             "Cisco IOS Software [Gibraltar], Catalyst L3 Switch Software (CAT3K_CAA-UNIVERSALK9-M), Version 16.12.4")
    walk = DeviceWalk(address=f"{dev.mgmt.address}:161", scalars={
        oids.SYS_DESCR: descr.encode(), oids.SYS_OBJECT_ID: (1, 3, 6, 1, 4, 1, 9, 1, 2066),
        oids.SYS_UPTIME: 8_640_000 * rnd, oids.SYS_CONTACT: b"noc@corp.example.com",
        oids.SYS_NAME: dev.sysname.encode(), oids.SYS_LOCATION: dev.site.encode(),
        oids.SYS_SERVICES: 76 if dev.kind == "router" else 6,
        oids.LLDP_LOC_CHASSIS_SUBTYPE: 4, oids.LLDP_LOC_CHASSIS_ID: _mac(dev.chassis_mac),
        oids.LLDP_LOC_SYS_NAME: dev.sysname.encode(),
    })
    values = walk.values
    index.add("device", None, dev.tid, dev.sysname, dev.chassis_mac, *dev.stack_serials, dev.serial)
    links = {}
    for lk in estate.links:
        if lk.a == dev.tid:
            links[lk.a_port] = (lk.b, lk.b_port)
        elif lk.b == dev.tid:
            links[lk.b_port] = (lk.a, lk.a_port)
    for port in dev.ports:
        _iface_rows(values, port, up=port.name in links or port.name.startswith("Vl"))
        index.add("interface", dev.tid, port.tid, port.name, port.descr)
        for addr in port.addrs:
            index.add("ip", None, addr.tid, addr.address)
            index.add("subnet", None, addr.subnet, _network(addr.address, addr.prefix))
        idx = (port.if_index,)
        values[_col(oids.LLDP_LOC_PORT, 2, idx)] = 5
        values[_col(oids.LLDP_LOC_PORT, 3, idx)] = port.name.encode()
        values[_col(oids.LLDP_LOC_PORT, 4, idx)] = (port.descr or port.name).encode()
    # ENTITY-MIB: a stack's outer row (class stack) has no serial; its members (class chassis) do.
    ent = oids.ENT_PHYSICAL
    rows: list[tuple[int, int, int, str, str]] = []  # (index, containedIn, class, serial, name)
    if dev.stack_serials:
        rows.append((1, 0, 11, "", "Stack"))
        rows += [(1000 * (n + 1), 1, 3, s, f"Switch {n + 1}") for n, s in enumerate(dev.stack_serials)]
    else:
        rows.append((1, 0, 3, dev.serial, "Chassis"))
    for i, contained, cls, serial, name in rows:
        values[_col(ent, 2, (i,))] = f"{dev.model} {name}".encode()
        values[_col(ent, 4, (i,))] = contained
        values[_col(ent, 5, (i,))] = cls
        values[_col(ent, 7, (i,))] = name.encode()
        values[_col(ent, 10, (i,))] = b"16.12.4" if cls == 3 else b""
        values[_col(ent, 11, (i,))] = serial.encode()
        values[_col(ent, 12, (i,))] = b"Cisco Systems, Inc."
        values[_col(ent, 13, (i,))] = dev.model.encode() if cls == 3 else b""
    # LLDP neighbours.
    by_name = {p.name: p for p in dev.ports}
    for local_name, (peer_tid, peer_port) in sorted(links.items()):
        local = by_name.get(local_name)
        if local is None or not estate.alive(peer_tid, rnd):
            continue
        key = (0, local.if_index, 1)
        if peer_tid in estate.devices:
            peer = estate.devices[peer_tid]
            name, chassis, mgmt = peer.sysname, peer.chassis_mac, peer.mgmt.address
            caps = b"\x28" if peer.kind == "switch" else b"\x08"
            values[_col(oids.LLDP_REM, 6, key)] = 5
            values[_col(oids.LLDP_REM, 7, key)] = peer_port.encode()
            port_tid = next(p.tid for p in peer.ports if p.name == peer_port)
            index.add("interface", peer_tid, port_tid, peer_port, "GigabitEthernet" + peer_port[2:])
        else:
            host = estate.hosts[peer_tid]
            if not host.lldpd:
                continue
            name, chassis, mgmt = host.fqdn, host.primary.mac, host.primary.addrs[0].address
            caps = b"\x80"
            values[_col(oids.LLDP_REM, 6, key)] = 3  # lldpd: the port id is the MAC, the description its name
            values[_col(oids.LLDP_REM, 7, key)] = _mac(host.primary.mac)
            values[_col(oids.LLDP_REM, 8, key)] = host.primary.name.encode()
            index.add("interface", peer_tid, host.primary.tid, host.primary.name)
        sent = name[:TRUNCATE] if dev.truncates else name
        values[_col(oids.LLDP_REM, 4, key)] = 4
        values[_col(oids.LLDP_REM, 5, key)] = _mac(chassis)
        values[_col(oids.LLDP_REM, 9, key)] = sent.encode()
        values[_col(oids.LLDP_REM, 10, key)] = b"Linux" if peer_tid in estate.hosts else b"Cisco IOS Software"
        values[_col(oids.LLDP_REM, 12, key)] = caps
        values[_col(oids.LLDP_REM_MAN_ADDR, 3, (*key, 1, 4, *_ip(mgmt)))] = 2
        index.add("device", None, peer_tid, sent, chassis)
    return walk


def host_walk(host: Host, rnd: int, index: Index) -> DeviceWalk:
    """Net-SNMP on Linux: sysName is the short host name; HOST-RESOURCES lists processes and disks."""
    walk = DeviceWalk(address=f"{host.primary.addrs[0].address}:161", scalars={
        oids.SYS_DESCR: f"Linux {host.short} {host.kernel} #101-Ubuntu SMP x86_64".encode(),
        oids.SYS_OBJECT_ID: (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10), oids.SYS_UPTIME: 8_640_000 * rnd,
        oids.SYS_NAME: host.short.encode(), oids.SYS_SERVICES: 72, oids.HR_SYSTEM_UPTIME: 8_640_000 * rnd,
    })
    values = walk.values
    index.add("device", None, host.tid, host.short)
    # lo is left out: SSH leaves it out too, and it is no configuration item of interest here.
    for iface in host.ifaces:
        _iface_rows(values, iface, up=iface.name != "virbr0")
        index.add("interface", host.tid, iface.tid, iface.name)
        for addr in iface.addrs:
            index.add("ip", None, addr.tid, addr.address)
            index.add("subnet", None, addr.subnet, _network(addr.address, addr.prefix))
    run = oids.HR_SW_RUN
    values[_col(run, 2, (2,))] = b"kthreadd"
    values[_col(run, 4, (2,))] = b""
    values[_col(run, 6, (2,))] = 2
    for n, svc in enumerate(host.services):
        pid = (700 + n * 37,)
        values[_col(run, 2, pid)] = svc.process.encode()
        values[_col(run, 4, pid)] = svc.path.encode()
        values[_col(run, 6, pid)] = 4
        index.add("service", host.tid, svc.tid, svc.process, svc.product)
    storage = oids.HR_STORAGE
    values[_col(storage, 2, (1,))] = (1, 3, 6, 1, 2, 1, 25, 2, 1, 2)  # RAM: not a filesystem
    values[_col(storage, 3, (1,))] = b"Physical memory"
    for n, fs in enumerate(host.filesystems, start=31):
        values[_col(storage, 2, (n,))] = oids.HR_STORAGE_FIXED_DISK
        values[_col(storage, 3, (n,))] = fs.name.encode()
        values[_col(storage, 4, (n,))] = 4096
        values[_col(storage, 5, (n,))] = 25_000_000
        values[_col(storage, 6, (n,))] = 12_500_000
        index.add("fs", host.tid, fs.tid, fs.name)
    return walk


def runs(estate: Estate, rnd: int, clock: Callable[[], int]) -> list[Run]:
    """This round's runs; ``clock`` gives each scope its observation time, as the scanner's now_ms() does.

    ``SnmpScanner`` itself scans each site's seeds (its switches, routers and SNMP-managed
    servers); its client answers from the rendered varbinds, and a seed that does not answer
    this round times out.
    """
    return [run for site in sorted({d.site for d in estate.devices.values()}) for run in _scan_site(estate, site, rnd, clock)]


def _scan_site(estate: Estate, site: str, rnd: int, clock: Callable[[], int]) -> list[Run]:
    down = estate.unreachable.get(rnd, set())
    scope = f"snmp-{site}"
    walks: dict[str, DeviceWalk] = {}
    seeds: list[str] = []
    index = Index()
    indexes: dict[str, Index] = {}  # walked address -> what that device's payload denotes
    targets: list[NetDevice | Host] = [d for d in estate.live_devices() if d.site == site]
    targets += [h for h in estate.live_hosts() if h.site == site and h.snmp_agent]
    for target in targets:
        one = Index()
        walk = device_walk(estate, target, rnd, one) if isinstance(target, NetDevice) else host_walk(target, rnd, one)
        address = walk.address.rsplit(":", 1)[0]
        seeds.append(address)
        if target.tid not in down:
            walks[address] = walk
            indexes[address] = one
            index.merge(one)
    built: dict[int, Index] = {}  # id of an item -> the index of the device whose walk built it

    def observed(walk: DeviceWalk, ctx: BuildContext) -> DeviceResult:
        # The scanner's own build_device, watched: an item is named through its device's payload
        # (two agents both report 172.17.0.1; only the device that said it knows which one).
        result = build_device(walk, ctx)
        for item in result.items:
            built[id(item)] = indexes.get(walk.address.rsplit(":", 1)[0], index)
        return result

    scanner = SnmpScanner(
        parse_targets({"scope": scope, "network_scope": site, "dns_domain": SITES[site], "targets": [{"seeds": seeds, "credentials": ["site"]}]}),
        {"site": V2cCredential(name="site", community=ResolvedSecret("public"))},
        ScanOptions(concurrency=8), client=RecordedAgents(walks),  # type: ignore[arg-type]
        reached=_memory(estate, scope))

    async def scan() -> list[ScopeResult]:
        return [result async for result in scanner.scan()]

    with swapped(snmp_scanner, now_ms=clock, build_device=observed):
        results = asyncio.run(scan())
    out: list[Run] = []
    for result in results:  # each device's part, the links, the scope listing its parts
        run = Run("snmp", result.scope, complete=result.complete, errors=list(result.errors), parts=result.parts,
                  silent=result.silent)
        run.add(result.items, lambda item: built.get(id(item), index))
        out.append(run)
    return out


_MEMORIES: dict[int, tuple[Estate, dict[str, ReachedTargets]]] = {}


def _memory(estate: Estate, scope: str) -> ReachedTargets:
    """The scope's memory of answering addresses, kept across the rounds of one estate (in memory only), as
    ``cmdb discover snmp`` and the jobs keep theirs in the data dir: a seed that answered before and is
    unreachable now holds back its own part only."""
    held = _MEMORIES.setdefault(id(estate), (estate, {}))
    return held[1].setdefault(scope, ReachedTargets(None))
