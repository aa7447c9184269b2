"""The fifth source: each site's vCenter, through the vSphere scanner's pure transform.

The payload is what ``discovery.vsphere.client.collect`` returns from a vCenter (the
records the property collector gives: type, moid, props), rendered from the ground
truth: the site's datacenter, its ESXi hosts, and its VMs with their BIOS UUID (what
an SSH scan of the guest reads from DMI), instance UUID, guest host name and
addresses, power state and host. ``transform_inventory`` turns it into Observations.
A VM is known here only by its UUIDs: the VM and its SSH-scanned guest must be one CI.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from bench.fidelity.truth import Estate, Host
from bench.fidelity.units import Index, Run
from discovery.vsphere.transform import object_id, transform_inventory


def instance_uuid(host: Host) -> str:
    """The VM's vCenter instance UUID: fixed per VM (a rebuilt VM is a new VM, a new UUID)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fidelity-vm:{host.tid}"))


def payload(estate: Estate, site: str) -> tuple[dict[str, Any], Index]:
    vc = estate.vcenters[site]
    index = Index()
    index.add("location", None, vc.datacenter, object_id(vc.instance_uuid, "datacenter-2"))
    objects: list[dict[str, Any]] = []
    for n, esx in enumerate(vc.hosts):
        objects.append({"type": "HostSystem", "moid": f"host-{n + 10}", "props": {
            "name": esx.name, "hardware.systemInfo": {"uuid": esx.dmi_uuid, "serialNumber": esx.serial,
                                                      "vendor": "Dell Inc.", "model": "PowerEdge R650"},
            "hardware.memorySize": 512 * 2**30, "hardware.cpuInfo.numCpuThreads": 64,
            "summary.config.product.fullName": "VMware ESXi 8.0.2 build-22380479",
            "runtime.connectionState": "connected", "runtime.inMaintenanceMode": False}})
        index.add("device", None, esx.tid, esx.dmi_uuid, esx.serial, esx.name)
    vms = sorted((h for h in estate.live_hosts() if h.site == site and h.kind == "vm"), key=lambda h: h.tid)
    for host in vms:
        addr = host.primary.addrs[0]
        # Where a VM runs is fixed for its life (no vMotion here: the ground truth's relationships do not end
        # while both ends exist).
        on = int(host.tid.split("-")[-1]) % len(vc.hosts)
        objects.append({"type": "VirtualMachine", "moid": f"vm-{100 + int(host.tid.split('-')[-1])}", "props": {
            "name": host.short, "config.uuid": host.dmi_uuid.lower(), "config.instanceUuid": instance_uuid(host),
            "config.template": False, "config.guestFullName": "Ubuntu Linux (64-bit)",
            "config.hardware.numCPU": 4, "config.hardware.memoryMB": 16384,
            "guest.hostName": host.fqdn, "guest.ipAddress": addr.address,
            # VMware Tools lists the guest's own bridges too (docker0: no virtual NIC, deviceConfigId -1).
            "guest.net": [{"macAddress": host.primary.mac, "network": "VM Network", "deviceConfigId": 4000,
                           "ipConfig": {"ipAddress": [{"ipAddress": addr.address, "prefixLength": addr.prefix}]}},
                          *({"macAddress": iface.mac, "network": None, "deviceConfigId": -1,
                             "ipConfig": {"ipAddress": [{"ipAddress": a.address, "prefixLength": a.prefix}
                                                        for a in iface.addrs]}} for iface in host.ifaces[1:])],
            "runtime.powerState": "poweredOn", "runtime.host": f"host-{on + 10}"}})
        index.add("device", None, host.tid, host.dmi_uuid, instance_uuid(host), host.short)
        index.add("ip", None, addr.tid, addr.address)
    doc = {"about": {"instance_uuid": vc.instance_uuid, "name": "VMware vCenter Server"},
           "datacenters": [{"moid": "datacenter-2", "name": site, "objects": objects}]}
    return doc, index


def runs(estate: Estate, rnd: int, clock: Callable[[], int]) -> list[Run]:
    """One run per site's vCenter (scoped as the scanner scopes it: by the server it reads)."""
    out = []
    for site in sorted(estate.vcenters):
        doc, index = payload(estate, site)
        scope = f"vcenter.{site}.corp.example.com"  # what the scanner names the scope: the vCenter it reads
        result = transform_inventory(doc, scope, clock(), network_scope=site)
        run = Run("vsphere", scope, complete=not result.errors, errors=list(result.errors))
        run.add(result.items, index)
        out.append(run)
    return out
