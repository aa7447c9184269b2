"""Typed facts parsed from one host's collection output (no I/O, no CMDB types)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple


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
class LldpChassis:
    """What the host's own lldpd advertises: its chassis id (often a NIC's MAC) and system name."""

    chassis_id: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class LldpNeighborFact:
    """One LLDP neighbour lldpd heard on a local interface (a switch port, usually)."""

    local_interface: str
    chassis_id: str | None
    sys_name: str | None
    port: str | None  # the neighbour's interface, canonical name
    management_ip: str | None = None
    sys_descr: str | None = None


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


class PackageFact(NamedTuple):
    """One installed package."""

    name: str
    version: str
    architecture: str


@dataclass(frozen=True, slots=True)
class Packages:
    """A host's installed packages as three columns of one length.

    Hundreds per host: columns instead of an object per package keep the parse cheap and give
    the garbage collector hundreds fewer objects to count per host. Iterating yields PackageFacts.
    """

    names: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[PackageFact]:
        return map(PackageFact, self.names, self.versions, self.architectures)

    def rows(self) -> Iterator[tuple[str, str, str]]:
        """(name, version, architecture) per package, without building PackageFacts."""
        return zip(self.names, self.versions, self.architectures, strict=True)


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
    packages: Packages = field(default_factory=Packages)
    processes: list[ProcessFact] = field(default_factory=list)
    ssh_connection: tuple[str, int, str, int] | None = None  # client addr, port, server addr, port
    lldp_chassis: LldpChassis | None = None  # None: no lldpd on the host (or it said nothing)
    lldp_neighbors: list[LldpNeighborFact] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sockets_ok: bool = False  # the ss section was read and parsed

    def listen_ports(self) -> set[int]:
        return {s.local_port for s in self.sockets if s.state == "LISTEN"}

    def addresses(self) -> set[str]:
        return {a.address for i in self.interfaces for a in i.addresses}
