"""The company's Linux servers: network-namespace hosts with sshd and services that talk to each other.

``web1`` (nginx :80) -> ``app1`` (java :8080) -> ``db1`` (postgres :5432) and
``cache1`` (redis-server :6379). db1 runs a real PostgreSQL when Debian's is
installed (``labs.ssh.workloads``); the others are one small Python
program run under those process names (a symlink named like the product). The
SSH scanner sees real listening sockets and real established connections
between hosts, and infers the dependencies from them. Each host claims the EC2
instance id of its namesake in the AWS estate, so AWS and SSH describe one
server. Needs root, ``ip netns``, ``unshare``, ``nsenter`` and OpenSSH's sshd.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NET = "10.251.0"
PREFIX = "cmdbdemo"

# host -> (process name, listening port or None, upstream hosts:ports)
SERVICES: dict[str, tuple[str, int | None, list[tuple[str, int]]]] = {
    "db1": ("postgres", 5432, []),
    "cache1": ("redis-server", 6379, []),
    "app1": ("java", 8080, [("db1", 5432), ("cache1", 6379)]),
    "web1": ("nginx", 80, [("app1", 8080)]),
}

SERVICE_PROGRAM = '''\
"""A stand-in service: listens on a port, holds its clients, holds connections to its upstreams."""
import socket, struct, sys, threading, time

def serve(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(64)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=hold, args=(conn,), daemon=True).start()

def hold(conn):
    try:
        while conn.recv(1024):
            pass
    finally:
        conn.close()

# A PostgreSQL startup message (user postgres, trust auth): the server keeps the session open.
PG_STARTUP = (lambda p: struct.pack("!ii", 8 + len(p), 196608) + p)(b"user\\0postgres\\0database\\0postgres\\0\\0")

def upstream(host, port):
    while True:
        try:
            conn = socket.create_connection((host, port), timeout=5)
            conn.settimeout(None)  # hold it open: an idle timeout would drop and redial it every few seconds
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if port == 5432:
                conn.sendall(PG_STARTUP)
            hold(conn)
        except OSError:
            pass
        time.sleep(1)

args = sys.argv[1:]
for target in args[1:]:
    host, port = target.rsplit(":", 1)
    threading.Thread(target=upstream, args=(host, int(port)), daemon=True).start()
if args and args[0] != "-":
    serve(int(args[0]))
else:
    while True:
        time.sleep(3600)
'''


@dataclass(slots=True)
class HostsLab:
    """The running lab: its inventory (a plain mapping for the jobs file) and the scanner namespace."""

    inventory: dict[str, Any]
    netns: str
    addresses: dict[str, str] = field(default_factory=dict)


def switched_addresses() -> dict[str, tuple[str, str]]:
    """Host -> (address, MAC) that the lab network's switches know about.

    In the SNMP lab, access switch acc1 has learned two MACs on its access ports
    (FDB) and core1 maps them to addresses (ARP). Giving web1 and app1 exactly
    those makes the SNMP view (switch port -> address) meet the SSH view (host
    -> interface -> address) on one ip_address CI.
    """
    try:
        from labs.snmp.generate import DEVICES
    except ImportError:
        return {}
    learned = {mac for device in DEVICES.values() for mac, _, _ in device.fdb}
    pairs = [(ip, mac) for device in DEVICES.values() for _, ip, mac in device.arp if mac in learned]
    return dict(zip(("web1", "app1"), pairs, strict=False))


def _start_real_postgres(host: Any, record_process: Callable[[str, int, str], None],
                         record_path: Callable[[str], None]) -> bool:
    """A real PostgreSQL on db1 when Debian's is installed (else the stand-in runs); True if it runs."""
    try:
        from labs.ssh.workloads import PG_BIN, start_postgres
    except ImportError:
        return False
    if not (PG_BIN / "postgres").exists():
        return False
    before = list(host.cleanup)
    try:
        proc = start_postgres(host)
    except (RuntimeError, OSError, subprocess.SubprocessError):
        return False
    finally:
        for path in host.cleanup[len(before):]:
            record_path(str(path))
    record_process("db1 postgres (PostgreSQL)", proc.pid, str(host.cleanup[-1]))
    return True


