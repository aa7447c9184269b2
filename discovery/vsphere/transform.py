"""Pure transforms from a recorded vCenter inventory (``client.collect``) to Observations.

No I/O here: the input is the plain records the client returns (and the tests
replay from ``tests/data/vsphere/``).

What becomes what:

- datacenter -> ``location`` (kind ``vsphere_datacenter``); clusters, hosts,
  datastores and networks are LOCATED_IN it;
- cluster -> ``cluster`` (kind ``vsphere_cluster``) HAS_MEMBER each host, with
  ``min_up`` from its HA admission control (see :func:`cluster_min_up`);
- ESXi host -> ``physical_server`` identified by its BIOS UUID (``dmi_uuid``),
  with its serial when the vCenter shows one no other host shares;
- VM -> ``virtual_machine`` identified by its BIOS UUID (``dmi_uuid``, the value
  an SSH scan of the guest reads from DMI, so both are one CI) and its instance
  UUID (``instance_id``); HOSTED_ON its host (a host failure takes its VMs down),
  DEPENDS_ON its datastores (their disks live there), IN_NETWORK its port groups,
  USES its resource pool (informational), HAS_ADDRESS the guest's addresses;
- datastore -> ``volume`` (identified by its URL, the same in every vCenter that
  mounts it); port group / distributed switch -> ``network`` (a switch CONTAINS
  its port groups); resource pool -> ``resource_pool`` (its parent CONTAINS it).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cmdb.observation import CIRef, Item, Observation, ObservedRelation

SOURCE = "vsphere"

_COMPUTE = ("ComputeResource", "ClusterComputeResource")
_POOLS = ("ResourcePool", "VirtualApp")
_NETWORKS = ("Network", "DistributedVirtualPortgroup", "OpaqueNetwork")
_SWITCHES = ("DistributedVirtualSwitch", "VmwareDistributedVirtualSwitch")


@dataclass(slots=True)
class Transformed:
    """The items of one vCenter, per class/type counts, and what could not be read (per object)."""

    items: list[Item] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Out:
    scope: str
    observed_at: int
    cis: list[Item] = field(default_factory=list)
    rels: list[Item] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def ci(self, ref: CIRef, attributes: dict[str, Any]) -> None:
        self.cis.append(Observation(source=SOURCE, scope=self.scope, ci_class=ref.ci_class,
                                    identifiers=ref.identifiers,
                                    attributes={k: v for k, v in attributes.items() if v is not None and v != ""},
                                    observed_at=self.observed_at))
        self.counts[ref.ci_class] += 1

    def rel(self, rel_type: str, source: CIRef | None, target: CIRef | None) -> None:
        if source is None or target is None:
            return
        self.rels.append(ObservedRelation(source=SOURCE, scope=self.scope, type=rel_type, from_ci=source,
                                          to_ci=target, observed_at=self.observed_at))
        self.counts[rel_type] += 1


# -- identifiers ---------------------------------------------------------------------------------------


def object_id(vcenter: str, moid: str) -> str:
    """A managed object's id, unique across vCenters (moids are unique only within one)."""
    return f"vsphere:{vcenter}:{moid}"


def _uuid(value: Any) -> str | None:
    text = str(value or "").strip().lower()
    return text or None


def vm_ref(props: dict[str, Any]) -> CIRef | None:
    """A VM by BIOS UUID and instance UUID (either suffices; None when vCenter gives neither)."""
    ids = {k: v for k, v in (("dmi_uuid", _uuid(props.get("config.uuid"))),
                             ("instance_id", _uuid(props.get("config.instanceUuid")))) if v}
    guest = str(props.get("guest.hostName") or "").strip().rstrip(".").lower()
    if ids and "." in guest and not _is_ip(guest):
        # The guest's FQDN (VMware Tools): a name, refused wherever a UUID disagrees; it lets a
        # rebuilt VM take what name-only sources said of its name from the old VM's CI.
        ids["fqdn"] = guest
    return CIRef(ci_class="virtual_machine", identifiers=ids) if ids else None


def host_ref(props: dict[str, Any]) -> CIRef | None:
    uuid = _uuid((props.get("hardware.systemInfo") or {}).get("uuid"))
    return CIRef(ci_class="physical_server", identifiers={"dmi_uuid": uuid}) if uuid else None


