"""The catalog loads, derives inheritance, and a broken one fails naming class and attribute."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from schema import ImpactDirection, MinUp, SchemaError, build_schema, load_schema
from schema.loader import _bundled

BASE: dict[str, Any] = {
    "sources": {"manual": {"priority": 100, "staleness_days": 1, "may_create": ["*"]}},
    "classes": {
        "ci": {"abstract": True, "attributes": {"name": "string"}},
        "host": {"parent": "ci", "identifiers": [["fqdn"]], "attributes": {"fqdn": "string"}},
        "vm": {"parent": "host", "attributes": {"cpu": "int"}},
    },
    "relationships": {"RUNS_ON": {"from": ["ci"], "to": ["host"], "impact": "target_to_source"}},
}


def broken(path: list[str], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def test_bundled_catalog_covers_the_required_classes() -> None:
    schema = load_schema()
    required = {
        "business_service", "application", "software_instance", "host", "physical_server", "virtual_machine",
        "cloud_instance", "network_device", "switch", "router", "firewall", "load_balancer", "interface",
        "ip_address", "subnet", "network", "vpc", "security_group", "volume", "database", "bucket", "function",
        "cluster", "cloud_account", "cloud_region", "location",
    }
    assert required <= set(schema.classes)


def test_inheritance_of_attributes_rules_and_subtrees() -> None:
    schema = load_schema()
    cloud = schema.cls("cloud_instance")
    assert cloud.ancestors == ("host", "device", "ci")
    assert {"instance_id", "fqdn", "kernel", "instance_type", "name"} <= set(cloud.attributes)
    assert [r.attributes for r in cloud.identifiers] == [
        ("serial_number",), ("chassis_id",), ("machine_id",), ("instance_id",), ("fqdn",), ("sys_name",),
        ("dmi_uuid",)]
    assert schema.subtree("host") == {"host", "physical_server", "virtual_machine", "cloud_instance"}
    assert schema.cls("interface").dependency is not None
    assert schema.cls("interface").dependency.relationship == "CONTAINS"  # type: ignore[union-attr]
    assert schema.rel("CONNECTS_TO").impact is ImpactDirection.BOTH
    assert schema.rel("CONTAINS").impact is ImpactDirection.SOURCE_TO_TARGET
    assert schema.rel("RUNS_ON").impact is ImpactDirection.TARGET_TO_SOURCE


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["classes", "vm", "attributes", "cpu"], "integer", "class 'vm', attribute 'cpu': unknown type 'integer'"),
        (["classes", "host", "identifiers"], [["serial"]], "class 'host', attribute 'serial': identifier rule 0 names an undeclared attribute"),
        (["classes", "vm", "parent"], "server", "class 'vm': parent 'server' is not a declared class"),
        (["classes", "host", "attributes", "name"], "int", "class 'host', attribute 'name': redefines an inherited attribute"),
        (["classes", "vm", "redundancy"], {"relationships": ["RUNS_ON"], "min_up": "150%"}, "class 'vm', attribute 'min_up'"),
        (["classes", "vm", "dependent_on"], {"relationship": "INSIDE", "parents": ["host"]}, "class 'vm', attribute 'dependent_on': relationship 'INSIDE'"),
        (["relationships", "RUNS_ON", "to"], ["server"], "relationship 'RUNS_ON', attribute 'to': class 'server' is not declared"),
        (["relationships", "RUNS_ON", "impact"], "sideways", "relationship 'RUNS_ON', attribute 'impact'"),
        (["sources", "manual", "may_create"], ["gadget"], "source 'manual', attribute 'may_create': class 'gadget'"),
        (["classes", "ci", "abstract"], False, "class 'ci': a concrete class needs at least one identifier rule"),
    ],
)
def test_a_broken_catalog_fails_at_load_naming_class_and_attribute(path: list[str], value: Any, message: str) -> None:
    with pytest.raises(SchemaError) as info:
        build_schema(broken(path, value))
    assert message in str(info.value)


def test_the_bundled_file_is_what_load_schema_reads(tmp_path: Any) -> None:
    target = tmp_path / "catalog.yaml"
    target.write_text(yaml.safe_dump(BASE))
    assert set(load_schema(target).classes) == {"ci", "host", "vm"}
    assert load_schema() is _bundled()


@pytest.mark.parametrize(("raw", "size", "needed"), [("2", 3, 2), ("66%", 3, 2), ("50%", 3, 2), ("100%", 4, 4),
                                                      ("1", 1, 1), ("5", 3, 3), ("34%", 3, 2), ("33%", 3, 1)])
def test_min_up_counts_and_percentages(raw: str, size: int, needed: int) -> None:
    assert MinUp.parse(raw).required(size) == needed


@pytest.mark.parametrize("raw", ["0", "-1", "1.5", "0%", "101%", "two", ""])
def test_min_up_rejects_nonsense(raw: str) -> None:
    with pytest.raises(ValueError):
        MinUp.parse(raw)
