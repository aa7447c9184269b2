"""A host the SSH scanner sees and another source already knows ends as one CI."""

from __future__ import annotations

import dataclasses

from discovery.ssh.observations import host_items
from tests.builders import Harness, obs
from tests.unit.discovery.ssh.ssh_recordings import MACHINE_IDS, context, lab_facts


def test_ec2_instance_seen_over_ssh_is_one_ci(harness: Harness) -> None:
    harness.run([obs("cloud_instance", {"instance_id": "i-0123456789abcdef0"},
                     {"name": "app1-ec2", "instance_type": "t3.small", "private_ip": "10.250.9.2"})], source="aws")
    facts = dataclasses.replace(lab_facts("app1"), instance_id="i-0123456789abcdef0")  # as cloud-init recorded it
    _, report = harness.run(host_items(facts, context("app1")), source="ssh", scope="lab/app1")
    assert report.rejected == []
    hosts = [c for c in harness.all_cis() if harness.schema.is_a(c.ci_class, "host")]
    assert len(hosts) == 1
    (host,) = hosts
    assert host.ci_class == "cloud_instance"
    assert (host.attributes["instance_id"], host.attributes["machine_id"], host.attributes["instance_type"]) == (
        "i-0123456789abcdef0", MACHINE_IDS["app1"], "t3.small")
    assert host.attributes["name"] == "app1-ec2"  # aws outranks ssh for the attributes both report


def test_rescanning_the_same_host_changes_nothing(harness: Harness) -> None:
    items = host_items(lab_facts("db1"), context("db1"))
    _, first = harness.run(items, source="ssh", scope="lab/db1")
    _, second = harness.run(items, source="ssh", scope="lab/db1")
    assert first.rejected == [] and first.created == len({(i.ci_class, str(i.identifiers)) for i in items if i.kind == "ci"})
    assert (second.created, second.updated) == (0, 0)


def test_server_seen_over_snmp_is_one_ci(harness: Harness) -> None:
    # What the SNMP scanner reports for a Linux server: sysName (lower case) and sysDescr.
    harness.run([obs("host", {"sys_name": "db1"}, {"name": "DB1", "os_name": "Linux", "uptime_s": 5})],
                source="snmp", scope="seeds")
    facts = dataclasses.replace(lab_facts("db1"), hostname="DB1")
    _, report = harness.run(host_items(facts, context("db1")), source="ssh", scope="lab/db1")
    assert report.rejected == []
    hosts = [c for c in harness.all_cis() if harness.schema.is_a(c.ci_class, "host")]
    assert [(h.attributes["sys_name"], h.attributes["machine_id"]) for h in hosts] == [("db1", MACHINE_IDS["db1"])]
    assert hosts[0].attributes["os_name"] == "Debian GNU/Linux"  # ssh outranks snmp
