"""lldpcli's JSON, as lldpd 1.0 prints it, read into the host's chassis id and the switch ports it hears."""

from __future__ import annotations

import json

from discovery.ssh.facts import LldpChassis, LldpNeighborFact
from discovery.ssh.lldp import parse_lldp_chassis, parse_lldp_neighbors
from discovery.ssh.parsers import parse_host
from tests.unit.discovery.ssh.ssh_recordings import raw

CHASSIS = {"local-chassis": {"chassis": {"db1.lab.example.com": {
    "id": {"type": "mac", "value": "52:54:00:9A:01:02"}, "descr": "Ubuntu 22.04.3 LTS Linux 5.15.0-91-generic",
    "mgmt-ip": ["10.250.9.1", "fe80::5054:ff:fe9a:102"],
    "capability": [{"type": "Bridge", "enabled": False}, {"type": "Router", "enabled": False}]}}}}

ONE = {"lldp": {"interface": {"eth0": {"via": "LLDP", "rid": "1", "age": "0 day, 00:12:04", "chassis": {
    "acc1.lab.example.com": {"id": {"type": "mac", "value": "00:1b:54:aa:bb:00"}, "descr": "Cisco IOS Software",
                             "mgmt-ip": "10.250.0.11", "capability": [{"type": "Bridge", "enabled": True}]}},
    "port": {"id": {"type": "ifname", "value": "Gi1/0/3"}, "descr": "GigabitEthernet1/0/3", "ttl": "120"}}}}}

SEVERAL = {"lldp": {"interface": [
    {"eno1": {"via": "LLDP", "chassis": {"id": {"type": "mac", "value": "00:1b:54:aa:bb:01"}},
              "port": {"id": {"type": "mac", "value": "00:1b:54:aa:bb:13"}, "descr": "Gi1/0/19"}}},
    {"eno2": {"via": "CDPv2", "chassis": {"sw9": {"id": {"type": "local", "value": "sw9"}}},
              "port": {"id": {"type": "ifname", "value": "Gi0/1"}}}},
    {"eno3": {"via": "LLDP", "chassis": {"sw3": {"id": {"type": "local", "value": "FOC1234X0AB"}}},
              "port": {"id": {"type": "local", "value": "7"}, "descr": "ge-0/0/7"}}},
]}}


def test_the_local_chassis_id_and_name() -> None:
    assert parse_lldp_chassis(json.dumps(CHASSIS)) == LldpChassis("52:54:00:9a:01:02", "db1.lab.example.com")


def test_one_neighbour_is_an_object_several_a_list_and_other_protocols_are_left_out() -> None:
    assert parse_lldp_neighbors(json.dumps(ONE)) == [LldpNeighborFact(
        "eth0", "00:1b:54:aa:bb:00", "acc1.lab.example.com", "Gi1/0/3", "10.250.0.11", "Cisco IOS Software")]
    assert parse_lldp_neighbors(json.dumps(SEVERAL)) == [
        # A nameless chassis; a port id that is a MAC names its interface by the description.
        LldpNeighborFact("eno1", "00:1b:54:aa:bb:01", None, "Gi1/0/19"),
        # A local port number: the description names the interface.
        LldpNeighborFact("eno3", "FOC1234X0AB", "sw3", "ge-0/0/7"),
    ]
    assert parse_lldp_neighbors(json.dumps({"lldp": {}})) == []


def test_without_lldpd_the_host_reads_as_before_and_no_section_fails() -> None:
    facts = parse_host(raw("lab-db1"))
    assert facts.lldp_chassis is None and facts.lldp_neighbors == []
    assert not [e for e in facts.errors if "lldp" in e]
    # lldpcli absent: `command -v` fails, each section exits 1 with nothing printed.
    absent = raw("lab-db1") + "".join(f"@@cmdb-begin {name}\n\n@@cmdb-end {name} 1\n"
                                      for name in ("lldp_chassis", "lldp_neighbors"))
    facts = parse_host(absent)
    assert facts.lldp_chassis is None and not [e for e in facts.errors if "lldp" in e]


def test_with_lldpd_the_host_reports_its_chassis_and_neighbours() -> None:
    text = raw("lab-db1") + (f"@@cmdb-begin lldp_chassis\n{json.dumps(CHASSIS)}\n@@cmdb-end lldp_chassis 0\n"
                             f"@@cmdb-begin lldp_neighbors\n{json.dumps(ONE)}\n@@cmdb-end lldp_neighbors 0\n")
    facts = parse_host(text)
    assert facts.lldp_chassis == LldpChassis("52:54:00:9a:01:02", "db1.lab.example.com")
    assert [n.port for n in facts.lldp_neighbors] == ["Gi1/0/3"]


def test_garbage_from_lldpcli_is_that_section_s_error_only() -> None:
    text = raw("lab-db1") + "@@cmdb-begin lldp_neighbors\nlldpcli: unable to connect\n@@cmdb-end lldp_neighbors 0\n"
    facts = parse_host(text)
    assert facts.hostname and facts.lldp_neighbors == []
    assert [e.split(":")[0] for e in facts.errors] == ["lldp_neighbors"]
