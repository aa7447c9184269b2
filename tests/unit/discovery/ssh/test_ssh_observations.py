from __future__ import annotations

from typing import Any

from cmdb.observation import Observation, ObservedRelation
from discovery.ssh.observations import host_items
from schema import load_schema
from tests.unit.discovery.ssh.ssh_recordings import MACHINE_IDS, context, lab_facts


def _key(ids: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(ids.items()))


def test_db_host_items_exact() -> None:
    items = host_items(lab_facts("db1"), context("db1"))
    cis = {(i.ci_class, _key(i.identifiers)) for i in items if isinstance(i, Observation) and i.ci_class != "software_package"}
    assert cis == {
        ("host", _key({"machine_id": MACHINE_IDS["db1"], "fqdn": "db1.lab.test", "sys_name": "db1",
                       "dns_domain": "lab.test"})),
        ("interface", _key({"name": "eth0"})),
        ("ip_address", _key({"address": "10.250.9.1", "network_scope": "global"})),
        ("subnet", _key({"cidr": "10.250.9.0/24", "network_scope": "global"})),
        ("filesystem", _key({"mount_point": "/"})),
        ("software_instance", _key({"product": "openssh", "port": 22})),
        ("software_instance", _key({"product": "postgresql", "port": 5432})),
    }
    rels = {(r.type, r.from_ci.ci_class, r.to_ci.ci_class) for r in items if isinstance(r, ObservedRelation)}
    assert rels == {("HAS_ADDRESS", "interface", "ip_address"), ("IN_NETWORK", "ip_address", "subnet")}


def test_dependent_cis_name_their_host_by_machine_id() -> None:
    items = host_items(lab_facts("db1"), context("db1"))
    deps = [i for i in items if isinstance(i, Observation) and i.ci_class in ("interface", "filesystem", "software_instance", "software_package")]
    assert deps and {(i.parent.ci_class, _key(i.parent.identifiers)) for i in deps if i.parent} == {
        ("host", _key({"machine_id": MACHINE_IDS["db1"]}))
    }


def test_host_and_instance_attributes() -> None:
    items = host_items(lab_facts("db1"), context("db1"))
    host = next(i for i in items if isinstance(i, Observation) and i.ci_class == "host")
    assert {k: host.attributes[k] for k in ("hostname", "os_name", "os_version", "cpu_count", "ssh_host_key", "management_ip")} == {
        "hostname": "db1", "os_name": "Debian GNU/Linux", "os_version": "12", "cpu_count": 2,
        "ssh_host_key": "SHA256:test", "management_ip": "10.250.9.1",
    }
    pg = next(i for i in items if isinstance(i, Observation) and i.identifiers.get("product") == "postgresql")
    assert pg.attributes["listen_addresses"] == ["0.0.0.0", "::"]
    # The only listener of its program also answers (product, pid_name), as SNMP's process table names it.
    assert pg.attributes["user"] == "postgres" and pg.attributes["process_name"] == "postgres"
    assert pg.attributes["pid_name"] == "postgres"
    assert "/usr/lib/postgresql/15/bin/postgres" in pg.attributes["command"]


def test_every_item_fits_the_schema() -> None:
    schema = load_schema()
    for name in ("db1", "app1", "mon1"):
        for item in host_items(lab_facts(name), context(name)):
            if isinstance(item, Observation):
                cls = schema.classes[item.ci_class]
                assert set(item.attributes) | set(item.identifiers) <= set(cls.attributes), item.ci_class
                assert schema.may_create("ssh", item.ci_class)
            else:
                assert item.type in schema.relationships


def test_cloud_instance_id_from_the_inventory_joins_the_identifiers() -> None:
    facts = lab_facts("app1")
    ctx = context("app1")
    ctx = type(ctx)(**{**{f: getattr(ctx, f) for f in ctx.__dataclass_fields__}, "instance_id": "i-0123456789abcdef0"})
    host = host_items(facts, ctx)[0]
    assert isinstance(host, Observation) and host.identifiers["instance_id"] == "i-0123456789abcdef0"


def test_several_addresses_of_one_subnet_give_one_subnet() -> None:
    import dataclasses

    from discovery.ssh.facts import Address

    facts = lab_facts("db1")
    eth0 = next(i for i in facts.interfaces if i.name == "eth0")
    more = dataclasses.replace(eth0, addresses=(*eth0.addresses, Address("10.250.9.77", 24, 4)))
    facts = dataclasses.replace(facts, interfaces=[i if i.name != "eth0" else more for i in facts.interfaces])
    items = host_items(facts, context("db1"))
    subnets = [i for i in items if isinstance(i, Observation) and i.ci_class == "subnet"]
    addresses = {i.identifiers["address"] for i in items if isinstance(i, Observation) and i.ci_class == "ip_address"}
    assert [s.identifiers["cidr"] for s in subnets] == ["10.250.9.0/24"]
    assert addresses == {"10.250.9.1", "10.250.9.77"}
    in_network = {(r.from_ci.identifiers["address"], r.to_ci.identifiers["cidr"])
                  for r in items if isinstance(r, ObservedRelation) and r.type == "IN_NETWORK"}
    assert in_network == {("10.250.9.1", "10.250.9.0/24"), ("10.250.9.77", "10.250.9.0/24")}
