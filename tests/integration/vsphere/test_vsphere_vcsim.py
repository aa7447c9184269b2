"""The vSphere scanner against a real vCenter simulator (govmomi's vcsim), ingested into a real store."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from cmdb.impact.models import Grade, ImpactRequest
from cmdb.impact.service import ImpactService
from cmdb.model import Action, RunStatus
from cmdb.observation import Observation
from cmdb.topology import TopologyIndex
from discovery.base import Progress
from discovery.snmp.values import sys_name_key
from discovery.ssh.facts import HostFacts
from discovery.ssh.observations import HostContext, host_items
from discovery.vsphere.client import ConnectSettings
from discovery.vsphere.scanner import VsphereScanConfig, VsphereScanner
from labs.vcsim import Inventory, Vcsim, running_vcsim
from tests.builders import Harness
from tests.integration.vsphere.admin import admin_session
from tests.integration.vsphere.certs import make_certs
from tests.integration.vsphere.estate import ci_set, rel_set, scan

DEFAULT_HOSTS = {"DC0_H0", "DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"}
DEFAULT_VMS = {"DC0_H0_VM0", "DC0_H0_VM1", "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"}
DEFAULT_CIS = {
    ("DC0", "location"), ("DC0_C0", "cluster"), ("DC0/LocalDS_0", "volume"),
    ("DC0/VM Network", "network"), ("DC0/DVS0", "network"), ("DC0/DVS0-DVUplinks-8", "network"),
    ("DC0_DVPG0", "network"),
    *((h, "physical_server") for h in DEFAULT_HOSTS), *((v, "virtual_machine") for v in DEFAULT_VMS),
}


def default_rels(vm_hosts: dict[str, str]) -> set[tuple[str, str, str]]:
    """Every edge of vcsim's default inventory; where each VM runs comes from vCenter itself."""
    located = ["DC0_C0", "DC0/LocalDS_0", "DC0/VM Network", "DC0/DVS0", "DC0/DVS0-DVUplinks-8", "DC0_DVPG0",
               *DEFAULT_HOSTS]
    return {
        *(("LOCATED_IN", x, "DC0") for x in located),
        *(("HAS_MEMBER", "DC0_C0", h) for h in ("DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2")),
        ("CONTAINS", "DC0/DVS0", "DC0/DVS0-DVUplinks-8"), ("CONTAINS", "DC0/DVS0", "DC0_DVPG0"),
        *(("HOSTED_ON", vm, vm_hosts[vm]) for vm in DEFAULT_VMS),
        *(("DEPENDS_ON", vm, "DC0/LocalDS_0") for vm in DEFAULT_VMS),
        *(("IN_NETWORK", vm, "DC0_DVPG0") for vm in DEFAULT_VMS),
    }


def test_default_inventory_exact_cis_and_links(harness: Harness, vcsim_default: Vcsim) -> None:
    with admin_session(vcsim_default) as admin:
        vm_hosts = admin.vm_hosts()
    assert {vm_hosts["DC0_H0_VM0"], vm_hosts["DC0_H0_VM1"]} == {"DC0_H0"}
    run = scan(harness, vcsim_default, page_size=4)  # several pages: ContinueRetrievePropertiesEx is exercised
    assert run.status is RunStatus.COMPLETE, run.errors
    assert run.counts["scan_api_calls"] > 4
    assert ci_set(harness) == DEFAULT_CIS
    assert rel_set(harness) == default_rels(vm_hosts)
    cluster = harness.find("cluster", name="DC0_C0")
    assert cluster.attributes["min_up"] == "100%"  # vcsim's default cluster has HA off: no host may fail
    host = harness.find("physical_server", name="DC0_C0_H0")
    assert host.attributes["maintenance_mode"] is False
    assert host.attributes["os_name"] == "VMware ESXi"
    # vcsim gives every host the same service tag: a serial several hosts share identifies none of them.
    assert all("serial_number" not in c.attributes for c in harness.all_cis())
    vm = harness.find("virtual_machine", name="DC0_C0_RP0_VM0")
    assert vm.attributes["power_state"] == "poweredOn"
    assert set(vm.attributes) >= {"dmi_uuid", "instance_id"}
    # A rescan of an unchanged estate writes no history.
    before = len(harness.all_history())
    again = scan(harness, vcsim_default)
    assert again.status is RunStatus.COMPLETE and again.counts.get("created", 0) == 0
    assert len(harness.all_history()) == before