def host_serial(props: dict[str, Any]) -> str | None:
    """The host's serial: ``serialNumber`` (API 6.7+), else the SMBIOS service tag."""
    info = props.get("hardware.systemInfo") or {}
    serial = str(info.get("serialNumber") or "").strip()
    if serial:
        return serial
    for other in info.get("otherIdentifyingInfo") or ():
        if (other.get("identifierType") or {}).get("key") == "ServiceTag":
            value = str(other.get("identifierValue") or "").strip()
            if value:
                return value
    return None


# -- HA ---------------------------------------------------------------------------------------------


def cluster_min_up(das: dict[str, Any] | None, hosts: int) -> str | None:
    """How many of a cluster's hosts must stay up, from its HA admission control.

    HA off: every host ("100%"), since nothing restarts a failed host's VMs. HA on
    with admission control reserving N host failures (failover level, dedicated
    failover hosts): ``hosts - N``. Reserving a percentage of resources: the rest,
    as a percentage. HA on without admission control: "1" (HA restarts what it can
    on any survivor). None when the cluster has no hosts.
    """
    if hosts <= 0:
        return None
    das = das or {}
    if not das.get("enabled"):
        return "100%"
    policy = das.get("admissionControlPolicy") or {}
    if das.get("admissionControlEnabled") is False or not policy:
        failover = das.get("failoverLevel") if das.get("admissionControlEnabled") else None
        return str(max(1, hosts - int(failover))) if failover else "1"
    kind = str(policy.get("_type", ""))
    if "FailoverHosts" in kind or "FailoverHost" in kind:
        reserved = len(policy.get("failoverHosts") or ()) or int(policy.get("failoverLevel") or 0)
        return str(max(1, hosts - reserved))
    if "FailoverResources" in kind:
        if policy.get("failoverLevel") and policy.get("autoComputePercentages"):
            return str(max(1, hosts - int(policy["failoverLevel"])))
        percent = max(int(policy.get("cpuFailoverResourcesPercent") or 0),
                      int(policy.get("memoryFailoverResourcesPercent") or 0))
        return f"{max(1, 100 - percent)}%"
    level = int(policy.get("failoverLevel") or das.get("failoverLevel") or 0)
    return str(max(1, hosts - level))


# -- addresses --------------------------------------------------------------------------------------


def guest_addresses(props: dict[str, Any]) -> list[tuple[str, int | None, str | None]]:
    """(address, prefix length, MAC) the guest's VMware Tools report; link-local ones left out.

    So are the addresses of the guest's own internal interfaces (docker0, virbr0, veth...), which
    Tools lists with ``deviceConfigId`` -1 (no virtual NIC of the VM): every Docker guest has
    172.17.0.1, an address of that guest alone, scoped by its machine-id (which vCenter does not
    know) when SSH reports it; taken here as an address of the network it would be one CI for all.
    """
    seen: dict[str, tuple[str, int | None, str | None]] = {}
    for nic in props.get("guest.net") or ():
        if nic.get("deviceConfigId") == -1:
            continue
        mac = nic.get("macAddress")
        configured = ((nic.get("ipConfig") or {}).get("ipAddress")) or ()
        pairs = [(a.get("ipAddress"), a.get("prefixLength")) for a in configured]
        pairs += [(a, None) for a in nic.get("ipAddress") or ()]
        for address, prefix in pairs:
            _add_address(seen, address, prefix, mac)
    _add_address(seen, props.get("guest.ipAddress"), None, None)
    return sorted(seen.values())


def _add_address(seen: dict[str, tuple[str, int | None, str | None]], address: Any, prefix: Any, mac: Any) -> None:
    try:
        ip = ipaddress.ip_address(str(address or "").split("%")[0])
    except ValueError:
        return
    if ip.is_link_local or ip.is_loopback or ip.is_unspecified:
        return
    key = str(ip)
    old = seen.get(key)
    seen[key] = (key, prefix if prefix is not None else (old[1] if old else None),
                 mac if mac is not None else (old[2] if old else None))


# -- the inventory --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Index:
    """Refs of every object by moid, built before any item so edges can point anywhere."""

    vcenter: str
    refs: dict[str, CIRef] = field(default_factory=dict)
    root_pools: dict[str, str] = field(default_factory=dict)  # root pool moid -> its compute resource
    clusters: set[str] = field(default_factory=set)


def _name(record: dict[str, Any]) -> str:
    return str(record["props"].get("name") or record["moid"])


