"""The SSH source: each host's collection-script output, parsed by the scanner's own functions.

The raw text is what ``discovery.ssh.script``'s script prints on a real Ubuntu host
(section markers, ``ip -j addr``, ``ss -tanpH``, ``ps``...); it goes through
``parse_host`` and ``host_items`` exactly as ``SSHScanner`` does after the SSH
session. One scope per host (``<inventory>/<target name>``), as the scanner has.
A host that does not answer yields an incomplete run with no items.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from bench.fidelity.truth import Estate, Host
from bench.fidelity.units import Index, Run
from discovery.ssh.observations import HostContext, host_items
from discovery.ssh.parsers import parse_host
from discovery.ssh.script import BEGIN, END


def _section(name: str, text: str, rc: int = 0) -> str:
    return f"{BEGIN}{name}\n{text}\n{END}{name} {rc}\n"


def render(host: Host, rnd: int) -> str:
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
    ]
    return "".join(parts)


def index_for(host: Host, network_scope: str) -> Index:
    index = Index()
    index.add("device", None, host.tid, host.machine_id, host.instance_id, host.fqdn, host.short)
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
    del network_scope
    return index


def _network(address: str, prefix: int) -> str:
    import ipaddress

    return str(ipaddress.ip_interface(f"{address}/{prefix}").network)


def network_scope(host: Host) -> str:
    """The inventory's network scope: the site, or the VPC of a cloud inventory."""
    return host.site


def runs(estate: Estate, rnd: int, clock: Callable[[], int]) -> list[Run]:
    """This round's runs; ``clock`` gives each scope its observation time, as the scanner's now_ms() does."""
    out = []
    down = estate.unreachable.get(rnd, set())
    for host in estate.live_hosts():
        if host.ssh_from > rnd:
            continue
        scope = f"{host.inventory}/{host.inventory_name}"
        run = Run("ssh", scope)
        if host.tid in down:
            run.complete = False
            run.errors.append(f"{host.inventory_name}: connection timed out")
            out.append(run)
            continue
        facts = parse_host(render(host, rnd))
        ctx = HostContext(name=host.inventory_name, scope=scope, observed_at=clock(),
                          address=host.primary.addrs[0].address, network_scope=network_scope(host),
                          host_key=f"SHA256:{host.machine_id[:16]}")
        run.add(host_items(facts, ctx), index_for(host, network_scope(host)))
        if facts.errors:
            run.complete = False
            run.errors.extend(facts.errors)
        out.append(run)
    return out