def test_custom_inventory_pools_ha_and_guest_facts(harness: Harness, vcsim_custom: Vcsim) -> None:
    with admin_session(vcsim_custom) as admin:
        admin.enable_ha("DC1_C0")
        admin.set_guest("DC0_C0_RP1_VM0", hostname="web-01.example.com", ip="10.1.2.3")
        vm_hosts = admin.vm_hosts()
        vm_datastores = admin.vm_datastores()
    run = scan(harness, vcsim_custom)
    assert run.status is RunStatus.COMPLETE, run.errors
    expected_cis = {("10.1.2.3", "ip_address")}
    expected_rels = {("HAS_ADDRESS", "DC0_C0_RP1_VM0", "10.1.2.3")}
    for dc, uplink in (("DC0", "DVS0-DVUplinks-8"), ("DC1", "DVS0-DVUplinks-44")):
        cluster, pool, vm = f"{dc}_C0", f"{dc}_C0_RP1", f"{dc}_C0_RP1_VM0"
        hosts = [f"{dc}_C0_H0", f"{dc}_C0_H1"]
        nets = [f"{dc}/VM Network", f"{dc}/DVS0", f"{dc}/{uplink}", f"{dc}_DVPG0"]
        stores = [f"{dc}/LocalDS_0", f"{dc}/LocalDS_1"]
        expected_cis |= {(dc, "location"), (cluster, "cluster"), (pool, "resource_pool"), (vm, "virtual_machine"),
                         *((h, "physical_server") for h in hosts), *((n, "network") for n in nets),
                         *((s, "volume") for s in stores)}
        expected_rels |= {
            *(("LOCATED_IN", x, dc) for x in (cluster, *hosts, *nets, *stores)),
            *(("HAS_MEMBER", cluster, h) for h in hosts),
            ("CONTAINS", cluster, pool), ("USES", vm, pool),
            ("CONTAINS", f"{dc}/DVS0", f"{dc}/{uplink}"), ("CONTAINS", f"{dc}/DVS0", f"{dc}_DVPG0"),
            ("HOSTED_ON", vm, vm_hosts[vm]), ("IN_NETWORK", vm, f"{dc}_DVPG0"),
            *(("DEPENDS_ON", vm, f"{dc}/{d}") for d in vm_datastores[vm]),
        }
    assert ci_set(harness) == expected_cis
    assert rel_set(harness) == expected_rels
    # HA on with admission control but no host count reserved: HA restarts on any survivor.
    assert harness.find("cluster", name="DC1_C0").attributes["min_up"] == "1"
    assert harness.find("cluster", name="DC0_C0").attributes["min_up"] == "100%"
    vm = harness.find("virtual_machine", name="DC0_C0_RP1_VM0")
    assert vm.attributes["hostname"] == "web-01"


def _history(harness: Harness, uid: str) -> list[Any]:
    return [h for h in harness.all_history() if h.subject_uid == uid]