def _index(vcenter: str, objects: Iterable[dict[str, Any]]) -> _Index:
    index = _Index(vcenter)
    objects = list(objects)
    compute = {r["moid"] for r in objects if r["type"] in _COMPUTE}
    for record in objects:
        kind, moid, props = record["type"], record["moid"], record["props"]
        ref: CIRef | None = None
        if kind == "HostSystem":
            ref = host_ref(props)
        elif kind == "VirtualMachine":
            ref = vm_ref(props)
        elif kind == "ClusterComputeResource":
            ref = CIRef(ci_class="cluster", identifiers={"cluster_id": object_id(vcenter, moid)})
            index.clusters.add(moid)
        elif kind == "Datastore":
            ref = CIRef(ci_class="volume",
                        identifiers={"volume_id": str(props.get("summary.url") or object_id(vcenter, moid))})
        elif kind in _NETWORKS:
            ref = CIRef(ci_class="network", identifiers={"network_id": object_id(vcenter, moid)})
        elif kind in _SWITCHES:
            # By moid, not by its uuid: a switch belongs to one vCenter, and vcsim repeats uuids.
            ref = CIRef(ci_class="network", identifiers={"network_id": object_id(vcenter, moid)})
        elif kind in _POOLS:
            parent = str(props.get("parent") or "")
            if parent in compute:
                index.root_pools[moid] = parent  # the hidden root pool of a cluster or standalone host
            else:
                ref = CIRef(ci_class="resource_pool", identifiers={"pool_id": object_id(vcenter, moid)})
        if ref is not None:
            index.refs[moid] = ref
    return index


def transform_inventory(payload: dict[str, Any], scope: str, observed_at: int,
                        network_scope: str = "global") -> Transformed:
    """Everything a vCenter inventory shows, as items of ``scope``.

    One object that cannot be read (a property vCenter could not return, no
    identifier, an unexpected shape) is reported in ``errors`` and left out; the
    rest is still transformed.
    """
    vcenter = str(payload["about"]["instance_uuid"])
    out = _Out(scope, observed_at)
    datacenters = payload.get("datacenters") or []
    serial_hosts: Counter[str] = Counter()
    for dc in datacenters:
        for record in dc.get("objects") or ():
            if record["type"] == "HostSystem":
                serial = host_serial(record["props"])
                if serial:
                    serial_hosts[serial.lower()] += 1
    for dc in datacenters:
        if dc.get("error"):
            out.errors.append(f"datacenter {dc.get('name')} ({dc.get('moid')}): {dc['error']}")
        dc_ref = CIRef(ci_class="location", identifiers={"site_code": object_id(vcenter, str(dc["moid"]))})
        out.ci(dc_ref, {"name": dc.get("name"), "kind": "vsphere_datacenter"})
        objects = dc.get("objects") or []
        index = _index(vcenter, objects)
        for record in objects:
            try:
                _transform_object(out, index, dc_ref, record, serial_hosts, network_scope)
            except Exception as exc:  # one odd object is reported and skipped, never the whole inventory
                out.errors.append(f"{record.get('type')} {record.get('moid')} ({record.get('props', {}).get('name')}):"
                                  f" not transformed: {type(exc).__name__}: {exc}")
    shared = sorted(s for s, n in serial_hosts.items() if n > 1)
    if shared:
        # Not an error: a serial several hosts report identifies none of them (nested ESXi, simulators).
        out.counts["hosts_with_shared_serial"] = sum(serial_hosts[s] for s in shared)
    return Transformed(items=out.cis + out.rels, counts=out.counts, errors=out.errors)


