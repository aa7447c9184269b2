"""Typed facts parsed from one host's collection output (no I/O, no CMDB types)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Address:
    address: str
    prefix_length: int
    version: int


@dataclass(frozen=True, slots=True)
class InterfaceFact:
    name: str
    mac: str | None
    mtu: int | None
    oper_status: str | None
    if_index: int | None
    addresses: tuple[Address, ...] = ()


@dataclass(frozen=True, slots=True)
class FilesystemFact:
    mount_point: str
    device_name: str
    fs_type: str
    size_mb: int
    used_mb: int


@dataclass(frozen=True, slots=True)
class BlockDevice:
    name: str
    type: str
    size_bytes: int
    fs_type: str | None
    mount_point: str | None


@dataclass(frozen=True, slots=True)
class PackageFact:
    name: str
    version: str
    architecture: str


@dataclass(frozen=True, slots=True)
class ProcessFact:
    pid: int
    ppid: int
    user: str
    name: str
    args: str


@dataclass(frozen=True, slots=True)
class SocketProcess:
    name: str
    pid: int


@dataclass(frozen=True, slots=True)
class SocketFact:
    """One TCP socket from ``ss -tanp`` (addresses normalised, IPv4-mapped unwrapped)."""

    state: str
    local_addr: str
    local_port: int
    peer_addr: str
    peer_port: int
    processes: tuple[SocketProcess, ...] = ()

    @property
    def process(self) -> SocketProcess | None:
        return self.processes[0] if self.processes else None


@dataclass(frozen=True, slots=True)
class OSRelease:
    id: str | None
    name: str | None
    version: str | None
    pretty_name: str | None


@dataclass(slots=True)
class HostFacts:
    """Everything read from one host; ``errors`` names each section that failed or made no sense."""

    hostname: str | None = None
    fqdn: str | None = None
    os: OSRelease | None = None
    kernel: str | None = None
    architecture: str | None = None
    cpu_count: int | None = None
    memory_mb: int | None = None
    uptime_s: int | None = None
    machine_id: str | None = None
    dmi_uuid: str | None = None
    instance_id: str | None = None
    init: str | None = None
    interfaces: list[InterfaceFact] = field(default_factory=list)
    block_devices: list[BlockDevice] = field(default_factory=list)
    filesystems: list[FilesystemFact] = field(default_factory=list)
    sockets: list[SocketFact] = field(default_factory=list)
    packages: list[PackageFact] = field(default_factory=list)
    processes: list[ProcessFact] = field(default_factory=list)
    ssh_connection: tuple[str, int, str, int] | None = None  # client addr, port, server addr, port
    errors: list[str] = field(default_factory=list)
    sockets_ok: bool = False  # the ss section was read and parsed

    def listen_ports(self) -> set[int]:
        return {s.local_port for s in self.sockets if s.state == "LISTEN"}

    def addresses(self) -> set[str]:
        return {a.address for i in self.interfaces for a in i.addresses}