def test_powered_off_and_migrated_vm_across_rescans(harness: Harness, vcsim_default: Vcsim) -> None:
    assert scan(harness, vcsim_default).status is RunStatus.COMPLETE
    with admin_session(vcsim_default) as admin:
        old_host = admin.vm_hosts()["DC0_C0_RP0_VM0"]
        new_host = next(h for h in ("DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2") if h != old_host)
        admin.migrate("DC0_C0_RP0_VM0", new_host)
        admin.power_off("DC0_C0_RP0_VM1")
        assert admin.vm_hosts()["DC0_C0_RP0_VM0"] == new_host
    second = scan(harness, vcsim_default)
    assert second.status is RunStatus.COMPLETE
    off = harness.find("virtual_machine", name="DC0_C0_RP0_VM1")
    assert off.status.value == "active" and off.attributes["power_state"] == "poweredOff"
    updates = [h.changes for h in _history(harness, off.uid) if h.action is Action.UPDATE]
    assert updates == [{"power_state": ["poweredOn", "poweredOff"]}]
    moved_old = ("HOSTED_ON", "DC0_C0_RP0_VM0", old_host)
    moved_new = ("HOSTED_ON", "DC0_C0_RP0_VM0", new_host)
    assert moved_new in rel_set(harness) and moved_old in rel_set(harness)  # not aged after one missed run
    scan(harness, vcsim_default)
    assert moved_old in rel_set(harness, "stale") and moved_new in rel_set(harness)
    scan(harness, vcsim_default)
    scan(harness, vcsim_default)
    assert moved_old in rel_set(harness, "retired")
    assert [e for e in rel_set(harness) if e[0] == "HOSTED_ON" and e[1] == "DC0_C0_RP0_VM0"] == [moved_new]
    assert ci_set(harness) == DEFAULT_CIS  # every CI, the powered-off VM included, is still active


def test_host_in_maintenance_mode(harness: Harness, vcsim_default: Vcsim) -> None:
    scan(harness, vcsim_default)
    with admin_session(vcsim_default) as admin:
        admin.maintenance("DC0_C0_H1")
    assert scan(harness, vcsim_default).status is RunStatus.COMPLETE
    host = harness.find("physical_server", name="DC0_C0_H1")
    assert host.attributes["maintenance_mode"] is True
    assert [h.changes for h in _history(harness, host.uid) if h.action is Action.UPDATE] == [
        {"maintenance_mode": [False, True]}]
    assert {h.attributes["name"] for h in harness.all_cis() if h.attributes.get("maintenance_mode")} == {"DC0_C0_H1"}


def test_session_terminated_mid_scan_is_reestablished_once(harness: Harness, vcsim_default: Vcsim) -> None:
    terminated: list[str] = []
    with admin_session(vcsim_default) as admin:

        def end_session_after_first_page(p: Progress) -> None:
            if not terminated:
                terminated.extend(admin.terminate_other_sessions())

        run = scan(harness, vcsim_default, progress=end_session_after_first_page, page_size=3)
        vm_hosts = admin.vm_hosts()
    assert len(terminated) == 1
    assert run.status is RunStatus.COMPLETE, run.errors
    assert run.counts["scan_relogins"] == 1
    assert ci_set(harness) == DEFAULT_CIS
    assert rel_set(harness) == default_rels(vm_hosts)


def test_session_lost_twice_ends_incomplete_and_ages_nothing(harness: Harness, vcsim_default: Vcsim) -> None:
    assert scan(harness, vcsim_default).status is RunStatus.COMPLETE
    with admin_session(vcsim_default) as admin:

        def end_every_session(p: Progress) -> None:
            admin.terminate_other_sessions()

        runs = [scan(harness, vcsim_default, progress=end_every_session, page_size=3) for _ in range(3)]
    for run in runs:
        assert run.status is RunStatus.INCOMPLETE
        assert any("expired again after re-login" in e for e in run.errors), run.errors
    # Three incomplete runs, more than the two that make a CI stale: nothing aged.
    assert ci_set(harness) == DEFAULT_CIS
    assert ci_set(harness, "stale") == set()


def test_wrong_password_is_a_clear_error_and_an_incomplete_run(harness: Harness, vcsim_default: Vcsim) -> None:
    run = scan(harness, vcsim_default, password="not-the-password")
    assert run.status is RunStatus.INCOMPLETE
    assert run.errors == [f"login to {vcsim_default.server} as 'cmdb' refused: wrong user name or password"]
    assert harness.all_cis() == []
    assert "not-the-password" not in repr(run)


def test_certificate_verified_by_default(harness: Harness, vcsim_default: Vcsim) -> None:
    run = scan(harness, vcsim_default, verify=True)
    assert run.status is RunStatus.INCOMPLETE
    assert len(run.errors) == 1 and run.errors[0].startswith(f"certificate of {vcsim_default.server} not trusted")
    assert harness.all_cis() == []


