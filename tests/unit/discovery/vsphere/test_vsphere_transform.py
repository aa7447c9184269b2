"""The vSphere transform on payloads recorded from vcsim (tests/data/vsphere, see record_payloads.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cmdb.observation import CIRef, Observation, ObservedRelation
from discovery.vsphere.transform import Transformed, cluster_min_up, guest_addresses, transform_inventory

DATA = Path(__file__).resolve().parents[3] / "data" / "vsphere"
T = 1_700_000_000_000


def load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return payload


def _key(ref: CIRef | Observation) -> tuple[str, tuple[tuple[str, Any], ...]]:
    return ref.ci_class, tuple(sorted(ref.identifiers.items()))


def names(t: Transformed) -> dict[tuple[str, tuple[tuple[str, Any], ...]], str]:
    return {_key(o): str(o.attributes.get("name") or o.identifiers.get("address"))
            for o in t.items if isinstance(o, Observation)}


def ci_set(t: Transformed) -> set[tuple[str, str]]:
    n = names(t)
    return {(n[_key(o)], o.ci_class) for o in t.items if isinstance(o, Observation)}


def rel_set(t: Transformed) -> set[tuple[str, str, str]]:
    n = names(t)
    return {(r.type, n[_key(r.from_ci)], n[_key(r.to_ci)]) for r in t.items if isinstance(r, ObservedRelation)}


def objects(payload: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [o for dc in payload["datacenters"] for o in dc["objects"] if o["type"] == kind]


def by_name(payload: dict[str, Any], name: str) -> dict[str, Any]:
    return next(o for dc in payload["datacenters"] for o in dc["objects"] if o["props"].get("name") == name)


VMS = {"DC0_H0_VM0", "DC0_H0_VM1", "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"}
HOSTS = {"DC0_H0", "DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"}


def test_default_inventory_exact_items() -> None:
    payload = load("default")
    t = transform_inventory(payload, "vc1", T)
    assert t.errors == []
    assert ci_set(t) == {
        ("DC0", "location"), ("DC0_C0", "cluster"), ("LocalDS_0", "volume"), ("VM Network", "network"),
        ("DVS0", "network"), ("DVS0-DVUplinks-8", "network"), ("DC0_DVPG0", "network"),
        *((h, "physical_server") for h in HOSTS), *((v, "virtual_machine") for v in VMS),
    }
    hosts = {o["moid"]: o["props"]["name"] for o in objects(payload, "HostSystem")}
    runs_on = {o["props"]["name"]: hosts[o["props"]["runtime.host"]] for o in objects(payload, "VirtualMachine")}
    assert rel_set(t) == {
        *(("LOCATED_IN", x, "DC0") for x in ("DC0_C0", "LocalDS_0", "VM Network", "DVS0", "DVS0-DVUplinks-8",
                                             "DC0_DVPG0", *HOSTS)),
        *(("HAS_MEMBER", "DC0_C0", h) for h in ("DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2")),
        ("CONTAINS", "DVS0", "DVS0-DVUplinks-8"), ("CONTAINS", "DVS0", "DC0_DVPG0"),
        *(("HOSTED_ON", vm, runs_on[vm]) for vm in VMS),
        *(("DEPENDS_ON", vm, "LocalDS_0") for vm in VMS),
        *(("IN_NETWORK", vm, "DC0_DVPG0") for vm in VMS),
    }
    vm = next(o for o in t.items if isinstance(o, Observation) and o.attributes.get("name") == "DC0_C0_RP0_VM0")
    raw = by_name(payload, "DC0_C0_RP0_VM0")["props"]
    assert vm.identifiers == {"dmi_uuid": raw["config.uuid"], "instance_id": raw["config.instanceUuid"]}
    assert vm.attributes["power_state"] == "poweredOn"
    assert all(o.source == "vsphere" and o.scope == "vc1" and o.observed_at == T for o in t.items)


def test_custom_inventory_pools_guest_and_ha() -> None:
    t = transform_inventory(load("custom"), "vc1", T)
    assert t.errors == []
    cis = ci_set(t)
    assert {c for c in cis if c[1] in ("resource_pool", "virtual_machine", "ip_address", "cluster")} == {
        ("DC0_C0_RP1", "resource_pool"), ("DC1_C0_RP1", "resource_pool"),
        ("DC0_C0_RP1_VM0", "virtual_machine"), ("DC1_C0_RP1_VM0", "virtual_machine"),
        ("10.1.2.3", "ip_address"), ("DC0_C0", "cluster"), ("DC1_C0", "cluster"),
    }
    rels = rel_set(t)
    assert {r for r in rels if r[0] in ("USES", "HAS_ADDRESS") or (r[0] == "CONTAINS" and r[1].endswith("_C0"))} == {
        ("CONTAINS", "DC0_C0", "DC0_C0_RP1"), ("CONTAINS", "DC1_C0", "DC1_C0_RP1"),
        ("USES", "DC0_C0_RP1_VM0", "DC0_C0_RP1"), ("USES", "DC1_C0_RP1_VM0", "DC1_C0_RP1"),
        ("HAS_ADDRESS", "DC0_C0_RP1_VM0", "10.1.2.3"),
    }
    min_up = {o.attributes["name"]: o.attributes["min_up"] for o in t.items
              if isinstance(o, Observation) and o.ci_class == "cluster"}
    assert min_up == {"DC0_C0": "100%", "DC1_C0": "1"}
    vm = next(o for o in t.items if isinstance(o, Observation) and o.attributes.get("name") == "DC0_C0_RP1_VM0")
    assert vm.attributes["hostname"] == "web-01"
    ip = next(o for o in t.items if isinstance(o, Observation) and o.ci_class == "ip_address")
    assert ip.identifiers == {"address": "10.1.2.3", "network_scope": "global"}


def test_admission_control_policies_set_min_up_on_the_recorded_cluster() -> None:
    payload = load("default")
    das = by_name(payload, "DC0_C0")["props"]["configurationEx"]["dasConfig"]
    das.update(enabled=True, admissionControlEnabled=True,
               admissionControlPolicy={"_type": "ClusterFailoverLevelAdmissionControlPolicy", "failoverLevel": 1})
    t = transform_inventory(payload, "vc1", T)
    cluster = next(o for o in t.items if isinstance(o, Observation) and o.ci_class == "cluster")
    assert cluster.attributes["min_up"] == "2"  # 3 hosts, one failure tolerated


@pytest.mark.parametrize(("das", "hosts", "expected"), [
    (None, 3, "100%"),
    ({"enabled": False}, 3, "100%"),
    ({"enabled": True, "admissionControlEnabled": False}, 4, "1"),
    ({"enabled": True, "admissionControlEnabled": True,
      "admissionControlPolicy": {"_type": "ClusterFailoverLevelAdmissionControlPolicy", "failoverLevel": 2}}, 5, "3"),
    ({"enabled": True, "admissionControlEnabled": True,
      "admissionControlPolicy": {"_type": "ClusterFailoverLevelAdmissionControlPolicy", "failoverLevel": 4}}, 3, "1"),
    ({"enabled": True, "admissionControlEnabled": True,
      "admissionControlPolicy": {"_type": "ClusterFailoverResourcesAdmissionControlPolicy",
                                 "cpuFailoverResourcesPercent": 25, "memoryFailoverResourcesPercent": 33}}, 4, "67%"),
    ({"enabled": True, "admissionControlEnabled": True,
      "admissionControlPolicy": {"_type": "ClusterFailoverResourcesAdmissionControlPolicy",
                                 "autoComputePercentages": True, "failoverLevel": 1}}, 4, "3"),
    ({"enabled": True, "admissionControlEnabled": True,
      "admissionControlPolicy": {"_type": "ClusterFailoverHostAdmissionControlPolicy",
                                 "failoverHosts": ["host-9"]}}, 4, "3"),
    ({"enabled": True}, 0, None),
])
def test_cluster_min_up(das: dict[str, Any] | None, hosts: int, expected: str | None) -> None:
    assert cluster_min_up(das, hosts) == expected


def test_an_unreadable_vm_is_reported_and_the_rest_kept() -> None:
    payload = load("default")
    vm = by_name(payload, "DC0_H0_VM1")
    # The shape vCenter returns for properties a role may not read: no values, a fault per path.
    for prop in ("config.uuid", "config.instanceUuid"):
        del vm["props"][prop]
    vm["missing"] = [{"path": "config", "fault": "NoPermission: read access denied"}]
    t = transform_inventory(payload, "vc1", T)
    assert t.errors == [
        f"VirtualMachine {vm['moid']} (DC0_H0_VM1): property config unreadable: NoPermission: read access denied",
        f"VirtualMachine {vm['moid']} (DC0_H0_VM1): no identifier (no BIOS or instance UUID)",
    ]
    assert {c for c in ci_set(t) if c[1] == "virtual_machine"} == {(v, "virtual_machine") for v in VMS - {"DC0_H0_VM1"}}
    assert not any("DC0_H0_VM1" in r[1] for r in rel_set(t))


def test_an_object_of_unexpected_shape_is_skipped_not_fatal() -> None:
    payload = load("default")
    store = by_name(payload, "LocalDS_0")
    store["props"]["summary.capacity"] = {"unexpected": True}
    vm = by_name(payload, "DC0_C0_RP0_VM1")
    vm["props"]["guest.net"] = 42  # not a list of NICs
    t = transform_inventory(payload, "vc1", T)
    assert len(t.errors) == 1 and t.errors[0].startswith(f"VirtualMachine {vm['moid']} (DC0_C0_RP0_VM1): not transformed:")
    assert ("LocalDS_0", "volume") in ci_set(t)
    assert {c for c in ci_set(t) if c[1] == "physical_server"} == {(h, "physical_server") for h in HOSTS}


def test_host_serial_kept_only_when_one_host_has_it() -> None:
    payload = load("default")
    hosts = objects(payload, "HostSystem")
    original = copy.deepcopy(hosts[0]["props"]["hardware.systemInfo"])
    hosts[0]["props"]["hardware.systemInfo"]["serialNumber"] = "CZ1234ABCD"
    t = transform_inventory(payload, "vc1", T)
    serials = {o.attributes["name"]: o.attributes.get("serial_number") for o in t.items
               if isinstance(o, Observation) and o.ci_class == "physical_server"}
    # The other hosts all carry vcsim's one service tag: shared, so no serial for them.
    assert serials == {h: ("CZ1234ABCD" if h == hosts[0]["props"]["name"] else None) for h in HOSTS}
    assert t.counts["hosts_with_shared_serial"] == 3
    assert original.get("serialNumber") is None


def test_guest_addresses_skip_link_local_and_keep_prefixes() -> None:
    props = {"guest.net": [{"macAddress": "00:0c:29:00:00:01", "ipAddress": ["fe80::1", "10.0.0.5"],
                            "ipConfig": {"ipAddress": [{"ipAddress": "10.0.0.5", "prefixLength": 24},
                                                       {"ipAddress": "fe80::1", "prefixLength": 64}]}},
                           {"macAddress": "00:0c:29:00:00:02", "ipAddress": ["2001:db8::7", "169.254.3.4"]}],
             "guest.ipAddress": "10.0.0.5"}
    assert guest_addresses(props) == [("10.0.0.5", 24, "00:0c:29:00:00:01"), ("2001:db8::7", None, "00:0c:29:00:00:02")]


def test_guest_addresses_leave_out_the_guest_s_internal_bridges() -> None:
    """docker0 inside the guest (no virtual NIC: deviceConfigId -1) is the guest's own address, not the network's."""
    props = {"guest.net": [
        {"macAddress": "00:50:56:00:00:01", "deviceConfigId": 4000, "network": "VM Network",
         "ipConfig": {"ipAddress": [{"ipAddress": "10.1.0.7", "prefixLength": 22}]}},
        {"macAddress": "02:42:ac:11:00:01", "deviceConfigId": -1, "network": None,
         "ipConfig": {"ipAddress": [{"ipAddress": "172.17.0.1", "prefixLength": 16}]}}],
        "guest.ipAddress": "10.1.0.7"}
    assert guest_addresses(props) == [("10.1.0.7", 22, "00:50:56:00:00:01")]


def test_datacenter_error_is_reported_and_others_kept() -> None:
    payload = load("custom")
    payload["datacenters"][1]["objects"] = []
    payload["datacenters"][1]["error"] = "NoPermission: read access denied"
    t = transform_inventory(payload, "vc1", T)
    assert t.errors == ["datacenter DC1 (" + payload["datacenters"][1]["moid"] + "): NoPermission: read access denied"]
    assert ("DC0_C0_RP1_VM0", "virtual_machine") in ci_set(t)
    assert not any(name.startswith("DC1_") for name, _ in ci_set(t))


def test_an_inaccessible_vm_says_why_it_has_no_identifier() -> None:
    payload = load("default")
    vm = by_name(payload, "DC0_H0_VM0")
    # vCenter leaves ``config`` unset for a VM whose files it cannot reach.
    vm["props"] = {"name": "DC0_H0_VM0", "runtime.connectionState": "inaccessible", "runtime.powerState": "poweredOff"}
    t = transform_inventory(payload, "vc1", T)
    assert t.errors == [f"VirtualMachine {vm['moid']} (DC0_H0_VM0): no identifier (no BIOS or instance UUID, "
                        "connection state inaccessible)"]
