"""Pure parsers: raw section text -> typed facts.

Each parser raises ``ValueError`` on output it cannot make sense of;
:func:`parse_host` turns that into a per-section error and keeps going.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

from discovery.ssh.facts import (
    Address,
    BlockDevice,
    FilesystemFact,
    HostFacts,
    InterfaceFact,
    OSRelease,
    Packages,
    ProcessFact,
    SocketFact,
    SocketProcess,
)
from discovery.ssh.lldp import parse_lldp_chassis, parse_lldp_neighbors
from discovery.ssh.script import Section, split_sections

_MACHINE_ID = re.compile(r"^[0-9a-f]{32}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EC2_ID = re.compile(r"^i-[0-9a-f]{8,17}$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,252})$")
_SS_PROC = re.compile(r'\("([^"]*)",pid=(\d+)')
# Sections whose failure is an error worth reporting (the others are optional).
REQUIRED = ("hostname", "uname", "ip_addr", "ss")


def parse_hostname(text: str) -> str:
    value = text.strip()
    if not _HOSTNAME.match(value):
        raise ValueError(f"not a hostname: {value[:40]!r}")
    return value


def parse_os_release(text: str) -> OSRelease:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().isidentifier():
            values[key.strip()] = value.strip().strip('"').strip("'")
    if not values:
        raise ValueError("no KEY=value lines")
    return OSRelease(
        id=values.get("ID"),
        name=values.get("NAME"),
        version=values.get("VERSION_ID") or values.get("VERSION"),
        pretty_name=values.get("PRETTY_NAME"),
    )


def parse_uname(text: str) -> tuple[str, str]:
    """``uname -s -r -m`` -> (kernel release, machine architecture)."""
    parts = text.split()
    if len(parts) != 3:
        raise ValueError(f"expected 'name release machine', got {text[:60]!r}")
    return parts[1], parts[2]


def parse_int(text: str) -> int:
    return int(text.strip())


def parse_meminfo_mb(text: str) -> int:
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            fields = line.split()
            return int(fields[1]) // 1024
    raise ValueError("no MemTotal line")


def parse_uptime_s(text: str) -> int:
    return int(float(text.split()[0]))


def parse_machine_id(text: str) -> str:
    value = text.strip().lower()
    if not _MACHINE_ID.match(value):
        raise ValueError(f"not a machine-id: {value[:40]!r}")
    return value


def parse_dmi_uuid(text: str) -> str:
    value = text.strip()
    if not _UUID.match(value):
        raise ValueError(f"not a UUID: {value[:40]!r}")
    return value.lower()


def parse_instance_id(text: str) -> str | None:
    """cloud-init's recorded instance id; only EC2-shaped ids are kept (others are local ids)."""
    value = text.strip()
    return value if _EC2_ID.match(value) else None


def parse_ip_addr(text: str) -> list[InterfaceFact]:
    """``ip -j addr show`` -> interfaces with their addresses."""
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError("expected a JSON list")
    out: list[InterfaceFact] = []
    for link in data:
        if not isinstance(link, dict) or "ifname" not in link:
            continue
        addrs: list[Address] = []
        for info in link.get("addr_info") or []:
            family = info.get("family")
            if family not in ("inet", "inet6") or "local" not in info:
                continue
            addrs.append(Address(str(info["local"]), int(info.get("prefixlen", 0)), 4 if family == "inet" else 6))
        name = str(link["ifname"])
        mac = link.get("address") if link.get("link_type") == "ether" else None
        out.append(
            InterfaceFact(
                name=name.split("@")[0],
                mac=str(mac).lower() if mac else None,
                mtu=_opt_int(link.get("mtu")),
                oper_status=str(link["operstate"]).lower() if link.get("operstate") else None,
                if_index=_opt_int(link.get("ifindex")),
                addresses=tuple(addrs),
            )
        )
    return out


def parse_lsblk(text: str) -> list[BlockDevice]:
    data = json.loads(text)
    out: list[BlockDevice] = []

    def walk(devices: list[dict[str, Any]]) -> None:
        for dev in devices:
            out.append(
                BlockDevice(
                    name=str(dev.get("name")),
                    type=str(dev.get("type")),
                    size_bytes=int(dev.get("size") or 0),
                    fs_type=dev.get("fstype"),
                    mount_point=dev.get("mountpoint"),
                )
            )
            walk(dev.get("children") or [])

    walk(data["blockdevices"])
    return out


# Pseudo and memory filesystems are not configuration items.
PSEUDO_FS = frozenset(
    {"tmpfs", "devtmpfs", "proc", "sysfs", "cgroup", "cgroup2", "overlay", "squashfs", "devpts", "mqueue", "ramfs"}
)


def parse_df(text: str) -> list[FilesystemFact]:
    """``df -P -T -k`` -> real filesystems (pseudo filesystems dropped)."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("Filesystem"):
        raise ValueError("no df header")
    out: list[FilesystemFact] = []
    for line in lines[1:]:
        fields = line.split(None, 6)
        if len(fields) < 7:
            if line.strip():
                raise ValueError(f"short df line: {line[:60]!r}")
            continue
        device, fs_type, blocks, used, _avail, _cap, mount = fields
        if fs_type in PSEUDO_FS:
            continue
        out.append(FilesystemFact(mount, device, fs_type, int(blocks) // 1024, int(used) // 1024))
    return out


def split_endpoint(text: str) -> tuple[str, int]:
    """``10.0.0.1:80``, ``[::1]:80``, ``*:22``, ``127.0.0.53%lo:53`` -> (address, port)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        raise ValueError(f"no port in {text!r}")
    port_num = 0 if port == "*" else int(port)
    host = host.strip("[]")
    host = host.split("%", 1)[0]
    if host == "*":
        host = "0.0.0.0"
    if host.startswith("::ffff:") and "." in host:
        host = host[len("::ffff:"):]
    _check_ip(host)
    return host, port_num