def test_vm_and_its_ssh_discovered_guest_are_one_ci(harness: Harness, vcsim_default: Vcsim) -> None:
    uuid = "4211c4d7-5b3e-8a2f-9c1d-0e6f7a8b9c0d"
    with admin_session(vcsim_default) as admin:
        admin.set_guest("DC0_C0_RP0_VM0", uuid=uuid)
        vm_host = admin.vm_hosts()["DC0_C0_RP0_VM0"]
    # What the SSH scanner sends for the guest: Linux shows the DMI UUID in upper case.
    facts = HostFacts(hostname="app-01", fqdn="app-01.example.com", machine_id="0f" * 16, dmi_uuid=uuid.upper())
    harness.run(host_items(facts, HostContext(name="app-01", scope="lab", observed_at=harness.clock.now)),
                source="ssh", scope="lab")
    assert scan(harness, vcsim_default).status is RunStatus.COMPLETE
    guests = [c for c in harness.all_cis() if str(c.attributes.get("dmi_uuid", "")).lower() == uuid]
    assert len(guests) == 1
    guest = guests[0]
    assert guest.ci_class == "virtual_machine"  # the SSH host refined by vSphere
    assert guest.attributes["machine_id"] == "0f" * 16 and guest.attributes["fqdn"] == "app-01.example.com"
    assert guest.attributes["name"] == "app-01"  # the guest's own name outranks the VM's display name
    assert guest.attributes["power_state"] == "poweredOn"
    assert ("HOSTED_ON", "app-01", vm_host) in rel_set(harness)
    assert sum(1 for c in harness.all_cis() if c.ci_class in ("host", "virtual_machine")) == len(DEFAULT_VMS)


def test_impact_of_a_host_failure_on_vms_and_clusters(harness: Harness, vcsim_custom: Vcsim) -> None:
    with admin_session(vcsim_custom) as admin:
        admin.enable_ha("DC1_C0")
        vm_hosts = admin.vm_hosts()
        vm_datastores = admin.vm_datastores()
    assert scan(harness, vcsim_custom).status is RunStatus.COMPLETE
    service = ImpactService(TopologyIndex.load(harness.store, harness.schema), harness.schema)
    uid = {c.attributes["name"]: c.uid for c in harness.all_cis() if "_C0" in str(c.attributes.get("name"))}
    for dc, grade in (("DC0", Grade.DOWN), ("DC1", Grade.DEGRADED)):
        vm, host = f"{dc}_C0_RP1_VM0", vm_hosts[f"{dc}_C0_RP1_VM0"]
        report = service.impact(ImpactRequest(uids=(uid[host],))).by_uid()
        assert report[uid[vm]].grade is Grade.DOWN  # its host is gone
        # HA off (min_up 100%): one host down is the cluster down; HA on (min_up 1): degraded.
        assert report[uid[f"{dc}_C0"]].grade is grade
        assert "1 of 2 up" in report[uid[f"{dc}_C0"]].explanation
    # A datastore's failure takes down the VMs whose disks are on it; its port group's, the VMs attached.
    names = {c.uid: c.attributes.get("name") for c in harness.all_cis()}
    located = {(names[r.source_uid], names[r.target_uid]): r.source_uid for r in harness.all_rels()
               if r.type == "LOCATED_IN"}
    (store,) = vm_datastores["DC0_C0_RP1_VM0"]
    for failed in (located[(store, "DC0")], located[("DC0_DVPG0", "DC0")]):
        report = service.impact(ImpactRequest(uids=(failed,))).by_uid()
        assert {names[u] for u, i in report.items() if i.grade is Grade.DOWN and i.ci_class == "virtual_machine"} == {
            "DC0_C0_RP1_VM0"}