def _transform_object(out: _Out, index: _Index, dc_ref: CIRef, record: dict[str, Any],
                      serial_hosts: Counter[str], network_scope: str) -> None:
    kind, moid, props = record["type"], record["moid"], record["props"]
    for missing in record.get("missing") or ():
        out.errors.append(f"{kind} {moid} ({_name(record)}): property {missing['path']} unreadable: {missing['fault']}")
    if kind == "ComputeResource" or moid in index.root_pools:
        return  # a standalone host's wrapper and the hidden root pools are not CIs
    ref = index.refs.get(moid)
    if ref is None:
        state = props.get("runtime.connectionState")
        why = f", connection state {state}" if state and state != "connected" else ""
        out.errors.append(f"{kind} {moid} ({_name(record)}): no identifier (no BIOS or instance UUID{why})")
        return
    if kind == "VirtualMachine":
        _vm(out, index, ref, props, network_scope)
    elif kind == "HostSystem":
        _host(out, dc_ref, ref, props, serial_hosts)
    elif kind == "ClusterComputeResource":
        hosts = list(props.get("host") or ())
        out.ci(ref, {"name": _name(record), "kind": "vsphere_cluster",
                     "min_up": cluster_min_up((props.get("configurationEx") or {}).get("dasConfig"), len(hosts))})
        out.rel("LOCATED_IN", ref, dc_ref)
        for host in hosts:
            out.rel("HAS_MEMBER", ref, index.refs.get(host))
    elif kind == "Datastore":
        capacity = props.get("summary.capacity")
        out.ci(ref, {"name": _name(record), "volume_type": f"datastore/{props.get('summary.type') or 'unknown'}",
                     "size_gb": round(capacity / 2**30, 1) if isinstance(capacity, int) else None})
        out.rel("LOCATED_IN", ref, dc_ref)
    elif kind in _NETWORKS:
        switch = props.get("config.distributedVirtualSwitch")
        out.ci(ref, {"name": _name(record),
                     "kind": "vsphere_dvportgroup" if kind == "DistributedVirtualPortgroup" else "vsphere_portgroup"})
        out.rel("LOCATED_IN", ref, dc_ref)
        if switch:
            out.rel("CONTAINS", index.refs.get(str(switch)), ref)
    elif kind in _SWITCHES:
        out.ci(ref, {"name": _name(record), "kind": "vsphere_dvs"})
        out.rel("LOCATED_IN", ref, dc_ref)
    elif kind in _POOLS:
        parent = str(props.get("parent") or "")
        parent_ref = index.refs.get(index.root_pools.get(parent, parent))
        out.ci(ref, {"name": _name(record)})
        out.rel("CONTAINS", parent_ref, ref)


def _host(out: _Out, dc_ref: CIRef, ref: CIRef, props: dict[str, Any], serial_hosts: Counter[str]) -> None:
    info = props.get("hardware.systemInfo") or {}
    serial = host_serial(props)
    name = str(props.get("name") or "")
    memory = props.get("hardware.memorySize")
    out.ci(ref, {
        "name": name, "hostname": name.split(".")[0] if not _is_ip(name) else None,
        "fqdn": name if "." in name and not _is_ip(name) else None,
        # The form SNMP and LLDP give a neighbour's system name: one CI for the ESXi host they see.
        "sys_name": name.lower().rstrip(".") if name and not _is_ip(name) else None,
        "serial_number": serial if serial and serial_hosts[serial.lower()] == 1 else None,
        "vendor": info.get("vendor"), "model": info.get("model"),
        "os_name": "VMware ESXi", "os_version": props.get("summary.config.product.fullName"),
        "cpu_count": props.get("hardware.cpuInfo.numCpuThreads"),
        "memory_mb": memory // 2**20 if isinstance(memory, int) else None,
        "status": props.get("runtime.connectionState"),
        "maintenance_mode": bool(props.get("runtime.inMaintenanceMode")),
    })
    out.rel("LOCATED_IN", ref, dc_ref)


def _vm(out: _Out, index: _Index, ref: CIRef, props: dict[str, Any], network_scope: str) -> None:
    if props.get("config.template"):
        out.counts["templates_skipped"] += 1
        return
    guest_name = str(props.get("guest.hostName") or "").strip()
    out.ci(ref, {
        "name": props.get("name"), "hostname": guest_name.split(".")[0] if guest_name else None,
        "power_state": props.get("runtime.powerState"), "os_name": props.get("config.guestFullName"),
        "cpu_count": props.get("config.hardware.numCPU"), "memory_mb": props.get("config.hardware.memoryMB"),
    })
    host = props.get("runtime.host")
    if host:
        out.rel("HOSTED_ON", ref, index.refs.get(str(host)))
    for datastore in props.get("datastore") or ():
        out.rel("DEPENDS_ON", ref, index.refs.get(str(datastore)))
    for network in props.get("network") or ():
        out.rel("IN_NETWORK", ref, index.refs.get(str(network)))
    pool = props.get("resourcePool")
    if pool and str(pool) not in index.root_pools:
        out.rel("USES", ref, index.refs.get(str(pool)))
    for address, prefix, mac in guest_addresses(props):
        ip_ref = CIRef(ci_class="ip_address", identifiers={"address": address, "network_scope": network_scope})
        out.ci(ip_ref, {"version": ipaddress.ip_address(address).version, "prefix_length": prefix, "mac": mac})
        out.rel("HAS_ADDRESS", ref, ip_ref)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