def hosts_lab_problem() -> str | None:
    """Why the SSH hosts cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "not root (network namespaces need root)"
    for tool in ("ip", "unshare", "nsenter", "/usr/sbin/sshd"):
        if shutil.which(tool) is None and not Path(tool).exists():
            return f"{tool} is not installed"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10, check=False)
    if probe.returncode != 0:
        return f"ip netns does not work here: {probe.stderr.strip()[:200]}"
    return None


def _established(lab: Any, name: str, peer: str, port: int) -> bool:
    host = next(h for h in lab.hosts if h.name == name)
    out = host.run(["ss", "-tnH", "state", "established"], timeout=10).stdout
    return f"{peer}:{port}" in out


def start_hosts_lab(work: Path, instances: dict[str, str], record_process: Callable[[str, int, str], None],
                    record_namespaces: Callable[[list[str]], None], prefix: str = PREFIX,
                    record_path: Callable[[str], None] = lambda path: None, timeout_s: float = 30) -> HostsLab:
    """Start the hosts and their services; every PID and namespace is recorded as soon as it exists."""
    from labs.ssh.hosts import Lab

    work.mkdir(parents=True, exist_ok=True)
    program = work / "service.py"
    program.write_text(SERVICE_PROGRAM)
    bin_dir = work / "bin"
    bin_dir.mkdir(exist_ok=True)
    # The real interpreter, not a wrapper script (a pyenv shim dispatches on its own name).
    python = os.path.realpath(sys.executable)
    if not prefix.isalnum() or len(prefix) > 10:
        raise ValueError(f"namespace prefix {prefix!r} must be at most 10 letters or digits (interface names)")
    lab = Lab(work / "hosts", net=NET, prefix=prefix, domain="acme.example")
    hosts = {name: lab.add_host(name) for name in SERVICES}
    try:
        lab.start()
    finally:
        record_namespaces(list(lab.namespaces))
        for h in lab.hosts:
            if h.proc is not None:
                record_process(f"host {h.name} (sshd)", h.proc.pid, f"{h.dir}/sshd_config")
    addresses = {name: h.address for name, h in hosts.items()}
    for name, (ip, mac) in switched_addresses().items():
        for argv in (["link", "set", "eth0", "address", mac], ["addr", "add", f"{ip}/24", "dev", "eth0"]):
            subprocess.run(["ip", "-n", hosts[name].ns, *argv], check=True, capture_output=True, timeout=30)
    for ns in lab.namespaces:  # forget the old MACs, or the first connections time out on stale ARP entries
        subprocess.run(["ip", "-n", ns, "neigh", "flush", "all"], check=False, capture_output=True, timeout=30)
    real_postgres = _start_real_postgres(hosts["db1"], record_process, record_path)
    for name in ("db1", "cache1", "app1", "web1"):  # servers before their clients
        process_name, port, upstreams = SERVICES[name]
        if name == "db1" and real_postgres:
            continue
        link = bin_dir / process_name
        if not link.exists():
            link.symlink_to(python)
        argv = [str(link), str(program), str(port) if port else "-",
                *(f"{addresses[h]}:{p}" for h, p in upstreams)]
        proc = hosts[name].spawn(argv)
        record_process(f"{name} {process_name}", proc.pid, str(program))
    deadline = time.monotonic() + timeout_s
    wanted = [(name, addresses[h], p) for name, (_, _, ups) in SERVICES.items() for h, p in ups]
    while not all(_established(lab, *w) for w in wanted):
        if time.monotonic() > deadline:
            raise RuntimeError("the lab services did not connect to each other in time")
        time.sleep(0.3)
    inventory = lab.inventory([hosts[name] for name in SERVICES], scope="acme-dc", connect_timeout_s=10.0,
                              deadline_s=60.0)
    data: dict[str, Any] = inventory.model_dump(mode="json", exclude_none=True, exclude={"base_dir"})
    for raw in data["hosts"]:
        if instances.get(raw["name"]):
            raw["instance_id"] = instances[raw["name"]]
    return HostsLab(inventory=data, netns=f"{prefix}-scan", addresses=addresses)

