"""What one walked device is, as the builder and the scope's link joining see it.

``DeviceWalk`` (what was read), ``BuildContext`` (the scan's scope), and the builder's
result: ``DeviceResult`` with its ``Neighbor`` reports and the ``DevicePorts`` that turn
a port id a neighbour sent into one of its interfaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cmdb.observation import CIRef, Item, Observation
from discovery.snmp.parsers.lldp import PORT_ALIAS, PORT_MAC
from discovery.snmp.unmapped import UnmappedRows
from discovery.snmp.values import Oid, Value, interface_name


@dataclass
class DeviceWalk:
    """Everything read from one device: GET scalars and walked table varbinds."""

    address: str
    scalars: dict[Oid, Value] = field(default_factory=dict)
    values: dict[Oid, Value] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # walks that stopped early: the device is not whole
    capped: list[str] = field(default_factory=list)  # tables cut at their row cap: only those are partial


@dataclass(frozen=True)
class BuildContext:
    scope: str
    observed_at: int
    source: str = "snmp"
    network_scope: str = "global"
    dns_domain: str | None = None  # the targets' domain of a device whose own sysName is short


@dataclass(frozen=True)
class RemotePort:
    """The far end's port as the neighbour sent it.

    ``subtype``: the LLDP port id subtype (None for CDP, which sends a name); ``port_id``:
    the id as text; ``name``: the interface it names by itself, or None when it is a
    local number, a MAC, an alias or an address that only the neighbour's own tables
    can turn into an interface.
    """

    subtype: int | None
    port_id: str | None
    name: str | None


@dataclass(frozen=True)
class Neighbor:
    """A device seen on the far end of a link, and the link itself."""

    key: str  # sys_name key or chassis id
    ref: CIRef
    local_interface: str
    remote_port: RemotePort
    protocol: str
    management_addresses: tuple[str, ...]
    attributes: dict[str, Any]
    # The hearsay observation of the neighbour in its reporter's items (see links.settle_hearsay).
    observation: Observation | None = field(default=None, compare=False)

    @property
    def remote_interface(self) -> str | None:
        return self.remote_port.name


@dataclass
class DevicePorts:
    """What turns a port id a neighbour sent about this device into one of its interfaces."""

    names: set[str] = field(default_factory=set)
    by_mac: dict[str, set[str]] = field(default_factory=dict)
    by_port_id: dict[tuple[int | None, str], str] = field(default_factory=dict)  # lldpLocPortTable

    def resolve(self, port: RemotePort) -> str | None:
        """The interface ``port`` denotes here, or None if this device's tables do not say."""
        if port.port_id is None:
            return None
        if port.subtype is not None:
            joined = self.by_port_id.get((port.subtype, port.port_id))
            if joined is not None:
                return joined
            if port.subtype == PORT_MAC:
                owners = self.by_mac.get(port.port_id.lower(), set())
                return next(iter(owners)) if len(owners) == 1 else None
        named = port.name or (interface_name(port.port_id) if port.subtype in (None, PORT_ALIAS) else None)
        return named if named in self.names else None


@dataclass
class DeviceResult:
    """The items of one device plus what the run summary and the crawler need."""

    address: str
    ci_class: str | None = None
    name: str | None = None
    identity: tuple[tuple[str, str], ...] = ()
    ref: CIRef | None = None  # the device as its own scan identifies it
    key: str = ""  # its name key (or chassis id): what orders the two ends of a link
    ports: DevicePorts = field(default_factory=DevicePorts)
    items: list[Item] = field(default_factory=list)
    neighbors: list[Neighbor] = field(default_factory=list)
    own_addresses: set[str] = field(default_factory=set)
    # Rows read but not described (no such interface, unreadable, no identity): each one
    # named, so the device's line in the summary says ``partial`` and why.
    problems: list[str] = field(default_factory=list)
    error: str | None = None  # set when the device could not be described at all
    arp: dict[str, str] = field(default_factory=dict)  # mac -> ip, from this device's ARP table
    fdb: list[tuple[CIRef, str, int | None]] = field(default_factory=list)  # (access port, mac, vlan)
    # ARP and forwarding rows on a port the device's own tables do not resolve: warnings.
    unmapped: UnmappedRows = field(default_factory=UnmappedRows)