def _dead(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status  # exited, not yet reaped by the fixture


def test_vcenter_gone_mid_scan_ends_incomplete_and_ages_nothing(harness: Harness, vcsim_default: Vcsim) -> None:
    assert scan(harness, vcsim_default).status is RunStatus.COMPLETE

    def kill_vcenter(p: Progress) -> None:
        if not _dead(vcsim_default.pid):
            os.kill(vcsim_default.pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while not _dead(vcsim_default.pid):  # its sockets close when it exits
                assert time.monotonic() < deadline
                time.sleep(0.01)

    runs = [scan(harness, vcsim_default, progress=kill_vcenter, page_size=3) for _ in range(3)]
    assert all(r.status is RunStatus.INCOMPLETE for r in runs)
    assert runs[0].errors[0].startswith("collection failed: "), runs[0].errors
    assert all(r.errors[0].startswith(f"cannot reach {vcsim_default.server}") for r in runs[1:]), runs[1].errors
    assert ci_set(harness) == DEFAULT_CIS and ci_set(harness, "stale") == set()


def test_esxi_host_seen_as_an_lldp_neighbour_is_one_ci(harness: Harness, vcsim_default: Vcsim) -> None:
    # What the SNMP scanner sends for a switch's LLDP neighbour (discovery.snmp.build): the chassis MAC
    # and the system name, in its identifier form.
    neighbour = Observation(source="snmp", scope="campus", ci_class="network_device",
                            identifiers={"chassis_id": "00:50:56:aa:bb:cc", "sys_name": sys_name_key("DC0_C0_H1")},
                            attributes={"name": "DC0_C0_H1"}, observed_at=harness.clock.now)
    harness.run([neighbour], source="snmp", scope="campus")
    assert scan(harness, vcsim_default).status is RunStatus.COMPLETE
    (esxi,) = [c for c in harness.all_cis() if c.attributes.get("name") == "DC0_C0_H1"]
    # One CI with both sources' keys. Its class (refining a network_device into a physical_server,
    # siblings in the device family) is the identification engine's call, not this scanner's.
    assert esxi.attributes["chassis_id"] == "00:50:56:aa:bb:cc" and esxi.attributes["dmi_uuid"]
    assert {p.source for p in esxi.provenance.values()} == {"snmp", "vsphere"}
    assert len(harness.all_cis()) == len(DEFAULT_CIS)


def test_certificate_signed_by_the_given_ca_is_verified_and_trusted(harness: Harness, tmp_path: Path) -> None:
    ca, cert, key = make_certs(tmp_path)
    with running_vcsim(Inventory(extra=("-tlscert", str(cert), "-tlskey", str(key)))) as sim:
        trusted = VsphereScanner(VsphereScanConfig(ConnectSettings(
            sim.server, sim.user, sim.password, verify=True, ca_file=str(ca)))).scan_sync()
        untrusted = VsphereScanner(VsphereScanConfig(ConnectSettings(
            sim.server, sim.user, sim.password, verify=True))).scan_sync()
    assert trusted.complete, trusted.errors
    assert {(o.attributes.get("name"), o.ci_class) for o in trusted.items if isinstance(o, Observation)} >= {
        ("DC0_C0", "cluster"), ("DC0_C0_RP0_VM0", "virtual_machine")}
    assert not untrusted.complete and untrusted.errors[0].startswith(f"certificate of {sim.server} not trusted")


def test_a_deleted_vm_goes_stale_then_retired_and_keeps_its_history(harness: Harness, vcsim_default: Vcsim) -> None:
    assert scan(harness, vcsim_default).status is RunStatus.COMPLETE
    with admin_session(vcsim_default) as admin:
        admin.destroy("DC0_H0_VM1")
    gone = harness.find("virtual_machine", name="DC0_H0_VM1")
    statuses = []
    for _ in range(4):
        assert scan(harness, vcsim_default).status is RunStatus.COMPLETE
        statuses.append(harness.store.get_cis({gone.uid})[gone.uid].status.value)
    assert statuses == ["active", "stale", "stale", "retired"]
    assert ci_set(harness) == DEFAULT_CIS - {("DC0_H0_VM1", "virtual_machine")}
    assert {e for e in rel_set(harness, "retired")} == {
        ("HOSTED_ON", "DC0_H0_VM1", "DC0_H0"), ("DEPENDS_ON", "DC0_H0_VM1", "DC0/LocalDS_0"),
        ("IN_NETWORK", "DC0_H0_VM1", "DC0_DVPG0")}
    assert _history(harness, gone.uid)[0].action is Action.CREATE
