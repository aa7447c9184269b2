"""The lab topology (7 devices in snmpsim, LLDP and CDP on both ends of every link),
discovered end to end into a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from labs.snmp.generate import DEVICES
from tests.builders import Harness
from tests.integration.snmp.agents import community
from tests.integration.snmp.conftest import CORE1_SECOND_ADDRESS, Lab
from tests.integration.snmp.scan import Graph, Scan, scan, seeds

ALL = ["core1", "dist1", "dist2", "acc1", "acc2", "rtr1", "fw1"]
CREDS = {"lab": community()}

EXPECTED_DEVICES = {
    ("switch", "core1.lab.example"), ("switch", "dist1.lab.example"), ("switch", "dist2.lab.example"),
    ("switch", "acc1.lab.example"), ("switch", "acc2.lab.example"), ("router", "rtr1.lab.example"),
    ("firewall", "fw1.lab.example"), ("network_device", "ap1.lab.example"),
}
EXPECTED_LINKS = {
    frozenset({("core1.lab.example", "GigabitEthernet1/0/1"), ("dist1.lab.example", "GigabitEthernet0/1")}),
    frozenset({("core1.lab.example", "GigabitEthernet1/0/2"), ("dist2.lab.example", "GigabitEthernet0/1")}),
    frozenset({("core1.lab.example", "GigabitEthernet1/0/3"), ("rtr1.lab.example", "xe-0/0/0")}),
    frozenset({("core1.lab.example", "GigabitEthernet1/0/4"), ("fw1.lab.example", "port1")}),
    frozenset({("dist1.lab.example", "GigabitEthernet0/2"), ("acc1.lab.example", "Ethernet1")}),
    frozenset({("dist2.lab.example", "GigabitEthernet0/2"), ("acc2.lab.example", "Ethernet1")}),
    frozenset({("dist1.lab.example", "GigabitEthernet0/3"), ("dist2.lab.example", "GigabitEthernet0/3")}),
    frozenset({("acc2.lab.example", "Ethernet2"), ("ap1.lab.example", "eth0")}),
}


def _expected_interfaces() -> set[tuple[str, str]]:
    out = {("ap1.lab.example", "eth0")}
    for device in DEVICES.values():
        for port in device.ports:
            out.add((device.name, port.descr))  # ifName "Gi1/0/1" is expanded to the ifDescr form
    return out


def _addresses(lab: Lab, keys: list[str]) -> list[str]:
    return [lab.addresses[k] for k in keys]


@pytest.fixture(scope="module")
def full_lab(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Scan, Graph]]:
    """All seven devices scanned once into one store; read by the tests below."""
    harness = Harness(tmp_path_factory.mktemp("full-lab") / "cmdb.sqlite")
    try:
        result = scan(harness, seeds(_addresses(lab, ALL), lab.port), CREDS)
        yield result, Graph(harness)
    finally:
        harness.store.close()


def test_lab_discovers_exact_devices_interfaces_and_links(full_lab: tuple[Scan, Graph]) -> None:
    result, graph = full_lab

    assert result.status.value == "complete", result.errors
    assert graph.devices() == EXPECTED_DEVICES
    assert graph.interfaces() == _expected_interfaces()
    assert graph.links() == EXPECTED_LINKS
    assert graph.device_links() == {frozenset({a[0], b[0]}) for a, b in (tuple(link) for link in EXPECTED_LINKS)}
    summary = result.summary
    assert {(o.address.split(":")[0], o.status, o.ci_class) for o in summary.outcomes} == {
        (DEVICES[k].address, "ok", "router" if k == "rtr1" else "firewall" if k == "fw1" else "switch") for k in ALL
    }
    assert summary.stats()["links"] == len(EXPECTED_LINKS)
    assert summary.stats()["neighbors"] == 8  # the 7 lab devices and the access point


def test_lab_attributes_addresses_and_seen_behind(full_lab: tuple[Scan, Graph]) -> None:
    _, graph = full_lab
    core = graph.cis[graph.device_uid("core1.lab.example")]
    assert {k: core.attributes.get(k) for k in ("serial_number", "chassis_id", "vendor", "model", "software_version",
                                                 "management_ip", "sys_location", "uptime_s")} == {
        "serial_number": "FCW2233L0AA", "chassis_id": "00:1a:2b:01:00:00", "vendor": "Cisco",
        "model": "C9500-24Y4C", "software_version": "17.9.4", "management_ip": "127.0.0.11",
        "sys_location": "Lab rack A1", "uptime_s": 86400 + len("core1"),
    }
    # Old ipAddrTable (core1 and the others) and new ipAddressTable (rtr1, with IPv6)
    assert graph.rel_pairs("HAS_ADDRESS") == {
        ("GigabitEthernet1/0/1", "10.0.0.1"), ("GigabitEthernet1/0/5", "10.0.10.1"),
        ("GigabitEthernet0/1", "10.0.0.2"), ("GigabitEthernet0/1", "10.0.0.3"),
        ("Ethernet1", "10.0.0.4"), ("Ethernet1", "10.0.0.5"),
        ("xe-0/0/0", "10.0.0.6"), ("xe-0/0/1", "198.51.100.2"), ("xe-0/0/0", "2001:db8::6"),
        ("port1", "10.0.0.7"), ("port2", "192.0.2.1"),
    }
    assert graph.rel_pairs("IN_NETWORK") >= {("10.0.0.1", "10.0.0.0/24"), ("2001:db8::6", "2001:db8::/64"),
                                               ("198.51.100.2", "198.51.100.0/30")}
    # ARP on core1 + FDB on acc1: the hosts' addresses are seen behind acc1's access ports;
    # the uplink (Ethernet1, with an LLDP neighbour) is not used as evidence.
    assert graph.rel_pairs("SEEN_BEHIND") == {
        ("GigabitEthernet1/0/5", "10.0.10.50"), ("GigabitEthernet1/0/5", "10.0.10.51"),
        ("Ethernet2", "10.0.10.50"), ("Ethernet3", "10.0.10.51"),
    }
    seen = [r for r in graph.rels if r.type == "SEEN_BEHIND"]
    assert {r.evidence.method for r in seen} == {"traffic"}


def test_neighbour_seen_first_is_the_same_ci_when_scanned_later(lab: Lab, harness: Harness) -> None:
    first = scan(harness, seeds(_addresses(lab, ["core1"]), lab.port), CREDS)
    assert first.status.value == "complete"
    graph = Graph(harness)
    before = graph.device_uid("dist1.lab.example")
    assert graph.cis[before].ci_class == "network_device"
    assert graph.cis[before].attributes["chassis_id"] == "00:1a:2b:02:00:00"

    scan(harness, seeds(_addresses(lab, ["dist1"]), lab.port), CREDS)
    graph = Graph(harness)
    after = graph.device_uid("dist1.lab.example")  # asserts exactly one CI
    assert after == before
    ci = graph.cis[after]
    assert (ci.ci_class, ci.attributes["serial_number"]) == ("switch", "FOC1901X0BB")
    # core1's view of the link and dist1's own view are one edge
    assert frozenset({("core1.lab.example", "GigabitEthernet1/0/1"), ("dist1.lab.example", "GigabitEthernet0/1")}) \
        in graph.links()
    assert sum(1 for r in graph.rels if r.type == "CONNECTS_TO" and {r.source_uid, r.target_uid} == {
        after, graph.device_uid("core1.lab.example")}) == 1


def test_device_reachable_on_two_addresses_is_one_ci(lab: Lab, harness: Harness) -> None:
    result = scan(harness, seeds([lab.addresses["core1"], CORE1_SECOND_ADDRESS], lab.port), CREDS)
    graph = Graph(harness)
    graph.device_uid("core1.lab.example")  # exactly one
    statuses = {o.address: (o.status, o.same_as) for o in result.summary.outcomes}
    first, second = f"{lab.addresses['core1']}:{lab.port}", f"{CORE1_SECOND_ADDRESS}:{lab.port}"
    assert sorted(s for s, _ in statuses.values()) == ["duplicate", "ok"]
    duplicate = first if statuses[first][0] == "duplicate" else second
    assert statuses[duplicate][1] == (second if duplicate == first else first)
    assert result.status.value == "complete"


def test_crawl_follows_neighbours_only_inside_allowed_ranges(lab: Lab, harness: Harness) -> None:
    # 127.0.0.8/29 holds core1, dist1, dist2, acc1, acc2 (.11-.15), not rtr1 (.16) or fw1 (.17)
    targets: dict[str, Any] = seeds([lab.addresses["core1"]], lab.port,
                                    crawl={"enabled": True, "ranges": ["127.0.0.8/29"], "max_depth": 3,
                                           "credentials": ["lab"]})
    result = scan(harness, targets, CREDS)
    scanned = {o.address.split(":")[0] for o in result.summary.outcomes}
    assert scanned == {"127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15"}
    graph = Graph(harness)
    assert graph.devices() == {
        ("switch", "core1.lab.example"), ("switch", "dist1.lab.example"), ("switch", "dist2.lab.example"),
        ("switch", "acc1.lab.example"), ("switch", "acc2.lab.example"),
        ("network_device", "rtr1.lab.example"), ("network_device", "fw1.lab.example"),
        ("network_device", "ap1.lab.example"),
    }


def test_cidr_sweep_with_exclusions_counts_silent_addresses(lab: Lab, harness: Harness) -> None:
    targets = {"scope": "lab", "port": lab.port,
               "targets": [{"cidr": "127.0.0.8/29", "exclude": ["127.0.0.12/32", "127.0.0.14/31"], "credentials": ["lab"]}]}
    result = scan(harness, targets, CREDS)
    by_status: dict[str, set[str]] = {}
    for o in result.summary.outcomes:
        by_status.setdefault(o.status, set()).add(o.address.split(":")[0])
    assert by_status == {"ok": {"127.0.0.11", "127.0.0.13"}, "silent": {"127.0.0.9", "127.0.0.10"}}
    assert result.status.value == "complete"  # silence in a sweep is not a failure
