"""The SSH source: each host's collection-script output, scanned by the real ``SSHScanner``.

The raw text is what ``discovery.ssh.script``'s script prints on a real Ubuntu host
(section markers, ``ip -j addr``, ``ss -tanpH``, ``ps``, dpkg lines...). The scanner
runs unchanged on one inventory per site and per VPC (per-host scopes
``<inventory>/<target name>``, the traffic scope, a host that does not answer making
its scope incomplete); only its SSH session and clock are replaced (``seams``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from bench.fidelity.seams import swapped, throwaway_key
from bench.fidelity.truth import Estate, Host
from bench.fidelity.units import Index, Run
from discovery.base import ScopeResult
from discovery.ssh import scanner as ssh_scanner
from discovery.ssh.client import Collected, CollectError
from discovery.ssh.hostkeys import HostKeyMode, HostKeyPolicy
from discovery.ssh.inventory import Credentials, HostEntry, Inventory, Target
from discovery.ssh.scanner import SSHScanner
from discovery.ssh.script import BEGIN, END


def _section(name: str, text: str, rc: int = 0) -> str:
    return f"{BEGIN}{name}\n{text}\n{END}{name} {rc}\n"


def lldp_sections(estate: Estate, host: Host, rnd: int) -> list[str]:
    """What ``lldpcli -f json show chassis`` / ``show neighbors`` print on a host running lldpd (lldpd 1.0's
    JSON: one interface is an object, several a list); without lldpd the command is absent (exit 1)."""
    if not host.lldpd:
        return [_section("lldp_chassis", "", 1), _section("lldp_neighbors", "", 1)]
    chassis = {"local-chassis": {"chassis": {host.fqdn: {
        "id": {"type": "mac", "value": host.primary.mac}, "descr": f"Ubuntu 22.04.3 LTS Linux {host.kernel}",
        "mgmt-ip": host.primary.addrs[0].address,
        "capability": [{"type": "Bridge", "enabled": False}, {"type": "Router", "enabled": False}]}}}}
    heard = []
    for lk in estate.links:
        if lk.b != host.tid or lk.a not in estate.devices or not estate.alive(lk.a, rnd):
            continue
        dev = estate.devices[lk.a]
        port = next(p for p in dev.ports if p.name == lk.a_port)
        heard.append({lk.b_port: {"via": "LLDP", "rid": "1", "age": "0 day, 01:00:00", "chassis": {dev.sysname: {
            "id": {"type": "mac", "value": dev.chassis_mac}, "descr": "Cisco IOS Software",
            "mgmt-ip": dev.mgmt.address, "capability": [{"type": "Bridge", "enabled": True}]}},
            "port": {"id": {"type": "ifname", "value": port.name}, "descr": port.descr or port.name, "ttl": "120"}}})
    interfaces: object = heard[0] if len(heard) == 1 else heard
    return [_section("lldp_chassis", json.dumps(chassis)),
            _section("lldp_neighbors", json.dumps({"lldp": {"interface": interfaces}} if heard else {"lldp": {}}))]


def render(host: Host, rnd: int, estate: Estate | None = None) -> str:
    """The collection script's output on this host in this round."""
    links = []
    for iface in host.ifaces:
        addr_info = [{"family": "inet", "local": a.address, "prefixlen": a.prefix, "scope": "global"}
                     for a in iface.addrs]
        links.append({"ifindex": iface.if_index, "ifname": iface.name, "flags": ["BROADCAST", "UP"], "mtu": 1500,
                      "operstate": "UP" if iface.name != "virbr0" else "DOWN", "link_type": "ether",
                      "address": iface.mac, "addr_info": addr_info})
    links.insert(0, {"ifindex": 1, "ifname": "lo", "mtu": 65536, "operstate": "UNKNOWN", "link_type": "loopback",
                     "address": "00:00:00:00:00:00",
                     "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]})
    ss, ps = [], ["1 0 root systemd /sbin/init"]
    for n, svc in enumerate(host.services):
        pid = 700 + n * 37
        ss.append(f'LISTEN 0 128 0.0.0.0:{svc.port} 0.0.0.0:* users:(("{svc.process}",pid={pid},fd=3))')
        ps.append(f"{pid} 1 root {svc.process} {svc.path}")
    primary = host.primary.addrs[0].address
    ss.append(f"ESTAB 0 0 {primary}:22 10.9.9.9:51234 users:((\"sshd\",pid=4242,fd=4))")
    df = ["Filesystem 1024-blocks Used Available Capacity Mounted on"]
    df += [f"{fs.extra} ext4 102400000 51200000 51200000 50% {fs.name}" for fs in host.filesystems]
    df.append("tmpfs tmpfs 1024 0 1024 0% /run")
    os_release = 'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nPRETTY_NAME="Ubuntu 22.04.3 LTS"'
    parts = [
        _section("hostname", host.short),
        _section("fqdn", host.fqdn),
        _section("os_release", os_release),
        _section("uname", f"Linux {host.kernel} x86_64"),
        _section("nproc", "4"),
        _section("meminfo", "MemTotal:       16314612 kB\nMemFree:         1234567 kB"),
        _section("uptime", f"{86400 * rnd + 1234}.56 {86400 * rnd * 3}.12"),
        _section("machine_id", host.machine_id),
        _section("dmi_uuid", host.dmi_uuid),
        _section("cloud_instance_id", host.instance_id or "", 0 if host.instance_id else 1),
        _section("init", "systemd"),
        _section("ip_addr", json.dumps(links)),
        _section("lsblk", json.dumps({"blockdevices": [{"name": "sda", "type": "disk", "size": 107374182400}]})),
        _section("df", "\n".join(df)),
        _section("ss", "\n".join(ss)),
        _section("packages", "\n".join(f"{p.name}\t{p.extra}\tamd64" for p in host.packages)),
        _section("ps", "\n".join(ps)),
        _section("ssh_connection", f"10.9.9.9 51234 {primary} 22"),
        *(lldp_sections(estate, host, rnd) if estate is not None else ()),
    ]
    return "".join(parts)


def index_for(host: Host, estate: Estate | None = None) -> Index:
    index = Index()
    index.add("device", None, host.tid, host.machine_id, host.instance_id, host.fqdn, host.short)
    if host.lldpd:
        index.add("device", None, host.tid, host.primary.mac)
    if host.lldpd and estate is not None:
        for lk in estate.links:
            if lk.b == host.tid and lk.a in estate.devices:  # the switch lldpd hears, and its port
                dev = estate.devices[lk.a]
                index.add("device", None, dev.tid, dev.sysname, dev.chassis_mac)
                port = next(p for p in dev.ports if p.name == lk.a_port)
                index.add("interface", dev.tid, port.tid, port.name, port.descr)
    for iface in host.ifaces:
        index.add("interface", host.tid, iface.tid, iface.name)
        for addr in iface.addrs:
            index.add("ip", None, addr.tid, addr.address)
            index.add("subnet", None, addr.subnet, _network(addr.address, addr.prefix))
    for svc in host.services:
        index.add("service", host.tid, svc.tid, svc.product)
    for child in host.filesystems:
        index.add("fs", host.tid, child.tid, child.name)
    for child in host.packages:
        index.add("package", host.tid, child.tid, child.name)
    return index


def _network(address: str, prefix: int) -> str:
    return str(ipaddress.ip_interface(f"{address}/{prefix}").network)


def network_scope(host: Host) -> str:
    """The inventory's network scope: the site, or the VPC of a cloud inventory."""
    return host.site


def runs(estate: Estate, rnd: int, clock: Callable[[], int]) -> list[Run]:
    """This round's runs; ``clock`` gives each scope its observation time, as the scanner's now_ms() does.

    ``SSHScanner`` itself scans each inventory (one per site and per VPC): only its SSH
    session is replaced, by the host's rendered output, or a timeout for a host that does
    not answer this round.
    """
    down = estate.unreachable.get(rnd, set())
    inventories: dict[str, list[Host]] = {}
    for host in estate.live_hosts():
        if host.ssh_from <= rnd:
            inventories.setdefault(host.inventory, []).append(host)
    out = []
    for name, hosts in sorted(inventories.items()):
        by_target = {h.inventory_name: h for h in hosts}
        inventory = Inventory(
            scope=name, network_scope=network_scope(hosts[0]), concurrency=16,
            defaults=Credentials(user="cmdb", key_file=throwaway_key()),
            hosts=[HostEntry(name=h.inventory_name, address=h.primary.addrs[0].address) for h in hosts],
        )
        policy = HostKeyPolicy(HostKeyMode.KNOWN_HOSTS, Path(throwaway_key()).with_name("known_hosts"))
        scanner = SSHScanner(inventory, host_key_policy=policy)
        with swapped(ssh_scanner, collect=_sessions(estate, by_target, down, rnd), now_ms=clock):
            results = asyncio.run(_all(scanner.scan()))
        everyone = Index()
        for host in hosts:
            everyone.merge(index_for(host, estate))
        for result in results:
            run = Run("ssh", result.scope, complete=result.complete, errors=list(result.errors),
                      parts=result.parts, silent=result.silent)
            target = result.scope[len(name) + 1:] if result.scope.startswith(f"{name}/") else None
            run.add(result.items, index_for(by_target[target], estate) if target in by_target else everyone)
            out.append(run)
    return out


def _sessions(estate: Estate, by_target: dict[str, Host], down: set[str], rnd: int) -> Callable[..., Any]:
    """What the SSH session to each target returns this round: the script's output, or a timeout."""
    async def collect(target: Target, *_: Any, **__: Any) -> Collected:
        host = by_target[target.name]
        if host.tid in down:
            raise CollectError("connect timed out after 10s")
        return Collected(raw=render(host, rnd, estate), host_key=f"SHA256:{host.machine_id[:16]}", exit_status=0,
                         elapsed_s=0.0)
    return collect


async def _all(results: AsyncIterator[ScopeResult]) -> list[ScopeResult]:
    return [result async for result in results]
