"""Host facts -> Observations and relations for one host (pure, no I/O)."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from cmdb.observation import CIRef, Evidence, Item, Method, Observation, ObservedRelation, observe_many, relate_many
from discovery.addressing import address_scope, split_name
from discovery.snmp.values import interface_name, name_identifiers, sys_name_key
from discovery.ssh.facts import HostFacts
from discovery.ssh.products import product_for_port, product_for_process

SOURCE = "ssh"
_CONFIG = Evidence(method=Method.CONFIG)  # immutable: one for every address relation


@dataclass(frozen=True, slots=True)
class HostContext:
    """What the scanner knows about a host besides its output."""

    name: str  # inventory name
    scope: str
    observed_at: int
    address: str | None = None  # the address the scanner connected to
    network_scope: str = "global"
    host_key: str | None = None  # SHA256 fingerprint of the SSH host key
    instance_id: str | None = None  # from the inventory (a cloud instance id known elsewhere)
    source: str = SOURCE


@dataclass(slots=True)
class Instance:
    """A listening service: one per (product, port)."""

    product: str
    port: int
    pid: int | None
    pid_name: str | None
    listen_addresses: list[str] = field(default_factory=list)

    def identifiers(self) -> dict[str, str | int]:
        return {"product": self.product, "port": self.port}


def host_identifiers(facts: HostFacts, ctx: HostContext) -> dict[str, Any]:
    """Identifying attributes of the host, strongest first (machine-id, instance id, FQDN, name)."""
    ids: dict[str, Any] = {}
    if facts.machine_id:
        ids["machine_id"] = facts.machine_id
    instance_id = ctx.instance_id or facts.instance_id
    if instance_id:
        ids["instance_id"] = instance_id
    # The short name, as the SNMP scanner gives sysName (lower case, no trailing dot, no
    # domain: a kernel hostname may be the FQDN), unique within its DNS domain.
    # The chassis id lldpd advertises (a NIC's MAC): how the switch knows this host as its LLDP neighbour.
    if facts.lldp_chassis is not None and facts.lldp_chassis.chassis_id:
        ids["chassis_id"] = facts.lldp_chassis.chassis_id
    short, domain, fqdn = split_name(facts.hostname, facts.fqdn)
    if fqdn:
        ids["fqdn"] = fqdn
    if short:
        ids["sys_name"] = short
        if domain:
            ids["dns_domain"] = domain
    return ids


def local_scope_owner(facts: HostFacts, ids: dict[str, Any], ctx: HostContext) -> str:
    """What names the host in its host-local addresses' scope (``host:<this>``): its machine-id, else its
    firmware UUID, instance id, FQDN, and only then its host name (what no other host shares, first)."""
    for value in (ids.get("machine_id"), facts.dmi_uuid, ids.get("instance_id"), ids.get("fqdn")):
        if value:
            return str(value)
    return str(facts.hostname or ctx.name)


def host_ref(facts: HostFacts, ctx: HostContext) -> CIRef | None:
    """The parent reference dependent CIs carry (machine-id when known), or None when unidentifiable."""
    ids = host_identifiers(facts, ctx)
    if not ids:
        return None
    if "machine_id" in ids:
        ids = {"machine_id": ids["machine_id"]}
    return CIRef(ci_class="host", identifiers=ids)


def listener_instances(facts: HostFacts) -> dict[tuple[str, int], Instance]:
    """Listening TCP sockets grouped into software instances keyed by (product, port)."""
    out: dict[tuple[str, int], Instance] = {}
    for sock in facts.sockets:
        if sock.state != "LISTEN":
            continue
        proc = sock.process
        product = product_for_process(proc.name) if proc else product_for_port(sock.local_port)
        key = (product, sock.local_port)
        inst = out.get(key)
        if inst is None:
            inst = out[key] = Instance(product, sock.local_port, proc.pid if proc else None, proc.name if proc else None)
        if sock.local_addr not in inst.listen_addresses:
            inst.listen_addresses.append(sock.local_addr)
    return out


def instance_ref(host: CIRef, identifiers: dict[str, Any]) -> CIRef:
    return CIRef(ci_class="software_instance", identifiers=identifiers, parent=host)


@functools.lru_cache(maxsize=8192)
def is_global_address(address: str) -> bool:
    """Loopback and link-local addresses are not CIs: every host has the same ones."""
    ip = ipaddress.ip_address(address)
    return not (ip.is_loopback or ip.is_link_local or ip.is_unspecified)


# Runtimes that run many different programs: their process name names no one service.
GENERIC_RUNTIMES = frozenset({"java", "python", "nodejs", "node", "ruby", "perl", "php", "php-fpm", "dotnet", "mono",
                              "erlang-beam", "beam.smp", "bash", "sh"})


def listener_pid_names(instances: dict[tuple[str, int], Instance]) -> dict[tuple[str, int], str]:
    """The process name of each listener that is its program's only listener on the host.

    With it a listener answers (product, process name) too, what SNMP's process table
    reports (``sshd``, ``postgres``): one CI for both. A program listening on two ports
    gives neither that name (it would name both), nor does a generic runtime (java,
    python: a client process of another program of that runtime would take it).
    """
    counts: dict[str, int] = {}
    for inst in instances.values():
        if inst.pid_name:
            counts[inst.pid_name] = counts.get(inst.pid_name, 0) + 1
    return {key: inst.pid_name for key, inst in instances.items()
            if inst.pid_name and counts[inst.pid_name] == 1 and inst.product not in GENERIC_RUNTIMES
            and inst.pid_name not in GENERIC_RUNTIMES}


@functools.lru_cache(maxsize=8192)
def network_of(address: str, prefix_length: int) -> str:
    """``10.0.0.5``, 24 -> ``10.0.0.0/24``."""
    return str(ipaddress.ip_interface(f"{address}/{prefix_length}").network)


def host_items(facts: HostFacts, ctx: HostContext) -> list[Item]:
    """Every Observation and relation one host's facts yield (dependencies excluded).

    CIs come before the relations that name them. Everything of one kind shares source, scope,
    time and parent, so it is built with :func:`observe_many` / :func:`relate_many`: validated
    once per kind, not once per item (a host has hundreds of packages, some hosts many addresses).
    """
    ids = host_identifiers(facts, ctx)
    parent = host_ref(facts, ctx)
    if parent is None:
        return []
    source, scope, observed_at = ctx.source, ctx.scope, ctx.observed_at
    attrs: dict[str, Any] = {
        "name": facts.hostname or ctx.name,
        "hostname": facts.hostname,
        "os_name": facts.os.name if facts.os else None,
        "os_version": facts.os.version if facts.os else None,
        "kernel": facts.kernel,
        "architecture": facts.architecture,
        "cpu_count": facts.cpu_count,
        "memory_mb": facts.memory_mb,
        "uptime_s": facts.uptime_s,
        "dmi_uuid": facts.dmi_uuid,
        "ssh_host_key": ctx.host_key,
        "management_ip": ctx.address,
        "status": "up",
    }
    items: list[Item] = [
        Observation(ci_class="host", identifiers=ids, attributes=_compact(attrs),
                    source=source, scope=scope, observed_at=observed_at)
    ]
    procs = {p.pid: p for p in facts.processes}

    def many(ci_class: str, rows: list[tuple[dict[str, Any], dict[str, Any]]], under: CIRef | None) -> None:
        items.extend(observe_many(ci_class, rows, parent=under, source=source, scope=scope, observed_at=observed_at))

    interfaces: list[tuple[dict[str, Any], dict[str, Any]]] = []
    addresses: list[tuple[dict[str, Any], dict[str, Any]]] = []
    subnets: list[tuple[dict[str, Any], dict[str, Any]]] = []
    subnet_refs: dict[str, CIRef] = {}  # several addresses of one subnet: one observation, one reference
    has_address: list[tuple[CIRef, CIRef]] = []
    in_network: list[tuple[CIRef, CIRef]] = []
    # Host-local addresses (docker0, virbr0) are scoped by the host's strongest identity: a short name
    # is shared by same-named hosts of two domains (and ip-10-0-1-N by hosts of several VPCs).
    host_name = local_scope_owner(facts, ids, ctx)
    for iface in facts.interfaces:
        if iface.name == "lo":
            continue
        if_ref = CIRef(ci_class="interface", identifiers={"name": iface.name}, parent=parent)
        interfaces.append(({"name": iface.name}, _compact(
            {"name": iface.name, "mac": iface.mac, "mtu": iface.mtu, "oper_status": iface.oper_status,
             "if_index": iface.if_index})))
        for addr in iface.addresses:
            if not is_global_address(addr.address):
                continue
            # docker0's 172.17.0.1, virbr0's 192.168.122.1: this host's own, not the network's.
            net_scope = address_scope(addr.address, iface.name, ctx.network_scope, str(host_name))
            ip_ref = CIRef(ci_class="ip_address", identifiers={"address": addr.address, "network_scope": net_scope})
            addresses.append(({"address": addr.address, "network_scope": net_scope}, _compact(
                {"name": addr.address, "prefix_length": addr.prefix_length, "version": addr.version, "mac": iface.mac})))
            cidr = network_of(addr.address, addr.prefix_length)
            subnet_ref = subnet_refs.get(f"{net_scope}|{cidr}")
            if subnet_ref is None:
                subnet_ref = subnet_refs[f"{net_scope}|{cidr}"] = CIRef(
                    ci_class="subnet", identifiers={"cidr": cidr, "network_scope": net_scope})
                subnets.append(({"cidr": cidr, "network_scope": net_scope}, {"name": cidr}))
            has_address.append((if_ref, ip_ref))
            in_network.append((ip_ref, subnet_ref))
    many("interface", interfaces, parent)
    many("ip_address", addresses, None)
    many("subnet", subnets, None)
    many("filesystem", [
        ({"mount_point": fs.mount_point}, {"name": fs.mount_point, "fs_type": fs.fs_type, "size_mb": fs.size_mb,
                                           "used_mb": fs.used_mb, "device_name": fs.device_name})
        for fs in facts.filesystems
    ], parent)
    # A generator, not a list: each row's tuple is gone before the next is made.
    items.extend(observe_many("software_package", (
        ({"package_name": name}, {"name": name, "version": version, "architecture": arch})
        for name, version, arch in facts.packages.rows()
    ), parent=parent, source=source, scope=scope, observed_at=observed_at))
    instances: list[tuple[dict[str, Any], dict[str, Any]]] = []
    listeners = listener_instances(facts)
    pid_names = listener_pid_names(listeners)
    for key, inst in listeners.items():
        proc = procs.get(inst.pid) if inst.pid is not None else None
        instances.append((inst.identifiers(), _compact(
            # pid_name only for a program's only listener: two listeners of one program
            # (python on 8080 and on 9100) must stay two CIs.
            {"name": f"{inst.product}:{inst.port}", "process_name": inst.pid_name, "pid_name": pid_names.get(key),
             "listen_addresses": sorted(inst.listen_addresses),
             "user": proc.user if proc else None, "command": proc.args[:500] if proc else None}
        )))
    many("software_instance", instances, parent)
    for rel_type, ends in (("HAS_ADDRESS", has_address), ("IN_NETWORK", in_network)):
        items.extend(relate_many(rel_type, ends, evidence=_CONFIG, source=source, scope=scope, observed_at=observed_at))
    items.extend(lldp_items(facts, ctx, parent, {i.name for i in facts.interfaces}))
    return items


def lldp_items(facts: HostFacts, ctx: HostContext, host: CIRef, local_names: set[str]) -> list[Item]:
    """The switch ports lldpd hears, as the SNMP scanner's LLDP path states a link: the neighbour and
    its port (hearsay: the switch's own scan ranks above), and CONNECTS_TO between the two interfaces
    and the two devices, from the smaller end whichever end reports it (one edge per physical link)."""
    if not facts.lldp_neighbors:
        return []
    out: list[Item] = []
    source, scope, at = ctx.source, ctx.scope, ctx.observed_at
    advertised = facts.lldp_chassis.name if facts.lldp_chassis is not None else None
    chassis = facts.lldp_chassis.chassis_id if facts.lldp_chassis is not None else None
    # What the switch's LLDP path keys this host by: the name lldpd advertises, else its chassis id.
    mine_key = sys_name_key(advertised) or chassis or sys_name_key(facts.fqdn or facts.hostname) or ""
    attrs = {"protocol": "lldp"}
    for entry in facts.lldp_neighbors:
        ids: dict[str, Any] = {"chassis_id": entry.chassis_id} if entry.chassis_id else {}
        ids.update(name_identifiers(entry.sys_name))
        if not ids or entry.local_interface not in local_names:
            continue
        neighbour = CIRef(ci_class="network_device", identifiers=ids)
        out.append(Observation(ci_class="network_device", identifiers=ids, attributes=_compact({
            "name": entry.sys_name, "sys_descr": entry.sys_descr, "management_ip": entry.management_ip}),
            source=source, scope=scope, observed_at=at, hearsay=True))
        local_if = CIRef(ci_class="interface", identifiers={"name": entry.local_interface}, parent=host)
        port = interface_name(entry.port)
        if port is None:
            out.append(ObservedRelation(type="CONNECTS_TO", from_ci=host, to_ci=neighbour, attributes=attrs,
                                        evidence=_CONFIG, source=source, scope=scope, observed_at=at))
            continue
        remote_if = CIRef(ci_class="interface", identifiers={"name": port}, parent=neighbour)
        out.append(Observation(ci_class="interface", identifiers={"name": port}, attributes={"name": port},
                               parent=neighbour, source=source, scope=scope, observed_at=at, hearsay=True))
        theirs = (sys_name_key(entry.sys_name) or entry.chassis_id or "", port)
        ends = [(local_if, remote_if), (host, neighbour)]
        if theirs < (mine_key, entry.local_interface):
            ends = [(b, a) for a, b in ends]
        for a, b in ends:
            out.append(ObservedRelation(type="CONNECTS_TO", from_ci=a, to_ci=b, attributes=attrs,
                                        evidence=_CONFIG, source=source, scope=scope, observed_at=at))
    return out


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
