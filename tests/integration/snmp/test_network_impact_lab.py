"""Network-aware impact on the lab's own data: the seven snmpsim devices scanned for real,
then the two hosts behind acc1 (the lab's FDB and core1's ARP table put 10.0.10.50 behind
acc1 Ethernet2 and 10.0.10.51 behind Ethernet3) inventoried as the SSH scanner writes them,
and the demo's service map on top (the shop on nginx on web1 and java on app1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cmdb.impact import ImpactRequest, ImpactService
from cmdb.observation import Method
from cmdb.topology import TopologyIndex
from tests.builders import Harness, obs, ref, rel
from tests.integration.snmp.agents import community
from tests.integration.snmp.conftest import Lab
from tests.integration.snmp.scan import scan, seeds

ALL = ["core1", "dist1", "dist2", "acc1", "acc2", "rtr1", "fw1"]
HOSTS = {"web1": ("10.0.10.50", "nginx"), "app1": ("10.0.10.51", "java")}


def _hosts_and_services(harness: Harness) -> None:
    items: list[object] = []
    for name, (address, product) in HOSTS.items():
        host = ref("host", machine_id=f"mid-{name}")
        nic = ref("interface", host, name="eth0")
        ip = ref("ip_address", address=address, network_scope="global")
        items += [
            obs("host", {"machine_id": f"mid-{name}"}, {"name": name, "hostname": name}, source="ssh", scope="hosts"),
            obs("interface", {"name": "eth0"}, {"name": "eth0"}, source="ssh", scope="hosts", parent=host),
            obs("ip_address", {"address": address, "network_scope": "global"}, {"name": address},
                source="ssh", scope="hosts"),
            rel("HAS_ADDRESS", nic, ip, source="ssh", scope="hosts", method=Method.CONFIG),
            obs("software_instance", {"product": product, "port": 80}, {"name": f"{product}@{name}"},
                source="ssh", scope="hosts", parent=host),
        ]
    harness.run(items, source="ssh", scope="hosts")  # type: ignore[arg-type]
    web = ref("software_instance", ref("host", machine_id="mid-web1"), product="nginx", port=80)
    app = ref("software_instance", ref("host", machine_id="mid-app1"), product="java", port=80)
    shop = ref("application", name="shop")
    service = ref("business_service", name="Acme Shop")
    harness.run([
        obs("application", {"name": "shop"}, {"name": "shop", "owner": "shop-team"}, source="manual", scope="map"),
        obs("business_service", {"name": "Acme Shop"}, {"name": "Acme Shop", "owner": "shop-team"},
            source="manual", scope="map"),
        rel("RUNS_ON", shop, web, source="manual", scope="map"),
        rel("RUNS_ON", shop, app, source="manual", scope="map"),
        rel("DEPENDS_ON", service, shop, source="manual", scope="map"),
    ], source="manual", scope="map")


@pytest.fixture(scope="module")
def lab_estate(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    harness = Harness(tmp_path_factory.mktemp("net-impact") / "cmdb.sqlite")
    try:
        result = scan(harness, seeds([lab.addresses[k] for k in ALL], lab.port), {"lab": community()})
        assert result.status.value == "complete", result.errors
        _hosts_and_services(harness)
        yield harness
    finally:
        harness.store.close()


def _uid(harness: Harness, cls: str, **attrs: str) -> str:
    return str(harness.find(cls, **attrs).uid)


@pytest.mark.parametrize("fast_path_limit", [None, 0])
def test_acc1_down_reaches_its_hosts_and_the_shop_not_the_rest_of_the_network(
    lab_estate: Harness, fast_path_limit: int | None,
) -> None:
    harness = lab_estate
    service = ImpactService(TopologyIndex.load(harness.store, harness.schema), harness.schema, fast_path_limit)
    acc1 = _uid(harness, "switch", fqdn="acc1.lab.example")
    report = service.impact(ImpactRequest((acc1,)))
    # Everything but the ports, by name: the hosts behind acc1, their software, the shop.
    graded = {(ci.name, ci.grade.value) for ci in report.impacted if ci.ci_class != "interface"}
    assert graded == {
        ("acc1.lab.example", "down"), ("web1", "down"), ("app1", "down"),
        ("nginx@web1", "down"), ("java@app1", "down"), ("shop", "down"), ("Acme Shop", "down"),
    }
    ports = {ci.name for ci in report.impacted if ci.ci_class == "interface"}
    assert ports == {"Ethernet1", "Ethernet2", "Ethernet3", "eth0"}
    by = {ci.name: ci for ci in report.impacted if ci.ci_class != "interface"}
    assert by["web1"].explanation == "lost its last path to the uplinks (via acc1.lab.example Ethernet2) -> down"
    assert by["app1"].explanation == "lost its last path to the uplinks (via acc1.lab.example Ethernet3) -> down"
    # Either host explains the shop (both are down): the path runs through one of them and its software.
    assert [s.name for s in by["Acme Shop"].path] in (
        ["acc1.lab.example", "web1", "nginx@web1", "shop", "Acme Shop"],
        ["acc1.lab.example", "app1", "java@app1", "shop", "Acme Shop"],
    )
    assert by["Acme Shop"].depth == 4
    assert [(s.name, s.rel_type) for s in by["web1"].path] == [("acc1.lab.example", None), ("web1", "SEEN_BEHIND")]
    assert {(s.name, s.grade.value, s.owner) for s in report.services} == {
        ("shop", "down", "shop-team"), ("Acme Shop", "down", "shop-team"),
    }
    untouched = {"core1.lab.example", "dist1.lab.example", "dist2.lab.example", "acc2.lab.example",
                 "rtr1.lab.example", "fw1.lab.example", "ap1.lab.example"}
    assert untouched.isdisjoint(by)


@pytest.mark.parametrize("fast_path_limit", [None, 0])
def test_dist1_down_takes_acc1_and_its_hosts_and_core1_only_degrades_nothing_upstream(
    lab_estate: Harness, fast_path_limit: int | None,
) -> None:
    harness = lab_estate
    service = ImpactService(TopologyIndex.load(harness.store, harness.schema), harness.schema, fast_path_limit)
    report = service.impact(ImpactRequest((_uid(harness, "switch", fqdn="dist1.lab.example"),)))
    graded = {(ci.name, ci.grade.value) for ci in report.impacted if ci.ci_class != "interface"}
    # dist1 - dist2 is a same-tier link: acc1's only way up is dist1, so it is cut off.
    assert graded == {
        ("dist1.lab.example", "down"), ("acc1.lab.example", "down"), ("web1", "down"), ("app1", "down"),
        ("nginx@web1", "down"), ("java@app1", "down"), ("shop", "down"), ("Acme Shop", "down"),
    }