@functools.lru_cache(maxsize=4096)
def _check_ip(host: str) -> None:
    """Raise ValueError unless ``host`` is an IP address (cached: a socket table repeats a few addresses)."""
    ipaddress.ip_address(host)


def parse_ss(text: str) -> list[SocketFact]:
    """``ss -tanpH`` -> TCP sockets (LISTEN, ESTAB, TIME-WAIT and the rest)."""
    out: list[SocketFact] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split(None, 5)
        if len(fields) < 5:
            raise ValueError(f"short ss line: {line[:60]!r}")
        state, _rq, _sq, local, peer = fields[:5]
        if not _rq.isdigit():
            raise ValueError(f"not an ss line: {line[:60]!r}")
        # A blank process name says nothing about the program: the socket is kept, without it.
        procs = tuple(SocketProcess(n, int(p)) for n, p in _SS_PROC.findall(fields[5] if len(fields) > 5 else "")
                      if n.strip())
        la, lp = split_endpoint(local)
        pa, pp = split_endpoint(peer)
        out.append(SocketFact(state, la, lp, pa, pp, procs))
    return out


# Characters str.splitlines() breaks lines at, besides "\n" (the fast path below splits at "\n" only).
_ODD_LINE_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def parse_packages(text: str) -> Packages:
    """``name<TAB>version<TAB>architecture`` lines -> packages (those without a version are dropped)."""
    # Fast path for the usual output (every line exactly three fields, "\n" breaks only), one pass;
    # anything else (blank lines, odd line breaks, bad lines) goes through the line-by-line parser.
    if not any(brk in text for brk in _ODD_LINE_BREAKS):
        names: list[str] = []
        versions: list[str] = []
        architectures: list[str] = []
        for line in text.split("\n"):
            fields = line.split("\t")
            if len(fields) != 3 or not fields[0].strip():
                break
            name, version, arch = fields
            if version:  # dpkg lists removed-but-configured packages without a version
                names.append(name)
                versions.append(version)
                architectures.append(arch)
        else:
            return Packages(tuple(names), tuple(versions), tuple(architectures))
    return _parse_package_lines(text)


def _parse_package_lines(text: str) -> Packages:
    out: list[tuple[str, str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not fields[0].strip():  # a blank name cannot identify a package
            raise ValueError(f"not a package line: {line[:60]!r}")
        if fields[1]:  # dpkg lists removed-but-configured packages without a version
            out.append((fields[0], fields[1], fields[2]))
    if not out:
        return Packages()
    names, versions, architectures = zip(*out, strict=True)
    return Packages(names, versions, architectures)


def parse_ps(text: str) -> list[ProcessFact]:
    out: list[ProcessFact] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split(None, 4)
        if len(fields) < 4:
            raise ValueError(f"short ps line: {line[:60]!r}")
        pid, ppid, user, name = fields[:4]
        out.append(ProcessFact(int(pid), int(ppid), user, name, fields[4] if len(fields) > 4 else name))
    return out


def parse_ssh_connection(text: str) -> tuple[str, int, str, int] | None:
    fields = text.split()
    if len(fields) != 4:
        return None
    return fields[0], int(fields[1]), fields[2], int(fields[3])


def _opt_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_host(raw: str) -> HostFacts:
    """Parse the whole script output; never raises: failures land in ``facts.errors``."""
    sections = split_sections(raw)
    facts = HostFacts()
    missing = [name for name in REQUIRED if name not in sections]
    if len(missing) == len(REQUIRED):
        facts.errors.append("no recognisable output from the collection script")
        return facts

    def take(name: str, parser: Callable[[str], Any], required: bool = False) -> Any:
        section: Section | None = sections.get(name)
        if section is None or not section.ok:
            if required or (section is not None and section.rc not in (1, 127) and section.text.strip()):
                rc = "missing" if section is None else f"exit {section.rc}"
                facts.errors.append(f"{name}: command failed ({rc})")
            return None
        try:
            return parser(section.text)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            facts.errors.append(f"{name}: unparseable output ({exc.__class__.__name__}: {exc})"[:200])
            return None

    facts.hostname = take("hostname", parse_hostname, required=True)
    fqdn = take("fqdn", parse_hostname)
    facts.fqdn = fqdn if fqdn and "." in fqdn else None
    facts.os = take("os_release", parse_os_release)
    uname = take("uname", parse_uname, required=True)
    if uname:
        facts.kernel, facts.architecture = uname
    facts.cpu_count = take("nproc", parse_int)
    facts.memory_mb = take("meminfo", parse_meminfo_mb)
    facts.uptime_s = take("uptime", parse_uptime_s)
    facts.machine_id = take("machine_id", parse_machine_id)
    facts.dmi_uuid = take("dmi_uuid", parse_dmi_uuid)
    facts.instance_id = take("cloud_instance_id", parse_instance_id)
    init = take("init", str.strip)
    facts.init = init or None
    facts.interfaces = take("ip_addr", parse_ip_addr, required=True) or []
    facts.block_devices = take("lsblk", parse_lsblk) or []
    facts.filesystems = take("df", parse_df) or []
    sockets = take("ss", parse_ss, required=True)
    facts.sockets = sockets or []
    facts.sockets_ok = sockets is not None
    facts.packages = take("packages", parse_packages) or Packages()
    facts.processes = take("ps", parse_ps) or []
    facts.ssh_connection = take("ssh_connection", parse_ssh_connection)
    facts.lldp_chassis = take("lldp_chassis", parse_lldp_chassis)
    facts.lldp_neighbors = take("lldp_neighbors", parse_lldp_neighbors) or []
    return facts
