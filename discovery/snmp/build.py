"""One walked device -> Observations and ObservedRelations (pure).

What identifies what:
- the device by ``serial_number`` (ENTITY-MIB chassis), ``chassis_id`` (LLDP local
  chassis id) and ``sys_name`` (lower case, CDP serial suffix dropped), whichever
  are present: the ingest pipeline tries them in the schema's order;
- an LLDP/CDP neighbour by the ``chassis_id`` and/or ``sys_name`` its peer
  advertises, as a ``network_device`` (refined when scanned itself): the same
  identifiers the device reports about itself, so both end as one CI;
- interfaces by canonical name inside their device; addresses by
  (address, network_scope).
Links are not emitted here: each device lists its neighbours with the port id the
neighbour sent, and ``discovery.snmp.links`` joins them over the whole scope (a
neighbour scanned too is described by its own identifiers and interfaces), so a
physical link is one edge whichever end reported it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cmdb.observation import CIRef, Evidence, Item, Method, Observation, ObservedRelation
from discovery.addressing import is_host_local

# The device types moved to discovery/snmp/device.py; importers of this module still find them here.
from discovery.snmp.device import BuildContext as BuildContext
from discovery.snmp.device import DeviceResult as DeviceResult
from discovery.snmp.device import DeviceWalk as DeviceWalk
from discovery.snmp.device import Neighbor as Neighbor
from discovery.snmp.device import RemotePort as RemotePort
from discovery.snmp.parsers.cdp import device_serial, parse_cdp
from discovery.snmp.parsers.entity import parse_chassis
from discovery.snmp.parsers.forwarding import bridge_ports, parse_arp, parse_fdb
from discovery.snmp.parsers.host_resources import parse_processes, parse_storage
from discovery.snmp.parsers.interfaces import InterfaceInfo, parse_interfaces
from discovery.snmp.parsers.ip import AddressInfo, parse_addresses
from discovery.snmp.parsers.lldp import CAP_BRIDGE, CAP_ROUTER, LldpNeighbor, parse_local_ports, parse_neighbors
from discovery.snmp.parsers.system import SystemInfo, classify, parse_system, software_version, vendor
from discovery.snmp.values import Oid, Value, interface_name, name_identifiers, sys_name_key

NETWORK_CLASSES = frozenset({"network_device", "switch", "router", "firewall", "load_balancer"})



def device_identifiers(system: SystemInfo, serial: str | None, dns_domain: str | None = None) -> dict[str, str]:
    """The device's own identifiers; ``dns_domain``: the domain its short sysName is in, if configured.

    A short sysName alone (Net-SNMP's default: the kernel's host name) names any same-named
    host of any domain: with the site's domain it names this one (its FQDN too), as SSH does.
    """
    ids: dict[str, str] = {}
    if serial:
        ids["serial_number"] = serial
    if system.chassis_id:
        ids["chassis_id"] = system.chassis_id
    ids.update(name_identifiers(system.sys_name or system.lldp_sys_name))
    if dns_domain and "sys_name" in ids and "dns_domain" not in ids:
        ids.update(name_identifiers(f"{ids['sys_name']}.{dns_domain}"))
    return ids


def _neighbor_ref(chassis: str | None, name: str | None, serial: str | None = None) -> CIRef | None:
    ids: dict[str, str] = {}
    if serial:
        ids["serial_number"] = serial
    if chassis:
        ids["chassis_id"] = chassis
    ids.update(name_identifiers(name))
    return CIRef(ci_class="network_device", identifiers=ids) if ids else None


def _cdp_serials(values: Mapping[Oid, Value], interfaces: dict[int, InterfaceInfo]) -> dict[tuple[str, str], str]:
    """(local interface, neighbour name key) -> the serial its CDP device id carries, where only one does."""
    seen: dict[tuple[str, str], set[str]] = {}
    for entry in parse_cdp(values):
        local, key = interfaces.get(entry.if_index), sys_name_key(entry.device_id)
        if local is not None and key and entry.serial_number:
            seen.setdefault((local.name, key), set()).add(entry.serial_number)
    return {k: next(iter(v)) for k, v in seen.items() if len(v) == 1}


def neighbor_name(sys_name: str | None, chassis: str | None, addresses: tuple[str, ...]) -> str | None:
    """What to call a neighbour: its system name, else its chassis id, else its management address."""
    return sys_name or chassis or (addresses[0] if addresses else None)


def _clean(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if v is not None}


class _Builder:
    def __init__(self, walk: DeviceWalk, ctx: BuildContext) -> None:
        self.walk = walk
        self.ctx = ctx
        self.result = DeviceResult(address=walk.address)
        self.cdp_serials: dict[tuple[str, str], str] = {}
        self.per_port_serials: set[str] = set()

    # -- small constructors --------------------------------------------------
    def obs(self, cls: str, ids: Mapping[str, Any], attrs: dict[str, Any], parent: CIRef | None = None,
            hearsay: bool = False) -> None:
        self.result.items.append(Observation(
            source=self.ctx.source, scope=self.ctx.scope, ci_class=cls, identifiers=dict(ids),
            attributes=_clean(attrs), parent=parent, observed_at=self.ctx.observed_at, hearsay=hearsay,
        ))

    def rel(self, kind: str, a: CIRef, b: CIRef, attrs: dict[str, Any], method: Method, confidence: float) -> None:
        self.result.items.append(ObservedRelation(
            source=self.ctx.source, scope=self.ctx.scope, type=kind, from_ci=a, to_ci=b,
            attributes=_clean(attrs), evidence=Evidence(method=method, confidence=confidence),
            observed_at=self.ctx.observed_at,
        ))

    def iface_ref(self, device: CIRef, name: str) -> CIRef:
        return CIRef(ci_class="interface", identifiers={"name": name}, parent=device)

    # -- the device ------------------------------------------------------------
    def build(self) -> DeviceResult:
        walk, values = self.walk, self.walk.values
        system = parse_system(walk.scalars)
        chassis = parse_chassis(values)
        ids = device_identifiers(system, chassis.serial_number if chassis else None, self.ctx.dns_domain)
        if not ids:
            self.result.error = "device has no sysName, LLDP chassis id or serial number to identify it"
            return self.result
        ports = bridge_ports(values)
        cls = classify(system, has_bridge_table=system.services is None and bool(ports))
        self.result.ci_class = cls
        self.result.name = system.sys_name or system.lldp_sys_name
        # What recognises one device answering on two addresses: its strong identifiers and its
        # full name (a short name and a domain alone are shared by other devices).
        self.result.identity = tuple(sorted((k, v) for k, v in ids.items() if k != "dns_domain"
                                            and not (k == "sys_name" and "fqdn" in ids)))
        device = CIRef(ci_class=cls, identifiers=ids)
        self.device = device
        self.result.ref = device
        self.result.key = sys_name_key(self.result.name) or system.chassis_id or str(next(iter(ids.values())))
        host = walk.address.rsplit(":", 1)[0] if walk.address.count(":") == 1 else walk.address
        attrs: dict[str, Any] = {
            "name": self.result.name,
            "hostname": (system.sys_name or "").split(".")[0] or None,
            "vendor": vendor(system) or (chassis.vendor if chassis else None),
            "model": chassis.model if chassis else None,
            "management_ip": host,
        }
        if cls in NETWORK_CLASSES:
            attrs.update({
                "sys_object_id": system.sys_object_id, "sys_descr": system.sys_descr,
                "sys_contact": system.contact, "sys_location": system.location,
                "software_version": (chassis.software_version if chassis else None) or software_version(system),
                "uptime_s": system.uptime_s,
            })
        elif cls == "host":
            parts = (system.sys_descr or "").split()
            attrs.update({
                "os_name": parts[0] if parts else None,
                "kernel": parts[2] if len(parts) > 2 and parts[0] == "Linux" else None,
                "uptime_s": system.uptime_s,
            })
        self.obs(cls, ids, attrs)

        interfaces = parse_interfaces(values, self.result.problems)
        for info in interfaces.values():
            self.interface(info)
            self.result.ports.names.add(info.name)
            if info.mac:
                self.result.ports.by_mac.setdefault(info.mac, set()).add(info.name)
        addresses = parse_addresses(values, self.result.problems)
        self.result.own_addresses = {a.address for a in addresses}
        self.addresses(addresses, interfaces)
        self.cdp_serials = _cdp_serials(values, interfaces)
        linked = self.lldp(values, interfaces, ports) | self.cdp(values, interfaces)
        self.forwarding(values, interfaces, linked)
        if cls == "host":
            self.host_resources(values)
        return self.result

    def interface(self, info: InterfaceInfo) -> None:
        self.obs("interface", {"name": info.name}, {
            "name": info.name, "if_index": info.if_index, "alias": info.alias, "if_type": info.if_type,
            "speed_mbps": info.speed_mbps, "mac": info.mac, "admin_status": info.admin_status,
            "oper_status": info.oper_status, "mtu": info.mtu, "description": info.descr,
        }, parent=self.device)

    def address_ref(self, address: str, network_scope: str | None = None) -> CIRef:
        return CIRef(ci_class="ip_address",
                     identifiers={"address": address, "network_scope": network_scope or self.ctx.network_scope})

    def addresses(self, addresses: list[AddressInfo], interfaces: dict[int, InterfaceInfo]) -> None:
        host_name = self.result.name if self.result.ci_class == "host" else None  # sysName: the kernel's host name
        for info in addresses:
            if not info.interesting:
                continue
            owner = interfaces.get(info.if_index) if info.if_index is not None else None
            if host_name is not None and is_host_local(info.address, owner.name if owner else None):
                # A host's docker0/virbr0 address is its own, scoped by the host's strong identity
                # (machine-id, as SSH sends it), which a host's SNMP agent does not tell: its sysName
                # is shared by same-named hosts of other domains. Left to SSH rather than put on the
                # wrong host or made a second CI of the same address.
                continue
            scope = self.ctx.network_scope
            ref = self.address_ref(info.address, scope)
            self.obs("ip_address", ref.identifiers, {
                "name": info.address, "prefix_length": info.prefix_length, "version": info.version,
            })
            holder = self.iface_ref(self.device, owner.name) if owner else self.device
            self.rel("HAS_ADDRESS", holder, ref, {}, Method.CONFIG, 1.0)
            network = info.network
            if network and info.prefix_length not in (32, 128):
                subnet = {"cidr": network, "network_scope": scope}
                self.obs("subnet", subnet, {"name": network})
                self.rel("IN_NETWORK", ref, CIRef(ci_class="subnet", identifiers=subnet), {}, Method.CONFIG, 1.0)

    # -- neighbours --------------------------------------------------------------
    def _local_interface(
        self, port_num: int, interfaces: dict[int, InterfaceInfo], local_ports: Mapping[int, Any], ports: dict[int, int]
    ) -> str | None:
        """The interface of the ifTable an LLDP local port number denotes, or None."""
        by_name = {i.name for i in interfaces.values()}
        local = local_ports.get(port_num)
        if local is not None:
            for candidate in (local.port_id, local.descr):
                name = interface_name(candidate)
                if name in by_name:
                    return name
        if port_num in interfaces:
            return interfaces[port_num].name
        if port_num in ports and ports[port_num] in interfaces:
            return interfaces[ports[port_num]].name
        return None

    def _neighbor(self, neighbor: Neighbor) -> None:
        # Hearsay: what this device says about its neighbour ranks below the neighbour's own scan.
        self.obs("network_device", neighbor.ref.identifiers, neighbor.attributes, hearsay=True)
        observation = self.result.items[-1]
        assert isinstance(observation, Observation)
        self.result.neighbors.append(replace(neighbor, observation=observation))

    def lldp(self, values: Mapping[Oid, Value], interfaces: dict[int, InterfaceInfo], ports: dict[int, int]) -> set[str]:
        linked: set[str] = set()
        local_ports = parse_local_ports(values)
        for num, local in local_ports.items():
            name = self._local_interface(num, interfaces, local_ports, ports)
            if name is not None and local.port_id is not None:
                self.result.ports.by_port_id[(local.port_id_subtype, local.port_id)] = name
        entries = parse_neighbors(values, self.result.problems)
        # A peer CDP knows by one serial, seen by LLDP under several chassis ids (on several ports):
        # those are per-port ids (NX-OS sends each port's MAC), not its chassis id.
        chassis_by_serial: dict[str, set[str]] = {}
        for entry in entries:
            iface = self._local_interface(entry.local_port_num, interfaces, local_ports, ports)
            serial = self.cdp_serials.get((iface or "", sys_name_key(entry.sys_name) or ""))
            if serial is not None and entry.chassis_id:
                chassis_by_serial.setdefault(serial, set()).add(entry.chassis_id)
        self.per_port_serials = {s for s, chassis in chassis_by_serial.items() if len(chassis) > 1}
        for entry in entries:
            self._lldp_one(entry, interfaces, local_ports, ports, linked)
        return linked

    def _lldp_one(
        self, entry: LldpNeighbor, interfaces: dict[int, InterfaceInfo], local_ports: Mapping[int, Any],
        ports: dict[int, int], linked: set[str],
    ) -> None:
        chassis, serial = entry.chassis_id, None
        if chassis is not None and device_serial(chassis):
            # A locally assigned chassis id in CDP's ``name(SERIAL)`` form (seen from a ProCurve of an
            # NX-OS peer): the serial and the name identify the peer; the string is no id it reports itself.
            chassis, serial = None, device_serial(chassis)
        ref = _neighbor_ref(chassis, entry.sys_name or (entry.chassis_id if serial else None), serial)
        if ref is None:
            self.result.problems.append(
                f"LLDP neighbour on local port {entry.local_port_num}: no chassis id or system name, dropped")
            return
        local = self._local_interface(entry.local_port_num, interfaces, local_ports, ports)
        if local is None:
            self.result.problems.append(
                f"LLDP neighbour {entry.sys_name or entry.chassis_id} on local port {entry.local_port_num}: "
                "no such interface in the ifTable, dropped")
            return
        cdp_serial = self.cdp_serials.get((local, sys_name_key(entry.sys_name) or ""))
        if cdp_serial is not None and serial is None:
            # The same neighbour by CDP on this same port, by the same name, tells its serial: a strong
            # id it reports itself; its chassis id is kept unless it is shown to be a per-port one.
            per_port = cdp_serial in self.per_port_serials
            ref = _neighbor_ref(None if per_port else chassis, entry.sys_name, cdp_serial) or ref
        caps = entry.capabilities or 0
        role = "router" if caps & CAP_ROUTER and not caps & CAP_BRIDGE else "switch" if caps & CAP_BRIDGE else None
        key = sys_name_key(entry.sys_name) or str(ref.identifiers.get("chassis_id") or ref.identifiers["sys_name"])
        linked.add(local)
        self._neighbor(Neighbor(
            key=key, ref=ref, local_interface=local,
            remote_port=RemotePort(entry.port_id_subtype, entry.port_id, entry.port), protocol="lldp",
            management_addresses=entry.management_addresses,
            attributes={
                "name": neighbor_name(entry.sys_name, entry.chassis_id, entry.management_addresses),
                "sys_descr": entry.sys_descr,
                "management_ip": entry.management_addresses[0] if entry.management_addresses else None,
                "description": f"seen by LLDP as a {role}" if role else None,
            },
        ))

    def cdp(self, values: Mapping[Oid, Value], interfaces: dict[int, InterfaceInfo]) -> set[str]:
        linked: set[str] = set()
        for entry in parse_cdp(values, self.result.problems):
            ref = _neighbor_ref(entry.chassis_id, entry.device_id, entry.serial_number)
            if ref is None:
                self.result.problems.append(f"CDP neighbour on ifIndex {entry.if_index}: no device id, dropped")
                continue
            local = interfaces.get(entry.if_index)
            if local is None:
                self.result.problems.append(
                    f"CDP neighbour {entry.device_id or entry.chassis_id} on ifIndex {entry.if_index}: "
                    "no such interface in the ifTable, dropped")
                continue
            linked.add(local.name)
            addresses = (entry.address,) if entry.address else ()
            self._neighbor(Neighbor(
                key=sys_name_key(entry.device_id) or str(ref.identifiers["chassis_id"]), ref=ref,
                local_interface=local.name, remote_port=RemotePort(None, entry.port, entry.port), protocol="cdp",
                management_addresses=addresses,
                attributes={"name": neighbor_name(entry.device_id, entry.chassis_id, addresses),
                            "model": entry.platform, "management_ip": entry.address},
            ))
        return linked

    # -- forwarding evidence -------------------------------------------------------
    def forwarding(self, values: Mapping[Oid, Value], interfaces: dict[int, InterfaceInfo], linked: set[str]) -> None:
        unmapped = self.result.unmapped
        for entry in parse_arp(values):
            self.result.arp.setdefault(entry.mac, entry.ip)
            # A device lists its own addresses in its ARP table: they are not behind its ports.
            if entry.ip in self.result.own_addresses or not AddressInfo(entry.ip, None, None, entry.version).interesting:
                continue
            ref = self.address_ref(entry.ip)
            # An ARP entry is hearsay about the address's holder; its binding holds whatever the port.
            self.obs("ip_address", ref.identifiers, {"name": entry.ip, "mac": entry.mac, "version": entry.version},
                     hearsay=True)
            owner = interfaces.get(entry.if_index)
            if owner is None:
                unmapped.add(entry.table, "ifIndex", entry.if_index, "not in the ifTable",
                             "address-MAC bindings kept, no SEEN_BEHIND")
                continue
            self.rel("SEEN_BEHIND", self.iface_ref(self.device, owner.name), ref,
                     {"via": "arp", "mac": entry.mac}, Method.TRAFFIC, 0.7)
        for fdb in parse_fdb(values):
            owner = interfaces.get(fdb.if_index) if fdb.if_index is not None else None
            if owner is None:
                if fdb.if_index is None:
                    unmapped.add(fdb.table, "bridge port", fdb.port, "no ifIndex in dot1dBasePortTable", "dropped")
                else:
                    unmapped.add(fdb.table, "bridge port", fdb.port, "its ifIndex is not in the ifTable", "dropped",
                                 label=f"{fdb.port} (ifIndex {fdb.if_index})")
            # Uplinks (ports with an LLDP/CDP neighbour) see every MAC behind the neighbour: skip.
            elif owner.name not in linked:
                self.result.fdb.append((self.iface_ref(self.device, owner.name), fdb.mac, fdb.vlan))

    def host_resources(self, values: Mapping[Oid, Value]) -> None:
        for proc in parse_processes(values):
            self.obs("software_instance", {"product": proc.name, "pid_name": proc.name},
                     {"name": proc.name, "command": proc.path}, parent=self.device)
        for disk in parse_storage(values):
            self.obs("filesystem", {"mount_point": disk.mount_point},
                     {"name": disk.mount_point, "size_mb": disk.size_mb, "used_mb": disk.used_mb,
                      "fs_type": "network" if disk.network else None}, parent=self.device)


def build_device(walk: DeviceWalk, ctx: BuildContext) -> DeviceResult:
    """Describe one walked device; never raises on odd data (problems are listed)."""
    return _Builder(walk, ctx).build()


def forwarding_relations(results: list[DeviceResult], ctx: BuildContext) -> list[Item]:
    """SEEN_BEHIND access port -> address, for MACs learned on a port whose address some
    device of the scope (a router, an L3 switch) has in its ARP table."""
    ip_by_mac: dict[str, str] = {}
    for result in results:
        for hw, ip in result.arp.items():
            ip_by_mac.setdefault(hw, ip)
    out: list[Item] = []
    for result in results:
        for port, hw, vlan in result.fdb:
            seen_ip = ip_by_mac.get(hw)
            if seen_ip is None or seen_ip in result.own_addresses:
                continue
            out.append(ObservedRelation(
                source=ctx.source, scope=ctx.scope, type="SEEN_BEHIND", from_ci=port,
                to_ci=CIRef(ci_class="ip_address", identifiers={"address": seen_ip, "network_scope": ctx.network_scope}),
                attributes=_clean({"via": "fdb", "mac": hw, "vlan": vlan}),
                evidence=Evidence(method=Method.TRAFFIC, confidence=0.9), observed_at=ctx.observed_at,
            ))
    return out
